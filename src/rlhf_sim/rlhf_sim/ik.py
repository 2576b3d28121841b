# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""Differential inverse kinematics of the Panda: Cartesian twists and poses to joint position targets."""

import mujoco
import numpy as np

from rlhf_sim.robot import HOME_ARM_QPOS, RobotIndices

# Franka's documented joint velocity limits (rad/s).
ARM_VELOCITY_LIMITS = np.array([2.175, 2.175, 2.175, 2.175, 2.61, 2.61, 2.61])


def quat_to_mat(quat) -> np.ndarray:
    """Rotation matrix (3, 3) of a unit quaternion [w, x, y, z]."""
    mat = np.zeros(9)
    mujoco.mju_quat2Mat(mat, np.asarray(quat, dtype=float))
    return mat.reshape(3, 3)


def mat_to_quat(mat) -> np.ndarray:
    """Unit quaternion [w, x, y, z] of a rotation matrix."""
    quat = np.zeros(4)
    mujoco.mju_mat2Quat(quat, np.asarray(mat, dtype=float).reshape(9))
    return quat


def orientation_error(target_quat, current_quat) -> np.ndarray:
    """Rotation vector (world frame, rad) that turns ``current_quat`` into ``target_quat``."""
    local = np.zeros(3)
    mujoco.mju_subQuat(local, np.asarray(target_quat, float), np.asarray(current_quat, float))
    return quat_to_mat(current_quat) @ local


class DifferentialIK:
    """Damped least-squares IK on the end-effector site of a model built by ``rlhf_sim.robot``.

    The returned targets stay inside the joint limits (minus ``limit_margin``); a joint that would leave its
    range is frozen and the twist is redistributed over the others. A weak null-space pull towards the home
    posture keeps the redundant elbow away from awkward configurations during long teleoperation.
    """

    def __init__(self, model: mujoco.MjModel, damping: float = 0.03, nullspace_gain: float = 0.5,
                 limit_margin: float = 0.02, home_q=None):
        self.model = model
        self.data = mujoco.MjData(model)
        self.idx = RobotIndices(model)
        self.damping = float(damping)
        self.nullspace_gain = float(nullspace_gain)
        self.lower = self.idx.arm_lower + limit_margin
        self.upper = self.idx.arm_upper - limit_margin
        self.home_q = np.array(HOME_ARM_QPOS if home_q is None else home_q, dtype=float)
        self._jacp = np.zeros((3, model.nv))
        self._jacr = np.zeros((3, model.nv))

    def _kinematics(self, q) -> None:
        q = np.asarray(q, dtype=float)
        if q.shape != (7,):
            raise ValueError(f'expected 7 arm joint positions, got shape {q.shape}')
        self.data.qpos[self.idx.arm_qpos] = q
        mujoco.mj_kinematics(self.model, self.data)
        mujoco.mj_comPos(self.model, self.data)

    def ee_pose(self, q) -> tuple[np.ndarray, np.ndarray]:
        """End-effector (tool centre point) position (3,) and quaternion [w, x, y, z] in the world frame."""
        self._kinematics(q)
        pos = self.data.site_xpos[self.idx.ee_site].copy()
        return pos, mat_to_quat(self.data.site_xmat[self.idx.ee_site])

    def jacobian(self, q) -> np.ndarray:
        """Geometric Jacobian (6, 7): rows [v; w] of the end-effector site, columns the arm joints."""
        self._kinematics(q)
        mujoco.mj_jacSite(self.model, self.data, self._jacp, self._jacr, self.idx.ee_site)
        cols = self.idx.arm_qvel
        return np.vstack([self._jacp[:, cols], self._jacr[:, cols]])

    def twist_to_joint_targets(self, q, twist, dt: float) -> np.ndarray:
        """Joint targets (7,) that move the end effector by ``twist`` [vx, vy, vz, wx, wy, wz] for ``dt`` s."""
        q = np.asarray(q, dtype=float)
        twist = np.asarray(twist, dtype=float)
        if twist.shape != (6,):
            raise ValueError(f'expected a twist of 6 values [vx vy vz wx wy wz], got shape {twist.shape}')
        jac = self.jacobian(q)
        delta = twist * dt
        free = np.ones(7, dtype=bool)
        dq = np.zeros(7)
        for _ in range(3):  # freeze joints that would cross a limit, then solve again with the rest
            j = jac * free
            jjt = j @ j.T + (self.damping ** 2) * np.eye(6)
            j_pinv = j.T @ np.linalg.solve(jjt, np.eye(6))
            dq = j_pinv @ delta
            null = (np.eye(7) - j_pinv @ j) @ (self.nullspace_gain * (self.home_q - q) * dt)
            dq = (dq + null) * free
            limit = ARM_VELOCITY_LIMITS * dt
            scale = np.max(np.abs(dq) / limit)
            if scale > 1.0:
                dq /= scale
            q_new = q + dq
            crossing = free & ((q_new < self.lower) | (q_new > self.upper))
            if not crossing.any():
                break
            free &= ~crossing
        return np.clip(q + dq, np.minimum(q, self.lower), np.maximum(q, self.upper))

    def pose_to_joint_targets(self, q, target_pos, target_quat, dt: float, max_linear_speed: float = 0.25,
                              max_angular_speed: float = 1.0) -> np.ndarray:
        """Joint targets (7,) for one step of ``dt`` towards a pose, with the Cartesian speed capped."""
        pos, quat = self.ee_pose(q)
        return self.twist_to_joint_targets(q, pose_error_twist(pos, quat, target_pos, target_quat, dt,
                                                               max_linear_speed, max_angular_speed), dt)


