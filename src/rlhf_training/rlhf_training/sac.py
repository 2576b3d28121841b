# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""Soft Actor-Critic with the DroQ critic, for Gymnasium environments with vector or dict observations.

DroQ (Hiraoka et al., 2022) regularises SAC's two Q networks with dropout and layer normalisation so that
many critic updates per environment step (a high update-to-data ratio, UTD) stay stable. This module holds:

- ``SACConfig``: the hyperparameters; the defaults are the preset that worked for the piano project
  (lr 3e-4 for all networks, batch 256, tau 0.01, initial temperature 1.2, 3x256 hidden, critic dropout
  0.01 + layer norm). The discount is 0.99, not the piano's 0.8: the piano rewards every key press at once,
  while reaching and manipulation rewards arrive after several control ticks, so a longer horizon matters.
  The UTD ratio defaults to 2 (DroQ uses 20) because this workspace's reference machine is a 2-core CPU.
- ``ObservationFlattener``: turns a Box or a Dict of 1-D Boxes (state-only observations) into one vector.
- ``ReplayBuffer``: preallocated numpy storage of transitions.
- ``DroQCritic``: two Q networks Q(s, a) (MLP with dropout + layer norm) evaluated together.
- ``SACAgent``: actor (the shared ``GaussianPolicy``), critic, target critic (Polyak averaging with tau) and
  the learned temperature (target entropy -|A|); ``act`` and ``update``.
- ``train_sac(env, config)``: the interaction loop (random warm-up, then policy actions; UTD critic updates
  and one actor/temperature update per step), with a progress bar and a learning-curve history.
- ``run_from_file(config_path, overrides)``: what ``train --config config/sac.yaml`` runs.
"""

import copy
from dataclasses import asdict, dataclass, field, fields
import json
import math
from pathlib import Path

import gymnasium as gym
import numpy as np
import torch
from torch import nn
from torch.nn import functional as F  # noqa: N812
from tqdm import tqdm
import yaml

from rlhf_training.config import ConfigError, parse_override
from rlhf_training.models import MLP, PROPRIO_KEY, GaussianPolicy


class SACConfigError(ConfigError):
    """A SAC configuration is malformed; the message names the file/field and what was expected."""


@dataclass
class SACConfig:
    """SAC (DroQ) hyperparameters. Defaults: the piano project's preset, discount 0.99, UTD 2."""

    hidden_dims: tuple = (256, 256, 256)   # actor and each critic
    actor_lr: float = 3e-4
    critic_lr: float = 3e-4
    temperature_lr: float = 3e-4
    batch_size: int = 256
    tau: float = 0.01                      # Polyak averaging rate of the target critic
    discount: float = 0.99
    init_temperature: float = 1.2
    target_entropy: float = None           # None: -|A| (minus the action dimension)
    critic_dropout: float = 0.01           # DroQ: dropout + layer norm in each Q network
    critic_layer_norm: bool = True
    utd_ratio: int = 2                     # critic updates per environment step (DroQ: 20)
    buffer_size: int = 200_000
    warmup_steps: int = 1000               # uniformly random actions before the policy acts
    total_steps: int = 20_000              # environment steps
    eval_every: int = 2000                 # environment steps between deterministic evaluations (0: never)
    eval_episodes: int = 5
    grad_clip_norm: float = 0.0            # 0: no clipping
    seed: int = 0

    def __post_init__(self):
        self.hidden_dims = tuple(int(h) for h in self.hidden_dims)
        checks = [
            ('hidden_dims', all(h > 0 for h in self.hidden_dims) and len(self.hidden_dims) > 0,
             'a non-empty list of positive layer widths'),
            ('actor_lr', self.actor_lr > 0, 'a positive number'),
            ('critic_lr', self.critic_lr > 0, 'a positive number'),
            ('temperature_lr', self.temperature_lr > 0, 'a positive number'),
            ('batch_size', self.batch_size > 0, 'a positive integer'),
            ('tau', 0 < self.tau <= 1, 'a number in (0, 1]'),
            ('discount', 0 <= self.discount < 1, 'a number in [0, 1)'),
            ('init_temperature', self.init_temperature > 0, 'a positive number'),
            ('critic_dropout', 0 <= self.critic_dropout < 1, 'a number in [0, 1)'),
            ('utd_ratio', self.utd_ratio >= 1, 'an integer >= 1'),
            ('buffer_size', self.buffer_size >= self.batch_size, 'an integer >= batch_size'),
            ('warmup_steps', self.warmup_steps >= 0, 'an integer >= 0'),
            ('total_steps', self.total_steps > 0, 'a positive integer'),
            ('eval_every', self.eval_every >= 0, 'an integer >= 0'),
            ('eval_episodes', self.eval_episodes >= 1, 'an integer >= 1'),
            ('grad_clip_norm', self.grad_clip_norm >= 0, 'a number >= 0'),
        ]
        for name, ok, expected in checks:
            if not ok:
                raise SACConfigError(f"field '{name}': expected {expected}, got {getattr(self, name)!r}")

    @classmethod
    def from_dict(cls, data, source='<dict>'):
        """Build from a mapping; unknown keys and wrong types raise SACConfigError naming source and field."""
        if not isinstance(data, dict):
            raise SACConfigError(f'{source}: expected a mapping of SAC settings, got {type(data).__name__}')
        known = {f.name: f for f in fields(cls)}
        kwargs = {}
        for key, value in data.items():
            if key not in known:
                raise SACConfigError(f"{source}: field '{key}': unknown key (expected one of {sorted(known)})")
            default = known[key].default
            try:
                if key == 'hidden_dims':
                    value = tuple(int(v) for v in value)
                elif value is not None and isinstance(default, bool):
                    if not isinstance(value, bool):
                        raise TypeError('expected true or false')
                elif value is not None and isinstance(default, int):
                    if isinstance(value, bool) or float(value) != int(value):
                        raise TypeError('expected an integer')
                    value = int(value)
                elif value is not None and (isinstance(default, float) or default is None):
                    value = float(value)
            except (TypeError, ValueError) as err:
                raise SACConfigError(f"{source}: field '{key}': {err} (got {value!r})") from None
            kwargs[key] = value
        try:
            return cls(**kwargs)
        except SACConfigError as err:
            raise SACConfigError(f'{source}: {err}') from None

    @classmethod
    def load(cls, path, overrides=(), run_keys=()):
        """Read a YAML file plus ``key=value`` overrides -> (SACConfig, {run key: value}).

        ``run_keys`` (with their defaults) are the run-level settings the file may hold beside the SAC
        hyperparameters (e.g. ``algorithm``, ``env``, ``out_dir``); any other unknown key is an error.
        """
        data = read_yaml(path)
        for item in overrides:
            key, value = parse_override(item)
            data[key] = value
        run = dict(run_keys)
        for key in list(data):
            if key in run:
                run[key] = data.pop(key)
        return cls.from_dict(data, source=str(path)), run

    def to_dict(self):
        d = asdict(self)
        d['hidden_dims'] = list(self.hidden_dims)
        return d


