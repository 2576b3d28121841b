# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""Datasets from real episode bags and preference exports; clear errors before training; the train CLI."""

from pathlib import Path

from conftest import Q_HOME, segment, write_preferences
import numpy as np
import onnxruntime as ort
import pytest
import torch
import yaml

from rlhf_training.config import BCConfig, ConfigError, RewardConfig, load_config
from rlhf_training.data import DataError, SegmentLoader, load_preference_pairs, load_transitions
from rlhf_training.train import main as train_main

torch.set_num_threads(1)
CONFIG_DIR = Path(__file__).resolve().parents[1] / 'config'

SMALL = ['image_width=16', 'image_height=16', 'hidden_dims=[16]', 'image_feature_dim=8', 'proprio_feature_dim=8',
         'progress=false', 'log_every=1', 'eval_every=2', 'checkpoint_every=2', 'rate_hz=5', 'device=cpu']


def test_transitions_actions_and_normalisation_from_bags(episodes):
    episodes.write('ep0', q0_offset=0.0, delta=0.02)
    episodes.write('ep1', q0_offset=0.2, delta=-0.01, gripper=0.0)
    episodes.write('ep2', outcome='failure')  # not selected: BC keeps successful demonstrations
    cfg = BCConfig(data_dir=str(episodes.data_dir), cameras=['scene_camera'], image_width=16, image_height=16,
                   rate_hz=5.0, val_fraction=0.0, progress=False)
    train, val, contract = load_transitions(cfg, progress=False)
    assert val is None and len(train) == 20  # 2 episodes x 2 s x 5 Hz
    assert train.observations['scene_camera'].shape == (20, 3, 16, 16)
    assert train.observations['proprio'].shape == (20, 18)
    first = train.extra['episode'] == 0
    np.testing.assert_allclose(train.actions[first][:, :7], 0.4, atol=1e-5)     # 0.02 / max_delta 0.05
    np.testing.assert_allclose(train.actions[first][:, 7], 1.0, atol=1e-6)      # gripper open
    np.testing.assert_allclose(train.actions[~first][:, :7], -0.2, atol=1e-5)
    np.testing.assert_allclose(train.actions[~first][:, 7], -1.0, atol=1e-6)
    # Statistics of the training episodes travel in the contract; proprio is normalised with them.
    np.testing.assert_allclose(contract.observation.proprio_mean[:7], np.array([0.0, -0.3, 0.0, -2.2, 0.0, 2.0,
                                                                                0.8]) + 0.1, atol=1e-6)
    np.testing.assert_allclose(train.observations['proprio'][:, :7].mean(0), 0.0, atol=1e-5)
    assert contract.observation.cameras[0].name == 'scene_camera' and contract.rate_hz == 30.0


def test_preference_pairs_share_segments_and_split(episodes, tmp_path):
    a = episodes.write('ep0', delta=0.02)
    b = episodes.write('ep1', delta=-0.02)
    records = [(segment(a, 0.0, 1.0), segment(b, 0.0, 1.0), 1.0), (segment(b, 1.0, 2.0), segment(a, 1.0, 2.0), 0.0),
               (segment(a, 0.0, 1.0), segment(b, 1.0, 2.0), 0.5), (segment(a, 1.0, 2.0), segment(b, 0.0, 1.0), 1.0)]
    prefs = write_preferences(tmp_path / 'prefs.json', records)
    cfg = RewardConfig(preferences=str(prefs), cameras=[], rate_hz=5.0, val_fraction=0.25, progress=False)
    train, val, contract = load_preference_pairs(cfg, progress=False)
    assert len(train) == 3 and len(val) == 1
    assert train.observations['proprio'].shape == (4, 5, 18)  # 4 distinct segments of 5 frames, pooled once
    assert contract.observation.cameras == []
    batch = train.batch(np.arange(3))
    assert batch['actions_a'].shape == (3, 5, 8) and batch['mask_a'].sum() == 15
    loader = SegmentLoader(contract, rate_hz=5.0)
    from rlhf_preference.segments import Segment
    obs, actions = loader(Segment('ep0', str(a), 0.0, 1.0, 'pick_place'))
    np.testing.assert_allclose(actions[:, :7], 0.4, atol=1e-5)


