# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""Shared preprocessing: hand-computed examples and identity of preprocess and preprocess_batch."""

import numpy as np
import pytest

from rlhf_policy.actions import ActionGroup, ActionSpec
from rlhf_policy.contract import CameraSpec, ObservationSpec, PolicyContract
from rlhf_policy.preprocess import (
    HistoryStack,
    PreprocessError,
    area_weights,
    preprocess,
    preprocess_batch,
    proprio_statistics,
    resize_area,
    stack_history,
)

JOINTS = ['j1', 'j2', 'j3', 'panda_joint1', 'panda_joint2', 'panda_joint3', 'panda_joint4', 'panda_joint5',
          'panda_joint6', 'panda_joint7']


def make_contract(mean=None, std=None, history=1):
    obs = ObservationSpec(cameras=[CameraSpec('scene_camera', 20, 15), CameraSpec('wrist_camera', 8, 6, True, 2.0)],
                          joint_names=JOINTS, proprio_mean=mean, proprio_std=std, history=history)
    return PolicyContract(obs, ActionSpec.for_panda())


def test_area_weights_hand_computed():
    np.testing.assert_allclose(area_weights(4, 2), [[0.5, 0.5, 0, 0], [0, 0, 0.5, 0.5]])
    # 3 -> 2: each output covers 1.5 input pixels
    np.testing.assert_allclose(area_weights(3, 2), [[2 / 3, 1 / 3, 0], [0, 1 / 3, 2 / 3]], rtol=1e-6)
    np.testing.assert_allclose(area_weights(2, 4), [[1, 0], [1, 0], [0, 1], [0, 1]])


def test_small_example_by_hand():
    contract = PolicyContract(
        ObservationSpec([CameraSpec('cam', 2, 1, use_depth=True, max_depth_m=2.0)], ['a', 'b'],
                        proprio_mean=[1.0, 2.0, 0.0, 0.0], proprio_std=[2.0, 0.0, 1.0, 0.5]),
        ActionSpec([ActionGroup('arm', ['a', 'b'], 'delta', -np.ones(2), np.ones(2), max_delta=0.1)]),
        onnx_inputs=['cam', 'proprio'])
    image = np.array([[[0, 0, 0], [255, 255, 255], [51, 102, 0], [0, 0, 0]],
                      [[255, 0, 0], [255, 0, 0], [0, 0, 0], [0, 0, 255]]], dtype=np.uint8)  # (2, 4, 3)
    depth = np.array([[1.0, 3.0, np.nan, 0.5], [-1.0, 1.0, 0.5, 0.5]], dtype=np.float32)
    out = preprocess(contract, {'cam': image}, {'cam': depth}, np.array([3.0, 2.0]), np.array([1.0, -1.0]))
    # left output pixel = mean of the 2x2 block [[0,255],[255,255]] for R, etc.
    expected_rgb = np.array([[[765 / 4, 51 / 4]], [[255 / 4, 102 / 4]], [[255 / 4, 255 / 4]]]) / 255
    np.testing.assert_allclose(out['cam'][0, :3], expected_rgb, rtol=1e-6)
    # depth: clip to [0, 2], NaN -> 2: left block [1, 2, 0, 1] -> 1.0; right [2, .5, .5, .5] -> 0.875; / 2
    np.testing.assert_allclose(out['cam'][0, 3], [[0.5, 0.4375]], rtol=1e-6)
    # proprio: (x - mean) / max(std, 1e-3)
    np.testing.assert_allclose(out['proprio'][0], [1.0, 0.0, 1.0, -2.0], rtol=1e-6)
    assert out['cam'].dtype == np.float32 and out['cam'].shape == (1, 4, 1, 2)


def test_same_size_copies_exactly():
    img = np.random.default_rng(1).integers(0, 256, (5, 7, 3), dtype=np.uint8)
    np.testing.assert_array_equal(resize_area(img, 5, 7), img.transpose(2, 0, 1).astype(np.float32))


def _frames(num, rng):
    images = {'scene_camera': rng.integers(0, 256, (num, 48, 64, 3), dtype=np.uint8),
              'wrist_camera': rng.integers(0, 256, (num, 30, 40, 3), dtype=np.uint8)}
    depths = {'wrist_camera': rng.uniform(-0.5, 3.0, (num, 30, 40)).astype(np.float32)}
    depths['wrist_camera'][:, 0, 0] = np.inf
    return images, depths, rng.normal(size=(num, 10)), rng.normal(size=(num, 10))


