# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""Soft Actor-Critic with the DroQ critic, for Gymnasium environments with vector or dict observations.

DroQ (Hiraoka et al., 2022) regularises SAC's two Q networks with dropout and layer normalisation so that
many critic updates per environment step (a high update-to-data ratio, UTD) stay stable. The
hyperparameters are ``rlhf_training.config.SACConfig`` (the piano project's preset; discount 0.99 and UTD 2
for reaching on a 2-core CPU). This module holds:

- ``ObservationFlattener``: turns a Box or a Dict of 1-D Boxes (state-only observations) into one vector.
- ``ReplayBuffer``: preallocated numpy storage of transitions, saved beside the checkpoint (``replay.pt``).
- ``DroQCritic``: two Q networks Q(s, a) (MLP with dropout + layer norm) evaluated together.
- ``SACAgent``: actor (the shared ``GaussianPolicy``), critic, target critic (Polyak averaging with tau) and
  the learned temperature (target entropy -|A|); ``act`` and ``update``.
- ``train_sac(env, config)``: the interaction loop (random warm-up, then policy actions; UTD critic updates
  and one actor/temperature update per step), with a progress bar, a learning-curve history that records
  environment steps, wall and CPU seconds and the load average, checkpoints and a wall-time budget.
- Checkpoints are the Trainer's (``<out_dir>/checkpoints/latest.pt``, ``step_*.pt``): the actor is
  ``models['policy']`` (a ``GaussianPolicy`` on the ``proprio`` input) and, when the environment has a policy
  contract (``envs.policy_contract_of``), ``extra['contract_yaml']``: CPL fine-tunes it and ``export`` writes
  its ONNX model. The critics, temperature and optimisers are kept too (``agent``), and the replay buffer in
  ``checkpoints/replay.pt`` (``save_replay_buffer``), so a resumed run goes on with what it had collected.
