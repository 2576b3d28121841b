# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""Recorded episodes -> a LeRobot v3.0 dataset (layout and mapping: :mod:`rlhf_recorder.lerobot_format`)."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
import json
from pathlib import Path
import shutil

import numpy as np

from rlhf_common.robot import ARM_DOF
from rlhf_recorder.lerobot_format import (
    CHUNKS_SIZE,
    CODEBASE_VERSION,
    DATA_FILES_SIZE_MB,
    DATA_PATH,
    DTYPES,
    ENV_STATE_NAMES,
    EPISODES_PATH,
    IMAGE_PREFIX,
    QUANTILES,
    VIDEO_FILES_SIZE_MB,
    VIDEO_PATH,
    LeRobotFormatError,
)
from rlhf_recorder.reader import read_episode

INDEX_COLUMNS = ('frame_index', 'episode_index', 'index', 'task_index')


def _next_file(chunk_index: int, file_index: int) -> tuple[int, int]:
    file_index += 1
    return (chunk_index + 1, 0) if file_index == CHUNKS_SIZE else (chunk_index, file_index)


def _stats(values: np.ndarray) -> dict[str, list]:
    """LeRobot's per-feature statistics over axis 0 (frames)."""
    values = np.asarray(values, dtype=np.float64)
    stats = {'min': values.min(0), 'max': values.max(0), 'mean': values.mean(0), 'std': values.std(0),
             'count': np.array([len(values)])}
    for q, key in zip(QUANTILES, _quantile_keys()):
        stats[key] = np.quantile(values, q, axis=0)
    return {k: np.asarray(v).tolist() for k, v in stats.items()}


def _quantile_keys() -> list[str]:
    return [f'q{int(round(q * 100)):02d}' for q in QUANTILES]


