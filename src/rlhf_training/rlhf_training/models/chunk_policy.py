# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""Action-chunk policy: one observation in, the next ``horizon`` commands out (relative to that observation).

A chunk row k is the command for control tick t + k in the action's command layout, its delta groups relative
to the measured command at tick t (``rlhf_training.chunk_bc.chunk_targets``; the Panda: 7 arm joint offsets in
rad) and its absolute groups as they are (the finger opening, m). The network regresses per-row standardised
targets; ``forward`` undoes the standardisation with buffers saved in the model, so the exported ONNX model
outputs physical units and the node needs no statistics besides the contract's observation normalisation.

Predicting several steps at once and executing them with temporal ensembling (``rlhf_policy.chunking``) is
what lets a regression policy from tens of demonstrations stay on the demonstrated path (measured in
``bench/manipulation.py``): a single-step policy's small errors compound into states the data never showed.
"""

from collections.abc import Mapping, Sequence

import torch
from torch import nn

from rlhf_training.models.encoders import ObservationEncoder
from rlhf_training.models.mlp import MLP


class ChunkPolicy(nn.Module):
    """observation dict -> (B, horizon, action_dim) commands relative to the observation (physical units).

    ``action_dim`` is the action's command size (``ActionSpec.command_dim``), not its normalised action size.

    `normalised(obs)` is the raw network output (what the loss compares with standardised targets);
    `set_action_statistics(mean, std)` stores the (horizon, action_dim) target statistics of the training data.
    """

    def __init__(self, observation_spec, action_dim: int = 8, horizon: int = 20,
                 hidden_dims: Sequence[int] = (512, 512, 512), encoder: str = 'cnn', image_feature_dim: int = 64,
                 proprio_feature_dim: int = 64, encoder_options: Mapping | None = None):
        super().__init__()
        if horizon < 1:
            raise ValueError(f'horizon must be >= 1, got {horizon}')
        self.encoder = ObservationEncoder(observation_spec, encoder=encoder, image_feature_dim=image_feature_dim,
                                          proprio_hidden_dims=tuple(hidden_dims)[:1] or (256,),
                                          proprio_feature_dim=proprio_feature_dim, encoder_options=encoder_options)
        self.head = MLP(self.encoder.out_dim, hidden_dims, horizon * action_dim)
        self.horizon = int(horizon)
        self.action_dim = int(action_dim)
        self.register_buffer('action_mean', torch.zeros(horizon, action_dim))
        self.register_buffer('action_std', torch.ones(horizon, action_dim))

    @property
    def input_names(self) -> list[str]:
        return self.encoder.input_names

    @torch.no_grad()
    def set_action_statistics(self, mean: torch.Tensor, std: torch.Tensor) -> None:
        shape = (self.horizon, self.action_dim)
        mean, std = torch.as_tensor(mean).reshape(shape), torch.as_tensor(std).reshape(shape)
        self.action_mean.copy_(mean)
        self.action_std.copy_(std.clamp_min(1e-6))

    def normalised(self, obs: Mapping[str, torch.Tensor]) -> torch.Tensor:
        return self.head(self.encoder(obs)).reshape(-1, self.horizon, self.action_dim)

    def forward(self, obs: Mapping[str, torch.Tensor]) -> torch.Tensor:
        return self.normalised(obs) * self.action_std + self.action_mean

    def runner(self, device='cpu'):
        """``inputs {name: numpy (1, ...)} -> chunk (horizon, action_dim) float64``: the control loop's model.

        Like the ONNX export; for offline rollouts (``rlhf_policy.sim_rollout``) of a policy being trained.
        """
        self.to(device).eval()

        @torch.no_grad()
        def run(inputs):
            obs = {k: torch.from_numpy(v).to(device) for k, v in inputs.items()}
            return self(obs)[0].cpu().numpy().astype('float64')
        return run


class ChunkActor(nn.Module):
    """A ChunkPolicy whose forward takes the inputs positionally (for ONNX export)."""

    def __init__(self, policy: ChunkPolicy):
        super().__init__()
        self.policy = policy
        self.names = policy.input_names

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        return self.policy(dict(zip(self.names, inputs)))
