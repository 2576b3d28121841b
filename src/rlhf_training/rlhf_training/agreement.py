# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""Agreement with held-out preferences: how often a policy or a reward model ranks two segments as people did.

A policy ranks by its segment log-likelihood sum_t gamma^t log pi(a_t|s_t), a reward model by its segment return
sum_t r_hat(s_t, a_t). Task success, completion time and smoothness come from rollouts: ``rlhf_policy.sim_rollout``
(offline, ``GaussianPolicy.runner()`` for a policy being trained) or the ``evaluate`` graph.
"""


def preference_alignment(dataset, policy=None, reward_model=None, gamma=1.0):
    """Agreement with the human labels on held-out pairs (ties, label 0.5, are left out).

    ``dataset`` is a ``SegmentPairDataset``; returns {'policy': {...}, 'reward_model': {...}} for the models given,
    each with 'accuracy' and 'pairs'.
    """
    from rlhf_training.cpl import policy_preference_accuracy
    from rlhf_training.models import RewardEnsemble
    from rlhf_training.reward import preference_accuracy

    out = {}
    if policy is not None:
        out['policy'] = policy_preference_accuracy(policy, dataset, gamma=gamma)
    if reward_model is not None:
        ensemble = reward_model if isinstance(reward_model, RewardEnsemble) else RewardEnsemble([reward_model])
        stats = preference_accuracy(ensemble, dataset)
        out['reward_model'] = {'accuracy': float(stats['accuracy']), 'pairs': int(stats.get('pairs', len(dataset)))}
    return out
