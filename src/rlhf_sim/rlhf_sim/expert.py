# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""Scripted experts: a Cartesian pick-and-place state machine per task, and a gym controller around it.

The expert sees what a teleoperation node sees (end-effector pose, gripper opening, the simulator's task
state) and answers with what a person on a SpaceMouse would give: a twist and a gripper target. It only
uses fields that /rlhf_sim/task_state carries, so the ROS teleop node can run it unchanged.
"""

import numpy as np

from rlhf_common.robot import FINGER_JOINT_NAMES, GRIPPER_CLOSED, GRIPPER_OPEN, JOINT_NAMES, gripper_opening
from rlhf_sim.ik import DifferentialIK, TargetIntegrator, mat_to_quat, orientation_error, quat_to_mat
from rlhf_sim.tasks import CUBE_HALF, PEG_HALF_LENGTH, SOCKET_HEIGHT, TASKS, TaskState

FINGERS = [JOINT_NAMES.index(n) for n in FINGER_JOINT_NAMES]   # in the simulation's joint order
_DOWN = np.diag([1.0, -1.0, -1.0])   # gripper pointing down, fingers closing along world y (yaw 0)

# Per task: ee height above the object centre when grasping, and the object-centre height to release at.
_GRASP_DZ = {'pick_place': 0.012, 'stack': 0.012, 'insertion': 0.03, 'reach': 0.0}
_RELEASE_OBJECT_Z = {
    'pick_place': CUBE_HALF + 0.004,
    'stack': 3 * CUBE_HALF + 0.006,           # on top of the base cube (adjusted to its actual height)
    'insertion': PEG_HALF_LENGTH + 0.012,     # peg bottom 1.2 cm above the socket floor, well inside
}
_LOWER_XY_TOLERANCE = {'pick_place': 0.008, 'stack': 0.005, 'insertion': 0.003}
CARRY_HEIGHT = 0.14        # object-centre height while carrying (clears the socket and the other cube)
HOVER = 0.08               # ee height above the grasp height before descending


def _yaw_of(quat) -> float:
    mat = quat_to_mat(quat)
    return float(np.arctan2(mat[1, 0], mat[0, 0]))


def _wrap_quarter(angle: float) -> float:
    """Angle modulo pi/2 into [-pi/4, pi/4): a square's symmetry."""
    return float((angle + np.pi / 4) % (np.pi / 2) - np.pi / 4)


def _down_quat(yaw: float) -> np.ndarray:
    c, s = np.cos(yaw), np.sin(yaw)
    rz = np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])
    return mat_to_quat(rz @ _DOWN)


