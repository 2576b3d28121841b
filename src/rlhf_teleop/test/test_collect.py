# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""The ``collect`` console script runs the whole graph (sim, teleop, recorder) as processes and stops it."""

import os
from pathlib import Path
import signal
import subprocess
import time

from rlhf_common.graph import NodeSpec, executable_path
from rlhf_msgs.srv import EpisodeControl
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