def test_missing_episode_in_export_is_a_clear_error(episodes, tmp_path):
    a = episodes.write('ep0')
    gone = episodes.data_dir / 'episodes' / 'deleted_episode'
    prefs = write_preferences(tmp_path / 'prefs.json', [(segment(a, 0.0, 1.0), segment(gone, 0.0, 1.0), 1.0)])
    cfg = RewardConfig(preferences=str(prefs), cameras=[], progress=False)
    with pytest.raises(DataError, match=r"deleted_episode.*not found"):
        load_preference_pairs(cfg, progress=False)


def test_empty_selections_are_clear_errors(episodes, tmp_path):
    episodes.write('ep0', task='stack')
    cfg = BCConfig(data_dir=str(episodes.data_dir), task='insertion', cameras=[], progress=False)
    with pytest.raises(DataError, match="empty dataset.*task='insertion'"):
        load_transitions(cfg, progress=False)
    prefs = write_preferences(tmp_path / 'empty.json', [])
    with pytest.raises(DataError, match='holds no'):
        load_preference_pairs(RewardConfig(preferences=str(prefs), cameras=[]), progress=False)
    with pytest.raises(DataError, match='episodes.*nope'):
        load_transitions(BCConfig(data_dir=str(episodes.data_dir), episodes=['nope']), progress=False)


def test_unknown_config_key_names_it_and_lists_valid_keys(tmp_path, capsys):
    path = tmp_path / 'bad.yaml'
    path.write_text(yaml.safe_dump({'algorithm': 'bc', 'learning_rate': 0.1}))
    with pytest.raises(ConfigError, match=r"unknown key 'learning_rate'.*valid keys: .*\blr\b"):
        load_config(path)
    assert train_main(['--config', str(path)]) == 2
    assert "unknown key 'learning_rate'" in capsys.readouterr().err
    with pytest.raises(ConfigError, match='steps must be int'):
        load_config(None, ['algorithm=cpl', 'steps=many'])
    cfg = load_config(None, ['algorithm=cpl', 'lr=1e-3', 'cameras=[]'])
    assert cfg.lr == 1e-3 and cfg.cameras == [] and cfg.lam == 0.5 and cfg.batch_size == 32


def test_train_cli_bc_reward_cpl_export_end_to_end(episodes, tmp_path):
    paths = [episodes.write(f'ep{i}', q0_offset=0.05 * i, delta=0.02 if i % 2 else -0.02) for i in range(3)]
    runs = tmp_path / 'runs'
    config_dir = tmp_path / 'cfg'
    config_dir.mkdir()
    for name in ('bc', 'reward', 'cpl'):
        (config_dir / f'{name}.yaml').write_text(yaml.safe_dump({'algorithm': name}))
    common = SMALL + [f'data_dir={episodes.data_dir}', 'cameras=[scene_camera]', 'val_fraction=0.34']
    assert train_main(['--config', str(config_dir / 'bc.yaml'), *common, 'steps=4', 'batch_size=8',
                       f'out_dir={runs / "bc"}']) == 0
    export_dir = runs / 'bc' / 'export'
    from rlhf_policy.contract import PolicyContract
    from rlhf_policy.preprocess import preprocess
    contract = PolicyContract.load(export_dir / 'contract.yaml')
    assert contract.onnx_inputs == ['scene_camera', 'proprio']
    session = ort.InferenceSession(str(export_dir / 'policy.onnx'), providers=['CPUExecutionProvider'])
    inputs = preprocess(contract, {'scene_camera': np.zeros((24, 32, 3), np.uint8)}, {}, np.zeros(9), np.zeros(9))
    action = session.run(['action'], inputs)[0]
    assert action.shape == (1, 8) and np.all(np.abs(action) < 1)
    from rlhf_training.checkpoint import load_policy
    policy, _ = load_policy(runs / 'bc')
    with torch.no_grad():
        expected = policy.deterministic({k: torch.from_numpy(v) for k, v in inputs.items()}).numpy()
    np.testing.assert_allclose(action, expected, atol=1e-4)

    prefs = write_preferences(tmp_path / 'prefs.json', [
        (segment(paths[1], 0.0, 1.0), segment(paths[0], 0.0, 1.0), 1.0),
        (segment(paths[0], 1.0, 2.0), segment(paths[2], 1.0, 2.0), 0.5),
        (segment(paths[2], 0.0, 1.0), segment(paths[1], 1.0, 2.0), 0.0)])
    assert train_main(['--config', str(config_dir / 'reward.yaml'), *common, 'steps=2', 'batch_size=2',
                       'ensemble_size=2', f'preferences={prefs}', f'out_dir={runs / "reward"}']) == 0
    from rlhf_training.checkpoint import load_reward_ensemble
    assert len(load_reward_ensemble(runs / 'reward')) == 2
    assert train_main(['--config', str(config_dir / 'cpl.yaml'), *common, 'steps=2', 'batch_size=2',
                       f'pretrained={runs / "bc"}', f'preferences={prefs}', f'out_dir={runs / "cpl"}']) == 0
    cpl_contract = PolicyContract.load(runs / 'cpl' / 'export' / 'contract.yaml')
    np.testing.assert_array_equal(cpl_contract.observation.proprio_mean, contract.observation.proprio_mean)

    from rlhf_training.export import main as export_main
    assert export_main(['--checkpoint', str(runs / 'cpl'), '--out', str(tmp_path / 'exported')]) == 0
    assert (tmp_path / 'exported' / 'policy.onnx').is_file()