def read_yaml(path):
    """A YAML mapping from ``path``; errors name the file."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding='utf-8')) or {}
    except FileNotFoundError:
        raise SACConfigError(f'config file {path} does not exist') from None
    except (OSError, yaml.YAMLError) as err:
        raise SACConfigError(f'{path}: cannot read the config: {err}') from err
    if not isinstance(data, dict):
        raise SACConfigError(f'{path}: expected a mapping of key: value, got {type(data).__name__}')
    return data


class ObservationFlattener:
    """Turns observations of a Box or a Dict of small Boxes into one float32 vector.

    For a Dict space, ``keys`` chooses and orders the entries (default: every entry with at most 2 dims that
    is not uint8, i.e. the state entries, skipping camera images). Images are not flattened: SAC here is the
    state-only learner; image policies are trained by BC/CPL.
    """

    def __init__(self, space, keys=None):
        self.space = space
        if isinstance(space, gym.spaces.Dict):
            if keys is None:
                keys = [k for k, s in space.spaces.items()
                        if isinstance(s, gym.spaces.Box) and len(s.shape) <= 1 and s.dtype != np.uint8]
            if not keys:
                raise ValueError('observation space: a Dict with no 1-D state entries; pass keys=[...]')
            for k in keys:
                if k not in space.spaces:
                    raise ValueError(f'observation key {k!r} is not in the observation space {list(space.spaces)}')
            self.keys = list(keys)
            self.dim = int(sum(np.prod(space.spaces[k].shape) for k in self.keys))
        elif isinstance(space, gym.spaces.Box):
            self.keys = None
            self.dim = int(np.prod(space.shape))
        else:
            raise ValueError(f'observation space: expected Box or Dict, got {type(space).__name__}')

    def __call__(self, obs):
        if self.keys is None:
            return np.asarray(obs, dtype=np.float32).reshape(-1)
        return np.concatenate([np.asarray(obs[k], dtype=np.float32).reshape(-1) for k in self.keys])


class ReplayBuffer:
    """Fixed-capacity ring buffer of (obs, action, reward, next_obs, terminated), preallocated numpy."""

    def __init__(self, obs_dim, action_dim, capacity, seed=0):
        self.capacity = int(capacity)
        self.obs = np.zeros((self.capacity, obs_dim), dtype=np.float32)
        self.next_obs = np.zeros((self.capacity, obs_dim), dtype=np.float32)
        self.actions = np.zeros((self.capacity, action_dim), dtype=np.float32)
        self.rewards = np.zeros((self.capacity,), dtype=np.float32)
        self.terminated = np.zeros((self.capacity,), dtype=np.float32)
        self.size = 0
        self.index = 0
        self.rng = np.random.default_rng(seed)

    def __len__(self):
        return self.size

    def add(self, obs, action, reward, next_obs, terminated):
        i = self.index
        self.obs[i] = obs
        self.actions[i] = action
        self.rewards[i] = reward
        self.next_obs[i] = next_obs
        self.terminated[i] = float(terminated)
        self.index = (i + 1) % self.capacity
        self.size = min(self.size + 1, self.capacity)

    def sample(self, batch_size):
        if self.size == 0:
            raise RuntimeError('replay buffer is empty: add transitions before sampling')
        idx = self.rng.integers(0, self.size, size=batch_size)
        return {
            'obs': torch.from_numpy(self.obs[idx]),
            'actions': torch.from_numpy(self.actions[idx]),
            'rewards': torch.from_numpy(self.rewards[idx]),
            'next_obs': torch.from_numpy(self.next_obs[idx]),
            'terminated': torch.from_numpy(self.terminated[idx]),
        }


class DroQCritic(nn.Module):
    """Two Q networks (MLP: Linear -> Dropout -> LayerNorm -> ReLU per layer); ``forward -> (2, B)`` Q values."""

    def __init__(self, obs_dim, action_dim, hidden_dims=(256, 256, 256), dropout=0.01, layer_norm=True,
                 num_q=2):
        super().__init__()
        self.qs = nn.ModuleList(MLP(obs_dim + action_dim, hidden_dims, 1, layer_norm=layer_norm, dropout=dropout)
                                for _ in range(num_q))

    def forward(self, obs, action):
        x = torch.cat([obs, action], dim=-1)
        return torch.stack([q(x).squeeze(-1) for q in self.qs], dim=0)


def make_actor(obs_dim, action_dim, hidden_dims):
    """The shared tanh-squashed Gaussian policy on a state vector (its ``proprio`` input, no cameras)."""
    return GaussianPolicy({PROPRIO_KEY: (int(obs_dim),)}, action_dim, hidden_dims=tuple(hidden_dims))


def state_input(obs):
    """(B, obs_dim) state tensor -> the observation dict the shared policy and reward models take."""
    return {PROPRIO_KEY: obs}


class SACAgent(nn.Module):
    """Actor, DroQ critic, Polyak-averaged target critic and learned temperature.

    The actor is a ``GaussianPolicy`` (or anything with its ``sample``/``deterministic`` methods) whose
    observation dict holds the state vector as ``proprio``.
    """

    def __init__(self, obs_dim, action_dim, config=None, actor=None):
        super().__init__()
        self.config = config or SACConfig()
        cfg = self.config
        self.obs_dim, self.action_dim = int(obs_dim), int(action_dim)
        self.actor = actor if actor is not None else make_actor(obs_dim, action_dim, cfg.hidden_dims)
        self.critic = DroQCritic(obs_dim, action_dim, cfg.hidden_dims, cfg.critic_dropout, cfg.critic_layer_norm)
        self.target_critic = copy.deepcopy(self.critic)
        self.target_critic.requires_grad_(False)
        self.log_temperature = nn.Parameter(torch.tensor(math.log(cfg.init_temperature), dtype=torch.float32))
        self.target_entropy = float(-action_dim if cfg.target_entropy is None else cfg.target_entropy)
        self.actor_optim = torch.optim.Adam(self.actor.parameters(), lr=cfg.actor_lr)
        self.critic_optim = torch.optim.Adam(self.critic.parameters(), lr=cfg.critic_lr)
        self.temperature_optim = torch.optim.Adam([self.log_temperature], lr=cfg.temperature_lr)

    @property
    def temperature(self):
        return self.log_temperature.exp()

    @torch.no_grad()
    def act(self, obs, deterministic=False):
        """(obs_dim,) numpy -> (action_dim,) numpy action in [-1, 1]."""
        x = torch.as_tensor(obs, dtype=torch.float32).reshape(1, -1)
        action = self.actor.deterministic(state_input(x)) if deterministic else self.actor.sample(state_input(x))[0]
        return action[0].numpy()

    def _clip(self, params):
        if self.config.grad_clip_norm > 0:
            nn.utils.clip_grad_norm_(params, self.config.grad_clip_norm)

    def update_critic(self, batch):
        cfg = self.config
        with torch.no_grad():
            next_action, next_logp = self.actor.sample(state_input(batch['next_obs']))
            # DroQ keeps dropout active in the target networks too (they are in train mode).
            next_q = self.target_critic(batch['next_obs'], next_action).min(dim=0).values
            soft_next = next_q - self.temperature * next_logp
            target = batch['rewards'] + cfg.discount * (1.0 - batch['terminated']) * soft_next
        q = self.critic(batch['obs'], batch['actions'])
        loss = F.mse_loss(q, target.expand_as(q), reduction='none').mean(dim=1).sum()
        self.critic_optim.zero_grad(set_to_none=True)
        loss.backward()
        self._clip(self.critic.parameters())
        self.critic_optim.step()
        with torch.no_grad():
            for p, tp in zip(self.critic.parameters(), self.target_critic.parameters()):
                tp.lerp_(p, cfg.tau)
        return {'critic_loss': loss.item(), 'q_mean': q.detach().mean().item()}

    def update_actor_and_temperature(self, batch):
        action, logp = self.actor.sample(state_input(batch['obs']))
        # The actor maximises the mean of the Q ensemble (as DroQ does), not the pessimistic min.
        q = self.critic(batch['obs'], action).mean(dim=0)
        actor_loss = (self.temperature.detach() * logp - q).mean()
        self.actor_optim.zero_grad(set_to_none=True)
        actor_loss.backward()
        self._clip(self.actor.parameters())
        self.actor_optim.step()
        # Critic gradients from the actor loss are discarded: the critic optimiser zeroes them next step.
        temperature_loss = -(self.log_temperature.exp() * (logp.detach() + self.target_entropy)).mean()
        self.temperature_optim.zero_grad(set_to_none=True)
        temperature_loss.backward()
        self.temperature_optim.step()
        return {'actor_loss': actor_loss.item(), 'temperature': self.temperature.item(),
                'entropy': -logp.detach().mean().item()}

    def update(self, buffer):
        """One DroQ step: ``utd_ratio`` critic updates, then one actor and temperature update."""
        stats = {}
        for _ in range(self.config.utd_ratio):
            stats = self.update_critic(buffer.sample(self.config.batch_size))
        stats.update(self.update_actor_and_temperature(buffer.sample(self.config.batch_size)))
        return stats


@dataclass
class SACResult:
    agent: SACAgent
    flattener: ObservationFlattener
    history: list = field(default_factory=list)  # dicts: step, eval_return, eval_success, episode_return, ...

    def policy(self, deterministic=True):
        """Obs (env format) -> action in [-1, 1]."""
        return lambda obs: self.agent.act(self.flattener(obs), deterministic=deterministic)


def evaluate_agent(agent, flattener, env, episodes, seed):
    """Mean return, mean final info['distance'] (when the env reports it) and success rate over episodes."""
    returns, successes, distances = [], [], []
    for ep in range(episodes):
        obs, info = env.reset(seed=seed + ep)
        done, total = False, 0.0
        while not done:
            obs, reward, terminated, truncated, info = env.step(agent.act(flattener(obs), deterministic=True))
            total += float(reward)
            done = terminated or truncated
        returns.append(total)
        successes.append(float(bool(info.get('success', False))))
        if 'distance' in info:
            distances.append(float(info['distance']))
    out = {'eval_return': float(np.mean(returns)), 'eval_success': float(np.mean(successes))}
    if distances:
        out['eval_final_distance'] = float(np.mean(distances))
    return out


def train_sac(env, config=None, eval_env=None, actor=None, obs_keys=None, progress=True, callback=None):
    """Train SAC (DroQ) on ``env`` (actions must be a Box in [-1, 1]); returns a SACResult.

    ``eval_env`` (default: ``env``) is used for deterministic evaluations every ``eval_every`` steps and at
    the end; ``callback(step, stats)`` is called after each evaluation.
    """
    cfg = config or SACConfig()
    space = env.action_space
    if not isinstance(space, gym.spaces.Box) or not (np.allclose(space.low, -1) and np.allclose(space.high, 1)):
        raise ValueError(f'action space: expected Box in [-1, 1] (normalised actions), got {space}')
    torch.manual_seed(cfg.seed)
    flattener = ObservationFlattener(env.observation_space, obs_keys)
    action_dim = int(np.prod(space.shape))
    agent = SACAgent(flattener.dim, action_dim, cfg, actor=actor)
    buffer = ReplayBuffer(flattener.dim, action_dim, cfg.buffer_size, seed=cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    eval_env = eval_env or env
    result = SACResult(agent, flattener)

    obs, _ = env.reset(seed=cfg.seed)
    obs_vec = flattener(obs)
    episode_return, episode_returns, stats = 0.0, [], {}
    bar = tqdm(range(1, cfg.total_steps + 1), desc='SAC (DroQ)', disable=not progress, dynamic_ncols=True)
    for step in bar:
        if step <= cfg.warmup_steps:
            action = rng.uniform(-1.0, 1.0, size=action_dim).astype(np.float32)
        else:
            action = agent.act(obs_vec)
        next_obs, reward, terminated, truncated, _ = env.step(action)
        next_vec = flattener(next_obs)
        buffer.add(obs_vec, action, reward, next_vec, terminated)
        episode_return += float(reward)
        obs_vec = next_vec
        if terminated or truncated:
            episode_returns.append(episode_return)
            episode_return = 0.0
            obs, _ = env.reset()
            obs_vec = flattener(obs)
        if step > cfg.warmup_steps and len(buffer) >= cfg.batch_size:
            stats = agent.update(buffer)
        if (cfg.eval_every and step % cfg.eval_every == 0) or step == cfg.total_steps:
            row = {'step': step, **evaluate_agent(agent, flattener, eval_env, cfg.eval_episodes, seed=10_000)}
            if eval_env.unwrapped is env.unwrapped:  # evaluation ended the training episode: start a new one
                episode_return = 0.0
                obs, _ = env.reset()
                obs_vec = flattener(obs)
            if episode_returns:
                row['train_return'] = float(np.mean(episode_returns[-10:]))
            row.update({k: v for k, v in stats.items() if k in ('temperature', 'q_mean', 'critic_loss')})
            result.history.append(row)
            bar.set_postfix(eval_return=f"{row['eval_return']:.2f}")
            if callback is not None:
                callback(step, row)
    bar.close()
    return result


def save_run(result, out_dir, config, run_settings, extra=None):
    """Write agent.pt (actor, critic, temperature, config) and history.json into out_dir; returns the summary."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    agent = result.agent
    checkpoint = out / 'agent.pt'
    tmp = out / 'agent.pt.tmp'
    torch.save({'algorithm': run_settings.get('algorithm', 'sac'), 'config': config.to_dict(), 'run': run_settings,
                'obs_dim': agent.obs_dim, 'action_dim': agent.action_dim, 'obs_keys': result.flattener.keys,
                'agent': agent.state_dict(), 'history': result.history, **(extra or {})}, tmp)
    tmp.replace(checkpoint)
    (out / 'history.json').write_text(json.dumps(result.history, indent=2))
    final = result.history[-1] if result.history else {}
    return {'algorithm': run_settings.get('algorithm', 'sac'), 'steps': config.total_steps,
            **{f'final_{k}': v for k, v in final.items() if k != 'step'}, 'checkpoint': str(checkpoint),
            'out_dir': str(out)}


