# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""A LeRobot v3.0 dataset -> episodes (bags + catalog rows; layout and mapping: :mod:`rlhf_recorder.lerobot_format`)."""

from __future__ import annotations

from dataclasses import dataclass
import json
from pathlib import Path
import time

import numpy as np

from rlhf_common import topics as graph_topics
from rlhf_common.robot import ARM_DOF
from rlhf_recorder.lerobot_format import ENV_STATE_NAMES, IMAGE_PREFIX, LeRobotFormatError, feature_names, load_info
from rlhf_recorder.reader import COMMAND_TYPE


def _topic_name(camera: str) -> str:
    """A camera key as a ROS name: letters, digits and '_' only."""
    name = ''.join(c if c.isalnum() else '_' for c in camera).strip('_').lower()
    return name if name and not name[0].isdigit() else f'camera_{name}'


def _read_tables(paths: list[Path], what: str):
    import pyarrow as pa
    import pyarrow.parquet as pq

    if not paths:
        raise LeRobotFormatError(f'{what}: no parquet files')
    return pa.concat_tables([pq.read_table(p) for p in paths], promote_options='default')


def _decode_video(path: Path, from_s: float, count: int, fps: int) -> np.ndarray:
    """``count`` frames (T, H, W, 3) uint8 of a video file starting at ``from_s`` seconds."""
    import av

    if not path.is_file():
        raise LeRobotFormatError(f'{path}: video file missing')
    frames = []
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        container.seek(int(from_s / stream.time_base), stream=stream, backward=True, any_frame=False)
        for frame in container.decode(stream):
            if frame.time is None or frame.time < from_s - 0.5 / fps:
                continue
            frames.append(frame.to_ndarray(format='rgb24'))
            if len(frames) == count:
                break
    if len(frames) != count:
        raise LeRobotFormatError(f'{path}: {len(frames)} frames from {from_s:.3f} s, the episode has {count}')
    return np.stack(frames)


def _decode_images(column) -> np.ndarray:
    """An ``image`` feature column (structs of PNG/JPEG bytes) as (T, H, W, 3) uint8."""
    import io

    from PIL import Image

    return np.stack([np.asarray(Image.open(io.BytesIO(cell['bytes'])).convert('RGB')) for cell in column.to_pylist()])


@dataclass
class _Dataset:
    """What the import needs of a dataset, read and checked once."""

    root: Path
    info: dict
    fps: int
    joints: list[str]
    cameras: dict[str, str]          # feature key -> camera name (ROS topic /<name>/color)
    env_state: bool                  # observation.environment_state is ours (ENV_STATE_NAMES)
    episodes: list[dict]             # rows of meta/episodes, by episode_index
    task_names: dict[int, str]
    data: object                     # pyarrow Table of every frame


def open_dataset(dataset_dir: str | Path) -> _Dataset:
    """Read ``meta/`` and ``data/`` of a LeRobot v3.0 dataset; errors name the file and the field."""
    import pandas as pd

    root = Path(dataset_dir)
    info = load_info(root)
    features, info_path = info['features'], root / 'meta' / 'info.json'
    for key in ('observation.state', 'action'):
        if key not in features:
            raise LeRobotFormatError(f'{info_path}: no feature {key!r} (features: {sorted(features)})')
    action_width = int(np.prod(features['action']['shape']))
    if action_width != ARM_DOF + 1:
        raise LeRobotFormatError(f'{info_path}: action has {action_width} values ({features["action"].get("names")}); '
                                 f'episodes need {ARM_DOF} arm joint targets and 1 gripper target')
    joints = feature_names(features['observation.state']) or \
        [f'joint_{i}' for i in range(int(np.prod(features['observation.state']['shape'])))]
    cameras = {key: _topic_name(key[len(IMAGE_PREFIX):]) for key, ft in features.items()
               if key.startswith(IMAGE_PREFIX) and ft.get('dtype') in ('video', 'image')
               and not (ft.get('info') or {}).get('video.is_depth_map')}
    tasks_path = root / 'meta' / 'tasks.parquet'
    if not tasks_path.is_file():
        raise LeRobotFormatError(f'{tasks_path}: missing')
    episodes = _read_tables(sorted((root / 'meta' / 'episodes').glob('*/*.parquet')), f'{root}/meta/episodes')
    data = _read_tables(sorted((root / 'data').glob('*/*.parquet')), f'{root}/data')
    for key, ft in features.items():
        if ft.get('dtype') != 'video' and key not in data.column_names:
            raise LeRobotFormatError(f'{root}/data: column {key!r} of meta/info.json is missing')
    return _Dataset(root, info, int(info['fps']), joints, cameras,
                    feature_names(features.get('observation.environment_state', {})) == ENV_STATE_NAMES,
                    episodes.sort_by('episode_index').to_pylist(),
                    {int(i): str(t) for t, i in pd.read_parquet(tasks_path)['task_index'].items()}, data)


