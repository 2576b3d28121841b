# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""The policy contract: what a policy observes, how its action maps to a robot command, at what rate.

Training writes a contract next to every exported ONNX model (``contract.yaml``) and the policy node
reads it back, so the tensors a policy sees on the robot are the ones it saw in training.

YAML layout (``PolicyContract.save`` writes exactly this, ``PolicyContract.load`` validates it)::

    format_version: 2
    rate_hz: 30.0                     # control rate of the policy node
    model_file: policy.onnx           # relative to the folder of contract.yaml
    onnx_inputs: [scene_camera, proprio]
    onnx_output: action
    observation:
      cameras: [{name: scene_camera, width: 64, height: 64, use_depth: false, max_depth_m: 2.0}]
      joint_names: [panda_joint1, ..., panda_finger_joint2]
      proprio_fields: [position, velocity]
      state_features: []              # optional, appended to proprio: object_position, target_position,
                                      # previous_command, end_effector_position, piano_keys, ... (STATE_FEATURES)
      feature_sizes: {}               # sizes of the state features whose size depends on the task, e.g.
                                      # {piano_goal: 178, piano_fingers: 5}
      task_state_topic: /rlhf_sim/task_state   # rlhf_msgs/TaskState source of object/target positions
      proprio_mean: [...]             # len(proprio_fields) * len(joint_names) + state feature sizes
      proprio_std: [...]
      history: 1                      # optional (default 1): frames the model sees, this control tick's and the
                                      # history - 1 ticks before it, stacked oldest first along the channel axis
                                      # of every camera input and along the proprio vector
    action:                           # rlhf_policy.actions: one group per forward command controller
      groups:
        - {controller: arm_controller, joints: [panda_joint1, ..., panda_joint7], mode: delta,
           lower: [...], upper: [...], max_delta: 0.05}    # rad per control tick at action +-1
        - {controller: gripper_controller, joints: [panda_finger_joint1, panda_finger_joint2], mode: absolute,
           coupled: true, lower: [0.0], upper: [0.04]}     # finger opening in metres for action -1 .. +1
    chunk:                            # optional: an action-chunk policy (rlhf_policy.chunking)
      horizon: 20                     # the model outputs (B, horizon, C): one command per coming control tick, in
                                      # command layout, unscaled: delta groups relative to the measured command of
                                      # the observation, absolute groups as they are
      execution: temporal_ensemble    # or receding_horizon
      ensemble_decay: 0.1             # temporal_ensemble: weight exp(-decay * age in ticks)
      replan_every: 5                 # receding_horizon: ticks between model runs
      gripper_threshold: true         # coupled groups (a parallel gripper) snap to open / closed at mid-range
    metadata: {}                      # free-form, e.g. training run, checkpoint, git hash

Contracts of format_version 1 (the Panda's ``arm_joint_names``, ``max_delta_rad``, ``joint_lower``, ``joint_upper``,
``gripper_range``) still load, as the two groups above.

