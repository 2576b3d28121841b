# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""Segments: fixed-length time ranges of recorded episodes, kept as references (never copies of data).

A :class:`Segment` names its episode (id and bag directory) and a time range in seconds since the
episode start; whoever needs frames re-reads them through ``rlhf_recorder.reader.read_episode`` with
``start_s``/``end_s``. Episodes come from an ``rlhf_recorder`` catalog (``<data_dir>/catalog.sqlite``)
or, without a catalog, from a folder of episode bags (each bag directory holds a ``metadata.yaml``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
import math
from pathlib import Path

import numpy as np

DEFAULT_SEGMENT_LENGTH_S = 2.5
TIME_TOLERANCE_S = 1e-9   # frame times come from integer nanoseconds: absorb their float rounding at the edges


def in_window(times, start_s, end_s):
    """The one window rule: a time t belongs to [start_s, end_s) when start_s <= t < end_s (bool mask of ``times``).

    Every reader of segments (clips, scripted annotators, pair features, training data) selects frames with it.
    """
    t = np.asarray(times, dtype=np.float64)
    return (t >= start_s - TIME_TOLERANCE_S) & (t < end_s - TIME_TOLERANCE_S)


class SegmentError(ValueError):
    """A segment reference or an episode source that cannot be used; the message names what and where."""


@dataclass(frozen=True)
class Segment:
    """A time range [start_s, end_s) of one episode, by reference."""

    episode_id: str
    episode_path: str
    start_s: float
    end_s: float
    task: str
    source: str = ''

    @property
    def segment_id(self) -> str:
        """Stable readable id: ``<episode_id>@<start>-<end>`` (milliseconds)."""
        return f'{self.episode_id}@{round(self.start_s * 1000)}-{round(self.end_s * 1000)}'

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s

    def frames(self, times):
        """Bool mask of the ``times`` (seconds since the episode start) inside this segment (``in_window``)."""
        return in_window(times, self.start_s, self.end_s)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data, where='segment', base_dir=None) -> Segment:
        """Build a segment from its JSON form; errors name ``where`` and the field.

        A relative ``episode_path`` is resolved against ``base_dir`` (the folder of the file it came from).
        """
        if not isinstance(data, dict):
            raise SegmentError(f'{where}: expected an object, got {type(data).__name__}')
        values = {}
        for name, kind in (('episode_id', str), ('episode_path', str), ('start_s', float), ('end_s', float),
                           ('task', str), ('source', str)):
            if name not in data:
                if name == 'source':
                    values[name] = ''
                    continue
                raise SegmentError(f'{where}.{name}: missing')
            value = data[name]
            if kind is float:
                if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                    raise SegmentError(f'{where}.{name}: expected a finite number, got {value!r}')
                value = float(value)
            elif not isinstance(value, str):
                raise SegmentError(f'{where}.{name}: expected a string, got {value!r}')
            values[name] = value
        if not values['end_s'] > values['start_s'] >= 0.0:
            raise SegmentError(f'{where}: expected 0 <= start_s < end_s, got start_s={values["start_s"]}, '
                               f'end_s={values["end_s"]}')
        if base_dir is not None and not Path(values['episode_path']).is_absolute():
            values['episode_path'] = str(Path(base_dir) / values['episode_path'])
        return cls(**values)


@dataclass(frozen=True)
class EpisodeRef:
    """What segment cutting needs to know about one episode.

    ``[start_s, end_s]``: the span, in seconds since the episode start, in which every recorded stream has data
    (``rlhf_recorder.reader.episode_span``); segments are cut only inside it.
    """

    episode_id: str
    path: str
    task: str
    start_s: float
    end_s: float
    source: str = ''
    seed: int = -1          # the scene's reset seed (-1: not a seeded simulation, e.g. a real robot)

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


def episode_exists(path) -> bool:
    """True when ``path`` is an episode bag directory (it holds a rosbag2 ``metadata.yaml``)."""
    return (Path(path) / 'metadata.yaml').is_file()


