# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""Acceptance of issue 3: unattended scripted collection, headless, then checks of every saved bag.

    python bench/collect_bench.py                       # 20 pick_place episodes into a temporary directory
    python bench/collect_bench.py --episodes 5 --output-dir data/bench_demos --keep

Runs the ``collect`` console script (simulator + teleop with the scripted expert + recorder, one process
per node) and prints a table: episodes saved, success rate (goal >= 80 %), bags readable by
rlhf_recorder.reader, metadata.yaml with the rosbag2 fields, per-camera stream rate in the bags
(goal 30 +- 1 Hz), joint_states rate (goal >= 100 Hz), messages lost, the simulation's real-time factor
and the wall time.

Messages lost by the recorder: a probe subscriber in this process receives the same camera and joint-state
topics (raw, no deserialisation) and keeps their header stamps; a stamp the probe saw inside an episode's
window but the bag lacks is a message the recorder lost. Publisher gaps (header stamps further apart than
1.5 periods, e.g. frames the simulator skipped under CPU load) are reported separately: they explain a
stream rate below nominal without any loss in the recorder. Rates come from the bag's log times.
The real-time factor is the simulator's own measurement (simulated over wall time), from its log lines.
"""

import argparse
import os
from pathlib import Path
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import time

import numpy as np
from rich.console import Console
from rich.table import Table
from tqdm import tqdm
import yaml

ROSBAG2_FIELDS = ('version', 'storage_identifier', 'duration', 'starting_time', 'message_count',
                  'topics_with_message_count', 'relative_file_paths')
EPISODE_END = re.compile(r'\[episode \d+\] \S+ (SUCCESS|FAILURE|DISCARDED) after')
RTF_LINE = re.compile(r'real[- ]time factor[^0-9]*([0-9.]+)', re.IGNORECASE)


def header_stamps_ns(path: Path, topics: list) -> dict:
    """Header stamps (ns) of every message of ``topics``, read from the raw CDR (std_msgs/Header comes first)."""
    from rosbags.rosbag2 import Reader
    stamps = {}
    with Reader(path) as reader:
        conns = [c for c in reader.connections if c.topic in topics]
        for conn, _, raw in reader.messages(connections=conns):
            sec, nanosec = struct.unpack_from('<iI', raw, 4)   # after the 4-byte CDR encapsulation header
            stamps.setdefault(conn.topic, []).append(sec * 1_000_000_000 + nanosec)
    return {t: np.sort(np.array(v, dtype=np.int64)) for t, v in stamps.items()}


def rate_hz(times_ns) -> float:
    """Mean rate of a stream from its first to its last message."""
    if len(times_ns) < 2:
        return float('nan')
    return (len(times_ns) - 1) / ((times_ns[-1] - times_ns[0]) / 1e9)


def publisher_gaps(stamps_ns, nominal_hz) -> int:
    """Periods missing between consecutive header stamps of a stream meant to arrive at ``nominal_hz``."""
    if len(stamps_ns) < 2:
        return 0
    periods = np.floor(np.diff(stamps_ns) / 1e9 * nominal_hz + 0.5)
    return int(np.sum(np.maximum(periods - 1, 0)))


class StampProbe:
    """A raw subscriber per topic in a background thread, keeping every header stamp it receives."""

    def __init__(self, topics: dict):
        import threading

        import rclpy
        from rclpy.executors import SingleThreadedExecutor
        from rclpy.qos import QoSProfile, ReliabilityPolicy
        self.context = rclpy.Context()
        rclpy.init(context=self.context, domain_id=int(os.environ.get('ROS_DOMAIN_ID', '13')))
        self.node = rclpy.create_node('collect_bench_probe', context=self.context)
        self.stamps = {topic: set() for topic in topics}
        qos = QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE)
        for topic, msg_type in topics.items():
            self.node.create_subscription(msg_type, topic, lambda raw, t=topic: self._on_raw(t, raw), qos, raw=True)
        self.executor = SingleThreadedExecutor(context=self.context)
        self.executor.add_node(self.node)
        self.thread = threading.Thread(target=self._spin, daemon=True)
        self.thread.start()

    def _on_raw(self, topic, raw):
        sec, nanosec = struct.unpack_from('<iI', raw, 4)
        self.stamps[topic].add(sec * 1_000_000_000 + nanosec)

    def _spin(self):
        while self.context.ok():
            try:
                self.executor.spin_once(timeout_sec=0.1)
            except Exception:  # noqa: BLE001 - the context was shut down under us
                break

    def close(self):
        import rclpy
        rclpy.try_shutdown(context=self.context)
        self.thread.join(timeout=5.0)


def recorder_losses(bag_stamps: dict, probe_stamps: dict) -> dict:
    """Per topic: stamps the probe received inside the bag's window that are missing from the bag."""
    lost = {}
    for topic, stamps in bag_stamps.items():
        if len(stamps) == 0 or topic not in probe_stamps:
            continue
        seen = np.array(sorted(probe_stamps[topic]), dtype=np.int64)
        window = seen[(seen >= stamps[0]) & (seen <= stamps[-1])]
        lost[topic] = int(np.sum(~np.isin(window, stamps)))
    return lost


