# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""Episodes <-> LeRobot datasets (format v3.0, as LeRobot's ``LeRobotDataset`` reads and writes it). No ROS needed.

Layout written and read (``codebase_version: v3.0``)::

    <dataset>/
      meta/info.json                                  # fps, features (dtype, shape, names), path templates, totals
      meta/stats.json                                 # per feature: min, max, mean, std, count, q01..q99
      meta/tasks.parquet                              # index: task string, column task_index
      meta/episodes/chunk-000/file-000.parquet        # one row per episode: length, tasks, where its frames and
                                                      # video segments are, per-episode stats/<feature>/<stat>
      data/chunk-000/file-000.parquet                 # one row per frame, episodes one after another
      videos/observation.images.<camera>/chunk-000/file-000.mp4   # every episode's frames, one after another

Export (:func:`export_lerobot`): each episode is read with :func:`rlhf_recorder.reader.read_episode` at ``fps``
(the reader's alignment rule); frame k has ``timestamp`` k / fps and holds

- ``observation.state``: joint positions; ``observation.velocity``: joint velocities (names = joint names),
- ``observation.environment_state``: object and target position (x, y, z each), task progress and success (0/1)
  when the task state was recorded,
- ``observation.images.<camera>``: the colour image (H.264 video, yuv420p; depth is not exported),
- ``action``: the 7 arm joint targets and the gripper target (the command that answered the observation).

``dtype`` float32 is what LeRobot policies expect; float64 keeps the recorded commands bit for bit. The
episodes table also keeps what LeRobot has no field for: ``rlhf/episode_id``, ``rlhf/start_offset_s`` (seconds from
the episode's START to its first frame) and ``rlhf/metadata`` (the episode metadata as JSON).

Import (:func:`import_lerobot`): every episode becomes a bag written through :class:`rlhf_recorder.bag.EpisodeBagWriter`
plus a catalog row (``complete``), so training reads it like a recorded one. Frame k is written at
``start + offset + k / fps`` on every stream: ``/joint_states`` (positions; velocities from the dataset, else finite
differences of the positions), ``/<camera>/color`` (rgb8), ``/rlhf_sim/task_state`` when the dataset has our
environment state, and the action as ``/arm_controller/commands`` (7) + ``/gripper_controller/commands`` (1), so
that :func:`~rlhf_recorder.reader.read_episode` at ``fps`` gives back the same frames and actions.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
import json
from pathlib import Path
import shutil
import time

import numpy as np

from rlhf_recorder.reader import ARM_DOF, COMMAND_TYPE, read_episode

CODEBASE_VERSION = 'v3.0'
CHUNKS_SIZE = 1000                  # files per chunk directory (LeRobot's default)
DATA_FILES_SIZE_MB = 100            # a new data/episodes parquet file past this size
VIDEO_FILES_SIZE_MB = 200           # a new video file past this size
CHUNK_FILE = 'chunk-{chunk_index:03d}/file-{file_index:03d}'
DATA_PATH = 'data/' + CHUNK_FILE + '.parquet'
VIDEO_PATH = 'videos/{video_key}/' + CHUNK_FILE + '.mp4'
EPISODES_PATH = 'meta/episodes/' + CHUNK_FILE + '.parquet'
IMAGE_PREFIX = 'observation.images.'
# observation.environment_state: what the reader takes from /rlhf_sim/task_state.
ENV_STATE_NAMES = ['object_x', 'object_y', 'object_z', 'target_x', 'target_y', 'target_z', 'task_progress',
                   'task_success']
QUANTILES = (0.01, 0.10, 0.50, 0.90, 0.99)
DTYPES = ('float32', 'float64')


class LeRobotFormatError(ValueError):
    """A dataset or episode that cannot be converted; the message names the file, feature or episode."""


# ---------------------------------------------------------------------------------------- shared pieces
def _next_file(chunk_index: int, file_index: int) -> tuple[int, int]:
    file_index += 1
    return (chunk_index + 1, 0) if file_index == CHUNKS_SIZE else (chunk_index, file_index)


def _stats(values: np.ndarray) -> dict[str, list]:
    """LeRobot's per-feature statistics over axis 0 (frames)."""
    values = np.asarray(values, dtype=np.float64)
    stats = {'min': values.min(0), 'max': values.max(0), 'mean': values.mean(0), 'std': values.std(0),
             'count': np.array([len(values)])}
    for q in QUANTILES:
        stats[f'q{int(round(q * 100)):02d}'] = np.quantile(values, q, axis=0)
    return {k: np.asarray(v).tolist() for k, v in stats.items()}


def _image_stats(frames: np.ndarray) -> dict[str, list]:
    """Per-channel statistics of (T, H, W, 3) uint8 frames scaled to [0, 1], shaped (3, 1, 1) as LeRobot's."""
    step = max(1, len(frames) // 100)   # a sample of frames is enough for normalisation statistics
    pixels = frames[::step].reshape(-1, 3).astype(np.float64) / 255.0
    stats = _stats(pixels)
    stats = {k: np.asarray(v).reshape(-1, 1, 1).tolist() if k != 'count' else [len(frames)] for k, v in stats.items()}
    return stats


def _topic_name(camera: str) -> str:
    """A camera key as a ROS name: letters, digits and '_' only."""
    name = ''.join(c if c.isalnum() else '_' for c in camera).strip('_').lower()
    return name if name and not name[0].isdigit() else f'camera_{name}'


# ---------------------------------------------------------------------------------------- export
@dataclass
class _VideoFile:
    """One MP4 of a camera being written: frames of consecutive episodes."""

    container: object
    stream: object
    path: Path
    frames: int = 0


class _VideoWriter:
    """Encodes one camera's episodes into ``videos/<key>/chunk-XXX/file-YYY.mp4``, a new file past the size limit."""

    def __init__(self, root: Path, key: str, fps: int, codec: str, width: int, height: int) -> None:
        self.root, self.key, self.fps, self.codec = root, key, fps, codec
        self.width, self.height = width, height
        self.chunk_index = self.file_index = 0
        self.current: _VideoFile | None = None

    def _open(self) -> _VideoFile:
        import av

        path = self.root / VIDEO_PATH.format(video_key=self.key, chunk_index=self.chunk_index,
                                             file_index=self.file_index)
        path.parent.mkdir(parents=True, exist_ok=True)
        container = av.open(str(path), 'w')
        stream = container.add_stream(self.codec, rate=self.fps)
        stream.width, stream.height, stream.pix_fmt = self.width, self.height, 'yuv420p'
        stream.codec_context.time_base = Fraction(1, self.fps)   # frame k at k / fps: pts = k
        # Short GOP and no B-frames: LeRobot seeks to single frames at random.
        stream.options = {'g': '2', 'bf': '0', 'crf': '18'} if self.codec == 'libx264' else {'g': '2'}
        return _VideoFile(container, stream, path)

    def add_episode(self, frames: np.ndarray) -> dict:
        """Append an episode's (T, H, W, 3) frames; returns its episodes-table columns."""
        import av

        if self.current is not None and self.current.path.stat().st_size / 1e6 >= VIDEO_FILES_SIZE_MB:
            self.close()
            self.chunk_index, self.file_index = _next_file(self.chunk_index, self.file_index)
        if self.current is None:
            self.current = self._open()
        video = self.current
        start = video.frames
        for image in frames:
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format='rgb24')
            frame.pts = video.frames
            video.container.mux(video.stream.encode(frame))
            video.frames += 1
        prefix = f'videos/{self.key}/'
        return {prefix + 'chunk_index': self.chunk_index, prefix + 'file_index': self.file_index,
                prefix + 'from_timestamp': start / self.fps, prefix + 'to_timestamp': video.frames / self.fps}

    def close(self) -> None:
        if self.current is not None:
            self.current.container.mux(self.current.stream.encode(None))
            self.current.container.close()
            self.current = None

    def info(self) -> dict:
        return {'video.height': self.height, 'video.width': self.width, 'video.codec': 'h264' if self.codec == 'libx264'
                else self.codec.removeprefix('lib'), 'video.pix_fmt': 'yuv420p', 'video.is_depth_map': False,
                'video.fps': self.fps, 'video.channels': 3, 'has_audio': False}


class _ParquetRows:
    """Rows appended to ``<template>`` parquet files, a new file past ``limit_mb``; returns where each batch went."""

    def __init__(self, root: Path, template: str, limit_mb: float) -> None:
        self.root, self.template, self.limit_mb = root, template, limit_mb
        self.chunk_index = self.file_index = 0
        self.writer = None
        self.path: Path | None = None

    def write(self, table) -> tuple[int, int]:
        import pyarrow.parquet as pq

        if self.writer is not None and self.path.stat().st_size / 1e6 >= self.limit_mb:
            self.close()
            self.chunk_index, self.file_index = _next_file(self.chunk_index, self.file_index)
        if self.writer is None:
            self.path = self.root / self.template.format(chunk_index=self.chunk_index, file_index=self.file_index)
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.writer = pq.ParquetWriter(self.path, table.schema, compression='snappy')
        self.writer.write_table(table)
        return self.chunk_index, self.file_index

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None


def _vector_column(values: np.ndarray, dtype: str):
    import pyarrow as pa

    values = np.ascontiguousarray(values, dtype=dtype)
    flat = pa.array(values.reshape(-1), type=pa.from_numpy_dtype(values.dtype))
    return pa.FixedSizeListArray.from_arrays(flat, values.shape[1])


def select_episodes(data_dir: str | Path, task: str = '', outcome: str = '') -> list[Path]:
    """Bag directories of the catalog's finished ('complete') episodes, filtered by task and outcome ('' = any)."""
    from rlhf_recorder.catalog import Catalog

    data_dir = Path(data_dir)
    if not (data_dir / 'catalog.sqlite').is_file():
        raise LeRobotFormatError(f'{data_dir}: no catalog.sqlite (not an rlhf_recorder data directory)')
    records = Catalog(data_dir).list(task=task or None, outcome=outcome or None, status='complete')
    return [Path(r.path) for r in records]


def export_lerobot(episodes: list[str | Path], out_dir: str | Path, fps: int = 10, cameras: list[str] | None = None,
                   dtype: str = 'float32', robot_type: str = 'franka_panda', codec: str = 'libx264',
                   progress: bool = True) -> dict:
    """Write ``episodes`` (bag directories) as a LeRobot v3.0 dataset in ``out_dir`` (which must not exist).

    The dataset is assembled in ``<out_dir>.partial`` and moved into place when complete. Returns a summary.
    """
    from tqdm import tqdm

    out_dir = Path(out_dir)
    if out_dir.exists():
        raise FileExistsError(f'{out_dir} exists already; refusing to overwrite a dataset')
    if not episodes:
        raise LeRobotFormatError('no episodes to export')
    if dtype not in DTYPES:
        raise LeRobotFormatError(f'dtype {dtype!r}: expected one of {DTYPES}')
    if int(fps) != fps or fps <= 0:
        raise LeRobotFormatError(f'fps {fps!r}: LeRobot datasets need a positive whole number of frames per second')
    fps = int(fps)
    staging = out_dir.with_name(out_dir.name + '.partial')
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        summary = _export(episodes, staging, fps, cameras, dtype, robot_type, codec, progress, tqdm)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    staging.rename(out_dir)
    summary['path'] = str(out_dir)
    return summary


def _export(episodes, root, fps, cameras, dtype, robot_type, codec, progress, tqdm) -> dict:
    import pandas as pd
    import pyarrow as pa

    data = _ParquetRows(root, DATA_PATH, DATA_FILES_SIZE_MB)
    videos: dict[str, _VideoWriter] = {}
    tasks: dict[str, int] = {}
    rows, frames_total, layout, all_values = [], 0, None, {}
    for index, path in enumerate(tqdm(list(episodes), desc='exporting episodes', unit='episode',
                                      disable=not progress)):
        path = Path(path)
        ep = read_episode(path, rate_hz=fps, cameras=cameras)
        n = len(ep.times)
        if n == 0:
            raise LeRobotFormatError(f'{path}: no frames at {fps} Hz (a stream never delivered a message)')
        if not np.isfinite(ep.actions).all():
            raise LeRobotFormatError(f'{path}: the arm or gripper command was not recorded (actions are NaN)')
        this = {'cameras': list(ep.cameras), 'joints': list(ep.joint_names), 'env': ep.object_positions is not None,
                'sizes': {c: ep.images[c].shape[1:3] for c in ep.cameras}}
        if layout is None:
            layout = this
            for cam, (h, w) in this['sizes'].items():
                if h % 2 or w % 2:
                    raise LeRobotFormatError(f'{path}: camera {cam} is {w}x{h}; H.264 (yuv420p) needs even sizes')
                videos[cam] = _VideoWriter(root, IMAGE_PREFIX + cam, fps, codec, w, h)
        elif this != layout:
            raise LeRobotFormatError(f'{path}: cameras, image sizes, joints or task state {this} differ from the '
                                     f'first episode\'s {layout}; export them as separate datasets')
        task = str(ep.metadata.get('task', '')) or 'unknown'
        task_index = tasks.setdefault(task, len(tasks))
        values = {'observation.state': ep.joint_positions, 'observation.velocity': ep.joint_velocities,
                  'action': ep.actions}
        if layout['env']:
            values['observation.environment_state'] = np.concatenate(
                [ep.object_positions, ep.target_positions, ep.task_progress[:, None], ep.task_success[:, None]], 1)
        columns = {name: _vector_column(v, dtype) for name, v in values.items()}
        frame_index = np.arange(n, dtype=np.int64)
        columns.update({'timestamp': pa.array((frame_index / fps).astype(np.float32)),
                        'frame_index': pa.array(frame_index), 'episode_index': pa.array(np.full(n, index, np.int64)),
                        'index': pa.array(frames_total + frame_index),
                        'task_index': pa.array(np.full(n, task_index, np.int64))})
        chunk_index, file_index = data.write(pa.table(columns))
        row = {'episode_index': index, 'tasks': [task], 'length': n, 'data/chunk_index': chunk_index,
               'data/file_index': file_index, 'dataset_from_index': frames_total, 'dataset_to_index': frames_total + n}
        for cam in layout['cameras']:
            row.update(videos[cam].add_episode(ep.images[cam]))
        scalar_columns = {k: np.asarray(columns[k].to_numpy(zero_copy_only=False)).reshape(n, 1)
                          for k in ('timestamp', 'frame_index', 'episode_index', 'index', 'task_index')}
        for name, v in {**values, **scalar_columns}.items():
            v = np.asarray(v, dtype=np.float64 if name in values else None)
            all_values.setdefault(name, []).append(v)
            row.update({f'stats/{name}/{k}': s for k, s in _stats(v).items()})
        for cam in layout['cameras']:
            row.update({f'stats/{IMAGE_PREFIX}{cam}/{k}': s for k, s in _image_stats(ep.images[cam]).items()})
        row.update({'rlhf/episode_id': str(ep.metadata.get('episode_id', path.name)),
                    'rlhf/start_offset_s': float(ep.times[0]), 'rlhf/metadata': json.dumps(ep.metadata, sort_keys=True)})
        rows.append(row)
        frames_total += n
    data.close()
    for writer in videos.values():
        writer.close()

    episodes_table = _ParquetRows(root, EPISODES_PATH, DATA_FILES_SIZE_MB)
    chunk_index, file_index = 0, 0
    for row in rows:
        row['meta/episodes/chunk_index'], row['meta/episodes/file_index'] = chunk_index, file_index
    episodes_table.write(pa.Table.from_pylist(rows))
    episodes_table.close()
    tasks_frame = pd.DataFrame({'task_index': list(tasks.values())}, index=list(tasks))
    tasks_frame.to_parquet(root / 'meta' / 'tasks.parquet')

    features = {}
    for name, width_names in (('observation.state', layout['joints']), ('observation.velocity', layout['joints']),
                              ('observation.environment_state', ENV_STATE_NAMES),
                              ('action', layout['joints'][:ARM_DOF] + ['gripper'])):
        if name in all_values:
            features[name] = {'dtype': dtype, 'shape': [len(width_names)], 'names': list(width_names)}
    for cam, writer in videos.items():
        h, w = layout['sizes'][cam]
        features[IMAGE_PREFIX + cam] = {'dtype': 'video', 'shape': [int(h), int(w), 3],
                                        'names': ['height', 'width', 'channels'], 'info': writer.info()}
    features.update({'timestamp': {'dtype': 'float32', 'shape': [1], 'names': None},
                     **{k: {'dtype': 'int64', 'shape': [1], 'names': None}
                        for k in ('frame_index', 'episode_index', 'index', 'task_index')}})
    info = {'codebase_version': CODEBASE_VERSION, 'robot_type': robot_type, 'total_episodes': len(rows),
            'total_frames': frames_total, 'total_tasks': len(tasks), 'chunks_size': CHUNKS_SIZE,
            'data_files_size_in_mb': DATA_FILES_SIZE_MB, 'video_files_size_in_mb': VIDEO_FILES_SIZE_MB, 'fps': fps,
            'splits': {'train': f'0:{len(rows)}'}, 'data_path': DATA_PATH,
            'video_path': VIDEO_PATH if videos else None, 'features': features}
    stats = {name: _stats(np.concatenate(v)) for name, v in all_values.items()}
    for cam in layout['cameras']:
        counts = [r[f'stats/{IMAGE_PREFIX}{cam}/count'][0] for r in rows]
        means = np.array([r[f'stats/{IMAGE_PREFIX}{cam}/mean'] for r in rows])
        stds = np.array([r[f'stats/{IMAGE_PREFIX}{cam}/std'] for r in rows])
        weights = np.asarray(counts, np.float64)[:, None, None, None] / sum(counts)
        mean = (weights * means).sum(0)
        std = np.sqrt((weights * (stds ** 2 + (means - mean) ** 2)).sum(0))
        stats[IMAGE_PREFIX + cam] = {
            'min': np.min([r[f'stats/{IMAGE_PREFIX}{cam}/min'] for r in rows], 0).tolist(),
            'max': np.max([r[f'stats/{IMAGE_PREFIX}{cam}/max'] for r in rows], 0).tolist(),
            'mean': mean.tolist(), 'std': std.tolist(), 'count': [int(sum(counts))],
            **{f'q{int(round(q * 100)):02d}': np.mean([r[f'stats/{IMAGE_PREFIX}{cam}/q{int(round(q * 100)):02d}']
                                                        for r in rows], 0).tolist() for q in QUANTILES}}
    (root / 'meta' / 'info.json').write_text(json.dumps(info, indent=4))
    (root / 'meta' / 'stats.json').write_text(json.dumps(stats, indent=4))
    return {'episodes': len(rows), 'frames': frames_total, 'fps': fps, 'cameras': layout['cameras'],
            'tasks': list(tasks)}


# ---------------------------------------------------------------------------------------- import
def _read_json(path: Path) -> dict:
    if not path.is_file():
        raise LeRobotFormatError(f'{path}: missing (not a LeRobot {CODEBASE_VERSION} dataset)')
    try:
        return json.loads(path.read_text(encoding='utf-8'))
    except json.JSONDecodeError as err:
        raise LeRobotFormatError(f'{path}: not valid JSON: {err}') from None


def _read_tables(paths: list[Path], what: str):
    import pyarrow as pa
    import pyarrow.parquet as pq

    if not paths:
        raise LeRobotFormatError(f'{what}: no parquet files')
    return pa.concat_tables([pq.read_table(p) for p in paths], promote_options='default')


def _feature_names(feature: dict) -> list[str] | None:
    names = feature.get('names')
    if isinstance(names, dict) and len(names) == 1:   # older datasets: {"motors": [...]}
        names = next(iter(names.values()))
    width = int(np.prod(feature.get('shape', [0])))
    if isinstance(names, list) and len(names) == width and all(isinstance(n, str) for n in names):
        return names
    return None


def load_info(dataset_dir: str | Path) -> dict:
    """``meta/info.json`` of a LeRobot dataset, checked to be format v3.0."""
    info_path = Path(dataset_dir) / 'meta' / 'info.json'
    info = _read_json(info_path)
    version = info.get('codebase_version')
    if version != CODEBASE_VERSION:
        raise LeRobotFormatError(f'{info_path}: codebase_version {version!r}, expected {CODEBASE_VERSION!r} (convert '
                                 'older datasets with LeRobot\'s convert_dataset_v21_to_v30 first)')
    for key in ('fps', 'features', 'data_path'):
        if key not in info:
            raise LeRobotFormatError(f'{info_path}: no {key!r}')
    return info


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


def import_lerobot(dataset_dir: str | Path, data_dir: str | Path, outcome: str = 'success',
                   progress: bool = True) -> dict:
    """Write every episode of the LeRobot dataset ``dataset_dir`` as a bag + catalog row under ``data_dir``.

    ``outcome`` is stored for episodes whose origin is unknown (datasets this module did not export keep no outcome);
    an episode id that exists already in ``data_dir`` is an error and nothing of it is written.
    """
    from tqdm import tqdm

    from rlhf_recorder.bag import EpisodeBagWriter
    from rlhf_recorder.catalog import Catalog, EpisodeRecord
    from rlhf_recorder.msgtypes import make_typestore

    root = Path(dataset_dir)
    info = load_info(root)
    fps, features = int(info['fps']), info['features']
    for key in ('observation.state', 'action'):
        if key not in features:
            raise LeRobotFormatError(f'{root / "meta/info.json"}: no feature {key!r} (features: {sorted(features)})')
    action_width = int(np.prod(features['action']['shape']))
    if action_width != ARM_DOF + 1:
        raise LeRobotFormatError(f'{root / "meta/info.json"}: action has {action_width} values '
                                 f'({features["action"].get("names")}); episodes need {ARM_DOF} arm joint targets '
                                 'and 1 gripper target')
    state_width = int(np.prod(features['observation.state']['shape']))
    joints = _feature_names(features['observation.state']) or \
        [f'joint_{i}' for i in range(state_width)]
    cameras = {key: _topic_name(key[len(IMAGE_PREFIX):]) for key, ft in features.items()
               if key.startswith(IMAGE_PREFIX) and ft.get('dtype') in ('video', 'image')
               and not (ft.get('info') or {}).get('video.is_depth_map')}
    env_state = _feature_names(features.get('observation.environment_state', {})) == ENV_STATE_NAMES
    episodes = _read_tables(sorted((root / 'meta' / 'episodes').glob('*/*.parquet')), f'{root}/meta/episodes')
    episodes = episodes.sort_by('episode_index').to_pylist()
    tasks_path = root / 'meta' / 'tasks.parquet'
    if not tasks_path.is_file():
        raise LeRobotFormatError(f'{tasks_path}: missing')
    import pandas as pd
    task_names = {int(i): str(t) for t, i in pd.read_parquet(tasks_path)['task_index'].items()}
    data = _read_tables(sorted((root / 'data').glob('*/*.parquet')), f'{root}/data')
    data_columns = set(data.column_names)
    for key in [k for k, ft in features.items() if ft.get('dtype') not in ('video',)]:
        if key not in data_columns:
            raise LeRobotFormatError(f'{root}/data: column {key!r} of meta/info.json is missing')

    store = make_typestore()
    types = store.types
    catalog = Catalog(data_dir)
    existing = set(catalog.list_ids())
    base_ns = time.time_ns()
    saved = []
    for ep in tqdm(episodes, desc='importing episodes', unit='episode', disable=not progress):
        index = int(ep['episode_index'])
        frames = data.slice(int(ep['dataset_from_index']), int(ep['dataset_to_index']) - int(ep['dataset_from_index']))
        where = f'{root}: episode {index}'
        if set(frames.column('episode_index').to_pylist()) != {index}:
            raise LeRobotFormatError(f'{where}: rows {ep["dataset_from_index"]}..{ep["dataset_to_index"]} of data/ '
                                     'belong to other episodes')
        n = frames.num_rows
        frame_index = np.asarray(frames.column('frame_index').to_numpy())
        timestamps = np.asarray(frames.column('timestamp').to_numpy(), dtype=np.float64)
        if not np.array_equal(frame_index, np.arange(n)) or np.abs(timestamps - frame_index / fps).max() >= 0.5 / fps:
            raise LeRobotFormatError(f'{where}: frames are not at a regular {fps} Hz (timestamp / frame_index)')
        ours = json.loads(ep['rlhf/metadata']) if ep.get('rlhf/metadata') else {}
        episode_id = str(ep.get('rlhf/episode_id') or f'{_topic_name(root.name)}_{index:06d}')
        if episode_id in existing:
            raise LeRobotFormatError(f'{where}: episode {episode_id} is already in {catalog.path}')
        start_ns = int(ours.get('start_time_ns') or base_ns)
        times = start_ns + int(round(float(ep.get('rlhf/start_offset_s') or 0.0) * 1e9)) + \
            np.round(np.arange(n) * (1e9 / fps)).astype(np.int64)

        def vectors(key):
            return np.asarray(frames.column(key).combine_chunks().flatten().to_numpy(zero_copy_only=False),
                              dtype=np.float64).reshape(n, -1)

        positions, actions = vectors('observation.state'), vectors('action')
        velocity_note = ''
        if 'observation.velocity' in data_columns:
            velocities = vectors('observation.velocity')
        else:
            velocities = np.gradient(positions, 1.0 / fps, axis=0) if n > 1 else np.zeros_like(positions)
            velocity_note = 'joint velocities are finite differences of the positions (the dataset has none)'
        images = {}
        for key, cam in cameras.items():
            if features[key]['dtype'] == 'video':
                video = root / info['video_path'].format(video_key=key, chunk_index=ep[f'videos/{key}/chunk_index'],
                                                         file_index=ep[f'videos/{key}/file_index'])
                images[cam] = _decode_video(video, float(ep[f'videos/{key}/from_timestamp']), n, fps)
            else:
                images[cam] = _decode_images(frames.column(key))
        env = vectors('observation.environment_state') if env_state else None

        task = ours.get('task') or task_names.get(int(frames.column('task_index')[0].as_py()), '')
        note = '; '.join(x for x in (ours.get('note', ''), f'imported from LeRobot dataset {root.name}',
                                     velocity_note) if x)
        metadata = {**ours, 'episode_id': episode_id, 'task': task, 'start_time_ns': start_ns, 'note': note,
                    'outcome': ours.get('outcome') or outcome}
        for key in ('path', 'message_counts', 'duration_s'):
            metadata.pop(key, None)
        topics = {'/joint_states': 'sensor_msgs/msg/JointState', '/arm_controller/commands': COMMAND_TYPE,
                  '/gripper_controller/commands': COMMAND_TYPE,
                  **{f'/{cam}/color': 'sensor_msgs/msg/Image' for cam in images}}
        if env is not None:
            topics['/rlhf_sim/task_state'] = 'rlhf_msgs/msg/TaskState'
        path = Path(data_dir) / 'episodes' / episode_id
        writer = EpisodeBagWriter(path, topics, metadata, typestore=store)
        try:
            for k in range(n):
                t = int(times[k])
                header = types['std_msgs/msg/Header'](
                    stamp=types['builtin_interfaces/msg/Time'](sec=t // 10**9, nanosec=t % 10**9), frame_id='')
                writer.write('/joint_states', store.serialize_cdr(types['sensor_msgs/msg/JointState'](
                    header=header, name=list(joints), position=positions[k], velocity=velocities[k],
                    effort=np.zeros(0)), 'sensor_msgs/msg/JointState'), t)
                for cam, frames_of_cam in images.items():
                    h, w = frames_of_cam.shape[1:3]
                    writer.write(f'/{cam}/color', store.serialize_cdr(types['sensor_msgs/msg/Image'](
                        header=header, height=h, width=w, encoding='rgb8', is_bigendian=0, step=3 * w,
                        data=frames_of_cam[k].reshape(-1)), 'sensor_msgs/msg/Image'), t)
                if env is not None:
                    writer.write('/rlhf_sim/task_state', _task_state(store, header, task, env[k]), t)
                writer.write('/arm_controller/commands', _command(store, actions[k, :ARM_DOF]), t)
                writer.write('/gripper_controller/commands', _command(store, actions[k, ARM_DOF:]), t)
            summary = writer.close(metadata['outcome'], end_time_ns=int(times[-1]))
        except BaseException:
            writer.abort()
            raise
        catalog.add(EpisodeRecord(
            episode_id=episode_id, path=str(path), task=task, operator_name=str(metadata.get('operator_name', '')),
            device=str(metadata.get('device', '')) or 'lerobot', outcome=summary['outcome'], status='complete',
            duration_s=summary['duration_s'], is_sim=bool(metadata.get('is_sim', False)),
            robot=str(metadata.get('robot', '')) or str(info.get('robot_type') or ''),
            seed=int(metadata.get('seed', -1)), software_version=str(metadata.get('software_version', '')),
            started_at=str(metadata.get('started_at', '')), message_counts=summary['message_counts'], note=note))
        existing.add(episode_id)
        saved.append(episode_id)
    return {'episodes': len(saved), 'episode_ids': saved, 'fps': fps, 'cameras': sorted(cameras.values()),
            'data_dir': str(data_dir)}


def _command(store, values) -> bytes:
    types = store.types
    layout = types['std_msgs/msg/MultiArrayLayout'](dim=[], data_offset=0)
    return store.serialize_cdr(types[COMMAND_TYPE](layout=layout, data=np.asarray(values, np.float64)), COMMAND_TYPE)


def _task_state(store, header, task, env) -> bytes:
    types = store.types

    def pose(xyz):
        return types['geometry_msgs/msg/Pose'](
            position=types['geometry_msgs/msg/Point'](x=float(xyz[0]), y=float(xyz[1]), z=float(xyz[2])),
            orientation=types['geometry_msgs/msg/Quaternion'](x=0.0, y=0.0, z=0.0, w=1.0))

    msg = types['rlhf_msgs/msg/TaskState'](header=header, task=task, object_names=['object'],
                                           object_poses=[pose(env[:3])], target_pose=pose(env[3:6]),
                                           progress=float(env[6]), success=bool(env[7]))
    return store.serialize_cdr(msg, 'rlhf_msgs/msg/TaskState')
