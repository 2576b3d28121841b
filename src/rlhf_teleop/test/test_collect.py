# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""The ``collect`` console script runs the whole graph (sim, teleop, recorder) as processes and stops it."""

import os
from pathlib import Path
import signal
import subprocess
import time

from rlhf_common.graph import NodeSpec, executable_path
from rlhf_msgs.srv import EpisodeControl, ResetSim
from rlhf_recorder.catalog import Catalog
from rlhf_recorder.reader import episode_info


def collect_command(*args):
    return [str(executable_path(NodeSpec('rlhf_teleop', 'collect', 'collect'))), *args]


def kill_graph(proc):
    """Kill ``collect`` and the node processes it started, so that a failed test leaves no node running."""
    children = Path(f'/proc/{proc.pid}/task/{proc.pid}/children')
    nodes = [int(pid) for pid in children.read_text().split()] if children.exists() else []
    for pid in (proc.pid, *nodes):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def test_unattended_expert_episode_is_saved_and_summarised(tmp_path):
    data_dir = tmp_path / 'demos'
    result = subprocess.run(collect_command('--task', 'pick_place', '--device', 'expert', '--num-episodes', '1',
                                            '--output-dir', str(data_dir), '--cameras', 'wrist_camera',
                                            '--seed', '5'),
                            capture_output=True, text=True, timeout=150)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    for name in ('sim', 'teleop', 'recorder'):      # every node's output, prefixed with its name
        assert f'[{name}' in output, output[-4000:]
    records = Catalog(data_dir).list()
    assert len(records) == 1 and records[0].outcome == 'success', output[-4000:]
    record = records[0]
    assert (record.device, record.task, record.seed, record.is_sim) == ('expert', 'pick_place', 5, True)
    info = episode_info(record.path)
    assert info['cameras'] == ['wrist_camera']
    assert info['counts']['/arm_controller/commands'] > 30 and info['counts']['/wrist_camera/color'] > 10
    assert f'1 episodes saved (1 success, 0 failure, 0 incomplete) in {data_dir}/episodes' in output


def open_reply_path(ros, control):
    """A refused DISCARD (nothing records yet) until one is answered.

    After that the server knows this client's reply reader, so the START that follows, which cannot be repeated,
    is not answered into the void.
    """
    refused = ros.call(control, EpisodeControl.Request(command=EpisodeControl.Request.DISCARD))
    assert refused is not None and not refused.success, refused


def test_ctrl_c_stops_every_node_and_the_recorder_closes_its_bag(tmp_path, ros):
    data_dir = tmp_path / 'demos'
    log = open(tmp_path / 'collect.log', 'w')
    proc = subprocess.Popen(collect_command('--device', 'spacemouse', '--output-dir', str(data_dir),
                                            '--cameras', 'wrist_camera'), stdout=log, stderr=subprocess.STDOUT)
    try:
        control = ros.node.create_client(EpisodeControl, '/episode/control')
        assert ros.spin_until(control.service_is_ready, timeout=60), (tmp_path / 'collect.log').read_text()
        assert ros.spin_until(lambda: ros.node.count_subscribers('/episode/events') >= 1, timeout=30)
        ros.spin_for(2.0)                             # the recorder discovers the topics
        open_reply_path(ros, control)
        future = control.call_async(EpisodeControl.Request(command=EpisodeControl.Request.START))
        assert ros.spin_until(future.done, timeout=10) and future.result().success
        episode_id = future.result().episode_id
        ros.spin_for(2.0)
        proc.send_signal(signal.SIGINT)               # what Ctrl-C in the terminal sends
        assert proc.wait(timeout=60) is not None
    finally:
        if proc.poll() is None:
            kill_graph(proc)
        log.close()
    output = (tmp_path / 'collect.log').read_text()
    assert 'Ctrl-C: stopping the nodes' in output
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and not (data_dir / 'episodes' / episode_id / 'metadata.yaml').exists():
        time.sleep(0.1)
    record = Catalog(data_dir).get(episode_id)
    assert record.outcome == 'incomplete', output[-3000:]
    assert (data_dir / 'episodes' / episode_id / 'metadata.yaml').is_file(), output[-3000:]
    assert episode_info(record.path)['counts']['/joint_states'] > 50


