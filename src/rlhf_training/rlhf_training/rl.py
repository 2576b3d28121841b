# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""RL on a learned reward (the environments are ``rlhf_training.envs``).

- ``RunningMeanStd`` and ``LearnedRewardWrapper``: replace an environment's reward by a reward model's
  r_hat(o, a) (an ensemble gives its mean), normalised by running statistics.
- ``train_on_learned_reward(env, reward_model, config)``: SAC (DroQ) on that reward.
"""

import gymnasium as gym
import numpy as np
import torch

from rlhf_training.config import RLConfig, SACConfig
from rlhf_training.envs import ContractActionEnv, contract_obs_fn
from rlhf_training.sac import state_input, summarize, train_sac


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


def train_on_learned_reward(env, reward_model, config=None, eval_env=None, obs_fn=None, normalize=True,
                            center=False, progress=True, callback=None, save=False):
    """SAC (DroQ) on ``env`` with its reward replaced by ``reward_model``; evaluation uses the true reward.

    ``eval_env`` (default: a second reference to ``env`` unwrapped) reports true returns and success, so the
    learning curve says whether optimising r_hat improved the task.
    """
    wrapped = LearnedRewardWrapper(env, reward_model, obs_fn=obs_fn, normalize=normalize, center=center)
    return train_sac(wrapped, config or SACConfig(), eval_env=eval_env if eval_env is not None else env,
                     progress=progress, callback=callback, save=save)


def run(config: RLConfig) -> dict:
    """``train --config rl.yaml [key=value ...]``: SAC (DroQ) in ManipulationEnv on a Bradley-Terry reward.

    The reward ensemble and its policy contract come from a reward training run (``reward_checkpoint``: its
    checkpoint file or run directory); the environment renders the cameras the contract lists. The actor sees
    the raw joint and task state, not the contract's inputs, so its checkpoint carries no contract.
    """
    from rlhf_sim.env import ManipulationEnv
    from rlhf_training.checkpoint import load_reward_ensemble
    from rlhf_training.config import ConfigError
    from rlhf_training.runs import contract_from_yaml
    from rlhf_training.trainer import load_checkpoint

    if not config.reward_checkpoint:
        raise ConfigError('rl: reward_checkpoint: expected the checkpoint (or run directory) of a reward training '
                          'run, got nothing')
    state = load_checkpoint(config.reward_checkpoint)
    ensemble = load_reward_ensemble(state)
    contract_yaml = state.get('extra', {}).get('contract_yaml')
    if not contract_yaml:
        raise ConfigError(f'{config.reward_checkpoint}: the reward checkpoint holds no policy contract')
    contract = contract_from_yaml(contract_yaml)
    torch.set_num_threads(1)

    def make():
        cams = contract.observation.cameras
        sim = ManipulationEnv(task=config.task, cameras=tuple(c.name for c in cams),
                              depth=any(c.use_depth for c in cams), control_hz=contract.rate_hz,
                              max_episode_steps=config.max_episode_steps)
        return ContractActionEnv(sim, contract.action, privileged_state=config.privileged_state)
    env, eval_env = make(), make()
    try:
        result = train_on_learned_reward(env, ensemble, config, eval_env=eval_env, obs_fn=contract_obs_fn(contract),
                                         normalize=config.normalize_reward, center=config.center_reward,
                                         progress=config.progress, save=True)
    finally:
        env.close()
        eval_env.close()
    return summarize(result, config)
