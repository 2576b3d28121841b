# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""Image encoders (a plug-in registry) and the observation encoder that combines cameras and proprioception.

An observation is the dict `rlhf_policy.preprocess.preprocess_batch` produces: one float32 (B, C, H, W) entry
per camera, named by the camera name, plus `proprio` (B, P). The same dict is the ONNX model's input.

A new image encoder is a class or factory taking `(in_channels, height, width, out_dim, **options)` and
returning a module that maps (B, C, H, W) to (B, out_dim); register it with `@register_encoder('name')` and
select it with `encoder: name` (plus `encoder_options`) in the training config.
"""

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import torch
from torch import nn

from rlhf_training.models.mlp import MLP

PROPRIO_KEY = 'proprio'

_ENCODERS: dict[str, Callable[..., nn.Module]] = {}


def register_encoder(name: str):
    """Class/factory decorator: make an image encoder selectable by `name`."""
    def decorate(factory):
        if name in _ENCODERS and _ENCODERS[name] is not factory:
            raise ValueError(f'image encoder {name!r} is already registered ({_ENCODERS[name]!r})')
        _ENCODERS[name] = factory
        return factory
    return decorate


def available_encoders() -> list[str]:
    return sorted(_ENCODERS)


def build_encoder(name: str, in_channels: int, height: int, width: int, out_dim: int, **options) -> nn.Module:
    if name not in _ENCODERS:
        raise KeyError(f'unknown image encoder {name!r}; registered encoders: {available_encoders()}')
    return _ENCODERS[name](in_channels, height, width, out_dim, **options)


@register_encoder('cnn')
class ConvEncoder(nn.Module):
    """Small CNN for ~64x64 inputs: stride-2 3x3 convolutions, then a linear layer with LayerNorm.

    Channels (16, 32, 64, 64) by default: about 7 MFLOP per 64x64 image forward, affordable on a laptop CPU.

    Spatial layout is kept (flatten, not global pooling): where things are matters for manipulation.
    """

    def __init__(self, in_channels: int, height: int, width: int, out_dim: int,
                 channels: Sequence[int] = (16, 32, 64, 64)):
        super().__init__()
        layers = []
        prev = in_channels
        for ch in channels:
            layers += [nn.Conv2d(prev, ch, kernel_size=3, stride=2, padding=1), nn.ReLU()]
            prev = ch
        self.conv = nn.Sequential(*layers)
        with torch.no_grad():
            flat = self.conv(torch.zeros(1, in_channels, height, width)).numel()
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(flat, out_dim), nn.LayerNorm(out_dim))
        self.out_dim = out_dim

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self.head(self.conv(image))


@register_encoder('pretrained_cnn')
def pretrained_cnn(in_channels: int, height: int, width: int, out_dim: int, weights: str = '',
                   freeze: bool = True, channels: Sequence[int] = (16, 32, 64, 64)) -> nn.Module:
    """The default CNN initialised from a local state-dict file (e.g. an encoder from an earlier run).

    This is also the pattern for a pretrained backbone: load weights from a local file, never download.
    """
    path = Path(weights)
    if not weights or not path.is_file():
        raise FileNotFoundError(f'pretrained_cnn: encoder_options.weights must name a local state-dict file, '
                                f'got {weights!r}')
    encoder = ConvEncoder(in_channels, height, width, out_dim, channels=channels)
    state = torch.load(path, map_location='cpu', weights_only=True)
    try:
        encoder.load_state_dict(state)
    except RuntimeError as err:
        raise ValueError(f'pretrained_cnn: {path} does not fit a ConvEncoder({in_channels}, {height}, {width}, '
                         f'{out_dim}): {err}') from err
    if freeze:
        encoder.requires_grad_(False)
    return encoder


def observation_shapes(spec) -> dict[str, tuple[int, ...]]:
    """Input shapes (without batch) of an observation spec.

    `spec` is an `rlhf_policy.contract.ObservationSpec` (cameras with name/width/height/use_depth, and the
    proprioception size from proprio_mean or joint_names x proprio_fields; with observation history, each input
    holds ``history`` frames along its first axis), or a plain mapping `{'proprio': (P,), '<camera>': (C, H, W)}`
    for data that does not come from a contract.
    """
    if isinstance(spec, Mapping):
        shapes = {str(k): tuple(int(d) for d in v) for k, v in spec.items()}
        if PROPRIO_KEY not in shapes:
            raise ValueError(f'observation shapes need a {PROPRIO_KEY!r} entry, got {sorted(shapes)}')
        return shapes
    frames = int(getattr(spec, 'history', 1))
    shapes = {}
    for cam in spec.cameras:
        shapes[cam.name] = (frames * (4 if getattr(cam, 'use_depth', False) else 3), int(cam.height), int(cam.width))
    mean = getattr(spec, 'proprio_mean', None)
    if mean is not None and len(mean) > 0:
        proprio = len(mean)
    else:
        proprio = len(spec.joint_names) * len(getattr(spec, 'proprio_fields', ('position', 'velocity')))
    shapes[PROPRIO_KEY] = (frames * int(proprio),)
    return shapes


class ObservationEncoder(nn.Module):
    """Encode {camera: (B,C,H,W), ..., 'proprio': (B,P)} to one (B, out_dim) feature vector.

    One image encoder per camera (no shared weights: cameras see different things), an MLP on proprioception,
    features concatenated. With zero cameras it is an MLP on proprioception (state-only policies).
    """

    def __init__(self, observation_spec, encoder: str = 'cnn', image_feature_dim: int = 64,
                 proprio_hidden_dims: Sequence[int] = (256,), proprio_feature_dim: int = 64,
                 encoder_options: Mapping | None = None):
        super().__init__()
        self.shapes = observation_shapes(observation_spec)
        self.camera_names = [k for k in self.shapes if k != PROPRIO_KEY]
        self.cameras = nn.ModuleDict({
            name: build_encoder(encoder, *self.shapes[name], image_feature_dim, **dict(encoder_options or {}))
            for name in self.camera_names})
        self.proprio = MLP(self.shapes[PROPRIO_KEY][0], proprio_hidden_dims, proprio_feature_dim)
        self.out_dim = image_feature_dim * len(self.camera_names) + proprio_feature_dim

    @property
    def input_names(self) -> list[str]:
        """Names of the inputs, cameras first then `proprio` (the ONNX input order)."""
        return [*self.camera_names, PROPRIO_KEY]

    def forward(self, obs: Mapping[str, torch.Tensor]) -> torch.Tensor:
        missing = [k for k in self.input_names if k not in obs]
        if missing:
            raise KeyError(f'observation is missing {missing}; expected keys {self.input_names}, got {sorted(obs)}')
        feats = [self.cameras[name](obs[name]) for name in self.camera_names]
        feats.append(torch.relu(self.proprio(obs[PROPRIO_KEY])))
        return torch.cat(feats, dim=-1)


def flatten_time(obs: Mapping[str, torch.Tensor]) -> tuple[dict[str, torch.Tensor], tuple[int, int]]:
    """(B, T, ...) observation dict -> (B*T, ...) dict and (B, T), for per-step models on segments."""
    first = next(iter(obs.values()))
    b, t = first.shape[:2]
    return {k: v.reshape(b * t, *v.shape[2:]) for k, v in obs.items()}, (b, t)
