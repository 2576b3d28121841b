# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""Latest-observation buffers of a running policy (pure; no ROS).

Camera frames are preprocessed once, when they arrive, straight into preallocated model-input buffers (batch
dim 1) with the functions of ``rlhf_policy.preprocess``; a control tick only normalises the proprio vector into
its buffer and reads the arrival times. The result equals ``preprocess(contract, ...)`` of the same raw frames
(tested). The policy node feeds it from its subscriptions; offline rollouts feed it from the simulation.

State features (``observation.state_features``): object/target positions come from the task state stream (its
arrival counts like every other observation); ``previous_command`` is the last command published
(``on_command``), and until the first one -- or after an e-stop -- the measured pose in command layout
(``ActionSpec.measured_command``), the same rule training data follows. A piano policy's features come from the
piano's keys (``on_piano_keys``) and the score (``on_piano_score``), each stream counted like a camera.

Observation history (``observation.history`` > 1): ``assemble`` appends the tick's frame to a
``preprocess.HistoryStack`` and returns the stacked inputs, so the control loop calls it on every tick the policy
drives, whether or not the model runs; the history starts over after a resume (``forget_arrivals``).
"""

import numpy as np

from rlhf_common import topics
from rlhf_policy.contract import DERIVED_FEATURES, PROPRIO_INPUT
from rlhf_policy.preprocess import HistoryStack, ProprioNormaliser, preprocess_color, preprocess_depth


class ObservationAssembler:
    def __init__(self, contract):
        self.contract = contract
        obs = contract.observation
        self.inputs = {}
        self._cameras = {}
        for name in contract.onnx_inputs:
            if name == PROPRIO_INPUT:
                self.inputs[name] = np.zeros((1, obs.proprio_dim), dtype=np.float32)
            else:
                spec = obs.camera(name)
                self.inputs[name] = np.zeros((1,) + spec.shape, dtype=np.float32)
                self._cameras[name] = spec
        # streams this policy needs, with the (monotonic) time of their last arrival; None = never
        self.arrival = {topics.camera_topic(n, 'color'): None for n in self._cameras}
        self.arrival.update({topics.camera_topic(n, 'depth'): None for n, s in self._cameras.items() if s.use_depth})
        self.uses_proprio = PROPRIO_INPUT in contract.onnx_inputs
        self.arrival[topics.JOINT_STATES] = None  # always needed: commands are relative to the measured pose
        self.task_state_topic = obs.task_state_topic
        if obs.uses_task_state:
            self.arrival[obs.task_state_topic] = None
        if obs.uses_piano_keys:
            self.arrival[topics.PIANO_KEYS] = None
        if obs.uses_piano_score:
            self.arrival[topics.PIANO_SCORE] = None
        # observed state features (derived ones, e.g. end_effector_position, are computed by the normaliser)
        self.state = {name: np.zeros(obs.feature_size(name)) for name in obs.state_features
                      if name not in DERIVED_FEATURES}
        self.commanded = False  # previous_command holds a published command (else: the measured pose)
        self._normalise = ProprioNormaliser(obs)
        num = len(obs.joint_names)
        self.joint_positions = np.zeros(num)
        self.joint_velocities = np.zeros(num)
        self.measured_command = np.zeros(contract.action.command_dim)   # the measured pose in command layout
        self.stamps = dict.fromkeys(self.arrival)   # header stamp (ns) of the message in each buffer, when given
        self._joint_maps = {}   # tuple(names) -> (observation indices, measurement matrix) or error text
        self.joint_error = None  # why the last joint state could not be used
        self.history = (HistoryStack({k: v.shape for k, v in self.inputs.items()}, obs.history)
                        if obs.history > 1 else None)

    @property
    def cameras(self):
        return dict(self._cameras)

    def _arrived(self, stream, now_s, stamp_ns):
        self.arrival[stream] = now_s
        self.stamps[stream] = stamp_ns

    def on_color(self, camera, image, now_s, stamp_ns=None):
        """An RGB uint8 (H, W, 3) frame arrived for ``camera`` (``stamp_ns``: its header stamp, for records)."""
        preprocess_color(self._cameras[camera], image, self.inputs[camera][0, :3])
        self._arrived(topics.camera_topic(camera, 'color'), now_s, stamp_ns)

    def on_depth(self, camera, depth_m, now_s, stamp_ns=None):
        """A depth (H, W) float32 metres frame arrived for ``camera`` (ignored when the contract uses none)."""
        spec = self._cameras[camera]
        if spec.use_depth:
            preprocess_depth(spec, depth_m, self.inputs[camera][0, 3])
            self._arrived(topics.camera_topic(camera, 'depth'), now_s, stamp_ns)

    def _joint_map(self, names):
        key = tuple(names)
        found = self._joint_maps.get(key)
        if found is None:
            position = {n: i for i, n in enumerate(names)}
            missing = [n for n in self.contract.observation.joint_names if n not in position]
            try:
                measurement = self.contract.action.measurement(names)
            except ValueError as err:
                found = f'{topics.JOINT_STATES}: {err}'
            else:
                found = (f'{topics.JOINT_STATES} has no joint(s) {sorted(missing)} that the contract observes'
                         if missing else
                         (np.array([position[n] for n in self.contract.observation.joint_names]), measurement))
            self._joint_maps[key] = found
        return found

    def on_joint_state(self, names, positions, velocities, now_s, stamp_ns=None):
        """A joint state arrived (names in any order). Returns False when it lacks a needed joint."""
        found = self._joint_map(names)
        if isinstance(found, str):
            self.joint_error = found
            return False
        obs_idx, measurement = found
        pos = np.asarray(positions, dtype=np.float64)
        vel = np.asarray(velocities, dtype=np.float64) if len(velocities) else np.zeros_like(pos)
        if pos.shape[0] != len(names) or vel.shape[0] != len(names):
            self.joint_error = (f'{topics.JOINT_STATES}: expected {len(names)} positions and velocities, '
                                f'got {pos.shape[0]} and {vel.shape[0]}')
            return False
        np.take(pos, obs_idx, out=self.joint_positions)
        np.take(vel, obs_idx, out=self.joint_velocities)
        np.matmul(measurement, pos, out=self.measured_command)
        self.joint_error = None
        self._arrived(topics.JOINT_STATES, now_s, stamp_ns)
        return True

    def on_task_state(self, object_positions, target_position, now_s, stamp_ns=None):
        """A task state arrived: (N, 3) object positions (the first is observed) and the (3,) target position."""
        objects = np.asarray(object_positions, dtype=np.float64).reshape(-1, 3)
        if 'object_position' in self.state:
            if objects.shape[0] == 0:
                raise ValueError(f'{self.task_state_topic}: no object pose (the contract observes object_position)')
            self.state['object_position'][:] = objects[0]
        if 'target_position' in self.state:
            self.state['target_position'][:] = target_position
        self._arrived(self.task_state_topic, now_s, stamp_ns)

    def on_piano_keys(self, key_positions, sustain_position, now_s, stamp_ns=None):
        """The piano's keys arrived (rlhf_msgs/PianoKeys): 88 key depressions 0 .. 1 and the pedal's."""
        self._fill(topics.PIANO_KEYS, {'piano_keys': ('key_positions', key_positions),
                                       'piano_sustain': ('sustain_position', [sustain_position])})
        self._arrived(topics.PIANO_KEYS, now_s, stamp_ns)

    def on_piano_score(self, goal, fingers, now_s, stamp_ns=None):
        """The score arrived (rlhf_msgs/PianoScore): the goal frames and the fingers, as 0 / 1."""
        self._fill(topics.PIANO_SCORE, {'piano_goal': ('goal', goal), 'piano_fingers': ('fingers', fingers)})
        self._arrived(topics.PIANO_SCORE, now_s, stamp_ns)

    def _fill(self, topic, fields):
        """Copy one message's fields {feature: (field name, values)} into the features the contract observes."""
        arrays = {}
        for feature, (field_name, values) in fields.items():
            if feature in self.state:
                arrays[feature] = np.asarray(values, dtype=np.float64).reshape(-1)
                size = self.state[feature].shape[0]
                if arrays[feature].shape[0] != size:   # checked before any is copied: no half-updated message
                    raise ValueError(f'{topic}: expected {size} values in {field_name} (the contract\'s {feature}), '
                                     f'got {arrays[feature].shape[0]}')
        for feature, values in arrays.items():
            self.state[feature][:] = values

    def on_command(self, command):
        """A command was published: the previous command of the next tick."""
        if 'previous_command' in self.state:
            self.state['previous_command'][:] = command
        self.commanded = True

    def forget_command(self):
        """Start over (e-stop): until the next published command, the previous command is the measured pose."""
        self.commanded = False

    def forget_arrivals(self):
        """Not ready until every stream arrives again (after a resume: nothing older is acted on)."""
        self.arrival = dict.fromkeys(self.arrival)
        self.stamps = dict.fromkeys(self.arrival)
        if self.history is not None:
            self.history.reset()

    @property
    def ready(self):
        """Every needed stream arrived at least once."""
        return all(t is not None for t in self.arrival.values())

    def missing(self):
        """Streams that never arrived (sorted)."""
        return sorted(k for k, v in self.arrival.items() if v is None)

    def oldest(self, now_s):
        """(stream, age in s) of the oldest needed stream; age is inf when one never arrived."""
        stream, age = '', 0.0
        for key, arrived in self.arrival.items():
            a = float('inf') if arrived is None else now_s - arrived
            if a > age or not stream:
                stream, age = key, a
        return stream, age

    @property
    def model_inputs(self):
        """What the last ``assemble`` returned: the buffers, or the stacked history (the contract's input shapes)."""
        return self.inputs if self.history is None else self.history.inputs

    def assemble(self):
        """Normalise the latest joint state into the proprio buffer; returns the model inputs (buffers).

        With observation history this is the tick's frame appended to the history: call it once per tick.
        """
        if self.uses_proprio:
            previous = self.state.get('previous_command')
            if previous is not None and not self.commanded:
                previous[:] = self.measured_command
            self._normalise(self.joint_positions, self.joint_velocities, out=self.inputs[PROPRIO_INPUT][0],
                            state=self.state)
        return self.inputs if self.history is None else self.history.push(self.inputs)
