# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""The optimisation loop shared by BC, reward learning and CPL.

An algorithm supplies a loss module (`forward(batch) -> (loss, metrics)`) and a dataset with
`__len__` and `batch(indices) -> dict of tensors`. The trainer adds: AdamW, gradient accumulation,
DDP (torchrun), gradient-norm clipping, a guard against non-finite gradients, CSV/TensorBoard logs,
a tqdm bar, checkpoints every N steps and exact resume (model, optimiser and every RNG state).

Batches: each step draws `batch_size` indices (with replacement) from a seeded generator that every
process shares; process r takes its contiguous share and splits it into `grad_accum` micro-batches.
Losses are means, so the averaged gradient equals the single-process gradient of the same global batch.
"""

from collections.abc import Callable, Mapping
from contextlib import nullcontext
import math
import os
from pathlib import Path
import random
import time

import numpy as np
import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from tqdm import tqdm

from rlhf_training.config import ConfigError, TrainConfig, config_to_dict
from rlhf_training.distributed import current_info, resolve_device
from rlhf_training.logging_utils import MetricLogger

CHECKPOINT_DIR = 'checkpoints'
LATEST = 'latest.pt'


# Settings that may change between an interrupted run and its resumption (how long, how it reports, where it runs).
NOT_RUN_IDENTITY = frozenset({'steps', 'progress', 'log_every', 'eval_every', 'checkpoint_every', 'wandb', 'device',
                              'resume', 'export_onnx', 'out_dir'})


def run_identity(config: TrainConfig, dataset) -> dict:
    """What makes a run the same run: its settings (but NOT_RUN_IDENTITY) and the size of its dataset."""
    return {**{k: v for k, v in config_to_dict(config).items() if k not in NOT_RUN_IDENTITY},
            'dataset_size': len(dataset)}


class NonFiniteGradientError(RuntimeError):
    """A NaN/inf gradient: training stops before the optimiser step, so saved checkpoints stay clean."""


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def to_device(batch, device):
    if isinstance(batch, torch.Tensor):
        return batch.to(device, non_blocking=True)
    if isinstance(batch, Mapping):
        return {k: to_device(v, device) for k, v in batch.items()}
    return batch


def _rng_state(sampler: torch.Generator) -> dict:
    np_state = np.random.get_state()
    state = {'torch': torch.get_rng_state(), 'sampler': sampler.get_state(), 'python': random.getstate(),
             'numpy': (np_state[0], np_state[1].tolist(), *np_state[2:])}
    if torch.cuda.is_available():
        state['cuda'] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: dict, sampler: torch.Generator) -> None:
    torch.set_rng_state(state['torch'])
    sampler.set_state(state['sampler'])
    random.setstate(state['python'])
    kind, keys, *rest = state['numpy']
    np.random.set_state((kind, np.asarray(keys, dtype=np.uint32), *rest))
    if 'cuda' in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state['cuda'])


def save_atomic(obj, path: Path) -> None:
    """torch.save to a temporary file, then rename: an interruption never leaves a half-written checkpoint."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + '.tmp')
    torch.save(obj, tmp)
    os.replace(tmp, path)


def load_checkpoint(path: str | Path) -> dict:
    path = Path(path)
    if path.is_dir():
        path = path / CHECKPOINT_DIR / LATEST if (path / CHECKPOINT_DIR).is_dir() else path / LATEST
    if not path.is_file():
        raise FileNotFoundError(f'checkpoint {path} does not exist')
    return torch.load(path, map_location='cpu', weights_only=False)