def _episode_frames(ds: _Dataset, ep: dict) -> dict:
    """The frames of one episode as arrays: positions, velocities, actions, env (or None), images, note."""
    index, start, stop = int(ep['episode_index']), int(ep['dataset_from_index']), int(ep['dataset_to_index'])
    frames = ds.data.slice(start, stop - start)
    where = f'{ds.root}: episode {index}'
    if set(frames.column('episode_index').to_pylist()) != {index}:
        raise LeRobotFormatError(f'{where}: rows {start}..{stop} of data/ belong to other episodes')
    n, fps = frames.num_rows, ds.fps
    frame_index = np.asarray(frames.column('frame_index').to_numpy())
    timestamps = np.asarray(frames.column('timestamp').to_numpy(), dtype=np.float64)
    if not np.array_equal(frame_index, np.arange(n)) or np.abs(timestamps - frame_index / fps).max() >= 0.5 / fps:
        raise LeRobotFormatError(f'{where}: frames are not at a regular {fps} Hz (timestamp / frame_index)')

    def vectors(key):
        values = frames.column(key).combine_chunks().flatten().to_numpy(zero_copy_only=False)
        return np.asarray(values, dtype=np.float64).reshape(n, -1)

    out = {'positions': vectors('observation.state'), 'actions': vectors('action'), 'note': '',
           'env': vectors('observation.environment_state') if ds.env_state else None,
           'task_index': int(frames.column('task_index')[0].as_py()), 'images': {}}
    if 'observation.velocity' in frames.column_names:
        out['velocities'] = vectors('observation.velocity')
    else:
        out['velocities'] = np.gradient(out['positions'], 1.0 / fps, axis=0) if n > 1 else 0 * out['positions']
        out['note'] = 'joint velocities are finite differences of the positions (the dataset has none)'
    for key, cam in ds.cameras.items():
        if ds.info['features'][key]['dtype'] == 'video':
            video = ds.root / ds.info['video_path'].format(video_key=key, chunk_index=ep[f'videos/{key}/chunk_index'],
                                                           file_index=ep[f'videos/{key}/file_index'])
            out['images'][cam] = _decode_video(video, float(ep[f'videos/{key}/from_timestamp']), n, fps)
        else:
            out['images'][cam] = _decode_images(frames.column(key))
    return out


