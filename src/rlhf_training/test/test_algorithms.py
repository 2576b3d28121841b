# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""BC, Bradley-Terry and CPL on small synthetic problems with known answers; NaN guard; exact resume."""

import numpy as np
import pytest
import torch

from rlhf_training.bc import BCLoss, evaluate_bc, train_bc
from rlhf_training.config import BCConfig, CPLConfig, RewardConfig
from rlhf_training.cpl import cpl_loss, policy_preference_accuracy, train_cpl
from rlhf_training.datasets import SegmentPairDataset, TransitionDataset
from rlhf_training.models import GaussianPolicy, RewardEnsemble
from rlhf_training.reward import bradley_terry_loss, preference_accuracy, train_reward
from rlhf_training.trainer import NonFiniteGradientError, Trainer, seed_everything

torch.set_num_threads(1)

QUIET = {'progress': False, 'log_every': 50, 'eval_every': 10_000, 'checkpoint_every': 10_000}


def linear_policy_data(n, seed):
    rng = np.random.default_rng(seed)
    weights = np.array([[0.6, -0.4, 0.2, 0.0], [-0.3, 0.1, 0.5, 0.4]], np.float32)
    states = rng.normal(size=(n, 4)).astype(np.float32)
    actions = np.tanh(states @ weights.T) + rng.normal(scale=0.01, size=(n, 2)).astype(np.float32)
    return TransitionDataset({'proprio': states}, np.clip(actions, -1, 1))


@pytest.mark.parametrize('loss', ['nll', 'mse'])
def test_bc_recovers_linear_policy(tmp_path, loss):
    seed_everything(0)
    train, val = linear_policy_data(2000, 0), linear_policy_data(500, 1)
    policy = GaussianPolicy({'proprio': (4,)}, action_dim=2, hidden_dims=(64, 64), proprio_feature_dim=32)
    before = evaluate_bc(policy, val)['mse']
    cfg = BCConfig(steps=400, batch_size=64, lr=3e-3, loss=loss, out_dir=str(tmp_path), **QUIET)
    summary = train_bc(policy, train, cfg, val_dataset=val)
    after = evaluate_bc(policy, val)['mse']
    assert before > 0.05
    assert after < 0.005, (loss, before, after)
    assert summary['steps'] == 400 and summary['val/mse'] == pytest.approx(after, rel=1e-5)


def test_mse_bc_calibrates_the_spread_to_its_residuals(tmp_path):
    # Actions tanh(x W + e) with known pre-tanh noise per dimension: the calibrated spread must find it.
    rng = np.random.default_rng(0)
    weights = np.array([[0.6, -0.4, 0.2, 0.0], [-0.3, 0.1, 0.5, 0.4]], np.float32)
    noise_std = np.array([0.05, 0.3], np.float32)
    states = rng.normal(size=(4000, 4)).astype(np.float32)
    actions = np.tanh(states @ weights.T + rng.normal(size=(4000, 2)).astype(np.float32) * noise_std)
    data = TransitionDataset({'proprio': states}, actions.astype(np.float32))
    seed_everything(0)
    policy = GaussianPolicy({'proprio': (4,)}, action_dim=2, hidden_dims=(64, 64), proprio_feature_dim=32)
    cfg = BCConfig(steps=600, batch_size=128, lr=3e-3, loss='mse', out_dir=str(tmp_path), **QUIET)
    summary = train_bc(policy, data, cfg)
    np.testing.assert_allclose(summary['spread'], noise_std, rtol=0.25)
    with torch.no_grad():
        _, log_std = policy({'proprio': torch.from_numpy(states[:100])})
    np.testing.assert_allclose(log_std.exp().numpy(), np.broadcast_to(summary['spread'], (100, 2)), rtol=1e-4)
    # the final checkpoint holds the calibrated policy
    saved = torch.load(summary['checkpoint'], weights_only=False)['loss_module']
    for name, value in policy.state_dict().items():
        torch.testing.assert_close(saved[f'policy.{name}'], value)


def random_segments(rng, count, length, obs_dim, act_dim):
    return (rng.normal(size=(count, length, obs_dim)).astype(np.float32),
            rng.uniform(-1, 1, size=(count, length, act_dim)).astype(np.float32))


