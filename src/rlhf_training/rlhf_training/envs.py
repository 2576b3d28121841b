# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""The environments SAC trains on, by name (``ENVS``, ``make_env``), so that a config file can choose one.

- ``point_reach`` (``PointReachEnv``): a 2-D point mass moved towards a random goal (reward -distance). A task
  with a known answer, small enough that SAC and the learned-reward loop can be checked in seconds.
- ``reach`` (``ReachEnv``): reaching with the simulated Panda (``rlhf_sim.env.ManipulationEnv``, state only):
  move the end effector to a random target near its start; reward -distance (m), success when closer than
  ``success_distance``. Actions in [-1, 1]^8 become joint targets through ``ActionSpec.to_command``, the
  mapping the deployed policy node uses.
- ``manipulation`` (``ContractStateEnv``): a ``ManipulationEnv`` task observed through a state-only policy
  contract: the observation is exactly what ``rlhf_policy.preprocess`` makes of the joint states and task state
  on the robot, so the trained actor is a deployable policy (``policy_contract()``) that CPL can fine-tune on
  recorded episodes.
- ``piano`` (``rlhf_sim.piano.PianoEnv``): a RoboPianist task; ``env_options`` are ``PianoTask`` fields, or
  ``preset: cpu | seed`` plus fields that change it. Without ``action_reward_observation`` (the CPU preset) it is
  observed through its policy contract (``PianoContractEnv``), so the actor runs on the piano node's topics.

``ContractActionEnv`` wraps a ``ManipulationEnv`` so that normalised actions go through a contract's
``ActionSpec``; ``contract_obs_fn`` turns its observations into a contract's model inputs.
An environment may define ``policy_contract()``: the contract under which its observations are the
policy's ``proprio`` input; SAC then saves and exports its actor with that contract.
"""

import gymnasium as gym
import numpy as np

from rlhf_sim.piano import PianoEnv
from rlhf_training.config import ConfigError


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
    """ManipulationEnv observation dict -> the model inputs under ``contract`` (``preprocess`` output).

    Task-state features come from the dict's ``object_positions`` (the first object) and ``target_position``
    (``ContractActionEnv`` with ``privileged_state`` adds them), as the policy node reads them from TaskState.
    """
    from rlhf_common.robot import JOINT_NAMES
    from rlhf_policy.preprocess import preprocess
    if contract.observation.history != 1:
        raise ValueError(f'contract observation.history={contract.observation.history}: environment rollouts here '
                         f'feed one frame per step; train the policy with observation_history: 1')
    names = list(JOINT_NAMES)
    missing = [n for n in contract.observation.joint_names if n not in names]
    if missing:
        raise ValueError(f'contract observation.joint_names {missing} are not joints of the simulation')
    index = np.array([names.index(n) for n in contract.observation.joint_names])
    cameras = [c.name for c in contract.observation.cameras]
    features = [f for f in contract.observation.state_features if f in ('object_position', 'target_position')]

    def obs_fn(obs):
        images = {c: obs[f'{c}/color'] for c in cameras}
        depths = {c: obs[f'{c}/depth'] for c in cameras if f'{c}/depth' in obs}
        q, qd = np.asarray(obs['joint_positions']), np.asarray(obs['joint_velocities'])
        state = None
        if features:
            state = {'object_position': np.asarray(obs['object_positions'][:3]),
                     'target_position': np.asarray(obs['target_position'])}
            state = {k: state[k] for k in features}
        return preprocess(contract, images, depths, q[index], qd[index], state)
    return obs_fn


class ContractStateEnv(ContractActionEnv):
    """A ``ManipulationEnv`` task whose observation is a state-only contract's normalised proprio vector."""

    def __init__(self, task='pick_place', state_features=('object_position', 'target_position'),
                 max_episode_steps=150, control_hz=30.0, max_delta_rad=0.05):
        from rlhf_policy.contract import ActionSpec, ObservationSpec, PolicyContract
        from rlhf_sim.env import ManipulationEnv
        from rlhf_sim.robot import JOINT_NAMES
        self.contract = PolicyContract(ObservationSpec([], list(JOINT_NAMES), state_features=list(state_features)),
                                       ActionSpec.for_panda(max_delta_rad), rate_hz=control_hz)
        sim = ManipulationEnv(task=task, cameras=(), control_hz=control_hz, max_episode_steps=max_episode_steps)
        super().__init__(sim, self.contract.action, privileged_state=True)
        self._obs_fn = contract_obs_fn(self.contract)
        dim = self.contract.observation.proprio_dim
        self.observation_space = gym.spaces.Box(-np.inf, np.inf, shape=(dim,), dtype=np.float32)

    def policy_contract(self):
        return self.contract

    def _augment(self, obs, info):
        return self._obs_fn(super()._augment(obs, info))['proprio'][0]


