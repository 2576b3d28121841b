# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""Read a recorded episode (rosbag2, MCAP) into time-aligned numpy arrays, without ROS.

Streams
-------
- cameras: every topic ``/<name>/color`` of type ``sensor_msgs/msg/Image`` names a camera ``<name>``
  (``/scene_camera/color`` -> ``scene_camera``); its depth is ``/<name>/depth`` when recorded. Colour
  encodings rgb8, bgr8, rgba8, bgra8, mono8 become (H, W, 3) uint8 RGB; depth 32FC1 (metres) and 16UC1
  (millimetres, divided by 1000) become (H, W) float32 metres. Values are otherwise kept (0 / NaN stay).
- ``/joint_states`` (``sensor_msgs/msg/JointState``): positions and velocities, in the joint order of the first
  message (later messages are reordered by name).
- actions: the command topics (``commands``: (topic, number of values) pairs, ``std_msgs/msg/Float64MultiArray``
  each, as forward command controllers take them), side by side in that order. The default is the Panda's: the arm
  command (``/arm_controller/commands``, 7 values) then the gripper command (``/gripper_controller/commands``,
  1 value); a policy contract's ``action.command_topics`` gives its own.
- ``/rlhf_sim/task_state`` (``rlhf_msgs/msg/TaskState``): progress, success, the position of the first object
  (``object_positions``) and of the target (``target_positions``), when recorded.