class ScriptedExpert:
    """approach -> descend -> close -> lift -> carry -> lower -> release -> retreat, with regrasp on a drop.

    For ``reach`` there is no object to handle: the expert moves the gripper to the goal marker.
    """

    PHASES = ('approach', 'descend', 'close', 'lift', 'carry', 'lower', 'release', 'retreat', 'done')

    def __init__(self, task: str, noise: float = 0.0, seed=None, max_speed: float = 0.3, gain: float = 6.0,
                 aim_offset=(0.0, 0.0, 0.0)):
        if task not in TASKS:
            raise ValueError(f'unknown task {task!r}; expected one of {sorted(TASKS)}')
        if noise < 0:
            raise ValueError(f'noise must be >= 0, got {noise}')
        self.task = task
        self.noise = float(noise)
        # A systematic error of where this operator puts the hand or the object (m, world frame), as a person
        # misjudging depth on a camera image: demonstrations of a sloppy operator, not of random noise.
        self.aim_offset = np.asarray(aim_offset, dtype=float).reshape(3)
        self.max_speed = float(max_speed)
        self.gain = float(gain)
        self._rng = np.random.default_rng(seed)
        self.reset()

    def reset(self) -> None:
        self.phase = 'approach'
        self._ticks_in_phase = 0
        self._grasp_yaw = None
        self._gripper = GRIPPER_OPEN
        self._last_opening = None

    @property
    def done(self) -> bool:
        return self.phase == 'done'

    def _next(self, phase: str) -> None:
        self.phase = phase
        self._ticks_in_phase = 0

    def act(self, ee_pos, ee_quat, gripper_opening: float, task_state: TaskState) -> tuple[np.ndarray, float]:
        """Twist (6,) [m/s, rad/s, world frame] and gripper target (m per finger) for this control tick."""
        ee_pos = np.asarray(ee_pos, dtype=float)
        obj = np.asarray(task_state.object_poses[0][:3], dtype=float)
        target = np.asarray(task_state.target_pose[:3], dtype=float) + self.aim_offset
        self._ticks_in_phase += 1
        if self._grasp_yaw is None or self.phase in ('approach', 'descend'):
            current_yaw = _yaw_of(ee_quat)
            obj_yaw = _yaw_of(task_state.object_poses[0][3:7]) if self.task != 'insertion' else current_yaw
            self._grasp_yaw = current_yaw + _wrap_quarter(obj_yaw - current_yaw)
        if self.task == 'reach':
            goal, gripper, speed = target.copy(), GRIPPER_OPEN, self.max_speed   # straight to the goal marker
        elif self.phase in ('approach', 'descend', 'close'):
            goal, gripper, speed = self._grasp(ee_pos, obj, gripper_opening)
        elif self.phase in ('lift', 'carry', 'lower'):
            goal, gripper, speed = self._transport(ee_pos, obj, target)
        else:
            goal, gripper, speed = self._let_go(ee_pos, obj, gripper_opening)
        self._last_opening = gripper_opening
        return self._twist_towards(goal, ee_pos, ee_quat, speed, gripper)

    def _grasp(self, ee_pos, obj, gripper_opening):
        """Approach (hover above the object) -> descend -> close (until the fingers have settled on it)."""
        grasp_z = obj[2] + _GRASP_DZ[self.task]
        if self.phase == 'approach':
            goal = np.array([obj[0], obj[1], grasp_z + HOVER])
            if np.linalg.norm(goal - ee_pos) < 0.012:
                self._next('descend')
            return goal, GRIPPER_OPEN, self.max_speed
        goal = np.array([obj[0], obj[1], grasp_z])
        if self.phase == 'descend':
            if np.linalg.norm(goal - ee_pos) < 0.005:
                self._next('close')
            return goal, GRIPPER_OPEN, 0.15
        settled = self._last_opening is not None and abs(gripper_opening - self._last_opening) < 2e-4
        if (settled and gripper_opening < GRIPPER_OPEN - 0.01 and self._ticks_in_phase > 5) \
                or self._ticks_in_phase > 40:
            self._next('lift')
        return goal, GRIPPER_CLOSED, self.max_speed

    def _transport(self, ee_pos, obj, target):
        """Lift -> carry (above the target) -> lower; back to approach when the object slipped out."""
        held_offset = ee_pos - obj   # where the object sits in the hand once grasped
        if np.linalg.norm(held_offset - np.array([0.0, 0.0, _GRASP_DZ[self.task]])) > 0.035:
            self._next('approach')   # the object slipped out: go and grasp it again
            return ee_pos + np.array([0.0, 0.0, 0.03]), GRIPPER_OPEN, self.max_speed
        if self.phase == 'lift':
            goal = np.array([ee_pos[0], ee_pos[1], CARRY_HEIGHT + held_offset[2]])
            if abs(goal[2] - ee_pos[2]) < 0.015:
                self._next('carry')
            return goal, GRIPPER_CLOSED, self.max_speed
        if self.phase == 'carry':
            goal = np.array([target[0], target[1], CARRY_HEIGHT]) + held_offset
            if np.linalg.norm(goal - ee_pos) < 0.008:
                self._next('lower')
            return goal, GRIPPER_CLOSED, self.max_speed
        release_z = target[2] + 0.006 if self.task == 'stack' else _RELEASE_OBJECT_Z[self.task]
        final = np.array([target[0], target[1], release_z]) + held_offset
        goal = final.copy()
        if np.linalg.norm(final[:2] - ee_pos[:2]) > _LOWER_XY_TOLERANCE[self.task]:
            goal[2] = max(final[2], ee_pos[2])   # line up first, then go down (a peg hits the rim)
        if np.linalg.norm(final - ee_pos) < 0.005 or (self._ticks_in_phase > 60 and obj[2] < release_z + 0.01):
            self._next('release')
        return goal, GRIPPER_CLOSED, 0.12

    def _let_go(self, ee_pos, obj, gripper_opening):
        """Release (open the gripper in place) -> retreat (up) -> done."""
        if self.phase == 'release':
            if self.task == 'insertion' and obj[2] - PEG_HALF_LENGTH > SOCKET_HEIGHT:
                self._next('approach')   # the peg is not in the hole after all: start again
            if gripper_opening > GRIPPER_OPEN - 0.008 or self._ticks_in_phase > 30:
                self._next('retreat')
            return ee_pos.copy(), GRIPPER_OPEN, self.max_speed
        if self.phase == 'retreat':
            goal = np.array([ee_pos[0], ee_pos[1], max(ee_pos[2], obj[2] + 0.12)])
            if ee_pos[2] > obj[2] + 0.11:
                self._next('done')
            return goal, GRIPPER_OPEN, self.max_speed
        return ee_pos.copy(), GRIPPER_OPEN, self.max_speed

    def _twist_towards(self, goal, ee_pos, ee_quat, speed, gripper):
        """A proportional, speed-capped twist to ``goal`` (gripper pointing down), plus the operator's noise."""
        linear = self.gain * (goal - ee_pos)
        norm = np.linalg.norm(linear)
        if norm > speed:
            linear *= speed / norm
        angular = np.clip(4.0 * orientation_error(_down_quat(self._grasp_yaw), ee_quat), -1.0, 1.0)
        twist = np.concatenate([linear, angular])
        if self.noise > 0:
            twist += self._rng.normal(0.0, self.noise, 6) * np.array([1, 1, 1, 2, 2, 2])
            if self._rng.random() < min(0.5, 2.0 * self.noise):
                gripper = self._gripper  # hesitation: keep the previous gripper command one more tick
        self._gripper = gripper
        return twist, float(gripper)


class ExpertController:
    """ScriptedExpert + DifferentialIK as a gym policy: ``action(obs)`` gives the (8,) joint command.

    Joint targets integrate as teleop's do (``rlhf_sim.ik.TargetIntegrator``).
    """

    def __init__(self, env, noise: float = 0.0, seed=None, max_lead: float = 0.15, aim_offset=(0.0, 0.0, 0.0)):
        self.env = env.unwrapped
        self.ik = DifferentialIK(self.env.model)
        self.expert = ScriptedExpert(self.env.task, noise=noise, seed=seed, aim_offset=aim_offset)
        self.targets = TargetIntegrator(self.ik, 1.0 / self.env.control_hz, max_lead)

    def reset(self) -> None:
        self.expert.reset()
        self.targets.target = None

    def action(self, obs) -> np.ndarray:
        q = np.asarray(obs['joint_positions'][:7], dtype=float)
        opening = float(gripper_opening(obs['joint_positions'], FINGERS))
        ee_pos, ee_quat = self.ik.ee_pose(q)
        twist, gripper = self.expert.act(ee_pos, ee_quat, opening, self.env.task_state())
        return np.concatenate([self.targets.twist(twist, q), [gripper]])
