# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""Shapes, log-probabilities and registries of the networks."""

import copy
import math

import pytest
import torch
from torch import nn

from rlhf_training.models import (
    MLP,
    GaussianPolicy,
    MLPRewardModel,
    ObservationEncoder,
    RewardEnsemble,
    RewardModel,
    build_encoder,
    register_encoder,
    register_reward_model,
)

torch.set_num_threads(1)

SHAPES = {'scene_camera': (3, 32, 32), 'wrist_camera': (4, 24, 32), 'proprio': (18,)}


def random_obs(shapes, batch):
    return {k: torch.rand(batch, *s) for k, s in shapes.items()}


def test_mlp_layer_norm_and_dropout():
    net = MLP(5, [16, 16], 3, layer_norm=True, dropout=0.1)
    kinds = [type(m) for m in net.net]
    assert kinds.count(nn.LayerNorm) == 2 and kinds.count(nn.Dropout) == 2
    assert net(torch.zeros(4, 5)).shape == (4, 3)


def test_observation_encoder_cameras_and_state_only():
    enc = ObservationEncoder(SHAPES, image_feature_dim=8, proprio_feature_dim=6, proprio_hidden_dims=(16,))
    assert enc.input_names == ['scene_camera', 'wrist_camera', 'proprio']
    assert enc(random_obs(SHAPES, 3)).shape == (3, 8 * 2 + 6)
    state_only = ObservationEncoder({'proprio': (7,)}, proprio_feature_dim=5)
    assert state_only.input_names == ['proprio']
    assert state_only({'proprio': torch.zeros(2, 7)}).shape == (2, 5)
    with pytest.raises(KeyError, match='wrist_camera'):
        enc({'scene_camera': torch.zeros(1, 3, 32, 32), 'proprio': torch.zeros(1, 18)})


def test_observation_encoder_from_contract_like_spec():
    class Cam:
        def __init__(self, name, use_depth):
            self.name, self.width, self.height, self.use_depth = name, 40, 30, use_depth

    class Spec:
        cameras = [Cam('scene_camera', False), Cam('wrist_camera', True)]
        joint_names = [f'j{i}' for i in range(9)]
        proprio_fields = ('position', 'velocity')
        proprio_mean = None

    enc = ObservationEncoder(Spec(), image_feature_dim=4)
    assert enc.shapes == {'scene_camera': (3, 30, 40), 'wrist_camera': (4, 30, 40), 'proprio': (18,)}


def test_gaussian_policy_log_prob_matches_sample_and_numeric_density():
    torch.manual_seed(0)
    policy = GaussianPolicy({'proprio': (3,)}, action_dim=2, hidden_dims=(16,))
    obs = {'proprio': torch.randn(5, 3)}
    action, logp = policy.sample(obs)
    assert action.shape == (5, 2) and logp.shape == (5,)
    assert action.abs().max() < 1
    torch.testing.assert_close(policy.log_prob(obs, action), logp, atol=1e-4, rtol=1e-4)
    # The density integrates to ~1 over (-1, 1)^1 for a one-dimensional policy (tanh correction is right).
    p1 = GaussianPolicy({'proprio': (1,)}, action_dim=1, hidden_dims=(8,))
    grid = torch.linspace(-1 + 1e-4, 1 - 1e-4, 20001).unsqueeze(-1)
    with torch.no_grad():
        dens = p1.log_prob({'proprio': torch.zeros(len(grid), 1)}, grid).exp()
    assert abs(torch.trapezoid(dens, grid.squeeze(-1)).item() - 1.0) < 1e-2
    # Deterministic action is tanh(mean); actions at the bounds give finite log-probabilities.
    mean, _ = policy(obs)
    torch.testing.assert_close(policy.deterministic(obs), torch.tanh(mean))
    assert torch.isfinite(policy.log_prob(obs, torch.ones(5, 2))).all()


def test_policy_with_cameras_backprop():
    policy = GaussianPolicy(SHAPES, hidden_dims=(32, 32), image_feature_dim=8)
    action, logp = policy.sample(random_obs(SHAPES, 2))
    assert action.shape == (2, 8)
    (-logp.mean()).backward()
    grads = [p.grad for p in policy.encoder.cameras['wrist_camera'].parameters()]
    assert all(g is not None for g in grads)


def test_encoder_registry_plugin():
    @register_encoder('test_mean_pool')
    class MeanPool(nn.Module):
        def __init__(self, in_channels, height, width, out_dim):
            super().__init__()
            self.proj = nn.Linear(in_channels, out_dim)

        def forward(self, x):
            return self.proj(x.mean((-1, -2)))

    enc = ObservationEncoder(SHAPES, encoder='test_mean_pool', image_feature_dim=5, proprio_feature_dim=5)
    assert isinstance(enc.cameras['scene_camera'], MeanPool)
    assert enc(random_obs(SHAPES, 2)).shape == (2, 15)
    with pytest.raises(KeyError, match='registered encoders'):
        build_encoder('no_such_encoder', 3, 8, 8, 4)


def test_pretrained_cnn_loads_local_weights(tmp_path):
    source = build_encoder('cnn', 3, 32, 32, 8)
    torch.save(source.state_dict(), tmp_path / 'enc.pt')
    loaded = build_encoder('pretrained_cnn', 3, 32, 32, 8, weights=str(tmp_path / 'enc.pt'))
    x = torch.rand(2, 3, 32, 32)
    torch.testing.assert_close(loaded(x), source(x))
    assert not any(p.requires_grad for p in loaded.parameters())
    with pytest.raises(FileNotFoundError, match='weights'):
        build_encoder('pretrained_cnn', 3, 32, 32, 8, weights=str(tmp_path / 'missing.pt'))


def test_custom_reward_model_and_ensemble_disagreement():
    @register_reward_model('test_linear')
    class LinearReward(RewardModel):
        def __init__(self, observation_spec, action_dim, scale=1.0):
            super().__init__()
            self.lin = nn.Linear(observation_spec['proprio'][0] + action_dim, 1)
            self.scale = scale

        def forward(self, obs, action):
            return self.scale * self.lin(torch.cat([obs['proprio'], action], -1)).squeeze(-1)

    ens = RewardEnsemble.build(3, 'test_linear', {'proprio': (4,)}, action_dim=2, scale=2.0)
    obs = {'proprio': torch.randn(6, 5, 4)}
    actions = torch.rand(6, 5, 2)
    returns = ens.member_segment_returns(obs, actions)
    assert returns.shape == (3, 6)
    flat = ens.members[1]({'proprio': obs['proprio'][2]}, actions[2]).sum()
    assert math.isclose(returns[1, 2].item(), flat.item(), rel_tol=1e-5)
    dis = ens.disagreement(obs, actions, {'proprio': obs['proprio'].flip(0)}, actions.flip(0))
    assert dis.shape == (6,) and (dis > 0).all()
    # Identical members never disagree.
    same = RewardEnsemble([copy.deepcopy(ens.members[0]) for _ in range(3)])
    assert same.disagreement(obs, actions, {'proprio': obs['proprio'].flip(0)}, actions.flip(0)).abs().max() < 1e-5


def test_default_reward_model_with_cameras():
    model = MLPRewardModel(SHAPES, action_dim=8, hidden_dims=(16,), image_feature_dim=4)
    assert model(random_obs(SHAPES, 3), torch.zeros(3, 8)).shape == (3,)
