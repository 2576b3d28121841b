# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""Per-tick command limiter (pure; no ROS): joint limits and a maximum change per control tick.

The command is the 8-vector of the command topics: 7 arm joint targets (rad) + finger opening (m).
Every published command goes through ``step``, so no command differs from the previous one by more
than ``max_arm_step_rad`` per arm joint / ``max_gripper_step_m`` for the gripper, scaled by the
start-up ramp, and none leaves the joint limits or the gripper range.
"""

import numpy as np


class CommandLimiter:
    def __init__(self, joint_lower, joint_upper, gripper_range, max_arm_step_rad, max_gripper_step_m):
        self.lower = np.empty(8)
        self.upper = np.empty(8)
        self.lower[:7], self.upper[:7] = joint_lower, joint_upper
        self.lower[7], self.upper[7] = gripper_range
        if np.any(self.lower >= self.upper):
            raise ValueError('CommandLimiter: every lower limit must be below its upper limit')
        if max_arm_step_rad <= 0 or max_gripper_step_m <= 0:
            raise ValueError(f'CommandLimiter: steps must be positive, got {max_arm_step_rad}, {max_gripper_step_m}')
        self.max_step = np.full(8, float(max_arm_step_rad))
        self.max_step[7] = float(max_gripper_step_m)
        self._last = np.zeros(8)
        self._step = np.empty(8)
        self._bound = np.empty(8)
        self.initialised = False

    @property
    def last(self):
        """The last command (read-only view); only meaningful once ``initialised``."""
        view = self._last.view()
        view.flags.writeable = False
        return view

    def reset(self, command):
        """Start from ``command`` (e.g. the measured pose), clipped to the limits."""
        np.clip(np.asarray(command, dtype=np.float64), self.lower, self.upper, out=self._last)
        self.initialised = True

    def step(self, target, scale=1.0):
        """Move the last command towards ``target`` by at most ``scale * max_step``; returns the new command."""
        if not self.initialised:
            raise RuntimeError('CommandLimiter.step before reset()')
        np.multiply(self.max_step, max(0.0, min(1.0, scale)), out=self._bound)
        np.subtract(target, self._last, out=self._step)
        np.clip(self._step, -self._bound, self._bound, out=self._step)
        self._last += self._step
        np.clip(self._last, self.lower, self.upper, out=self._last)
        return self._last
