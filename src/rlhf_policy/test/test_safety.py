# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""The safety state machine: start, ramp, run, hold on faults, e-stop latching."""

import pytest

from rlhf_policy.safety import ESTOP, HOLD, RAMPING, RUNNING, STARTING, SafetyStateMachine


def test_start_ramp_run():
    sm = SafetyStateMachine(ramp_ticks=3)
    assert sm.state == STARTING and not sm.commanding
    assert sm.update(ready=False) is None  # still waiting, no repeated transition
    tr = sm.update(ready=True)
    assert tr.state == RAMPING and tr.reset_from_pose and sm.policy_active
    scales = [sm.ramp_scale]
    assert sm.update(ready=True) is None
    scales.append(sm.ramp_scale)
    assert sm.update(ready=True) is None
    scales.append(sm.ramp_scale)
    assert scales == pytest.approx([1 / 3, 2 / 3, 1.0])
    tr = sm.update(ready=True)
    assert tr.state == RUNNING and sm.ramp_scale == 1.0
    assert sm.update(ready=True) is None


def test_fault_holds_once_and_recovers_from_held_command():
    sm = SafetyStateMachine(ramp_ticks=1)
    sm.update(True)
    sm.update(True)
    assert sm.state == RUNNING
    tr = sm.update(True, 'camera stale')
    assert tr.state == HOLD and tr.reason == 'camera stale' and sm.commanding and not sm.policy_active
    assert sm.update(True, 'camera stale') is None  # logged once
    tr = sm.update(True, 'model output contains NaN/inf')  # a different reason is a new line
    assert tr.state == HOLD
    tr = sm.update(True)
    assert tr.state == RAMPING and not tr.reset_from_pose  # continue from the held command, no jump


def test_estop_latches_until_resume():
    sm = SafetyStateMachine(ramp_ticks=2)
    sm.update(True)
    assert sm.estop('button').state == ESTOP
    assert sm.estop('again') is None
    for _ in range(5):
        assert sm.update(True) is None and sm.state == ESTOP and not sm.commanding
    assert sm.resume()
    assert not sm.resume()
    tr = sm.update(True)
    assert tr.state == RAMPING and tr.reset_from_pose


def test_start_in_estop_and_fault_before_ready():
    sm = SafetyStateMachine(ramp_ticks=2, start_in_estop=True)
    assert sm.state == ESTOP and sm.update(True) is None
    sm.resume()
    assert sm.update(False, 'model input missing').state == STARTING
    assert sm.update(True, 'model input missing').state == HOLD
    tr = sm.update(True)
    assert tr.state == RAMPING and tr.reset_from_pose  # never ramped yet: start from the measured pose
