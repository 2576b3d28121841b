# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""ManipulationEnv: spaces, seeding, command tracking, task state at reset, rendered depth and intrinsics."""

import mujoco
import numpy as np
import pytest

from rlhf_common.robot import ARM_JOINT_NAMES, FINGER_JOINT_NAMES, GRIPPER_OPEN
from rlhf_sim.cameras import camera_intrinsics
from rlhf_sim.env import ManipulationEnv
from rlhf_sim.robot import HOME_ARM_QPOS
from rlhf_sim.tasks import TASKS


@pytest.fixture(scope='module')
def state_env():
    env = ManipulationEnv('pick_place', cameras=(), seed=0)
    yield env
    env.close()


def test_state_only_observation(state_env):
    obs, info = state_env.reset(seed=0)
    assert set(obs) == {'joint_positions', 'joint_velocities'}
    for key in obs:
        assert obs[key].shape == (9,) and obs[key].dtype == np.float32
    assert state_env.observation_space.contains(obs)
    assert state_env.action_space.shape == (8,)
    np.testing.assert_allclose(obs['joint_positions'][:7], HOME_ARM_QPOS, atol=1e-6)
    assert set(info) >= {'success', 'progress', 'task_state'}


def test_joint_names_are_the_ros_names(state_env):
    model = state_env.model
    names = [model.joint(i).name for i in range(model.njnt)]
    assert tuple(names[:9]) == ARM_JOINT_NAMES + FINGER_JOINT_NAMES


def test_reset_seed_is_reproducible(state_env):
    state_env.reset(seed=7)
    first = state_env.task_state()
    state_env.step(np.concatenate([HOME_ARM_QPOS + 0.1, [0.0]]))
    state_env.reset(seed=7)
    again = state_env.task_state()
    state_env.reset(seed=8)
    other = state_env.task_state()
    np.testing.assert_array_equal(first.object_poses, again.object_poses)
    np.testing.assert_array_equal(first.target_pose, again.target_pose)
    assert np.linalg.norm(first.object_poses[0, :2] - other.object_poses[0, :2]) > 1e-3


def test_unseeded_resets_follow_the_constructor_seed():
    poses = []
    for _ in range(2):
        env = ManipulationEnv('stack', cameras=(), seed=123)
        env.reset()
        poses.append(env.task_state().object_poses)
        env.reset()
        poses.append(env.task_state().object_poses)
    np.testing.assert_array_equal(poses[0], poses[2])
    np.testing.assert_array_equal(poses[1], poses[3])
    assert not np.array_equal(poses[0], poses[1])


def test_arm_and_gripper_track_position_commands(state_env):
    obs, _ = state_env.reset(seed=1)
    target = HOME_ARM_QPOS + np.array([0.3, 0.1, -0.2, 0.2, 0.3, -0.2, 0.5])
    command = np.concatenate([target, [0.01]])
    for _ in range(45):   # 1.5 s at 30 Hz
        obs, *_ = state_env.step(command)
    np.testing.assert_allclose(obs['joint_positions'][:7], target, atol=0.01)
    np.testing.assert_allclose(obs['joint_positions'][7:], [0.01, 0.01], atol=0.002)


def test_control_rate_and_physics_rate(state_env):
    state_env.reset(seed=2)
    t0 = state_env.data.time
    for _ in range(30):
        state_env.step(np.concatenate([HOME_ARM_QPOS, [GRIPPER_OPEN]]))
    assert state_env.data.time - t0 == pytest.approx(1.0, abs=1e-9)
    assert state_env.model.opt.timestep == pytest.approx(1.0 / 500.0)


def test_bad_action_names_the_shape(state_env):
    state_env.reset(seed=0)
    with pytest.raises(ValueError, match='8'):
        state_env.step(np.zeros(7))


@pytest.mark.parametrize('task', sorted(TASKS))
def test_success_is_not_true_at_reset(task):
    env = ManipulationEnv(task, cameras=())
    for seed in range(5):
        _, info = env.reset(seed=seed)
        state = info['task_state']
        assert not info['success']
        assert 0.0 <= info['progress'] < 0.3
        assert state.object_poses.shape == (len(state.object_names), 7)
        assert state.target_pose.shape == (7,)
        # the robot holding still must not make it succeed either
        for _ in range(10):
            _, reward, terminated, _, info = env.step(np.concatenate([HOME_ARM_QPOS, [GRIPPER_OPEN]]))
        assert not terminated and not info['success']


def test_truncation_at_max_episode_steps():
    env = ManipulationEnv('pick_place', cameras=(), max_episode_steps=3)
    env.reset(seed=0)
    flags = [env.step(np.concatenate([HOME_ARM_QPOS, [GRIPPER_OPEN]]))[3] for _ in range(3)]
    assert flags == [False, False, True]


def test_rendered_observation_and_depth_geometry():
    width, height = 64, 48
    env = ManipulationEnv('pick_place', width=width, height=height, seed=0)
    try:
        obs, _ = env.reset(seed=3)
        assert env.observation_space.contains(obs)
        for cam in ('scene_camera', 'wrist_camera'):
            color, depth = obs[f'{cam}/color'], obs[f'{cam}/depth']
            assert color.shape == (height, width, 3) and color.dtype == np.uint8
            assert depth.shape == (height, width) and depth.dtype == np.float32
            assert color.std() > 5.0          # a scene, not a blank frame
            assert np.all(depth > 0.0) and np.isfinite(depth).all()
        # Cast rays through a few pixels using the published intrinsics: the rendered depth (z distance in
        # metres) must match what MuJoCo's ray caster finds, which checks the intrinsics and the depth scale.
        model, data = env.model, env.data
        for cam in ('scene_camera', 'wrist_camera'):
            k = camera_intrinsics(model, cam, width, height)
            cam_id = model.camera(cam).id
            origin, rot = data.cam_xpos[cam_id], data.cam_xmat[cam_id].reshape(3, 3)
            checked = 0
            for u, v in [(10, 30), (32, 24), (50, 40), (20, 40)]:
                ray_cam = np.array([(u - k[0, 2]) / k[0, 0], -(v - k[1, 2]) / k[1, 1], -1.0])
                direction = rot @ ray_cam
                geom = np.zeros(1, dtype=np.int32)
                dist = mujoco.mj_ray(model, data, origin, direction / np.linalg.norm(direction),
                                     np.array([1, 1, 1, 0, 0, 0], dtype=np.uint8), 1, -1, geom)
                if dist < 0:
                    continue
                expected = dist / np.linalg.norm(direction)   # z distance (ray_cam has unit z)
                assert obs[f'{cam}/depth'][v, u] == pytest.approx(expected, rel=0.03, abs=0.005), (cam, u, v)
                checked += 1
            assert checked >= 2
    finally:
        env.close()


def test_gymnasium_env_checker_passes():
    from gymnasium.utils.env_checker import check_env
    env = ManipulationEnv('insertion', cameras=())
    check_env(env, skip_render_check=True)   # spaces, seeding determinism, step/reset signatures
