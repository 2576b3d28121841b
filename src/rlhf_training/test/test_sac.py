# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""SAC (DroQ): the pieces behave as specified and the agent learns a small task with a known answer."""

from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
import torch

from rlhf_training.config import ConfigError, SACConfig, load_config, make_config
from rlhf_training.envs import PointReachEnv
from rlhf_training.sac import DroQCritic, ObservationFlattener, ReplayBuffer, SACAgent, train_sac

CONFIG_DIR = Path(__file__).resolve().parents[1] / 'config'


@pytest.fixture(autouse=True)
def _one_thread():
    torch.set_num_threads(1)


def test_config_file_is_the_piano_preset():
    cfg = load_config(CONFIG_DIR / 'sac.yaml')
    assert cfg == SACConfig()
    assert cfg.algorithm == 'sac' and cfg.env == 'reach'
    assert (cfg.lr, cfg.temperature_lr) == (3e-4, 3e-4)
    assert (cfg.batch_size, cfg.tau, cfg.init_temperature) == (256, 0.01, 1.2)
    assert cfg.hidden_dims == [256, 256, 256]
    assert (cfg.critic_dropout, cfg.critic_layer_norm) == (0.01, True)


def test_config_errors_name_the_field(tmp_path):
    bad = tmp_path / 'sac.yaml'
    bad.write_text('algorithm: sac\nbatch_size: 256\nlearning_rate: 0.1\n')
    with pytest.raises(ConfigError, match=r"sac\.yaml.*unknown key 'learning_rate'"):
        load_config(bad)
    with pytest.raises(ConfigError, match="where: sac: tau"):
        make_config({'algorithm': 'sac', 'tau': 1.5}, 'where')
    with pytest.raises(ConfigError, match="utd_ratio must be int"):
        make_config({'algorithm': 'sac', 'utd_ratio': 2.5})
    assert make_config({'algorithm': 'sac', 'target_entropy': None}).target_entropy is None
    assert make_config({'algorithm': 'sac', 'target_entropy': -3}).target_entropy == -3.0


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


def test_replay_buffer_saves_and_restores_where_it_stood(tmp_path):
    buf = ReplayBuffer(obs_dim=2, action_dim=1, capacity=5, seed=0)
    for i in range(8):
        buf.add([i, i], [i], float(i), [i + 1, i + 1], i % 2 == 0)
    buf.sample(3)
    state = buf.state_dict()
    back = ReplayBuffer(obs_dim=2, action_dim=1, capacity=5, seed=123)
    back.load_state_dict(state)
    assert (len(back), back.index) == (5, 3)
    for a, b in zip(buf.sample(4).values(), back.sample(4).values()):   # same rows, same next draws
        torch.testing.assert_close(a, b)
    buf.add([8, 8], [8], 8.0, [9, 9], True)
    back.add([8, 8], [8], 8.0, [9, 9], True)                            # overwrites the same (oldest) row
    np.testing.assert_array_equal(buf.rewards, back.rewards)
    with pytest.raises(ValueError, match='replay.pt: a buffer of capacity 5, expected buffer_size 6'):
        ReplayBuffer(obs_dim=2, action_dim=1, capacity=6).load_state_dict(state, 'replay.pt')
    with pytest.raises(ValueError, match='replay.pt: transitions of observation size'):
        ReplayBuffer(obs_dim=3, action_dim=1, capacity=5).load_state_dict(state, 'replay.pt')


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


def test_reference_weight_anchors_a_warm_started_actor():
    # A critic whose Q rises with the first action dimension pulls the actor's action up; the anchor (a frozen copy
    # of the actor passed in) holds it near where it started, and is saved with the agent (a resume keeps it).
    from rlhf_training.checkpoint import build_model
    from rlhf_training.sac import actor_build_info, state_input
    obs = torch.randn(64, 3)
    moved = {}
    for weight in (0.0, 10.0):
        cfg = SACConfig(hidden_dims=(16,), batch_size=64, buffer_size=64, reference_weight=weight, lr=1e-2)
        torch.manual_seed(0)
        agent = SACAgent(3, 2, cfg, actor=build_model(actor_build_info(cfg, 3, 2)))
        assert ('reference' in dict(agent.named_children())) == (weight > 0)
        agent.critic.forward = lambda o, a: 5.0 * a[:, 0].expand(2, -1)   # (members, batch)
        start = agent.actor.deterministic(state_input(obs)).detach()
        for _ in range(50):
            agent.update_actor_and_temperature({'obs': obs})
        moved[weight] = float((agent.actor.deterministic(state_input(obs)).detach() - start)[:, 0].mean())
    assert moved[0.0] > 0.3, moved
    assert 0 < moved[10.0] < moved[0.0] / 3, moved


