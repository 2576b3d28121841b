# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""Executing action chunks at the control rate (pure; no ROS, no allocation per tick).

A chunk policy answers one observation with ``horizon`` absolute commands, one per coming control tick.
Two execution rules:

- ``temporal_ensemble``: the policy runs every tick; the command of tick t is the weighted mean of what every
  chunk still covering t predicted for it, a prediction made ``age`` ticks ago weighing ``exp(-decay * age)``.
  Overlapping chunks average out each other's errors and the motion stays smooth across re-plans.
- ``receding_horizon``: the policy runs every ``replan_every`` ticks and its chunk is played row by row.

Gripper: with ``gripper_threshold`` the averaged value of every coupled action group (a parallel gripper's
opening) snaps to its lower or upper limit at mid-range, so that a grasp is never half-hearted (a regression to
the mean of open and closed demonstrations would otherwise leave the fingers hovering around the object).
"""

from dataclasses import dataclass

import numpy as np

EXECUTION_RULES = ('temporal_ensemble', 'receding_horizon')


@dataclass
class ChunkExecution:
    """How a chunk is executed (the contract's ``action.chunk``)."""

    horizon: int = 20
    execution: str = 'temporal_ensemble'
    ensemble_decay: float = 0.1      # temporal_ensemble: weight exp(-decay * age in ticks)
    replan_every: int = 5            # receding_horizon: ticks between policy runs (<= horizon)
    gripper_threshold: bool = True   # snap coupled groups (a gripper's opening) to open / closed

    def __post_init__(self):
        if isinstance(self.horizon, bool) or not isinstance(self.horizon, (int, np.integer)) or self.horizon < 1:
            raise ValueError(f'chunk horizon: expected a positive integer, got {self.horizon!r}')
        if self.execution not in EXECUTION_RULES:
            raise ValueError(f'chunk execution: expected one of {list(EXECUTION_RULES)}, got {self.execution!r}')
        if not (isinstance(self.ensemble_decay, (int, float)) and np.isfinite(self.ensemble_decay)
                and self.ensemble_decay >= 0):
            raise ValueError(f'chunk ensemble_decay: expected a number >= 0, got {self.ensemble_decay!r}')
        if isinstance(self.replan_every, bool) or not isinstance(self.replan_every, (int, np.integer)) or not (
                1 <= self.replan_every <= (self.horizon if self.execution == 'receding_horizon' else 10 ** 9)):
            raise ValueError(f'chunk replan_every: expected an integer in 1..horizon={self.horizon}, '
                             f'got {self.replan_every!r}')
        if not isinstance(self.gripper_threshold, bool):
            raise ValueError(f'chunk gripper_threshold: expected true or false, got {self.gripper_threshold!r}')
        self.horizon, self.replan_every = int(self.horizon), int(self.replan_every)
        self.ensemble_decay = float(self.ensemble_decay)


class ChunkExecutor:
    """Turns chunks of absolute commands into one command per tick.

    Per tick: ``needs_chunk()`` says whether the policy must run now; if so, ``add(chunk)``; then ``next()``
    gives this tick's command and advances. ``reset()`` forgets every chunk (after a hold, an e-stop or a
    new episode: old plans start from a state that is gone).
    """

    def __init__(self, execution: ChunkExecution, dim: int, snap=None, lower=None, upper=None):
        """``snap`` (dim,) bool: the values that snap to ``lower`` or ``upper`` (dim,) when the rule thresholds."""
        self.rule = execution
        h = execution.horizon
        self.dim = int(dim)
        self._chunks = np.zeros((h, h, self.dim))   # ring of the last h chunks
        self._issued = np.full(h, -10 ** 9, dtype=np.int64)  # tick each ring slot was issued at
        self._weights = np.zeros(h)
        self._out = np.zeros(self.dim)
        self._snap = np.zeros(self.dim, bool) if snap is None or not execution.gripper_threshold else np.asarray(snap)
        self._lower = np.zeros(self.dim) if lower is None else np.asarray(lower, np.float64)
        self._upper = np.zeros(self.dim) if upper is None else np.asarray(upper, np.float64)
        self._mid = 0.5 * (self._lower + self._upper)
        self.tick = 0
        self._count = 0

    @classmethod
    def for_action(cls, execution: ChunkExecution, action) -> 'ChunkExecutor':
        """An executor for an ``rlhf_policy.actions.ActionSpec``: chunks in its command layout, coupled groups snap."""
        snap = np.zeros(action.command_dim, bool)
        start = 0
        for group in action.groups:
            snap[start:start + group.command_size] = group.coupled
            start += group.command_size
        return cls(execution, action.command_dim, snap, action.lower, action.upper)

    def reset(self) -> None:
        self._issued[:] = -10 ** 9
        self.tick = 0
        self._count = 0

    def needs_chunk(self) -> bool:
        if self._count == 0 or self.rule.execution == 'temporal_ensemble':
            return True
        return self.tick - self._issued[(self._count - 1) % self.rule.horizon] >= self.rule.replan_every

    def add(self, chunk) -> None:
        """Store a (horizon, dim) chunk of absolute commands issued at the current tick."""
        chunk = np.asarray(chunk)
        if chunk.shape != (self.rule.horizon, self.dim):
            raise ValueError(f'chunk: expected shape ({self.rule.horizon}, {self.dim}), got {chunk.shape}')
        slot = self._count % self.rule.horizon
        self._chunks[slot] = chunk
        self._issued[slot] = self.tick
        self._count += 1

    def next(self) -> np.ndarray:
        """This tick's command (a view reused every tick; copy to keep it); raises before the first ``add``."""
        age = self.tick - self._issued
        live = (age >= 0) & (age < self.rule.horizon)
        if not live.any():
            raise RuntimeError('ChunkExecutor.next: no chunk covers this tick (call add first)')
        out = self._out
        if self.rule.execution == 'temporal_ensemble':
            np.multiply(age, -self.rule.ensemble_decay, out=self._weights)
            np.exp(self._weights, out=self._weights)
            self._weights[~live] = 0.0
            self._weights /= self._weights.sum()
            rows = np.where(live, age, 0)
            np.dot(self._weights, self._chunks[np.arange(self.rule.horizon), rows], out=out)
        else:
            newest = (self._count - 1) % self.rule.horizon
            out[:] = self._chunks[newest, min(int(age[newest]), self.rule.horizon - 1)]
        if self._snap.any():
            snapped = np.where(out > self._mid, self._upper, self._lower)
            np.copyto(out, snapped, where=self._snap)
        self.tick += 1
        return out
