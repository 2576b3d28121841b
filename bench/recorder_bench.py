# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""Recorder at camera rates: two cameras (RGB + depth) at 30 Hz and joint states at 100 Hz into a real recorder node.

    python bench/recorder_bench.py                                          # 128x96 and 320x240, 20 s
    python bench/recorder_bench.py --resolutions 640x480 --duration 600     # the RealSense target, 10 minutes
    python bench/recorder_bench.py --resolutions 640x480 --duration 600 --episode-s 60   # the same on ~8 GB of disk
    python bench/recorder_bench.py --resolutions 640x480 --dds-profile default   # Fast DDS's 512 KiB segment

For each resolution: starts the ``recorder`` node as its own process (``python -m rlhf_recorder.recorder_node``,
the environment of the shell), publishes ``/scene_camera|wrist_camera/color`` (rgb8) and ``/depth`` (32FC1) at
30 Hz and ``/joint_states`` at 100 Hz from this process on a fixed schedule between an episode START and
SUCCESS, as a camera driver would. With ``--dds-profile large_data`` (the default) this publishing process uses
``rlhf_recorder/config/fastdds_large_data.xml`` (a 32 MiB shared-memory segment, localhost only), as camera
drivers at these rates should; ``default`` keeps Fast DDS's 512 KiB segment.

