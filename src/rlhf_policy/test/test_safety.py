# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""Safety state machine, command limiter and rate statistics (pure, no ROS)."""

import numpy as np
import pytest

from rlhf_policy.limiter import CommandLimiter
from rlhf_policy.rate_stats import TickRecorder, missed_ticks, summarise
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


def test_limiter_rate_limits_and_clips():
    lim = CommandLimiter(np.r_[-np.ones(7), 0.0], np.r_[np.ones(7), 0.04], np.r_[np.full(7, 0.1), 0.01])
    with pytest.raises(RuntimeError):
        lim.step(np.zeros(8))
    lim.reset(np.r_[np.zeros(7), 0.0])
    target = np.r_[np.full(7, 5.0), 0.04]
    out = lim.step(target, scale=0.5).copy()
    np.testing.assert_allclose(out, np.r_[np.full(7, 0.05), 0.005])
    for _ in range(30):
        out = lim.step(target).copy()
    np.testing.assert_allclose(out, np.r_[np.ones(7), 0.04])  # clipped at the limits
    prev = out
    out = lim.step(np.r_[-np.ones(7), 0.0]).copy()
    assert np.all(np.abs(out - prev) <= np.r_[np.full(7, 0.1), 0.01] + 1e-12)
    lim.reset(np.r_[np.full(7, 3.0), 1.0])
    np.testing.assert_allclose(lim.last, np.r_[np.ones(7), 0.04])


def test_limiter_of_an_action_space():
    from rlhf_policy.actions import ActionSpec
    lim = CommandLimiter.for_action(ActionSpec.for_panda(max_delta_rad=0.05))
    np.testing.assert_allclose(lim.max_step, np.r_[np.full(7, 0.05), 0.004])   # gripper: 10 % of its range
    lim = CommandLimiter.for_action(ActionSpec.for_panda(max_delta_rad=0.05), max_delta_step=0.02,
                                    max_absolute_step_fraction=0.5)
    np.testing.assert_allclose(lim.max_step, np.r_[np.full(7, 0.02), 0.02])
    with pytest.raises(ValueError, match='one value per command'):
        CommandLimiter(np.zeros(2), np.ones(2), np.ones(3))


def test_rate_summary_on_known_ticks():
    period = 1 / 30
    starts = np.arange(100) * period
    starts[50:] += period  # one slot skipped between tick 49 and 50
    starts[10] += 0.002    # one late tick: two periods deviate by 2 ms
    rows = np.stack([starts, np.full(100, 1.5), np.linspace(1, 2, 100), np.full(100, 20.0), np.ones(100)], axis=1)
    s = summarise(rows, period)
    assert s.ticks == 100 and s.missed_ticks == 1
    assert s.achieved_rate_hz == pytest.approx(99 / (starts[-1] - starts[0]))
    assert s.jitter_p50_ms == pytest.approx(0.0, abs=1e-9)
    assert s.inference_mean_ms == pytest.approx(1.5) and s.latency_p50_ms == pytest.approx(1.5)
    assert missed_ticks([period, 2.2 * period, 3 * period], period) == 3


def test_tick_recorder_window_and_totals():
    rec = TickRecorder(window=4, keep_all=True)
    period = 0.1
    for i, t in enumerate([0.0, 0.1, 0.2, 0.4, 0.5, 0.6]):
        rec.record(t, float(i), np.nan, 1.0, period)
    np.testing.assert_allclose(rec.window_rows()[:, 0], [0.2, 0.4, 0.5, 0.6])
    assert rec.total_ticks == 6 and rec.total_missed == 1 and rec.all_rows().shape == (6, 5)
    s = summarise(rec.window_rows(), period)
    assert np.isnan(s.latency_p99_ms) and s.inference_mean_ms == pytest.approx(3.5)