def test_preprocess_and_batch_identical():
    rng = np.random.default_rng(0)
    mean, std = proprio_statistics(rng.normal(size=(50, 10)), rng.normal(size=(50, 10)) * 3)
    contract = make_contract(mean, std)
    images, depths, pos, vel = _frames(6, rng)
    batch = preprocess_batch(contract, images, depths, pos, vel)
    assert list(batch) == ['scene_camera', 'wrist_camera', 'proprio']
    assert batch['scene_camera'].shape == (6, 3, 15, 20) and batch['wrist_camera'].shape == (6, 4, 6, 8)
    assert batch['proprio'].shape == (6, 20)
    for t in range(6):
        single = preprocess(contract, {k: v[t] for k, v in images.items()}, {k: v[t] for k, v in depths.items()},
                            pos[t], vel[t])
        for name in batch:
            assert single[name].dtype == np.float32 and single[name].shape == (1,) + batch[name].shape[1:]
            np.testing.assert_array_equal(single[name][0], batch[name][t])
    assert 0.0 <= batch['wrist_camera'].min() and batch['wrist_camera'].max() <= 1.0


def test_stack_history_by_hand():
    frames = np.arange(4)[:, None] * 10 + np.arange(2)[None]          # frame t: [10t, 10t + 1]
    np.testing.assert_array_equal(stack_history(frames, 3), [[0, 1, 0, 1, 0, 1], [0, 1, 0, 1, 10, 11],
                                                             [0, 1, 10, 11, 20, 21], [10, 11, 20, 21, 30, 31]])
    assert stack_history(frames, 1) is not None and stack_history(frames, 1).shape == (4, 2)


def test_history_batch_equals_the_running_stack():
    """What training stacks from an episode is what the running policy stacks one tick at a time."""
    rng = np.random.default_rng(5)
    contract = make_contract(history=3)
    assert contract.input_shapes() == {'scene_camera': (9, 15, 20), 'wrist_camera': (12, 6, 8), 'proprio': (60,)}
    images, depths, pos, vel = _frames(5, rng)
    batch = preprocess_batch(contract, images, depths, pos, vel)
    assert {k: v.shape[1:] for k, v in batch.items()} == contract.input_shapes()
    stack = None
    for t in range(5):
        frame = preprocess(contract, {k: v[t] for k, v in images.items()}, {k: v[t] for k, v in depths.items()},
                           pos[t], vel[t])
        stack = stack or HistoryStack({k: v.shape for k, v in frame.items()}, 3)
        stacked = stack.push(frame)
        for name in batch:
            np.testing.assert_array_equal(stacked[name][0], batch[name][t])
        # the newest frame is last: the model sees the present at the same place whatever the history
        np.testing.assert_array_equal(stacked['proprio'][0, -20:], frame['proprio'][0])
    stack.reset()
    first = stack.push(frame)['scene_camera'][0]
    np.testing.assert_array_equal(first, np.concatenate([frame['scene_camera'][0]] * 3))


def test_proprio_statistics_normalise_to_unit():
    rng = np.random.default_rng(2)
    pos = rng.normal(3.0, 2.0, size=(400, 10))
    vel = rng.normal(-1.0, 0.5, size=(400, 10))
    vel[:, 0] = 0.25  # a joint that never moves: std floored
    mean, std = proprio_statistics(pos, vel)
    assert std[10] == pytest.approx(1e-3)
    contract = make_contract(mean, std)
    contract.onnx_inputs = ['proprio']
    out = preprocess_batch(contract, {}, None, pos, vel)['proprio']
    np.testing.assert_allclose(out.mean(axis=0), 0.0, atol=1e-4)
    np.testing.assert_allclose(np.delete(out.std(axis=0), 10), 1.0, atol=1e-4)


def test_errors_name_camera_and_field():
    contract = make_contract()
    images, depths, pos, vel = _frames(1, np.random.default_rng(3))
    single = {k: v[0] for k, v in images.items()}
    with pytest.raises(PreprocessError, match="camera 'wrist_camera'.*depth"):
        preprocess(contract, single, {}, pos[0], vel[0])
    with pytest.raises(PreprocessError, match="camera 'scene_camera': missing"):
        preprocess(contract, {'wrist_camera': single['wrist_camera']}, {k: v[0] for k, v in depths.items()},
                   pos[0], vel[0])
    with pytest.raises(PreprocessError, match="proprio field 'velocity'"):
        preprocess(contract, single, {k: v[0] for k, v in depths.items()}, pos[0], vel[0, :7])
    with pytest.raises(PreprocessError, match='RGB uint8'):
        preprocess(contract, {**single, 'scene_camera': single['scene_camera'].astype(float)},
                   {k: v[0] for k, v in depths.items()}, pos[0], vel[0])


@pytest.mark.parametrize('size_in, size_out', [((240, 320), (64, 64)), ((30, 40), (7, 11)), ((5, 6), (10, 3))])
def test_resize_matches_the_area_matrix_definition(size_in, size_out):
    img = np.random.default_rng(4).integers(0, 256, size_in + (3,), dtype=np.uint8)
    reference = np.einsum('yh,hwc,xw->cyx', area_weights(size_in[0], size_out[0]), img.astype(np.float64),
                          area_weights(size_in[1], size_out[1]))
    np.testing.assert_allclose(resize_area(img, *size_out), reference, atol=1e-3)


