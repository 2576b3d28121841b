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


@pytest.fixture(scope='module')
def sac_run(tmp_path_factory):
    """A piano SAC checkpoint trained for 30 steps (the loop's stages only need its shapes)."""
    from rlhf_training.config import SACConfig
    from rlhf_training.sac import run as run_sac
    out = tmp_path_factory.mktemp('piano') / 'sac'
    options = {'preset': 'cpu', 'song': 'CMajorScaleOneHand'}
    sac = SACConfig(env='piano', env_options=options, steps=30, warmup_steps=10, batch_size=8, hidden_dims=[16],
                    eval_every=0, eval_episodes=1, progress=False, out_dir=str(out))
    summary = run_sac(sac)
    assert 0.0 <= summary['final_eval_f1'] <= 1.0
    assert summary['contract'].endswith('export/contract.yaml')   # the CPU preset's actor is a deployable policy
    return out


def test_smoothing_plays_a_running_mean_of_the_actions():
    from rlhf_training.piano_performances import actor_policy

    class Alternating:      # deterministic actions +1, -1, +1, ...
        sign = -1.0

        def deterministic(self, obs):
            self.sign = -self.sign
            return torch.full((1, 2), self.sign)
    policy = actor_policy(Alternating(), smoothing=0.5)
    played = [float(policy(np.zeros(3))[0]) for _ in range(4)]
    assert played == pytest.approx([1.0, 0.0, 0.5, -0.25])
    with pytest.raises(ValueError, match='smoothing'):
        actor_policy(Alternating(), smoothing=1.0)


def test_windows_of_performances_are_rated_and_paired_within_one_passage(sac_run, tmp_path):
    from rlhf_preference.pairs import load_pairs_file
    from rlhf_preference.ratings import main as ratings_main
    from rlhf_training.piano_cpl import performance_pairs, rate_performances
    from rlhf_training.piano_performances import record_performances
    segments = record_performances(sac_run, tmp_path / 'perf', noise_levels=(0.0,), smoothing_levels=(0.0, 0.5),
                                   repeats=1, camera_size=(64, 48), progress=False, window_s=2.0)
    # 151 steps of 0.05 s: three whole 2 s windows (40 steps) per performance, at the same times in both
    assert [(s.start_s, s.end_s) for s in segments] == [(0.0, 2.0), (2.0, 4.0), (4.0, 6.0)] * 2
    pairs, clip_dir = load_pairs_file(tmp_path / 'perf' / 'pairs.json')
    assert len(pairs) == 3 and all(p.segment_a.start_s == p.segment_b.start_s for p in pairs)
    with av.open(str(clip_dir / pairs[0].clip_a)) as container:
        assert container.streams.video[0].frames == 40
    ratings = rate_performances(segments, tmp_path / 'ratings.json', annotators=1)
    prefs = tmp_path / 'prefs.json'
    assert ratings_main(['--ratings', str(ratings), '--output', str(prefs), '--pairs', 'same_window']) == 0
    dataset, n = performance_pairs(prefs)
    assert n == 3 and dataset.actions.shape[:2] == (6, 40)
    # a window's rows are the performance's steps 40-80 (2-4 s), nothing of the neighbouring windows
    perf = np.load(f'{segments[4].episode_path}/performance.npz')
    assert sum(np.array_equal(dataset.actions[i], perf['action'][40:80]) for i in range(6)) == 1


def test_performances_ratings_and_cpl_from_a_sac_checkpoint(sac_run, tmp_path):
    from rlhf_preference.pairs import load_pairs_file
    from rlhf_preference.ratings import main as ratings_main
    from rlhf_preference.ratings import read_ratings_file
    from rlhf_recorder.reader import read_episode
    from rlhf_training.checkpoint import load_policy
    from rlhf_training.piano_cpl import rate_performances, run_piano_cpl
    from rlhf_training.piano_performances import record_performances

    segments = record_performances(sac_run, tmp_path / 'perf', noise_levels=(0.0, 0.5), repeats=1,
                                   camera_size=(64, 48), progress=False)
    assert len(segments) == 2 and segments[0].duration_s == pytest.approx(151 * 0.05)
    # the bag has the piano node's topics; the clip has video and sound
    episode = read_episode(segments[0].episode_path, rate_hz=20.0)
    assert episode.joint_positions.shape[1] == 23
    from rlhf_recorder.reader import read_messages
    scores = [msg for _, _, msg in read_messages(segments[0].episode_path, ['/piano/score'])]
    assert len(scores) == 151 and len(scores[0].goal) == 178 and len(scores[0].fingers) == 5
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
    out = run_piano_cpl(sac_run, tmp_path / 'prefs.json', tmp_path / 'cpl',
                        ['steps=2', 'batch_size=2', 'progress=false', 'lr=1e-9'])
    assert out['steps'] == 2 and out['pairs'] == 1
    from rlhf_policy.contract import PolicyContract
    assert PolicyContract.load(out['contract']).observation.uses_piano_score   # the policy node can run it
    tuned, _ = load_policy(tmp_path / 'cpl')
    sac_actor, _ = load_policy(sac_run)
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


def test_compare_averages_noisy_performances_and_noise_changes_the_actions():
    from rlhf_training.piano_cpl import compare
    from rlhf_training.piano_performances import with_noise
    calls = []

    def still(obs):
        calls.append(1)
        return np.zeros(3, np.float32)
    noisy = with_noise(still, 0.1, seed=4)
    first, second = noisy(None), noisy(None)
    assert first.dtype == np.float32 and np.all(np.abs(first) > 0) and not np.array_equal(first, second)
    assert with_noise(still, 0.0, seed=4) is still
    np.testing.assert_array_equal(with_noise(still, 5.0, seed=1)(None) ** 2, 1.0)   # clipped to the action range

    from rlhf_sim.piano import PianoEnv, PianoTask
    env = PianoEnv(PianoTask(song='CMajorScaleOneHand'))
    try:
        rows = compare({}, env, repeats=2, noise=0.05)
    finally:
        env.close()
    # the zero action, made noisy, presses nothing either: F1 of the silent frames alone, the same both times
    assert rows['zero action']['f1_std'] == 0.0 and rows['zero action']['recall'] < 0.1
    assert rows['random action']['action_change'] > rows['zero action']['action_change'] > 0.0