Alignment rule (all on the bag's log time = receive time at the recorder, one clock for every stream)
-------------------------------------------------------------------------------------------------
1. Grid: ``t_k = t_first + k / rate_hz`` for k = 0, 1, ... while ``t_k <= t_last``, where
   ``t_first`` = the first instant at which every used observation stream (the chosen cameras' colour and
   depth, joint states, task state; whichever are recorded) has delivered at least one message, and
   ``t_last`` = the last message of each recorded command stream (the earliest of them), or the last
   observation when no command was recorded. ``start_s`` / ``end_s`` (seconds since episode start) narrow the
   window: ``t_first = max(t_first, start + start_s)``, ``t_last = min(t_last, start + end_s)``.
   So no row ever holds an observation from before a stream's first message or a missing action.
2. Observation at ``t``: the latest message with log time ``<= t`` (same time counts).
3. Action at ``t``: the first command with log time ``>= t`` (same time counts): the command that responds to
   that observation. Each command topic is looked up independently. A command stream that was never recorded
   gives NaN columns and does not limit the grid.
4. Previous command at ``t`` (``previous_commands``): the latest command with log time ``< t`` (strictly before),
   i.e. the command just before the action of rule 3 -- what a policy node has last published when its
   control tick at ``t`` reads the observations. Each command topic independently; before a stream's first command
   the columns are NaN (the policy node uses the measured pose, "hold", there: fill with that).
5. ``times`` are seconds since the episode start: the recorder's START time (``metadata['start_time_ns']``),
   else the first message in the bag.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from rosbags.interfaces import MessageDefinitionFormat
from rosbags.rosbag2 import Reader
from rosbags.typesys import get_types_from_msg

from rlhf_common import topics as graph_topics
from rlhf_recorder.bag import read_episode_metadata
from rlhf_recorder.msgtypes import make_typestore

IMAGE_TYPE = 'sensor_msgs/msg/Image'
JOINT_STATE_TYPE = 'sensor_msgs/msg/JointState'
COMMAND_TYPE = 'std_msgs/msg/Float64MultiArray'
TASK_STATE_TYPE = 'rlhf_msgs/msg/TaskState'

PANDA_COMMANDS = ((graph_topics.ARM_COMMANDS, 7), (graph_topics.GRIPPER_COMMANDS, 1))   # the default command layout


@dataclass
class Episode:
    """One episode as arrays on a fixed-rate grid (see the module docstring for the alignment rule)."""

    times: np.ndarray                      # (T,) float64 seconds since episode start
    images: dict[str, np.ndarray]          # camera -> (T, H, W, 3) uint8 RGB
    depth: dict[str, np.ndarray]           # camera -> (T, H, W) float32 metres
    joint_names: list[str]
    joint_positions: np.ndarray            # (T, J)
    joint_velocities: np.ndarray           # (T, J)
    actions: np.ndarray                    # (T, C) the command topics side by side (Panda: arm 7 + gripper 1)
    task_progress: np.ndarray | None       # (T,) or None when no task state was recorded
    task_success: np.ndarray | None        # (T,) bool or None
    object_positions: np.ndarray | None = None   # (T, 3) first object of the task state, or None
    target_positions: np.ndarray | None = None   # (T, 3) task state target, or None
    previous_commands: np.ndarray | None = None  # (T, C) latest command strictly before t (rule 4), NaN before any
    metadata: dict = field(default_factory=dict)
    cameras: list[str] = field(default_factory=list)


class EpisodeReadError(RuntimeError):
    """A bag cannot be read as an episode; the message names the bag and the problem."""


def camera_names(topics: dict[str, str]) -> list[str]:
    """Camera names found in ``{topic: type}``: every ``/<name>/color`` topic of type sensor_msgs/msg/Image."""
    return sorted(topic[1:-len('/color')] for topic, msgtype in topics.items()
                  if topic.endswith('/color') and msgtype == IMAGE_TYPE and len(topic) > len('/color') + 1)


def image_to_array(msg, topic: str = '') -> np.ndarray:
    """Decode a sensor_msgs/Image: colour -> (H, W, 3) uint8 RGB, depth -> (H, W) float32 metres."""
    enc = msg.encoding
    h, w, step = int(msg.height), int(msg.width), int(msg.step)
    raw = np.asarray(msg.data, dtype=np.uint8)
    if raw.size < h * step:
        raise EpisodeReadError(f'{topic}: image data has {raw.size} bytes, expected height*step = {h * step}')
    rows = raw[:h * step].reshape(h, step)
    channels = {'rgb8': 3, 'bgr8': 3, 'rgba8': 4, 'bgra8': 4, 'mono8': 1}
    if enc in channels:
        c = channels[enc]
        pix = rows[:, :w * c].reshape(h, w, c)
        if enc == 'mono8':
            return np.repeat(pix, 3, axis=2)
        if enc.startswith('bgr'):
            pix = pix[:, :, 2::-1]
        return np.ascontiguousarray(pix[:, :, :3])
    if enc in ('32FC1', '16UC1'):
        dtype = np.dtype('<f4' if enc == '32FC1' else '<u2')
        if msg.is_bigendian:
            dtype = dtype.newbyteorder('>')
        values = np.ascontiguousarray(rows[:, :w * dtype.itemsize]).view(dtype).reshape(h, w)
        if enc == '16UC1':
            return values.astype(np.float32) / np.float32(1000.0)
        return values.astype(np.float32)
    raise EpisodeReadError(f'{topic}: unsupported image encoding {enc!r}; expected rgb8, bgr8, rgba8, bgra8, mono8, '
                           '32FC1 (metres) or 16UC1 (millimetres)')


def _open_reader(path: Path) -> Reader:
    if not path.is_dir():
        raise EpisodeReadError(f'{path}: not a bag directory')
    if not (path / 'metadata.yaml').is_file():
        raise EpisodeReadError(f'{path}: no metadata.yaml, the recording was interrupted; the recorder recovers '
                               'it on its next start (or call rlhf_recorder.bag.recover_bag)')
    reader = Reader(path)
    try:
        reader.open()
    except Exception as err:  # rosbags raises several error types for broken files
        raise EpisodeReadError(f'{path}: cannot open bag: {err}') from err
    return reader


def _typestore_for(reader: Reader):
    typestore = make_typestore()
    for conn in reader.connections:
        if conn.msgtype not in typestore.types and conn.msgdef.format == MessageDefinitionFormat.MSG:
            typestore.register(get_types_from_msg(conn.msgdef.data, conn.msgtype))
    return typestore


def _messages(reader: Reader, connections: list):
    # rosbags reads every connection when given an empty list; here an empty list means none.
    return reader.messages(connections=connections) if connections else iter(())


def episode_info(path: str | Path) -> dict:
    """Summary of a bag without decoding messages: duration, topics with types and counts, cameras, metadata."""
    path = Path(path)
    reader = _open_reader(path)
    try:
        topics = {conn.topic: conn.msgtype for conn in reader.connections}
        counts = {conn.topic: int(conn.msgcount) for conn in reader.connections}
        info = {
            'path': str(path),
            'start_time_ns': int(reader.start_time) if reader.message_count else None,
            'duration_s': reader.duration / 1e9 if reader.message_count else 0.0,
            'message_count': int(reader.message_count),
            'topics': topics,
            'counts': counts,
            'cameras': camera_names(topics),
        }
    finally:
        reader.close()
    info['metadata'] = read_episode_metadata(path)
    return info


def stream_times(path: str | Path, topics: list[str] | None = None) -> dict[str, np.ndarray]:
    """Log times (int64 ns) of every message per topic (all topics when ``topics`` is None)."""
    path = Path(path)
    reader = _open_reader(path)
    try:
        conns = [c for c in reader.connections if topics is None or c.topic in topics]
        times: dict[str, list[int]] = {c.topic: [] for c in conns}
        for conn, timestamp, _ in _messages(reader, conns):
            times[conn.topic].append(timestamp)
    finally:
        reader.close()
    return {topic: np.sort(np.asarray(values, dtype=np.int64)) for topic, values in times.items()}


def read_messages(path: str | Path, topics: list[str] | None = None):
    """Yield ``(topic, log_time_ns, message)`` in log-time order, messages decoded (rosbags dataclasses)."""
    path = Path(path)
    reader = _open_reader(path)
    try:
        typestore = _typestore_for(reader)
        conns = [c for c in reader.connections if topics is None or c.topic in topics]
        for conn, timestamp, data in _messages(reader, conns):
            yield conn.topic, timestamp, typestore.deserialize_cdr(data, conn.msgtype)
    finally:
        reader.close()


def latest_at_or_before(stream_ns: np.ndarray, grid_ns: np.ndarray) -> np.ndarray:
    """Index of the latest message with time <= each grid time (-1 where there is none)."""
    return np.searchsorted(stream_ns, grid_ns, side='right') - 1


def first_at_or_after(stream_ns: np.ndarray, grid_ns: np.ndarray) -> np.ndarray:
    """Index of the first message with time >= each grid time (len(stream) where there is none)."""
    return np.searchsorted(stream_ns, grid_ns, side='left')


def latest_before(stream_ns: np.ndarray, grid_ns: np.ndarray) -> np.ndarray:
    """Index of the latest message with time < each grid time (-1 where there is none)."""
    return np.searchsorted(stream_ns, grid_ns, side='left') - 1


def make_grid(obs_first_ns: list[int], obs_last_ns: list[int], action_last_ns: list[int], rate_hz: float,
              window_ns: tuple[int | None, int | None] = (None, None)) -> np.ndarray:
    """Grid times (int64 ns) by rule 1 of the module docstring."""
    if rate_hz <= 0:
        raise ValueError(f'rate_hz must be positive, got {rate_hz}')
    if not obs_first_ns:
        return np.zeros(0, dtype=np.int64)
    first = max(obs_first_ns)
    last = min(action_last_ns) if action_last_ns else max(obs_last_ns)
    if window_ns[0] is not None:
        first = max(first, window_ns[0])
    if window_ns[1] is not None:
        last = min(last, window_ns[1])
    if last < first:
        return np.zeros(0, dtype=np.int64)
    period_ns = 1e9 / rate_hz
    count = int(np.floor((last - first) / period_ns + 1e-9)) + 1
    return first + np.round(np.arange(count) * period_ns).astype(np.int64)


def episode_span(path: str | Path) -> tuple[float, float] | None:
    """(start, end) seconds since the episode start of the span in which every recorded stream has data, or None.

    ``start``: the first instant at which every camera stream, the joint states and the task state (whichever are
    recorded) have delivered a message (rule 1); ``end``: the recorded end of the episode (its stop time,
    ``metadata['duration_s']``), else the last message. A segment cut inside this span has data on every stream,
    also when a stream joined late (a camera still starting when the episode began). Reads log times only.
    None: a recorded observation stream holds no message at all.
    """
    path = Path(path)
    info = episode_info(path)
    topics = info['topics']
    observed = [t for t, msgtype in topics.items()
                if (msgtype == IMAGE_TYPE and t.rsplit('/', 1)[-1] in ('color', 'depth'))
                or t in (graph_topics.JOINT_STATES, graph_topics.TASK_STATE)]
    stamps = stream_times(path, observed)
    if not observed or any(len(stamps.get(t, ())) == 0 for t in observed):
        return None
    origin = int(info['metadata'].get('start_time_ns') or info['start_time_ns'] or 0)
    start = (max(int(stamps[t][0]) for t in observed) - origin) / 1e9
    recorded_end = info['metadata'].get('duration_s')
    end = float(recorded_end) if recorded_end else (max(int(stamps[t][-1]) for t in observed) - origin) / 1e9
    return max(0.0, start), end


def read_episode(path: str | Path, rate_hz: float = 10.0, cameras: list[str] | None = None,
                 start_s: float | None = None, end_s: float | None = None, images: bool = True,
                 commands=PANDA_COMMANDS, joint_states_topic: str = graph_topics.JOINT_STATES,
                 task_state_topic: str = graph_topics.TASK_STATE) -> Episode:
    """Read the bag at ``path`` into an :class:`Episode` sampled at ``rate_hz`` (alignment: module docstring).

    ``cameras`` selects cameras by name (default: all found); ``images=False`` skips decoding images and depth
    (the grid still waits for the camera streams, so times match a read with images). ``commands``: the command
    topics and their sizes, in action order.
    """
    path = Path(path)
    reader = _open_reader(path)
    try:
        streams = _Streams(reader, path, cameras, [(str(t), int(n)) for t, n in commands], joint_states_topic,
                           task_state_topic)
        return streams.episode(read_episode_metadata(path), rate_hz, start_s, end_s, images)
    finally:
        reader.close()


def _check_type(topics: dict[str, str], topic: str, expected: str, path: Path) -> bool:
    if topic not in topics:
        return False
    if topics[topic] != expected:
        raise EpisodeReadError(f'{path}: topic {topic} has type {topics[topic]}, expected {expected}')
    return True


class _Streams:
    """The streams of one open bag that an episode is read from: their log times and small messages (pass 1)."""

    def __init__(self, reader, path, cameras, commands, joint_states_topic, task_state_topic):
        self.reader, self.path, self.commands = reader, path, commands
        self.joint_topic, self.task_topic = joint_states_topic, task_state_topic
        topics = {conn.topic: conn.msgtype for conn in reader.connections}
        available = camera_names(topics)
        self.cameras = available if cameras is None else list(cameras)
        unknown = [c for c in self.cameras if c not in available]
        if unknown:
            raise EpisodeReadError(f'{path}: cameras {unknown} not recorded; recorded cameras: {available}')
        self.image_topics = {}
        for cam in self.cameras:
            self.image_topics[f'/{cam}/color'] = (cam, 'color')
            if _check_type(topics, f'/{cam}/depth', IMAGE_TYPE, path):
                self.image_topics[f'/{cam}/depth'] = (cam, 'depth')
        self.has_joints = _check_type(topics, joint_states_topic, JOINT_STATE_TYPE, path)
        self.has_task = _check_type(topics, task_state_topic, TASK_STATE_TYPE, path)
        self.command_topics = [t for t, _ in commands if _check_type(topics, t, COMMAND_TYPE, path)]
        small = self.command_topics + [t for t, ok in ((joint_states_topic, self.has_joints),
                                                       (task_state_topic, self.has_task)) if ok]
        self.typestore = _typestore_for(reader)
        wanted = [c for c in reader.connections if c.topic in self.image_topics or c.topic in small]
        times: dict[str, list[int]] = {c.topic: [] for c in wanted}
        self.raw: dict[str, list[bytes]] = {t: [] for t in small}
        for conn, timestamp, data in _messages(reader, wanted):
            times[conn.topic].append(timestamp)
            if conn.topic in self.raw:
                self.raw[conn.topic].append(data)
        self.stamps = {t: np.asarray(v, dtype=np.int64) for t, v in times.items()}
        for topic, values in self.stamps.items():
            if np.any(np.diff(values) < 0):  # rosbags yields in time order; keep the rule exact regardless
                order = np.argsort(values, kind='stable')
                self.stamps[topic] = values[order]
                if topic in self.raw:
                    self.raw[topic] = [self.raw[topic][i] for i in order]

    def episode(self, metadata, rate_hz, start_s, end_s, images) -> Episode:
        reader, path = self.reader, self.path
        origin_ns = int(metadata.get('start_time_ns') or (reader.start_time if reader.message_count else 0))
        observed = [t for t in list(self.image_topics) + [self.joint_topic, self.task_topic] if t in self.stamps]
        empty = [t for t in observed if not len(self.stamps[t])]
        if empty:
            raise EpisodeReadError(f'{path}: observation topics {empty} are in the bag but hold no message')
        cmd_topics = [t for t in self.command_topics if len(self.stamps[t])]
        window = (None if start_s is None else origin_ns + int(round(start_s * 1e9)),
                  None if end_s is None else origin_ns + int(round(end_s * 1e9)))
        grid = make_grid([int(self.stamps[t][0]) for t in observed], [int(self.stamps[t][-1]) for t in observed],
                         [int(self.stamps[t][-1]) for t in cmd_topics], rate_hz, window)
        obs_index = {t: latest_at_or_before(self.stamps[t], grid) for t in observed}   # rule 2
        joint_names, positions, velocities = [], np.zeros((len(grid), 0)), np.zeros((len(grid), 0))
        if self.has_joints:
            joint_names, positions, velocities = _joint_arrays(
                self.typestore, self.raw[self.joint_topic], obs_index[self.joint_topic], self.joint_topic, path)
        task = self._task_arrays(obs_index[self.task_topic]) if self.has_task else (None,) * 4
        actions, previous = self._command_arrays(grid, cmd_topics)
        color, depth = {}, {}
        if images and len(grid):
            color, depth = _decode_images(reader, self.typestore, self.image_topics, obs_index, path)
        return Episode(times=(grid - origin_ns) / 1e9, images=color, depth=depth, joint_names=joint_names,
                       joint_positions=positions, joint_velocities=velocities, actions=actions,
                       task_progress=task[0], task_success=task[1], metadata=metadata, cameras=list(self.cameras),
                       object_positions=task[2], target_positions=task[3], previous_commands=previous)

    def _task_arrays(self, index):
        """(progress, success, first object positions, target positions) at the grid's task states."""
        n = len(index)
        msgs = _decode_selected(self.typestore, self.raw[self.task_topic], index, TASK_STATE_TYPE)
        progress = np.array([msgs[i].progress for i in index], dtype=np.float64)
        success = np.array([bool(msgs[i].success) for i in index], dtype=bool)
        objects = np.array([_position(msgs[i].object_poses[0]) if len(msgs[i].object_poses) else (np.nan,) * 3
                            for i in index], dtype=np.float64).reshape(n, 3)
        targets = np.array([_position(msgs[i].target_pose) for i in index], dtype=np.float64).reshape(n, 3)
        return progress, success, objects, targets

    def _command_arrays(self, grid, cmd_topics):
        """Actions (first command at or after t, rule 3) and previous commands (latest before t, rule 4)."""
        sizes = [size for _, size in self.commands]
        actions = np.full((len(grid), sum(sizes)), np.nan)
        previous = np.full((len(grid), sum(sizes)), np.nan)
        offsets = np.cumsum([0] + sizes)
        for (topic, width), first in zip(self.commands, offsets[:-1]):
            if topic not in cmd_topics:
                continue
            columns = slice(int(first), int(first) + width)
            after = first_at_or_after(self.stamps[topic], grid)
            before = latest_before(self.stamps[topic], grid)
            msgs = _decode_selected(self.typestore, self.raw[topic], np.r_[after, before[before >= 0]], COMMAND_TYPE)
            for out, index in ((actions, after), (previous, before)):
                for row, i in enumerate(index):
                    if i < 0:
                        continue
                    values = np.asarray(msgs[i].data, dtype=np.float64)
                    if values.size != width:
                        raise EpisodeReadError(f'{self.path}: topic {topic} message {i} has {values.size} values, '
                                               f'expected {width}')
                    out[row, columns] = values
        return actions, previous


def _position(pose) -> tuple[float, float, float]:
    return (pose.position.x, pose.position.y, pose.position.z)


def _decode_selected(typestore, raw: list[bytes], index: np.ndarray, msgtype: str) -> dict[int, object]:
    return {int(i): typestore.deserialize_cdr(raw[int(i)], msgtype) for i in np.unique(index)}


def _joint_arrays(typestore, raw, index, topic, path):
    msgs = _decode_selected(typestore, raw, index, JOINT_STATE_TYPE)
    first = typestore.deserialize_cdr(raw[0], JOINT_STATE_TYPE)
    names = list(first.name)
    positions = np.zeros((len(index), len(names)))
    velocities = np.zeros((len(index), len(names)))
    for row, i in enumerate(index):
        msg = msgs[int(i)]
        order = np.arange(len(names)) if list(msg.name) == names else _reorder(msg.name, names, topic, path)
        pos = np.asarray(msg.position, dtype=np.float64)
        positions[row] = pos[order]
        vel = np.asarray(msg.velocity, dtype=np.float64)
        velocities[row] = vel[order] if vel.size == pos.size else np.nan
    return names, positions, velocities


def _reorder(msg_names, names, topic, path) -> np.ndarray:
    lookup = {name: k for k, name in enumerate(msg_names)}
    missing = [name for name in names if name not in lookup]
    if missing:
        raise EpisodeReadError(f'{path}: topic {topic} has a message without joints {missing}')
    return np.array([lookup[name] for name in names])


def _decode_images(reader, typestore, image_topics, obs_index, path):
    needed = {topic: set(int(i) for i in np.unique(obs_index[topic])) for topic in image_topics}
    decoded: dict[str, dict[int, np.ndarray]] = {topic: {} for topic in image_topics}
    counters = dict.fromkeys(image_topics, 0)
    conns = [c for c in reader.connections if c.topic in image_topics]
    for conn, _timestamp, data in _messages(reader, conns):
        k = counters[conn.topic]
        counters[conn.topic] += 1
        if k in needed[conn.topic]:
            msg = typestore.deserialize_cdr(data, IMAGE_TYPE)
            decoded[conn.topic][k] = image_to_array(msg, conn.topic)
    color: dict[str, np.ndarray] = {}
    depth: dict[str, np.ndarray] = {}
    for topic, (cam, kind) in image_topics.items():
        frames = [decoded[topic][int(i)] for i in obs_index[topic]]
        shapes = {f.shape for f in frames}
        if len(shapes) > 1:
            raise EpisodeReadError(f'{path}: topic {topic} changes image size within the episode: {sorted(shapes)}')
        (color if kind == 'color' else depth)[cam] = np.stack(frames)
    return color, depth
