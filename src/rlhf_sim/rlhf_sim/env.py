# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""Gymnasium environment over the simulation core, for fast rollouts without ROS.

The action is exactly the command the ROS node receives: 7 absolute arm joint targets (rad) and one finger
opening target (m). Observations carry the same data the node publishes (images, depth in metres, joint
positions and velocities in ARM_JOINT_NAMES + FINGER_JOINT_NAMES order).
"""

import gymnasium as gym
from gymnasium import spaces
import mujoco
import numpy as np

from rlhf_sim.cameras import DEFAULT_HEIGHT, DEFAULT_WIDTH, CameraRenderer
from rlhf_sim.robot import CAMERA_NAMES
from rlhf_sim.simulation import Simulation
from rlhf_sim.tasks import TaskState

SUCCESS_BONUS = 1.0


class ManipulationEnv(gym.Env):
    """Franka Panda table-top task; ``cameras=()`` gives a fast state-only environment."""

    metadata = {'render_modes': ['rgb_array']}

    def __init__(self, task: str = 'pick_place', cameras=CAMERA_NAMES, width: int = DEFAULT_WIDTH,
                 height: int = DEFAULT_HEIGHT, depth: bool = True, control_hz: float = 30.0,
                 physics_hz: float = 500.0, max_episode_steps: int = 300, seed=None):
        if not 0 < control_hz <= physics_hz:
            raise ValueError(f'control_hz must be in (0, physics_hz={physics_hz}], got {control_hz}')
        self.sim = Simulation(task, physics_hz=physics_hz, seed=seed)
        self.control_hz = float(control_hz)
        self.max_episode_steps = int(max_episode_steps)
        self.cameras = tuple(cameras)
        self.depth = bool(depth)
        self._renderer = CameraRenderer(self.model, self.cameras, width, height, depth) if self.cameras else None
        idx = self.sim.idx
        self.action_space = spaces.Box(low=idx.ctrl_lower[:8].astype(np.float32),
                                       high=idx.ctrl_upper[:8].astype(np.float32), dtype=np.float32)
        obs_spaces = {
            'joint_positions': spaces.Box(-np.inf, np.inf, (9,), np.float32),
            'joint_velocities': spaces.Box(-np.inf, np.inf, (9,), np.float32),
        }
        for name in self.cameras:
            obs_spaces[f'{name}/color'] = spaces.Box(0, 255, (height, width, 3), np.uint8)
            if self.depth:
                obs_spaces[f'{name}/depth'] = spaces.Box(0.0, np.inf, (height, width), np.float32)
        self.observation_space = spaces.Dict(obs_spaces)
        self._steps = 0
        self._ticks = 0
        self._progress = 0.0
        self._succeeded = False

    @property
    def model(self):
        return self.sim.model

    @property
    def data(self):
        return self.sim.data

    @property
    def task(self) -> str:
        return self.sim.task_name

    def task_state(self) -> TaskState:
        return self.sim.task_state()

    def render_cameras(self) -> dict[str, np.ndarray]:
        """Images of the configured cameras now (empty for a state-only environment)."""
        return self._renderer.render(self.data) if self._renderer is not None else {}

    def render(self):
        images = self.render_cameras()
        return images.get(f'{self.cameras[0]}/color') if self.cameras else None

    def _observation(self) -> dict[str, np.ndarray]:
        positions, velocities, _ = self.sim.joint_state()
        obs = {'joint_positions': positions.astype(np.float32), 'joint_velocities': velocities.astype(np.float32)}
        obs.update(self.render_cameras())
        return obs

    def _info(self, state: TaskState) -> dict:
        return {'success': state.success, 'progress': state.progress, 'task_state': state, 'seed': self.sim.seed}

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.sim.reset(seed)
        self._steps = 0
        self._ticks = 0
        state = self.sim.task_state()
        self._progress = state.progress
        self._succeeded = state.success
        return self._observation(), self._info(state)

    def _substeps(self) -> int:
        # Physics steps per control tick alternate (16/17 at 500/30 Hz) so the average rate is exact.
        ratio = self.sim.physics_hz / self.control_hz
        n = int(round((self._ticks + 1) * ratio)) - int(round(self._ticks * ratio))
        self._ticks += 1
        return n

    def step(self, action):
        action = np.asarray(action, dtype=float)
        if action.shape != (8,):
            raise ValueError(f'action must have shape (8,) = 7 arm joint targets + gripper opening, got {action.shape}')
        self.sim.set_command(action)
        self.sim.step(self._substeps())
        # mj_step leaves body poses one step behind qpos: recompute them so that images, task state and
        # joint positions of this observation describe the same instant (the state itself is unchanged).
        mujoco.mj_forward(self.model, self.data)
        self._steps += 1
        state = self.sim.task_state()
        reward = state.progress - self._progress
        if state.success and not self._succeeded:
            reward += SUCCESS_BONUS
        self._progress = state.progress
        self._succeeded = self._succeeded or state.success
        terminated = bool(state.success)
        truncated = self._steps >= self.max_episode_steps
        return self._observation(), float(reward), terminated, truncated, self._info(state)

    def close(self):
        if self._renderer is not None:
            self._renderer.close()
            self._renderer = None
