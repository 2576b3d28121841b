# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""Offline evaluation: known metric values, torch and ONNX rollouts agree, videos, alignment, the CLI."""

import json

import av
import numpy as np
import pytest
import torch

from rlhf_policy.contract import ActionSpec, ObservationSpec, PolicyContract
from rlhf_training.datasets import SegmentPairDataset
from rlhf_training.evaluate import (
    OnnxPolicyRunner,
    TorchPolicyRunner,
    evaluate_policy,
    main,
    mean_action_change,
    preference_alignment,
    squared_jerk,
)
from rlhf_training.export import export_policy
from rlhf_training.models import PROPRIO_KEY, GaussianPolicy, RewardModel

JOINTS = [f'panda_joint{i}' for i in range(1, 8)] + ['panda_finger_joint1', 'panda_finger_joint2']


@pytest.fixture(autouse=True)
def _one_thread():
    torch.set_num_threads(1)


@pytest.fixture(scope='module')
def policy_and_contract(tmp_path_factory):
    """A small state-only policy, its contract and its ONNX export (rlhf_training.export, self-checked)."""
    torch.manual_seed(0)
    contract = PolicyContract(ObservationSpec(cameras=[], joint_names=JOINTS), ActionSpec.for_panda(0.05),
                              rate_hz=30.0)
    policy = GaussianPolicy(contract.observation, 8, hidden_dims=(32, 32)).eval()
    folder = tmp_path_factory.mktemp('policy')
    export_policy(policy, contract, folder)
    return policy, PolicyContract.load(folder / 'contract.yaml'), folder


def test_squared_jerk_and_action_change_known_values():
    t = np.arange(10) * 0.1
    q = np.stack([t ** 3, 2 * t ** 3], axis=1)  # jerk 6 and 12 everywhere
    assert squared_jerk(q, 0.1) == pytest.approx((36 + 144) / 2)
    assert squared_jerk(np.outer(t, [1.0, -2.0]), 0.1) == pytest.approx(0.0, abs=1e-9)  # constant velocity
    assert np.isnan(squared_jerk(q[:3], 0.1))
    assert mean_action_change([[0, 0], [1, -1], [1, 1]]) == pytest.approx(1.0)


def test_torch_and_onnx_rollouts_agree(policy_and_contract, tmp_path):
    policy, contract, folder = policy_and_contract
    kwargs = {'task': 'pick_place', 'episodes': 2, 'seed': 7, 'max_steps': 15, 'progress': False}
    by_torch = evaluate_policy(TorchPolicyRunner(policy), contract, **kwargs)
    by_onnx = evaluate_policy(OnnxPolicyRunner(folder / 'policy.onnx', contract), contract,
                              video_dir=tmp_path, video_episodes=1, **kwargs)
    assert [e.seed for e in by_torch.episodes] == [7, 8]
    for a, b in zip(by_torch.episodes, by_onnx.episodes):
        assert a.steps == b.steps == 15
        assert a.squared_jerk == pytest.approx(b.squared_jerk, rel=1e-3)
        assert a.action_change == pytest.approx(b.action_change, rel=1e-3, abs=1e-6)
        assert np.isfinite(a.squared_jerk) and a.action_change >= 0
    summary = by_onnx.summary()
    assert summary['episodes'] == 2 and 0.0 <= summary['success_rate'] <= 1.0
    # The video of the first episode decodes to one frame per control tick plus the final state.
    assert by_onnx.episodes[0].video and not by_onnx.episodes[1].video
    with av.open(by_onnx.episodes[0].video) as container:
        frames = [f.to_ndarray(format='rgb24') for f in container.decode(video=0)]
    assert len(frames) == 16 and frames[0].shape == (240, 320, 3)
    assert frames[0].std() > 5  # a rendered scene, not a blank image


def test_onnx_runner_rejects_mismatched_inputs(policy_and_contract, tmp_path):
    _, contract, folder = policy_and_contract
    other = PolicyContract(contract.observation, contract.action, onnx_inputs=[PROPRIO_KEY], onnx_output='action')
    other.onnx_inputs = ['scene_camera', PROPRIO_KEY]
    with pytest.raises(ValueError, match='do not match the contract'):
        OnnxPolicyRunner(folder / 'policy.onnx', other)
    with pytest.raises(FileNotFoundError, match='missing.onnx'):
        OnnxPolicyRunner(tmp_path / 'missing.onnx', contract)


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


def test_evaluate_offline_cli(policy_and_contract, tmp_path, capsys):
    _, _, folder = policy_and_contract
    out = tmp_path / 'results.json'
    assert main(['--contract', str(folder / 'contract.yaml'), '--episodes', '2', '--max-steps', '8',
                 '--seed', '3', '--out', str(out), '--no-progress']) == 0
    text = capsys.readouterr().out
    assert 'success rate' in text and 'mean squared jerk' in text
    results = json.loads(out.read_text())
    assert results['summary']['episodes'] == 2 and results['summary']['seeds'] == [3, 4]
    assert [e['steps'] for e in results['episodes']] == [8, 8]
    assert main(['--contract', str(tmp_path / 'nope.yaml')]) == 2
    assert 'nope.yaml' in capsys.readouterr().err