def check_bag(path: Path, cameras: list, probe_stamps: dict) -> dict:
    """Readability, metadata fields, rates and losses of one episode bag."""
    from rlhf_recorder.reader import read_episode, stream_times
    result = {'path': str(path)}
    meta_file = path / 'metadata.yaml'
    info = (yaml.safe_load(meta_file.read_text()) or {}).get('rosbag2_bagfile_information', {}) \
        if meta_file.is_file() else {}
    result['metadata_ok'] = all(k in info for k in ROSBAG2_FIELDS) and info.get('storage_identifier') == 'mcap'
    try:
        episode = read_episode(path, rate_hz=10.0)
        result['readable'] = (len(episode.times) > 0 and all(v.shape[0] == len(episode.times)
                                                             for v in episode.images.values())
                              and set(episode.images) == set(cameras))
    except Exception as err:  # noqa: BLE001 - any reader failure counts as unreadable, and is shown
        result['readable'] = False
        result['error'] = f'{type(err).__name__}: {err}'
    color_topics = [f'/{c}/color' for c in cameras]
    depth_topics = [f'/{c}/depth' for c in cameras]
    times = stream_times(path, color_topics + depth_topics + ['/joint_states', '/clock'])
    result['camera_hz'] = {t: rate_hz(times.get(t, [])) for t in color_topics + depth_topics}
    result['joint_states_hz'] = rate_hz(times.get('/joint_states', []))
    stamps = header_stamps_ns(path, color_topics + depth_topics + ['/joint_states'])
    result['publisher_gaps'] = sum(publisher_gaps(stamps.get(t, []), 30.0) for t in color_topics + depth_topics)
    result['publisher_gaps'] += publisher_gaps(stamps.get('/joint_states', []), 100.0)
    result['lost'] = recorder_losses(stamps, probe_stamps)
    result['probe_camera_hz'] = []
    for topic in color_topics:
        bag = stamps.get(topic, [])
        if len(bag) > 1 and topic in probe_stamps:
            seen = np.array(sorted(probe_stamps[topic]), dtype=np.int64)
            result['probe_camera_hz'].append(rate_hz(seen[(seen >= bag[0]) & (seen <= bag[-1])]))
    return result


