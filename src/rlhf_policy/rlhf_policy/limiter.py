# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""Per-tick command limiter (pure; no ROS): command limits and a maximum change per control tick.

The command is the action's command layout (``ActionSpec``: every controller's values, in order). Every published
command goes through ``step``, so no value differs from the previous command by more than its ``max_step``
(scaled by the start-up ramp), and none leaves ``[lower, upper]``.
"""

import numpy as np


class CommandLimiter:
    def __init__(self, lower, upper, max_step):
        self.lower = np.array(lower, dtype=np.float64)
        self.upper = np.array(upper, dtype=np.float64)
        self.max_step = np.array(max_step, dtype=np.float64)
        if self.lower.shape != self.upper.shape or self.max_step.shape != self.lower.shape:
            raise ValueError(f'CommandLimiter: lower, upper and max_step must have one value per command, got '
                             f'{self.lower.shape}, {self.upper.shape}, {self.max_step.shape}')
        if np.any(self.lower >= self.upper):
            raise ValueError('CommandLimiter: every lower limit must be below its upper limit')
        if np.any(self.max_step <= 0):
            raise ValueError(f'CommandLimiter: steps must be positive, got {self.max_step.tolist()}')
        n = self.lower.shape[0]
        self._last = np.zeros(n)
        self._step = np.empty(n)
        self._bound = np.empty(n)
        self.initialised = False

    @classmethod
    def for_action(cls, action, max_delta_step=0.0, max_absolute_step_fraction=0.1):
        """The limiter of an ``ActionSpec``.

        Delta groups move at most ``max_delta_step`` per tick (0: the group's own ``max_delta``), other groups at
        most ``max_absolute_step_fraction`` of their range per tick.
        """
        steps = []
        for group in action.groups:
            if group.mode == 'delta':
                steps.append(np.full(group.command_size, max_delta_step or group.max_delta))
            else:
                steps.append(max_absolute_step_fraction * (group.upper - group.lower))
        return cls(action.lower, action.upper, np.concatenate(steps))

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