def test_sac_learns_point_reach():
    cfg = SACConfig(hidden_dims=(64, 64), batch_size=64, steps=3000, warmup_steps=300, eval_every=1000,
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
    code = main(['--config', str(config), 'env=point_reach', f'out_dir={out}', 'steps=300', 'warmup_steps=100',
                 'batch_size=32', 'hidden_dims=[32]', 'eval_every=0', 'eval_episodes=2', 'progress=false'])
    assert code == 0
    saved = torch.load(out / 'checkpoints' / 'latest.pt', weights_only=False)
    assert saved['config']['steps'] == 300 and saved['step'] == 300
    assert saved['models']['policy']['build']['observation_shapes'] == {'proprio': [4]}
    assert [row['step'] for row in saved['extra']['history']] == [300]
    assert 'contract_yaml' not in saved['extra']   # the point has no robot: no contract, no ONNX
    assert main(['--config', str(config), 'env=nowhere', f'out_dir={out}']) == 2
    assert main(['--config', str(config), 'utd=3']) == 2


def test_sac_checkpoint_is_a_contract_policy_that_cpl_fine_tunes(tmp_path, episodes):
    """SAC on a contract-observed task -> Trainer checkpoint + ONNX; CPL starts from exactly that actor."""
    from conftest import segment, write_preferences
    import onnxruntime as ort

    from rlhf_training.checkpoint import load_policy
    from rlhf_training.config import CPLConfig
    from rlhf_training.cpl import run as run_cpl
    from rlhf_training.runs import contract_from_yaml
    from rlhf_training.sac import run as run_sac

    sac = SACConfig(env='manipulation', env_options={'max_episode_steps': 10}, steps=40, warmup_steps=20,
                    batch_size=8, hidden_dims=[16], eval_every=0, eval_episodes=1, progress=False,
                    out_dir=str(tmp_path / 'sac'))
    summary = run_sac(sac)
    state = torch.load(tmp_path / 'sac' / 'checkpoints' / 'latest.pt', weights_only=False)
    contract = contract_from_yaml(state['extra']['contract_yaml'])
    assert contract.observation.state_features == ['object_position', 'target_position']
    assert contract.observation.cameras == [] and contract.observation.proprio_dim == 24
    actor, _ = load_policy(state)
    # The exported ONNX model is the actor.
    session = ort.InferenceSession(summary['onnx'], providers=['CPUExecutionProvider'])
    x = np.random.default_rng(0).normal(size=(3, 24)).astype(np.float32)
    with torch.no_grad():
        expected = actor.deterministic({'proprio': torch.from_numpy(x)}).numpy()
    np.testing.assert_allclose(session.run(['action'], {'proprio': x})[0], expected, atol=1e-5)

    # Recorded episodes with task state; the one whose commands move by +0.02 rad is preferred.
    good = episodes.write('good', delta=0.02, cameras=(), object_xyz=(0.5, 0.1, 0.05))
    bad = episodes.write('bad', delta=-0.02, cameras=(), object_xyz=(0.5, 0.1, 0.05))
    prefs = write_preferences(tmp_path / 'prefs.json', [(segment(good, s0, s0 + 0.5), segment(bad, s0, s0 + 0.5), 1.0)
                                                        for s0 in (0.0, 0.5, 1.0)])
    cpl = CPLConfig(pretrained=str(tmp_path / 'sac'), preferences=str(prefs), data_dir=str(episodes.data_dir),
                    cameras=[], steps=1, lr=1e-9, batch_size=2, val_fraction=0.0, progress=False, device='cpu',
                    out_dir=str(tmp_path / 'cpl'), export_onnx=False)
    run_cpl(cpl)
    tuned, tuned_contract = load_policy(tmp_path / 'cpl')
    assert contract_from_yaml(tuned_contract).to_dict() == contract.to_dict()
    fresh = SACAgent(24, 8, sac).actor
    for name, p in actor.state_dict().items():   # one step at lr 1e-9 leaves the SAC weights in place
        torch.testing.assert_close(tuned.state_dict()[name], p, atol=1e-6, rtol=0)
    assert any((fresh.state_dict()[n] - p).abs().max() > 1e-3 for n, p in actor.state_dict().items())


def test_sac_resumes_from_its_checkpoint(tmp_path):
    from rlhf_training.sac import run as run_sac
    cfg = dict(env='point_reach', warmup_steps=20, batch_size=16, hidden_dims=[16], eval_every=50, eval_episodes=1,
               progress=False, out_dir=str(tmp_path / 'run'))
    first = run_sac(SACConfig(steps=100, **cfg))
    state = torch.load(tmp_path / 'run' / 'checkpoints' / 'latest.pt', weights_only=False)
    again = run_sac(SACConfig(steps=150, **cfg))     # continues at step 100 with the saved agent and optimisers
    history = torch.load(tmp_path / 'run' / 'checkpoints' / 'latest.pt', weights_only=False)['extra']['history']
    assert [row['step'] for row in history] == [50, 100, 150]
    assert first['steps'] == 100 and again['steps'] == 150 and again['checkpoint'].endswith('latest.pt')
    assert state['step'] == 100 and set(state['optimizers']) == {'actor', 'critic', 'temperature'}
    # the resumed run went on with the 100 transitions it had collected (an empty buffer would hold 50)
    replay = torch.load(tmp_path / 'run' / 'checkpoints' / 'replay.pt', weights_only=False)
    assert replay['step'] == 150 and len(replay['rewards']) == 150
    done = run_sac(SACConfig(steps=150, **cfg))       # nothing left to do: the same summary, no new rows
    assert done['steps'] == 150 and len(torch.load(tmp_path / 'run' / 'checkpoints' / 'latest.pt',
                                                   weights_only=False)['extra']['history']) == 3
