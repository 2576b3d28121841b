# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""RL on a learned reward: the wrapper's reward is the model's, normalised; optimising it improves the task."""

from pathlib import Path

import numpy as np
import pytest
import torch

from rlhf_training.config import SACConfig
from rlhf_training.envs import PointReachEnv
from rlhf_training.models import PROPRIO_KEY, MLPRewardModel, RewardEnsemble, RewardModel
from rlhf_training.rl import LearnedRewardWrapper, RunningMeanStd, train_on_learned_reward
from rlhf_training.sac import ObservationFlattener, SACAgent, evaluate_agent


@pytest.fixture(autouse=True)
def _one_thread():
    torch.set_num_threads(1)


class LinearReward(RewardModel):
    """r(o, a) = w . [o, a], a reward with a known value for the wrapper test."""

    def __init__(self, weights):
        super().__init__()
        self.w = torch.nn.Parameter(torch.as_tensor(weights, dtype=torch.float32))

    def forward(self, obs, action):
        return torch.cat([obs[PROPRIO_KEY], action], dim=-1) @ self.w


def test_running_mean_std_matches_numpy():
    rng = np.random.default_rng(0)
    data = rng.normal(3.0, 2.0, size=1000)
    stats = RunningMeanStd(epsilon=0.0)
    for chunk in np.array_split(data, 37):
        stats.update(chunk)
    assert stats.mean == pytest.approx(data.mean(), rel=1e-9)
    assert stats.std == pytest.approx(data.std(), rel=1e-9)


def test_wrapper_replaces_reward_with_normalised_model_reward():
    model = LinearReward([1.0, -2.0, 0.5, 0.0, 3.0, 1.0])
    env = LearnedRewardWrapper(PointReachEnv(), model)
    obs, _ = env.reset(seed=0)
    rng = np.random.default_rng(0)
    raw = []
    for _ in range(20):
        action = rng.uniform(-1, 1, 2).astype(np.float32)
        expected = float(np.dot(model.w.detach().numpy(), np.concatenate([obs, action])))
        obs, reward, _, _, info = env.step(action)
        raw.append(expected)
        assert info['model_reward'] == pytest.approx(expected, abs=1e-5)
        assert info['env_reward'] == pytest.approx(-info['distance'])
        # Scale-only normalisation by the running std of everything seen so far (sign kept).
        if len(raw) >= 5:  # past the first steps, where the statistics' tiny prior still matters
            assert reward == pytest.approx(np.clip(expected / np.std(raw), -10, 10), rel=1e-3, abs=1e-4)
    ens = RewardEnsemble([LinearReward([1.0] * 6), LinearReward([3.0] * 6)])
    plain = LearnedRewardWrapper(PointReachEnv(), ens, normalize=False)
    obs, _ = plain.reset(seed=1)
    action = np.full(2, 0.5, dtype=np.float32)
    _, reward, _, _, _ = plain.step(action)
    assert reward == pytest.approx(2.0 * float(np.sum(obs) + 1.0), abs=1e-5)  # the ensemble mean
    with pytest.raises(RuntimeError, match='reset'):
        LearnedRewardWrapper(PointReachEnv(), ens).step(action)


def _fit_reward_model(seed=0, steps=600):
    """An MLPRewardModel regressed onto PointReachEnv's true reward r = -|g - p - 0.1 a|."""
    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    n = 4096
    p, g = rng.uniform(-1, 1, (n, 2)), rng.uniform(-1, 1, (n, 2))
    a = rng.uniform(-1, 1, (n, 2))
    obs = np.concatenate([p, g - p], axis=1).astype(np.float32)
    target = -np.linalg.norm(g - np.clip(p + 0.1 * a, -1, 1), axis=1).astype(np.float32)
    model = MLPRewardModel({PROPRIO_KEY: (4,)}, action_dim=2, hidden_dims=(64, 64))
    optim = torch.optim.Adam(model.parameters(), lr=3e-3)
    x, u, y = torch.from_numpy(obs), torch.from_numpy(a.astype(np.float32)), torch.from_numpy(target)
    for _ in range(steps):
        idx = torch.randint(0, n, (256,))
        loss = torch.nn.functional.mse_loss(model({PROPRIO_KEY: x[idx]}, u[idx]), y[idx])
        optim.zero_grad()
        loss.backward()
        optim.step()
    with torch.no_grad():
        err = torch.nn.functional.mse_loss(model({PROPRIO_KEY: x}, u), y).item()
    return model, err