def test_bradley_terry_ensemble_heldout_accuracy(tmp_path):
    seed_everything(0)
    rng = np.random.default_rng(0)
    w_obs, w_act = np.array([1.0, -0.5, 0.3, 0.0]), np.array([0.8, -0.2])
    obs_a, act_a = random_segments(rng, 1000, 8, 4, 2)
    obs_b, act_b = random_segments(rng, 1000, 8, 4, 2)

    def true_return(obs, act):
        return (obs @ w_obs).sum(-1) + (act @ w_act).sum(-1)

    labels = (true_return(obs_a, act_a) > true_return(obs_b, act_b)).astype(np.float32)
    data = SegmentPairDataset.from_arrays({'proprio': obs_a}, act_a, {'proprio': obs_b}, act_b, labels)
    train, val = data.split(0.2, seed=0)
    ensemble = RewardEnsemble.build(3, 'mlp', {'proprio': (4,)}, 2, hidden_dims=(32,), proprio_feature_dim=16)
    assert preference_accuracy(ensemble, val)['accuracy'] < 0.8
    cfg = RewardConfig(steps=300, batch_size=64, lr=3e-3, out_dir=str(tmp_path), **QUIET)
    summary = train_reward(ensemble, train, cfg, val_dataset=val)
    assert summary['heldout_pairs'] == 200
    assert summary['heldout_accuracy'] >= 0.95, summary
    assert summary['heldout_member_accuracy_min'] >= 0.9


def test_bradley_terry_tie_is_minimised_at_equal_returns():
    logits = torch.zeros(1, 4, requires_grad=True)
    bradley_terry_loss(logits, torch.full((4,), 0.5)).sum().backward()
    assert logits.grad.abs().max() < 1e-7
    logits = torch.zeros(1, 4, requires_grad=True)
    bradley_terry_loss(logits, torch.ones(4)).sum().backward()
    assert (logits.grad < 0).all()  # a preferred: push R(a) - R(b) up


def test_cpl_loss_values_and_stability():
    a, b = torch.tensor([2.0, -1.0]), torch.tensor([0.5, 3.0])
    plain = cpl_loss(a, b, torch.ones(2), lam=1.0)
    softmax = -torch.log(torch.exp(a) / (torch.exp(a) + torch.exp(b)))
    torch.testing.assert_close(plain, softmax)
    biased = cpl_loss(a, b, torch.ones(2), lam=0.5)
    torch.testing.assert_close(biased, -torch.log(torch.sigmoid(a - 0.5 * b)))
    swapped = cpl_loss(b, a, torch.zeros(2), lam=0.5)
    torch.testing.assert_close(swapped, biased)
    huge = cpl_loss(torch.tensor([-5000.0]), torch.tensor([5000.0]), torch.ones(1))
    assert torch.isfinite(huge).all() and huge.item() == pytest.approx(10000.0)


def test_cpl_moves_policy_toward_preferred_actions(tmp_path):
    seed_everything(0)
    rng = np.random.default_rng(0)
    m, t = 300, 6
    obs_a = rng.normal(size=(m, t, 3)).astype(np.float32)
    obs_b = rng.normal(size=(m, t, 3)).astype(np.float32)
    good = np.clip(rng.normal(0.5, 0.1, size=(m, t, 2)), -1, 1).astype(np.float32)
    bad = np.clip(rng.normal(-0.5, 0.1, size=(m, t, 2)), -1, 1).astype(np.float32)
    flip = rng.random(m) < 0.5  # the preferred segment is sometimes b
    act_a = np.where(flip[:, None, None], bad, good)
    act_b = np.where(flip[:, None, None], good, bad)
    labels = np.where(flip, 0.0, 1.0).astype(np.float32)
    data = SegmentPairDataset.from_arrays({'proprio': obs_a}, act_a, {'proprio': obs_b}, act_b, labels)
    train, val = data.split(0.2, seed=1)
    policy = GaussianPolicy({'proprio': (3,)}, action_dim=2, hidden_dims=(32, 32), proprio_feature_dim=16)
    probe = {'proprio': torch.randn(256, 3)}
    good_probe, bad_probe = torch.full((256, 2), 0.5), torch.full((256, 2), -0.5)
    with torch.no_grad():
        before = policy.deterministic(probe).mean().item()
        gap_before = (policy.log_prob(probe, good_probe) - policy.log_prob(probe, bad_probe)).mean().item()
    cfg = CPLConfig(steps=200, batch_size=32, lr=3e-3, out_dir=str(tmp_path), **QUIET)
    summary = train_cpl(policy, train, cfg, val_dataset=val)
    with torch.no_grad():
        after = policy.deterministic(probe).mean().item()
        gap_after = (policy.log_prob(probe, good_probe) - policy.log_prob(probe, bad_probe)).mean().item()
    # The mean action moves toward the preferred +0.5 (the loss saturates once the ranking has a margin, and
    # the conservative term pulls toward the pretrained mean, so it need not reach it) ...
    assert after > before + 0.1, (before, after)
    # ... and preferred actions become much more likely than rejected ones, on held-out pairs too.
    assert gap_after > gap_before + 2.0, (gap_before, gap_after)
    assert policy_preference_accuracy(policy, val)['accuracy'] > 0.95
    assert np.isfinite(summary['final_loss'])