FEATURES = ['previous_command', 'object_position', 'target_position']


def _state(num, rng):
    return {'object_position': rng.normal(size=(num, 3)), 'target_position': rng.normal(size=(num, 3)),
            'previous_command': rng.normal(size=(num, 8))}


def test_state_features_preprocess_and_batch_identical():
    rng = np.random.default_rng(5)
    pos, vel, state = rng.normal(size=(40, 10)), rng.normal(size=(40, 10)), _state(40, rng)
    mean, std = proprio_statistics(pos, vel, state_features=FEATURES, state=state)
    assert mean.shape == (20 + 8 + 3 + 3,)
    contract = make_contract()
    contract.observation = ObservationSpec(contract.observation.cameras, JOINTS, proprio_mean=mean, proprio_std=std,
                                           state_features=FEATURES)
    images, depths, _, _ = _frames(5, rng)
    batch = preprocess_batch(contract, images, depths, pos[:5], vel[:5], state={k: v[:5] for k, v in state.items()})
    assert batch['proprio'].shape == (5, 34)
    # layout: positions, velocities, then the features in the listed order, each normalised by its own stats
    raw = np.concatenate([pos[:5], vel[:5], state['previous_command'][:5], state['object_position'][:5],
                          state['target_position'][:5]], axis=1)
    np.testing.assert_allclose(batch['proprio'], (raw - mean) / std, rtol=1e-5, atol=1e-5)
    for t in range(5):
        single = preprocess(contract, {k: v[t] for k, v in images.items()}, {k: v[t] for k, v in depths.items()},
                            pos[t], vel[t], state={k: v[t] for k, v in state.items()})
        for name in batch:
            np.testing.assert_array_equal(single[name][0], batch[name][t])
    contract.onnx_inputs = ['proprio']
    whole = preprocess_batch(contract, {}, None, pos, vel, state=state)['proprio']
    np.testing.assert_allclose(whole.mean(axis=0), 0.0, atol=1e-4)
    np.testing.assert_allclose(whole.std(axis=0), 1.0, atol=1e-4)


def test_state_feature_errors_name_the_feature():
    rng = np.random.default_rng(6)
    contract = make_contract()
    contract.observation = ObservationSpec([], JOINTS, state_features=['object_position'])
    contract.onnx_inputs = ['proprio']
    pos, vel = rng.normal(size=10), rng.normal(size=10)
    with pytest.raises(PreprocessError, match="state feature 'object_position'.*has no"):
        preprocess(contract, {}, None, pos, vel)
    with pytest.raises(PreprocessError, match=r"state feature 'object_position': expected shape \(3,\)"):
        preprocess(contract, {}, None, pos, vel, state={'object_position': np.zeros(8)})
    with pytest.raises(PreprocessError, match="state feature 'target_position'"):
        proprio_statistics(pos[None], vel[None], state_features=['target_position'], state={})


def test_end_effector_position_is_derived_from_the_joints():
    """The derived feature equals the simulator's own tool-centre-point site after moving the arm."""
    import mujoco

    from rlhf_common.robot import JOINT_NAMES
    from rlhf_sim.env import ManipulationEnv
    from rlhf_sim.robot import EE_SITE
    env = ManipulationEnv(task='pick_place', cameras=(), seed=0)
    site = mujoco.mj_name2id(env.model, mujoco.mjtObj.mjOBJ_SITE, EE_SITE)
    rng = np.random.default_rng(7)
    positions, sites = [], []
    try:
        obs, _ = env.reset(seed=1)
        for _ in range(3):
            command = np.r_[obs['joint_positions'][:7] + rng.uniform(-0.1, 0.1, 7), 0.04]
            for _ in range(5):
                obs, *_ = env.step(command)
            positions.append(obs['joint_positions'].copy())
            sites.append(env.data.site_xpos[site].copy())
    finally:
        env.close()
    positions = np.array(positions)
    obs_spec = ObservationSpec([], JOINT_NAMES, proprio_fields=('position',), state_features=['end_effector_position'])
    contract = PolicyContract(obs_spec, ActionSpec.for_panda())
    batch = preprocess_batch(contract, {}, None, positions, np.zeros_like(positions))['proprio']
    np.testing.assert_allclose(batch[:, 9:], np.array(sites), atol=1e-5)
    assert np.ptp(np.array(sites), axis=0).max() > 0.01  # the arm really moved between frames
    for t in range(3):
        np.testing.assert_array_equal(preprocess(contract, {}, None, positions[t], positions[t] * 0)['proprio'][0],
                                      batch[t])
    with pytest.raises(ValueError, match='end_effector_position'):
        ObservationSpec([], JOINT_NAMES[2:], state_features=['end_effector_position'])