def _source_of(metadata: dict, fallback: str) -> str:
    # Rollouts record their origin (checkpoint, noise level) in the episode metadata; demonstrations
    # have a device (spacemouse, gamepad, ...).
    for key in ('source', 'checkpoint', 'device'):
        if metadata.get(key):
            return str(metadata[key])
    return fallback


def episodes_from_catalog(data_dir, task=None, outcome=None, is_sim=None, statuses=('complete',)):
    """Episodes listed in ``<data_dir>/catalog.sqlite`` (finished recordings only, by default)."""
    from rlhf_recorder.catalog import Catalog

    data_dir = Path(data_dir).resolve()   # segments keep absolute episode paths, valid from any folder
    if not (data_dir / 'catalog.sqlite').is_file():
        raise SegmentError(f'{data_dir}: no catalog.sqlite (expected an rlhf_recorder data directory)')
    refs = []
    for record in Catalog(data_dir).list(task=task, outcome=outcome, is_sim=is_sim):
        if statuses and record.status not in statuses:
            continue
        span = _span(record.path)
        if span is not None:
            refs.append(EpisodeRef(record.episode_id, record.path, record.task, *span,
                                   source=str(record.device or record.operator_name or ''), seed=int(record.seed)))
    return refs


def _span(path):
    from rlhf_recorder.reader import EpisodeReadError, episode_span
    try:
        return episode_span(path)
    except EpisodeReadError as err:
        raise SegmentError(str(err)) from None


def episodes_from_folder(folder, task=None):
    """Episodes found as bag directories under ``folder`` (read through ``rlhf_recorder.reader.episode_info``)."""
    from rlhf_recorder.reader import episode_info

    folder = Path(folder).resolve()
    if not folder.is_dir():
        raise SegmentError(f'{folder}: not a directory')
    refs = []
    for meta_file in sorted(folder.rglob('metadata.yaml')):
        path = meta_file.parent
        info = episode_info(path)
        metadata = info.get('metadata') or {}
        episode_task = str(metadata.get('task', ''))
        if task is not None and episode_task != task:
            continue
        span = _span(path)
        if span is not None:
            refs.append(EpisodeRef(str(metadata.get('episode_id') or path.name), str(path), episode_task, *span,
                                   source=_source_of(metadata, ''), seed=int(metadata.get('seed', -1))))
    return refs


def find_episodes(location, task=None):
    """Episodes from a data directory with a catalog, else from a folder of bags."""
    location = Path(location)
    if (location / 'catalog.sqlite').is_file():
        return episodes_from_catalog(location, task=task)
    return episodes_from_folder(location, task=task)


def cut_segments(episodes, segment_length_s=DEFAULT_SEGMENT_LENGTH_S, stride_s=None, source=None):
    """Cut every episode's covered span into back-to-back (or ``stride_s``-spaced) segments of ``segment_length_s``.

    Segments start at the span's start (when every stream has data), then every ``stride_s``; a tail shorter than
    the segment length is dropped, so every segment shows the same amount of robot time. ``source`` overrides the
    episodes' own source label (e.g. ``'checkpoint_3'``).
    """
    if not segment_length_s > 0:
        raise SegmentError(f'segment_length_s: expected > 0, got {segment_length_s}')
    stride_s = segment_length_s if stride_s is None else stride_s
    if not stride_s > 0:
        raise SegmentError(f'stride_s: expected > 0, got {stride_s}')
    segments = []
    for episode in episodes:
        start = episode.start_s
        # a small tolerance so a 5.0 s episode yields two 2.5 s segments despite float rounding
        while start + segment_length_s <= episode.end_s + 1e-6:
            segments.append(Segment(episode.episode_id, episode.path, round(start, 6),
                                    round(start + segment_length_s, 6), episode.task,
                                    source if source is not None else episode.source))
            start += stride_s
    return segments