def test_ensemble_disagreement_is_a_select_pairs_scorer(episodes):
    from rlhf_preference.pairs import select_pairs
    from rlhf_preference.segments import Segment
    from rlhf_training.data import make_contract, read_episodes
    from rlhf_training.models import RewardEnsemble, observation_shapes
    from rlhf_training.reward import disagreement_scorer
    paths = [episodes.write(f'ep{i}', delta=0.01 * (i - 1), q0_offset=0.1 * i) for i in range(3)]
    cfg = RewardConfig(cameras=['scene_camera'], image_width=16, image_height=16, rate_hz=5.0)
    contract = make_contract(cfg, read_episodes(paths, cfg, progress=False))
    torch.manual_seed(0)
    ensemble = RewardEnsemble.build(3, 'mlp', observation_shapes(contract.observation), 8, hidden_dims=(16,),
                                    image_feature_dim=4)
    scorer = disagreement_scorer(ensemble, SegmentLoader(contract, rate_hz=5.0))
    segments = [Segment(p.name, str(p), s, s + 1.0, 'pick_place') for p in paths for s in (0.0, 1.0)]
    chosen = select_pairs(segments, 2, strategy='disagreement', scorer=scorer, seed=0)
    assert len(chosen) == 2
    scores = sorted((scorer(a, b) for i, a in enumerate(segments) for b in segments[i + 1:]), reverse=True)
    assert scores[0] > 0
    assert scorer(*chosen[0]) == pytest.approx(scores[0], rel=1e-5)


def test_sim_rollout_episode_feeds_the_same_datasets():
    from rlhf_common.robot import ARM_JOINT_NAMES, FINGER_JOINT_NAMES, JOINT_NAMES
    from rlhf_sim.env import ManipulationEnv
    from rlhf_sim.expert import ExpertController
    from rlhf_training.data import episode_from_rollout, make_contract, transitions_from_episodes
    env = ManipulationEnv(task='pick_place', cameras=('scene_camera',), width=32, height=24, max_episode_steps=20,
                          seed=0)
    try:
        expert = ExpertController(env, seed=0)
        obs, info = env.reset(seed=0)
        expert.reset()
        observations, commands, progress = [], [], []
        for _ in range(8):
            command = expert.action(obs)
            observations.append(obs)
            commands.append(command)
            progress.append(info['progress'])
            obs, _, _, _, info = env.step(command)
    finally:
        env.close()
    episode = episode_from_rollout(observations, commands, 30.0, ARM_JOINT_NAMES + FINGER_JOINT_NAMES,
                                   cameras=['scene_camera'], task_progress=progress)
    cfg = BCConfig(cameras=['scene_camera'], image_width=16, image_height=16)
    contract = make_contract(cfg, [episode])
    data = transitions_from_episodes(contract, [episode])
    assert len(data) == 8 and data.observations['scene_camera'].shape == (8, 3, 16, 16)
    measured = contract.action.measured_command(JOINT_NAMES, np.stack([o['joint_positions'] for o in observations]))
    expected = contract.action.from_commands(np.stack(commands), measured)
    np.testing.assert_allclose(data.actions, expected, atol=1e-6)
    np.testing.assert_allclose(data.extra['task_progress'], progress, atol=1e-6)


