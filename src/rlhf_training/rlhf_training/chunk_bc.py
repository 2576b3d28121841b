# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""Behaviour cloning of action chunks: regress the next ``horizon`` commands from one observation.

Targets (``chunk_targets``): for the frame at tick t, row k is the command recorded at tick t + k in the action's
command layout, its delta groups relative to the measured command at t (the Panda: 7 arm joint offsets in rad)
and its absolute groups as they are (the finger opening, m); rows past the end of the episode repeat its last
command (the robot holds still there). The offsets are not clipped: a scripted or teleoperated arm leads its
measured joints by up to 0.15 rad, and the single-step BC's clip of that lead to ``max_delta`` is what made its
labels useless (bench/manipulation.py).

Loss: mean squared (or absolute) error between the network output and the targets standardised per row and
dimension (statistics from the training set, stored in the model). Images get a random shift of up to
``shift_pad`` pixels per sample during training (DrQ-style augmentation; replicate padding).
"""

import math

import numpy as np
import torch
from torch import nn
import torch.nn.functional as F

from rlhf_training.config import ChunkBCConfig
from rlhf_training.datasets import TransitionDataset, TransitionRows
from rlhf_training.models import PROPRIO_KEY
from rlhf_training.models.chunk_policy import ChunkPolicy
from rlhf_training.trainer import Trainer

CHUNK_LOSSES = ('mse', 'l1')


def chunk_targets(commands, measured, horizon: int, delta) -> np.ndarray:
    """(T, C) commands + (T, C) measured commands + (C,) mask of delta values -> (T, horizon, C) targets (float32)."""
    c = np.asarray(commands, dtype=np.float64)
    m = np.asarray(measured, dtype=np.float64)
    delta = np.asarray(delta, dtype=bool)
    if c.ndim != 2 or m.shape != c.shape or delta.shape != c.shape[1:]:
        raise ValueError(f'expected commands and measured commands (T, C) and a delta mask (C,), got {c.shape}, '
                         f'{m.shape} and {delta.shape}')
    if horizon < 1:
        raise ValueError(f'horizon must be >= 1, got {horizon}')
    idx = np.minimum(np.arange(len(c))[:, None] + np.arange(horizon)[None], len(c) - 1)
    out = c[idx].copy()
    out[..., delta] -= m[:, None, delta]
    return out.astype(np.float32)


def random_shift(images: torch.Tensor, pad: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """Shift each (C, H, W) image of a batch by a random integer offset in [-pad, pad] (edges replicated)."""
    if pad <= 0:
        return images
    _, _, h, w = images.shape
    padded = F.pad(images, (pad, pad, pad, pad), mode='replicate')
    offsets = torch.randint(0, 2 * pad + 1, (len(images), 2), generator=generator).tolist()
    # one slice per image: 5x faster on a CPU than gathering the batch with index tensors
    return torch.stack([padded[i, :, dy:dy + h, dx:dx + w] for i, (dy, dx) in enumerate(offsets)])


class ChunkBCLoss(nn.Module):
    """Error of the chunk against targets standardised per row and value (``policy.action_mean/std``)."""

    def __init__(self, policy: ChunkPolicy, loss: str = 'mse', shift_pad: int = 0):
        super().__init__()
        if loss not in CHUNK_LOSSES:
            raise ValueError(f'chunk_bc loss must be one of {CHUNK_LOSSES}, got {loss!r}')
        self.policy = policy
        self.loss = loss
        self.shift_pad = int(shift_pad)

    def forward(self, batch):
        obs = batch['obs']
        if self.training and self.shift_pad > 0:
            obs = {k: (v if k == PROPRIO_KEY else random_shift(v, self.shift_pad)) for k, v in obs.items()}
        policy = self.policy
        target = (batch['actions'].reshape(-1, policy.horizon, policy.action_dim) - policy.action_mean) \
            / policy.action_std
        error = policy.normalised(obs) - target
        mse = error.pow(2).mean()
        loss = mse if self.loss == 'mse' else error.abs().mean()
        return loss, {'mse': mse.detach()}


def chunk_dataset(observations: dict, targets: np.ndarray, **extra) -> TransitionDataset:
    """Observations {input: (N, ...)} and (N, horizon, 8) targets as a TransitionDataset (actions flattened)."""
    targets = np.asarray(targets, dtype=np.float32)
    return TransitionDataset(observations, targets.reshape(len(targets), -1), **extra)


def chunks_from_episodes(contract, episodes) -> TransitionDataset:
    """Every frame of the episodes (at the control rate) with the chunk targets of the contract's chunk section."""
    return chunks_from_windows(contract, [(episode, None, None) for episode in episodes])


