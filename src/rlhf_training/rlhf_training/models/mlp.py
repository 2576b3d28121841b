# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""Multi-layer perceptron used by every head (policy, reward, critics)."""

from collections.abc import Sequence

import torch
from torch import nn


class MLP(nn.Module):
    """Linear layers with ReLU between them, optionally LayerNorm and dropout after each hidden layer.

    `MLP(in_dim, [256, 256], out_dim, layer_norm=True, dropout=0.01)` is the DroQ critic body
    (dropout, then LayerNorm, then ReLU, as in the DroQ paper). The output layer is plain linear.
    """

    def __init__(self, in_dim: int, hidden_dims: Sequence[int], out_dim: int,
                 layer_norm: bool = False, dropout: float = 0.0):
        super().__init__()
        layers = []
        prev = int(in_dim)
        for width in hidden_dims:
            layers.append(nn.Linear(prev, int(width)))
            if dropout > 0.0:
                layers.append(nn.Dropout(dropout))
            if layer_norm:
                layers.append(nn.LayerNorm(int(width)))
            layers.append(nn.ReLU())
            prev = int(width)
        layers.append(nn.Linear(prev, int(out_dim)))
        self.net = nn.Sequential(*layers)
        self.in_dim = int(in_dim)
        self.out_dim = int(out_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)
