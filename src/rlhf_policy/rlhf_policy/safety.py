# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""The policy node's safety state machine (pure; no ROS).

States (numbers as in rlhf_msgs/PolicyStatus):
  STARTING  waiting for the first complete observation; nothing is commanded.
  RAMPING   policy commands pass through a rate limiter whose step grows from 0 to full over ``ramp_ticks``
            ticks, starting from the current pose (after start-up / resume) or the held command (after HOLD).
  RUNNING   policy commands pass through the full-step rate limiter.
  HOLD      a fault (stale or missing observation, NaN/inf output, missing model input): the last safe
            command is repeated. Leaves by itself when the fault clears, through RAMPING.
  ESTOP     emergency stop: nothing new is commanded until an explicit ``resume()``.

``update`` is called once per control tick and returns a ``Transition`` only when the state or the
reason changed, so the node logs state changes once, not per tick.
"""

from dataclasses import dataclass

STARTING, RAMPING, RUNNING, HOLD, ESTOP = range(5)
STATE_NAMES = {STARTING: 'STARTING', RAMPING: 'RAMPING', RUNNING: 'RUNNING', HOLD: 'HOLD', ESTOP: 'ESTOP'}


@dataclass(frozen=True)
class Transition:
    previous: int
    state: int
    reason: str
    reset_from_pose: bool  # the limiter must restart from the measured pose (start-up, resume)

    def describe(self):
        text = f'{STATE_NAMES[self.previous]} -> {STATE_NAMES[self.state]}'
        return f'{text}: {self.reason}' if self.reason else text


class SafetyStateMachine:
    def __init__(self, ramp_ticks, start_in_estop=False):
        if ramp_ticks < 1:
            raise ValueError(f'ramp_ticks: expected >= 1, got {ramp_ticks}')
        self.ramp_ticks = int(ramp_ticks)
        self.state = ESTOP if start_in_estop else STARTING
        self.reason = 'waiting for resume' if start_in_estop else 'waiting for the first complete observation'
        self._ramp_tick = 0
        self._from_pose = True  # the next ramp starts from the measured pose
        self._pending = None

    @property
    def ramp_scale(self):
        """Fraction of the full rate-limit step allowed this tick (1.0 outside RAMPING)."""
        return min(1.0, self._ramp_tick / self.ramp_ticks) if self.state == RAMPING else 1.0

    @property
    def commanding(self):
        """Whether a command is published this tick (RAMPING, RUNNING and HOLD)."""
        return self.state in (RAMPING, RUNNING, HOLD)

    @property
    def policy_active(self):
        """Whether the policy's output drives the command this tick."""
        return self.state in (RAMPING, RUNNING)

    def _go(self, state, reason, reset_from_pose=False):
        if state == self.state and reason == self.reason:
            return None
        transition = Transition(self.state, state, reason, reset_from_pose)
        self.state, self.reason = state, reason
        return transition

    def estop(self, reason='e-stop'):
        """Halt now; stays halted until ``resume``. Returns the transition or None if already stopped."""
        if self.state == ESTOP:
            return None
        self._from_pose = True
        self._pending = self._go(ESTOP, reason)
        return self._pending

    def resume(self):
        """Leave ESTOP (the next tick starts a ramp from the measured pose). Returns False if not stopped."""
        if self.state != ESTOP:
            return False
        self._pending = self._go(STARTING, 'resumed')
        return True

    def take_pending(self):
        """Transition caused by estop()/resume() since the last call (for logging), or None."""
        pending, self._pending = self._pending, None
        return pending

    def update(self, ready, fault=None):
        """Advance one tick; returns a Transition when the state or reason changed, else None.

        ``ready``: every observation has arrived at least once; ``fault``: why the policy must not drive
        the robot now (None when all is well).
        """
        if self.state == ESTOP:
            return None
        if fault:
            if self.state == STARTING and not ready:
                return self._go(STARTING, fault)
            return self._go(HOLD, fault)
        if not ready:
            return self._go(STARTING, 'waiting for the first complete observation') if self.state == STARTING \
                else self._go(HOLD, 'observation missing')
        if self.state in (STARTING, HOLD):
            from_pose = self._from_pose or self.state == STARTING
            self._from_pose = False
            self._ramp_tick = 1
            why = 'ramping from the current pose' if from_pose else 'fault cleared, ramping from the held command'
            return self._go(RAMPING, why, reset_from_pose=from_pose)
        if self.state == RAMPING:
            if self._ramp_tick >= self.ramp_ticks:
                return self._go(RUNNING, '')
            self._ramp_tick += 1
        return None