Every validation error is a ``ContractError`` naming the file (when loaded from one), the field path
(``observation.cameras[1].width``) and what was expected.
"""

from dataclasses import asdict, dataclass, field, fields
import math
import os
from pathlib import Path
import tempfile

import numpy as np
import yaml

from rlhf_common import robot, topics
from rlhf_policy.actions import ActionGroup, ActionSpec, ActionSpecError
from rlhf_policy.chunking import ChunkExecution

FORMAT_VERSION = 2
READABLE_VERSIONS = (1, 2)
PROPRIO_INPUT = 'proprio'
PROPRIO_FIELDS = ('position', 'velocity')
# State features a policy may observe besides its joints (appended to the proprio vector in the listed order):
#   object_position: position of the first object of rlhf_msgs/TaskState.object_poses (world frame, m)
#   target_position: position of TaskState.target_pose (world frame, m)
#   previous_command: the last command sent before this control tick (the action's command layout; before the
#     first command, the measured pose: ActionSpec.measured_command)
#   end_effector_position: tool centre point (world frame, m), forward kinematics of the measured arm joints;
#     derived inside preprocessing (rlhf_policy.kinematics), so callers never pass it
#   piano_keys, piano_sustain: rlhf_msgs/PianoKeys key_positions (88, 0 up .. 1 down) and sustain_position (1)
#   piano_goal, piano_fingers: rlhf_msgs/PianoScore goal ((lookahead + 1) * 89) and fingers (5 per hand), 0 or 1
# Sizes; previous_command's is the action's command size (ObservationSpec.command_dim), None: the task's
# (ObservationSpec.feature_sizes).
STATE_FEATURES = {'object_position': 3, 'target_position': 3, 'previous_command': None, 'end_effector_position': 3,
                  'piano_keys': 88, 'piano_sustain': 1, 'piano_goal': None, 'piano_fingers': None}
DERIVED_FEATURES = ('end_effector_position',)  # computed from the joint positions, not observed
TASK_STATE_FEATURES = ('object_position', 'target_position')  # the ones read from the task state topic
PIANO_KEYS_FEATURES = ('piano_keys', 'piano_sustain')          # read from topics.PIANO_KEYS
PIANO_SCORE_FEATURES = ('piano_goal', 'piano_fingers')         # read from topics.PIANO_SCORE
DEFAULT_TASK_STATE_TOPIC = topics.TASK_STATE


class ContractError(ValueError):
    """A policy contract is malformed; the message names the file, the field and what was expected."""


def _fail(field_path, expected, got):
    raise ContractError(f"field '{field_path}': expected {expected}, got {got!r}")


def _vector(value, field_path, length=None):
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        _fail(field_path, 'a list of numbers', value)
    if arr.ndim != 1:
        _fail(field_path, 'a flat list of numbers', value)
    if length is not None and arr.shape[0] != length:
        _fail(field_path, f'{length} numbers', f'{arr.shape[0]} numbers')
    if not np.all(np.isfinite(arr)):
        _fail(field_path, 'finite numbers', arr.tolist())
    return arr


def _positive(value, field_path, integer=False):
    kind = 'a positive integer' if integer else 'a positive number'
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        _fail(field_path, kind, value)
    if integer and (float(value) != int(value)):
        _fail(field_path, kind, value)
    if not math.isfinite(float(value)) or value <= 0:
        _fail(field_path, kind, value)
    return int(value) if integer else float(value)


def _names(value, field_path):
    if isinstance(value, str) or not isinstance(value, (list, tuple)) or not value:
        _fail(field_path, 'a non-empty list of names', value)
    names = []
    for i, name in enumerate(value):
        if not isinstance(name, str) or not name:
            _fail(f'{field_path}[{i}]', 'a non-empty string', name)
        names.append(name)
    if len(set(names)) != len(names):
        _fail(field_path, 'unique names', names)
    return names


@dataclass
class CameraSpec:
    """One camera the policy observes, resized to width x height; optional depth as a 4th channel."""

    name: str
    width: int
    height: int
    use_depth: bool = False
    max_depth_m: float = 2.0

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name or '/' in self.name:
            _fail('name', 'a camera name without "/" (topics are /<name>/color, /<name>/depth)', self.name)
        if self.name == PROPRIO_INPUT:
            _fail('name', f'a camera name other than the reserved "{PROPRIO_INPUT}"', self.name)
        self.width = _positive(self.width, 'width', integer=True)
        self.height = _positive(self.height, 'height', integer=True)
        if not isinstance(self.use_depth, bool):
            _fail('use_depth', 'true or false', self.use_depth)
        self.max_depth_m = _positive(self.max_depth_m, 'max_depth_m')

    @property
    def channels(self):
        return 4 if self.use_depth else 3

    @property
    def shape(self):
        """Shape of this camera's model input without the batch dim: (C, H, W)."""
        return (self.channels, self.height, self.width)