STATE = ['object_position', 'target_position', 'previous_command', 'end_effector_position']


def test_state_features_from_bags_train_bc_and_export(episodes, tmp_path):
    """Two demonstrations that differ only in the object position: BC must read it to act (known answer)."""
    episodes.write('ep0', delta=0.02, cameras=(), object_xyz=(0.6, 0.1, 0.02))
    episodes.write('ep1', delta=-0.01, gripper=0.0, cameras=(), object_xyz=(0.4, -0.1, 0.02))
    out = tmp_path / 'bc'
    assert train_main(['--config', str(CONFIG_DIR / 'bc.yaml'), *SMALL, f'data_dir={episodes.data_dir}',
                       'cameras=[]', f'state_features={STATE}'.replace("'", ''), 'val_fraction=0', 'steps=300',
                       'batch_size=16', 'loss=mse', 'lr=3e-3', 'hidden_dims=[32]', f'out_dir={out}']) == 0
    from rlhf_policy.contract import PolicyContract
    from rlhf_policy.preprocess import preprocess
    from rlhf_recorder.reader import read_episode
    from rlhf_training.checkpoint import load_policy
    contract = PolicyContract.load(out / 'export' / 'contract.yaml')
    assert contract.observation.state_features == STATE and contract.input_shapes()['proprio'] == (18 + 17,)
    # end_effector_position (derived from the joints): its mean is the forward kinematics of the (fixed) arm pose
    from rlhf_policy.kinematics import end_effector_positions
    np.testing.assert_allclose(contract.observation.proprio_mean[-3:], end_effector_positions(Q_HOME), atol=1e-6)
    # statistics cover the whole vector: the object x of the two episodes (0.6 and 0.4) averages to 0.5
    assert contract.observation.proprio_mean[18] == pytest.approx(0.5, abs=1e-6)
    assert contract.observation.proprio_std[18] == pytest.approx(0.1, abs=1e-6)
    session = ort.InferenceSession(str(out / 'export' / 'policy.onnx'), providers=['CPUExecutionProvider'])
    policy, _ = load_policy(out)
    for name, arm, grip in (('ep0', 0.4, 1.0), ('ep1', -0.2, -1.0)):
        ep = read_episode(episodes.data_dir / 'episodes' / name, rate_hz=5.0, images=False)
        np.testing.assert_allclose(ep.previous_commands[1:, 7], ep.actions[1:, 7])  # constant commands
        t = 3
        inputs = preprocess(contract, {}, {}, ep.joint_positions[t], ep.joint_velocities[t],
                            state={'object_position': ep.object_positions[t], 'target_position': ep.target_positions[t],
                                   'previous_command': ep.previous_commands[t]})
        action = session.run(['action'], inputs)[0]
        with torch.no_grad():
            expected = policy.deterministic({k: torch.from_numpy(v) for k, v in inputs.items()}).numpy()
        np.testing.assert_allclose(action, expected, atol=1e-4)
        np.testing.assert_allclose(action[0, :7], arm, atol=0.1)
        assert action[0, 7] == pytest.approx(grip, abs=0.15)