def test_relative_advantages_do_not_saturate_with_a_narrow_spread():
    # With lam < 1 the plain advantage carries (1 - lam) * alpha * sum log pi: a narrow spread (high density)
    # satisfies every pair at once and leaves no gradient; relative to the pretrained policy, A starts at 0.
    from rlhf_training.cpl import CPLLoss
    seed_everything(0)
    policy = GaussianPolicy({'proprio': (3,)}, action_dim=2, hidden_dims=(32, 32), proprio_feature_dim=16)
    policy.set_constant_spread(torch.full((2,), 0.02))
    obs = torch.randn(64, 30, 3)
    with torch.no_grad():   # actions close to what the policy does: high density for both segments
        actions = policy.deterministic({'proprio': obs.reshape(-1, 3)}).reshape(64, 30, 2)
    act_a = (actions + 0.01 * torch.randn_like(actions)).numpy()
    act_b = (actions + 0.02 * torch.randn_like(actions)).numpy()
    obs = {'proprio': obs.numpy()}
    data = SegmentPairDataset.from_arrays(obs, act_a, obs, act_b, np.ones(64, np.float32))
    batch = data.batch(np.arange(64))
    plain = CPLLoss(policy, lam=0.1)(batch)[1]['preference_loss']
    relative_loss, metrics = CPLLoss(policy, lam=0.1, relative_to_pretrained=True)(batch)
    assert plain < 1e-6
    assert metrics['preference_loss'] == pytest.approx(np.log(2.0), rel=1e-5)
    relative_loss.backward()   # and it has a gradient to learn from
    assert sum(float(p.grad.abs().sum()) for p in policy.parameters() if p.grad is not None) > 1e-3


def known_reward_pairs(m=400, t=8, seed=0, horizon=1):
    """Segments of random actions (chunks of ``horizon``, flattened), labelled by r(a) = -||a - A_STAR||^2."""
    rng = np.random.default_rng(seed)
    obs = {'proprio': rng.normal(size=(2 * m, t, 3)).astype(np.float32)}
    actions = np.clip(rng.normal(0.0, 0.4, size=(2 * m, t, 2 * horizon)), -0.95, 0.95).astype(np.float32)
    ret = -((actions - np.tile(A_STAR, horizon)) ** 2).sum((1, 2))
    labels = np.where(ret[:m] > ret[m:], 'a', 'b')   # the votes: 'a' = the first segment of the pair is better
    first, second = {k: v[:m] for k, v in obs.items()}, {k: v[m:] for k, v in obs.items()}
    return SegmentPairDataset.from_arrays(first, actions[:m], second, actions[m:], labels)


A_STAR = np.array([0.6, -0.4], np.float32)


