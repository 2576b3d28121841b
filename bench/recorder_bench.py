# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""Recorder throughput and loss: two cameras (RGB + depth) at 30 Hz and joint states at 100 Hz into a real node.

    python bench/recorder_bench.py                               # 128x96 (the sim's default) and 320x240, 20 s
    python bench/recorder_bench.py --resolutions 640x480 --duration 10

For each resolution: starts the ``recorder`` node as its own process (``python -m rlhf_recorder.recorder_node``),
publishes ``/scene_camera|wrist_camera/color`` (rgb8) and ``/depth`` (32FC1) at 30 Hz and ``/joint_states`` at
100 Hz from this process on a fixed schedule between an episode START and SUCCESS, then reads the bag back and
prints per topic: messages published, recorded, lost, the rate measured in the bag (log time = receive time),
plus the recorder's CPU use and throughput (bytes recorded per second of episode), and the writer's offline
capacity (EpisodeBagWriter alone writing the same messages as fast as it can).
Needs ROS_DOMAIN_ID / ROS_AUTOMATIC_DISCOVERY_RANGE set like the tests; runs in a temporary directory.
"""

import argparse
import os
from pathlib import Path
import subprocess
import sys
import tempfile
import time

import numpy as np
import rclpy
from rclpy.qos import QoSProfile, ReliabilityPolicy
from rich.console import Console
from rich.progress import Progress
from rich.table import Table
from sensor_msgs.msg import Image, JointState

from rlhf_msgs.msg import EpisodeEvent
from rlhf_recorder.bag import EpisodeBagWriter, mcap_path, read_episode_metadata
from rlhf_recorder.catalog import Catalog
from rlhf_recorder.reader import stream_times

CAMERAS = ('scene_camera', 'wrist_camera')
JOINTS = [f'panda_joint{i}' for i in range(1, 8)] + ['panda_finger_joint1', 'panda_finger_joint2']
CAMERA_HZ = 30.0
JOINT_HZ = 100.0


def _images(width, height, k):
    color = Image(height=height, width=width, encoding='rgb8', step=3 * width)
    color.data = np.random.default_rng(k).integers(0, 255, size=height * width * 3, dtype=np.uint8).tobytes()
    depth = Image(height=height, width=width, encoding='32FC1', step=4 * width)
    depth.data = np.full(height * width, 0.8 + 0.01 * k, dtype=np.float32).tobytes()
    return color, depth


def _cpu_seconds(pid):
    fields = Path(f'/proc/{pid}/stat').read_text().rsplit(')', 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')


def _wait(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise SystemExit(f'timed out after {timeout} s waiting for {what}')


def run_one(width, height, duration, workdir, console):
    data_dir = workdir / f'data_{width}x{height}'
    topics = [f'/{c}/{k}' for c in CAMERAS for k in ('color', 'depth')] + ['/joint_states']
    context = rclpy.Context()
    rclpy.init(context=context)
    node = rclpy.create_node('recorder_bench_publisher', context=context)
    qos = QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE)
    pubs = {t: node.create_publisher(Image if t != '/joint_states' else JointState, t, qos) for t in topics}
    events = node.create_publisher(EpisodeEvent, '/episode/events', QoSProfile(depth=20))
    log = open(workdir / f'recorder_{width}x{height}.log', 'wb')
    proc = subprocess.Popen([sys.executable, '-m', 'rlhf_recorder.recorder_node', '--ros-args',
                             '-p', f'data_dir:={data_dir}', '-p', f'topics:=[{",".join(topics)}]'],
                            stdout=log, stderr=subprocess.STDOUT)
    try:
        _wait(lambda: all(p.get_subscription_count() for p in (*pubs.values(), events)), 60, 'recorder subscriptions')
        time.sleep(1.0)
        episode_id = f'bench_{width}x{height}'
        events.publish(EpisodeEvent(event=EpisodeEvent.START, episode_id=episode_id, task='bench', is_sim=True))
        time.sleep(0.5)
        frames = {c: _images(width, height, i) for i, c in enumerate(CAMERAS)}
        published = dict.fromkeys(topics, 0)
        cpu0, t0 = _cpu_seconds(proc.pid), time.monotonic()
        next_cam, next_joint = t0, t0
        with Progress(console=console, transient=True) as progress:
            task = progress.add_task(f'{width}x{height}: publishing', total=duration)
            while (now := time.monotonic()) < t0 + duration:
                if now >= next_joint:
                    pubs['/joint_states'].publish(JointState(name=JOINTS, position=[0.1] * 9, velocity=[0.0] * 9))
                    published['/joint_states'] += 1
                    next_joint += 1.0 / JOINT_HZ
                if now >= next_cam:
                    for cam, (color, depth) in frames.items():
                        pubs[f'/{cam}/color'].publish(color)
                        pubs[f'/{cam}/depth'].publish(depth)
                        published[f'/{cam}/color'] += 1
                        published[f'/{cam}/depth'] += 1
                    next_cam += 1.0 / CAMERA_HZ
                    progress.update(task, completed=now - t0)
                time.sleep(max(0.0, min(next_cam, next_joint) - time.monotonic()))
        time.sleep(1.0)  # let the last reliable samples arrive before the episode ends
        events.publish(EpisodeEvent(event=EpisodeEvent.SUCCESS, episode_id=episode_id, task='bench', is_sim=True))
        catalog_file = data_dir / 'catalog.sqlite'
        _wait(lambda: catalog_file.exists() and Catalog(data_dir).list(status='complete'), 120, 'episode saved')
        cpu = _cpu_seconds(proc.pid) - cpu0
        wall = time.monotonic() - t0
    finally:
        proc.terminate()
        proc.wait(20)
        node.destroy_node()
        rclpy.try_shutdown(context=context)
    record = Catalog(data_dir).get(episode_id)
    bag = Path(record.path)
    times = stream_times(bag)
    size = mcap_path(bag).stat().st_size
    rows = []
    for topic in topics:
        stamps = times.get(topic, np.zeros(0, dtype=np.int64))
        rate = (len(stamps) - 1) / ((stamps[-1] - stamps[0]) / 1e9) if len(stamps) > 1 else 0.0
        max_gap = float(np.max(np.diff(stamps)) / 1e6) if len(stamps) > 1 else 0.0
        rows.append((topic, published[topic], len(stamps), published[topic] - len(stamps), rate, max_gap))
    capacity = _writer_capacity(workdir / f'capacity_{width}x{height}', frames, topics)
    return {'res': f'{width}x{height}', 'rows': rows, 'size_mb': size / 1e6, 'duration_s': record.duration_s,
            'cpu_pct': 100.0 * cpu / wall, 'overflows': read_episode_metadata(bag).get('queue_overflows'),
            'capacity_mb_s': capacity}


def _writer_capacity(path, frames, topics, seconds=3.0):
    """MB/s that EpisodeBagWriter sustains alone (no ROS), writing the same camera messages."""
    from rclpy.serialization import serialize_message

    payloads = [(f'/{c}/{k}', serialize_message(m)) for c, pair in frames.items()
                for k, m in zip(('color', 'depth'), pair)]
    writer = EpisodeBagWriter(path, {t: 'sensor_msgs/msg/Image' for t in topics if t != '/joint_states'}, {})
    written, t0, stamp = 0, time.perf_counter(), time.time_ns()
    while time.perf_counter() - t0 < seconds:
        for topic, data in payloads:
            writer.write(topic, data, stamp)
            written += len(data)
        stamp += 33_333_333
    writer.close('success')
    return written / 1e6 / (time.perf_counter() - t0)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--resolutions', nargs='+', default=['128x96', '320x240'])
    parser.add_argument('--duration', type=float, default=20.0)
    parser.add_argument('--keep', metavar='DIR', help='write the bags into DIR and keep them (default: a temporary '
                        'directory, removed at the end)')
    args = parser.parse_args()
    console = Console(width=150)
    results = []
    with tempfile.TemporaryDirectory(prefix='recorder_bench_') as tmp:
        workdir = Path(args.keep or tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        for res in args.resolutions:
            width, height = (int(v) for v in res.lower().split('x'))
            results.append(run_one(width, height, args.duration, workdir, console))
    table = Table(title=f'recorder bench: 2 cameras RGB+depth at {CAMERA_HZ:g} Hz, joint states at {JOINT_HZ:g} Hz, '
                        f'{args.duration:g} s')
    for column in ('resolution', 'topic', 'published', 'recorded', 'lost', 'rate in bag Hz', 'max gap ms'):
        table.add_column(column, justify='right')
    for r in results:
        for topic, pub, rec, lost, rate, gap in r['rows']:
            table.add_row(r['res'], topic, str(pub), str(rec), str(lost), f'{rate:.2f}', f'{gap:.1f}')
    console.print(table)
    summary = Table(title='recorder process')
    for column in ('resolution', 'bag MB', 'recorded MB/s', 'recorder CPU %', 'queue overflows',
                   'writer capacity MB/s (offline)'):
        summary.add_column(column, justify='right')
    for r in results:
        summary.add_row(r['res'], f'{r["size_mb"]:.1f}', f'{r["size_mb"] / max(r["duration_s"], 1e-9):.2f}',
                        f'{r["cpu_pct"]:.0f}', str(r['overflows']), f'{r["capacity_mb_s"]:.0f}')
    console.print(summary)
    total_lost = sum(row[3] for r in results for row in r['rows'])
    console.print(f'total messages lost: {total_lost}')


if __name__ == '__main__':
    main()