def test_state_features_need_the_task_state(episodes):
    episodes.write('ep0', cameras=())
    cfg = BCConfig(data_dir=str(episodes.data_dir), cameras=[], state_features=['target_position'], rate_hz=5.0,
                   val_fraction=0.0, progress=False)
    with pytest.raises(DataError, match='target_position needs the task state'):
        load_transitions(cfg, progress=False)
    cfg = BCConfig(data_dir=str(episodes.data_dir), cameras=[], state_features=['joint_torque'], rate_hz=5.0,
                   val_fraction=0.0, progress=False)
    with pytest.raises(DataError, match=r"state_features.*joint_torque"):
        load_transitions(cfg, progress=False)


def test_train_cli_chunk_bc_from_bags_exports_a_chunk_contract(episodes, tmp_path, capsys):
    paths = [episodes.write(f'ep{i}', q0_offset=0.05 * i, delta=0.02) for i in range(2)]
    out = tmp_path / 'runs' / 'chunk'
    config = CONFIG_DIR / 'chunk_bc.yaml'
    assert train_main(['--config', str(config), *SMALL, f'data_dir={episodes.data_dir}', 'cameras=[scene_camera]',
                       'rate_hz=30.0', 'val_fraction=0.0', 'steps=3', 'batch_size=8', 'horizon=5', 'hidden_dims=[16]',
                       f'out_dir={out}']) == 0
    from rlhf_policy.chunking import ChunkExecution
    from rlhf_policy.contract import PolicyContract
    from rlhf_policy.preprocess import preprocess
    contract = PolicyContract.load(out / 'export' / 'contract.yaml')
    assert contract.chunk == ChunkExecution(horizon=5) and contract.output_shape == (5, 8)
    session = ort.InferenceSession(str(out / 'export' / 'policy.onnx'), providers=['CPUExecutionProvider'])
    inputs = preprocess(contract, {'scene_camera': np.zeros((24, 32, 3), np.uint8)}, {}, np.zeros(9), np.zeros(9))
    assert session.run(['action'], inputs)[0].shape == (1, 5, 8)
    from rlhf_training.checkpoint import load_policy
    policy, _ = load_policy(out)
    assert policy.horizon == 5
    assert train_main(['--config', str(config), f'data_dir={episodes.data_dir}', 'rate_hz=10.0',
                       f'out_dir={tmp_path / "bad"}']) == 2   # one frame per control tick, or a clear error

    # CPL fine-tunes the chunk policy on the chunk targets of the preferred and rejected segments.
    prefs = write_preferences(tmp_path / 'prefs.json', [
        (segment(paths[1], 0.0, 1.0), segment(paths[0], 0.0, 1.0), 1.0),
        (segment(paths[0], 1.0, 2.0), segment(paths[1], 1.0, 2.0), 0.0)])
    cpl = ['--config', str(CONFIG_DIR / 'cpl.yaml'), *SMALL, 'steps=2', 'batch_size=2', 'val_fraction=0.0',
           f'pretrained={out}', f'preferences={prefs}', f'out_dir={tmp_path / "runs" / "cpl"}']
    capsys.readouterr()
    assert train_main(cpl + ['rate_hz=30.0']) == 2
    assert 'set likelihood=squared_error' in capsys.readouterr().err
    assert train_main(cpl + ['likelihood=squared_error']) == 2
    assert 'rate_hz must equal control_hz' in capsys.readouterr().err
    assert train_main(cpl + ['likelihood=squared_error', 'rate_hz=30.0']) == 0
    assert PolicyContract.load(tmp_path / 'runs' / 'cpl' / 'export' / 'contract.yaml').chunk == ChunkExecution(5)


