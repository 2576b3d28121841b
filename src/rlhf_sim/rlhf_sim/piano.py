# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""The piano task family: RoboPianist's Shadow Hand(s) at a piano, as a Gymnasium environment.

``PianoTask`` holds the task options (one hand or two; a bundled song or a MIDI file; the options the
RoboPianist paper trains with). ``PianoEnv`` steps the dm_control task behind a Gymnasium interface:

- action: Box [-1, 1]^A, mapped linearly onto each actuator's range (absolute joint position targets, as
  RoboPianist's canonical action spec does), the last entry being the sustain pedal (0 .. 1);
- observation: one float32 vector, the task's observables in ``observation_layout()`` order (goal keys of the
  current and ``n_steps_lookahead`` next frames, fingering, key states, sustain state, hand joints, hand
  position), then with ``action_reward_observation`` the previous action and reward;
- ``info``: ``pressed`` (88 bool, keys down after this step), ``sustain`` (bool), ``goal`` (88 bool, keys that
  should be down), ``goal_sustain`` (bool), ``reward_terms`` (the composite reward's parts);
- episodes end with the song: that is a time limit (``truncated``), not a terminal state; with
  ``wrong_press_termination`` a wrong key is terminal.

``render`` draws a camera of the scene with shadows and reflections off (software rendering is 10x faster
without them) through ``rlhf_sim.cameras.CameraRenderer``.
"""

from dataclasses import asdict, dataclass, fields
from pathlib import Path

import gymnasium as gym
import numpy as np

N_KEYS = 88
HANDS = ('right', 'left', 'both')
DEFAULT_CAMERA = 'piano/back'


class PianoTaskError(ValueError):
    """Task options that cannot be used; the message names the option and what was expected."""


@dataclass
class PianoTask:
    """Options of one piano task. Defaults: one hand, one step of lookahead (the CPU preset observes no reward)."""

    song: str = 'TwinkleTwinkleLittleStar'  # a bundled song (bundled_songs()) or the path of a .mid file
    hands: str = 'right'                    # right | left (one hand) | both
    n_steps_lookahead: int = 1              # future goal frames in the observation
    control_timestep: float = 0.05          # seconds per action (20 Hz)
    trim_silence: bool = True               # start the song at its first note
    gravity_compensation: bool = True
    reduced_action_space: bool = True       # leave out the joints RoboPianist does not actuate for playing
    primitive_fingertip_collisions: bool = True  # capsule fingertips: cheaper and more stable contacts
    action_reward_observation: bool = True  # append the previous action and reward to the observation
    disable_fingering_reward: bool = False  # forced on for a MIDI file without fingering
    wrong_press_termination: bool = False
    stretch: float = 1.0                    # > 1 slows the song down
    shift: int = 0                          # transposition in semitones

    def __post_init__(self):
        if self.hands not in HANDS:
            raise PianoTaskError(f"hands: expected one of {list(HANDS)}, got {self.hands!r}")
        if not (isinstance(self.n_steps_lookahead, int) and self.n_steps_lookahead >= 0):
            raise PianoTaskError(f'n_steps_lookahead: expected an integer >= 0, got {self.n_steps_lookahead!r}')
        for name in ('control_timestep', 'stretch'):
            if not float(getattr(self, name)) > 0:
                raise PianoTaskError(f'{name}: expected a positive number, got {getattr(self, name)!r}')
        if not isinstance(self.song, str) or not self.song:
            raise PianoTaskError(f'song: expected a bundled song name or a MIDI file path, got {self.song!r}')

    @classmethod
    def from_dict(cls, data, where='piano task'):
        if not isinstance(data, dict):
            raise PianoTaskError(f'{where}: expected a mapping of task options, got {data!r}')
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise PianoTaskError(f'{where}: unknown option(s) {unknown}; expected some of {sorted(known)}')
        return cls(**data)

    def to_dict(self):
        return asdict(self)


# The seed's full preset (two hands, ten frames of lookahead; a GPU job) and the one that learns on a CPU. The CPU
# preset leaves out the previous action and reward, which a robot cannot observe: its policy runs on the piano
# node's topics (rlhf_training.envs.PianoContractEnv).
PRESETS = {
    'seed': PianoTask(hands='both', n_steps_lookahead=10),
    'cpu': PianoTask(action_reward_observation=False),
}


def bundled_songs():
    """Songs that ship with robopianist and carry fingering (the PIG etudes need a download)."""
    from robopianist import music
    return list(music.DEBUG_MIDIS)


def load_midi(task: PianoTask):
    """The task's song as a robopianist MidiFile; a clear error for an unknown name or unreadable file."""
    from robopianist import music
    from robopianist.music import midi_file
    if task.song in bundled_songs():
        midi = music.load(task.song)
    else:
        path = Path(task.song)
        if path.suffix.lower() not in ('.mid', '.midi'):
            raise PianoTaskError(f'song: {task.song!r} is neither a bundled song {bundled_songs()} nor a .mid file')
        if not path.is_file():
            raise PianoTaskError(f'song: MIDI file {path} does not exist')
        try:
            midi = midi_file.MidiFile.from_file(path)
        except Exception as err:  # noqa: BLE001 - mido/note_seq raise many kinds; the message says which file
            raise PianoTaskError(f'song: cannot read MIDI file {path}: {err}') from err
    if not midi.seq.notes:
        raise PianoTaskError(f'song: {task.song!r} has no notes')
    return midi.stretch(task.stretch).transpose(task.shift)


def has_fingering(midi) -> bool:
    """True when every note carries a finger annotation (MIDI files from elsewhere usually carry none)."""
    from robopianist.music import midi_file
    try:
        return all(note.fingering >= 0 for frame in midi_file.NoteTrajectory.from_midi(midi, 0.05).notes
                   for note in frame)
    except Exception:  # noqa: BLE001 - a note without the fingering field
        return False


def build_task(task: PianoTask):
    """The dm_control composer task for ``task``."""
    from robopianist.models.hands import HandSide
    from robopianist.suite.tasks import piano_with_one_shadow_hand, piano_with_shadow_hands
    midi = load_midi(task)
    disable_fingering = task.disable_fingering_reward or not has_fingering(midi)
    common = dict(midi=midi, n_steps_lookahead=task.n_steps_lookahead, trim_silence=task.trim_silence,
                  wrong_press_termination=task.wrong_press_termination, disable_fingering_reward=disable_fingering,
                  gravity_compensation=task.gravity_compensation, reduced_action_space=task.reduced_action_space,
                  control_timestep=task.control_timestep,
                  primitive_fingertip_collisions=task.primitive_fingertip_collisions,
                  # colouring the fingertips fails with primitive fingertip collisions (robopianist 1.0.10)
                  disable_colorization=True, change_color_on_activation=True)
    if task.hands == 'both':
        return piano_with_shadow_hands.PianoWithShadowHands(**common)
    side = HandSide.RIGHT if task.hands == 'right' else HandSide.LEFT
    return piano_with_one_shadow_hand.PianoWithOneShadowHand(hand_side=side, **common)


def ros_name(identifier: str) -> str:
    """``rh_shadow_hand/rh_FFJ3`` -> ``rh_FFJ3``; ``lh_shadow_hand/forearm_tx`` -> ``lh_forearm_tx`` (unique)."""
    hand, _, name = identifier.rpartition('/')
    side = hand[:2]
    return name if name.startswith(side + '_') else f'{side}_{name}'


class PianoEnv(gym.Env):
    """A RoboPianist task as a Gymnasium environment (see the module doc for spaces and info)."""

    metadata = {'render_modes': ['rgb_array']}

    def __init__(self, task: PianoTask | None = None, seed: int = 0, render_size=(320, 240),
                 camera: str = DEFAULT_CAMERA):
        from mujoco_utils import composer_utils
        self.task = task if task is not None else PianoTask()
        self._composer_task = build_task(self.task)
        self._env = composer_utils.Environment(task=self._composer_task, random_state=seed,
                                               strip_singleton_obs_buffer_dim=True, recompile_physics=False)
        spec = self._env.action_spec()
        self._low = np.asarray(spec.minimum, dtype=np.float64)
        self._high = np.asarray(spec.maximum, dtype=np.float64)
        self.action_space = gym.spaces.Box(-1.0, 1.0, shape=spec.shape, dtype=np.float32)
        self._keys = list(self._env.observation_spec())
        sizes = [int(np.prod(s.shape)) for s in self._env.observation_spec().values()]
        if self.task.action_reward_observation:
            self._keys += ['previous_action', 'previous_reward']
            sizes += [spec.shape[0], 1]
        self._layout = dict(zip(self._keys, sizes))
        self.observation_space = gym.spaces.Box(-np.inf, np.inf, shape=(sum(sizes),), dtype=np.float32)
        self.render_size = tuple(render_size)
        self.camera = camera
        self._renderer = None
        self._prev_action = np.zeros(spec.shape, dtype=np.float32)
        self._prev_reward = 0.0
        self._started = False
        self._observation = None   # the task's observables of the last timestep

    # -- layout --------------------------------------------------------------------------------------
    def observation_layout(self) -> dict:
        """Observation entries in order, ``{name: size}``."""
        return dict(self._layout)

    @property
    def physics(self):
        return self._env.physics

    @property
    def hands(self):
        t = self._composer_task
        return [t.right_hand, t.left_hand] if self.task.hands == 'both' else [t._hand]

    @property
    def joint_names(self) -> list:
        """Hand joints in observation order, named as on the robot (``rh_FFJ3``, ``rh_forearm_tx``)."""
        return [ros_name(j.full_identifier) for hand in self.hands for j in hand.joints]

    @property
    def actuator_names(self) -> list:
        """Command order: every hand's actuators (``rh_A_FFJ3``, ...), then ``sustain``."""
        return [ros_name(a.full_identifier) for hand in self.hands for a in hand.actuators] + ['sustain']

    @property
    def command_joint_names(self) -> list:
        """What each command value drives, named as ``/joint_states`` has it: a joint, or a coupled one.

        ``rh_A_FFJ3`` drives ``rh_FFJ3``; ``rh_A_FFJ0`` drives the coupled distal joints, measured as
        ``rh_FFJ0`` (= FFJ1 + FFJ2, as the Shadow Hand's driver names it); the pedal is ``sustain``.
        """
        return [name.replace('_A_', '_') for name in self.actuator_names]

    def measured_command(self):
        """Where each command value's joint is now (actuator lengths; the pedal's state): 'hold still'."""
        n = len(self.actuator_names) - 1
        ids = [self.physics.model.name2id(a.full_identifier, 'actuator') for hand in self.hands for a in hand.actuators]
        lengths = np.asarray(self.physics.data.actuator_length, dtype=np.float64)[ids]
        return np.concatenate([lengths[:n], [float(self._composer_task.piano.sustain_state[0])]])

    def joint_state_with_coupled(self):
        """(names, positions, velocities) of the joints plus the coupled joints and pedal the command drives."""
        position, velocity = self.joint_state()
        names = self.joint_names
        measured = dict(zip(self.command_joint_names, self.measured_command()))
        extra = [n for n in self.command_joint_names if n not in names]
        return (names + extra, np.concatenate([position, [measured[n] for n in extra]]),
                np.concatenate([velocity, np.zeros(len(extra))]))

    @property
    def actuator_range(self):
        """(low, high) of each absolute command (joint position targets in rad or m; sustain 0 .. 1)."""
        return self._low.copy(), self._high.copy()

    @property
    def episode_length(self) -> int:
        """Control steps of one performance of the song."""
        return len(self._composer_task._notes)

    # -- actions ---------------------------------------------------------------------------------------
    def to_command(self, action):
        """Normalised action in [-1, 1] -> absolute actuator targets (clipped)."""
        a = np.clip(np.asarray(action, dtype=np.float64).reshape(-1), -1.0, 1.0)
        if a.shape != self._low.shape:
            raise ValueError(f'action: expected {self._low.shape[0]} values, got {a.shape[0]}')
        return self._low + (a + 1.0) * 0.5 * (self._high - self._low)

    def from_command(self, command):
        """Absolute actuator targets -> normalised action in [-1, 1]."""
        c = np.asarray(command, dtype=np.float64).reshape(-1)
        return np.clip(2.0 * (c - self._low) / (self._high - self._low) - 1.0, -1.0, 1.0)

    # -- Gymnasium -------------------------------------------------------------------------------------
    def _vector(self, timestep):
        parts = [np.asarray(v, dtype=np.float32).reshape(-1) for v in timestep.observation.values()]
        if self.task.action_reward_observation:
            parts += [self._prev_action, np.array([self._prev_reward], dtype=np.float32)]
        return np.concatenate(parts)

    def key_state(self, first=False):
        """The info dict of the frame just played: pressed, sustain, goal, goal_sustain, key_positions, step."""
        t = self._composer_task
        piano = t.piano
        # 88 keys + sustain of the frame just played (nothing is due before the first step)
        goal = np.zeros(N_KEYS + 1, dtype=bool) if first else np.asarray(t._goal_current, dtype=bool)
        return {'pressed': piano.activation.copy(), 'sustain': bool(piano.sustain_activation[0]),
                'sustain_position': float(piano.sustain_state[0]),
                'goal': goal[:N_KEYS].copy(), 'goal_sustain': bool(goal[N_KEYS]),
                'key_positions': np.asarray(piano.normalized_state, dtype=np.float64).copy(),
                'step': int(t._t_idx)}

    def score(self):
        """What the song asks for from the next step on (rlhf_msgs/PianoScore): goal, fingers, frame, lookahead.

        ``goal``: (lookahead + 1) * 89 bools, per frame the 88 keys then the pedal; ``fingers``: 5 bools per hand,
        the fingers that should press now. Exactly the task's ``goal`` and ``fingering`` observables.
        """
        if self._observation is None:
            raise RuntimeError('PianoEnv: call reset() before score()')
        return {'goal': np.asarray(self._observation['goal']).reshape(-1) > 0.5,
                'fingers': np.asarray(self._observation['fingering']).reshape(-1) > 0.5,
                'frame': int(self._composer_task._t_idx), 'lookahead': int(self.task.n_steps_lookahead)}

    def reset(self, seed=None, options=None):
        super().reset(seed=seed)
        if seed is not None:
            self._env.random_state.seed(seed)
        self._prev_action[:] = 0.0
        self._prev_reward = 0.0
        timestep = self._env.reset()
        self._observation = timestep.observation
        self._started = True
        return self._vector(timestep), self.key_state(first=True)

    def step(self, action):
        if not self._started:
            raise RuntimeError('PianoEnv: call reset() before step()')
        command = self.to_command(action)
        timestep = self._env.step(command)
        self._observation = timestep.observation
        reward = float(timestep.reward or 0.0)
        self._prev_action = np.asarray(np.clip(action, -1.0, 1.0), dtype=np.float32).reshape(-1)
        self._prev_reward = reward
        info = self.key_state()
        last = timestep.last()
        terminated = bool(last and timestep.discount == 0.0)
        return self._vector(timestep), reward, terminated, bool(last and not terminated), info

    def joint_state(self):
        """(positions, velocities) of ``joint_names`` now."""
        physics = self.physics
        joints = [j for hand in self.hands for j in hand.joints]
        bound = physics.bind(joints)
        return np.asarray(bound.qpos, dtype=np.float64).copy(), np.asarray(bound.qvel, dtype=np.float64).copy()

    def render(self, camera=None):
        """(H, W, 3) uint8 image of ``camera`` (default: this env's) at ``render_size``."""
        from rlhf_sim.cameras import CameraRenderer
        camera = camera or self.camera
        if self._renderer is None or camera not in self._renderer.cameras:
            if self._renderer is not None:
                self._renderer.close()
            self._renderer = CameraRenderer(self.physics.model.ptr, [camera], *self.render_size, depth=False)
        return self._renderer.render(self.physics.data.ptr)[f'{camera}/color']

    def close(self):
        if self._renderer is not None:
            self._renderer.close()
            self._renderer = None
        self._env.close()