@dataclass
class ObservationSpec:
    """Cameras plus proprioception (per-joint fields, then state features; normalised with training mean/std)."""

    cameras: list
    joint_names: list
    proprio_fields: tuple = PROPRIO_FIELDS
    proprio_mean: np.ndarray = None  # None: zeros (no centring)
    proprio_std: np.ndarray = None   # None: ones (no scaling)
    state_features: list = field(default_factory=list)  # names of STATE_FEATURES, appended in this order
    task_state_topic: str = DEFAULT_TASK_STATE_TOPIC
    command_dim: int = robot.COMMAND_DIM   # size of previous_command: the action's command (the contract checks)
    history: int = 1   # frames per model input: this tick's and history - 1 before it (rlhf_policy.preprocess)
    feature_sizes: dict = field(default_factory=dict)  # sizes of the listed features whose size is the task's

    def __post_init__(self):
        if not isinstance(self.cameras, (list, tuple)):
            _fail('cameras', 'a list of camera specs', self.cameras)
        self.cameras = list(self.cameras)
        for i, cam in enumerate(self.cameras):
            if not isinstance(cam, CameraSpec):
                _fail(f'cameras[{i}]', 'a CameraSpec', cam)
        names = [c.name for c in self.cameras]
        if len(set(names)) != len(names):
            _fail('cameras', 'unique camera names', names)
        self.joint_names = _names(self.joint_names, 'joint_names')
        fields = self.proprio_fields
        if isinstance(fields, str) or not isinstance(fields, (list, tuple)) or not fields:
            _fail('proprio_fields', f'a non-empty list drawn from {list(PROPRIO_FIELDS)}', fields)
        for i, name in enumerate(fields):
            if name not in PROPRIO_FIELDS:
                _fail(f'proprio_fields[{i}]', f'one of {list(PROPRIO_FIELDS)}', name)
        if len(set(fields)) != len(fields):
            _fail('proprio_fields', 'unique fields', list(fields))
        self.proprio_fields = tuple(fields)
        feats = self.state_features
        if feats is None:
            feats = []
        if isinstance(feats, str) or not isinstance(feats, (list, tuple)):
            _fail('state_features', f'a list drawn from {list(STATE_FEATURES)}', feats)
        for i, name in enumerate(feats):
            if name not in STATE_FEATURES:
                _fail(f'state_features[{i}]', f'one of {list(STATE_FEATURES)}', name)
        if len(set(feats)) != len(feats):
            _fail('state_features', 'unique names', list(feats))
        self.state_features = list(feats)
        self.command_dim = _positive(self.command_dim, 'command_dim', integer=True)
        sizes = {} if self.feature_sizes is None else self.feature_sizes
        if not isinstance(sizes, dict):
            _fail('feature_sizes', 'a mapping {feature: size}', sizes)
        variable = [n for n in feats if STATE_FEATURES[n] is None and n != 'previous_command']
        for name in sizes:
            if name not in variable:
                _fail(f'feature_sizes.{name}', f'a listed state feature whose size is the task\'s {variable}', name)
        for name in variable:
            if name not in sizes:
                _fail(f'feature_sizes.{name}', f'the size of state feature {name!r}', 'nothing')
        self.feature_sizes = {n: _positive(sizes[n], f'feature_sizes.{n}', integer=True) for n in variable}
        self.history = _positive(self.history, 'history', integer=True)
        if 'end_effector_position' in feats:
            missing = [n for n in robot.ARM_JOINT_NAMES if n not in self.joint_names]
            if missing:
                _fail('state_features', f'joint_names with the arm joints {missing} (end_effector_position is '
                      'their forward kinematics)', list(feats))
        if not isinstance(self.task_state_topic, str) or not self.task_state_topic.startswith('/'):
            _fail('task_state_topic', 'an absolute topic name such as /rlhf_sim/task_state', self.task_state_topic)
        dim = self.proprio_dim
        self.proprio_mean = (np.zeros(dim) if self.proprio_mean is None
                             else _vector(self.proprio_mean, 'proprio_mean', dim))
        self.proprio_std = (np.ones(dim) if self.proprio_std is None
                            else _vector(self.proprio_std, 'proprio_std', dim))
        if np.any(self.proprio_std < 0):
            _fail('proprio_std', 'non-negative numbers', self.proprio_std.tolist())

    def feature_size(self, name):
        """Size of one state feature in the proprio vector."""
        if name == 'previous_command':
            return self.command_dim
        return STATE_FEATURES[name] or self.feature_sizes[name]

    @property
    def proprio_dim(self):
        return len(self.proprio_fields) * len(self.joint_names) + sum(self.feature_size(n) for n in self.state_features)

    @property
    def uses_task_state(self):
        """True when a state feature comes from the task state topic (object or target position)."""
        return any(n in TASK_STATE_FEATURES for n in self.state_features)

    @property
    def uses_piano_keys(self):
        return any(n in PIANO_KEYS_FEATURES for n in self.state_features)

    @property
    def uses_piano_score(self):
        return any(n in PIANO_SCORE_FEATURES for n in self.state_features)

    def camera(self, name):
        for cam in self.cameras:
            if cam.name == name:
                return cam
        raise KeyError(f'camera {name!r} is not in the contract (cameras: {[c.name for c in self.cameras]})')