def test_observation_history_from_bags_reaches_before_a_window_and_exports(episodes, tmp_path):
    from rlhf_training.config import ChunkBCConfig
    from rlhf_training.data import episode_arrays, make_contract, read_episodes
    path = episodes.write('ep0', q0_offset=0.0, delta=0.02)
    config = ChunkBCConfig(data_dir=str(episodes.data_dir), cameras=['scene_camera'], image_width=16,
                           image_height=16, rate_hz=30.0, observation_history=3, progress=False)
    episode = read_episodes([path], config, progress=False)[0]
    contract = make_contract(config, [episode])
    one = make_contract(ChunkBCConfig(**{**config.__dict__, 'observation_history': 1}), [episode])
    frames, _ = episode_arrays(one, episode)
    whole, _ = episode_arrays(contract, episode)
    assert whole['scene_camera'].shape[1:] == (9, 16, 16) and whole['proprio'].shape[1:] == (54,)
    t = 10   # row t holds frames t-2, t-1, t (oldest first)
    np.testing.assert_array_equal(whole['proprio'][t], np.concatenate(frames['proprio'][t - 2:t + 1]))
    np.testing.assert_array_equal(whole['scene_camera'][0], np.concatenate([frames['scene_camera'][0]] * 3))
    # a preference segment's first frames see the frames before it, as the running policy did
    window, _ = episode_arrays(contract, episode, 1.0, 1.5)
    valid_times = episode.times[np.isfinite(episode.actions).all(axis=1)]
    first = int(np.searchsorted(valid_times, 1.0))
    np.testing.assert_array_equal(window['proprio'], whole['proprio'][first:first + len(window['proprio'])])
    with pytest.raises(DataError, match='observation_history=3: history frames are control ticks'):
        make_contract(ChunkBCConfig(**{**config.__dict__, 'rate_hz': 10.0}), [episode])

    out = tmp_path / 'runs' / 'chunk'
    assert train_main(['--config', str(CONFIG_DIR / 'chunk_bc.yaml'), *SMALL, f'data_dir={episodes.data_dir}',
                       'cameras=[scene_camera]', 'rate_hz=30.0', 'val_fraction=0.0', 'steps=2', 'batch_size=8',
                       'horizon=5', 'observation_history=2', f'out_dir={out}']) == 0
    session = ort.InferenceSession(str(out / 'export' / 'policy.onnx'), providers=['CPUExecutionProvider'])
    assert {i.name: i.shape[1:] for i in session.get_inputs()} == {'scene_camera': [6, 16, 16],
                                                                       'proprio': [2 * (18 + 3)]}  # + EE position


def test_window_rows_index_the_whole_episodes_like_a_copy_of_the_windows(episodes):
    """Overlapping windows (and one repeated) as rows of the whole episodes' dataset give the same batches.

    The same as chunks_from_windows, which copies every window's frames.
    """
    from rlhf_policy.chunking import ChunkExecution
    from rlhf_training.chunk_bc import ChunkBCConfig, chunks_from_episodes, chunks_from_windows
    from rlhf_training.data import make_contract, read_episodes, window_rows
    from rlhf_training.datasets import TransitionRows
    paths = [episodes.write('ep0', delta=0.02), episodes.write('ep1', q0_offset=0.1, delta=-0.01)]
    cfg = ChunkBCConfig(data_dir=str(episodes.data_dir), cameras=['scene_camera'], image_width=16, image_height=16,
                        progress=False)
    eps = read_episodes(paths, cfg, progress=False)
    contract = make_contract(cfg, eps)
    contract.chunk = ChunkExecution(horizon=4)
    windows = [(eps[1], 0.5, 1.5), (eps[0], 0.2, 1.2), (eps[0], 0.7, 1.7), (eps[1], 0.5, 1.5), (eps[0], 1.9, None)]
    copied = chunks_from_windows(contract, windows)
    rows = TransitionRows(chunks_from_episodes(contract, eps), window_rows(eps, windows))
    assert len(rows) == len(copied) > 60
    picked = np.random.default_rng(0).integers(len(copied), size=40)
    a, b = copied.batch(picked), rows.batch(picked)
    for key in copied.observations:
        torch.testing.assert_close(a['obs'][key], b['obs'][key], rtol=0, atol=0)
    torch.testing.assert_close(a['actions'], b['actions'], rtol=0, atol=0)
    np.testing.assert_array_equal(rows.actions, copied.actions)
    with pytest.raises(ValueError, match='not in the episodes'):
        window_rows(eps[:1], windows)
