# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""Bradley-Terry reward learning from preference pairs, with an ensemble.

P(sigma_a > sigma_b) = sigmoid(R(sigma_a) - R(sigma_b)), R = sum of per-step rewards over the segment. The label
is the probability that a is preferred (1, 0, or 0.5 for "equally good"), so ties are soft labels of the same
binary cross-entropy. Every ensemble member is trained on the same batches from its own initialisation; the loss
is the sum of the members' losses (each member's gradient is independent of the ensemble size).
"""

from collections.abc import Callable

import numpy as np
import torch
from torch import nn
import torch.nn.functional as F

from rlhf_training.config import RewardConfig
from rlhf_training.datasets import SegmentPairDataset
from rlhf_training.models import RewardEnsemble
from rlhf_training.trainer import Trainer, to_device


def member_logits(ensemble: RewardEnsemble, batch: dict) -> torch.Tensor:
    """(N, B) Bradley-Terry logits R_n(a) - R_n(b) of every member."""
    return (ensemble.member_segment_returns(batch['obs_a'], batch['actions_a'], batch['mask_a'])
            - ensemble.member_segment_returns(batch['obs_b'], batch['actions_b'], batch['mask_b']))


def bradley_terry_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Binary cross-entropy of sigmoid(logits) against soft labels (mean over pairs; stable with logits)."""
    return F.binary_cross_entropy_with_logits(logits, labels.expand_as(logits), reduction='none').mean(-1)


class BradleyTerryLoss(nn.Module):
    def __init__(self, ensemble: RewardEnsemble):
        super().__init__()
        self.ensemble = ensemble

    def forward(self, batch):
        logits = member_logits(self.ensemble, batch)
        loss = bradley_terry_loss(logits, batch['labels']).sum()
        decided = batch['labels'] != 0.5
        agree = ((logits.mean(0) > 0) == (batch['labels'] > 0.5)).float()
        acc = agree[decided].mean() if decided.any() else torch.tensor(float('nan'))
        return loss, {'accuracy': acc.detach(), 'logit_std': logits.std(0, unbiased=False).mean().detach()}


@torch.no_grad()
def preference_accuracy(ensemble: RewardEnsemble, dataset: SegmentPairDataset, batch_size: int = 64) -> dict:
    """Agreement of the ensemble mean (sign of R(a) - R(b)) with the labels on pairs that are not ties.

    Returns accuracy, pairs (decided pairs counted), ties, loss (mean BT loss incl. ties), and
    member_accuracy_min (the worst single member).
    """
    was_training = ensemble.training
    ensemble.eval()
    device = next(ensemble.parameters()).device
    agree = members_agree = total = ties = 0
    loss_sum = 0.0
    for start in range(0, len(dataset), batch_size):
        batch = to_device(dataset.batch(np.arange(start, min(start + batch_size, len(dataset)))), device)
        logits = member_logits(ensemble, batch)
        labels = batch['labels']
        loss_sum += float(F.binary_cross_entropy_with_logits(logits.mean(0), labels, reduction='sum'))
        decided = labels != 0.5
        ties += int((~decided).sum())
        total += int(decided.sum())
        truth = labels[decided] > 0.5
        agree += int(((logits.mean(0)[decided] > 0) == truth).sum())
        members_agree = members_agree + ((logits[:, decided] > 0) == truth).sum(1)
    ensemble.train(was_training)
    member_min = float((members_agree / max(total, 1)).min()) if total else float('nan')
    return {'accuracy': agree / total if total else float('nan'), 'pairs': total, 'ties': ties,
            'loss': loss_sum / max(len(dataset), 1), 'member_accuracy_min': member_min}


def train_reward(ensemble: RewardEnsemble, dataset: SegmentPairDataset, config: RewardConfig | None = None,
                 val_dataset: SegmentPairDataset | None = None, build_info: dict | None = None,
                 extra: dict | None = None) -> dict:
    """Bradley-Terry training on arrays; the summary holds val/accuracy when val_dataset is given."""
    config = config or RewardConfig()
    models = {'reward': (ensemble, build_info)} if build_info is not None else None
    evaluate = None
    if val_dataset is not None and len(val_dataset):
        def evaluate(step):
            return preference_accuracy(ensemble, val_dataset)
    trainer = Trainer(BradleyTerryLoss(ensemble), dataset, config, models=models, evaluate=evaluate, extra=extra)
    summary = trainer.train()
    if val_dataset is not None and len(val_dataset) and trainer.info.is_main:
        summary.update({f'heldout_{k}': v for k, v in preference_accuracy(ensemble, val_dataset).items()})
    return summary


def disagreement_scorer(ensemble: RewardEnsemble, load_segment: Callable) -> Callable:
    """A `scorer(segment_a, segment_b) -> float` for rlhf_preference.pairs.select_pairs(strategy='disagreement').

    load_segment(segment) -> (obs {key: (T, ...)} arrays/tensors, actions (T, A)); rlhf_training.data.SegmentLoader
    does this for rlhf_preference Segments. The score is the std over members of R(a) - R(b).
    """
    device = next(ensemble.parameters()).device

    def as_batch(segment):
        obs, actions = load_segment(segment)
        obs = {k: torch.as_tensor(np.asarray(v), dtype=torch.float32, device=device)[None] for k, v in obs.items()}
        return obs, torch.as_tensor(np.asarray(actions), dtype=torch.float32, device=device)[None]

    def scorer(segment_a, segment_b) -> float:
        obs_a, act_a = as_batch(segment_a)
        obs_b, act_b = as_batch(segment_b)
        return float(ensemble.disagreement(obs_a, act_a, obs_b, act_b)[0])

    return scorer


def run(config: RewardConfig) -> dict:
    """Bradley-Terry ensemble from a preference export: pairs, contract, training, held-out accuracy."""
    from rlhf_training.checkpoint import build_model, reward_build_info
    from rlhf_training.data import load_preference_pairs
    from rlhf_training.distributed import current_info
    from rlhf_training.models import observation_shapes
    from rlhf_training.runs import contract_to_yaml
    from rlhf_training.trainer import seed_everything

    seed_everything(config.seed)
    train, val, contract = load_preference_pairs(config, progress=config.progress and current_info().is_main)
    build = reward_build_info(config, observation_shapes(contract.observation), train.action_dim)
    seed_everything(config.seed)
    ensemble = build_model(build)
    summary = train_reward(ensemble, train, config, val_dataset=val, build_info=build,
                           extra={'contract_yaml': contract_to_yaml(contract)})
    summary.update(train_pairs=len(train), val_pairs=len(val))
    return summary
