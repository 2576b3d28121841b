# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""Control-loop timing statistics on known tick times: rate, jitter, missed ticks, latencies."""

import numpy as np
import pytest

from rlhf_policy.rate_stats import TickRecorder, missed_ticks, summarise


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
