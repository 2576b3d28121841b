# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""The piano task family: options, spaces, the action mapping, the song's goal frames and key presses."""

import numpy as np
import pytest

from rlhf_sim.piano import N_KEYS, PRESETS, PianoEnv, PianoTask, PianoTaskError, bundled_songs


@pytest.fixture(scope='module')
def env():
    e = PianoEnv(PianoTask(song='CMajorScaleOneHand'))
    yield e
    e.close()


def test_bad_options_name_the_option(tmp_path):
    with pytest.raises(PianoTaskError, match='hands'):
        PianoTask(hands='three')
    with pytest.raises(PianoTaskError, match="unknown option.*'lookahead'"):
        PianoTask.from_dict({'lookahead': 3})
    with pytest.raises(PianoTaskError, match='does not exist'):
        PianoEnv(PianoTask(song=str(tmp_path / 'missing.mid')))
    with pytest.raises(PianoTaskError, match='neither a bundled song'):
        PianoEnv(PianoTask(song='NoSuchSong'))
    assert 'TwinkleTwinkleLittleStar' in bundled_songs() and len(bundled_songs()) == 8
    assert PRESETS['seed'].hands == 'both' and PRESETS['seed'].n_steps_lookahead == 10


def test_spaces_and_layout(env):
    layout = env.observation_layout()
    # goal: 88 keys + sustain for the current and one lookahead frame; previous action (20) and reward (1)
    assert layout['goal'] == 2 * (N_KEYS + 1) and layout['fingering'] == 5 and layout['piano/state'] == N_KEYS
    assert layout['previous_action'] == 20 and layout['previous_reward'] == 1
    assert env.observation_space.shape == (sum(layout.values()),)
    assert env.action_space.shape == (20,) and env.actuator_names[-1] == 'sustain'
    assert len(env.joint_names) == 23 and env.joint_names[0] == 'rh_WRJ2' and 'rh_forearm_tx' in env.joint_names


def test_action_mapping_round_trips(env):
    low, high = env.actuator_range
    np.testing.assert_allclose(env.to_command(-np.ones(20)), low)
    np.testing.assert_allclose(env.to_command(np.ones(20)), high)
    a = np.linspace(-0.9, 0.9, 20)
    np.testing.assert_allclose(env.from_command(env.to_command(a)), a, atol=1e-12)
    with pytest.raises(ValueError, match='20 values'):
        env.to_command(np.zeros(3))


def test_goal_frames_follow_the_song_and_the_observation_shows_the_previous_action(env):
    obs, info = env.reset(seed=0)
    assert not info['goal'].any()
    goals, steps, done = [], 0, False
    action = np.full(20, 0.25, dtype=np.float32)
    while not done:
        obs, reward, terminated, truncated, info = env.step(action)
        goals.append(info['goal'])
        steps += 1
        done = terminated or truncated
    assert truncated and not terminated and steps == env.episode_length
    # C major scale one hand: 15 notes up and down, one key wanted at a time while a note sounds
    wanted = np.array(goals)
    assert wanted.sum(1).max() == 1
    keys_in_order = [int(np.flatnonzero(g)[0]) for g in wanted if g.any()]
    changes = [k for i, k in enumerate(keys_in_order) if i == 0 or k != keys_in_order[i - 1]]
    assert changes[:8] == [51, 53, 55, 56, 58, 60, 62, 63]   # C5 D5 E5 F5 G5 A5 B5 C6 (key = MIDI note - 21)
    start = sum(list(env.observation_layout().values())[:-2])
    np.testing.assert_allclose(obs[start:start + 20], action)


def test_render_is_an_image_of_the_piano(env):
    image = env.render()
    assert image.shape == (240, 320, 3) and image.dtype == np.uint8 and image.std() > 10


def test_the_fingering_player_presses_the_songs_keys():
    from rlhf_sim.piano_player import FingeringPlayer
    env = PianoEnv(PianoTask(song='TwinkleTwinkleLittleStar'))
    try:
        player = FingeringPlayer(env)
        assert (2, False) in player.presses     # the middle finger found a press pose for white keys
        obs, _ = env.reset(seed=0)
        hits = wanted = wrong = 0
        done = False
        while not done:
            obs, _, terminated, truncated, info = env.step(player(obs))
            hits += int((info['pressed'] & info['goal']).sum())
            wanted += int(info['goal'].sum())
            wrong += int((info['pressed'] & ~info['goal']).sum())
            done = terminated or truncated
    finally:
        env.close()
    # The hand at rest presses nothing; the player sounds a good share of the wanted key-frames, few wrong ones.
    assert hits > 0.25 * wanted and wrong < 0.5 * hits
