# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""DDP: 2 gloo processes (with gradient accumulation) follow the single-process loss curve at the same global batch."""

import json
import os
import socket

import numpy as np
import torch
import torch.multiprocessing as mp

from rlhf_training.bc import train_bc
from rlhf_training.config import BCConfig
from rlhf_training.datasets import TransitionDataset
from rlhf_training.models import GaussianPolicy
from rlhf_training.trainer import seed_everything

STEPS = 8


def _data():
    rng = np.random.default_rng(0)
    states = rng.normal(size=(512, 6)).astype(np.float32)
    actions = np.tanh(states[:, :2] - 0.5 * states[:, 2:4]).astype(np.float32)
    return TransitionDataset({'proprio': states}, actions)


def run_bc(out_dir, grad_accum=1):
    torch.set_num_threads(1)
    seed_everything(0)
    policy = GaussianPolicy({'proprio': (6,)}, action_dim=2, hidden_dims=(32, 32), proprio_feature_dim=16)
    cfg = BCConfig(steps=STEPS, batch_size=32, grad_accum=grad_accum, lr=3e-3, out_dir=str(out_dir),
                   progress=False, log_every=1, eval_every=10_000, checkpoint_every=10_000, device='cpu')
    summary = train_bc(policy, _data(), cfg)
    return summary['losses'], [p.detach().clone() for p in policy.parameters()]


def _worker(rank, world, port, out_dir):
    os.environ.update(MASTER_ADDR='127.0.0.1', MASTER_PORT=str(port), RANK=str(rank), WORLD_SIZE=str(world),
                      LOCAL_RANK=str(rank))
    from rlhf_training.distributed import init_distributed
    init_distributed('cpu')
    try:
        losses, params = run_bc(os.path.join(out_dir, 'ddp'), grad_accum=2)
        flat = torch.cat([p.reshape(-1) for p in params]).tolist()
        with open(os.path.join(out_dir, f'rank{rank}.json'), 'w') as f:
            json.dump({'losses': losses, 'params': flat}, f)
    finally:
        torch.distributed.destroy_process_group()


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def run_ddp(out_dir, world=2):
    """Per-rank (losses, flat params) of a `world`-process gloo run of run_bc (global batch 32, accumulation 2)."""
    mp.spawn(_worker, args=(world, free_port(), str(out_dir)), nprocs=world, join=True)
    results = []
    for rank in range(world):
        with open(os.path.join(out_dir, f'rank{rank}.json')) as f:
            data = json.load(f)
        results.append((data['losses'], torch.tensor(data['params'])))
    return results


def test_two_gloo_processes_match_one_process(tmp_path):
    single_losses, single_params = run_bc(tmp_path / 'single')
    results = run_ddp(tmp_path)
    ddp_losses, ddp_params = results[0]
    assert len(ddp_losses) == STEPS
    np.testing.assert_allclose(ddp_losses, single_losses, rtol=1e-4, atol=1e-5)
    assert single_losses[-1] < single_losses[0]  # it did learn, so the comparison is not between constants
    flat_single = torch.cat([p.reshape(-1) for p in single_params])
    torch.testing.assert_close(ddp_params, flat_single, atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(results[1][1], ddp_params, atol=0, rtol=0)  # replicas stay identical
