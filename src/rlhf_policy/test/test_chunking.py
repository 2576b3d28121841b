# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""Chunk execution: temporal ensembling, receding horizon, the gripper threshold and resets."""

import numpy as np
import pytest

from rlhf_policy.actions import ActionSpec
from rlhf_policy.chunking import ChunkExecution, ChunkExecutor


def executor(execution):
    """An executor for the Panda's 8 command values (7 arm targets + the coupled gripper opening)."""
    return ChunkExecutor.for_action(execution, ActionSpec.for_panda())


def ramp_chunk(start_tick, horizon, offset=0.0):
    """Chunk of a joint moving 0.01 rad per tick (all 7 arm joints), gripper open, issued at start_tick."""
    ticks = start_tick + np.arange(horizon)
    chunk = np.zeros((horizon, 8))
    chunk[:, :7] = 0.01 * ticks[:, None] + offset
    chunk[:, 7] = 0.04
    return chunk


def test_temporal_ensemble_of_consistent_chunks_follows_the_trajectory():
    ex = executor(ChunkExecution(horizon=5, ensemble_decay=0.3))
    for t in range(12):
        assert ex.needs_chunk()
        ex.add(ramp_chunk(t, 5))
        np.testing.assert_allclose(ex.next()[:7], 0.01 * t)


def test_temporal_ensemble_weights_fresh_predictions_by_decay():
    # Chunk 0 predicts 0 for every tick, chunk 1 (one tick later) predicts 1: tick 1 mixes both.
    ex = executor(ChunkExecution(horizon=3, ensemble_decay=0.5, gripper_threshold=False))
    ex.add(np.zeros((3, 8)))
    ex.next()
    ex.add(np.ones((3, 8)))
    w_old, w_new = np.exp(-0.5), 1.0
    np.testing.assert_allclose(ex.next(), w_new / (w_old + w_new))
    uniform = executor(ChunkExecution(horizon=3, ensemble_decay=0.0, gripper_threshold=False))
    uniform.add(np.zeros((3, 8)))
    uniform.next()
    uniform.add(np.ones((3, 8)))
    np.testing.assert_allclose(uniform.next(), 0.5)


def test_chunks_older_than_the_horizon_drop_out():
    ex = executor(ChunkExecution(horizon=2, ensemble_decay=0.0, gripper_threshold=False))
    ex.add(np.full((2, 8), 5.0))
    ex.next()
    ex.add(np.full((2, 8), 1.0))
    ex.next()
    ex.add(np.full((2, 8), 1.0))
    np.testing.assert_allclose(ex.next(), 1.0)   # the first chunk covered ticks 0 and 1 only


def test_receding_horizon_replans_every_n_ticks_and_plays_the_rows():
    ex = executor(ChunkExecution(horizon=4, execution='receding_horizon', replan_every=3))
    planned = []
    for t in range(9):
        if ex.needs_chunk():
            planned.append(t)
            ex.add(ramp_chunk(t, 4, offset=100.0 * len(planned)))
        np.testing.assert_allclose(ex.next()[:7], 0.01 * t + 100.0 * len(planned))
    assert planned == [0, 3, 6]


def test_gripper_threshold_snaps_to_open_or_closed():
    ex = executor(ChunkExecution(horizon=2))   # the Panda's gripper: 0 .. 0.04 m
    chunk = np.zeros((2, 8))
    chunk[:, 7] = [0.021, 0.019]
    ex.add(chunk)
    assert ex.next()[7] == 0.04
    ex.add(chunk)   # tick 1: old chunk says 0.019, new one 0.021 -> mean just above the middle
    assert ex.next()[7] == 0.04
    continuous = executor(ChunkExecution(horizon=2, gripper_threshold=False))
    continuous.add(chunk)
    assert continuous.next()[7] == pytest.approx(0.021)


def test_reset_forgets_old_chunks():
    ex = executor(ChunkExecution(horizon=3, ensemble_decay=0.0, gripper_threshold=False))
    ex.add(np.full((3, 8), 7.0))
    ex.next()
    ex.reset()
    with pytest.raises(RuntimeError, match='no chunk'):
        ex.next()
    ex.add(np.full((3, 8), 2.0))
    np.testing.assert_allclose(ex.next(), 2.0)


@pytest.mark.parametrize('kwargs, match', [
    ({'horizon': 0}, 'horizon'), ({'execution': 'average'}, 'execution'), ({'ensemble_decay': -1.0}, 'decay'),
    ({'horizon': 4, 'execution': 'receding_horizon', 'replan_every': 5}, 'replan_every'),
    ({'gripper_threshold': 'yes'}, 'gripper_threshold')])
def test_bad_execution_settings_are_named(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ChunkExecution(**kwargs)


def test_wrong_chunk_shape_is_an_error():
    ex = executor(ChunkExecution(horizon=3))
    with pytest.raises(ValueError, match=r'\(3, 8\)'):
        ex.add(np.zeros((2, 8)))