def chunks_from_windows(contract, windows) -> TransitionDataset:
    """The frames of (episode, start_s, end_s) windows (None: from the start / to the end), with chunk targets.

    Filled window by window: camera frames are float32 once preprocessed, and per-window arrays concatenated at
    the end would hold the whole dataset twice.
    """
    from rlhf_training.data import DataError, episode_arrays, frame_count
    rows = [frame_count(*window) for window in windows]
    if not sum(rows):
        raise DataError('empty dataset: the selected episodes hold no frames with recorded commands')
    observations, targets, start = None, None, 0
    for window, n in zip(windows, rows):
        if not n:
            continue
        obs, actions = episode_arrays(contract, *window)
        if observations is None:
            observations = {k: np.empty((sum(rows),) + v.shape[1:], v.dtype) for k, v in obs.items()}
            targets = np.empty((sum(rows), actions.shape[1]), np.float32)
        for k, v in obs.items():
            observations[k][start:start + n] = v
        targets[start:start + n] = actions
        start += n
    return chunk_dataset(observations, targets.reshape(-1, contract.chunk.horizon, contract.action.command_dim))


@torch.no_grad()
def evaluate_chunk_bc(policy: ChunkPolicy, dataset: TransitionDataset, max_rows: int = 4096,
                      batch_size: int = 512) -> dict:
    """Mean squared error of the predicted chunks in physical units (rad / m) on (up to max_rows of) a dataset."""
    was_training = policy.training
    policy.eval()
    device = policy.action_mean.device
    rows = np.arange(min(len(dataset), max_rows))
    sse = 0.0
    for start in range(0, len(rows), batch_size):
        batch = dataset.batch(rows[start:start + batch_size])
        pred = policy({k: v.to(device) for k, v in batch['obs'].items()})
        target = batch['actions'].to(device).reshape(pred.shape)
        sse += float((pred - target).pow(2).mean((1, 2)).sum())
    policy.train(was_training)
    return {'mse': sse / max(len(rows), 1)}


def train_chunk_bc(policy: ChunkPolicy, dataset: TransitionDataset | TransitionRows,
                   config: ChunkBCConfig | None = None, val_dataset: TransitionDataset | None = None,
                   build_info: dict | None = None, extra: dict | None = None, fit_statistics: bool = True) -> dict:
    """Set the target statistics from ``dataset``, then train; returns the run summary.

    ``fit_statistics=False`` when fine-tuning a trained policy: it keeps the statistics its output layer learnt
    with, so that its chunks do not jump before the first step (new statistics would re-scale every output).
    """
    config = config or ChunkBCConfig()
    if fit_statistics:
        targets = torch.from_numpy(dataset.actions).reshape(-1, policy.horizon, policy.action_dim)
        policy.set_action_statistics(targets.mean(0), targets.std(0) + 1e-3)
    models = {'policy': (policy, build_info)} if build_info is not None else None
    evaluate = ((lambda step: evaluate_chunk_bc(policy, val_dataset))
                if val_dataset is not None and len(val_dataset) else None)
    steps = max(1, config.steps)
    trainer = Trainer(ChunkBCLoss(policy, config.loss, config.shift_pad), dataset, config, models=models,
                      evaluate=evaluate, extra=extra,
                      lr_schedule=lambda step: 0.5 * (1.0 + math.cos(math.pi * step / steps)))   # cosine to 0
    return trainer.train()


def run(config: ChunkBCConfig) -> dict:
    """Chunk BC from recorded episodes: dataset, contract (with its chunk section), training, ONNX export."""
    from rlhf_policy.chunking import ChunkExecution
    from rlhf_training.checkpoint import chunk_build_info
    from rlhf_training.data import DataError, make_contract, read_episodes, resolve_episodes
    from rlhf_training.distributed import current_info
    from rlhf_training.models import observation_shapes
    from rlhf_training.runs import contract_to_yaml, export_if_main
    from rlhf_training.trainer import seed_everything

    if config.rate_hz != config.control_hz:
        raise DataError(f'rate_hz={config.rate_hz}: chunk BC reads one frame per control tick, so rate_hz must '
                        f'equal control_hz={config.control_hz}')
    seed_everything(config.seed)
    paths = resolve_episodes(config)
    episodes = read_episodes(paths, config, progress=config.progress and current_info().is_main)
    n_val = int(round(len(episodes) * config.val_fraction)) if len(episodes) > 1 else 0
    order = np.random.default_rng(config.seed).permutation(len(episodes))
    train_eps = [episodes[i] for i in sorted(order[n_val:])]
    val_eps = [episodes[i] for i in sorted(order[:n_val])]
    contract = make_contract(config, train_eps, {'episodes': [str(p) for p in paths]})
    contract.chunk = ChunkExecution(horizon=config.horizon)
    train = chunks_from_episodes(contract, train_eps)
    val = chunks_from_episodes(contract, val_eps) if val_eps else None
    build = chunk_build_info(config, observation_shapes(contract.observation), contract.action.command_dim)
    seed_everything(config.seed)
    policy = ChunkPolicy(observation_shapes(contract.observation),
                         **{k: v for k, v in build.items() if k not in ('kind', 'observation_shapes')})
    summary = train_chunk_bc(policy, train, config, val_dataset=val, build_info=build,
                             extra={'contract_yaml': contract_to_yaml(contract)})
    summary.update(train_frames=len(train), val_frames=len(val) if val is not None else 0)
    return export_if_main(policy, contract, config, summary)