class Trainer:
    """Run `config.steps` optimiser steps of `loss_module` on `dataset`.

    models: {name: (module, build_info)} saved in every checkpoint as {'build': build_info, 'state': state_dict}
    so that `rlhf_training.checkpoint` tools can rebuild them (build_info is plain data, e.g. constructor kwargs).
    evaluate: called on the main process every `eval_every` steps and at the end, returns metrics to log.
    extra: plain data stored in checkpoints (e.g. the policy contract as YAML text).
    lr_schedule: step -> factor of `config.lr` for that step (0-based). A function of the step, not a scheduler
    with its own state: a resumed run continues the same schedule.
    """

    def __init__(self, loss_module: nn.Module, dataset, config: TrainConfig, *,
                 models: Mapping[str, tuple[nn.Module, dict]] | None = None,
                 evaluate: Callable[[int], dict] | None = None, extra: dict | None = None,
                 lr_schedule: Callable[[int], float] | None = None):
        if len(dataset) == 0:
            raise ValueError(f'{config.algorithm}: the training dataset is empty')
        self.info = current_info()
        self.config = config
        self.device = resolve_device(config.device, self.info)
        shards = self.info.world_size * config.grad_accum
        if config.batch_size % shards:
            raise ValueError(f'batch_size {config.batch_size} must be divisible by processes x grad_accum '
                             f'= {self.info.world_size} x {config.grad_accum}')
        self.micro_batch = config.batch_size // shards
        self.loss_module = loss_module.to(self.device)
        self.dataset = dataset
        self.models = dict(models or {})
        self.evaluate = evaluate
        self.extra = dict(extra or {})
        self.lr_schedule = lr_schedule
        self.out_dir = Path(config.out_dir)
        self.params = [p for p in loss_module.parameters() if p.requires_grad]
        self.param_names = {id(p): n for n, p in loss_module.named_parameters()}
        self.optimizer = torch.optim.AdamW(self.params, lr=config.lr, weight_decay=config.weight_decay)
        self.sampler = torch.Generator().manual_seed(config.seed + 7919)
        self.step = 0
        self.ddp = None
        if self.info.enabled:
            device_ids = [self.device.index] if self.device.type == 'cuda' else None
            self.ddp = DistributedDataParallel(loss_module, device_ids=device_ids,
                                               find_unused_parameters=config.ddp_find_unused)

    # checkpoints -------------------------------------------------------------------------------
    @property
    def checkpoint_dir(self) -> Path:
        return self.out_dir / CHECKPOINT_DIR

    def state(self) -> dict:
        return {
            'step': self.step,
            'algorithm': self.config.algorithm,
            'config': config_to_dict(self.config),
            'run': run_identity(self.config, self.dataset),
            'loss_module': self.loss_module.state_dict(),
            'optimizer': self.optimizer.state_dict(),
            'rng': _rng_state(self.sampler),
            'models': {name: {'build': build, 'state': module.state_dict()}
                       for name, (module, build) in self.models.items()},
            'extra': self.extra,
        }

    def save_checkpoint(self) -> Path | None:
        if not self.info.is_main:
            return None
        state = self.state()
        path = self.checkpoint_dir / f'step_{self.step:08d}.pt'
        save_atomic(state, path)
        save_atomic(state, self.checkpoint_dir / LATEST)
        return path

    def try_resume(self) -> bool:
        latest = self.checkpoint_dir / LATEST
        if not (self.config.resume and latest.is_file()):
            return False
        state = torch.load(latest, map_location='cpu', weights_only=False)
        if state.get('algorithm') != self.config.algorithm:
            raise ValueError(f'{latest} is a {state.get("algorithm")!r} checkpoint, not {self.config.algorithm!r}; '
                             f'use another out_dir or resume=false')
        # Resume only this run, interrupted: another run's checkpoint would silently replace the model passed in.
        saved, current = state.get('run'), run_identity(self.config, self.dataset)
        differs = [] if saved is None else sorted(   # None: written before runs were recorded
            k for k in saved.keys() | current.keys() if saved.get(k) != current.get(k))
        if differs:
            shown = ', '.join(f'{k}: {saved.get(k)!r} there, {current.get(k)!r} here' for k in differs[:4])
            raise ConfigError(f'{latest} belongs to another run ({shown}{", ..." if len(differs) > 4 else ""}); '
                             f'use another out_dir, or resume=false to start over')
        self.loss_module.load_state_dict(state['loss_module'])
        self.optimizer.load_state_dict(state['optimizer'])
        _set_rng_state(state['rng'], self.sampler)
        self.step = int(state['step'])
        if self.info.is_main:
            done = ' (already complete: nothing to train)' if self.step >= self.config.steps else ''
            print(f'{self.config.algorithm}: resuming {latest} at step {self.step} of {self.config.steps}{done}',
                  flush=True)
        return True

    # one step ----------------------------------------------------------------------------------
    def _check_gradients(self, loss_value: float) -> None:
        for p in self.params:
            if p.grad is not None and not torch.isfinite(p.grad).all():
                name = self.param_names.get(id(p), '?')
                raise NonFiniteGradientError(
                    f'{self.config.algorithm}: non-finite gradient at step {self.step + 1} in parameter {name!r} '
                    f'(loss {loss_value:.6g}); stopped before the optimiser step. Last checkpoint: '
                    f'{self.checkpoint_dir / LATEST}. Lower lr, enable grad_clip, or check the data for NaN/inf.')

    def train_step(self) -> dict[str, float]:
        cfg = self.config
        indices = torch.randint(len(self.dataset), (cfg.batch_size,), generator=self.sampler)
        per_rank = cfg.batch_size // self.info.world_size
        mine = indices[self.info.rank * per_rank:(self.info.rank + 1) * per_rank]
        model = self.ddp or self.loss_module
        self.optimizer.zero_grad(set_to_none=True)
        totals: dict[str, float] = {}
        loss_total = 0.0
        for k in range(cfg.grad_accum):
            micro = mine[k * self.micro_batch:(k + 1) * self.micro_batch].numpy()
            batch = to_device(self.dataset.batch(micro), self.device)
            last = k == cfg.grad_accum - 1
            sync = self.ddp.no_sync() if (self.ddp is not None and not last) else nullcontext()
            with sync:
                loss, metrics = model(batch)
                (loss / cfg.grad_accum).backward()
            loss_total += float(loss.detach()) / cfg.grad_accum
            for key, value in metrics.items():
                totals[key] = totals.get(key, 0.0) + float(value) / cfg.grad_accum
        self._check_gradients(loss_total)
        if cfg.grad_clip > 0:
            grad_norm = float(nn.utils.clip_grad_norm_(self.params, cfg.grad_clip))
        else:
            grad_norm = float(torch.norm(torch.stack([p.grad.norm() for p in self.params if p.grad is not None])))
        if self.lr_schedule is not None:
            for group in self.optimizer.param_groups:
                group['lr'] = cfg.lr * self.lr_schedule(self.step)
        self.optimizer.step()
        self.step += 1
        totals.update(loss=loss_total, grad_norm=grad_norm)
        if self.info.enabled:  # report the global-batch mean, the number a single process would print
            vec = torch.tensor([totals[k] for k in sorted(totals)], dtype=torch.float64)
            torch.distributed.all_reduce(vec)
            totals = dict(zip(sorted(totals), (vec / self.info.world_size).tolist()))
        return totals

    # the loop ----------------------------------------------------------------------------------
    def train(self) -> dict:
        cfg = self.config
        resumed = self.try_resume()
        start = self.step
        logger = MetricLogger(self.out_dir, enabled=self.info.is_main, resume_step=self.step,
                              use_wandb=cfg.wandb, config=config_to_dict(cfg))
        bar = tqdm(total=cfg.steps, initial=self.step, desc=cfg.algorithm, unit='step',
                   disable=not (cfg.progress and self.info.is_main), dynamic_ncols=True)
        t0 = time.perf_counter()
        history: list[float] = []
        try:
            while self.step < cfg.steps:
                self.loss_module.train()
                metrics = self.train_step()
                history.append(metrics['loss'])
                if self.step % cfg.log_every == 0 or self.step == cfg.steps:
                    logger.log(self.step, {f'train/{k}': v for k, v in metrics.items()})
                    bar.set_postfix(loss=f'{metrics["loss"]:.4g}')
                if self.evaluate is not None and self.info.is_main and (
                        self.step % cfg.eval_every == 0 or self.step == cfg.steps):
                    self.loss_module.eval()
                    with torch.no_grad():
                        logger.log(self.step, {f'val/{k}': v for k, v in self.evaluate(self.step).items()})
                if self.step % cfg.checkpoint_every == 0 or self.step == cfg.steps:
                    self.save_checkpoint()
                bar.update(1)
        finally:
            bar.close()
            logger.close()
        elapsed = time.perf_counter() - t0
        done = self.step - start
        summary = {
            'algorithm': cfg.algorithm, 'steps': self.step, 'resumed_from': start if resumed else None,
            'processes': self.info.world_size, 'elapsed_s': elapsed,
            'samples_per_s': done * cfg.batch_size / elapsed if elapsed > 0 and done else math.nan,
            'final_loss': history[-1] if history else math.nan, 'losses': history,
            'checkpoint': str(self.checkpoint_dir / LATEST), 'out_dir': str(self.out_dir),
            **{k: v for k, v in logger.last.items() if k.startswith('val/')},
        }
        return summary


def print_summary(summary: dict) -> None:
    """Final summary lines of a run (everything but the loss history)."""
    print(f'--- {summary.get("algorithm", "training")} summary ---')
    for key, value in summary.items():
        if key == 'losses':
            continue
        print(f'{key:>20}: {value:.6g}' if isinstance(value, float) else f'{key:>20}: {value}')