SAC_RUN_KEYS = {'algorithm': 'sac', 'env': 'reach', 'env_options': {}, 'out_dir': 'runs/sac', 'progress': True}


def make_env(name, options):
    """The environments SAC runs on from a config: 'reach' (Panda, rlhf_sim) or 'point_reach' (2-D point)."""
    from rlhf_training.rl import PointReachEnv, ReachEnv
    envs = {'reach': ReachEnv, 'point_reach': PointReachEnv}
    if name not in envs:
        raise SACConfigError(f"field 'env': expected one of {sorted(envs)}, got {name!r}")
    if not isinstance(options, dict):
        raise SACConfigError(f"field 'env_options': expected a mapping, got {options!r}")
    try:
        return envs[name](**options)
    except TypeError as err:
        raise SACConfigError(f"field 'env_options': {err}") from None


def run_from_file(config_path, overrides=()):
    """``train --config sac.yaml [key=value ...]``: SAC (DroQ) on the configured environment's own reward."""
    config, run = SACConfig.load(config_path, overrides, SAC_RUN_KEYS)
    if run['algorithm'] != 'sac':
        raise SACConfigError(f"{config_path}: field 'algorithm': expected 'sac', got {run['algorithm']!r}")
    env, eval_env = make_env(run['env'], run['env_options']), make_env(run['env'], run['env_options'])
    try:
        result = train_sac(env, config, eval_env=eval_env, progress=bool(run['progress']))
    finally:
        env.close()
        eval_env.close()
    return save_run(result, run['out_dir'], config, run)
