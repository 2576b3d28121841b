# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""Write one episode as a rosbag2 (MCAP storage, CDR messages) through the pure-Python ``rosbags`` library.

Layout of one episode (what ``ros2 bag record`` would write, so ``ros2 bag info``, Foxglove and the
``mcap`` tools open it)::

    <path>/                      # the bag directory, usually <data_dir>/episodes/<episode_id>
      <episode_id>_0.mcap        # messages, CDR, log time = receive time (ns since the epoch)
      metadata.yaml              # rosbag2 metadata; custom_data['rlhf_episode'] = JSON of the episode
                                 # metadata (task, operator, device, outcome, duration, ...)

metadata.yaml is what rosbag2 of the running distribution writes (``$ROS_DISTRO``, which every ROS install and
``scripts/env.sh`` set): ``ros_distro`` names it, and each topic's ``offered_qos_profiles`` lists the QoS profiles
its publishers offered, so that ``ros2 bag play`` republishes with them. Jazzy and newer write version 9 (profiles
as a YAML list, policies as words: ``reliability: reliable``); on Humble and Iron version 8 (profiles as one YAML
string, policies as rmw numbers), because Humble's rosbag2 cannot parse the list (it reads version 8, ignoring
the fields it does not know).

Crash safety: every finished MCAP chunk (1 MiB, or ``chunk_interval_s`` of log time, whichever comes first)
is flushed to the file, so a killed writer leaves a file whose chunks up to the last flush are intact.
It has no summary section and no metadata.yaml; :func:`recover_bag` rewrites such a file into a valid,
readable bag whose episode metadata says ``outcome: incomplete``.
"""

from __future__ import annotations

from collections import defaultdict
from io import BytesIO
import json
import os
from pathlib import Path
import re
import shutil
import struct
import time

from rosbags.interfaces import Qos, QosDurability, QosHistory, QosLiveliness, QosReliability, QosTime
from rosbags.rosbag2 import StoragePlugin, Writer
from rosbags.rosbag2.storage_mcap import McapWriter, PendingChunk
from rosbags.typesys.store import Typestore

from rlhf_recorder.msgtypes import ensure_type, make_typestore

METADATA_KEY = 'rlhf_episode'
OUTCOMES = ('success', 'failure', 'incomplete')
DEFAULT_CHUNK_INTERVAL_S = 1.0
# Distributions whose rosbag2 parses offered_qos_profiles only as a string (metadata version <= 8).
_STRING_QOS_DISTROS = ('foxy', 'galactic', 'humble', 'iron')


def running_distro() -> str:
    """The ROS 2 distribution rosbag2 would record in ``ros_distro``: ``$ROS_DISTRO`` ('' when unset)."""
    return os.environ.get('ROS_DISTRO', '')


def metadata_version(distro: str) -> int:
    """The rosbag2 metadata version written for ``distro``: 8 where only string QoS is understood, else 9."""
    return 8 if distro in _STRING_QOS_DISTROS else 9


def offered_qos(profile) -> Qos:
    """A publisher's QoS profile as rosbag2 records it.

    ``profile`` is an ``rclpy.qos.QoSProfile`` as ``get_publishers_info_by_topic`` reports it; policies are rmw's
    numbers, durations become seconds + nanoseconds.
    """
    def time(duration) -> QosTime:
        ns = int(duration.nanoseconds)
        return QosTime(ns // 10**9, ns % 10**9)

    return Qos(QosHistory(int(profile.history)), int(profile.depth), QosReliability(int(profile.reliability)),
               QosDurability(int(profile.durability)), time(profile.deadline), time(profile.lifespan),
               QosLiveliness(int(profile.liveliness)), time(profile.liveliness_lease_duration),
               bool(profile.avoid_ros_namespace_conventions))


class _ChunkRecords:
    """The records of the chunk being built, kept as the writer got them (no copy) until the chunk is written."""

    def __init__(self) -> None:
        self.parts: list = []
        self.size = 0

    def write(self, data) -> None:
        self.parts.append(data)
        self.size += len(data)

    def tell(self) -> int:
        return self.size


# MCAP records (https://mcap.dev/spec): opcode u8, record length u64, then the fields.
_MESSAGE = struct.Struct('<BQHIQQ')          # Message: channel id, sequence, log time, publish time; then data
_CHUNK = struct.Struct('<BQQQQIIQ')          # Chunk: start, end, uncompressed size, crc, compression '', records
_CHUNK_FIXED = _CHUNK.size - 9               # the chunk's fields before its records
_MESSAGE_FIXED = _MESSAGE.size - 9


def _new_chunk() -> PendingChunk:
    return PendingChunk(2**63 - 1, 0, _ChunkRecords(), defaultdict(list))


class _FlushingMcapWriter(McapWriter):
    """rosbags' MCAP storage, named like rosbag2 (``<name>_0.mcap``), flushing every finished chunk.

    Messages go to the file as received: a chunk keeps references to the message buffers and writes them once
    (rosbags' own writer copies each message several times, which costs a camera-rate recorder most of its CPU).
    Chunks are uncompressed (any MCAP reader, rosbag2 included, takes both).
    """

    chunk_interval_ns = int(DEFAULT_CHUNK_INTERVAL_S * 1e9)

    def __init__(self, path: Path, compression) -> None:
        super().__init__(path, compression)
        if self.compression:
            raise ValueError('episode bags are written without chunk compression')
        self.chunk = _new_chunk()
        # rosbags names the file <name>.mcap; rosbag2 names its first split <name>_0.mcap. The open
        # handle stays valid across the rename (POSIX), and close() records the new name in metadata.yaml.
        target = path / f'{path.name}_0.mcap'
        os.replace(self.path, target)
        self.path = target
        self.bio.flush()

    def write(self, connection, timestamp: int, data) -> None:
        if not isinstance(data, bytes):
            data = bytes(data)   # the chunk keeps a reference: it must not change before the chunk is written
        chunk = self.chunk
        self.message_start_time = min(timestamp, self.message_start_time)
        self.message_end_time = max(timestamp, self.message_end_time)
        self.channel_stats[connection.id] += 1
        chunk.message_start_time = min(timestamp, chunk.message_start_time)
        chunk.message_end_time = max(timestamp, chunk.message_end_time)
        chunk.msgs[connection.id].append((timestamp, chunk.bio.tell()))
        chunk.bio.write(_MESSAGE.pack(0x05, _MESSAGE_FIXED + len(data), connection.id, 0, timestamp, timestamp))
        chunk.bio.write(data)
        if chunk.bio.tell() > 2**20 or timestamp - chunk.message_start_time >= self.chunk_interval_ns:
            self.close_chunk()

    def close_chunk(self) -> None:
        chunk, records = self.chunk, self.chunk.bio
        start = self.bio.tell()
        self.bio.write(_CHUNK.pack(0x06, _CHUNK_FIXED + records.size, chunk.message_start_time,
                                   chunk.message_end_time, records.size, 0, 0, records.size))
        for part in records.parts:
            self.bio.write(part)
        end = self.bio.tell()
        offsets = []
        for channel_id, entries in chunk.msgs.items():
            offsets.append((channel_id, self.bio.tell()))
            self.bio.write(struct.pack('<BQHI', 0x07, 6 + 16 * len(entries), channel_id, 16 * len(entries)))
            self.bio.write(struct.pack(f'<{2 * len(entries)}Q', *(v for entry in entries for v in entry)))
        index = BytesIO()   # the Chunk Index record's fields; written in the summary by close()
        index.write(struct.pack('<QQQQI', chunk.message_start_time, chunk.message_end_time, start, end - start,
                                10 * len(offsets)))
        for channel_id, offset in offsets:
            index.write(struct.pack('<HQ', channel_id, offset))
        index.write(struct.pack('<QIQQ', self.bio.tell() - end, 0, records.size, records.size))
        self.chunks.append(index)
        self.chunk = _new_chunk()
        self.bio.flush()

    def close(self, version: int, metadata: str) -> None:
        # The copy of metadata.yaml inside the MCAP file (rosbag2 keeps one there too).
        super().close(version, _with_distro(metadata))


def _with_distro(metadata_text: str) -> str:
    """Name the running distribution in metadata text (rosbags names itself there; rosbag2 the distro)."""
    import yaml  # local: only metadata needs it

    line = yaml.safe_dump({'ros_distro': running_distro()}).strip()
    return re.sub(r'^(\s*)ros_distro: rosbags$', lambda m: m.group(1) + line, metadata_text, flags=re.MULTILINE)


class _EpisodeWriter(Writer):
    STORAGE_PLUGINS = {**Writer.STORAGE_PLUGINS, StoragePlugin.MCAP: _FlushingMcapWriter}


def mcap_path(bag_dir: str | Path) -> Path:
    """Return the MCAP file of a bag directory written by :class:`EpisodeBagWriter`."""
    bag_dir = Path(bag_dir)
    return bag_dir / f'{bag_dir.name}_0.mcap'


def _jsonable(metadata: dict) -> dict:
    try:
        json.dumps(metadata)
    except TypeError as err:
        raise TypeError(f'episode metadata must be JSON-serialisable (str, int, float, bool, list, dict): {err}') \
            from None
    return dict(metadata)


class EpisodeBagWriter:
    """One episode's rosbag2 (MCAP) being written.

    ``topics`` maps topic name to ROS type name (``sensor_msgs/msg/Image``); more topics can be added later
    with :meth:`add_topic`. ``qos`` maps a topic to the QoS profiles its publishers offer (rosbags ``Qos``;
    none known: an empty list, as rosbag2 writes for a topic without publishers). ``write`` takes CDR bytes
    exactly as received (no deserialisation).
    ``close(outcome)`` finishes the file, stores ``metadata`` plus outcome, duration and message counts in
    metadata.yaml custom_data, and returns that summary. ``abort()`` deletes everything.
    """

    def __init__(self, path: str | Path, topics: dict[str, str], metadata: dict,
                 typestore: Typestore | None = None, chunk_interval_s: float = DEFAULT_CHUNK_INTERVAL_S,
                 qos: dict[str, list[Qos]] | None = None) -> None:
        self.path = Path(path)
        if self.path.exists():
            raise FileExistsError(f'bag directory {self.path} exists already; refusing to overwrite an episode')
        self.metadata = _jsonable(metadata)
        self._typestore = typestore or make_typestore()
        self._writer = _EpisodeWriter(self.path, version=metadata_version(running_distro()),
                                      storage_plugin=StoragePlugin.MCAP)
        self._connections: dict[str, object] = {}
        self.counts: dict[str, int] = {}
        self.bytes_written = 0
        self.opened_at_ns = time.time_ns()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._writer.open()
        self._writer.storage.chunk_interval_ns = int(chunk_interval_s * 1e9)
        try:
            for topic, msgtype in topics.items():
                self.add_topic(topic, msgtype, (qos or {}).get(topic, ()))
        except BaseException:
            self.abort()
            raise

    @property
    def topics(self) -> dict[str, str]:
        return {topic: conn.msgtype for topic, conn in self._connections.items()}

    def add_topic(self, topic: str, msgtype: str, qos: list[Qos] | tuple = ()) -> None:
        """Add a topic (``pkg/msg/Name`` type) offered with ``qos``; a no-op when it is there with that type."""
        msgtype = ensure_type(self._typestore, msgtype)
        existing = self._connections.get(topic)
        if existing is not None:
            if existing.msgtype != msgtype:
                raise ValueError(f'topic {topic}: already recorded as {existing.msgtype}, got {msgtype}')
            return
        self._connections[topic] = self._writer.add_connection(topic, msgtype, typestore=self._typestore,
                                                               offered_qos_profiles=list(qos))
        self.counts[topic] = 0

    def write(self, topic: str, cdr_bytes: bytes, log_time_ns: int) -> None:
        """Append one serialised message received at ``log_time_ns`` (nanoseconds since the epoch)."""
        conn = self._connections.get(topic)
        if conn is None:
            raise KeyError(f'topic {topic} was not added to bag {self.path}; known: {sorted(self._connections)}')
        self._writer.write(conn, int(log_time_ns), cdr_bytes)
        self.counts[topic] += 1
        self.bytes_written += len(cdr_bytes)

    def close(self, outcome: str, extra_metadata: dict | None = None, end_time_ns: int | None = None) -> dict:
        """Finish the bag with ``outcome`` ('success', 'failure' or 'incomplete'); return the episode summary.

        Duration runs from ``metadata['start_time_ns']`` (else the first message) to ``end_time_ns`` (else the
        last message).
        """
        if outcome not in OUTCOMES:
            raise ValueError(f'outcome {outcome!r}: expected one of {OUTCOMES}')
        writer = self._writer
        has_messages = any(self.counts.values())
        first_ns = writer.min_timestamp if has_messages else self.opened_at_ns
        start_ns = int(self.metadata.get('start_time_ns') or first_ns)
        end_ns = int(end_time_ns or (writer.max_timestamp if has_messages else start_ns))
        summary = {
            **self.metadata,
            **(extra_metadata or {}),
            'outcome': outcome,
            'start_time_ns': start_ns,
            'duration_s': round(max(0, end_ns - start_ns) / 1e9, 6),
            'message_counts': dict(self.counts),
        }
        writer.set_custom_data(METADATA_KEY, json.dumps(_jsonable(summary), sort_keys=True))
        writer.close()
        meta_file = self.path / 'metadata.yaml'
        staged = meta_file.with_suffix('.yaml.tmp')
        staged.write_text(_with_distro(meta_file.read_text(encoding='utf-8')), encoding='utf-8')
        os.replace(staged, meta_file)
        summary['path'] = str(self.path)
        return summary

    def abort(self) -> None:
        """Stop writing and delete the bag directory (a discarded episode leaves nothing behind)."""
        try:
            self._writer.abort()
        finally:
            shutil.rmtree(self.path, ignore_errors=True)


def read_episode_metadata(path: str | Path) -> dict:
    """Return the episode metadata stored in a bag's metadata.yaml custom_data ({} when there is none)."""
    import yaml  # local: only this helper needs it

    meta_file = Path(path) / 'metadata.yaml'
    if not meta_file.is_file():
        raise FileNotFoundError(f'{meta_file}: no rosbag2 metadata.yaml (bag unfinished or not a bag)')
    info = yaml.safe_load(meta_file.read_text(encoding='utf-8')) or {}
    custom = (info.get('rosbag2_bagfile_information') or {}).get('custom_data') or {}
    raw = custom.get(METADATA_KEY)
    if raw is None:
        return {}
    try:
        return json.loads(raw)
    except json.JSONDecodeError as err:
        raise ValueError(f'{meta_file}: custom_data.{METADATA_KEY} is not valid JSON: {err}') from None


def recover_bag(path: str | Path, metadata: dict | None = None) -> dict:
    """Turn an interrupted bag (MCAP without summary or metadata.yaml) into a valid bag, outcome 'incomplete'.

    Every message of the chunks that reached the disk is kept; a partly written trailing chunk is dropped.
    The original file is kept beside the new one as ``<name>_0.mcap.partial`` until the rewrite succeeded,
    then removed. Returns the summary written into metadata.yaml.
    """
    from mcap.exceptions import McapError
    from mcap.records import Channel, Message, Schema
    from mcap.stream_reader import StreamReader
    from rosbags.rosbag2.metadata import parse_qos

    path = Path(path)
    source = mcap_path(path)
    if not source.is_file():
        raise FileNotFoundError(f'{source}: no MCAP file to recover')
    partial = source.with_name(source.name + '.partial')
    os.replace(source, partial)
    meta_file = path / 'metadata.yaml'
    if meta_file.exists():
        meta_file.unlink()

    schemas: dict[int, str] = {}
    channels: dict[int, tuple[str, str]] = {}
    qos: dict[str, list[Qos]] = {}
    messages: list[tuple[int, int, bytes]] = []
    with open(partial, 'rb') as stream:
        try:
            for record in StreamReader(stream, skip_magic=False, emit_chunks=False).records:
                if isinstance(record, Schema):
                    schemas[record.id] = record.name
                elif isinstance(record, Channel):
                    channels[record.id] = (record.topic, schemas.get(record.schema_id, ''))
                    qos[record.topic] = parse_qos(record.metadata.get('offered_qos_profiles', ''))
                elif isinstance(record, Message):
                    messages.append((record.log_time, record.channel_id, bytes(record.data)))
        except (McapError, EOFError, ValueError, AssertionError, IndexError):
            pass  # the truncated tail: keep what was read before it

    staging = path.with_name(path.name + '.recovering')
    shutil.rmtree(staging, ignore_errors=True)
    meta = dict(metadata or {})
    writer = EpisodeBagWriter(staging, {topic: msgtype for topic, msgtype in channels.values() if msgtype}, meta,
                              qos=qos)
    for log_time, channel_id, data in sorted(messages, key=lambda m: m[0]):
        topic, msgtype = channels.get(channel_id, ('', ''))
        if msgtype:
            writer.write(topic, data, log_time)
    summary = writer.close('incomplete', {'recovered_messages': len(messages)})
    # Move the rewritten files into the episode directory, named after it.
    os.replace(mcap_path(staging), source)
    text = (staging / 'metadata.yaml').read_text(encoding='utf-8')
    (path / 'metadata.yaml').write_text(text.replace(mcap_path(staging).name, source.name), encoding='utf-8')
    shutil.rmtree(staging, ignore_errors=True)
    partial.unlink()
    summary['path'] = str(path)
    return summary