class _Serialiser:
    """CDR bytes of the messages a recorded episode holds, built without ROS (rosbags' type store)."""

    def __init__(self) -> None:
        from rlhf_recorder.msgtypes import make_typestore

        self.store = make_typestore()
        self.t = self.store.types

    def header(self, t_ns: int):
        stamp = self.t['builtin_interfaces/msg/Time'](sec=t_ns // 10**9, nanosec=t_ns % 10**9)
        return self.t['std_msgs/msg/Header'](stamp=stamp, frame_id='')

    def joint_state(self, header, names, position, velocity) -> bytes:
        msg = self.t['sensor_msgs/msg/JointState'](header=header, name=list(names), position=position,
                                                   velocity=velocity, effort=np.zeros(0))
        return self.store.serialize_cdr(msg, 'sensor_msgs/msg/JointState')

    def image(self, header, rgb: np.ndarray) -> bytes:
        h, w = rgb.shape[:2]
        msg = self.t['sensor_msgs/msg/Image'](header=header, height=h, width=w, encoding='rgb8', is_bigendian=0,
                                              step=3 * w, data=rgb.reshape(-1))
        return self.store.serialize_cdr(msg, 'sensor_msgs/msg/Image')

    def command(self, values) -> bytes:
        layout = self.t['std_msgs/msg/MultiArrayLayout'](dim=[], data_offset=0)
        msg = self.t[COMMAND_TYPE](layout=layout, data=np.asarray(values, np.float64))
        return self.store.serialize_cdr(msg, COMMAND_TYPE)

    def task_state(self, header, task: str, env) -> bytes:
        def pose(xyz):
            return self.t['geometry_msgs/msg/Pose'](
                position=self.t['geometry_msgs/msg/Point'](x=float(xyz[0]), y=float(xyz[1]), z=float(xyz[2])),
                orientation=self.t['geometry_msgs/msg/Quaternion'](x=0.0, y=0.0, z=0.0, w=1.0))

        msg = self.t['rlhf_msgs/msg/TaskState'](header=header, task=task, object_names=['object'],
                                                object_poses=[pose(env[:3])], target_pose=pose(env[3:6]),
                                                progress=float(env[6]), success=bool(env[7]))
        return self.store.serialize_cdr(msg, 'rlhf_msgs/msg/TaskState')


def _write_bag(path: Path, metadata: dict, times: np.ndarray, joints: list[str], frames: dict,
               cdr: _Serialiser) -> dict:
    """Every stream of frame k at ``times[k]``, so that read_episode at the dataset's fps returns frame k."""
    from rlhf_recorder.bag import EpisodeBagWriter

    topics = {graph_topics.JOINT_STATES: 'sensor_msgs/msg/JointState', graph_topics.ARM_COMMANDS: COMMAND_TYPE,
              graph_topics.GRIPPER_COMMANDS: COMMAND_TYPE,
              **{graph_topics.camera_topic(cam, 'color'): 'sensor_msgs/msg/Image' for cam in frames['images']}}
    if frames['env'] is not None:
        topics[graph_topics.TASK_STATE] = 'rlhf_msgs/msg/TaskState'
    writer = EpisodeBagWriter(path, topics, metadata, typestore=cdr.store)
    try:
        for k, t in enumerate(int(t) for t in times):
            header = cdr.header(t)
            writer.write(graph_topics.JOINT_STATES, cdr.joint_state(header, joints, frames['positions'][k],
                                                          frames['velocities'][k]), t)
            for cam, images in frames['images'].items():
                writer.write(graph_topics.camera_topic(cam, 'color'), cdr.image(header, images[k]), t)
            if frames['env'] is not None:
                writer.write(graph_topics.TASK_STATE, cdr.task_state(header, metadata['task'], frames['env'][k]), t)
            writer.write(graph_topics.ARM_COMMANDS, cdr.command(frames['actions'][k, :ARM_DOF]), t)
            writer.write(graph_topics.GRIPPER_COMMANDS, cdr.command(frames['actions'][k, ARM_DOF:]), t)
        return writer.close(metadata['outcome'], end_time_ns=int(times[-1]))
    except BaseException:
        writer.abort()
        raise


def import_lerobot(dataset_dir: str | Path, data_dir: str | Path, outcome: str = 'success',
                   progress: bool = True) -> dict:
    """Write every episode of the LeRobot dataset ``dataset_dir`` as a bag + catalog row under ``data_dir``.

    ``outcome`` is stored for episodes that carry none (only datasets exported from episodes do); an episode id
    that is in ``data_dir`` already is an error, and the episodes imported before it stay.
    """
    from tqdm import tqdm

    from rlhf_recorder.catalog import Catalog, EpisodeRecord

    ds = open_dataset(dataset_dir)
    catalog = Catalog(data_dir)
    existing = set(catalog.list_ids())
    cdr = _Serialiser()
    base_ns = time.time_ns()
    saved = []
    for ep in tqdm(ds.episodes, desc='importing episodes', unit='episode', disable=not progress):
        ours = json.loads(ep['rlhf/metadata']) if ep.get('rlhf/metadata') else {}
        episode_id = str(ep.get('rlhf/episode_id') or f'{_topic_name(ds.root.name)}_{int(ep["episode_index"]):06d}')
        if episode_id in existing:
            raise LeRobotFormatError(f'{ds.root}: episode {episode_id} is already in {catalog.path}')
        frames = _episode_frames(ds, ep)
        start_ns = int(ours.get('start_time_ns') or base_ns)
        offset_ns = int(round(float(ep.get('rlhf/start_offset_s') or 0.0) * 1e9))
        n = len(frames['actions'])
        times = start_ns + offset_ns + np.round(np.arange(n) * (1e9 / ds.fps)).astype(np.int64)
        note = '; '.join(x for x in (ours.get('note', ''), f'imported from LeRobot dataset {ds.root.name}',
                                     frames['note']) if x)
        metadata = {key: value for key, value in ours.items() if key not in ('path', 'message_counts', 'duration_s')}
        metadata.update({'episode_id': episode_id, 'start_time_ns': start_ns, 'note': note,
                         'task': ours.get('task') or ds.task_names.get(frames['task_index'], ''),
                         'outcome': ours.get('outcome') or outcome})
        path = Path(data_dir) / 'episodes' / episode_id
        summary = _write_bag(path, metadata, times, ds.joints, frames, cdr)
        catalog.add(EpisodeRecord(
            episode_id=episode_id, path=str(path), task=metadata['task'], status='complete',
            operator_name=str(metadata.get('operator_name', '')), device=str(metadata.get('device', '')) or 'lerobot',
            outcome=summary['outcome'], duration_s=summary['duration_s'], is_sim=bool(metadata.get('is_sim', False)),
            robot=str(metadata.get('robot', '')) or str(ds.info.get('robot_type') or ''),
            seed=int(metadata.get('seed', -1)), software_version=str(metadata.get('software_version', '')),
            started_at=str(metadata.get('started_at', '')), message_counts=summary['message_counts'], note=note))
        existing.add(episode_id)
        saved.append(episode_id)
    return {'episodes': len(saved), 'episode_ids': saved, 'fps': ds.fps, 'cameras': sorted(ds.cameras.values()),
            'data_dir': str(data_dir)}
