# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""Offline evaluation: a policy drives the simulation (no ROS) through the same control loop as the policy node.

``rollout(contract, runner, ...)`` resets ``rlhf_sim.env.ManipulationEnv`` with seeds ``seed, seed + 1, ...`` and
runs ``rlhf_policy.control_loop.PolicyLoop`` on every control tick: the observations go into the loop's assembler as
the node's subscriptions put them there (stamped with simulated time, so never stale), the loop's command goes
to the simulation. Start-up ramp, limiter and previous-command rule are the node's, so the only difference from an
evaluation through the graph (``rlhf_policy.evaluator_node``) is where the observations come from: the rows are the
same ``EpisodeResult`` with the same metrics. An episode ends at the first task success (the completion time) or
after ``max_steps`` ticks. A few episodes can be rendered to MP4. ``actuation_delay_ticks`` makes the commands
reach the simulation that many ticks late, as the graph's asynchronous topics and a robot's driver do;
``camera_delay_ticks`` feeds camera frames rendered that many ticks before the joint states they come with, as a
camera pipeline (or the simulator node's renderer, out of phase with the control tick) delivers them.
"""

from collections import deque
from pathlib import Path

import numpy as np
from tqdm import tqdm

from rlhf_policy.control_loop import PolicyLoop
from rlhf_policy.episode_metrics import EpisodeResult, mean_action_change, mean_squared_jerk


def feed_observation(assembler, obs, task_state, cameras, now, camera_obs=None):
    """Hand one ``ManipulationEnv`` observation (and its task state) to the assembler at time ``now``.

    ``camera_obs``: the observation whose camera frames to hand over (an earlier one, for a camera delay).
    """
    from rlhf_common.robot import JOINT_NAMES
    frames = obs if camera_obs is None else camera_obs
    for camera in cameras:
        assembler.on_color(camera, frames[f'{camera}/color'], now)
        if f'{camera}/depth' in frames:
            assembler.on_depth(camera, frames[f'{camera}/depth'], now)
    assembler.on_joint_state(JOINT_NAMES, obs['joint_positions'], obs['joint_velocities'], now)
    if task_state is not None and assembler.contract.observation.uses_task_state:
        assembler.on_task_state(np.asarray(task_state.object_poses)[:, :3], np.asarray(task_state.target_pose)[:3],
                                now)


class TickDelay:
    """What was handed in ``ticks`` control ticks ago (a command, a camera frame); until then, ``before``."""

    def __init__(self, ticks: int, name: str = 'actuation_delay_ticks'):
        if ticks < 0:
            raise ValueError(f'{name} must be >= 0, got {ticks}')
        self.pending = deque(maxlen=ticks + 1)

    def __call__(self, value, before):
        self.pending.append(value)
        return self.pending[0] if len(self.pending) == self.pending.maxlen else before


def smoothness_joints(action):
    """The joints whose jerk measures smoothness: those the action commands one by one (not a coupled gripper)."""
    return [j for g in action.groups if not g.coupled for j in g.joints]


def rollout(contract, runner, task='pick_place', episodes=10, seed=0, max_steps=300, loop_settings=None,
            video_dir=None, video_episodes=0, video_camera='scene_camera', video_size=(320, 240), progress=True,
            actuation_delay_ticks=0, camera_delay_ticks=0):
    """``episodes`` offline episodes of ``runner`` (model inputs -> normalised action); a list of EpisodeResult."""
    from rlhf_common.robot import JOINT_NAMES
    from rlhf_recorder.video import write_mp4
    from rlhf_sim.env import ManipulationEnv

    cameras = tuple(c.name for c in contract.observation.cameras)
    use_depth = any(c.use_depth for c in contract.observation.cameras)
    env = ManipulationEnv(task=task, cameras=cameras, depth=use_depth, control_hz=contract.rate_hz,
                          max_episode_steps=max_steps)
    measured = [list(JOINT_NAMES).index(j) for j in smoothness_joints(contract.action)]
    dt = 1.0 / contract.rate_hz
    video_renderer = None
    if video_dir is not None and video_episodes > 0:
        from rlhf_sim.cameras import CameraRenderer
        video_renderer = CameraRenderer(env.model, (video_camera,), video_size[0], video_size[1], False)
    results = []
    try:
        for index in tqdm(range(episodes), desc=f'evaluate {task}', disable=not progress, dynamic_ncols=True):
            ep_seed = seed + index
            obs, info = env.reset(seed=ep_seed)
            loop = PolicyLoop(contract, runner, **(loop_settings or {}))
            delay = TickDelay(actuation_delay_ticks)
            camera_delay, first_obs = TickDelay(camera_delay_ticks, 'camera_delay_ticks'), obs
            frames = [] if video_renderer is not None and index < video_episodes else None
            times, positions, commands = [], [], []
            success_time = float('nan')
            for step in range(max_steps):
                now = step * dt
                if frames is not None:
                    frames.append(video_renderer.render(env.data)[f'{video_camera}/color'])
                feed_observation(loop.assembler, obs, info['task_state'], cameras, now,
                                 camera_delay(obs, first_obs))
                times.append(now)
                positions.append(np.asarray(obs['joint_positions'], dtype=np.float64)[measured])
                tick = loop.tick(now)
                hold = loop.assembler.measured_command.copy()
                if tick.command is None:        # STARTING / HOLD without a command yet: the arm holds its pose
                    command = hold
                else:
                    command = tick.command.copy()
                    commands.append(command)
                obs, _, terminated, truncated, info = env.step(delay(command, hold))
                if info['success']:
                    success_time = (step + 1) * dt
                if terminated or truncated:
                    break
            video = ''
            if frames is not None:
                frames.append(video_renderer.render(env.data)[f'{video_camera}/color'])
                video = str(write_mp4(np.stack(frames), Path(video_dir) / f'{task}_seed{ep_seed}.mp4',
                                      fps=contract.rate_hz))
            results.append(EpisodeResult(
                index=index, seed=ep_seed, success=bool(np.isfinite(success_time)), completion_time_s=success_time,
                duration_s=(step + 1) * dt, final_progress=float(info['progress']),
                mean_squared_jerk=mean_squared_jerk(times, np.array(positions), contract.rate_hz),
                mean_action_change=mean_action_change(commands), commands=len(commands), video=video))
    finally:
        if video_renderer is not None:
            video_renderer.close()
        env.close()
    return results