def _image_stats(frames: np.ndarray) -> dict[str, list]:
    """Per-channel statistics of (T, H, W, 3) uint8 frames scaled to [0, 1], shaped (3, 1, 1) as LeRobot's."""
    step = max(1, len(frames) // 100)   # a sample of frames is enough for normalisation statistics
    pixels = frames[::step].reshape(-1, 3).astype(np.float64) / 255.0
    stats = _stats(pixels)
    stats = {k: np.asarray(v).reshape(-1, 1, 1).tolist() if k != 'count' else [len(frames)] for k, v in stats.items()}
    return stats


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


def _check_layout(path: Path, ep, layout: dict | None) -> dict:
    """The episode's cameras, image sizes, joints and task state; they must be the first episode's."""
    this = {'cameras': list(ep.cameras), 'joints': list(ep.joint_names), 'env': ep.object_positions is not None,
            'sizes': {c: tuple(ep.images[c].shape[1:3]) for c in ep.cameras}}
    if layout is not None and this != layout:
        raise LeRobotFormatError(f'{path}: cameras, image sizes, joints or task state {this} differ from the first '
                                 f'episode\'s {layout}; export them as separate datasets')
    for cam, (h, w) in this['sizes'].items():
        if h % 2 or w % 2:
            raise LeRobotFormatError(f'{path}: camera {cam} is {w}x{h}; H.264 (yuv420p) needs even sizes')
    return this


def _frame_values(ep, with_env: bool) -> dict[str, np.ndarray]:
    """The vector features of every frame (float64, as read)."""
    values = {'observation.state': ep.joint_positions, 'observation.velocity': ep.joint_velocities,
              'action': ep.actions}
    if with_env:
        values['observation.environment_state'] = np.concatenate(
            [ep.object_positions, ep.target_positions, ep.task_progress[:, None], ep.task_success[:, None]], 1)
    return values


def _features(layout: dict, dtype: str, videos: dict) -> dict:
    names = {'observation.state': layout['joints'], 'observation.velocity': layout['joints'],
             'action': layout['joints'][:ARM_DOF] + ['gripper']}
    if layout['env']:
        names['observation.environment_state'] = ENV_STATE_NAMES
    features = {k: {'dtype': dtype, 'shape': [len(v)], 'names': list(v)} for k, v in names.items()}
    for cam, writer in videos.items():
        features[IMAGE_PREFIX + cam] = {'dtype': 'video', 'shape': [writer.height, writer.width, 3],
                                        'names': ['height', 'width', 'channels'], 'info': writer.info()}
    features['timestamp'] = {'dtype': 'float32', 'shape': [1], 'names': None}
    features.update({k: {'dtype': 'int64', 'shape': [1], 'names': None} for k in INDEX_COLUMNS})
    return features


def _combined_image_stats(rows: list[dict], key: str) -> dict:
    """Dataset statistics of an image feature from its per-episode ones (mean and std exact; quantiles averaged)."""
    def per_episode(stat):
        return np.array([row[f'stats/{key}/{stat}'] for row in rows], dtype=np.float64)

    counts = per_episode('count')[:, 0]
    weights = (counts / counts.sum())[:, None, None, None]
    means, stds = per_episode('mean'), per_episode('std')
    mean = (weights * means).sum(0)
    stats = {'min': per_episode('min').min(0), 'max': per_episode('max').max(0), 'mean': mean,
             'std': np.sqrt((weights * (stds ** 2 + (means - mean) ** 2)).sum(0)), 'count': [int(counts.sum())]}
    stats.update({q: (weights * per_episode(q)).sum(0) for q in _quantile_keys()})
    return {k: np.asarray(v).tolist() for k, v in stats.items()}


def _export(episodes, root, fps, cameras, dtype, robot_type, codec, progress, tqdm) -> dict:
    import pandas as pd
    import pyarrow as pa

    data = _ParquetRows(root, DATA_PATH, DATA_FILES_SIZE_MB)
    videos: dict[str, _VideoWriter] = {}
    tasks: dict[str, int] = {}
    rows, layout, all_values, total = [], None, {}, 0
    for index, path in enumerate(tqdm([Path(p) for p in episodes], desc='exporting episodes', unit='episode',
                                      disable=not progress)):
        ep = read_episode(path, rate_hz=fps, cameras=cameras)
        n = len(ep.times)
        if n == 0:
            raise LeRobotFormatError(f'{path}: no frames at {fps} Hz (a stream never delivered a message)')
        if not np.isfinite(ep.actions).all():
            raise LeRobotFormatError(f'{path}: the arm or gripper command was not recorded (actions are NaN)')
        layout = _check_layout(path, ep, layout)
        for cam, (h, w) in layout['sizes'].items():
            videos.setdefault(cam, _VideoWriter(root, IMAGE_PREFIX + cam, fps, codec, w, h))
        task = str(ep.metadata.get('task', '')) or 'unknown'
        frame_index = np.arange(n, dtype=np.int64)
        values = _frame_values(ep, layout['env'])
        values.update({'timestamp': (frame_index / fps).astype(np.float32), 'frame_index': frame_index,
                       'episode_index': np.full(n, index, np.int64), 'index': total + frame_index,
                       'task_index': np.full(n, tasks.setdefault(task, len(tasks)), np.int64)})
        columns = {k: _vector_column(v, dtype) if v.ndim == 2 else pa.array(v) for k, v in values.items()}
        chunk_index, file_index = data.write(pa.table(columns))
        row = {'episode_index': index, 'tasks': [task], 'length': n, 'data/chunk_index': chunk_index,
               'data/file_index': file_index, 'dataset_from_index': total, 'dataset_to_index': total + n,
               'meta/episodes/chunk_index': 0, 'meta/episodes/file_index': 0}
        for name, v in values.items():
            v = np.asarray(v, dtype=np.float64).reshape(n, -1)
            all_values.setdefault(name, []).append(v)
            row.update({f'stats/{name}/{k}': s for k, s in _stats(v).items()})
        for cam in layout['cameras']:
            row.update(videos[cam].add_episode(ep.images[cam]))
            row.update({f'stats/{IMAGE_PREFIX}{cam}/{k}': s for k, s in _image_stats(ep.images[cam]).items()})
        row.update({'rlhf/episode_id': str(ep.metadata.get('episode_id', path.name)),
                    'rlhf/start_offset_s': float(ep.times[0]),
                    'rlhf/metadata': json.dumps(ep.metadata, sort_keys=True)})
        rows.append(row)
        total += n
    data.close()
    for writer in videos.values():
        writer.close()
    episodes_table = _ParquetRows(root, EPISODES_PATH, DATA_FILES_SIZE_MB)
    episodes_table.write(pa.Table.from_pylist(rows))   # one file: a row per episode stays far below the limit
    episodes_table.close()
    pd.DataFrame({'task_index': list(tasks.values())}, index=list(tasks)).to_parquet(root / 'meta' / 'tasks.parquet')
    info = {'codebase_version': CODEBASE_VERSION, 'robot_type': robot_type, 'total_episodes': len(rows),
            'total_frames': total, 'total_tasks': len(tasks), 'chunks_size': CHUNKS_SIZE,
            'data_files_size_in_mb': DATA_FILES_SIZE_MB, 'video_files_size_in_mb': VIDEO_FILES_SIZE_MB, 'fps': fps,
            'splits': {'train': f'0:{len(rows)}'}, 'data_path': DATA_PATH,
            'video_path': VIDEO_PATH if videos else None, 'features': _features(layout, dtype, videos)}
    stats = {name: _stats(np.concatenate(v)) for name, v in all_values.items()}
    stats.update({IMAGE_PREFIX + cam: _combined_image_stats(rows, IMAGE_PREFIX + cam) for cam in layout['cameras']})
    (root / 'meta' / 'info.json').write_text(json.dumps(info, indent=4))
    (root / 'meta' / 'stats.json').write_text(json.dumps(stats, indent=4))
    return {'episodes': len(rows), 'frames': total, 'fps': fps, 'cameras': layout['cameras'], 'tasks': list(tasks)}
