# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""Key-press F1 on known key sequences, and the baselines on a real song."""

import numpy as np
import pytest

from rlhf_training.piano_eval import baselines, frame_scores, score_performance


def keys(*pressed_per_frame):
    out = np.zeros((len(pressed_per_frame), 88), dtype=bool)
    for t, ks in enumerate(pressed_per_frame):
        out[t, list(ks)] = True
    return out


def test_f1_of_a_known_key_sequence():
    wanted = keys([39], [41], [43, 47], [], [44])
    pressed = keys([39], [39], [43], [], [44, 45, 46])
    precision, recall, f1 = frame_scores(pressed, wanted)
    np.testing.assert_allclose(precision, [1, 0, 1, 1, 1 / 3])
    np.testing.assert_allclose(recall, [1, 0, 0.5, 1, 1])
    np.testing.assert_allclose(f1, [1, 0, 2 / 3, 1, 0.5])          # the silent frame played silently scores 1
    score = score_performance(pressed, wanted, sustain=[0, 0, 1, 1, 0], wanted_sustain=[0, 0, 1, 0, 0])
    assert score.f1 == pytest.approx(np.mean([1, 0, 2 / 3, 1, 0.5]))
    assert score.wrong_presses == pytest.approx((0 + 1 + 0 + 0 + 2) / 5)
    assert score.sustain_f1 == pytest.approx(np.mean([1, 1, 1, 0, 1]))
    assert score.frames == 5


def test_f1_matches_sklearn_with_zero_division_one():
    from sklearn.metrics import precision_recall_fscore_support
    rng = np.random.default_rng(0)
    wanted = rng.random((200, 88)) < 0.02
    pressed = rng.random((200, 88)) < 0.02
    ours = frame_scores(pressed, wanted)
    theirs = np.array([precision_recall_fscore_support(w, p, average='binary', zero_division=1)[:3]
                       for w, p in zip(wanted, pressed)]).T
    np.testing.assert_allclose(np.array(ours), theirs, atol=1e-12)
    with pytest.raises(ValueError, match='one shape'):
        frame_scores(pressed[:3], wanted)


def test_baselines_on_a_song():
    from rlhf_sim.piano import PianoEnv, PianoTask
    env = PianoEnv(PianoTask(song='CMajorScaleOneHand'))
    try:
        base = baselines(env)
    finally:
        env.close()
    for name in ('zero', 'random'):
        assert 0.0 <= base[name]['f1'] < 0.3 and base[name]['frames'] == env.episode_length
    assert base['zero']['action_change'] == 0.0 < base['random']['action_change']
