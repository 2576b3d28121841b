# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""Reinforcement learning environments and RL on a learned reward.

- ``PointReachEnv``: a 2-D point mass moved towards a random goal (reward -distance). A task with a known
  answer, small enough that SAC and the learned-reward loop can be checked in seconds.
- ``ReachEnv``: reaching with the simulated Panda (``rlhf_sim.env.ManipulationEnv``, state only): move the
  end effector to a random target near its start; reward -distance (m), success when closer than
  ``success_distance``. Actions in [-1, 1]^8 become joint targets through ``ActionSpec.to_command``, the
  mapping the deployed policy node uses.
- ``RunningMeanStd`` and ``LearnedRewardWrapper``: replace an environment's reward by a reward model's
  r_hat(o, a) (an ensemble gives its mean), normalised by running statistics.
- ``train_on_learned_reward(env, reward_model, config)``: SAC (DroQ) on that reward.
"""

import gymnasium as gym
import numpy as np
import torch

from rlhf_training.sac import SACConfig, state_input, train_sac


class PointReachEnv(gym.Env):
    """Point in [-1, 1]^2 moved by ``step_size * action`` towards a random goal; reward -|p - g|.

    Observation: [p (2), g - p (2)] float32. ``info['distance']`` and ``info['success']`` (distance below
    ``success_distance`` at that step). Episodes are truncated after ``max_episode_steps``.
    """

    def __init__(self, max_episode_steps=30, step_size=0.1, success_distance=0.1):
        self.observation_space = gym.spaces.Box(-2.0, 2.0, shape=(4,), dtype=np.float32)
        self.action_space = gym.spaces.Box(-1.0, 1.0, shape=(2,), dtype=np.float32)
        self.max_episode_steps = int(max_episode_steps)
        self.step_size = float(step_size)
        self.success_distance = float(success_distance)
        self.pos = np.zeros(2)
        self.goal = np.zeros(2)
        self.steps = 0

    def _obs(self):
        return np.concatenate([self.pos, self.goal - self.pos]).astype(np.float32)

    def _info(self):
        distance = float(np.linalg.norm(self.goal - self.pos))
        return {'distance': distance, 'success': distance < self.success_distance}

    def reset(self, seed=None, options=None):
        super().reset(seed=seed)
        self.pos = self.np_random.uniform(-1.0, 1.0, size=2)
        self.goal = self.np_random.uniform(-1.0, 1.0, size=2)
        self.steps = 0
        return self._obs(), self._info()

    def step(self, action):
        a = np.clip(np.asarray(action, dtype=np.float64).reshape(2), -1.0, 1.0)
        self.pos = np.clip(self.pos + self.step_size * a, -1.0, 1.0)
        self.steps += 1
        info = self._info()
        return self._obs(), -info['distance'], False, self.steps >= self.max_episode_steps, info


class ReachEnv(gym.Env):
    """Reach a random end-effector target with the simulated Panda (state only, dense reward -distance).

    Reward: ``-reward_scale * distance`` (m); the default scale 10 makes per-step rewards O(1), the size of the
    entropy bonus at SAC's initial temperature 1.2, so the reward is not drowned by exploration at the start.

    Observation (float32, 28): arm+finger joint positions (9), joint velocities (9, scaled by 0.1),
    end-effector position (3), target position (3), target - end effector (3, in decimetres, so the
    quantity the policy must drive to zero is O(1)) and the time through the episode (1, in [0, 1]).
    The target is the end effector's start position plus a uniform offset in +-``target_range`` (m) per
    axis, so it is reachable whatever the start pose. The gripper part of the action is ignored by the
    reward but still sent (the full 8-D action keeps the policy interface of every other task).
    """

    def __init__(self, task='pick_place', max_episode_steps=60, success_distance=0.05,
                 target_range=(0.15, 0.15, 0.10), max_delta_rad=0.05, control_hz=30.0, reward_scale=10.0):
        from rlhf_policy.actions import ActionSpec
        from rlhf_sim.env import ManipulationEnv
        from rlhf_sim.ik import DifferentialIK

        self.sim = ManipulationEnv(task=task, cameras=(), control_hz=control_hz,
                                   max_episode_steps=max_episode_steps + 1)
        self.ik = DifferentialIK(self.sim.model)
        self.action_spec = ActionSpec.for_panda(max_delta_rad)
        self.observation_space = gym.spaces.Box(-np.inf, np.inf, shape=(28,), dtype=np.float32)
        self.action_space = gym.spaces.Box(-1.0, 1.0, shape=(8,), dtype=np.float32)
        self.max_episode_steps = int(max_episode_steps)
        self.success_distance = float(success_distance)
        self.reward_scale = float(reward_scale)
        self.target_range = np.asarray(target_range, dtype=np.float64)
        self.target = np.zeros(3)
        self.steps = 0
        self._q = np.zeros(9)
        self._qd = np.zeros(9)

    def _ee(self):
        return self.ik.ee_pose(self._q[:7])[0]

    def _obs(self):
        ee = self._ee()
        return np.concatenate([self._q, 0.1 * self._qd, ee, self.target, 10.0 * (self.target - ee),
                               [self.steps / self.max_episode_steps]]).astype(np.float32)

    def _info(self, sim_info=None):
        distance = float(np.linalg.norm(self.target - self._ee()))
        info = {'distance': distance, 'success': distance < self.success_distance}
        if sim_info:
            info['task_progress'] = sim_info.get('progress')
        return info

    def reset(self, seed=None, options=None):
        super().reset(seed=seed)
        sim_seed = None if seed is None else int(seed)
        obs, _ = self.sim.reset(seed=sim_seed)
        self._q = np.asarray(obs['joint_positions'], dtype=np.float64)
        self._qd = np.asarray(obs['joint_velocities'], dtype=np.float64)
        self.target = self._ee() + self.np_random.uniform(-1.0, 1.0, size=3) * self.target_range
        self.steps = 0
        return self._obs(), self._info()

    def step(self, action):
        from rlhf_common.robot import JOINT_NAMES
        command = self.action_spec.to_command(action, self.action_spec.measured_command(JOINT_NAMES, self._q))
        obs, _, _, _, sim_info = self.sim.step(command)
        self._q = np.asarray(obs['joint_positions'], dtype=np.float64)
        self._qd = np.asarray(obs['joint_velocities'], dtype=np.float64)
        self.steps += 1
        info = self._info(sim_info)
        reward = -self.reward_scale * info['distance']
        return self._obs(), reward, False, self.steps >= self.max_episode_steps, info

    def close(self):
        self.sim.close()


class RunningMeanStd:
    """Running mean and variance (Chan et al. parallel update), for reward normalisation."""

    def __init__(self, epsilon=1e-4):
        self.mean = 0.0
        self.var = 1.0
        self.count = float(epsilon)

    def update(self, values):
        x = np.asarray(values, dtype=np.float64).reshape(-1)
        if x.size == 0:
            return
        batch_mean, batch_var, n = float(x.mean()), float(x.var()), x.size
        delta = batch_mean - self.mean
        total = self.count + n
        self.mean += delta * n / total
        m2 = self.var * self.count + batch_var * n + delta ** 2 * self.count * n / total
        self.var = m2 / total
        self.count = total

    @property
    def std(self):
        return float(np.sqrt(self.var))


class LearnedRewardWrapper(gym.Wrapper):
    """Replaces the environment's reward by a reward model's r_hat(o, a), normalised online.

    ``reward_model`` is a ``RewardModel`` or ``RewardEnsemble`` (its mean) taking an observation dict and the
    action in [-1, 1], or any callable ``(obs_tensor (1, D), action_tensor (1, A)) -> (1,)``.
    ``obs_fn`` maps the environment's observation to the model's input: a state vector (given to the model as
    ``{'proprio': state}``) or a dict of arrays with a batch dim of 1 (e.g. ``rlhf_policy.preprocess.preprocess``
    output for a model trained on a policy contract). Default: the observation as a flat float32 vector.
    The reward given to the agent is (r_hat - mean) / std with running statistics when ``center`` is true,
    else r_hat / std (scale only: keeps the sign of r_hat, which matters when episodes can terminate early).
    The true environment reward stays available as ``info['env_reward']``.
    """

    def __init__(self, env, reward_model, obs_fn=None, normalize=True, center=False, clip=10.0):
        super().__init__(env)
        self.reward_model = reward_model
        self.obs_fn = obs_fn or (lambda obs: np.asarray(obs, dtype=np.float32).reshape(-1))
        self.normalize = bool(normalize)
        self.center = bool(center)
        self.clip = float(clip)
        self.stats = RunningMeanStd()
        self._last_obs = None
        if isinstance(reward_model, torch.nn.Module):
            reward_model.eval()

    def reset(self, **kwargs):
        obs, info = self.env.reset(**kwargs)
        self._last_obs = obs
        return obs, info

    @torch.no_grad()
    def model_reward(self, obs, action):
        """Raw r_hat(o, a) of the observation the action was taken in."""
        features = self.obs_fn(obs)
        a = torch.as_tensor(np.asarray(action, dtype=np.float32), dtype=torch.float32).reshape(1, -1)
        model = self.reward_model
        if isinstance(features, dict):  # already the model's input dict, with a batch dim of 1
            inputs = {k: torch.as_tensor(v, dtype=torch.float32) for k, v in features.items()}
        else:
            x = torch.as_tensor(features, dtype=torch.float32).reshape(1, -1)
            inputs = state_input(x) if isinstance(model, torch.nn.Module) else x
        value = float(model(inputs, a).reshape(-1)[0])
        if not np.isfinite(value):
            raise FloatingPointError(f'reward model returned {value} (observation {obs!r:.200})')
        return value

    def step(self, action):
        if self._last_obs is None:
            raise RuntimeError('LearnedRewardWrapper: call reset() before step()')
        r_hat = self.model_reward(self._last_obs, action)
        obs, env_reward, terminated, truncated, info = self.env.step(action)
        self._last_obs = obs
        info = dict(info, env_reward=float(env_reward), model_reward=r_hat)
        reward = r_hat
        if self.normalize:
            self.stats.update([r_hat])
            reward = (r_hat - self.stats.mean) if self.center else r_hat
            reward = float(np.clip(reward / (self.stats.std + 1e-8), -self.clip, self.clip))
        return obs, reward, terminated, truncated, info


class ContractActionEnv(gym.Wrapper):
    """``ManipulationEnv`` with normalised actions in [-1, 1]^8 mapped by ``ActionSpec.to_command``.

    The mapping is the deployed policy node's. With ``privileged_state`` the observation dict also carries the
    simulation's task state (``object_positions`` (3 N,) and ``target_position`` (3,)), state the SAC actor may
    use; a reward model only sees what its contract lists.
    """

    def __init__(self, env, action_spec, privileged_state=True):
        super().__init__(env)
        self.action_spec = action_spec
        self.privileged_state = bool(privileged_state)
        self.action_space = gym.spaces.Box(-1.0, 1.0, shape=(8,), dtype=np.float32)
        spaces = dict(env.observation_space.spaces)
        if self.privileged_state:
            n = len(env.unwrapped.task_state().object_names)
            spaces['object_positions'] = gym.spaces.Box(-np.inf, np.inf, (3 * n,), np.float32)
            spaces['target_position'] = gym.spaces.Box(-np.inf, np.inf, (3,), np.float32)
        self.observation_space = gym.spaces.Dict(spaces)
        self._q = None

    def _augment(self, obs, info):
        self._q = np.asarray(obs['joint_positions'], dtype=np.float64)
        if self.privileged_state:
            state = info['task_state']
            obs = dict(obs, object_positions=state.object_poses[:, :3].reshape(-1).astype(np.float32),
                       target_position=np.asarray(state.target_pose[:3], dtype=np.float32))
        return obs

    def reset(self, **kwargs):
        obs, info = self.env.reset(**kwargs)
        return self._augment(obs, info), info

    def step(self, action):
        from rlhf_common.robot import JOINT_NAMES
        command = self.action_spec.to_command(action, self.action_spec.measured_command(JOINT_NAMES, self._q))
        obs, reward, terminated, truncated, info = self.env.step(command)
        return self._augment(obs, info), reward, terminated, truncated, info


def contract_obs_fn(contract):
    """ManipulationEnv observation dict -> the reward model's preprocessed inputs under ``contract``."""
    from rlhf_common.robot import JOINT_NAMES
    from rlhf_policy.preprocess import preprocess
    names = list(JOINT_NAMES)
    missing = [n for n in contract.observation.joint_names if n not in names]
    if missing:
        raise ValueError(f'contract observation.joint_names {missing} are not joints of the simulation')
    index = np.array([names.index(n) for n in contract.observation.joint_names])
    cameras = [c.name for c in contract.observation.cameras]

    def obs_fn(obs):
        images = {c: obs[f'{c}/color'] for c in cameras}
        depths = {c: obs[f'{c}/depth'] for c in cameras if f'{c}/depth' in obs}
        q, qd = np.asarray(obs['joint_positions']), np.asarray(obs['joint_velocities'])
        return preprocess(contract, images, depths, q[index], qd[index])
    return obs_fn


