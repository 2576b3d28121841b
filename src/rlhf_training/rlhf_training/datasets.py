# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""In-memory datasets on plain arrays: transitions (BC/RL) and preference pairs of segments (reward, CPL).

Observations are dicts of float32 arrays, the dict rlhf_policy.preprocess.preprocess_batch returns
({camera: (N, C, H, W), 'proprio': (N, P)}); actions are normalised to [-1, 1]. These classes do not care
where the arrays came from: `rlhf_training.data` builds them from episodes and preference exports.
"""

from collections.abc import Mapping, Sequence

import numpy as np
import torch


def _check_obs(obs: Mapping[str, np.ndarray], length: int, what: str) -> dict[str, np.ndarray]:
    if 'proprio' not in obs:
        raise ValueError(f'{what}: observations need a "proprio" entry, got {sorted(obs)}')
    out = {}
    for key, value in obs.items():
        value = np.asarray(value, dtype=np.float32)
        if value.shape[0] != length:
            raise ValueError(f'{what}: observation {key!r} has {value.shape[0]} rows, actions have {length}')
        out[key] = value
    return out


class TransitionDataset:
    """Rows of (observation, action[, reward, next observation, done, ...]).

    `batch(indices)` -> {'obs': {key: tensor}, 'actions': tensor, <extra>: tensor}; extra arrays (e.g. rewards)
    are passed as keyword arguments with the same number of rows.
    """

    def __init__(self, observations: Mapping[str, np.ndarray], actions: np.ndarray, **extra):
        self.actions = np.asarray(actions, dtype=np.float32)
        if self.actions.ndim != 2:
            raise ValueError(f'actions must be (N, action_dim), got shape {self.actions.shape}')
        self.observations = _check_obs(observations, len(self.actions), 'TransitionDataset')
        self.extra = {}
        for key, value in extra.items():
            if isinstance(value, Mapping):
                self.extra[key] = _check_obs(value, len(self.actions), f'TransitionDataset.{key}')
            else:
                value = np.asarray(value)
                if value.shape[0] != len(self.actions):
                    raise ValueError(f'TransitionDataset: {key!r} has {value.shape[0]} rows, actions have '
                                     f'{len(self.actions)}')
                self.extra[key] = value
        self.observation_shapes = {k: v.shape[1:] for k, v in self.observations.items()}

    def __len__(self) -> int:
        return len(self.actions)

    @property
    def action_dim(self) -> int:
        return self.actions.shape[1]

    def batch(self, indices) -> dict:
        idx = np.asarray(indices)
        out = {'obs': {k: torch.from_numpy(v[idx]) for k, v in self.observations.items()},
               'actions': torch.from_numpy(self.actions[idx])}
        for key, value in self.extra.items():
            out[key] = ({k: torch.from_numpy(v[idx]) for k, v in value.items()} if isinstance(value, dict)
                        else torch.from_numpy(value[idx]))
        return out

    def subset(self, indices) -> 'TransitionDataset':
        idx = np.asarray(indices)
        extra = {k: ({kk: vv[idx] for kk, vv in v.items()} if isinstance(v, dict) else v[idx])
                 for k, v in self.extra.items()}
        return TransitionDataset({k: v[idx] for k, v in self.observations.items()}, self.actions[idx], **extra)

    @staticmethod
    def concatenate(parts: Sequence['TransitionDataset']) -> 'TransitionDataset':
        if not parts:
            raise ValueError('no transition datasets to concatenate')
        obs = {k: np.concatenate([p.observations[k] for p in parts]) for k in parts[0].observations}
        extra = {}
        for key, value in parts[0].extra.items():
            extra[key] = ({kk: np.concatenate([p.extra[key][kk] for p in parts]) for kk in value}
                          if isinstance(value, dict) else np.concatenate([p.extra[key] for p in parts]))
        return TransitionDataset(obs, np.concatenate([p.actions for p in parts]), **extra)


class TransitionRows:
    """Rows of a TransitionDataset picked by index, repeats allowed, sharing its arrays.

    ``len`` and ``batch`` as a dataset: e.g. the ticks of overlapping windows without a copy of their camera frames
    per window.
    """

    def __init__(self, dataset: TransitionDataset, rows):
        self.dataset = dataset
        self.rows = np.asarray(rows, dtype=np.int64).reshape(-1)
        if len(self.rows) and (self.rows.min() < 0 or self.rows.max() >= len(dataset)):
            raise ValueError(f'TransitionRows: rows must be in [0, {len(dataset)})')
        self.observation_shapes = dataset.observation_shapes

    def __len__(self) -> int:
        return len(self.rows)

    @property
    def action_dim(self) -> int:
        return self.dataset.action_dim

    @property
    def actions(self) -> np.ndarray:
        return self.dataset.actions[self.rows]

    def batch(self, indices) -> dict:
        return self.dataset.batch(self.rows[np.asarray(indices)])


class SegmentPairDataset:
    """Preference pairs over a pool of segments (each segment stored once, padded to the longest with a mask).

    segments: list of (observations {key: (T, ...)}, actions (T, A)); pairs: (M, 2) indices into segments;
    labels: (M,) the probability that the FIRST segment of the pair is preferred (1.0 first, 0.0 second, 0.5 equally
    good), or the votes themselves, 'a' (first) | 'b' (second) | 'equal', as rlhf_preference records them.
    `batch(indices)` -> obs_a/obs_b {key: (B, T, ...)}, actions_a/actions_b (B, T, A), mask_a/mask_b (B, T),
    labels (B,).
    """

    def __init__(self, segments: Sequence[tuple[Mapping[str, np.ndarray], np.ndarray]], pairs, labels,
                 pair_ids: Sequence[str] | None = None):
        if len(segments) == 0:
            raise ValueError('SegmentPairDataset: no segments')
        self.pairs = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
        labels = np.asarray(labels).reshape(-1)
        if labels.dtype.kind in 'US':
            from rlhf_preference.aggregate import VOTE_VALUE
            unknown = sorted(set(labels.tolist()) - set(VOTE_VALUE))
            if unknown:
                raise ValueError(f'SegmentPairDataset: votes must be one of {sorted(VOTE_VALUE)}, got {unknown}')
            labels = np.asarray([VOTE_VALUE[v] for v in labels.tolist()])
        self.labels = labels.astype(np.float32)
        if len(self.pairs) != len(self.labels):
            raise ValueError(f'SegmentPairDataset: {len(self.pairs)} pairs but {len(self.labels)} labels')
        if len(self.pairs) and (self.pairs.min() < 0 or self.pairs.max() >= len(segments)):
            raise ValueError(f'SegmentPairDataset: pair indices must be in [0, {len(segments)})')
        if ((self.labels < 0) | (self.labels > 1)).any():
            raise ValueError('SegmentPairDataset: labels must be in [0, 1]')
        self.pair_ids = list(pair_ids) if pair_ids is not None else [str(i) for i in range(len(self.pairs))]
        lengths = [len(np.asarray(actions)) for _, actions in segments]
        if min(lengths) < 1:
            raise ValueError('SegmentPairDataset: a segment has no steps')
        t_max = max(lengths)
        first_obs, first_actions = segments[0]
        self.lengths = np.asarray(lengths, dtype=np.int64)
        self.actions = np.zeros((len(segments), t_max, np.asarray(first_actions).shape[-1]), np.float32)
        self.observations = {k: np.zeros((len(segments), t_max, *np.asarray(v).shape[1:]), np.float32)
                             for k, v in first_obs.items()}
        for i, (obs, actions) in enumerate(segments):
            n = lengths[i]
            self.actions[i, :n] = actions
            for key, value in _check_obs(obs, n, f'segment {i}').items():
                self.observations[key][i, :n] = value
        self.mask = (np.arange(t_max)[None, :] < self.lengths[:, None]).astype(np.float32)
        self.observation_shapes = {k: v.shape[2:] for k, v in self.observations.items()}

    @classmethod
    def from_arrays(cls, obs_a: Mapping[str, np.ndarray], actions_a, obs_b: Mapping[str, np.ndarray], actions_b,
                    labels) -> 'SegmentPairDataset':
        """Pairs given as stacked arrays: obs_* {key: (M, T, ...)}, actions_* (M, T, A), labels (M,)."""
        m = len(actions_a)
        segments = [({k: v[i] for k, v in obs_a.items()}, actions_a[i]) for i in range(m)]
        segments += [({k: v[i] for k, v in obs_b.items()}, actions_b[i]) for i in range(m)]
        return cls(segments, np.stack([np.arange(m), np.arange(m, 2 * m)], 1), labels)

    def __len__(self) -> int:
        return len(self.pairs)

    @property
    def action_dim(self) -> int:
        return self.actions.shape[-1]

    def segment(self, index: int) -> tuple[dict, torch.Tensor, torch.Tensor]:
        """One pooled segment as tensors with a batch dim of 1: (obs, actions, mask)."""
        return ({k: torch.from_numpy(v[index:index + 1]) for k, v in self.observations.items()},
                torch.from_numpy(self.actions[index:index + 1]), torch.from_numpy(self.mask[index:index + 1]))

    def batch(self, indices) -> dict:
        idx = np.asarray(indices)
        out = {'labels': torch.from_numpy(self.labels[idx])}
        for side, col in (('a', 0), ('b', 1)):
            seg = self.pairs[idx, col]
            out[f'obs_{side}'] = {k: torch.from_numpy(v[seg]) for k, v in self.observations.items()}
            out[f'actions_{side}'] = torch.from_numpy(self.actions[seg])
            out[f'mask_{side}'] = torch.from_numpy(self.mask[seg])
        return out

    def subset(self, indices) -> 'SegmentPairDataset':
        """Pairs `indices` over the same (shared, not copied) segment pool."""
        idx = np.asarray(indices, dtype=np.int64)
        new = object.__new__(SegmentPairDataset)
        new.__dict__.update(self.__dict__)
        new.pairs, new.labels = self.pairs[idx], self.labels[idx]
        new.pair_ids = [self.pair_ids[i] for i in idx]
        return new

    def split(self, val_fraction: float, seed: int = 0) -> tuple['SegmentPairDataset', 'SegmentPairDataset']:
        """Random split of the pairs into (train, validation); validation gets round(M * val_fraction) pairs."""
        order = np.random.default_rng(seed).permutation(len(self))
        n_val = int(round(len(self) * val_fraction))
        return self.subset(np.sort(order[n_val:])), self.subset(np.sort(order[:n_val]))