@dataclass
class PolicyContract:
    """Everything the policy node needs to run a model exactly as training saw it."""

    observation: ObservationSpec
    action: ActionSpec
    rate_hz: float = 30.0
    model_file: str = 'policy.onnx'
    onnx_inputs: list = None  # None: one input per camera (in order) + 'proprio'
    onnx_output: str = 'action'
    metadata: dict = field(default_factory=dict)
    chunk: ChunkExecution = None  # None: one normalised action per observation (ActionSpec.to_command)

    def __post_init__(self):
        if not isinstance(self.observation, ObservationSpec):
            _fail('observation', 'an ObservationSpec', self.observation)
        if not isinstance(self.action, ActionSpec):
            _fail('action', 'an ActionSpec', self.action)
        if 'previous_command' in self.observation.state_features and \
                self.observation.command_dim != self.action.command_dim:
            _fail('observation.command_dim', f'{self.action.command_dim} (the action\'s command size: '
                  'previous_command is a command)', self.observation.command_dim)
        self.rate_hz = _positive(self.rate_hz, 'rate_hz')
        if not isinstance(self.model_file, str) or not self.model_file:
            _fail('model_file', 'a file name relative to the contract', self.model_file)
        cams = [c.name for c in self.observation.cameras]
        if self.onnx_inputs is None:
            self.onnx_inputs = cams + [PROPRIO_INPUT]
        self.onnx_inputs = _names(self.onnx_inputs, 'onnx_inputs')
        for i, name in enumerate(self.onnx_inputs):
            if name not in cams and name != PROPRIO_INPUT:
                _fail(f'onnx_inputs[{i}]', f'a camera of observation.cameras {cams} or "{PROPRIO_INPUT}"', name)
        if not isinstance(self.onnx_output, str) or not self.onnx_output:
            _fail('onnx_output', 'the name of the model output', self.onnx_output)
        if self.chunk is not None and not isinstance(self.chunk, ChunkExecution):
            _fail('chunk', 'a ChunkExecution', self.chunk)
        if self.metadata is None:
            self.metadata = {}
        if not isinstance(self.metadata, dict):
            _fail('metadata', 'a mapping', self.metadata)
        try:
            yaml.safe_dump(self.metadata)
        except yaml.YAMLError as err:
            _fail('metadata', 'plain YAML values (str, int, float, bool, list, dict)', str(err).splitlines()[0])

    def input_shapes(self):
        """Model inputs without the batch dim: {name: (history * C, H, W) or (history * P,)}, ``onnx_inputs`` order."""
        obs = self.observation
        shapes = {}
        for name in self.onnx_inputs:
            frame = (obs.proprio_dim,) if name == PROPRIO_INPUT else obs.camera(name).shape
            shapes[name] = (obs.history * frame[0],) + tuple(frame[1:])
        return shapes

    @property
    def output_shape(self):
        """Model output without the batch dim: (A,) normalised actions, or (horizon, C) commands of a chunk policy."""
        if self.chunk is None:
            return (self.action.action_dim,)
        return (self.chunk.horizon, self.action.command_dim)

    def model_path(self, contract_path):
        """Absolute path of the model, resolved relative to the folder of ``contract_path``."""
        path = Path(self.model_file)
        return path if path.is_absolute() else Path(contract_path).resolve().parent / path

    def to_dict(self):
        obs, act = self.observation, self.action
        return {
            'format_version': FORMAT_VERSION,
            'rate_hz': float(self.rate_hz),
            'model_file': self.model_file,
            'onnx_inputs': list(self.onnx_inputs),
            'onnx_output': self.onnx_output,
            'observation': {
                'cameras': [{'name': c.name, 'width': c.width, 'height': c.height,
                             'use_depth': c.use_depth, 'max_depth_m': c.max_depth_m} for c in obs.cameras],
                'joint_names': list(obs.joint_names),
                'proprio_fields': list(obs.proprio_fields),
                'state_features': list(obs.state_features),
                **({'feature_sizes': dict(obs.feature_sizes)} if obs.feature_sizes else {}),
                'task_state_topic': obs.task_state_topic,
                'proprio_mean': [float(x) for x in obs.proprio_mean],
                'proprio_std': [float(x) for x in obs.proprio_std],
                'command_dim': int(obs.command_dim),
                # written only when used, so contracts without history stay readable by earlier nodes
                **({'history': obs.history} if obs.history != 1 else {}),
            },
            'action': act.to_dict(),
            **({} if self.chunk is None else {'chunk': asdict(self.chunk)}),
            'metadata': self.metadata,
        }

    @classmethod
    def from_dict(cls, data):
        """Build and validate a contract from a ``to_dict``-shaped mapping (errors name the field)."""
        _check_keys(data, '', {'format_version', 'rate_hz', 'model_file', 'onnx_inputs', 'onnx_output',
                               'observation', 'action', 'metadata', 'chunk'}, {'observation', 'action'})
        version = data.get('format_version', FORMAT_VERSION)
        if version not in READABLE_VERSIONS:
            _fail('format_version', f'one of {list(READABLE_VERSIONS)} (the versions this rlhf_policy reads)', version)
        obs_data = data['observation']
        _check_keys(obs_data, 'observation.', {'cameras', 'joint_names', 'proprio_fields', 'proprio_mean',
                                               'proprio_std', 'state_features', 'task_state_topic', 'command_dim',
                                               'history', 'feature_sizes'},
                    {'cameras', 'joint_names'})
        cams_data = obs_data['cameras']
        if not isinstance(cams_data, list):
            _fail('observation.cameras', 'a list of cameras', cams_data)
        cameras = []
        for i, cam in enumerate(cams_data):
            prefix = f'observation.cameras[{i}].'
            _check_keys(cam, prefix, {'name', 'width', 'height', 'use_depth', 'max_depth_m'},
                        {'name', 'width', 'height'})
            cameras.append(_nested(prefix, CameraSpec, **cam))
        observation = _nested('observation.', ObservationSpec, cameras=cameras, joint_names=obs_data['joint_names'],
                              proprio_fields=obs_data.get('proprio_fields', PROPRIO_FIELDS),
                              proprio_mean=obs_data.get('proprio_mean'), proprio_std=obs_data.get('proprio_std'),
                              state_features=obs_data.get('state_features', []),
                              task_state_topic=obs_data.get('task_state_topic', DEFAULT_TASK_STATE_TOPIC),
                              command_dim=obs_data.get('command_dim', robot.COMMAND_DIM),
                              history=obs_data.get('history', 1), feature_sizes=obs_data.get('feature_sizes', {}))
        action = (_action_v1 if version == 1 else _action)(data['action'])
        kwargs = {k: data[k] for k in ('rate_hz', 'model_file', 'onnx_inputs', 'onnx_output', 'metadata')
                  if k in data}
        if data.get('chunk') is not None:
            _check_keys(data['chunk'], 'chunk.', {f.name for f in fields(ChunkExecution)}, {'horizon'})
            try:
                kwargs['chunk'] = ChunkExecution(**data['chunk'])
            except ValueError as err:
                raise ContractError(f"field 'chunk': {err}") from None
        return _nested('', cls, observation=observation, action=action, **kwargs)

    def save(self, path):
        """Write the contract as YAML (atomically: an existing file is replaced only by a complete one)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        text = yaml.safe_dump(self.to_dict(), sort_keys=False, default_flow_style=None, width=120)
        fd, tmp = tempfile.mkstemp(prefix='.contract-', suffix='.yaml', dir=path.parent)
        try:
            with os.fdopen(fd, 'w', encoding='utf-8') as f:
                f.write(text)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return path

    @classmethod
    def load(cls, path):
        """Read and validate a contract YAML file; errors are ContractError naming the file and field."""
        path = Path(path)
        try:
            text = path.read_text(encoding='utf-8')
        except OSError as err:
            raise ContractError(f'{path}: cannot read the policy contract ({err.strerror})') from err
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as err:
            raise ContractError(f'{path}: not valid YAML: {err}') from err
        if not isinstance(data, dict):
            raise ContractError(f'{path}: expected a mapping with observation/action/rate_hz, '
                                f'got {type(data).__name__}')
        try:
            return cls.from_dict(data)
        except ContractError as err:
            raise ContractError(f'{path}: {err}') from None


GROUP_FIELDS = {'controller', 'joints', 'mode', 'lower', 'upper', 'max_delta', 'coupled', 'options'}


def _action(data):
    _check_keys(data, 'action.', {'groups'}, {'groups'})
    groups_data = data['groups']
    if not isinstance(groups_data, list) or not groups_data:
        _fail('action.groups', 'a non-empty list of action groups', groups_data)
    groups = []
    for i, group in enumerate(groups_data):
        prefix = f'action.groups[{i}].'
        _check_keys(group, prefix, GROUP_FIELDS, {'controller', 'joints', 'mode', 'lower', 'upper'})
        groups.append(_nested(prefix, ActionGroup, **group))
    return _nested('action.', ActionSpec, groups)


def _action_v1(data):
    """A format_version 1 action (the Panda's 7 arm deltas + gripper) as today's two groups."""
    _check_keys(data, 'action.', {'arm_joint_names', 'max_delta_rad', 'joint_lower', 'joint_upper',
                                  'gripper_range'}, {'arm_joint_names', 'max_delta_rad', 'joint_lower', 'joint_upper'})
    rng = data.get('gripper_range', (robot.GRIPPER_CLOSED, robot.GRIPPER_OPEN))
    if not isinstance(rng, (list, tuple)) or len(rng) != 2 or not rng[0] < rng[1]:
        _fail('action.gripper_range', '[closed, open] with closed < open', rng)
    return _nested('action.', ActionSpec, [
        _nested('action.', ActionGroup, 'arm_controller', data['arm_joint_names'], 'delta', data['joint_lower'],
                data['joint_upper'], max_delta=data['max_delta_rad']),
        ActionGroup('gripper_controller', list(robot.FINGER_JOINT_NAMES), 'absolute', [rng[0]], [rng[1]],
                    coupled=True)])


def _check_keys(data, prefix, allowed, required):
    if not isinstance(data, dict):
        _fail(prefix.rstrip('.') or '<top level>', 'a mapping', data)
    for key in data:
        if key not in allowed:
            raise ContractError(f"field '{prefix}{key}': unknown field (expected one of {sorted(allowed)})")
    for key in sorted(required):
        if key not in data:
            raise ContractError(f"field '{prefix}{key}': missing (required)")


def _nested(prefix, cls, *args, **kwargs):
    """Construct ``cls`` and prefix the field path of any ContractError with ``prefix``."""
    try:
        return cls(*args, **kwargs)
    except (ContractError, ActionSpecError) as err:
        msg = str(err)
        if prefix and msg.startswith("field '"):
            msg = "field '" + prefix + msg[len("field '"):]
        raise ContractError(msg) from None
