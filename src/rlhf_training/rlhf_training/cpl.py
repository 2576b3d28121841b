# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""Contrastive Preference Learning: fine-tune a policy directly from preference pairs (no reward model).

Per segment the "advantage" is A = alpha * sum_t gamma^t log pi(a_t | s_t). For a preferred segment + and a less
preferred one -, the loss is -log sigmoid(A+ - lam * A-): lam = 1 is plain CPL (the softmax over the two
segments); lam < 1 is the biased variant that weighs down the rejected segment. Soft labels p (1 = a preferred,
0.5 = tie) mix the two directions: p * l(a over b) + (1 - p) * l(b over a).

With ``relative_to_pretrained`` the advantage uses log pi - log pi_pretrained instead: 0 for every segment at the
start. With lam < 1 the plain advantage carries (1 - lam) * alpha * sum log pi, which a narrow spread makes large
enough to satisfy every pair before anything is learnt.

A conservative term keeps the policy near the pretrained one: conservative_weight * MSE between the deterministic
actions tanh(mean) of the policy and of a frozen copy of the pretrained policy on the same observations.

Where the gain lands. The robot runs the deterministic action tanh(mean), but a tanh-Gaussian log-likelihood can
also rank segments by changing the spread: narrowing it raises log pi of every segment near the mean, widening it
lowers the penalty of far ones. Two settings leave CPL only the action to change:
- ``likelihood: squared_error``: log pi(a|s) = -||tanh(mean(s)) - a||^2, the CPL paper's formulation for a
  deterministic policy (a Gaussian at a fixed scale);
- ``spread: pretrained`` (with ``likelihood: tanh_gaussian``): the pretrained policy's spread, frozen, instead of
  the policy's own.
``bc_weight`` adds CPL-BC's term: the negative log-likelihood of the preferred segment, per step.

