# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""Reward models r(o, a): a small base class users subclass and register, a default model, an ensemble."""

from collections.abc import Callable, Mapping, Sequence

import torch
from torch import nn

from rlhf_training.models.encoders import ObservationEncoder, flatten_time
from rlhf_training.models.mlp import MLP

_REWARD_MODELS: dict[str, Callable[..., 'RewardModel']] = {}


def register_reward_model(name: str):
    """Class decorator: make a RewardModel subclass selectable by `reward_model: name` in the config.

    The class is built as `cls(observation_spec, action_dim, **reward_model_options)`.
    """
    def decorate(cls):
        if name in _REWARD_MODELS and _REWARD_MODELS[name] is not cls:
            raise ValueError(f'reward model {name!r} is already registered ({_REWARD_MODELS[name]!r})')
        _REWARD_MODELS[name] = cls
        return cls
    return decorate


def available_reward_models() -> list[str]:
    return sorted(_REWARD_MODELS)


def build_reward_model(name: str, observation_spec, action_dim: int = 8, **options) -> 'RewardModel':
    if name not in _REWARD_MODELS:
        raise KeyError(f'unknown reward model {name!r}; registered reward models: {available_reward_models()}')
    return _REWARD_MODELS[name](observation_spec, action_dim, **options)


class RewardModel(nn.Module):
    """Base class: implement `forward(obs, action) -> (B,)` per-step reward.

    `obs` is the preprocessed observation dict ({camera: (B,C,H,W), 'proprio': (B,P)}), `action` (B, A) in [-1, 1].
    """

    def forward(self, obs: Mapping[str, torch.Tensor], action: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def segment_returns(self, obs: Mapping[str, torch.Tensor], actions: torch.Tensor,
                        mask: torch.Tensor | None = None) -> torch.Tensor:
        """Sum of rewards over segments: obs entries (B, T, ...), actions (B, T, A), optional mask (B, T) -> (B,)."""
        flat, (b, t) = flatten_time(obs)
        rewards = self(flat, actions.reshape(b * t, -1)).reshape(b, t)
        if mask is not None:
            rewards = rewards * mask
        return rewards.sum(-1)


@register_reward_model('mlp')
class MLPRewardModel(RewardModel):
    """Observation encoder (CNN per camera + proprio MLP) followed by an MLP on [features, action]."""

    def __init__(self, observation_spec, action_dim: int = 8, hidden_dims: Sequence[int] = (256, 256),
                 encoder: str = 'cnn', image_feature_dim: int = 64, proprio_feature_dim: int = 64,
                 encoder_options: Mapping | None = None, layer_norm: bool = False, dropout: float = 0.0):
        super().__init__()
        self.encoder = ObservationEncoder(observation_spec, encoder=encoder, image_feature_dim=image_feature_dim,
                                          proprio_hidden_dims=tuple(hidden_dims)[:1] or (256,),
                                          proprio_feature_dim=proprio_feature_dim, encoder_options=encoder_options)
        self.head = MLP(self.encoder.out_dim + action_dim, hidden_dims, 1, layer_norm=layer_norm, dropout=dropout)

    def forward(self, obs, action):
        return self.head(torch.cat([self.encoder(obs), action], dim=-1)).squeeze(-1)


class RewardEnsemble(nn.Module):
    """N independently initialised reward models; the mean is the reward, the spread is the uncertainty.

    `RewardEnsemble(members)` with a list of RewardModel, or `RewardEnsemble.build(n, name, spec, action_dim, ...)`.
    """

    def __init__(self, members: Sequence[RewardModel]):
        super().__init__()
        if len(members) < 1:
            raise ValueError('a reward ensemble needs at least one member')
        self.members = nn.ModuleList(members)

    @classmethod
    def build(cls, num_members: int, name: str, observation_spec, action_dim: int = 8, **options):
        return cls([build_reward_model(name, observation_spec, action_dim, **options) for _ in range(num_members)])

    def __len__(self):
        return len(self.members)

    def member_rewards(self, obs, action) -> torch.Tensor:
        return torch.stack([m(obs, action) for m in self.members])

    def forward(self, obs, action) -> torch.Tensor:
        """Mean per-step reward of the members, (B,)."""
        return self.member_rewards(obs, action).mean(0)

    def member_segment_returns(self, obs, actions, mask=None) -> torch.Tensor:
        """(N, B) segment returns of every member."""
        return torch.stack([m.segment_returns(obs, actions, mask) for m in self.members])

    def segment_returns(self, obs, actions, mask=None) -> torch.Tensor:
        return self.member_segment_returns(obs, actions, mask).mean(0)

    @torch.no_grad()
    def disagreement(self, obs_a, actions_a, obs_b, actions_b, mask_a=None, mask_b=None) -> torch.Tensor:
        """Std over members of the predicted return difference R(a) - R(b) (the Bradley-Terry logit), (B,).

        High where the members disagree about which segment is better: the pairs worth asking a human about.
        """
        diff = (self.member_segment_returns(obs_a, actions_a, mask_a)
                - self.member_segment_returns(obs_b, actions_b, mask_b))
        return diff.std(0, unbiased=False)
