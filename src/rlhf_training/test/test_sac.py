# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""SAC (DroQ): the pieces behave as specified and the agent learns a small task with a known answer."""

from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
import torch

from rlhf_training.config import ConfigError
from rlhf_training.rl import PointReachEnv
from rlhf_training.sac import (
    SAC_RUN_KEYS,
    DroQCritic,
    ObservationFlattener,
    ReplayBuffer,
    SACAgent,
    SACConfig,
    SACConfigError,
    train_sac,
)

CONFIG_DIR = Path(__file__).resolve().parents[1] / 'config'


@pytest.fixture(autouse=True)
def _one_thread():
    torch.set_num_threads(1)


def test_config_file_is_the_piano_preset():
    cfg, run = SACConfig.load(CONFIG_DIR / 'sac.yaml', run_keys=SAC_RUN_KEYS)
    assert cfg == SACConfig()
    assert run['algorithm'] == 'sac' and run['env'] == 'reach'
    assert (cfg.actor_lr, cfg.critic_lr, cfg.temperature_lr) == (3e-4, 3e-4, 3e-4)
    assert (cfg.batch_size, cfg.tau, cfg.init_temperature) == (256, 0.01, 1.2)
    assert cfg.hidden_dims == (256, 256, 256)
    assert (cfg.critic_dropout, cfg.critic_layer_norm) == (0.01, True)


def test_config_errors_name_the_field(tmp_path):
    bad = tmp_path / 'sac.yaml'
    bad.write_text('batch_size: 256\nlearning_rate: 0.1\n')
    with pytest.raises(SACConfigError, match=r"sac\.yaml.*'learning_rate'.*unknown"):
        SACConfig.load(bad)
    assert issubclass(SACConfigError, ConfigError)  # the train CLI reports it as bad input (exit code 2)
    with pytest.raises(SACConfigError, match="'tau'"):
        SACConfig.from_dict({'tau': 1.5})
    with pytest.raises(SACConfigError, match="'utd_ratio'.*integer"):
        SACConfig.from_dict({'utd_ratio': 2.5})


def test_flattener_dict_and_box():
    space = gym.spaces.Dict({
        'cam/color': gym.spaces.Box(0, 255, (8, 8, 3), np.uint8),
        'joint_positions': gym.spaces.Box(-np.inf, np.inf, (9,), np.float64),
        'joint_velocities': gym.spaces.Box(-np.inf, np.inf, (9,), np.float64),
    })
    flat = ObservationFlattener(space)
    assert flat.keys == ['joint_positions', 'joint_velocities'] and flat.dim == 18
    obs = {'cam/color': np.zeros((8, 8, 3), np.uint8), 'joint_positions': np.arange(9.0),
           'joint_velocities': -np.arange(9.0)}
    np.testing.assert_array_equal(flat(obs), np.concatenate([np.arange(9.0), -np.arange(9.0)]).astype(np.float32))
    with pytest.raises(ValueError, match='nope'):
        ObservationFlattener(space, keys=['nope'])
    assert ObservationFlattener(gym.spaces.Box(-1, 1, (2, 3))).dim == 6


def test_replay_buffer_wraps_and_samples_stored_transitions():
    buf = ReplayBuffer(obs_dim=2, action_dim=1, capacity=5, seed=0)
    for i in range(8):
        buf.add([i, i], [i], float(i), [i + 1, i + 1], i % 2 == 0)
    assert len(buf) == 5
    batch = buf.sample(200)
    # Only the last 5 transitions (3..7) remain, each consistent across fields.
    assert set(batch['rewards'].tolist()) == {3.0, 4.0, 5.0, 6.0, 7.0}
    np.testing.assert_array_equal(batch['next_obs'][:, 0], batch['obs'][:, 0] + 1)
    np.testing.assert_array_equal(batch['terminated'], (batch['rewards'] % 2 == 0).float())