def test_sac_on_learned_reward_improves_true_reward():
    model, err = _fit_reward_model()
    assert err < 0.01  # the learned reward matches the true one closely
    cfg = SACConfig(hidden_dims=(64, 64), batch_size=64, steps=3000, warmup_steps=300, eval_every=1000,
                    eval_episodes=10, utd_ratio=1, discount=0.9, buffer_size=5000, seed=2)
    torch.manual_seed(cfg.seed)
    env = PointReachEnv()
    baseline = evaluate_agent(SACAgent(4, 2, cfg), ObservationFlattener(env.observation_space), env, 10, seed=10_000)
    result = train_on_learned_reward(PointReachEnv(), model, cfg, progress=False)
    final = result.history[-1]  # evaluated on the true reward (the unwrapped env)
    assert final['eval_return'] > baseline['eval_return'] + 8.0, (baseline, result.history)
    assert final['eval_final_distance'] < 0.35, result.history


def test_train_cli_runs_rl_on_a_reward_checkpoint(tmp_path):
    """The pipeline path: a reward run's checkpoint (ensemble + contract) -> SAC in ManipulationEnv."""
    from rlhf_policy.contract import ActionSpec, ObservationSpec, PolicyContract
    from rlhf_training.checkpoint import reward_build_info
    from rlhf_training.config import RewardConfig
    from rlhf_training.datasets import SegmentPairDataset
    from rlhf_training.reward import train_reward
    from rlhf_training.runs import contract_to_yaml
    from rlhf_training.train import main

    joints = [f'panda_joint{i}' for i in range(1, 8)] + ['panda_finger_joint1', 'panda_finger_joint2']
    contract = PolicyContract(ObservationSpec(cameras=[], joint_names=joints), ActionSpec.for_panda())
    rng = np.random.default_rng(0)
    obs = {PROPRIO_KEY: rng.normal(size=(8, 5, 18)).astype(np.float32)}
    actions = rng.uniform(-1, 1, (8, 5, 8)).astype(np.float32)
    data = SegmentPairDataset.from_arrays({k: v[:4] for k, v in obs.items()}, actions[:4],
                                          {k: v[4:] for k, v in obs.items()}, actions[4:], np.ones(4))
    cfg = RewardConfig(steps=2, batch_size=4, ensemble_size=2, hidden_dims=[16], out_dir=str(tmp_path / 'reward'),
                       progress=False, resume=False, device='cpu')
    ensemble = RewardEnsemble.build(2, 'mlp', {PROPRIO_KEY: (18,)}, 8, hidden_dims=[16])
    train_reward(ensemble, data, cfg, build_info=reward_build_info(cfg, {PROPRIO_KEY: (18,)}),
                 extra={'contract_yaml': contract_to_yaml(contract)})
    config = tmp_path / 'rl.yaml'
    config.write_text((Path(__file__).resolve().parents[1] / 'config' / 'rl.yaml').read_text())
    out = tmp_path / 'rl'
    args = ['--config', str(config), f'reward_checkpoint={tmp_path / "reward"}', f'out_dir={out}',
            'max_episode_steps=20', 'steps=60', 'warmup_steps=30', 'batch_size=16', 'hidden_dims=[16]',
            'eval_every=0', 'eval_episodes=1', 'progress=false']
    assert main(args) == 0
    saved = torch.load(out / 'checkpoints' / 'latest.pt', weights_only=False)
    # The SAC state: joint positions, velocities and the privileged object/target positions.
    assert saved['extra']['obs_keys'] == ['joint_positions', 'joint_velocities', 'object_positions',
                                          'target_position']
    history = saved['extra']['history']
    assert history[-1]['step'] == 60 and np.isfinite(history[-1]['eval_return'])
    assert main(['--config', str(config), f'out_dir={out}']) == 2  # no reward_checkpoint: a clear error
