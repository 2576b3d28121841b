# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""Training throughput of BC, Bradley-Terry reward learning and CPL, plus BT accuracy and DDP agreement.

Prints a table. Throughput: optimiser steps on synthetic arrays of the real shapes (two 64x64 RGB cameras + 18-d
proprio, or state only), default model size (hidden 256x2, the default CNN, 3 reward members), timed after one
warm-up step. Reward/CPL samples are frames (pairs x 2 segments x segment length); pairs/s are shown too.
With cameras the timed batch is smaller than the config default (BC 64 frames, reward/CPL 8 pairs) to keep the
run short on a CPU; per-frame cost of a conv net hardly depends on the batch at these sizes.
CPL's fine-tuning step (Trainer + CPLLoss, the piano preset) is also timed against the same loss written plainly
in this file, in alternating rounds on the same batch size and thread count (issue 14's floor: >= 1.0x).

    python bench/train_bench.py [--threads 1] [--steps 3] [--rounds 7] [--device cpu|cuda]
"""

import argparse
import copy
import os
import statistics
import sys
import tempfile
import time

import numpy as np
import torch
from torch.distributions import Normal
import torch.nn.functional as F

from rlhf_training.bc import BCLoss
from rlhf_training.config import BCConfig, CPLConfig, RewardConfig
from rlhf_training.cpl import CPLLoss
from rlhf_training.datasets import SegmentPairDataset, TransitionDataset
from rlhf_training.models import GaussianPolicy, RewardEnsemble
from rlhf_training.reward import BradleyTerryLoss, train_reward
from rlhf_training.trainer import Trainer, seed_everything

CAMERAS = {'scene_camera': (3, 64, 64), 'wrist_camera': (3, 64, 64)}
PROPRIO = {'proprio': (18,)}
SEGMENT_LEN = 20  # 2 s at 10 Hz
QUIET = dict(progress=False, log_every=10_000, eval_every=10_000, checkpoint_every=10_000)


def random_obs(shapes, *lead):
    return {k: np.random.rand(*lead, *s).astype(np.float32) for k, s in shapes.items()}


def time_trainer(loss_module, dataset, config, steps):
    trainer = Trainer(loss_module, dataset, config)
    trainer.train_step()  # warm-up (allocations, first-call overheads)
    start = time.perf_counter()
    for _ in range(steps):
        trainer.train_step()
    if trainer.device.type == 'cuda':
        torch.cuda.synchronize()
    return (time.perf_counter() - start) / steps


def images(shapes):
    return len(shapes) > 1


def bench_bc(shapes, steps, device, out):
    data = TransitionDataset(random_obs(shapes, 512), np.random.uniform(-1, 1, (512, 8)).astype(np.float32))
    cfg = BCConfig(batch_size=64 if images(shapes) else 256, out_dir=out, device=device, **QUIET)
    sec = time_trainer(BCLoss(GaussianPolicy(shapes)), data, cfg, steps)
    return cfg.batch_size / sec, None, sec, cfg.batch_size


def pair_data(shapes, pairs):
    segments = [(random_obs(shapes, SEGMENT_LEN), np.random.uniform(-1, 1, (SEGMENT_LEN, 8)).astype(np.float32))
                for _ in range(16)]
    idx = np.random.randint(0, 16, size=(pairs, 2))
    return SegmentPairDataset(segments, idx, np.random.randint(0, 2, pairs).astype(np.float32))


def bench_reward(shapes, steps, device, out):
    cfg = RewardConfig(batch_size=8 if images(shapes) else 64, out_dir=out, device=device, **QUIET)
    sec = time_trainer(BradleyTerryLoss(RewardEnsemble.build(3, 'mlp', shapes, 8)), pair_data(shapes, 256),
                       cfg, steps)
    return cfg.batch_size * 2 * SEGMENT_LEN / sec, cfg.batch_size / sec, sec, cfg.batch_size


def bench_cpl(shapes, steps, device, out):
    cfg = CPLConfig(batch_size=8 if images(shapes) else 32, out_dir=out, device=device, **QUIET)
    sec = time_trainer(CPLLoss(GaussianPolicy(shapes)), pair_data(shapes, 256), cfg, steps)
    return cfg.batch_size * 2 * SEGMENT_LEN / sec, cfg.batch_size / sec, sec, cfg.batch_size


def minimal_cpl_step(shapes, device, batch):
    """One step of the same CPL loss (piano preset) written plainly: a closure to time beside the product's.

    One forward pass of both segments, torch.distributions, AdamW, gradient clipping.
    """
    policy = GaussianPolicy(shapes).to(device)
    reference = copy.deepcopy(policy).requires_grad_(False)
    optimizer = torch.optim.AdamW(policy.parameters(), lr=1e-4)
    data, generator = pair_data(shapes, 256), torch.Generator().manual_seed(0)

    def step():
        b = data.batch(torch.randint(len(data), (batch,), generator=generator).numpy())
        obs = {k: torch.cat([b['obs_a'][k], b['obs_b'][k]]).flatten(0, 1).to(device) for k in b['obs_a']}
        actions = torch.cat([b['actions_a'], b['actions_b']]).flatten(0, 1).to(device)
        mean, log_std = policy(obs)
        u = torch.atanh(actions.clamp(-1 + 1e-6, 1 - 1e-6))
        logp = Normal(mean, log_std.exp()).log_prob(u) - torch.log1p(-torch.tanh(u).pow(2) + 1e-12)
        adv = 0.1 * logp.sum(-1).view(2 * batch, -1).sum(-1)
        a, r, labels = adv[:batch], adv[batch:], b['labels'].to(device)
        loss = -(labels * F.logsigmoid(a - 0.5 * r) + (1 - labels) * F.logsigmoid(r - 0.5 * a)).mean()
        with torch.no_grad():
            ref_mean = reference(obs)[0]
        loss = loss + 0.01 * (torch.tanh(mean) - torch.tanh(ref_mean)).pow(2).mean()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(policy.parameters(), 1.0)
        optimizer.step()
    return step


def cpl_against_minimal(shapes, steps, rounds, device, out):
    """(product s/step, minimal s/step, per-round ratios): the two timed in alternating rounds, medians.

    Alternating rounds of ``steps`` steps each put both under the same load on this shared machine.
    """
    batch = 8 if images(shapes) else 32
    cfg = CPLConfig(batch_size=batch, out_dir=out, device=device, **QUIET)
    trainer = Trainer(CPLLoss(GaussianPolicy(shapes)), pair_data(shapes, 256), cfg)
    minimal = minimal_cpl_step(shapes, trainer.device, batch)
    times = {'product': [], 'minimal': []}
    trainer.train_step()   # warm-up (allocations, first-call overheads)
    minimal()
    for _ in range(rounds):
        for name, step in (('product', trainer.train_step), ('minimal', minimal)):
            start = time.perf_counter()
            for _ in range(steps):
                step()
            if trainer.device.type == 'cuda':
                torch.cuda.synchronize()
            times[name].append((time.perf_counter() - start) / steps)
    ratios = [m / p for p, m in zip(times['product'], times['minimal'])]
    return statistics.median(times['product']), statistics.median(times['minimal']), ratios, batch


def bt_accuracy(out):
    """Held-out accuracy of a 3-member ensemble on pairs labelled by a known linear reward (state only)."""
    seed_everything(0)
    rng = np.random.default_rng(0)
    w_obs, w_act = rng.normal(size=18), rng.normal(size=8)
    obs = rng.normal(size=(2, 2000, 10, 18)).astype(np.float32)
    act = rng.uniform(-1, 1, size=(2, 2000, 10, 8)).astype(np.float32)
    ret = (obs @ w_obs).sum(-1) + (act @ w_act).sum(-1)
    labels = (ret[0] > ret[1]).astype(np.float32)
    data = SegmentPairDataset.from_arrays({'proprio': obs[0]}, act[0], {'proprio': obs[1]}, act[1], labels)
    train, val = data.split(0.2, seed=0)
    ens = RewardEnsemble.build(3, 'mlp', PROPRIO, 8, hidden_dims=(64, 64))
    cfg = RewardConfig(steps=400, batch_size=64, lr=1e-3, out_dir=out, **QUIET)
    summary = train_reward(ens, train, cfg, val_dataset=val)
    return summary['heldout_accuracy'], summary['heldout_pairs'], len(train)


def ddp_difference(out):
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'src', 'rlhf_training', 'test'))
    from test_distributed import run_bc, run_ddp
    single, _ = run_bc(os.path.join(out, 'single'))
    (ddp, _), _ = run_ddp(out)
    return float(np.max(np.abs(np.array(single) - np.array(ddp)))), single[0], single[-1], len(single)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--threads', type=int, default=1, help='torch CPU threads (the machine is shared)')
    parser.add_argument('--steps', type=int, default=3, help='timed optimiser steps per entry (and per round)')
    parser.add_argument('--rounds', type=int, default=7, help='alternating rounds of the CPL vs minimal timing')
    parser.add_argument('--device', default='cpu')
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    np.random.seed(0)
    rows = []
    with tempfile.TemporaryDirectory() as out:
        for name, fn in (('BC', bench_bc), ('reward (BT, 3 members)', bench_reward), ('CPL', bench_cpl)):
            for obs_name, shapes in (('2 cams 64x64 + proprio', {**CAMERAS, **PROPRIO}), ('state only', PROPRIO)):
                rows.append((name, obs_name, *fn(shapes, args.steps, args.device, out)))
        against = {}
        for obs_name, shapes in (('2 cams 64x64 + proprio', {**CAMERAS, **PROPRIO}), ('state only', PROPRIO)):
            against[obs_name] = cpl_against_minimal(shapes, args.steps, args.rounds, args.device, out)
        acc, n_val, n_train = bt_accuracy(os.path.join(out, 'bt'))
        ddp = ddp_difference(os.path.join(out, 'ddp'))
    print(f'\nTraining throughput on {args.device} ({torch.get_num_threads()} torch threads, '
          f'{os.cpu_count()} CPUs visible), default model size (hidden 256x2, CNN per camera):')
    print(f'{"algorithm":<24}{"observation":<26}{"batch":>6}{"frames/s":>10}{"pairs/s":>10}{"s/step":>9}')
    for name, obs_name, frames, pairs, sec, batch in rows:
        pairs_text = f'{pairs:10.1f}' if pairs is not None else f'{"-":>10}'
        print(f'{name:<24}{obs_name:<26}{batch:6d}{frames:10.0f}{pairs_text}{sec:9.3f}')
    print(f'(batch: frames for BC, pairs for reward/CPL; segments of {SEGMENT_LEN} frames)')
    print(f'\nCPL fine-tuning, product (Trainer + CPLLoss) vs a minimal loop of the same loss written in this bench, '
          f'{args.rounds} alternating rounds of {args.steps} steps, medians:')
    print(f'{"observation":<26}{"batch":>6}{"product s/step":>16}{"minimal s/step":>16}{"product/minimal":>17}'
          f'{"rounds (min-max)":>18}')
    for obs_name, (product, minimal, ratios, batch) in against.items():
        print(f'{obs_name:<26}{batch:6d}{product:16.4f}{minimal:16.4f}{minimal / product:16.2f}x'
              f'{f"{min(ratios):.2f}-{max(ratios):.2f}x":>18}')
    print('(product/minimal = steps/s of the product over steps/s of the minimal loop; floor >= 1.0x)')
    print(f'\nBradley-Terry ensemble, known linear reward: held-out accuracy {acc:.3f} on {n_val} pairs '
          f'({n_train} training pairs, 400 steps)')
    print(f'DDP 2 gloo processes (grad_accum 2) vs 1 process, global batch 32, {ddp[3]} steps: '
          f'max |loss difference| {ddp[0]:.2e} (loss {ddp[1]:.4f} -> {ddp[2]:.4f})')


if __name__ == '__main__':
    main()
