# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""The control tick's decision without ROS, at exact times: readiness, staleness, ramp, hold, e-stop, faults."""

import itertools
import math

import numpy as np
import pytest

from rlhf_common.robot import JOINT_NAMES
from rlhf_policy.actions import ActionSpec
from rlhf_policy.contract import CameraSpec, ObservationSpec, PolicyContract
from rlhf_policy.control_loop import LOOP_SETTINGS, PolicyLoop
from rlhf_policy.safety import ESTOP, HOLD, RAMPING, RUNNING, STARTING

RATE = 30.0
POSE = np.r_[0.0, -0.3, 0.0, -2.0, 0.0, 1.8, 0.8, 0.03, 0.01]   # 7 arm joints, 2 fingers (mean opening 0.02)


class Scripted:
    """A model whose action the test sets; counts its calls."""

    def __init__(self, action):
        self.action = np.asarray(action, dtype=np.float32)
        self.calls = 0

    def __call__(self, inputs):
        self.calls += 1
        return self.action


def make_loop(action=(1.0,) * 8, **settings):
    obs = ObservationSpec([CameraSpec('cam', 4, 4)], list(JOINT_NAMES), state_features=['previous_command'])
    contract = PolicyContract(obs, ActionSpec.for_panda(max_delta_rad=0.05), rate_hz=RATE)
    runner = Scripted(action)
    clock = itertools.count(0.0, 0.25e-3)   # inference takes 0.25 ms by this clock
    loop = PolicyLoop(contract, runner, clock=lambda: next(clock),
                      **{'max_observation_age_ms': 100.0, 'ramp_duration_s': 0.1, **settings})
    return loop, runner


def observe(loop, now, camera=True):
    if camera:
        loop.assembler.on_color('cam', np.zeros((4, 4, 3), np.uint8), now)
    loop.assembler.on_joint_state(JOINT_NAMES, POSE, np.zeros(9), now)


def test_nothing_is_commanded_until_every_stream_arrived():
    loop, runner = make_loop()
    observe(loop, 0.0, camera=False)
    tick = loop.tick(0.0)
    assert tick.command is None and runner.calls == 0 and loop.safety.state == STARTING
    assert math.isnan(tick.observation_age_ms)


def test_start_ramps_from_the_measured_pose_then_runs():
    loop, runner = make_loop()
    measured = np.r_[POSE[:7], 0.02]
    commands = []
    for k in range(6):
        now = k / RATE
        observe(loop, now)
        tick = loop.tick(now)
        if k == 0:
            assert tick.transition.state == RAMPING and tick.transition.reset_from_pose
            assert tick.inference_ms == pytest.approx(0.25)
        commands.append(tick.command.copy())
    # ramp over 3 ticks (0.1 s at 30 Hz): the step limit grows 1/3, 2/3, 1 of 0.05 rad per tick, towards the
    # target measured + 0.05 (the arm does not move here)
    np.testing.assert_allclose(commands[0][:7] - measured[:7], 0.05 / 3)
    np.testing.assert_allclose(commands[1][:7] - commands[0][:7], 0.05 * 2 / 3)
    np.testing.assert_allclose(commands[-1][:7], measured[:7] + 0.05)
    # the gripper (action +1: open, 0.04 m) from its measured 0.02 m by at most 10 % of its range per tick
    np.testing.assert_allclose([c[7] for c in commands], [0.02 + 0.004 / 3, 0.02 + 0.004, 0.028, 0.032, 0.036, 0.04])
    assert loop.safety.state == RUNNING and runner.calls == 6
    # previous_command: the measured pose before the first tick's command, then the last command
    np.testing.assert_allclose(loop.assembler.state['previous_command'], commands[-1])