Action-chunk policies (``ChunkPolicy``, deterministic) use the squared error of the chunk: log pi(c_t | s_t) =
-||chunk(s_t) - c_t||^2 / horizon in the policy's standardised units, c_t the chunk targets of the recorded
commands (``data.episode_arrays`` of a chunk contract).
"""

import copy

import numpy as np
import torch
from torch import nn
import torch.nn.functional as F

from rlhf_training.config import CPL_LIKELIHOODS as LIKELIHOODS
from rlhf_training.config import CPL_SPREADS as SPREADS
from rlhf_training.config import ConfigError, CPLConfig
from rlhf_training.datasets import SegmentPairDataset
from rlhf_training.models import GaussianPolicy, flatten_time
from rlhf_training.models.chunk_policy import ChunkPolicy
from rlhf_training.trainer import Trainer, to_device


def policy_output(policy, flat_obs):
    """(mean, log_std) of a GaussianPolicy; (standardised chunk, None) of a ChunkPolicy."""
    return (policy.normalised(flat_obs), None) if isinstance(policy, ChunkPolicy) else policy(flat_obs)


def executed_action(policy, output) -> torch.Tensor:
    """What the robot runs, from ``policy_output``: tanh(mean), or the chunk (standardised)."""
    return output[0] if isinstance(policy, ChunkPolicy) else torch.tanh(output[0])


def discounted_log_likelihood(policy: GaussianPolicy, obs, actions, mask, gamma: float = 1.0,
                              forward=None, likelihood: str = 'tanh_gaussian') -> torch.Tensor:
    """sum_t gamma^t log pi(a_t|s_t) over valid steps, (B,). obs {key: (B, T, ...)}, actions (B, T, A).

    ``forward``: ``policy_output`` already computed on the flattened observations; ``likelihood``: see LIKELIHOODS
    (a ChunkPolicy has only the squared error of its chunk).
    """
    b, t = mask.shape
    mean, log_std = forward if forward is not None else policy_output(policy, flatten_time(obs)[0])
    flat_actions = actions.reshape(b * t, -1)
    if isinstance(policy, ChunkPolicy):
        target = (flat_actions.reshape(mean.shape) - policy.action_mean) / policy.action_std
        logp = -(mean - target).pow(2).sum((-2, -1)).reshape(b, t) / policy.horizon
    elif likelihood == 'squared_error':
        logp = -(torch.tanh(mean) - flat_actions).pow(2).sum(-1).reshape(b, t)
    elif likelihood == 'tanh_gaussian':
        logp = GaussianPolicy.squashed_log_prob(mean, log_std, flat_actions).reshape(b, t)
    else:
        raise ValueError(f'likelihood must be one of {LIKELIHOODS}, got {likelihood!r}')
    discount = gamma ** torch.arange(t, device=logp.device, dtype=logp.dtype)
    return (logp * discount * mask).sum(-1)


def cpl_loss(adv_a: torch.Tensor, adv_b: torch.Tensor, labels: torch.Tensor, lam: float = 1.0) -> torch.Tensor:
    """Per-pair CPL loss with soft labels: p * -logsig(A_a - lam A_b) + (1-p) * -logsig(A_b - lam A_a)."""
    return -(labels * F.logsigmoid(adv_a - lam * adv_b) + (1.0 - labels) * F.logsigmoid(adv_b - lam * adv_a))


class CPLLoss(nn.Module):
    def __init__(self, policy: GaussianPolicy, reference: GaussianPolicy | None = None, alpha: float = 0.1,
                 gamma: float = 1.0, lam: float = 0.5, conservative_weight: float = 0.01,
                 relative_to_pretrained: bool = False, likelihood: str = 'tanh_gaussian',
                 spread: str = 'learned', bc_weight: float = 0.0):
        super().__init__()
        if likelihood not in LIKELIHOODS:
            raise ValueError(f'likelihood must be one of {LIKELIHOODS}, got {likelihood!r}')
        if spread not in SPREADS:
            raise ValueError(f'spread must be one of {SPREADS}, got {spread!r}')
        if isinstance(policy, ChunkPolicy) and likelihood != 'squared_error':
            raise ValueError(f'likelihood: {likelihood!r} needs a spread; an action-chunk policy is deterministic '
                             f'(likelihood: squared_error)')
        self.policy = policy
        # Frozen copy of the pretrained policy (defaults to the policy as it is now).
        self.reference = copy.deepcopy(reference if reference is not None else policy).requires_grad_(False).eval()
        self.alpha, self.gamma, self.lam, self.conservative_weight = alpha, gamma, lam, conservative_weight
        self.relative_to_pretrained, self.likelihood, self.bc_weight = relative_to_pretrained, likelihood, bc_weight
        self.frozen_spread = spread == 'pretrained' and likelihood == 'tanh_gaussian'
        # The reference's forward pass only when something uses it.
        self.uses_reference = relative_to_pretrained or conservative_weight > 0 or self.frozen_spread

    def train(self, mode: bool = True):
        super().train(mode)
        self.reference.eval()  # never dropout in the reference
        return self

    def _segments(self, obs, actions, mask):
        """(advantage (B,), per-step log-likelihood (B,) or None, summed squared action change, valid steps)."""
        flat, _ = flatten_time(obs)
        mean, log_std = policy_output(self.policy, flat)
        sq = torch.zeros((), device=mean.device)
        ref_ll = 0.0
        if self.uses_reference:
            with torch.no_grad():
                ref = policy_output(self.reference, flat)
            if self.frozen_spread:
                log_std = ref[1]
            if self.relative_to_pretrained:
                ref_ll = discounted_log_likelihood(self.reference, obs, actions, mask, self.gamma, ref,
                                                   self.likelihood)
            if self.conservative_weight > 0:
                change = executed_action(self.policy, (mean, log_std)) - executed_action(self.reference, ref)
                sq = (change.pow(2).reshape(mask.numel(), -1).mean(-1) * mask.reshape(-1)).sum()
        ll = discounted_log_likelihood(self.policy, obs, actions, mask, self.gamma, (mean, log_std), self.likelihood)
        per_step = None
        if self.bc_weight > 0:   # CPL-BC's imitation term: undiscounted, per step
            total = ll if self.gamma == 1.0 else discounted_log_likelihood(
                self.policy, obs, actions, mask, 1.0, (mean, log_std), self.likelihood)
            per_step = total / mask.sum(-1).clamp_min(1.0)
        return self.alpha * (ll - ref_ll), per_step, sq, mask.sum()

    def forward(self, batch):
        labels = batch['labels']
        n = len(labels)
        # Both segments of every pair in one forward pass (the pool pads them to the same length).
        obs = {k: torch.cat([batch['obs_a'][k], batch['obs_b'][k]]) for k in batch['obs_a']}
        adv, per_step, sq, valid = self._segments(obs, torch.cat([batch['actions_a'], batch['actions_b']]),
                                                  torch.cat([batch['mask_a'], batch['mask_b']]))
        adv_a, adv_b = adv[:n], adv[n:]
        pref = cpl_loss(adv_a, adv_b, labels, self.lam).mean()
        conservative = sq / valid.clamp_min(1.0)
        loss = pref + self.conservative_weight * conservative
        metrics = {'preference_loss': pref.detach(), 'conservative_mse': conservative.detach()}
        if per_step is not None:   # CPL-BC: imitate the preferred segment (soft labels share the weight)
            bc = -(labels * per_step[:n] + (1.0 - labels) * per_step[n:]).mean()
            loss = loss + self.bc_weight * bc
            metrics['bc_loss'] = bc.detach()
        decided = labels != 0.5
        agree = ((adv_a > adv_b) == (labels > 0.5)).float()
        metrics['accuracy'] = (agree[decided].mean() if decided.any() else torch.tensor(float('nan'))).detach()
        metrics['advantage_gap'] = (adv_a - adv_b).abs().mean().detach()
        return loss, metrics


@torch.no_grad()
def policy_preference_accuracy(policy: GaussianPolicy, dataset: SegmentPairDataset, gamma: float = 1.0,
                               batch_size: int = 32, likelihood: str = 'tanh_gaussian') -> dict:
    """Fraction of non-tie pairs where the policy's segment log-likelihood ranks the segments like the labels.

    ``likelihood: squared_error`` ranks by the distance of the deterministic action (what the robot runs) to each
    segment's actions: the agreement that a change of spread cannot buy.
    """
    was_training = policy.training
    policy.eval()
    device = next(policy.parameters()).device
    agree = total = 0
    for start in range(0, len(dataset), batch_size):
        batch = to_device(dataset.batch(np.arange(start, min(start + batch_size, len(dataset)))), device)
        ll_a, ll_b = (discounted_log_likelihood(policy, batch[f'obs_{s}'], batch[f'actions_{s}'], batch[f'mask_{s}'],
                                                gamma, likelihood=likelihood) for s in 'ab')
        decided = batch['labels'] != 0.5
        total += int(decided.sum())
        agree += int(((ll_a > ll_b) == (batch['labels'] > 0.5))[decided].sum())
    policy.train(was_training)
    return {'accuracy': agree / total if total else float('nan'), 'pairs': total}


def train_cpl(policy: GaussianPolicy, dataset: SegmentPairDataset, config: CPLConfig | None = None,
              reference: GaussianPolicy | None = None, val_dataset: SegmentPairDataset | None = None,
              build_info: dict | None = None, extra: dict | None = None) -> dict:
    """CPL fine-tuning of `policy` (in place) on preference pairs; `reference` = frozen pretrained policy."""
    config = config or CPLConfig()
    loss = CPLLoss(policy, reference, alpha=config.alpha, gamma=config.gamma, lam=config.lam,
                   conservative_weight=config.conservative_weight,
                   relative_to_pretrained=config.relative_to_pretrained, likelihood=config.likelihood,
                   spread=config.spread, bc_weight=config.bc_weight)
    models = {'policy': (policy, build_info)} if build_info is not None else None
    evaluate = None
    if val_dataset is not None and len(val_dataset):
        def evaluate(step):
            return {'accuracy': policy_preference_accuracy(policy, val_dataset, config.gamma)['accuracy'],
                    'action_accuracy': policy_preference_accuracy(policy, val_dataset, config.gamma,
                                                                  likelihood='squared_error')['accuracy']}
    return Trainer(loss, dataset, config, models=models, evaluate=evaluate, extra=extra).train()


def run(config: CPLConfig) -> dict:
    """CPL fine-tuning from a preference export, starting from config.pretrained (a BC/SAC checkpoint).

    With a pretrained checkpoint, its architecture and its contract (normalisation) are kept; the config's
    network sizes apply only when training from scratch.
    """
    from rlhf_training.checkpoint import build_model, load_model, policy_build_info
    from rlhf_training.data import DataError, load_preference_pairs
    from rlhf_training.distributed import current_info
    from rlhf_training.models import observation_shapes
    from rlhf_training.runs import contract_from_yaml, contract_to_yaml, export_if_main
    from rlhf_training.trainer import load_checkpoint, seed_everything

    seed_everything(config.seed)
    contract = None
    if config.pretrained:
        state = load_checkpoint(config.pretrained)
        if 'policy' not in state.get('models', {}) or not state.get('extra', {}).get('contract_yaml'):
            raise ValueError(f'pretrained: {config.pretrained} holds no policy with a contract '
                             f'(models: {sorted(state.get("models", {}))})')
        contract = contract_from_yaml(state['extra']['contract_yaml'])
        policy = load_model(state, 'policy')
        build = state['models']['policy']['build']
        if contract.chunk is not None:   # fail before reading any segment
            if config.likelihood != 'squared_error':
                raise ConfigError(f'likelihood: {config.likelihood!r}: {config.pretrained} is an action-chunk '
                                  f'policy (deterministic); set likelihood=squared_error')
            if config.rate_hz != config.control_hz:
                raise DataError(f'rate_hz={config.rate_hz}: the chunks of {config.pretrained} are one per control '
                                f'tick, so rate_hz must equal control_hz={config.control_hz}')
    progress = config.progress and current_info().is_main
    train, val, contract = load_preference_pairs(config, contract=contract, progress=progress)
    if not config.pretrained:
        build = policy_build_info(config, observation_shapes(contract.observation), train.action_dim)
        seed_everything(config.seed)
        policy = build_model(build)
    reference = copy.deepcopy(policy)
    summary = train_cpl(policy, train, config, reference=reference, val_dataset=val, build_info=build,
                        extra={'contract_yaml': contract_to_yaml(contract), 'pretrained': config.pretrained})
    summary.update(train_pairs=len(train), val_pairs=len(val))
    return export_if_main(policy, contract, config, summary)