def train_on_learned_reward(env, reward_model, config=None, eval_env=None, obs_fn=None, normalize=True,
                            center=False, progress=True, callback=None):
    """SAC (DroQ) on ``env`` with its reward replaced by ``reward_model``; evaluation uses the true reward.

    ``eval_env`` (default: a second reference to ``env`` unwrapped) reports true returns and success, so the
    learning curve says whether optimising r_hat improved the task.
    """
    wrapped = LearnedRewardWrapper(env, reward_model, obs_fn=obs_fn, normalize=normalize, center=center)
    return train_sac(wrapped, config or SACConfig(), eval_env=eval_env if eval_env is not None else env,
                     progress=progress, callback=callback)


RL_RUN_KEYS = {'algorithm': 'rl', 'reward_checkpoint': '', 'task': 'pick_place', 'max_episode_steps': 300,
               'privileged_state': True, 'normalize_reward': True, 'center_reward': False,
               'out_dir': 'runs/rl', 'progress': True}


def run_from_file(config_path, overrides=()):
    """``train --config rl.yaml [key=value ...]``: SAC (DroQ) in ManipulationEnv on a Bradley-Terry reward.

    The reward ensemble and its policy contract come from a reward training run (``reward_checkpoint``: its
    checkpoint file or run directory); the environment renders the cameras the contract lists.
    """
    import yaml

    from rlhf_policy.contract import PolicyContract
    from rlhf_sim.env import ManipulationEnv
    from rlhf_training.checkpoint import load_reward_ensemble
    from rlhf_training.sac import SACConfig, SACConfigError, save_run
    from rlhf_training.trainer import load_checkpoint

    config, run = SACConfig.load(config_path, overrides, RL_RUN_KEYS)
    if run['algorithm'] != 'rl':
        raise SACConfigError(f"{config_path}: field 'algorithm': expected 'rl', got {run['algorithm']!r}")
    if not run['reward_checkpoint']:
        raise SACConfigError(f"{config_path}: field 'reward_checkpoint': expected the checkpoint (or run "
                             f'directory) of a reward training run, got nothing')
    state = load_checkpoint(run['reward_checkpoint'])
    ensemble = load_reward_ensemble(state)
    contract_yaml = state.get('extra', {}).get('contract_yaml')
    if not contract_yaml:
        raise SACConfigError(f"{run['reward_checkpoint']}: the reward checkpoint holds no policy contract")
    contract = PolicyContract.from_dict(yaml.safe_load(contract_yaml))

    def make():
        cams = contract.observation.cameras
        sim = ManipulationEnv(task=run['task'], cameras=tuple(c.name for c in cams),
                              depth=any(c.use_depth for c in cams), control_hz=contract.rate_hz,
                              max_episode_steps=int(run['max_episode_steps']))
        return ContractActionEnv(sim, contract.action, privileged_state=bool(run['privileged_state']))
    env, eval_env = make(), make()
    try:
        result = train_on_learned_reward(env, ensemble, config, eval_env=eval_env, obs_fn=contract_obs_fn(contract),
                                         normalize=bool(run['normalize_reward']), center=bool(run['center_reward']),
                                         progress=bool(run['progress']))
    finally:
        env.close()
        eval_env.close()
    return save_run(result, run['out_dir'], config, run, extra={'contract_yaml': contract_yaml})
