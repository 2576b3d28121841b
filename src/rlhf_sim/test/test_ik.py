# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""Differential IK: motion in the commanded direction, joint limits, pose convergence."""

import numpy as np
import pytest

from rlhf_sim.ik import DifferentialIK, orientation_error, quat_to_mat
from rlhf_sim.robot import HOME_ARM_QPOS, build_model


@pytest.fixture(scope='module')
def ik():
    return DifferentialIK(build_model(''))


@pytest.mark.parametrize('axis', range(3))
@pytest.mark.parametrize('sign', [1.0, -1.0])
def test_linear_twist_moves_ee_in_commanded_direction(ik, axis, sign):
    q = HOME_ARM_QPOS.copy()
    twist = np.zeros(6)
    twist[axis] = 0.1 * sign
    dt = 1.0 / 30.0
    before, _ = ik.ee_pose(q)
    after, _ = ik.ee_pose(ik.twist_to_joint_targets(q, twist, dt))
    moved = after - before
    direction = twist[:3] / np.linalg.norm(twist[:3])
    assert moved @ direction == pytest.approx(0.1 * dt, rel=0.1)
    assert np.linalg.norm(moved - (moved @ direction) * direction) < 0.1 * np.linalg.norm(moved)


def test_angular_twist_rotates_about_world_z(ik):
    q = HOME_ARM_QPOS.copy()
    _, quat0 = ik.ee_pose(q)
    for _ in range(10):
        q = ik.twist_to_joint_targets(q, np.array([0, 0, 0, 0, 0, 0.5]), 1.0 / 30.0)
    _, quat1 = ik.ee_pose(q)
    rotation = orientation_error(quat1, quat0)   # rotation from the start to the end, world frame
    assert rotation[2] == pytest.approx(0.5 * 10 / 30.0, rel=0.15)
    assert abs(rotation[0]) < 0.02 and abs(rotation[1]) < 0.02


def test_joint_limits_hold_when_pushed_out_of_reach(ik):
    q = HOME_ARM_QPOS.copy()
    lower, upper = ik.idx.arm_lower, ik.idx.arm_upper
    for twist in ([1.0, 0, 0, 0, 0, 0], [0, 0, -1.0, 0, 0, 0], [0, 0, 0, 0, 0, 3.0]):
        for _ in range(150):
            q = ik.twist_to_joint_targets(q, np.array(twist), 1.0 / 30.0)
            assert np.all(q >= lower) and np.all(q <= upper), q
    # From home a yaw push about world z (the gripper points down) must drive joint 7 up to its limit
    # margin (0.02 rad), stopping at most one tick's motion (2.61 rad/s / 30) short of it.
    q = HOME_ARM_QPOS.copy()
    for _ in range(150):
        q = ik.twist_to_joint_targets(q, np.array([0, 0, 0, 0, 0, 3.0]), 1.0 / 30.0)
    assert min(abs(q[6] - (lower[6] + 0.02)), abs(q[6] - (upper[6] - 0.02))) < 2.61 / 30.0, q


def test_velocity_limit_per_tick(ik):
    q = HOME_ARM_QPOS.copy()
    q_next = ik.twist_to_joint_targets(q, np.array([5.0, 5.0, 5.0, 10.0, 10.0, 10.0]), 0.01)
    assert np.all(np.abs(q_next - q) <= np.array([2.175] * 4 + [2.61] * 3) * 0.01 + 1e-9)


def test_pose_targets_converge(ik):
    q = HOME_ARM_QPOS.copy()
    pos0, quat0 = ik.ee_pose(q)
    target_pos = pos0 + np.array([0.05, -0.1, -0.12])
    yaw = 0.4
    rz = np.array([[np.cos(yaw), -np.sin(yaw), 0], [np.sin(yaw), np.cos(yaw), 0], [0, 0, 1]])
    from rlhf_sim.ik import mat_to_quat
    target_quat = mat_to_quat(rz @ quat_to_mat(quat0))
    for _ in range(120):
        q = ik.pose_to_joint_targets(q, target_pos, target_quat, 1.0 / 30.0, 0.25, 1.0)
    pos, quat = ik.ee_pose(q)
    assert np.linalg.norm(pos - target_pos) < 2e-3
    assert np.linalg.norm(orientation_error(target_quat, quat)) < 1e-2


def test_bad_twist_shape_is_rejected(ik):
    with pytest.raises(ValueError, match='twist'):
        ik.twist_to_joint_targets(HOME_ARM_QPOS, np.zeros(3), 0.1)