@pytest.mark.parametrize('likelihood,spread', [('squared_error', 'learned'), ('tanh_gaussian', 'pretrained')])
def test_cpl_moves_the_deterministic_action_toward_a_known_reward(tmp_path, likelihood, spread):
    # The robot runs tanh(mean): preferences from a known reward must move that, not just the spread.
    seed_everything(0)
    train, val = known_reward_pairs().split(0.2, seed=1)
    policy = GaussianPolicy({'proprio': (3,)}, action_dim=2, hidden_dims=(32, 32), proprio_feature_dim=16)
    probe = {'proprio': torch.randn(256, 3)}
    with torch.no_grad():
        action_before = policy.deterministic(probe)
    # Plain CPL (lam 1) without the conservative term: the preferences alone decide where the action goes.
    cfg = CPLConfig(steps=300, batch_size=32, lr=3e-3, lam=1.0, conservative_weight=0.0, likelihood=likelihood,
                    spread=spread, out_dir=str(tmp_path), **QUIET)
    train_cpl(policy, train, cfg)
    with torch.no_grad():
        moved = (policy.deterministic(probe) - action_before).mean(0)
    # The executed action moves toward the rewarded one, in its direction, by a good part of the way ...
    direction = torch.from_numpy(A_STAR) / float(np.linalg.norm(A_STAR))
    assert float(moved @ direction) > 0.2 * float(np.linalg.norm(A_STAR)), moved
    assert float(moved @ direction) / float(moved.norm()) > 0.95, moved
    # ... and ranked by that action alone, the held-out pairs agree with the reward.
    assert policy_preference_accuracy(policy, val, likelihood='squared_error')['accuracy'] > 0.75


def test_cpl_moves_an_action_chunk_toward_a_known_reward(tmp_path):
    from rlhf_training.cpl import CPLLoss
    from rlhf_training.models.chunk_policy import ChunkPolicy
    seed_everything(0)
    train, val = known_reward_pairs(horizon=3).split(0.2, seed=1)
    policy = ChunkPolicy({'proprio': (3,)}, action_dim=2, horizon=3, hidden_dims=(32, 32), proprio_feature_dim=16)
    policy.set_action_statistics(torch.zeros(3, 2), torch.full((3, 2), 0.4))   # what chunk BC would have stored
    probe = {'proprio': torch.randn(256, 3)}
    with torch.no_grad():
        before = policy(probe)
    with pytest.raises(ValueError, match='likelihood: squared_error'):
        CPLLoss(policy)
    cfg = CPLConfig(steps=300, batch_size=32, lr=3e-3, lam=1.0, conservative_weight=0.0,
                    likelihood='squared_error', out_dir=str(tmp_path), **QUIET)
    train_cpl(policy, train, cfg)
    with torch.no_grad():
        moved = (policy(probe) - before).mean(0)   # (horizon, 2), physical units
    direction = torch.from_numpy(A_STAR) / float(np.linalg.norm(A_STAR))
    along = moved @ direction   # every row of the chunk moves toward the rewarded action
    assert (along > 0.2 * float(np.linalg.norm(A_STAR))).all(), moved
    assert (along / moved.norm(dim=-1) > 0.9).all(), moved
    assert policy_preference_accuracy(policy, val)['accuracy'] > 0.75


def test_segment_pairs_take_votes_or_first_preferred_probabilities():
    segments = [({'proprio': np.zeros((2, 3), np.float32)}, np.zeros((2, 2), np.float32))] * 2
    votes = SegmentPairDataset(segments, [(0, 1)] * 3, ['a', 'equal', 'b'])
    np.testing.assert_array_equal(votes.labels, [1.0, 0.5, 0.0])
    with pytest.raises(ValueError, match=r"votes must be one of \['a', 'b', 'equal'\], got \['left'\]"):
        SegmentPairDataset(segments, [(0, 1)], ['left'])


def test_cpl_skips_the_reference_when_nothing_uses_it():
    from rlhf_training.cpl import CPLLoss
    policy = GaussianPolicy({'proprio': (3,)}, action_dim=2, hidden_dims=(8,), proprio_feature_dim=8)
    batch = known_reward_pairs(m=4).batch(np.arange(4))
    loss = CPLLoss(policy, conservative_weight=0.0)

    def forbidden(*args):
        raise AssertionError('reference forward pass')
    loss.reference.forward = forbidden
    loss(batch)   # plain advantages, no conservative term: the reference is not needed
    for needs in ({'conservative_weight': 0.01}, {'relative_to_pretrained': True}, {'spread': 'pretrained'}):
        loss = CPLLoss(policy, **{'conservative_weight': 0.0, **needs})
        loss.reference.forward = forbidden
        with pytest.raises(AssertionError, match='reference forward'):
            loss(batch)
    with pytest.raises(ValueError, match='likelihood must be one of'):
        CPLLoss(policy, likelihood='gaussian')


