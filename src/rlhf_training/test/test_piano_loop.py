# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""The piano loop on a tiny budget, and the scripted rater.

SAC checkpoint -> recorded performances (bags, clips with sound) -> scripted ratings -> preferences over every
pair -> CPL from the SAC checkpoint.
"""

import av
import numpy as np
import pytest
import torch

from rlhf_training.piano_cpl import ScriptedPianoRater


def test_rater_prefers_fewer_wrong_keys_and_calmer_fingers_at_the_same_f1():
    goal = np.zeros((10, 88), bool)
    goal[:, 40] = True
    clean = {'pressed': goal.copy(), 'goal': goal, 'sustain': np.zeros(10, bool), 'goal_sustain': np.zeros(10, bool),
             'q': np.zeros((10, 23))}
    wrong = dict(clean, pressed=goal.copy())
    wrong['pressed'][:, 41] = True          # same hits, an extra key down everywhere
    busy = dict(clean, q=np.tile([[0.0], [0.2]], (5, 23)))   # fingers swing 0.2 rad every step
    rater = ScriptedPianoRater(noise=0.0)
    assert rater.quality(clean) > rater.quality(wrong) and rater.quality(clean) > rater.quality(busy)
    assert rater.features(wrong)['f1'] < rater.features(clean)['f1'] == 1.0
    assert rater.features(busy)['finger_motion'] == pytest.approx(0.2)


def test_performances_ratings_and_cpl_from_a_sac_checkpoint(tmp_path):
    from rlhf_preference.pairs import load_pairs_file
    from rlhf_preference.ratings import main as ratings_main
    from rlhf_preference.ratings import read_ratings_file
    from rlhf_recorder.reader import read_episode
    from rlhf_training.checkpoint import load_policy
    from rlhf_training.config import SACConfig
    from rlhf_training.piano_cpl import rate_performances, run_piano_cpl
    from rlhf_training.piano_performances import record_performances
    from rlhf_training.sac import run as run_sac

    options = {'preset': 'cpu', 'song': 'CMajorScaleOneHand'}
    sac = SACConfig(env='piano', env_options=options, steps=30, warmup_steps=10, batch_size=8, hidden_dims=[16],
                    eval_every=0, eval_episodes=1, progress=False, out_dir=str(tmp_path / 'sac'))
    summary = run_sac(sac)
    assert 0.0 <= summary['final_eval_f1'] <= 1.0
    segments = record_performances(tmp_path / 'sac', tmp_path / 'perf', noise_levels=(0.0, 0.5), repeats=1,
                                   camera_size=(64, 48), progress=False)
    assert len(segments) == 2 and segments[0].duration_s == pytest.approx(151 * 0.05)
    # the bag has the piano node's topics; the clip has video and sound
    episode = read_episode(segments[0].episode_path, rate_hz=20.0)
    assert episode.joint_positions.shape[1] == 23
    pairs, clip_dir = load_pairs_file(tmp_path / 'perf' / 'pairs.json')
    assert len(pairs) == 1
    with av.open(str(clip_dir / pairs[0].clip_a)) as container:
        kinds = sorted(s.type for s in container.streams)
    assert kinds == ['audio', 'video']
    # the bag alone scores the performance as the run did
    from rlhf_training.piano_eval import score_bag, score_performance
    perf = np.load(f'{segments[1].episode_path}/performance.npz')
    expected = score_performance(perf['pressed'], perf['goal'], perf['sustain'], perf['goal_sustain'])
    assert score_bag(segments[1].episode_path) == expected
    ratings = rate_performances(segments, tmp_path / 'ratings.json', annotators=2)
    assert len(read_ratings_file(ratings)[1]) == 2
    assert ratings_main(['--ratings', str(ratings), '--output', str(tmp_path / 'prefs.json')]) == 0
    out = run_piano_cpl(tmp_path / 'sac', tmp_path / 'prefs.json', tmp_path / 'cpl',
                        ['steps=2', 'batch_size=2', 'progress=false', 'lr=1e-9'])
    assert out['steps'] == 2 and out['pairs'] == 1
    tuned, _ = load_policy(tmp_path / 'cpl')
    sac_actor, _ = load_policy(tmp_path / 'sac')
    for name, p in sac_actor.state_dict().items():   # CPL started from the SAC weights (lr 1e-9: still them)
        torch.testing.assert_close(tuned.state_dict()[name], p, atol=1e-6, rtol=0)


def test_the_piano_action_is_a_contract_action_spec():
    from rlhf_sim.piano import PianoEnv, PianoTask
    from rlhf_training.envs import piano_action_spec
    env = PianoEnv(PianoTask(song='CMajorScaleOneHand'))
    try:
        env.reset(seed=0)
        spec = piano_action_spec(env)
        assert spec.command_topics == [('/hand_controller/commands', 20)] and spec.action_dim == 20
        a = np.linspace(-1.0, 1.0, 20)
        names, position, _ = env.joint_state_with_coupled()
        measured = spec.measured_command(names, position)
        np.testing.assert_allclose(measured, env.measured_command(), atol=1e-9)
        np.testing.assert_allclose(spec.to_command(a, measured), env.to_command(a), atol=1e-12)
        np.testing.assert_allclose(spec.from_commands(env.to_command(a)[None], measured[None])[0], a, atol=1e-9)
        for _ in range(20):     # holding the measured pose keeps the hand where it is
            env.step(env.from_command(env.measured_command()))
        before = env.joint_state()[0]
        env.step(env.from_command(env.measured_command()))
        np.testing.assert_allclose(env.joint_state()[0], before, atol=0.02)
    finally:
        env.close()