def test_stale_stream_holds_the_last_command_exactly_past_the_limit():
    loop, _ = make_loop()
    for k in range(5):
        observe(loop, k / RATE)
        last = loop.tick(k / RATE).command.copy()
    camera_time = 4 / RATE
    loop.assembler.on_joint_state(JOINT_NAMES, POSE, np.zeros(9), camera_time + 0.1)
    at_limit = loop.tick(camera_time + 0.1)            # 100 ms old: not older than the limit
    assert at_limit.transition is None and loop.safety.state == RUNNING
    last = at_limit.command.copy()
    loop.assembler.on_joint_state(JOINT_NAMES, POSE, np.zeros(9), camera_time + 0.125)
    stale = loop.tick(camera_time + 0.125)
    assert stale.transition.state == HOLD
    assert stale.transition.reason == '/cam/color is stale (older than 100 ms)' and stale.detail == '125.0 ms old'
    assert stale.observation_age_ms == pytest.approx(125.0)
    np.testing.assert_array_equal(stale.command, last)       # HOLD repeats the last safe command
    again = loop.tick(camera_time + 0.2)
    assert again.transition is None and np.array_equal(again.command, last)   # logged once
    observe(loop, camera_time + 0.25)
    assert loop.tick(camera_time + 0.25).transition.state == RAMPING   # cleared: ramp from the held command


def test_nan_output_holds_and_estop_commands_nothing_until_resume():
    loop, runner = make_loop()
    for k in range(4):
        observe(loop, k / RATE)
        loop.tick(k / RATE)
    runner.action = np.full(8, np.nan, np.float32)
    observe(loop, 4 / RATE)
    tick = loop.tick(4 / RATE)
    assert tick.transition.state == HOLD and tick.transition.reason == 'model output contains NaN/inf'
    assert np.all(np.isfinite(tick.command))
    assert loop.estop('test').state == ESTOP
    observe(loop, 5 / RATE)
    assert loop.tick(5 / RATE).command is None
    assert not loop.assembler.commanded     # the previous command is the measured pose again
    runner.action = np.zeros(8, np.float32)
    resumed, transition = loop.resume()
    assert resumed and transition.state == STARTING
    # what arrived before the resume is not acted on: the camera frame of tick 5 must be followed by a new one
    loop.assembler.on_joint_state(JOINT_NAMES, POSE, np.zeros(9), 5.5 / RATE)
    waiting = loop.tick(5.5 / RATE)
    assert waiting.command is None and loop.safety.state == STARTING and loop.assembler.missing() == ['/cam/color']
    observe(loop, 6 / RATE)
    tick = loop.tick(6 / RATE)
    assert tick.transition.state == RAMPING and tick.transition.reset_from_pose
    np.testing.assert_allclose(tick.command[:7], POSE[:7])   # action 0 from the measured pose: stay


def test_a_permanent_fault_never_runs_the_model():
    loop, runner = make_loop(permanent_fault=None)
    loop.permanent_fault = "model input 'cam2' is not provided by the contract"
    observe(loop, 0.0)
    tick = loop.tick(0.0)
    assert runner.calls == 0 and loop.safety.state == HOLD and tick.transition.reason == loop.permanent_fault
    np.testing.assert_allclose(tick.command, np.r_[POSE[:7], 0.02])   # hold: the measured pose, as commands


def test_settings_are_the_nodes_and_checked():
    assert set(LOOP_SETTINGS) == {'max_observation_age_ms', 'ramp_duration_s', 'max_delta_step',
                                  'max_absolute_step_fraction', 'start_in_estop'}
    with pytest.raises(ValueError, match="unknown settings \\['max_age'\\]"):
        make_loop(max_age=3)
    loop, _ = make_loop(start_in_estop=True)
    observe(loop, 0.0)
    assert loop.tick(0.0).command is None and loop.safety.state == ESTOP


def make_chunk_loop(chunk, execution, **settings):
    from rlhf_policy.chunking import ChunkExecution
    obs = ObservationSpec([CameraSpec('cam', 4, 4)], list(JOINT_NAMES))
    contract = PolicyContract(obs, ActionSpec.for_panda(max_delta_rad=0.05), rate_hz=RATE,
                              chunk=ChunkExecution(len(chunk), **execution))
    runner = Scripted(chunk)
    loop = PolicyLoop(contract, runner, **{'max_observation_age_ms': 100.0, 'ramp_duration_s': 1 / RATE,
                                           **settings})
    return loop, runner


def known_chunk(horizon=4):
    """Row k: every arm joint 0.01 * (k + 1) rad from the measured arm, the gripper nearly closed."""
    chunk = np.zeros((horizon, 8))
    chunk[:, :7] = 0.01 * np.arange(1, horizon + 1)[:, None]
    chunk[:, 7] = 0.001
    return chunk


