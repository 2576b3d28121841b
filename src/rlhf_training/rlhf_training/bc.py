# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""Behaviour cloning: fit the Gaussian policy to demonstrated (observation, action) pairs.

Two losses (config `loss`): 'nll' = -log pi(a|o) of the tanh-squashed Gaussian (the likelihood CPL and SAC use
later, and it also fits the action spread); 'mse' = mean squared error between tanh(mean) and the action (fits
only the mean). After MSE training the spread is calibrated (`calibrate_spread`): set per action dimension to
the RMS of the residuals, so that the log-likelihoods CPL and SAC use later weigh each joint by how precisely
the demonstrations determine it, not by an arbitrary initialisation.
"""

import numpy as np
import torch
from torch import nn

from rlhf_training.config import BCConfig
from rlhf_training.datasets import TransitionDataset
from rlhf_training.models import ACTION_EPS, GaussianPolicy
from rlhf_training.trainer import Trainer

LOSSES = ('nll', 'mse')


class BCLoss(nn.Module):
    def __init__(self, policy: GaussianPolicy, loss: str = 'nll'):
        super().__init__()
        if loss not in LOSSES:
            raise ValueError(f'bc loss must be one of {LOSSES}, got {loss!r}')
        self.policy = policy
        self.loss = loss

    def forward(self, batch):
        mean, log_std = self.policy(batch['obs'])
        actions = batch['actions']
        mse = (torch.tanh(mean) - actions).pow(2).mean()
        nll = -GaussianPolicy.squashed_log_prob(mean, log_std, actions).mean()
        loss = nll if self.loss == 'nll' else mse
        return loss, {'mse': mse.detach(), 'nll': nll.detach(), 'std': log_std.exp().mean().detach()}


@torch.no_grad()
def evaluate_bc(policy: GaussianPolicy, dataset: TransitionDataset, max_rows: int = 4096,
                batch_size: int = 512) -> dict:
    """Mean squared action error of tanh(mean) and the mean NLL on (up to max_rows of) a dataset."""
    was_training = policy.training
    policy.eval()
    device = next(policy.parameters()).device
    rows = np.arange(min(len(dataset), max_rows))
    sse = nll = 0.0
    for start in range(0, len(rows), batch_size):
        batch = dataset.batch(rows[start:start + batch_size])
        obs = {k: v.to(device) for k, v in batch['obs'].items()}
        actions = batch['actions'].to(device)
        mean, log_std = policy(obs)
        sse += float((torch.tanh(mean) - actions).pow(2).mean(-1).sum())
        nll += float(-GaussianPolicy.squashed_log_prob(mean, log_std, actions).sum())
    policy.train(was_training)
    return {'mse': sse / max(len(rows), 1), 'nll': nll / max(len(rows), 1)}


@torch.no_grad()
def calibrate_spread(policy: GaussianPolicy, dataset: TransitionDataset, max_rows: int = 20000,
                     batch_size: int = 1024) -> list[float]:
    """Set the policy's spread to the per-dimension RMS of its pre-tanh residuals on (up to max_rows of) dataset.

    The spread becomes state-independent; the mean is untouched. Returns the spread per action dimension.
    """
    was_training = policy.training
    policy.eval()
    device = next(policy.parameters()).device
    rows = np.arange(min(len(dataset), max_rows))
    sq = torch.zeros(policy.action_dim, dtype=torch.float64)
    for start in range(0, len(rows), batch_size):
        batch = dataset.batch(rows[start:start + batch_size])
        mean, _ = policy({k: v.to(device) for k, v in batch['obs'].items()})
        target = torch.atanh(batch['actions'].to(device).clamp(-1.0 + ACTION_EPS, 1.0 - ACTION_EPS))
        sq += (target - mean).pow(2).sum(0).double().cpu()
    std = (sq / max(len(rows), 1)).sqrt().float()
    policy.set_constant_spread(std)
    policy.train(was_training)
    return std.tolist()


def train_bc(policy: GaussianPolicy, dataset: TransitionDataset, config: BCConfig | None = None,
             val_dataset: TransitionDataset | None = None, build_info: dict | None = None,
             extra: dict | None = None) -> dict:
    """Behaviour cloning on arrays; returns the run summary (losses, val/mse, samples_per_s, checkpoint)."""
    config = config or BCConfig()
    models = {'policy': (policy, build_info)} if build_info is not None else None
    evaluate = (lambda step: evaluate_bc(policy, val_dataset)) if val_dataset is not None and len(val_dataset) else None
    trainer = Trainer(BCLoss(policy, config.loss), dataset, config, models=models, evaluate=evaluate, extra=extra)
    summary = trainer.train()
    if config.loss == 'mse':
        summary['spread'] = calibrate_spread(policy, dataset)
        trainer.save_checkpoint()   # the final checkpoint holds the calibrated policy
    return summary


def run(config: BCConfig) -> dict:
    """BC from recorded episodes (config.data_dir / episodes): dataset, contract, training, ONNX export."""
    from rlhf_training.checkpoint import build_model, policy_build_info
    from rlhf_training.data import load_transitions
    from rlhf_training.distributed import current_info
    from rlhf_training.models import observation_shapes
    from rlhf_training.runs import contract_to_yaml, export_if_main
    from rlhf_training.trainer import seed_everything

    seed_everything(config.seed)
    train, val, contract = load_transitions(config, progress=config.progress and current_info().is_main)
    build = policy_build_info(config, observation_shapes(contract.observation), train.action_dim)
    seed_everything(config.seed)
    policy = build_model(build)
    summary = train_bc(policy, train, config, val_dataset=val, build_info=build,
                       extra={'contract_yaml': contract_to_yaml(contract)})
    summary.update(train_frames=len(train), val_frames=len(val) if val is not None else 0)
    return export_if_main(policy, contract, config, summary)