def run_collect(args, output_dir: Path, log_path: Path) -> tuple:
    """Run the collect script with a progress bar over finished episodes; return (exit code, wall s, log)."""
    command = [sys.executable, '-m', 'rlhf_teleop.collect', '--task', args.task, '--device', 'expert',
               '--num-episodes', str(args.episodes), '--output-dir', str(output_dir), '--seed', str(args.seed),
               '--expert-noise', str(args.noise), '--cameras', args.cameras]
    if args.camera_width:
        command += ['--camera-width', str(args.camera_width), '--camera-height', str(args.camera_height)]
    env = dict(os.environ)
    env.setdefault('ROS_DOMAIN_ID', '13')
    env.setdefault('ROS_AUTOMATIC_DISCOVERY_RANGE', 'LOCALHOST')
    started = time.monotonic()
    lines = []
    with open(log_path, 'w') as log, tqdm(total=args.episodes, desc='episodes', unit='ep') as bar:
        proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
        for line in proc.stdout:
            log.write(line)
            lines.append(line)
            match = EPISODE_END.search(line)
            if match:
                bar.update(1)
                bar.set_postfix_str(match.group(1).lower())
        code = proc.wait()
    return code, time.monotonic() - started, lines


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--episodes', type=int, default=20)
    parser.add_argument('--task', default='pick_place')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--noise', type=float, default=0.0, help='scripted expert noise')
    parser.add_argument('--cameras', default='scene_camera,wrist_camera')
    parser.add_argument('--camera-width', type=int, default=0, help='0: the simulator default')
    parser.add_argument('--camera-height', type=int, default=0)
    parser.add_argument('--output-dir', default=None, help='data directory (default: a temporary one)')
    parser.add_argument('--keep', action='store_true', help='keep the temporary data directory')
    args = parser.parse_args(argv)
    cameras = [c for c in args.cameras.split(',') if c]
    temporary = args.output_dir is None
    output_dir = Path(tempfile.mkdtemp(prefix='collect_bench_')) if temporary else Path(args.output_dir).resolve()
    console = Console()
    from sensor_msgs.msg import Image, JointState
    probe_topics = {'/joint_states': JointState}
    for camera in cameras:
        probe_topics.update({f'/{camera}/color': Image, f'/{camera}/depth': Image})
    probe = StampProbe(probe_topics)
    try:
        code, wall_s, lines = run_collect(args, output_dir, output_dir.parent / f'{output_dir.name}.log')
    finally:
        probe.close()
    load = os.getloadavg()

    from rlhf_recorder.catalog import Catalog
    records = Catalog(output_dir).list(task=args.task) if (output_dir / 'catalog.sqlite').exists() else []
    bags = [Path(r.path) for r in records]
    checks = [check_bag(path, cameras, probe.stamps) for path in tqdm(bags, desc='checking bags', unit='bag')]
    successes = sum(r.outcome == 'success' for r in records)
    camera_rates = {t: [c['camera_hz'][t] for c in checks] for t in (checks[0]['camera_hz'] if checks else [])}
    js_rates = [c['joint_states_hz'] for c in checks]
    rtf_logged = [float(m.group(1)) for line in lines for m in [RTF_LINE.search(line)] if m]
    episode_seconds = sum(r.duration_s for r in records)

    def span(values, fmt='{:.2f}'):
        values = [v for v in values if np.isfinite(v)]
        if not values:
            return 'n/a'
        return f'{fmt.format(np.mean(values))} (min {fmt.format(min(values))}, max {fmt.format(max(values))})'

    table = Table(title=f'collect_bench: {args.episodes} scripted {args.task} episodes, headless')
    table.add_column('measure')
    table.add_column('value')
    table.add_column('goal')
    table.add_row('episodes saved', f'{len(records)} / {args.episodes}', f'{args.episodes}')
    rate = successes / len(records) if records else 0.0
    table.add_row('success rate', f'{successes}/{len(records)} = {rate:.0%}', '>= 80%')
    table.add_row('bags readable by the reader', f'{sum(c["readable"] for c in checks)} / {len(checks)}', 'all')
    table.add_row('metadata.yaml with rosbag2 fields', f'{sum(c["metadata_ok"] for c in checks)} / {len(checks)}',
                  'all')
    for topic, values in camera_rates.items():
        table.add_row(f'{topic} rate in bag (Hz)', span(values), '30 +- 1')
    within = sum(all(abs(v - 30.0) <= 1.0 for v in c['camera_hz'].values()) for c in checks)
    table.add_row('episodes with every camera stream at 30 +- 1 Hz', f'{within} / {len(checks)}', 'all')
    table.add_row('/joint_states rate in bag (Hz)', span(js_rates, '{:.1f}'), '>= 100')
    probe_count = sum(len(v) for v in probe.stamps.values())
    lost = {}
    for check in checks:
        for topic, count in check['lost'].items():
            lost[topic] = lost.get(topic, 0) + count
    by_topic = ', '.join(f'{t} {n}' for t, n in sorted(lost.items()) if n)
    table.add_row('messages lost by the recorder (vs probe)', f'{sum(lost.values())} of {probe_count} received '
                  f'by the probe' + (f': {by_topic}' if by_topic else ''), '0')
    table.add_row('publisher gaps (stamps > 1.5 periods apart)', f'{sum(c["publisher_gaps"] for c in checks)}', '')
    table.add_row('camera rate published, seen by the probe (Hz)',
                  span([v for c in checks for v in c['probe_camera_hz']]), '30 +- 1')
    table.add_row('sim real-time factor (simulator log, every 10 s)', span(rtf_logged), '>= 0.9')
    table.add_row('recorded episode time (s)', f'{episode_seconds:.0f}', '')
    table.add_row('wall time (s)', f'{wall_s:.0f}', '')
    table.add_row('collect exit code', str(code), '0')
    table.add_row('machine load average (1/5/15 min) at the end', ' / '.join(f'{x:.1f}' for x in load),
                  f'{os.cpu_count()} cores')
    console.print(table)
    for check in checks:
        if not check['readable']:
            console.print(f'unreadable: {check["path"]}: {check.get("error", "missing streams")}')
    console.print(f'data: {output_dir}' + (' (temporary, removed)' if temporary and not args.keep else ''))
    if temporary and not args.keep:
        shutil.rmtree(output_dir, ignore_errors=True)
    ok = code == 0 and records and rate >= 0.8 and all(c['readable'] and c['metadata_ok'] for c in checks)
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
