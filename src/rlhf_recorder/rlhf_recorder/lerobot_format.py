# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""The LeRobot dataset format (v3.0, as LeRobot's ``LeRobotDataset`` reads and writes it) and how episodes map to it.

Layout written and read (``codebase_version: v3.0``)::

    <dataset>/
      meta/info.json                                  # fps, features (dtype, shape, names), path templates, totals
      meta/stats.json                                 # per feature: min, max, mean, std, count, q01..q99
      meta/tasks.parquet                              # index: task string, column task_index
      meta/episodes/chunk-000/file-000.parquet        # one row per episode: length, tasks, where its frames and
                                                      # video segments are, per-episode stats/<feature>/<stat>
      data/chunk-000/file-000.parquet                 # one row per frame, episodes one after another
      videos/observation.images.<camera>/chunk-000/file-000.mp4   # every episode's frames, one after another

Export (:func:`rlhf_recorder.lerobot_export.export_lerobot`): each episode is read with
:func:`rlhf_recorder.reader.read_episode` at ``fps`` (the reader's alignment rule); frame k has ``timestamp`` k / fps
and holds

- ``observation.state``: joint positions; ``observation.velocity``: joint velocities (names = joint names),
- ``observation.environment_state``: object and target position (x, y, z each), task progress and success (0/1)
  when the task state was recorded,
- ``observation.images.<camera>``: the colour image (H.264 video, yuv420p; depth is not exported),
- ``action``: the 7 arm joint targets and the gripper target (the command that answered the observation).

``dtype`` float32 is what LeRobot policies expect; float64 keeps the recorded commands bit for bit. The
episodes table also keeps what LeRobot has no field for: ``rlhf/episode_id``, ``rlhf/start_offset_s`` (seconds from
the episode's START to its first frame) and ``rlhf/metadata`` (the episode metadata as JSON).

Import (:func:`rlhf_recorder.lerobot_import.import_lerobot`): every episode becomes a bag written through
:class:`rlhf_recorder.bag.EpisodeBagWriter` plus a catalog row (``complete``), so training reads it like a recorded
one. Frame k is written at ``start + offset + k / fps`` on every stream: ``/joint_states`` (positions; velocities
from the dataset, else finite differences of the positions), ``/<camera>/color`` (rgb8), ``/rlhf_sim/task_state``
when the dataset has our environment state, and the action as ``/arm_controller/commands`` (7) +
``/gripper_controller/commands`` (1), so that :func:`~rlhf_recorder.reader.read_episode` at ``fps`` gives back the
same frames and actions.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

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



def _read_json(path: Path) -> dict:
    if not path.is_file():
        raise LeRobotFormatError(f'{path}: missing (not a LeRobot {CODEBASE_VERSION} dataset)')
    try:
        return json.loads(path.read_text(encoding='utf-8'))
    except json.JSONDecodeError as err:
        raise LeRobotFormatError(f'{path}: not valid JSON: {err}') from None


def feature_names(feature: dict) -> list[str] | None:
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
