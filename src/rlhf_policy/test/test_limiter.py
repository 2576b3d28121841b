# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""The command limiter: per-tick steps scaled by the ramp, command limits, the limits of an action space."""

import numpy as np
import pytest

from rlhf_policy.limiter import CommandLimiter


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