def test_cpl_bc_term_imitates_the_preferred_segment():
    from rlhf_training.cpl import CPLLoss
    policy = GaussianPolicy({'proprio': (3,)}, action_dim=2, hidden_dims=(8,), proprio_feature_dim=8)
    batch = known_reward_pairs(m=16).batch(np.arange(16))
    plain_loss, plain = CPLLoss(policy, conservative_weight=0.0, likelihood='squared_error')(batch)
    with_bc, metrics = CPLLoss(policy, conservative_weight=0.0, likelihood='squared_error', bc_weight=2.0)(batch)
    with torch.no_grad():
        mean_a, mean_b = (policy.deterministic({'proprio': batch[f'obs_{s}']['proprio'].reshape(-1, 3)})
                          .reshape(16, 8, 2) for s in 'ab')
    err_a = (mean_a - batch['actions_a']).pow(2).sum(-1).mean(-1)
    err_b = (mean_b - batch['actions_b']).pow(2).sum(-1).mean(-1)
    p = batch['labels']
    expected = (p * err_a + (1 - p) * err_b).mean()   # the per-step squared error of the preferred segment
    assert float(metrics['bc_loss']) == pytest.approx(float(expected), rel=1e-5)
    assert float((with_bc - plain_loss).detach()) == pytest.approx(2.0 * float(expected), rel=1e-4)


class PoisonedDataset(TransitionDataset):
    """Returns a NaN observation from the third batch on."""

    calls = 0

    def batch(self, indices):
        out = super().batch(indices)
        PoisonedDataset.calls += 1
        if PoisonedDataset.calls >= 3:
            out['obs']['proprio'][0, 0] = float('nan')
        return out


def test_nan_guard_names_step_and_parameter(tmp_path):
    base = linear_policy_data(64, 0)
    data = PoisonedDataset(base.observations, base.actions)
    PoisonedDataset.calls = 0
    policy = GaussianPolicy({'proprio': (4,)}, action_dim=2, hidden_dims=(8,))
    cfg = BCConfig(steps=10, batch_size=8, out_dir=str(tmp_path), **{**QUIET, 'checkpoint_every': 1})
    trainer = Trainer(BCLoss(policy), data, cfg, models={'policy': (policy, {})})
    with pytest.raises(NonFiniteGradientError, match=r"step 3 in parameter 'policy\.[\w.]+'"):
        trainer.train()
    saved = torch.load(tmp_path / 'checkpoints' / 'latest.pt', weights_only=False)
    assert saved['step'] == 2  # the poisoned step was never applied nor saved


def test_resume_gives_identical_parameters(tmp_path):
    def run(out_dir, steps, resume):
        seed_everything(3)
        policy = GaussianPolicy({'proprio': (4,)}, action_dim=2, hidden_dims=(16,))
        # A dropout critic-like reward ensemble would also use the torch RNG; the policy uses it via init only,
        # so add sampling noise through the NLL loss's batch sampler and AdamW state.
        cfg = BCConfig(steps=steps, batch_size=16, lr=1e-2, out_dir=str(out_dir), resume=resume,
                       **{**QUIET, 'checkpoint_every': 5})
        train_bc(policy, linear_policy_data(256, 0), cfg)
        return policy

    straight = run(tmp_path / 'a', 10, False)
    run(tmp_path / 'b', 5, True)
    resumed = run(tmp_path / 'b', 10, True)
    for (name, p), q in zip(straight.named_parameters(), resumed.parameters()):
        assert torch.equal(p, q), name
    half = run(tmp_path / 'c', 5, False)
    assert not all(torch.equal(p, q) for p, q in zip(half.parameters(), straight.parameters()))


