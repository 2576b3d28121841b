# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""Evaluation metrics with known answers, and the JSON report/table."""

import json

import numpy as np
import pytest

from rlhf_policy.episode_metrics import EpisodeResult, format_table, mean_action_change, mean_squared_jerk, write_report


def test_jerk_of_a_cubic_and_a_line():
    t = np.sort(np.random.default_rng(0).uniform(0, 2, 400))  # irregular arrivals, resampled
    q = np.stack([t ** 3, 2 * t], axis=1)
    # jerk of t^3 is 6 everywhere, of a line 0: mean over both joints = 36 / 2
    assert mean_squared_jerk(t, q, rate_hz=30.0) == pytest.approx(18.0, rel=0.05)
    assert np.isnan(mean_squared_jerk(t[:3], q[:3]))


def test_action_change():
    c = np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 2.0]])
    assert mean_action_change(c) == pytest.approx((1.0 + 4.0) / 2)
    assert np.isnan(mean_action_change(c[:1]))


def test_report_round_trip(tmp_path):
    results = [EpisodeResult(0, 10, True, 4.0, 4.0, 1.0, 2.0, 0.1, 120),
               EpisodeResult(1, 11, False, float('nan'), 30.0, 0.4, 4.0, 0.3, 900)]
    report = write_report(tmp_path / 'r' / 'eval.json', results, {'task': 'pick_place'})
    loaded = json.loads((tmp_path / 'r' / 'eval.json').read_text())
    assert loaded == report
    s = loaded['summary']
    assert s['success_rate'] == 0.5 and s['mean_completion_time_s'] == 4.0 and s['seeds'] == [10, 11]
    assert s['mean_final_progress'] == pytest.approx(0.7) and loaded['episodes'][1]['completion_time_s'] is None
    table = format_table(loaded)
    assert 'success rate 0.50 (1/2)' in table and len(table.splitlines()) == 4
