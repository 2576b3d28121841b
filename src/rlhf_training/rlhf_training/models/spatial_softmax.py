# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""Spatial-softmax keypoint encoder (registered as ``spatial_softmax``).

A few convolutions, then one softmax over the pixels of each of ``keypoints`` feature maps; the expected
image coordinates of each map are the features (x, y in [-1, 1]). Where something is, not what the whole
image looks like: the inductive bias of deep spatial autoencoders and robomimic's image policies, small
enough to train from scratch on a CPU.
"""

from collections.abc import Sequence

import torch
from torch import nn

from rlhf_training.models.encoders import register_encoder


class SpatialSoftmax(nn.Module):
    """(B, K, H, W) feature maps -> (B, 2K) expected (x, y) of each map's softmax (learned temperature)."""

    def __init__(self, height: int, width: int):
        super().__init__()
        ys, xs = torch.meshgrid(torch.linspace(-1.0, 1.0, height), torch.linspace(-1.0, 1.0, width), indexing='ij')
        self.register_buffer('grid', torch.stack([xs.reshape(-1), ys.reshape(-1)], dim=1))  # (H*W, 2)
        self.log_temperature = nn.Parameter(torch.zeros(()))

    def forward(self, maps: torch.Tensor) -> torch.Tensor:
        b, k = maps.shape[:2]
        attention = torch.softmax(maps.reshape(b, k, -1) / self.log_temperature.exp(), dim=-1)
        return (attention @ self.grid).reshape(b, 2 * k)


@register_encoder('spatial_softmax')
class SpatialSoftmaxEncoder(nn.Module):
    """Convolutions (first one stride 2) -> 1x1 conv to ``keypoints`` maps -> spatial softmax -> linear."""

    def __init__(self, in_channels: int, height: int, width: int, out_dim: int,
                 channels: Sequence[int] = (32, 32, 32), keypoints: int = 16):
        super().__init__()
        layers = []
        prev = in_channels
        for i, ch in enumerate(channels):
            layers += [nn.Conv2d(prev, ch, kernel_size=3, stride=2 if i < 2 else 1, padding=1), nn.ReLU()]
            prev = ch
        layers.append(nn.Conv2d(prev, keypoints, kernel_size=1))
        self.conv = nn.Sequential(*layers)
        with torch.no_grad():
            h, w = self.conv(torch.zeros(1, in_channels, height, width)).shape[2:]
        self.keypoints = SpatialSoftmax(h, w)
        self.head = nn.Sequential(nn.Linear(2 * keypoints, out_dim), nn.LayerNorm(out_dim))
        self.out_dim = out_dim

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self.head(self.keypoints(self.conv(image)))
