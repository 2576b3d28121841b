# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""Control-loop timing statistics (pure; no ROS): rate, jitter, latencies, missed ticks.

The node records one row per tick into a preallocated ring buffer (no per-tick allocation) and
summarises the rows of the last status window. Optionally every row is kept for a whole-run dump
(used by bench/policy_loop_bench.py).
"""

from dataclasses import dataclass

import numpy as np

# Columns of one tick record.
TICK_START_S, INFERENCE_MS, LATENCY_MS, OBS_AGE_MS, TICK_CPU_MS = range(5)
COLUMNS = ('tick_start_s', 'inference_ms', 'latency_ms', 'observation_age_ms', 'tick_cpu_ms')


@dataclass
class RateSummary:
    ticks: int
    achieved_rate_hz: float
    jitter_p50_ms: float
    jitter_p99_ms: float
    inference_mean_ms: float
    inference_p99_ms: float
    latency_p50_ms: float
    latency_p99_ms: float
    observation_age_ms: float
    missed_ticks: int


def missed_ticks(periods_s, target_period_s):
    """Control slots skipped: a period of about k target periods skipped k - 1 slots."""
    slots = np.rint(np.asarray(periods_s) / target_period_s) - 1
    return int(np.sum(np.maximum(slots, 0)))


def summarise(rows, target_period_s):
    """Summary of (N, 5) tick rows (``COLUMNS``).

    Jitter = |tick-to-tick period - target period|; NaN entries (e.g. no inference in HOLD) are skipped.
    """
    rows = np.asarray(rows, dtype=np.float64).reshape(-1, len(COLUMNS))
    n = rows.shape[0]
    nan = float('nan')

    def pct(col, q):
        vals = rows[:, col][np.isfinite(rows[:, col])]
        return float(np.percentile(vals, q)) if vals.size else nan

    def mean(col):
        vals = rows[:, col][np.isfinite(rows[:, col])]
        return float(vals.mean()) if vals.size else nan

    if n >= 2:
        periods = np.diff(rows[:, TICK_START_S])
        span = rows[-1, TICK_START_S] - rows[0, TICK_START_S]
        rate = (n - 1) / span if span > 0 else nan
        jitter = np.abs(periods - target_period_s) * 1e3
        jitter_p50, jitter_p99 = float(np.percentile(jitter, 50)), float(np.percentile(jitter, 99))
        missed = missed_ticks(periods, target_period_s)
    else:
        rate = jitter_p50 = jitter_p99 = nan
        missed = 0
    return RateSummary(n, rate, jitter_p50, jitter_p99, mean(INFERENCE_MS), pct(INFERENCE_MS, 99),
                       pct(LATENCY_MS, 50), pct(LATENCY_MS, 99), rows[-1, OBS_AGE_MS] if n else nan, missed)


class TickRecorder:
    """Ring buffer of the last ``window`` tick rows, plus (optionally) every row of the run."""

    def __init__(self, window, keep_all=False):
        self._rows = np.full((window, len(COLUMNS)), np.nan)
        self._count = 0
        self.total_ticks = 0
        self.total_missed = 0
        self._previous_start = None
        self._all = [] if keep_all else None

    def record(self, tick_start_s, inference_ms, latency_ms, observation_age_ms, target_period_s,
               tick_cpu_ms=float('nan')):
        row = self._rows[self._count % self._rows.shape[0]]
        row[TICK_START_S], row[INFERENCE_MS] = tick_start_s, inference_ms
        row[LATENCY_MS], row[OBS_AGE_MS], row[TICK_CPU_MS] = latency_ms, observation_age_ms, tick_cpu_ms
        if self._previous_start is not None:
            self.total_missed += missed_ticks(tick_start_s - self._previous_start, target_period_s)
        self._previous_start = tick_start_s
        self._count += 1
        self.total_ticks += 1
        if self._all is not None:
            self._all.append(row.copy())

    def window_rows(self):
        """Rows of the window in time order."""
        n = min(self._count, self._rows.shape[0])
        start = self._count - n
        idx = np.arange(start, self._count) % self._rows.shape[0]
        return self._rows[idx]

    def all_rows(self):
        if self._all is None:
            raise RuntimeError('TickRecorder(keep_all=False) keeps only the window')
        return np.array(self._all).reshape(-1, len(COLUMNS))
