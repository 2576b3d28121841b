# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""``wandb: true``: a short real training logs the same metrics to Weights & Biases (offline mode) as to TensorBoard."""

import json
from pathlib import Path
import struct

import numpy as np
import pytest
import torch

from rlhf_training.bc import train_bc
from rlhf_training.config import BCConfig
from rlhf_training.datasets import TransitionDataset
from rlhf_training.logging_utils import read_metrics
from rlhf_training.models import GaussianPolicy
from rlhf_training.trainer import seed_everything

wandb = pytest.importorskip('wandb')   # a declared test dependency (requirements/embedded.lock)

_BLOCK = 32768   # the run file is a LevelDB-style log: 32 KiB blocks of records with 7-byte headers


def wandb_history(run_file: Path) -> list[dict]:
    """The ``history`` records (one per ``run.log``) of an offline run's ``run-<id>.wandb`` file."""
    from wandb.proto import wandb_internal_pb2

    data = run_file.read_bytes()
    assert data[:4] == b':W&B', f'{run_file}: not a W&B run file'
    rows, pending, pos = [], b'', 7                      # after the file header (ident, magic, version)
    while pos + 7 <= len(data):
        if _BLOCK - pos % _BLOCK < 7:                    # a block's tail too short for a header is padding
            pos += _BLOCK - pos % _BLOCK
            continue
        _checksum, length, kind = struct.unpack('<IHB', data[pos:pos + 7])
        pending += data[pos + 7:pos + 7 + length]
        pos += 7 + length
        if kind in (1, 4):                               # FULL, or LAST of a record split across blocks
            record = wandb_internal_pb2.Record()
            record.ParseFromString(pending)
            pending = b''
            if record.WhichOneof('record_type') == 'history':
                rows.append({item.key or '/'.join(item.nested_key): json.loads(item.value_json)
                             for item in record.history.item})
    return rows


def tensorboard_scalars(log_dir: Path) -> dict[str, list[tuple[int, float]]]:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(log_dir))
    events.Reload()
    return {tag: [(e.step, e.value) for e in events.Scalars(tag)] for tag in events.Tags()['scalars']}


def test_wandb_offline_receives_the_metrics_tensorboard_receives(tmp_path, monkeypatch):
    monkeypatch.setenv('WANDB_MODE', 'offline')   # no network: the run is written to <out_dir>/wandb/
    monkeypatch.setenv('WANDB_SILENT', 'true')
    torch.set_num_threads(1)
    seed_everything(0)
    rng = np.random.default_rng(0)
    states = rng.normal(size=(256, 4)).astype(np.float32)
    actions = np.tanh(states[:, :2]).astype(np.float32)
    train, val = TransitionDataset({'proprio': states}, actions), TransitionDataset({'proprio': states[:64]},
                                                                                    actions[:64])
    policy = GaussianPolicy({'proprio': (4,)}, action_dim=2, hidden_dims=(16,), proprio_feature_dim=8)
    cfg = BCConfig(steps=40, batch_size=32, out_dir=str(tmp_path), wandb=True, progress=False, log_every=10,
                   eval_every=20, checkpoint_every=10_000, export_onnx=False)
    train_bc(policy, train, cfg, val_dataset=val)
    wandb.teardown()   # finish() hands the last records to wandb's service process; this waits until it wrote them

    runs = sorted((tmp_path / 'wandb').glob('offline-run-*/run-*.wandb'))
    assert len(runs) == 1, f'expected one offline run under {tmp_path / "wandb"}, found {runs}'
    logged: dict[str, list[tuple[int, float]]] = {}
    for row in wandb_history(runs[0]):
        for key, value in row.items():
            if not key.startswith('_'):                  # _step, _runtime, _timestamp are wandb's own
                logged.setdefault(key, []).append((row['_step'], value))
    board = tensorboard_scalars(tmp_path / 'tensorboard')
    assert {'train/loss', 'val/mse'} <= set(board), sorted(board)
    assert set(logged) == set(board) == set(read_metrics(tmp_path / 'metrics.csv'))
    for name, points in board.items():
        assert [step for step, _ in logged[name]] == [step for step, _ in points], name
        np.testing.assert_allclose([v for _, v in logged[name]], [v for _, v in points], rtol=1e-6, err_msg=name)