def test_droq_critic_has_dropout_and_layer_norm():
    critic = DroQCritic(4, 2, hidden_dims=(16, 16), dropout=0.01, layer_norm=True)
    kinds = [type(m).__name__ for m in critic.qs[0].modules()]
    assert kinds.count('Dropout') == 2 and kinds.count('LayerNorm') == 2
    assert critic(torch.zeros(3, 4), torch.zeros(3, 2)).shape == (2, 3)


def test_target_critic_follows_with_polyak_rate():
    cfg = SACConfig(hidden_dims=(8,), batch_size=4, buffer_size=16, tau=0.25)
    agent = SACAgent(3, 2, cfg)
    before = [p.clone() for p in agent.target_critic.parameters()]
    buf = ReplayBuffer(3, 2, 16)
    for _ in range(8):
        buf.add(np.random.randn(3), np.random.uniform(-1, 1, 2), 1.0, np.random.randn(3), False)
    agent.update_critic(buf.sample(4))
    for old, target, online in zip(before, agent.target_critic.parameters(), agent.critic.parameters()):
        torch.testing.assert_close(target, 0.75 * old + 0.25 * online)
    assert agent.target_entropy == -2.0


def test_temperature_moves_towards_target_entropy():
    # With target entropy far below the policy's entropy, the temperature must fall; far above, rise.
    for target, direction in ((-50.0, -1), (50.0, 1)):
        cfg = SACConfig(hidden_dims=(8,), batch_size=8, buffer_size=16, target_entropy=target)
        agent = SACAgent(3, 2, cfg)
        buf = ReplayBuffer(3, 2, 16)
        for _ in range(16):
            buf.add(np.random.randn(3), np.random.uniform(-1, 1, 2), 0.0, np.random.randn(3), False)
        t0 = agent.temperature.item()
        for _ in range(5):
            agent.update_actor_and_temperature(buf.sample(8))
        assert np.sign(agent.temperature.item() - t0) == direction


def test_sac_learns_point_reach():
    cfg = SACConfig(hidden_dims=(64, 64), batch_size=64, total_steps=3000, warmup_steps=300, eval_every=1000,
                    eval_episodes=10, utd_ratio=1, discount=0.9, buffer_size=5000, seed=1)
    # The initial (untrained) policy's return, on the same evaluation episodes train_sac uses.
    torch.manual_seed(cfg.seed)
    from rlhf_training.sac import evaluate_agent
    env = PointReachEnv()
    untrained = SACAgent(4, 2, cfg)
    baseline = evaluate_agent(untrained, ObservationFlattener(env.observation_space), env, 10, seed=10_000)
    result = train_sac(PointReachEnv(), cfg, eval_env=PointReachEnv(), progress=False)
    final = result.history[-1]
    assert final['step'] == 3000
    assert final['eval_return'] > baseline['eval_return'] + 8.0, (baseline, result.history)
    assert final['eval_final_distance'] < 0.35, result.history
    # The returned policy acts in the env's action space.
    action = result.policy()(env.reset(seed=3)[0])
    assert action.shape == (2,) and np.all(np.abs(action) <= 1.0)


def test_train_cli_runs_sac_from_a_config_file(tmp_path):
    from rlhf_training.train import main
    config = tmp_path / 'sac.yaml'
    config.write_text((CONFIG_DIR / 'sac.yaml').read_text())
    out = tmp_path / 'run'
    code = main(['--config', str(config), 'env=point_reach', f'out_dir={out}', 'total_steps=300', 'warmup_steps=100',
                 'batch_size=32', 'hidden_dims=[32]', 'eval_every=0', 'eval_episodes=2', 'progress=false'])
    assert code == 0
    saved = torch.load(out / 'agent.pt', weights_only=False)
    assert saved['config']['total_steps'] == 300 and saved['obs_dim'] == 4
    assert [row['step'] for row in saved['history']] == [300]
    assert main(['--config', str(config), 'env=nowhere', f'out_dir={out}']) == 2
    assert main(['--config', str(config), 'utd=3']) == 2
