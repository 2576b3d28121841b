# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""A policy's action space: how the network's normalised action becomes the commands a robot takes, and back.

The action is a vector in [-1, 1]; the command is what the ros2_control forward command controllers take, one
``std_msgs/Float64MultiArray`` per controller on ``/<controller>/commands``. An ``ActionSpec`` is a list of
``ActionGroup`` (one per controller, in order): the group's slice of the action becomes its slice of the command
by the group's *mode*:

- ``delta``: joint targets relative to the measured joints, ``target = measured + action * max_delta`` (the Panda
  arm: 7 joint position targets);
- ``absolute``: targets over the group's range, ``target = lower + (action + 1) / 2 * (upper - lower)`` (the
  gripper's opening; a hand's joint targets, as RoboPianist's actions are);
- further modes register with ``register_action_mode`` (an end-effector delta resolved by IK, for example).

Every target is clipped to the group's ``[lower, upper]``. A ``coupled`` group drives all its joints with one value
(a parallel gripper's two fingers); its measured value is the mean of those joints (``measured_command``). The
measured pose in command layout is also what "hold still" means: the previous command before the first one, and
the pose the policy node's limiter starts from.
"""

from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from rlhf_common import robot


class ActionSpecError(ValueError):
    """An action space that cannot be used; the message names the field and what was expected."""


def _fail(field_path, expected, got):
    # the contract module turns these into ContractErrors with the file and the full field path
    raise ActionSpecError(f"field '{field_path}': expected {expected}, got {got!r}")


def _vector(value, field_path, length):
    try:
        arr = np.asarray(value, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):
        _fail(field_path, 'a list of numbers', value)
    if arr.shape[0] != length or not np.all(np.isfinite(arr)):
        _fail(field_path, f'{length} finite numbers', value)
    return arr


class ActionMode:
    """How a group's slice of the normalised action becomes its command values, and back (for training data)."""

    def check(self, group):
        """Raise ActionSpecError naming the field when ``group`` lacks what this mode needs."""

    def action_size(self, group):
        return group.command_size

    def to_command(self, group, action, measured, out):
        """Action (a,) in [-1, 1], measured (c,) -> ``out`` (c,) command values (clipped afterwards)."""
        raise NotImplementedError

    def from_commands(self, group, commands, measured):
        """Commands (T, c) and the measured values they were sent from (T, c) -> actions (T, a) (clipped after)."""
        raise NotImplementedError


class DeltaMode(ActionMode):
    def check(self, group):
        if not group.max_delta > 0:
            _fail('max_delta', 'a positive number (target change per control tick at action +-1)', group.max_delta)

    def to_command(self, group, action, measured, out):
        np.multiply(action, group.max_delta, out=out)
        out += measured

    def from_commands(self, group, commands, measured):
        return (commands - measured) / group.max_delta


class AbsoluteMode(ActionMode):
    def to_command(self, group, action, measured, out):
        np.add(action, 1.0, out=out)
        out *= 0.5 * (group.upper - group.lower)
        out += group.lower

    def from_commands(self, group, commands, measured):
        return 2.0 * (commands - group.lower) / (group.upper - group.lower) - 1.0


ACTION_MODES = {'delta': DeltaMode(), 'absolute': AbsoluteMode()}


def register_action_mode(name, mode):
    """Make ``mode: <name>`` in a contract's action group use ``mode`` (an ``ActionMode``)."""
    ACTION_MODES[name] = mode


@dataclass
class ActionGroup:
    """The joints one forward command controller commands, and how its slice of the action maps to them."""

    controller: str                 # commands go to /<controller>/commands
    joints: list                    # joint names (as /joint_states has them), in command order
    mode: str                       # a key of ACTION_MODES
    lower: np.ndarray               # command limits, one per command value
    upper: np.ndarray
    max_delta: float = 0.0          # delta: target change per control tick at action +-1
    coupled: bool = False           # one command value drives every joint (their mean is what is measured)
    options: dict = field(default_factory=dict)   # settings of registered modes

    def __post_init__(self):
        if not isinstance(self.controller, str) or not self.controller or '/' in self.controller:
            _fail('controller', 'a controller name without "/" (commands go to /<controller>/commands)',
                  self.controller)
        if isinstance(self.joints, str) or not isinstance(self.joints, (list, tuple)) or not self.joints or \
                not all(isinstance(j, str) and j for j in self.joints) or len(set(self.joints)) != len(self.joints):
            _fail('joints', 'a non-empty list of unique joint names', self.joints)
        self.joints = list(self.joints)
        if self.mode not in ACTION_MODES:
            _fail('mode', f'one of {sorted(ACTION_MODES)}', self.mode)
        if not isinstance(self.coupled, bool):
            _fail('coupled', 'true or false', self.coupled)
        self.lower = _vector(self.lower, 'lower', self.command_size)
        self.upper = _vector(self.upper, 'upper', self.command_size)
        if np.any(self.lower >= self.upper):
            _fail('upper', 'each upper limit greater than its lower limit', self.upper.tolist())
        if isinstance(self.max_delta, bool) or not isinstance(self.max_delta, (int, float)):
            _fail('max_delta', 'a number', self.max_delta)
        self.max_delta = float(self.max_delta)
        if not isinstance(self.options, dict):
            _fail('options', 'a mapping', self.options)
        ACTION_MODES[self.mode].check(self)

    @property
    def command_size(self):
        return 1 if self.coupled else len(self.joints)

    @property
    def action_size(self):
        return ACTION_MODES[self.mode].action_size(self)

    @property
    def topic(self):
        return f'/{self.controller}/commands'

    def to_dict(self):
        data = {'controller': self.controller, 'joints': list(self.joints), 'mode': self.mode,
                'lower': [float(x) for x in self.lower], 'upper': [float(x) for x in self.upper]}
        if self.mode == 'delta' or self.max_delta:
            data['max_delta'] = float(self.max_delta)
        if self.coupled:
            data['coupled'] = True
        if self.options:
            data['options'] = dict(self.options)
        return data


@dataclass
class ActionSpec:
    """The whole action: the groups in order (action and command are their slices concatenated)."""

    groups: list

    def __post_init__(self):
        if not isinstance(self.groups, (list, tuple)) or not self.groups:
            _fail('groups', 'a non-empty list of action groups', self.groups)
        self.groups = list(self.groups)
        for i, group in enumerate(self.groups):
            if not isinstance(group, ActionGroup):
                _fail(f'groups[{i}]', 'an ActionGroup', group)
        controllers = [g.controller for g in self.groups]
        if len(set(controllers)) != len(controllers):
            _fail('groups', 'one group per controller', controllers)
        joints = [j for g in self.groups for j in g.joints]
        if len(set(joints)) != len(joints):
            _fail('groups', 'each joint in one group only', joints)
        self._action_slices, self._command_slices = [], []
        a = c = 0
        for group in self.groups:
            self._action_slices.append(slice(a, a + group.action_size))
            self._command_slices.append(slice(c, c + group.command_size))
            a, c = a + group.action_size, c + group.command_size
        self.action_dim, self.command_dim = a, c
        self.lower = np.concatenate([g.lower for g in self.groups])
        self.upper = np.concatenate([g.upper for g in self.groups])

    @classmethod
    def for_panda(cls, max_delta_rad=0.05, gripper_range=(robot.GRIPPER_CLOSED, robot.GRIPPER_OPEN)):
        """The Franka Panda: 7 arm joint deltas (datasheet limits) + the gripper opening over its range."""
        return cls([
            ActionGroup('arm_controller', list(robot.ARM_JOINT_NAMES), 'delta', robot.ARM_JOINT_LOWER,
                        robot.ARM_JOINT_UPPER, max_delta=max_delta_rad),
            ActionGroup('gripper_controller', list(robot.FINGER_JOINT_NAMES), 'absolute', [gripper_range[0]],
                        [gripper_range[1]], coupled=True),
        ])

    @property
    def command_topics(self):
        """[(topic, number of values)] in command order: what the policy node publishes, the reader reads."""
        return [(g.topic, g.command_size) for g in self.groups]

    @property
    def joint_names(self):
        """Every joint the action commands, group by group."""
        return [j for g in self.groups for j in g.joints]

    def split(self, command):
        """(C,) command -> [(topic, values)] per group."""
        return [(g.topic, command[s]) for g, s in zip(self.groups, self._command_slices)]

    def group_of(self, mode):
        """Mask (C,) of the command values whose group has ``mode``."""
        mask = np.zeros(self.command_dim, dtype=bool)
        for group, s in zip(self.groups, self._command_slices):
            mask[s] = group.mode == mode
        return mask

    def measurement(self, joint_names):
        """(C, J) matrix: measured command = positions (..., J) @ matrix.T; ValueError naming missing joints."""
        return _measurement(tuple(joint_names), tuple((tuple(g.joints), g.coupled) for g in self.groups))

    def measured_command(self, joint_names, positions):
        """The measured pose in command layout (..., C): where each commanded joint is now ("hold still")."""
        return np.asarray(positions, dtype=np.float64) @ self.measurement(joint_names).T

    def to_command(self, action, measured, out=None):
        """(A,) normalised action + (C,) measured command -> (C,) command, clipped to the limits (float64).

        The action is clipped to [-1, 1] first; a non-finite action raises ValueError (the node treats that as a
        fault and holds instead).
        """
        a = np.asarray(action, dtype=np.float64).reshape(-1)
        if a.shape[0] != self.action_dim:
            raise ValueError(f'action: expected {self.action_dim} values, got {a.shape[0]}')
        if not np.all(np.isfinite(a)):
            raise ValueError(f'action: expected finite values, got {a.tolist()}')
        m = np.asarray(measured, dtype=np.float64).reshape(-1)
        if m.shape[0] != self.command_dim:
            raise ValueError(f'measured command: expected {self.command_dim} values, got {m.shape[0]}')
        a = np.clip(a, -1.0, 1.0)
        out = np.empty(self.command_dim) if out is None else out
        for group, sa, sc in zip(self.groups, self._action_slices, self._command_slices):
            ACTION_MODES[group.mode].to_command(group, a[sa], m[sc], out[sc])
        np.clip(out, self.lower, self.upper, out=out)
        return out

    def from_commands(self, commands, measured):
        """(T, C) commands + (T, C) measured commands they were sent from -> (T, A) actions in [-1, 1]."""
        c = np.asarray(commands, dtype=np.float64)
        m = np.asarray(measured, dtype=np.float64)
        if c.ndim != 2 or c.shape[1] != self.command_dim or m.shape != c.shape:
            raise ValueError(f'expected commands and measured commands (T, {self.command_dim}), got {c.shape} and '
                             f'{m.shape}')
        parts = [ACTION_MODES[g.mode].from_commands(g, c[:, sc], m[:, sc])
                 for g, sc in zip(self.groups, self._command_slices)]
        return np.clip(np.concatenate(parts, axis=1), -1.0, 1.0)

    def to_dict(self):
        return {'groups': [g.to_dict() for g in self.groups]}


@lru_cache(maxsize=64)
def _measurement(joint_names, groups):
    position = {n: i for i, n in enumerate(joint_names)}
    missing = [j for joints, _ in groups for j in joints if j not in position]
    if missing:
        raise ValueError(f'joint_states: no joint(s) {missing} that the action commands (have {list(joint_names)})')
    rows = []
    for joints, coupled in groups:
        members = [[j] for j in joints] if not coupled else [list(joints)]
        for names in members:
            row = np.zeros(len(joint_names))
            row[[position[n] for n in names]] = 1.0 / len(names)
            rows.append(row)
    matrix = np.array(rows)
    matrix.flags.writeable = False
    return matrix
