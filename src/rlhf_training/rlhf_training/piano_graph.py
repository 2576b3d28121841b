# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""A performance through the graph: the piano node and the ONNX policy node over DDS, scored by key-press F1.

``play_through_graph(contract_path, seed)`` starts the deployment graph of a piano policy
(``rlhf_policy.graph.deploy_graph``: the piano node playing the task of the contract's ``metadata.piano``, and the
policy node in e-stop), waits until both run, resumes the policy (``/policy/resume``), restarts the song
(``/rlhf_sim/reset``) and records ``/piano/keys`` until the song's last frame: the same frames
``piano_eval.play`` scores offline, here in real time over DDS.
"""

from pathlib import Path
import tempfile
import time

import numpy as np

from rlhf_common import topics
from rlhf_training.piano_eval import score_performance


def graph_specs(contract_path, seed, policy_parameters=None):
    """The nodes: the piano (no camera: nothing renders in its control loop) and the policy, waiting for resume."""
    from rlhf_policy.graph import deploy_graph
    specs = deploy_graph({'contract': str(contract_path), 'sim': 'true', 'seed': str(seed),
                          'start_in_estop': 'true', 'realtime_priority': '0'})
    for spec in specs:
        if spec.name == 'piano':
            spec.parameters['camera'] = 'none'
        if spec.name == 'policy':
            spec.parameters.update(policy_parameters or {})
    return specs


def play_through_graph(contract_path, seed=0, log_dir=None, policy_parameters=None, timeout_s=60.0):
    """One performance through the graph -> (PerformanceScore, info dict); raises RuntimeError when it fails.

    ``policy_parameters``: the policy node's parameters to change (e.g. ``max_absolute_step_fraction``).
    """
    from std_srvs.srv import Trigger

    from rlhf_common.testing import NodeProcesses, RosProbe
    from rlhf_msgs.msg import PianoKeys, PolicyStatus
    from rlhf_msgs.srv import ResetSim
    from rlhf_policy.contract import PolicyContract
    from rlhf_policy.graph import piano_task, plays_piano
    from rlhf_policy.safety import RAMPING, RUNNING

    contract = PolicyContract.load(contract_path)
    if not plays_piano(contract):
        raise ValueError(f'{contract_path}: not a piano policy (its contract observes no piano features)')
    length = _song_length(piano_task(contract))
    song_s = length / contract.rate_hz
    with tempfile.TemporaryDirectory() as tmp:
        processes = NodeProcesses(Path(log_dir or tmp))
        probe = RosProbe()
        frames, status, since_ns = {}, [], [0]

        def on_keys(msg):   # one message per frame; only the frames of this performance (stamped after its reset)
            if msg.header.stamp.sec * 10**9 + msg.header.stamp.nanosec >= since_ns[0]:
                frames.setdefault(msg.frame, msg)
        probe.node.create_subscription(PianoKeys, topics.PIANO_KEYS, on_keys, 1000)
        probe.node.create_subscription(PolicyStatus, topics.POLICY_STATUS, status.append, 10)
        reset = probe.node.create_client(ResetSim, topics.SIM_RESET)
        resume = probe.node.create_client(Trigger, topics.POLICY_RESUME)
        try:
            for spec in graph_specs(contract_path, seed, policy_parameters):
                processes.start(spec)
            if not probe.spin_until(lambda: status and frames and reset.service_is_ready()
                                    and resume.service_is_ready(), timeout_s):
                raise RuntimeError(f'the piano and policy nodes did not come up in {timeout_s:g} s:\n'
                                   f'{processes.logs()}')
            # the pianist is ready (running, on the last song's state), then the song starts: the policy acts on
            # its first frame, which the piano node publishes at the reset, before the first step
            if probe.call(resume, Trigger.Request()) is None:
                raise RuntimeError(f'{topics.POLICY_RESUME} did not answer')
            if not probe.spin_until(lambda: status[-1].safety_state in (RAMPING, RUNNING), timeout_s):
                raise RuntimeError(f'the policy did not start after {topics.POLICY_RESUME}:\n{processes.logs()}')
            frames.clear()
            since_ns[0] = time.time_ns()   # the piano node stamps its messages with this clock
            started = time.monotonic()
            answer = probe.call(reset, ResetSim.Request(task='', seed=int(seed)))
            if answer is None or not answer.success:
                raise RuntimeError(f'{topics.SIM_RESET} failed: {answer}')
            if not probe.spin_until(lambda: length in frames, song_s * 3 + timeout_s):
                raise RuntimeError(f'the song did not end: frames up to {max(frames, default=-1)} of {length}:\n'
                                   f'{processes.logs()}')
            wall_s = time.monotonic() - started
        finally:
            probe.close()
            processes.stop()
    played = [frames[f] for f in range(1, length + 1) if f in frames]
    score = score_performance([np.asarray(m.pressed, bool) for m in played], [np.asarray(m.goal, bool) for m in played],
                              [m.sustain for m in played], [m.goal_sustain for m in played])
    last = status[-1]
    return score, {'frames_missing': length - len(played), 'wall_s': wall_s, 'song_s': song_s,
                   'policy_ticks': int(last.ticks), 'missed_ticks': int(last.missed_ticks)}


def _song_length(task):
    """Control steps of one performance of the piano ``task`` (the piano node's ``episode_length``)."""
    from rlhf_sim.piano import PianoEnv, PianoTask
    env = PianoEnv(PianoTask.from_dict(task, where='contract metadata.piano'))
    try:
        return env.episode_length
    finally:
        env.close()
