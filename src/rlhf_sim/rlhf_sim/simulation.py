# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""The simulation core shared by the Gymnasium environment and the ROS node.

It owns the MuJoCo model and data of one task, applies position commands (held until the next one, as a
ros2_control forward command controller does), steps physics, and reports joint and task state.
"""

import mujoco
import numpy as np

from rlhf_common.robot import GRIPPER_OPEN
from rlhf_sim.robot import HOME_ARM_QPOS, RobotIndices, build_model
from rlhf_sim.tasks import TaskState, make_task


class Simulation:
    """One task's scene: ``reset(seed)``, ``set_command(cmd)``, ``step(n)``, state read-outs."""

    def __init__(self, task: str = 'pick_place', physics_hz: float = 500.0, seed=None):
        if not physics_hz > 0:
            raise ValueError(f'physics_hz must be positive, got {physics_hz}')
        self.task = make_task(task)
        self.model = build_model(self.task.objects_xml(), timestep=1.0 / physics_hz)
        self.data = mujoco.MjData(self.model)
        self.idx = RobotIndices(self.model)
        self.task.bind(self.model)
        self._seed_rng = np.random.default_rng(seed)
        self.seed = None
        self.command = np.concatenate([HOME_ARM_QPOS, [GRIPPER_OPEN]])
        self.reset()

    @property
    def task_name(self) -> str:
        return self.task.name

    @property
    def physics_hz(self) -> float:
        return 1.0 / self.model.opt.timestep

    def reset(self, seed=None) -> int:
        """Home the robot, randomise the objects from ``seed`` (a fresh one if None); return the seed used."""
        if seed is None or seed < 0:
            seed = int(self._seed_rng.integers(0, 2**31 - 1))
        self.seed = int(seed)
        rng = np.random.default_rng(self.seed)
        mujoco.mj_resetData(self.model, self.data)
        self.data.qpos[self.idx.arm_qpos] = HOME_ARM_QPOS
        self.data.qpos[self.idx.qpos[7:]] = GRIPPER_OPEN
        self.task.randomise(self.data, rng)
        self.set_command(np.concatenate([HOME_ARM_QPOS, [GRIPPER_OPEN]]))
        mujoco.mj_forward(self.model, self.data)
        self.task.start_episode(self.data)
        return self.seed

    def set_command(self, command) -> np.ndarray:
        """Hold position targets: 7 arm joints (rad) + finger opening (m per finger); returns them clipped."""
        command = np.asarray(command, dtype=float).reshape(-1)
        if command.shape != (8,) or not np.all(np.isfinite(command)):
            raise ValueError(f'expected 8 finite values (7 arm joint targets + gripper opening), got {command}')
        self.set_arm_command(command[:7])
        self.set_gripper_command(command[7])
        return self.command.copy()

    def set_arm_command(self, arm) -> None:
        arm = np.clip(np.asarray(arm, dtype=float), self.idx.ctrl_lower[:7], self.idx.ctrl_upper[:7])
        self.command[:7] = arm
        self.data.ctrl[self.idx.actuators[:7]] = arm

    def set_gripper_command(self, opening: float) -> None:
        opening = float(np.clip(opening, self.idx.ctrl_lower[7], self.idx.ctrl_upper[7]))
        self.command[7] = opening
        self.data.ctrl[self.idx.actuators[7:]] = opening  # both fingers follow one command, like the real hand

    def step(self, n: int = 1) -> None:
        """Advance physics by ``n`` steps of the model's timestep."""
        if n > 0:
            mujoco.mj_step(self.model, self.data, nstep=int(n))

    def joint_state(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Positions, velocities and actuator efforts (N m or N) in JOINT_NAMES order."""
        return (self.data.qpos[self.idx.qpos].copy(), self.data.qvel[self.idx.qvel].copy(),
                self.data.qfrc_actuator[self.idx.qvel].copy())

    def task_state(self) -> TaskState:
        return self.task.evaluate(self.data)

    @property
    def time(self) -> float:
        return float(self.data.time)
