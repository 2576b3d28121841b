# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""Agreement with held-out preferences, for reward models and policies whose ranking is known."""

import numpy as np
import pytest
import torch

from rlhf_training.agreement import preference_alignment
from rlhf_training.datasets import SegmentPairDataset
from rlhf_training.models import PROPRIO_KEY, GaussianPolicy, RewardModel


class FirstActionReward(RewardModel):
    """r(o, a) = sign * a_0: a reward model whose preference ranking is known."""

    def __init__(self, sign):
        super().__init__()
        self.sign = sign
        self.dummy = torch.nn.Parameter(torch.zeros(1))

    def forward(self, obs, action):
        return self.sign * action[:, 0] + 0.0 * self.dummy


def test_preference_alignment():
    rng = np.random.default_rng(0)
    m, t = 40, 6
    obs_a = {PROPRIO_KEY: rng.normal(size=(m, t, 18)).astype(np.float32)}
    obs_b = {PROPRIO_KEY: rng.normal(size=(m, t, 18)).astype(np.float32)}
    act_a = rng.uniform(-0.9, 0.9, (m, t, 8)).astype(np.float32)
    act_b = rng.uniform(-0.9, 0.9, (m, t, 8)).astype(np.float32)
    labels = (act_a[:, :, 0].sum(1) > act_b[:, :, 0].sum(1)).astype(np.float32)
    labels[:4] = 0.5  # ties are left out
    data = SegmentPairDataset.from_arrays(obs_a, act_a, obs_b, act_b, labels)
    good = preference_alignment(data, reward_model=FirstActionReward(1.0))['reward_model']
    bad = preference_alignment(data, reward_model=FirstActionReward(-1.0))['reward_model']
    assert (good['accuracy'], bad['accuracy'], good['pairs']) == (1.0, 0.0, 36)
    # A policy's agreement on the labels and on the flipped labels adds up to one.
    torch.manual_seed(0)
    policy = GaussianPolicy({PROPRIO_KEY: (18,)}, 8, hidden_dims=(16,))
    flipped = SegmentPairDataset.from_arrays(obs_a, act_a, obs_b, act_b, np.where(labels == 0.5, 0.5, 1 - labels))
    p = preference_alignment(data, policy=policy)['policy']
    q = preference_alignment(flipped, policy=policy)['policy']
    assert p['pairs'] == q['pairs'] == 36 and p['accuracy'] + q['accuracy'] == pytest.approx(1.0)