- ``run(config)``: what ``train --config config/sac.yaml`` runs.
"""

import copy
from dataclasses import dataclass, field
import math
import os
from pathlib import Path
import time

import gymnasium as gym
import numpy as np
import torch
from torch import nn
from torch.nn import functional as F  # noqa: N812
from tqdm import tqdm

from rlhf_training.checkpoint import build_model, policy_build_info
from rlhf_training.config import SACConfig, config_to_dict
from rlhf_training.models import MLP, PROPRIO_KEY
from rlhf_training.trainer import CHECKPOINT_DIR, LATEST, save_atomic

REPLAY = 'replay.pt'   # the replay buffer beside latest.pt


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

    def state_dict(self) -> dict:
        """The filled part, the write position and the sampling generator (what a resumed run needs)."""
        n = self.size
        return {'index': self.index, 'capacity': self.capacity, 'rng': self.rng.bit_generator.state,
                **{key: getattr(self, key)[:n] for key in TRANSITION_KEYS}}

    def load_state_dict(self, state: dict, where: str = 'replay buffer') -> None:
        """Restore ``state_dict()`` into a buffer of the same capacity and transition sizes."""
        if state['obs'].shape[1:] != self.obs.shape[1:] or state['actions'].shape[1:] != self.actions.shape[1:]:
            raise ValueError(f'{where}: transitions of observation size {state["obs"].shape[1:]} and action size '
                             f'{state["actions"].shape[1:]}, expected {self.obs.shape[1:]} and '
                             f'{self.actions.shape[1:]}')
        if state['capacity'] != self.capacity:
            raise ValueError(f'{where}: a buffer of capacity {state["capacity"]}, expected buffer_size {self.capacity}')
        n = len(state['rewards'])
        for key in TRANSITION_KEYS:
            getattr(self, key)[:n] = state[key]
        self.size, self.index = n, int(state['index'])
        self.rng.bit_generator.state = state['rng']

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


def actor_build_info(config, obs_dim, action_dim):
    """Build info (``rlhf_training.checkpoint``) of the SAC actor: a GaussianPolicy on a state vector."""
    return policy_build_info(config, {PROPRIO_KEY: (int(obs_dim),)}, int(action_dim))


def state_input(obs):
    """(B, obs_dim) state tensor -> the observation dict the shared policy and reward models take."""
    return {PROPRIO_KEY: obs}


def _adam(params, lr):
    """Adam with the fused kernel where this torch build has it for the device (CPU since torch 2.4)."""
    params = list(params)
    try:
        return torch.optim.Adam(params, lr=lr, fused=True)
    except (RuntimeError, TypeError, ValueError):
        return torch.optim.Adam(params, lr=lr)


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
        self.actor_build = actor_build_info(cfg, obs_dim, action_dim)
        self.actor = actor if actor is not None else build_model(self.actor_build)
        self.critic = DroQCritic(obs_dim, action_dim, tuple(cfg.hidden_dims), cfg.critic_dropout,
                                 cfg.critic_layer_norm)
        self.target_critic = copy.deepcopy(self.critic)
        self.target_critic.requires_grad_(False)
        # Fine-tuning a given actor: a frozen copy anchors its deterministic action (as CPL's conservative term),
        # so that a critic still learning, or a reward model off its data, cannot drag it far from where it was.
        self.reference = (copy.deepcopy(self.actor).requires_grad_(False).eval()
                          if actor is not None and cfg.reference_weight > 0 else None)
        self.log_temperature = nn.Parameter(torch.tensor(math.log(cfg.init_temperature), dtype=torch.float32))
        self.target_entropy = float(-action_dim if cfg.target_entropy is None else cfg.target_entropy)
        self.actor_optim = _adam(self.actor.parameters(), cfg.lr)
        self.critic_optim = _adam(self.critic.parameters(), cfg.lr)
        self.temperature_optim = torch.optim.Adam([self.log_temperature], lr=cfg.temperature_lr)
        self._critic_params = list(self.critic.parameters())
        self._target_params = list(self.target_critic.parameters())

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
        if self.config.grad_clip > 0:
            nn.utils.clip_grad_norm_(params, self.config.grad_clip)

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
            torch._foreach_lerp_(self._target_params, self._critic_params, cfg.tau)   # Polyak, one kernel call
        return {'critic_loss': loss.item(), 'q_mean': q.detach().mean().item()}

    def update_actor_and_temperature(self, batch):
        obs = state_input(batch['obs'])
        action, logp = self.actor.sample(obs)
        # The actor maximises the mean of the Q ensemble (as DroQ does), not the pessimistic min. The critic's
        # weights are frozen for this backward pass: their gradients would be discarded anyway.
        self.critic.requires_grad_(False)
        try:
            q = self.critic(batch['obs'], action).mean(dim=0)
            actor_loss = (self.temperature.detach() * logp - q).mean()
            if self.reference is not None:
                with torch.no_grad():
                    anchor = self.reference.deterministic(obs)
                change = (self.actor.deterministic(obs) - anchor).pow(2).sum(-1).mean()
                actor_loss = actor_loss + self.config.reference_weight * change
            self.actor_optim.zero_grad(set_to_none=True)
            actor_loss.backward()
        finally:
            self.critic.requires_grad_(True)
        self._clip(self.actor.parameters())
        self.actor_optim.step()
        temperature_loss = -(self.log_temperature.exp() * (logp.detach() + self.target_entropy)).mean()
        self.temperature_optim.zero_grad(set_to_none=True)
        temperature_loss.backward()
        self.temperature_optim.step()
        return {'actor_loss': actor_loss.item(), 'temperature': self.temperature.item(),
                'entropy': -logp.detach().mean().item()}

    def update(self, buffer):
        """One DroQ step: ``utd_ratio`` critic updates, then one actor and temperature update on the last batch."""
        stats = {}
        for _ in range(self.config.utd_ratio):
            batch = buffer.sample(self.config.batch_size)
            stats = self.update_critic(batch)
        stats.update(self.update_actor_and_temperature(batch))
        return stats


@dataclass
class SACResult:
    agent: SACAgent
    flattener: ObservationFlattener
    history: list = field(default_factory=list)  # rows: step, eval_*, train_return, wall_s, cpu_s, load_1min, ...
    contract: object = None                      # the environment's policy contract, when it has one
    checkpoint: str = ''
    buffer: object = None                        # the ReplayBuffer, saved with each checkpoint

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


def checkpoint_state(result, config, step):
    """The Trainer's checkpoint layout for a SAC agent (see the module doc)."""
    from rlhf_training.runs import contract_to_yaml
    agent = result.agent
    extra = {'obs_keys': result.flattener.keys, 'history': result.history}
    if result.contract is not None:
        extra['contract_yaml'] = contract_to_yaml(result.contract)
    return {'step': int(step), 'algorithm': config.algorithm, 'config': config_to_dict(config),
            'models': {'policy': {'build': agent.actor_build, 'state': agent.actor.state_dict()}},
            'agent': agent.state_dict(),
            'optimizers': {'actor': agent.actor_optim.state_dict(), 'critic': agent.critic_optim.state_dict(),
                           'temperature': agent.temperature_optim.state_dict()},
            'extra': extra}