def start_in_one_process_group(specs, directory):
    """The nodes as ``ros2 launch`` runs them: child processes in one process group (what a terminal signals)."""
    from rlhf_common.supervisor import node_command
    procs = {}
    try:
        for spec in specs:
            log = open(directory / f'{spec.name}.log', 'w')
            group = next(iter(procs.values())).pid if procs else None
            # a new group (the first node's) in this session, as launch's children share launch's group
            procs[spec.name] = subprocess.Popen(node_command(spec, str(directory)), stdout=log,
                                                stderr=subprocess.STDOUT,
                                                preexec_fn=lambda g=group or 0: os.setpgid(0, g))
            log.close()
    except BaseException:
        for proc in procs.values():
            proc.kill()
        raise
    return procs


def test_terminal_ctrl_c_under_ros2_launch_closes_the_episode(tmp_path, ros):
    """Ctrl-C under ros2 launch: SIGINT reaches every node at once, then launch sends each its own SIGINT."""
    from rlhf_msgs.msg import RecorderStatus
    from rlhf_teleop.graph import collect_graph
    data_dir = tmp_path / 'demos'
    specs = collect_graph({'device': 'spacemouse', 'output_dir': str(data_dir), 'cameras': 'wrist_camera'})
    procs = start_in_one_process_group(specs, tmp_path)
    group = procs['sim'].pid
    statuses = []
    ros.node.create_subscription(RecorderStatus, '/recorder/status', statuses.append, 10)
    try:
        control = ros.node.create_client(EpisodeControl, '/episode/control')
        reset = ros.node.create_client(ResetSim, '/rlhf_sim/reset')
        assert ros.spin_until(lambda: control.service_is_ready() and reset.service_is_ready(), timeout=60)
        open_reply_path(ros, control)
        future = control.call_async(EpisodeControl.Request(command=EpisodeControl.Request.START))
        assert ros.spin_until(future.done, timeout=10) and future.result().success, future.result()
        episode_id = future.result().episode_id
        assert ros.spin_until(lambda: statuses and statuses[-1].episode_id == episode_id, timeout=60)
        ros.spin_for(1.0)
        os.killpg(group, signal.SIGINT)     # the terminal
        os.killpg(group, signal.SIGINT)     # launch forwarding its own
        codes = {name: proc.wait(timeout=60) for name, proc in procs.items()}
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.kill()
    logs = {name: (tmp_path / f'{name}.log').read_text() for name in procs}
    assert codes == {'sim': 0, 'teleop': 0, 'recorder': 0}, logs
    for name, text in logs.items():
        assert 'Traceback' not in text and 'KeyboardInterrupt' not in text, f'{name}: {text[-3000:]}'
    record = Catalog(data_dir).get(episode_id)
    # interrupted: kept as incomplete, its bag closed now (not left 'recording' until the next start)
    assert (record.outcome, record.status) == ('incomplete', 'incomplete'), logs['recorder'][-3000:]
    assert (data_dir / 'episodes' / episode_id / 'metadata.yaml').is_file()


def test_no_episode_starts_while_a_recorded_stream_is_silent(tmp_path, nodes):
    """The recorder waits for a camera nobody publishes: teleop names it and stops instead of recording."""
    sim = NodeSpec('rlhf_sim', 'sim', 'sim', parameters={'task': 'reach', 'cameras': ['none']})
    recorder = NodeSpec('rlhf_recorder', 'recorder', 'recorder', parameters={
        'data_dir': str(tmp_path / 'demos'), 'topics': ['/joint_states', '/ghost_camera/color'],
        'required_topics': ['/joint_states', '/ghost_camera/color']})
    teleop = NodeSpec('rlhf_teleop', 'teleop', 'teleop', parameters={
        'device': 'expert', 'task': 'reach', 'num_episodes': 1, 'recorder_timeout_s': 3.0, 'start_delay_s': 0.5})
    for spec in (sim, recorder, teleop):
        nodes.start(spec)
    assert nodes.processes['teleop'].wait(timeout=120) == 1, nodes.logs()
    assert 'the recorder got no data on /ghost_camera/color' in nodes.log('teleop'), nodes.logs()
    assert Catalog(tmp_path / 'demos').list() == []