def test_chunk_policy_temporal_ensemble_through_the_loop():
    loop, runner = make_chunk_loop(known_chunk(), {'ensemble_decay': 0.5})
    weights = np.exp(-0.5 * np.arange(4))
    steady = np.dot(weights, 0.01 * np.arange(1, 5)) / weights.sum()
    commands = []
    for k in range(12):
        observe(loop, k / RATE)
        commands.append(loop.tick(k / RATE).command)
    assert runner.calls == 12                        # one inference per tick
    np.testing.assert_allclose(commands[-1][:7], POSE[:7] + steady)
    assert commands[-1][7] == 0.0                    # the gripper snaps closed (limited per tick on the way)
    steps = np.abs(np.diff(np.array([c for c in commands if c is not None])[:, :7], axis=0))
    assert np.all(steps <= 0.05 + 1e-12)             # the limiter still bounds every tick's change


def test_chunk_policy_receding_horizon_runs_the_model_every_n_ticks():
    loop, runner = make_chunk_loop(known_chunk(), {'execution': 'receding_horizon', 'replan_every': 3},
                                   max_absolute_step_fraction=1.0)
    offsets = []
    for k in range(10):
        observe(loop, k / RATE)
        command = loop.tick(k / RATE).command
        offsets.append(round(float(command[0] - POSE[0]), 6))
    assert runner.calls == 4                         # ticks 0, 3, 6, 9
    assert offsets[2:] == [0.03, 0.01, 0.02, 0.03, 0.01, 0.02, 0.03, 0.01]   # rows played in order


def test_chunks_are_forgotten_on_hold_and_replanned_after():
    loop, runner = make_chunk_loop(known_chunk(), {'execution': 'receding_horizon', 'replan_every': 4})
    for k in range(3):
        observe(loop, k / RATE)
        loop.tick(k / RATE)
    assert runner.calls == 1
    observe(loop, 3 / RATE, camera=False)            # the camera goes stale: HOLD
    assert loop.tick(1.0).command is not None and loop.safety.state == HOLD
    for now in (1.01, 1.02):
        observe(loop, now)
        loop.tick(now)
    assert runner.calls == 2                         # a fresh chunk as soon as the policy drives again


def test_observation_history_advances_every_tick_while_a_chunk_plays():
    """Receding horizon runs the model every 3rd tick; its history still holds the last 3 control ticks."""
    from rlhf_policy.chunking import ChunkExecution
    obs = ObservationSpec([], list(JOINT_NAMES), proprio_fields=['position'], history=3)
    contract = PolicyContract(obs, ActionSpec.for_panda(max_delta_rad=0.05), rate_hz=RATE,
                              chunk=ChunkExecution(4, execution='receding_horizon', replan_every=3))
    seen = []
    loop = PolicyLoop(contract, lambda inputs: seen.append(inputs['proprio'][0].copy()) or known_chunk(),
                      max_observation_age_ms=100.0, ramp_duration_s=1 / RATE)
    for k in range(7):
        pose = POSE + k                              # joint 0 reads the tick number
        loop.assembler.on_joint_state(JOINT_NAMES, pose, np.zeros(9), k / RATE)
        loop.tick(k / RATE)
    assert [list(s[::9] - POSE[0]) for s in seen] == [[0, 0, 0], [1, 2, 3], [4, 5, 6]]   # ticks 0, 3, 6
    loop.estop('test')
    loop.resume()
    loop.assembler.on_joint_state(JOINT_NAMES, POSE + 10, np.zeros(9), 1.0)
    loop.tick(1.0)
    assert list(seen[-1][::9] - POSE[0]) == [10, 10, 10]   # after a resume the history starts over


def test_the_default_ramp_is_one_second_for_single_step_policies_and_one_tick_for_chunks():
    from rlhf_policy.chunking import ChunkExecution
    obs = ObservationSpec([], list(JOINT_NAMES))
    single = PolicyContract(obs, ActionSpec.for_panda(), rate_hz=RATE)
    chunked = PolicyContract(obs, ActionSpec.for_panda(), rate_hz=RATE, chunk=ChunkExecution(4))
    assert PolicyLoop(single, None).safety.ramp_ticks == 30
    assert PolicyLoop(chunked, None).safety.ramp_ticks == 1
    assert PolicyLoop(chunked, None, ramp_duration_s=0.5).safety.ramp_ticks == 15   # a set duration is kept