Then it reads the log times of every message from the bag's MCAP message indexes and prints per topic: messages
published, recorded, lost, the rate in the bag, the largest gap and the gaps longer than three periods; then the
MB/s published and recorded, the recorder's CPU use and queue overflows, and the writers alone (no ROS, same
messages, best of alternating runs): EpisodeBagWriter (what the recorder writes through) against the raw ``mcap``
library writer, and their ratio. Machine load (``uptime``) is printed beside the figures. Needs ROS_DOMAIN_ID /
ROS_AUTOMATIC_DISCOVERY_RANGE set like the tests; bags go to a temporary directory (``--keep DIR`` keeps them).
"""

import argparse
import os
from pathlib import Path
import shutil
import struct
import subprocess
import sys
import tempfile
import time

import numpy as np

CAMERAS = ('scene_camera', 'wrist_camera')
JOINTS = [f'panda_joint{i}' for i in range(1, 8)] + ['panda_finger_joint1', 'panda_finger_joint2']
CAMERA_HZ = 30.0
MESSAGE_INDEX_OPCODE = 0x07
JOINT_HZ = 100.0
PROFILE = Path(__file__).resolve().parents[1] / 'src' / 'rlhf_recorder' / 'config' / 'fastdds_large_data.xml'


def load_average() -> str:
    return ', '.join(f'{x:.2f}' for x in os.getloadavg())


def _cpu_seconds(pid):
    fields = Path(f'/proc/{pid}/stat').read_text().rsplit(')', 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')


def _idle(pid, window_s=0.5, busy_fraction=0.1) -> bool:
    """True when process ``pid`` used less than ``busy_fraction`` of a core over the next ``window_s``."""
    before = _cpu_seconds(pid)
    time.sleep(window_s)
    return _cpu_seconds(pid) - before < busy_fraction * window_s


def _wait(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise SystemExit(f'timed out after {timeout} s waiting for {what}')


def log_times(mcap_file: Path) -> dict[str, np.ndarray]:
    """Log times (ns) per topic from the MCAP file's message index records: no message data is read."""
    from mcap.reader import make_reader

    with open(mcap_file, 'rb') as stream:
        summary = make_reader(stream).get_summary()
        topics = {cid: channel.topic for cid, channel in summary.channels.items()}
        times: dict[str, list[np.ndarray]] = {topic: [] for topic in topics.values()}
        for chunk in summary.chunk_indexes:
            stream.seek(chunk.chunk_start_offset + chunk.chunk_length)
            data = stream.read(chunk.message_index_length)
            pos = 0
            while pos < len(data):   # records: opcode u8, length u64, channel u16, bytes u32, (time, offset) u64 pairs
                opcode, length = struct.unpack_from('<BQ', data, pos)
                if opcode == MESSAGE_INDEX_OPCODE:
                    channel, size = struct.unpack_from('<HI', data, pos + 9)
                    pairs = np.frombuffer(data, dtype='<u8', count=size // 8, offset=pos + 15).reshape(-1, 2)
                    times[topics[channel]].append(pairs[:, 0].astype(np.int64))
                pos += 9 + length
    return {t: np.sort(np.concatenate(v)) if v else np.zeros(0, np.int64) for t, v in times.items()}


def messages(width, height):
    """The published messages: per camera an rgb8 and a 32FC1 image, and a joint state."""
    from sensor_msgs.msg import Image, JointState

    frames = {}
    for k, cam in enumerate(CAMERAS):
        color = Image(height=height, width=width, encoding='rgb8', step=3 * width)
        color.data = np.random.default_rng(k).integers(0, 255, size=height * width * 3, dtype=np.uint8).tobytes()
        depth = Image(height=height, width=width, encoding='32FC1', step=4 * width)
        depth.data = np.full(height * width, 0.8 + 0.01 * k, dtype=np.float32).tobytes()
        frames[f'/{cam}/color'], frames[f'/{cam}/depth'] = color, depth
    joints = JointState(name=JOINTS, position=[0.1] * 9, velocity=[0.0] * 9)
    return frames, joints


def run_one(width, height, duration, workdir, recorder_env, progress, keep, episode_s=0.0):
    """``duration`` s of publishing into a recorder, as one episode or as episodes of ``episode_s`` s each.

    With episodes, every finished bag is measured and then deleted (10 minutes at 640x480 are ~80 GB; episodes of a
    minute need ~8 GB at a time): the recorder still runs the whole ``duration``, as in a day of collection.
    """
    import rclpy
    from rclpy.qos import QoSProfile, ReliabilityPolicy
    from sensor_msgs.msg import Image, JointState

    from rlhf_msgs.msg import EpisodeEvent
    from rlhf_recorder.bag import mcap_path, read_episode_metadata
    from rlhf_recorder.catalog import Catalog

    data_dir = workdir / f'data_{width}x{height}'
    frames, joints = messages(width, height)
    topics = [*frames, '/joint_states']
    context = rclpy.Context()
    rclpy.init(context=context)
    node = rclpy.create_node('recorder_bench_publisher', context=context)
    qos = QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE)
    pubs = {t: node.create_publisher(Image if t != '/joint_states' else JointState, t, qos) for t in topics}
    events = node.create_publisher(EpisodeEvent, '/episode/events', QoSProfile(depth=20))
    log = open(workdir / f'recorder_{width}x{height}.log', 'wb')
    proc = subprocess.Popen([sys.executable, '-m', 'rlhf_recorder.recorder_node', '--ros-args',
                             '-p', f'data_dir:={data_dir}', '-p', f'topics:=[{",".join(topics)}]'],
                            stdout=log, stderr=subprocess.STDOUT, env=recorder_env)
    lengths = [episode_s] * int(duration // episode_s) if episode_s > 0 else [duration]
    if episode_s > 0 and duration % episode_s > 1e-6:
        lengths.append(duration % episode_s)
    published = dict.fromkeys(topics, 0)
    recorded = {t: [] for t in topics}       # per episode: log times of the recorded messages
    overflows, publish_s, cpu, wall = 0, 0.0, 0.0, 0.0
    try:
        _wait(lambda: all(p.get_subscription_count() for p in (*pubs.values(), events)), 60, 'recorder subscriptions')
        time.sleep(1.0)
        task = progress.add_task(f'{width}x{height}: publishing', total=duration)
        done_s = 0.0
        for k, seconds in enumerate(lengths):
            episode_id = f'bench_{width}x{height}_{k:03d}'
            events.publish(EpisodeEvent(event=EpisodeEvent.START, episode_id=episode_id, task='bench', is_sim=True))
            # The episode is open once its catalog row exists: from then on every message counts.
            _wait(lambda: (data_dir / 'catalog.sqlite').exists() and Catalog(data_dir).list(status='recording'),
                  60, 'episode START')
            cpu0, t0 = _cpu_seconds(proc.pid), time.monotonic()
            next_cam, next_joint = t0, t0
            while (now := time.monotonic()) < t0 + seconds:
                if now >= next_joint:
                    pubs['/joint_states'].publish(joints)
                    published['/joint_states'] += 1
                    next_joint += 1.0 / JOINT_HZ
                if now >= next_cam:
                    for topic, msg in frames.items():
                        pubs[topic].publish(msg)
                        published[topic] += 1
                    next_cam += 1.0 / CAMERA_HZ
                    progress.update(task, completed=done_s + now - t0)
                time.sleep(max(0.0, min(next_cam, next_joint) - time.monotonic()))
            publish_s += time.monotonic() - t0
            done_s += seconds
            # End the episode once the recorder is idle (it has taken every sample that reached it), so that
            # what the table counts as lost never reached it, also on a loaded machine.
            _wait(lambda: _idle(proc.pid), 120, 'the recorder to take the last messages')
            events.publish(EpisodeEvent(event=EpisodeEvent.SUCCESS, episode_id=episode_id, task='bench', is_sim=True))
            _wait(lambda e=episode_id: e in [r.episode_id for r in Catalog(data_dir).list(status='complete')], 600,
                  'episode saved')
            cpu += _cpu_seconds(proc.pid) - cpu0
            wall += time.monotonic() - t0
            bag = Path(Catalog(data_dir).get(episode_id).path)
            times = log_times(mcap_path(bag))
            for topic in topics:
                recorded[topic].append(times.get(topic, np.zeros(0, dtype=np.int64)))
            overflows += read_episode_metadata(bag).get('queue_overflows') or 0
            if not keep:
                shutil.rmtree(bag, ignore_errors=True)
        progress.remove_task(task)
    finally:
        proc.terminate()
        proc.wait(60)
        node.destroy_node()
        rclpy.try_shutdown(context=context)
    rows = []
    for topic in topics:
        period_ms = 1e3 / (JOINT_HZ if topic == '/joint_states' else CAMERA_HZ)
        gaps = np.concatenate([np.diff(s) / 1e6 for s in recorded[topic] if len(s) > 1] or [np.zeros(0)])
        spans = sum((s[-1] - s[0]) / 1e9 for s in recorded[topic] if len(s) > 1)
        count = sum(len(s) for s in recorded[topic])
        rate = (count - len(recorded[topic])) / spans if spans > 0 else 0.0
        rows.append((topic, published[topic], count, published[topic] - count, rate,
                     float(gaps.max()) if len(gaps) else 0.0, int((gaps > 3 * period_ms).sum())))
    from rclpy.serialization import serialize_message
    size = {t: len(serialize_message(m)) for t, m in frames.items()} | {'/joint_states': len(serialize_message(joints))}
    published_mb = sum(published[t] * size[t] for t in topics) / 1e6
    recorded_mb = sum(row[2] * size[row[0]] for row in rows) / 1e6
    writers = writer_throughput(workdir / f'writers_{width}x{height}', frames, joints)
    if not keep:
        shutil.rmtree(data_dir, ignore_errors=True)
    return {'res': f'{width}x{height}', 'rows': rows, 'published_mb_s': published_mb / publish_s,
            'recorded_mb_s': recorded_mb / publish_s, 'cpu_pct': 100.0 * cpu / wall, 'overflows': overflows,
            'episodes': len(lengths), **writers}


class RawWriter:
    """The ``mcap`` library's writer, 1 MiB chunks, no compression: the baseline for EpisodeBagWriter."""

    def __init__(self, stream, types: dict) -> None:
        from mcap.writer import CompressionType, Writer

        self.writer = Writer(stream, chunk_size=1024 * 1024, compression=CompressionType.NONE)
        self.writer.start('ros2', 'recorder_bench')
        schema = self.writer.register_schema('sensor_msgs/msg/Image', 'ros2msg', b'')
        self.channels = {t: self.writer.register_channel(t, 'cdr', schema) for t in types}

    def write(self, topic, data, stamp) -> None:
        self.writer.add_message(self.channels[topic], stamp, data, stamp)

    def finish(self) -> None:
        self.writer.finish()


def writer_throughput(directory: Path, frames, joints, seconds=3.0, rounds=3) -> dict:
    """MB/s of EpisodeBagWriter and of the raw ``mcap`` writer on the same serialised messages (no ROS).

    Both write 1 MiB chunks without compression, alternating ``rounds`` times; the best run of each counts
    (the disk and the other jobs on the machine add noise, never speed).
    """
    from rclpy.serialization import serialize_message

    from rlhf_recorder.bag import EpisodeBagWriter

    payloads = [(topic, serialize_message(msg)) for topic, msg in frames.items()]
    per_camera_tick = len(payloads)
    payloads.append(('/joint_states', serialize_message(joints)))
    types = {t: 'sensor_msgs/msg/Image' for t in frames} | {'/joint_states': 'sensor_msgs/msg/JointState'}

    def feed(write) -> float:
        written, stamp, t0 = 0, time.time_ns(), time.perf_counter()
        while time.perf_counter() - t0 < seconds:
            for i, (topic, data) in enumerate(payloads):
                repeat = 1 if i < per_camera_tick else 3   # ~100 Hz joint states beside 30 Hz cameras
                for _ in range(repeat):
                    write(topic, data, stamp)
                    written += len(data)
            stamp += 33_333_333
        return written, time.perf_counter() - t0

    best = {'episode_writer_mb_s': 0.0, 'mcap_writer_mb_s': 0.0}
    for k in range(rounds):
        ours = EpisodeBagWriter(directory / f'ours_{k}', types, {})
        written, elapsed = feed(ours.write)
        ours.close('success')
        best['episode_writer_mb_s'] = max(best['episode_writer_mb_s'], written / 1e6 / elapsed)
        with open(directory / f'raw_{k}.mcap', 'wb') as stream:
            raw = RawWriter(stream, types)
            written, elapsed = feed(raw.write)
            raw.finish()
        best['mcap_writer_mb_s'] = max(best['mcap_writer_mb_s'], written / 1e6 / elapsed)
        shutil.rmtree(directory, ignore_errors=True)
    return best


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--resolutions', nargs='+', default=['128x96', '320x240'])
    parser.add_argument('--duration', type=float, default=20.0, help='seconds of publishing per resolution')
    parser.add_argument('--dds-profile', choices=['large_data', 'default'], default='large_data',
                        help='Fast DDS profile of the publishing process (default: %(default)s)')
    parser.add_argument('--episode-s', type=float, default=0.0,
                        help='record episodes of this many seconds, each measured and deleted when saved (a long run '
                             'then needs the disk of one episode); 0 = one episode for the whole duration')
    parser.add_argument('--keep', metavar='DIR', help='work in DIR and keep the bags and recorder logs (default: a '
                        'temporary directory; bags are removed as soon as they are measured)')
    args = parser.parse_args()
    recorder_env = dict(os.environ)   # the recorder runs as users run it
    if args.dds_profile == 'large_data':
        os.environ['FASTRTPS_DEFAULT_PROFILES_FILE'] = str(PROFILE)
        os.environ['ROS_AUTOMATIC_DISCOVERY_RANGE'] = 'SYSTEM_DEFAULT'   # let the profile set the transports

    from rich.console import Console
    from rich.progress import Progress
    from rich.table import Table

    console = Console(width=160)
    load_before = load_average()
    results = []
    with tempfile.TemporaryDirectory(prefix='recorder_bench_') as tmp:
        workdir = Path(args.keep or tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        for res in args.resolutions:
            width, height = (int(v) for v in res.lower().split('x'))
            kept_s = args.duration if args.keep or not args.episode_s else args.episode_s
            need_gb = (2 * width * height * 7 * CAMERA_HZ) * kept_s * 1.1 / 1e9
            free_gb = shutil.disk_usage(workdir).free / 1e9
            if free_gb < need_gb:
                raise SystemExit(f'{workdir}: {free_gb:.0f} GB free, {res} for {args.duration:g} s needs about '
                                 f'{need_gb:.0f} GB (use --keep DIR on a larger disk, or a shorter --duration)')
            with Progress(console=console, transient=True) as progress:
                results.append(run_one(width, height, args.duration, workdir, recorder_env, progress, args.keep,
                                       args.episode_s))
    load_after = load_average()
    table = Table(title=f'recorder bench: 2 cameras RGB+depth at {CAMERA_HZ:g} Hz, joint states at {JOINT_HZ:g} Hz, '
                        f'{args.duration:g} s in {results[0]["episodes"]} episode(s), publisher DDS profile '
                        f'{args.dds_profile}')
    for column in ('resolution', 'topic', 'published', 'recorded', 'lost', 'rate in bag Hz', 'max gap ms',
                   'gaps > 3 periods'):
        table.add_column(column, justify='right')
    for r in results:
        for topic, pub, rec, lost, rate, gap, long_gaps in r['rows']:
            table.add_row(r['res'], topic, str(pub), str(rec), str(lost), f'{rate:.2f}', f'{gap:.1f}', str(long_gaps))
    console.print(table)
    summary = Table(title='throughput (MB/s of serialised messages; writers alone: same messages, no ROS, best of '
                          '3 alternating runs)')
    for column in ('resolution', 'published MB/s', 'recorded MB/s', 'recorder CPU %', 'queue overflows',
                   'EpisodeBagWriter MB/s', 'raw mcap writer MB/s', 'ratio'):
        summary.add_column(column, justify='right')
    for r in results:
        ratio = r['episode_writer_mb_s'] / max(r['mcap_writer_mb_s'], 1e-9)
        summary.add_row(r['res'], f'{r["published_mb_s"]:.1f}', f'{r["recorded_mb_s"]:.1f}', f'{r["cpu_pct"]:.0f}',
                        str(r['overflows']), f'{r["episode_writer_mb_s"]:.0f}', f'{r["mcap_writer_mb_s"]:.0f}',
                        f'{100 * ratio:.0f} %')
    console.print(summary)
    total_lost = sum(row[3] for r in results for row in r['rows'])
    console.print(f'total messages lost: {total_lost}; load average (1, 5, 15 min) before: {load_before}, '
                  f'after: {load_after} on {os.cpu_count()} cores')


if __name__ == '__main__':
    main()