def save_checkpoint(result, config, step):
    """Write step_<N>.pt, replay.pt and latest.pt (last) under <out_dir>/checkpoints; returns latest.pt's path."""
    folder = Path(config.out_dir) / CHECKPOINT_DIR
    state = checkpoint_state(result, config, step)
    if config.save_replay_buffer and result.buffer is not None:
        save_atomic({'step': int(step), **result.buffer.state_dict()}, folder / REPLAY)
    save_atomic(state, folder / f'step_{step:08d}.pt')
    save_atomic(state, folder / LATEST)
    return folder / LATEST


def _resume(result, config):
    """Load <out_dir>/checkpoints/latest.pt into the agent when resuming; returns the step it reached (0: none)."""
    latest = Path(config.out_dir) / CHECKPOINT_DIR / LATEST
    if not (config.resume and latest.is_file()):
        return 0
    state = torch.load(latest, map_location='cpu', weights_only=False)
    if state.get('algorithm') != config.algorithm or 'agent' not in state:
        raise ValueError(f'{latest} is not a {config.algorithm!r} checkpoint of this trainer; use another out_dir '
                         f'or resume=false')
    agent = result.agent
    agent.load_state_dict(state['agent'])
    for name, optim in (('actor', agent.actor_optim), ('critic', agent.critic_optim),
                        ('temperature', agent.temperature_optim)):
        optim.load_state_dict(state['optimizers'][name])
    result.history = list(state['extra'].get('history', []))
    result.checkpoint = str(latest)
    step = int(state['step'])
    replay = latest.parent / REPLAY
    if config.save_replay_buffer:
        if not replay.is_file():
            print(f'[sac] resuming at step {step} without {replay}: the replay buffer starts again', flush=True)
        else:
            saved = torch.load(replay, map_location='cpu', weights_only=False)
            if saved['step'] != step:   # interrupted between writing the buffer and latest.pt
                print(f'[sac] {replay} is not from step {step}: the replay buffer starts again', flush=True)
            else:
                result.buffer.load_state_dict(saved, str(replay))
    return step


def _load_1min():
    try:
        return os.getloadavg()[0]
    except OSError:   # not available on this platform
        return float('nan')


