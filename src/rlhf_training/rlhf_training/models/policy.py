# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""Tanh-squashed diagonal Gaussian policy on multimodal observations."""

from collections.abc import Mapping, Sequence
import math

import torch
from torch import nn

from rlhf_training.models.encoders import ObservationEncoder
from rlhf_training.models.mlp import MLP

# Actions are clamped to +-(1 - ACTION_EPS) before atanh. Demonstrations sit at the limits often (a gripper
# fully open or closed, joint steps clipped to max_delta_rad); with a tiny epsilon, atanh(1 - eps) ~ 7 and the
# tanh correction of those samples dominates log pi, which drives CPL into saturated, useless actions.
ACTION_EPS = 0.02
_LOG2 = math.log(2.0)


def tanh_log_det(pre_tanh: torch.Tensor) -> torch.Tensor:
    """Log |d tanh(u)/du| summed over the last dim, in the stable form 2 (log 2 - u - softplus(-2u))."""
    return (2.0 * (_LOG2 - pre_tanh - nn.functional.softplus(-2.0 * pre_tanh))).sum(-1)


class GaussianPolicy(nn.Module):
    """pi(a|o) = tanh(N(mean(o), diag(exp(log_std(o))^2))), actions in (-1, 1).

    `forward(obs) -> (mean, log_std)` (pre-tanh), `sample(obs) -> (action, log_prob)` (reparameterised, for SAC),
    `log_prob(obs, action)` of given actions (for CPL and the Gaussian-NLL BC loss),
    `deterministic(obs) -> tanh(mean)` (what the ONNX export and evaluation run).
    """

    def __init__(self, observation_spec, action_dim: int = 8, hidden_dims: Sequence[int] = (256, 256),
                 encoder: str = 'cnn', image_feature_dim: int = 64, proprio_feature_dim: int = 64,
                 encoder_options: Mapping | None = None, log_std_min: float = -5.0, log_std_max: float = 2.0):
        super().__init__()
        self.encoder = ObservationEncoder(observation_spec, encoder=encoder, image_feature_dim=image_feature_dim,
                                          proprio_hidden_dims=tuple(hidden_dims)[:1] or (256,),
                                          proprio_feature_dim=proprio_feature_dim, encoder_options=encoder_options)
        self.head = MLP(self.encoder.out_dim, hidden_dims, 2 * action_dim)
        self.action_dim = int(action_dim)
        self.log_std_min = float(log_std_min)
        self.log_std_max = float(log_std_max)

    @property
    def input_names(self) -> list[str]:
        return self.encoder.input_names

    def forward(self, obs: Mapping[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        mean, raw = self.head(self.encoder(obs)).chunk(2, dim=-1)
        # Smooth bound of log_std into [min, max] (no dead gradient as with clamp).
        log_std = self.log_std_min + 0.5 * (self.log_std_max - self.log_std_min) * (torch.tanh(raw) + 1.0)
        return mean, log_std

    @torch.no_grad()
    def set_constant_spread(self, std: torch.Tensor) -> None:
        """Make the spread state-independent and equal to `std` (A,) (clipped to the log_std bounds)."""
        last = self.head.net[-1]
        log_std = std.to(last.bias).clamp_min(1e-8).log().clamp(self.log_std_min + 1e-3, self.log_std_max - 1e-3)
        unit = 2.0 * (log_std - self.log_std_min) / (self.log_std_max - self.log_std_min) - 1.0
        last.weight[self.action_dim:].zero_()
        last.bias[self.action_dim:] = torch.atanh(unit)

    @staticmethod
    def _gaussian_log_prob(u: torch.Tensor, mean: torch.Tensor, log_std: torch.Tensor) -> torch.Tensor:
        z = (u - mean) * torch.exp(-log_std)
        return (-0.5 * z.pow(2) - log_std - 0.5 * math.log(2.0 * math.pi)).sum(-1)

    def sample(self, obs: Mapping[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """Reparameterised sample and its log-probability (with the tanh change-of-variables correction)."""
        mean, log_std = self(obs)
        u = mean + torch.exp(log_std) * torch.randn_like(mean)
        return torch.tanh(u), self._gaussian_log_prob(u, mean, log_std) - tanh_log_det(u)

    def log_prob(self, obs: Mapping[str, torch.Tensor], action: torch.Tensor) -> torch.Tensor:
        """Log pi(action | obs), (B,), for actions in [-1, 1] (clamped to +-(1 - ACTION_EPS) before atanh)."""
        return self.squashed_log_prob(*self(obs), action)

    @classmethod
    def squashed_log_prob(cls, mean: torch.Tensor, log_std: torch.Tensor, action: torch.Tensor) -> torch.Tensor:
        """Log-density of `action` under tanh(N(mean, exp(log_std)^2)), from an already computed forward()."""
        u = torch.atanh(action.clamp(-1.0 + ACTION_EPS, 1.0 - ACTION_EPS))
        return cls._gaussian_log_prob(u, mean, log_std) - tanh_log_det(u)

    def deterministic(self, obs: Mapping[str, torch.Tensor]) -> torch.Tensor:
        return torch.tanh(self(obs)[0])

    def runner(self, device='cpu'):
        """``inputs {name: numpy (1, ...)} -> action (A,) float64``: this policy as the control loop runs a model.

        The deterministic action, like the ONNX export; for offline rollouts (``rlhf_policy.sim_rollout``) of a
        policy being trained.
        """
        self.to(device).eval()

        @torch.no_grad()
        def run(inputs):
            obs = {k: torch.from_numpy(v).to(device) for k, v in inputs.items()}
            return self.deterministic(obs)[0].cpu().numpy().astype('float64')
        return run


class DeterministicActor(nn.Module):
    """`policy.deterministic` as a module whose forward takes the inputs positionally (for ONNX export)."""

    def __init__(self, policy: GaussianPolicy):
        super().__init__()
        self.policy = policy
        self.names = policy.input_names

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        return self.policy.deterministic(dict(zip(self.names, inputs)))