def pose_error_twist(pos, quat, target_pos, target_quat, dt, max_linear_speed, max_angular_speed) -> np.ndarray:
    """Twist that closes the pose error within ``dt`` if the speed caps allow it."""
    lin = (np.asarray(target_pos, float) - pos) / dt
    ang = orientation_error(target_quat, quat) / dt
    lin_norm, ang_norm = np.linalg.norm(lin), np.linalg.norm(ang)
    if lin_norm > max_linear_speed:
        lin *= max_linear_speed / lin_norm
    if ang_norm > max_angular_speed:
        ang *= max_angular_speed / ang_norm
    return np.concatenate([lin, ang])


class TargetIntegrator:
    """Joint position targets driven by Cartesian commands, as a position-controlled arm is teleoperated.

    The targets integrate from the previous target (not from the measured joints), so a resting device holds the
    arm still; they may run ahead of the measured joints by at most ``max_lead`` rad (an arm blocked by contact
    does not wind up). Teleop and the scripted expert's gym controller both drive the arm through this.
    """

    def __init__(self, ik: DifferentialIK, dt: float, max_lead: float = 0.15):
        self.ik = ik
        self.dt = float(dt)
        self.max_lead = float(max_lead)
        self.target = None

    def reset(self, q_measured) -> None:
        """Start from the measured arm joints (7,)."""
        self.target = np.array(q_measured, dtype=float)

    def _lead_limited(self, q_target, q_measured) -> np.ndarray:
        q = np.asarray(q_measured, dtype=float)
        self.target = np.clip(q_target, q - self.max_lead, q + self.max_lead)
        return self.target

    def twist(self, twist, q_measured) -> np.ndarray:
        """Targets (7,) after moving the end effector by ``twist`` [vx vy vz wx wy wz] for one tick."""
        if self.target is None:
            self.reset(q_measured)
        return self._lead_limited(self.ik.twist_to_joint_targets(self.target, twist, self.dt), q_measured)

    def pose(self, position, quat, q_measured, max_linear_speed, max_angular_speed) -> np.ndarray:
        """Targets (7,) after one speed-capped tick towards a pose (position (3,), quaternion [w x y z])."""
        if self.target is None:
            self.reset(q_measured)
        q_target = self.ik.pose_to_joint_targets(self.target, position, quat, self.dt, max_linear_speed,
                                                 max_angular_speed)
        return self._lead_limited(q_target, q_measured)