def train_sac(env, config=None, eval_env=None, actor=None, obs_keys=None, progress=True, callback=None,
              evaluate=None, contract=None, save=False, demonstrations=None):
    """Train SAC (DroQ) on ``env`` (actions must be a Box in [-1, 1]); returns a SACResult.

    ``eval_env`` (default: ``env``) is used for deterministic evaluations every ``eval_every`` steps and at
    the end; ``evaluate(policy, eval_env) -> {name: value}`` replaces the default (return, success, distance);
    ``callback(step, row)`` is called after each evaluation. ``actor`` warm-starts the policy. With ``save``
    the run checkpoints into ``config.out_dir`` and resumes from it (``config.resume``). Training stops after
    ``config.steps`` environment steps, or once ``config.max_wall_s`` seconds have passed.
    ``demonstrations`` (``collect_demonstrations`` arrays) go into the replay buffer first; they do not count
    as environment steps of the run. With a warm-started ``actor`` there is no random warm-up: the policy acts
    from the first step and the first ``warmup_steps`` update only the critic.
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
    for row in zip(*(demonstrations[k] for k in TRANSITION_KEYS)) if demonstrations else ():
        buffer.add(*row)
    rng = np.random.default_rng(cfg.seed)
    eval_env = eval_env or env
    result = SACResult(agent, flattener, contract=contract, buffer=buffer)
    start = _resume(result, cfg) if save else 0
    if evaluate is None:
        def evaluate(policy, eval_env_):
            return evaluate_agent(agent, flattener, eval_env_, cfg.eval_episodes, seed=10_000)
    offset = result.history[-1] if result.history else {}
    wall0 = time.perf_counter() - offset.get('wall_s', 0.0)
    cpu0 = time.process_time() - offset.get('cpu_s', 0.0)
    budget_end = time.perf_counter() + cfg.max_wall_s if cfg.max_wall_s > 0 else math.inf

    obs, _ = env.reset(seed=cfg.seed + start)
    obs_vec = flattener(obs)
    episode_return, episode_returns, stats = 0.0, [], {}
    bar = tqdm(total=cfg.steps, initial=start, desc='SAC (DroQ)', disable=not progress, dynamic_ncols=True)
    step = start
    while step < cfg.steps:
        step += 1
        if step <= cfg.warmup_steps and actor is None:
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
        elif actor is not None and len(buffer) >= cfg.batch_size:
            # a warm-started actor acts from the start; its critic learns first, so that a random critic
            # does not undo the actor before it can judge it
            stats = agent.update_critic(buffer.sample(cfg.batch_size))
        out_of_time = time.perf_counter() >= budget_end
        last = step == cfg.steps or out_of_time
        if (cfg.eval_every and step % cfg.eval_every == 0) or last:
            row = {'step': step, **evaluate(result.policy(), eval_env)}
            if eval_env.unwrapped is env.unwrapped:  # evaluation ended the training episode: start a new one
                episode_return = 0.0
                obs, _ = env.reset()
                obs_vec = flattener(obs)
            if episode_returns:
                row['train_return'] = float(np.mean(episode_returns[-10:]))
            row.update({k: v for k, v in stats.items() if k in ('temperature', 'q_mean', 'critic_loss', 'entropy')})
            row.update(wall_s=time.perf_counter() - wall0, cpu_s=time.process_time() - cpu0, load_1min=_load_1min())
            result.history.append(row)
            shown = 'eval_f1' if 'eval_f1' in row else 'eval_return'
            bar.set_postfix({shown: f'{row[shown]:.3f}'})
            if save and (not cfg.checkpoint_every or last):
                result.checkpoint = str(save_checkpoint(result, cfg, step))
            if callback is not None:
                callback(step, row)
        if save and cfg.checkpoint_every and step % cfg.checkpoint_every == 0:
            result.checkpoint = str(save_checkpoint(result, cfg, step))
        bar.update(1)
        if out_of_time:
            break
    bar.close()
    return result


TRANSITION_KEYS = ('obs', 'actions', 'rewards', 'next_obs', 'terminated')


def collect_demonstrations(env, player, episodes, noise=0.0, seed=0, flattener=None):
    """Transitions of ``player(obs) -> action`` (plus Gaussian ``noise``, clipped), as arrays by TRANSITION_KEYS."""
    flattener = flattener or ObservationFlattener(env.observation_space)
    rng = np.random.default_rng(seed)
    rows = {k: [] for k in TRANSITION_KEYS}
    for ep in range(episodes):
        obs, _ = env.reset(seed=seed + ep)
        done = False
        while not done:
            action = np.asarray(player(obs), dtype=np.float32)
            action = np.clip(action + noise * rng.standard_normal(action.shape), -1.0, 1.0).astype(np.float32)
            next_obs, reward, terminated, truncated, _ = env.step(action)
            for key, value in zip(TRANSITION_KEYS, (flattener(obs), action, reward, flattener(next_obs), terminated)):
                rows[key].append(value)
            obs, done = next_obs, terminated or truncated
    return {k: np.asarray(v, dtype=np.float32) for k, v in rows.items()}


def behaviour_clone(actor, demonstrations, steps, batch_size, lr=3e-4, seed=0):
    """NLL behaviour cloning of ``actor`` on demonstration (obs, action) pairs; returns the final loss."""
    from rlhf_training.bc import BCLoss
    loss_module = BCLoss(actor, 'nll')
    optim = torch.optim.Adam(actor.parameters(), lr=lr)
    obs = torch.from_numpy(demonstrations['obs'])
    actions = torch.from_numpy(demonstrations['actions'])
    generator = torch.Generator().manual_seed(seed)
    loss = torch.tensor(float('nan'))
    for _ in range(steps):
        idx = torch.randint(len(obs), (batch_size,), generator=generator)
        loss, _ = loss_module({'obs': state_input(obs[idx]), 'actions': actions[idx]})
        optim.zero_grad(set_to_none=True)
        loss.backward()
        optim.step()
    return float(loss.detach())


def scripted_warm_start(env, config):
    """(actor cloned from the environment's scripted player or None, its demonstrations) for ``warm_start``.

    With ``warm_start_bc_steps: 0`` the actor starts fresh and only the replay buffer holds the player's play.
    """
    from rlhf_sim.piano import PianoEnv
    from rlhf_sim.piano_player import FingeringPlayer
    if not isinstance(env.unwrapped, PianoEnv):
        raise ValueError(f'warm_start: scripted needs a scripted player; env {config.env!r} has none (piano has)')
    flattener = ObservationFlattener(env.observation_space)
    demos = collect_demonstrations(env, FingeringPlayer(env.unwrapped), config.warm_start_episodes,
                                   config.warm_start_noise, seed=config.seed, flattener=flattener)
    if not config.warm_start_bc_steps:
        return None, demos   # the demonstrations only fill the replay buffer
    torch.manual_seed(config.seed)
    actor = build_model(actor_build_info(config, flattener.dim, env.action_space.shape[0]))
    behaviour_clone(actor, demos, config.warm_start_bc_steps, config.batch_size, config.lr, config.seed)
    return actor, demos


def piano_evaluator(episodes):
    """SAC evaluation on a piano: key-press F1, precision, recall, sustain and return (``piano_eval``).

    Each row also carries the zero-action and random-action F1 of the same song (silent frames lift those above 0).
    """
    from rlhf_training.piano_eval import baselines, evaluate_piano
    reference = {}

    def evaluate(policy, env):
        if not reference:
            reference.update({f'{name}_action_f1': s['f1'] for name, s in baselines(env).items()})
        return {**{f'eval_{k}': v for k, v in evaluate_piano(policy, env, episodes).items()}, **reference}
    return evaluate


def run(config: SACConfig) -> dict:
    """``train --config sac.yaml [key=value ...]``: SAC (DroQ) on the configured environment's own reward."""
    from rlhf_training.envs import make_env, policy_contract_of
    from rlhf_training.runs import export_if_main
    torch.set_num_threads(1)   # one thread was faster than two for these small networks (DESIGN.md)
    env, eval_env = make_env(config.env, config.env_options), make_env(config.env, config.env_options)
    contract = policy_contract_of(env)
    evaluate = piano_evaluator(config.eval_episodes) if config.env == 'piano' else None
    try:
        resuming = config.resume and (Path(config.out_dir) / CHECKPOINT_DIR / LATEST).is_file()
        actor, demos = (scripted_warm_start(env, config) if config.warm_start == 'scripted' and not resuming
                        else (None, None))
        result = train_sac(env, config, eval_env=eval_env, progress=config.progress, evaluate=evaluate,
                           contract=contract, save=True, actor=actor, demonstrations=demos)
    finally:
        env.close()
        eval_env.close()
    return summarize(result, config, export_if_main if contract is not None else None)


def summarize(result, config, export=None):
    """The run summary (final evaluation row, checkpoint); ``export`` writes the ONNX model and contract."""
    final = result.history[-1] if result.history else {}
    summary = {'algorithm': config.algorithm, 'steps': int(final.get('step', 0)),
               **{f'final_{k}': v for k, v in final.items() if k != 'step'},
               'checkpoint': result.checkpoint, 'out_dir': str(config.out_dir)}
    if export is not None:
        summary = export(result.agent.actor, result.contract, config, summary)
    return summary