def test_resume_refuses_another_runs_checkpoint(tmp_path, capsys):
    def run(**changes):
        policy = GaussianPolicy({'proprio': (4,)}, action_dim=2, hidden_dims=(16,))
        cfg = BCConfig(**{'steps': 4, 'batch_size': 16, 'lr': 1e-2, 'out_dir': str(tmp_path), **QUIET, **changes})
        return train_bc(policy, linear_policy_data(256, 0), cfg)

    run()
    with pytest.raises(ValueError, match=r"belongs to another run \(lr: 0.01 there, 0.001 here\).*resume=false"):
        run(lr=1e-3)
    summary = run(steps=6)   # the same run, given more steps: it continues and says so
    assert summary['resumed_from'] == 4 and summary['steps'] == 6
    assert 'resuming' in capsys.readouterr().out
    assert run(lr=1e-3, resume=False)['resumed_from'] is None


def test_resume_restores_rng_for_dropout(tmp_path):
    """Reward ensembles with dropout draw from the torch RNG every step: resume must restore it."""
    rng = np.random.default_rng(0)
    obs_a, act_a = random_segments(rng, 64, 4, 3, 2)
    obs_b, act_b = random_segments(rng, 64, 4, 3, 2)
    data = SegmentPairDataset.from_arrays({'proprio': obs_a}, act_a, {'proprio': obs_b}, act_b,
                                          rng.integers(0, 2, 64).astype(np.float32))

    def run(out_dir, steps):
        seed_everything(5)
        ens = RewardEnsemble.build(2, 'mlp', {'proprio': (3,)}, 2, hidden_dims=(16,), dropout=0.2)
        cfg = RewardConfig(steps=steps, batch_size=8, out_dir=str(out_dir), **{**QUIET, 'checkpoint_every': 3})
        train_reward(ens, data, cfg)
        return ens

    straight = run(tmp_path / 'a', 6)
    run(tmp_path / 'b', 3)
    resumed = run(tmp_path / 'b', 6)
    for p, q in zip(straight.parameters(), resumed.parameters()):
        assert torch.equal(p, q)


def test_empty_dataset_is_an_error(tmp_path):
    policy = GaussianPolicy({'proprio': (4,)}, action_dim=2, hidden_dims=(8,))
    empty = TransitionDataset({'proprio': np.zeros((0, 4))}, np.zeros((0, 2)))
    with pytest.raises(ValueError, match='empty'):
        train_bc(policy, empty, BCConfig(out_dir=str(tmp_path), **QUIET))


class InterruptingDataset(TransitionDataset):
    """Raises KeyboardInterrupt (as Ctrl-C would) when asked for batch number `at`."""

    def __init__(self, observations, actions, at):
        super().__init__(observations, actions)
        self.at, self.calls = at, 0

    def batch(self, indices):
        self.calls += 1
        if self.calls == self.at:
            raise KeyboardInterrupt
        return super().batch(indices)


def test_interrupted_run_resumes_to_the_same_result_and_log(tmp_path):
    from rlhf_training.logging_utils import read_metrics
    base = linear_policy_data(256, 0)

    def run(out_dir, data):
        seed_everything(3)
        policy = GaussianPolicy({'proprio': (4,)}, action_dim=2, hidden_dims=(16,))
        cfg = BCConfig(steps=10, batch_size=16, lr=1e-2, out_dir=str(out_dir), progress=False, log_every=1,
                       eval_every=10_000, checkpoint_every=4)
        train_bc(policy, data, cfg)
        return policy

    straight = run(tmp_path / 'a', base)
    with pytest.raises(KeyboardInterrupt):
        run(tmp_path / 'b', InterruptingDataset(base.observations, base.actions, at=7))  # during step 7
    assert torch.load(tmp_path / 'b' / 'checkpoints' / 'latest.pt', weights_only=False)['step'] == 4
    resumed = run(tmp_path / 'b', base)
    for p, q in zip(straight.parameters(), resumed.parameters()):
        assert torch.equal(p, q)
    log_a, log_b = read_metrics(tmp_path / 'a' / 'metrics.csv'), read_metrics(tmp_path / 'b' / 'metrics.csv')
    assert [s for s, _ in log_b['train/loss']] == list(range(1, 11))  # steps 5-6 of the first try were dropped
    assert log_a['train/loss'] == log_b['train/loss']
    assert any((tmp_path / 'b' / 'tensorboard').iterdir())
