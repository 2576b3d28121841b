# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""The episode state machine: transitions, ids, seeds, counts and refused requests."""

import re

import pytest

from rlhf_teleop.episode_manager import (
    DISCARDED,
    FAILURE,
    IDLE,
    RECORDING,
    STARTING,
    SUCCESS,
    EpisodeError,
    EpisodeManager,
    make_episode_id,
)

WALL = 1795256100.0   # 2026-11-21T10:15:00Z


def test_episode_id_format():
    assert make_episode_id('pick_place', 3, WALL) == '20261121T101500_pick_place_0003'
    assert make_episode_id('a b/c', 12, WALL) == '20261121T101500_a-b-c_0012'


def test_full_cycle_counts_and_feedback():
    manager = EpisodeManager('pick_place', seed=100)
    assert manager.state == IDLE and manager.action_for('toggle') == 'start'
    episode = manager.begin(WALL)
    assert manager.state == STARTING and episode.seed == 100 and episode.number == 1
    assert manager.action_for('toggle') is None              # nothing acts while the scene resets
    line = manager.start_recording(now=10.0)
    assert episode.episode_id in line and 'seed 100' in line
    assert manager.state == RECORDING and manager.elapsed(12.5) == pytest.approx(2.5)
    assert manager.action_for('toggle') == 'success' and manager.action_for('discard') == 'discard'
    done = manager.finish(SUCCESS, now=14.0)
    assert done.duration_s == pytest.approx(4.0) and done.outcome == SUCCESS
    assert 'SUCCESS after 4.0 s' in manager.finish_text(done) and 'saved 1' in manager.finish_text(done)

    second = manager.begin(WALL + 20)
    manager.start_recording(20.0)
    manager.finish(DISCARDED, 21.0, note='dropped the cube')
    third = manager.begin(WALL + 30)
    manager.start_recording(30.0)
    manager.finish(FAILURE, 31.0)
    assert (second.seed, third.seed) == (101, 102)           # every attempt gets a new scene
    assert (second.number, third.number) == (2, 3)
    assert len({done.episode_id, second.episode_id, third.episode_id}) == 3
    assert (manager.saved, manager.successes, manager.failures, manager.discarded) == (2, 1, 1, 1)
    assert re.search(r'saved 2 \(1 success, 1 failure\), discarded 1', manager.status_text(40.0))


def test_scene_count_cycles_the_scenes():
    manager = EpisodeManager('reach', seed=10, scene_count=3)
    seeds = []
    for k in range(7):
        seeds.append(manager.begin(WALL + k).seed)
        manager.start_recording(float(k))
        manager.finish(FAILURE, k + 0.5)
    assert seeds == [10, 11, 12, 10, 11, 12, 10]
    with pytest.raises(ValueError, match='scene_count'):
        EpisodeManager('reach', scene_count=-1)


def test_explicit_seed_and_refused_transitions():
    manager = EpisodeManager('stack', seed=0)
    with pytest.raises(EpisodeError):
        manager.finish(SUCCESS, 0.0)
    with pytest.raises(EpisodeError):
        manager.start_recording(0.0)
    assert manager.action_for('failure') is None and manager.action_for('discard') is None
    episode = manager.begin(WALL, seed=42)
    assert episode.seed == 42
    with pytest.raises(EpisodeError, match='cannot start'):
        manager.begin(WALL)
    manager.start_recording(1.0)
    with pytest.raises(ValueError, match='unknown outcome'):
        manager.finish('great', 2.0)


def test_failed_reset_returns_to_idle_without_counting():
    manager = EpisodeManager('insertion')
    manager.begin(WALL)
    line = manager.abort_start('reset service timed out')
    assert 'not started' in line and manager.state == IDLE
    assert manager.saved == 0 and manager.discarded == 0
    assert manager.begin(WALL + 1).number == 2


def test_unattended_outcome_needs_success_to_hold_and_times_out():
    manager = EpisodeManager('reach', success_settle_s=0.5, episode_timeout_s=3.0)
    assert manager.unattended_outcome(0.0, True) is None          # not recording
    manager.begin(1000.0)
    manager.start_recording(10.0)
    assert manager.unattended_outcome(10.1, True) is None         # success seen, not held yet
    assert manager.unattended_outcome(10.4, False) is None        # lost again: the settle time restarts
    assert manager.unattended_outcome(10.5, True) is None
    assert manager.unattended_outcome(10.99, True) is None
    assert manager.unattended_outcome(11.0, True) == (SUCCESS, 'task success held')
    manager.finish(SUCCESS, 11.0)
    manager.begin(1001.0)
    manager.start_recording(20.0)
    assert manager.unattended_outcome(22.9, False) is None
    assert manager.unattended_outcome(23.0, False) == (FAILURE, 'timeout after 3 s')