def make_piano_env(preset='cpu', **options):
    """A piano task from a preset (``rlhf_sim.piano.PRESETS``) with some of its fields changed.

    Observed through its policy contract (``PianoContractEnv``) unless the task observes the previous action and
    reward, which a robot cannot: then the bare ``PianoEnv`` (its actor has no contract and cannot be exported).
    """
    from rlhf_sim.piano import PRESETS, PianoTask
    if preset not in PRESETS:
        raise ConfigError(f"env_options.preset: expected one of {sorted(PRESETS)}, got {preset!r}")
    seed = options.pop('seed', 0)
    task = PianoTask.from_dict({**PRESETS[preset].to_dict(), **options}, where='env_options')
    return PianoEnv(task, seed=seed) if task.action_reward_observation else PianoContractEnv(task, seed)


def piano_contract(env, controller='hand_controller'):
    """The policy contract of a ``PianoEnv``: what the piano node publishes in, its command out.

    Observation: the hand joints' positions (``/joint_states``), then the key depressions and the pedal
    (``/piano/keys``), the goal frames and the fingers (``/piano/score``), unnormalised; action:
    ``piano_action_spec``; rate: the task's control rate; ``metadata.piano``: the task, for the piano node.
    """
    from rlhf_policy.contract import ObservationSpec, PolicyContract
    task = env.task
    features = ['piano_keys', 'piano_sustain', 'piano_goal', 'piano_fingers']
    sizes = {'piano_goal': (task.n_steps_lookahead + 1) * 89, 'piano_fingers': 5 * len(env.hands)}
    action = piano_action_spec(env, controller)
    observation = ObservationSpec([], env.joint_names, proprio_fields=('position',), state_features=features,
                                  feature_sizes=sizes, command_dim=action.command_dim)
    return PolicyContract(observation, action, rate_hz=1.0 / task.control_timestep,
                          metadata={'piano': task.to_dict()})


class PianoContractEnv(PianoEnv):
    """A ``PianoEnv`` observed through ``piano_contract``: its observation is the contract's ``proprio`` input.

    It is made by ``rlhf_policy.preprocess`` from exactly the values the piano node publishes (``joint_state``,
    ``key_state``, ``score``), so the actor SAC trains on it is the policy node's model. Everything else is the
    ``PianoEnv``'s.
    """

    def __init__(self, task, seed=0):
        from rlhf_policy.preprocess import ProprioNormaliser
        if task.action_reward_observation:
            raise ValueError('env_options.action_reward_observation: a robot cannot observe the previous reward; '
                             'set it to false to observe the piano through its policy contract')
        super().__init__(task, seed=seed)
        self.contract = piano_contract(self)
        self._normalise = ProprioNormaliser(self.contract.observation)
        self._no_velocity = np.zeros(len(self.joint_names))
        dim = self.contract.observation.proprio_dim
        self.observation_space = gym.spaces.Box(-np.inf, np.inf, shape=(dim,), dtype=np.float32)

    def policy_contract(self):
        return self.contract

    def contract_observation(self, keys):
        """The contract's proprio vector now (``keys``: the step's info, ``PianoEnv.key_state``)."""
        score = self.score()
        state = {'piano_keys': keys['key_positions'], 'piano_sustain': [keys['sustain_position']],
                 'piano_goal': score['goal'], 'piano_fingers': score['fingers']}
        return self._normalise(self.joint_state()[0], self._no_velocity, state=state)

    def reset(self, seed=None, options=None):
        _, info = super().reset(seed=seed, options=options)
        return self.contract_observation(info), info

    def step(self, action):
        _, reward, terminated, truncated, info = super().step(action)
        return self.contract_observation(info), reward, terminated, truncated, info


def piano_action_spec(env, controller='hand_controller'):
    """The piano's action as a contract ``ActionSpec``: one absolute group, a target per actuator + the pedal.

    Its command is what the piano node takes on ``/<controller>/commands``; its joints are the ones
    ``/joint_states`` reports for each command value (``PianoEnv.command_joint_names``).
    """
    from rlhf_policy.actions import ActionGroup, ActionSpec
    low, high = env.actuator_range
    return ActionSpec([ActionGroup(controller, env.command_joint_names, 'absolute', low, high)])


ENVS = {'point_reach': PointReachEnv, 'reach': ReachEnv, 'manipulation': ContractStateEnv, 'piano': make_piano_env}


def make_env(name, options=None):
    """The environment ``name`` of ``ENVS`` built with keyword ``options``; errors name the config field."""
    if name not in ENVS:
        raise ConfigError(f"env: expected one of {sorted(ENVS)}, got {name!r}")
    options = dict(options or {})
    try:
        return ENVS[name](**options)
    except TypeError as err:
        raise ConfigError(f"env_options: {err}") from None
    except ValueError as err:   # the task's own option errors (e.g. PianoTaskError) name the option
        raise ConfigError(f"env_options: {err}") from None


def policy_contract_of(env):
    """The policy contract under which ``env``'s observations are a policy's input, or None."""
    get = getattr(env.unwrapped, 'policy_contract', None) or getattr(env, 'policy_contract', None)
    return get() if callable(get) else None
