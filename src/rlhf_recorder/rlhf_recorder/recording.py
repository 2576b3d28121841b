# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""Episode recording core (no ROS): a writer thread fed through a queue, one bag per episode, the catalog.

The ROS node calls :meth:`EpisodeRecorder.start`, :meth:`message`, :meth:`finish`, :meth:`discard` from its
callbacks; they only enqueue work, so a slow disk never blocks DDS for long. The queue never drops a message:
when it is full the caller waits and the wait is counted as a queue overflow (logged, and stored in the
episode metadata as ``queue_overflows``).

Failures never touch earlier episodes: an unwritable ``data_dir`` or a full disk (``OSError``) is logged with
the path, the current episode is marked ``incomplete`` in the catalog (its partial MCAP is kept and recovered
on the next start), and the recorder stays ready for the next START.
"""

from __future__ import annotations

from dataclasses import dataclass, field
import datetime
import fcntl
from pathlib import Path
import queue
import shutil
import threading
import time

from rlhf_recorder.bag import EpisodeBagWriter, read_episode_metadata, recover_bag
from rlhf_recorder.catalog import Catalog, EpisodeRecord

EPISODES_DIR = 'episodes'
LOCK_FILE = 'recorder.lock'
_STOP = object()


class _Log:
    """Fallback logger (the node passes its rclpy logger)."""

    def info(self, msg):
        print(f'[recorder] {msg}', flush=True)

    warn = warning = error = info


@dataclass
class _Active:
    episode_id: str
    path: Path
    metadata: dict
    writer: EpisodeBagWriter | None = None
    failed: str = ''                       # why writing stopped (disk full, ...), '' while healthy
    dropped_after_failure: int = 0
    overflows_at_start: int = 0
    topics: dict = field(default_factory=dict)


def safe_episode_id(episode_id: str) -> str:
    """The id as a directory name: letters, digits, '-', '_' and '.' only (others raise ValueError)."""
    if not episode_id or episode_id in ('.', '..') or not all(c.isalnum() or c in '-_.' for c in episode_id):
        raise ValueError(f'episode_id {episode_id!r}: expected a non-empty filesystem-safe id ([A-Za-z0-9._-])')
    return episode_id


class EpisodeRecorder:
    """Writes episodes into ``<data_dir>/episodes/<episode_id>/`` and lists them in ``<data_dir>/catalog.sqlite``."""

    def __init__(self, data_dir: str | Path, software_version: str = '', queue_size: int = 1000,
                 chunk_interval_s: float = 1.0, logger=None) -> None:
        self.data_dir = Path(data_dir).expanduser()
        self.software_version = software_version
        self.chunk_interval_s = chunk_interval_s
        self.log = logger or _Log()
        self._queue: queue.Queue = queue.Queue(maxsize=max(1, queue_size))
        self._active: _Active | None = None       # owned by the writer thread
        self._recording_id: str | None = None     # what callers see; set when START is enqueued
        self._lock = threading.Lock()
        self.queue_overflows = 0
        self.saved: list[dict] = []                # summaries of closed episodes, in order
        self._catalog: Catalog | None = None
        self._lock_file = None
        self._unmarked: list[tuple[str, str]] = []  # (episode_id, reason) the catalog refused to mark incomplete
        self._thread = threading.Thread(target=self._run, name='episode-writer', daemon=True)
        self._thread.start()

    # ---- called from ROS callbacks (any thread) ----------------------------------------------------------
    @property
    def recording(self) -> str | None:
        """Episode id being recorded, or None."""
        return self._recording_id

    def start(self, metadata: dict, topics: dict[str, str], missing_topics: list[str] = (),
              qos: dict[str, list] | None = None) -> None:
        """Begin an episode.

        ``metadata`` needs ``episode_id``; ``topics`` are those whose type is known now, ``qos`` the profiles
        their publishers offer (:func:`rlhf_recorder.bag.offered_qos`).
        """
        episode_id = safe_episode_id(str(metadata.get('episode_id', '')))
        with self._lock:
            self._recording_id = episode_id
        self._put(('start', dict(metadata), dict(topics), list(missing_topics), time.time_ns(), dict(qos or {})))

    def add_topic(self, topic: str, msgtype: str, qos: list = ()) -> None:
        """A configured topic appeared in the graph; it is added to the current bag (and to the next ones)."""
        if self._recording_id is not None:
            self._put(('topic', topic, msgtype, list(qos)))

    def message(self, topic: str, data: bytes, log_time_ns: int) -> bool:
        """Queue one serialised message for the current episode; False (ignored) between episodes."""
        if self._recording_id is None:
            return False
        self._put(('msg', topic, data, log_time_ns))
        return True

    def finish(self, outcome: str, episode_id: str = '', end_time_ns: int | None = None) -> None:
        """End the current episode with outcome 'success' / 'failure' / 'incomplete' and keep it."""
        if self._check_current('finish', episode_id):
            self._put(('finish', outcome, end_time_ns or time.time_ns()))

    def discard(self, episode_id: str = '') -> None:
        """Throw the current episode away: its bag directory and catalog row are deleted."""
        if self._check_current('discard', episode_id):
            self._put(('discard',))

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until everything queued so far is written (True) or ``timeout`` passed (False)."""
        done = threading.Event()
        self._put(('barrier', done))
        return done.wait(timeout)

    def shutdown(self, timeout: float = 30.0) -> None:
        """Close an episode still open as incomplete, then stop the writer thread."""
        if self._recording_id is not None:
            self._put(('finish', 'incomplete', time.time_ns()))
        self._put(_STOP)
        self._thread.join(timeout)

    def _check_current(self, what: str, episode_id: str) -> bool:
        current = self._recording_id
        if current is None:
            self.log.warn(f'{what} of episode {episode_id or "?"} ignored: no episode is being recorded')
            return False
        if episode_id and episode_id != current:
            self.log.warn(f'{what} of episode {episode_id} ignored: recording episode {current}')
            return False
        with self._lock:
            self._recording_id = None
        return True

    def _put(self, item) -> None:
        try:
            self._queue.put_nowait(item)
        except queue.Full:
            # Never drop: wait for the writer, and count the stall so that it is reported.
            with self._lock:
                self.queue_overflows += 1
                if self.queue_overflows == 1 or self.queue_overflows % 100 == 0:
                    self.log.warn(f'write queue full ({self._queue.maxsize} items): waited for the disk '
                                  f'({self.queue_overflows} times so far)')
            self._queue.put(item)

    # ---- writer thread ----------------------------------------------------------------------------------
    def catalog(self) -> Catalog | None:
        """The catalog, opened on first use; None (error logged) when data_dir is not writable."""
        if self._catalog is None:
            try:
                self._catalog = Catalog(self.data_dir)
            except Exception as err:  # OSError, or sqlite3.OperationalError for an unwritable file
                self.log.error(f'cannot open the episode catalog in {self.data_dir}: {err}')
                return None
        return self._catalog

    def acquire_data_dir(self) -> bool:
        """Take ``<data_dir>/recorder.lock`` for this process's lifetime (released by the OS if it dies).

        False (error logged) when another live recorder holds it: then this one must not recover episodes
        that the other one is still writing.
        """
        try:
            self.data_dir.mkdir(parents=True, exist_ok=True)
            self._lock_file = open(self.data_dir / LOCK_FILE, 'a')  # held until this process exits
            fcntl.flock(self._lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self.log.error(f'another recorder is running on {self.data_dir} ({LOCK_FILE} is locked): '
                           'interrupted episodes are left to it')
            return False
        except OSError as err:
            self.log.error(f'cannot lock {self.data_dir / LOCK_FILE}: {err}')
            return False
        return True

    def recover_interrupted(self) -> list[str]:
        """Settle the episodes a killed recorder left 'recording'; returns the ids marked incomplete.

        Bags that were closed keep their outcome; others are rewritten from their flushed chunks and marked
        incomplete. Call :meth:`acquire_data_dir` first.
        """
        catalog = self.catalog()
        if catalog is None:
            return []
        recovered = []
        for record in catalog.list(status='recording'):
            try:  # killed between closing the bag and updating the catalog: the bag is whole
                finished = read_episode_metadata(record.path)
            except (OSError, ValueError):
                finished = {}
            if finished.get('outcome') in ('success', 'failure'):
                catalog.update(record.episode_id, status='complete', outcome=finished['outcome'],
                               duration_s=finished.get('duration_s', 0.0),
                               message_counts=finished.get('message_counts', {}))
                self.log.info(f'episode {record.episode_id}: bag was complete, catalog updated')
                continue
            note = 'recorder stopped during recording'
            counts = record.message_counts
            duration = record.duration_s
            try:
                summary = recover_bag(record.path, {**_record_metadata(record), 'note': note})
                counts, duration = summary['message_counts'], summary['duration_s']
                note += f'; bag recovered up to its last flushed chunk ({sum(counts.values())} messages)'
            except (OSError, ValueError, KeyError, LookupError) as err:
                note += f'; bag not recoverable: {err}'
            catalog.update(record.episode_id, status='incomplete', outcome='incomplete', note=note,
                           message_counts=counts, duration_s=duration)
            self.log.warn(f'episode {record.episode_id} was interrupted: marked incomplete ({note})')
            recovered.append(record.episode_id)
        return recovered

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is _STOP:
                return
            try:
                self._handle(item)
            except Exception as err:  # the writer thread must survive anything one episode does
                self.log.error(f'recorder writer error on {item[0]}: {type(err).__name__}: {err}')

    def _handle(self, item) -> None:
        kind = item[0]
        if kind == 'msg':
            self._write(*item[1:])
        elif kind == 'start':
            self._start(*item[1:])
        elif kind == 'topic':
            self._add_topic(*item[1:])
        elif kind == 'finish':
            self._finish(*item[1:])
        elif kind == 'discard':
            self._discard()
        elif kind == 'barrier':
            item[1].set()

    def _start(self, metadata: dict, topics: dict, missing: list, start_ns: int, qos: dict) -> None:
        if self._active is not None:
            self.log.warn(f'START of {metadata["episode_id"]} while {self._active.episode_id} is open: '
                          'closing that one as incomplete')
            self._finish('incomplete', start_ns)
        self._retry_unmarked()
        episode_id = metadata['episode_id']
        path = self.data_dir / EPISODES_DIR / episode_id
        started_at = datetime.datetime.fromtimestamp(start_ns / 1e9, datetime.timezone.utc)
        meta = {**metadata, 'software_version': self.software_version, 'start_time_ns': start_ns,
                'started_at': started_at.isoformat(timespec='milliseconds').replace('+00:00', 'Z'),
                'missing_topics_at_start': sorted(missing)}
        active = _Active(episode_id, path, meta, overflows_at_start=self.queue_overflows, topics=dict(topics))
        self._active = active
        catalog = self.catalog()
        if path.exists() or (catalog is not None and catalog.list_ids(episode_id)):
            # Never overwrite or re-mark an earlier episode that has the same id.
            self._fail(active, f'episode {episode_id} exists already ({path}); this recording is not saved',
                       touch_catalog=False)
            return
        if missing:
            self.log.warn(f'episode {episode_id}: topics not published (yet): {", ".join(sorted(missing))}; '
                          'they are added to the bag if they appear')
        if catalog is not None:
            catalog.add(EpisodeRecord(**_record_fields(meta), path=str(path), status='recording',
                                      outcome='incomplete'))
        try:
            active.writer = EpisodeBagWriter(path, topics, meta, chunk_interval_s=self.chunk_interval_s, qos=qos)
        except OSError as err:
            self._fail(active, f'cannot create bag {path}: {err}')
            return
        self.log.info(f'episode {episode_id}: recording {len(topics)} topics into {path}')

    def _retry_unmarked(self) -> None:
        catalog = self.catalog()
        while catalog is not None and self._unmarked:
            episode_id, reason = self._unmarked[0]
            try:
                catalog.update(episode_id, status='incomplete', outcome='incomplete', note=reason)
            except KeyError:
                pass
            except Exception:  # noqa: BLE001 - still refused; try again next time
                return
            self._unmarked.pop(0)

    def _add_topic(self, topic: str, msgtype: str, qos: list) -> None:
        active = self._active
        if active is None or topic in active.topics:
            return
        active.topics[topic] = msgtype
        if active.writer is not None and not active.failed:
            active.writer.add_topic(topic, msgtype, qos)
            self.log.info(f'episode {active.episode_id}: topic {topic} ({msgtype}) appeared, now recorded')

    def _write(self, topic: str, data: bytes, log_time_ns: int) -> None:
        active = self._active
        if active is None:
            return
        if active.failed or active.writer is None:
            active.dropped_after_failure += 1
            return
        try:
            active.writer.write(topic, data, log_time_ns)
        except KeyError:
            self.log.warn(f'episode {active.episode_id}: message on {topic} before its type was known; skipped')
        except OSError as err:
            self._fail(active, f'writing {active.path} failed: {err}')

    def _fail(self, active: _Active, reason: str, touch_catalog: bool = True) -> None:
        """Stop writing this episode, keep what reached the disk, mark it incomplete."""
        active.failed = reason
        self.log.error(f'episode {active.episode_id}: {reason}; the episode is marked incomplete, earlier '
                       'episodes are untouched, the recorder keeps running')
        if active.writer is not None:
            try:
                active.writer._writer.abort()  # closes the file; the flushed chunks stay on disk
            except Exception:  # noqa: BLE001 - the disk may refuse even this
                pass
        catalog = self.catalog() if touch_catalog else None
        if catalog is not None:
            try:
                catalog.update(active.episode_id, status='incomplete', outcome='incomplete', note=reason)
            except Exception as err:  # noqa: BLE001 - a full disk can refuse the catalog write too
                self._unmarked.append((active.episode_id, reason))
                self.log.error(f'catalog {catalog.path}: could not mark {active.episode_id} incomplete yet '
                               f'(retried at the next START): {err}')

    def _finish(self, outcome: str, end_ns: int) -> None:
        active, self._active = self._active, None
        if active is None:
            return
        if active.failed:
            self.log.error(f'episode {active.episode_id} ended ({outcome}) but was not fully saved: {active.failed} '
                           f'({active.dropped_after_failure} messages not written)')
            return
        counts = active.writer.counts
        missing = sorted(t for t in active.topics if not counts.get(t)) + sorted(
            t for t in active.metadata['missing_topics_at_start'] if t not in active.topics)
        extra = {'queue_overflows': self.queue_overflows - active.overflows_at_start, 'missing_topics': missing}
        try:
            summary = active.writer.close(outcome, extra, end_time_ns=end_ns)
        except OSError as err:
            self._fail(active, f'closing {active.path} failed: {err}')
            return
        if missing:
            self.log.warn(f'episode {active.episode_id}: no message recorded on {", ".join(missing)}')
        status = 'incomplete' if outcome == 'incomplete' else 'complete'
        catalog = self.catalog()
        if catalog is not None:
            catalog.add(EpisodeRecord(**_record_fields(summary), path=str(active.path), status=status,
                                      outcome=outcome, duration_s=summary['duration_s'],
                                      message_counts=summary['message_counts']))
        self.saved.append(summary)
        total = sum(summary['message_counts'].values())
        self.log.info(f'episode {active.episode_id}: {outcome}, {summary["duration_s"]:.1f} s, {total} messages '
                      f'saved in {active.path} ({len(self.saved)} saved this run)')

    def _discard(self) -> None:
        active, self._active = self._active, None
        if active is None:
            return
        if active.writer is not None:
            active.writer.abort()
        shutil.rmtree(active.path, ignore_errors=True)
        catalog = self.catalog()
        if catalog is not None:
            catalog.remove(active.episode_id)
        self.log.info(f'episode {active.episode_id}: discarded, nothing kept')


_RECORD_KEYS = ('episode_id', 'task', 'operator_name', 'device', 'is_sim', 'robot', 'seed', 'software_version',
                'started_at', 'note')


def _record_fields(meta: dict) -> dict:
    fields = {key: meta[key] for key in _RECORD_KEYS if key in meta}
    fields['seed'] = int(fields.get('seed', -1))
    fields['is_sim'] = bool(fields.get('is_sim', True))
    return fields


def _record_metadata(record: EpisodeRecord) -> dict:
    meta = record.to_dict()
    meta.pop('path', None)
    meta.pop('message_counts', None)
    return meta
