# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""Simulation throughput: physics, rendering, real-time factor under rendering, scripted expert success.

1. Physics steps/s of the pick_place scene (500 Hz model) stepped as fast as possible, and the real-time
   factor that allows; also control steps/s of the state-only ManipulationEnv driven by the expert.
2. Offscreen RGB + depth frames/s per camera at several resolutions (one render pass reads both buffers).
3. The node's arrangement without ROS: the real-time physics thread (rlhf_sim.realtime) while a camera
   thread renders 2 cameras at 30 Hz from snapshots and packs them into sensor_msgs/Image: real-time factor,
   dropped physics steps, delivered camera rate.
4. Scripted expert success rate on seeded episodes of each task at a few noise levels.
5. The real ``sim`` node (a child process) over DDS with its default cameras: message rates received by a
   subscriber (serialised, as the recorder subscribes), the largest gap between messages, and the
   real-time factor the node logs. Skip with ``--no-node``.

The machine is shared: the 1-minute load average is printed with the results.

Usage: python bench/sim_bench.py [--realtime-seconds 10] [--episodes 20] [--resolutions 128x96,160x120,320x240]
                                [--node-seconds 20] [--no-node]
"""

import argparse
import os
import re
import signal
import subprocess
import sys
import time

import numpy as np
from rich.console import Console
from rich.table import Table

from rlhf_sim.cameras import DEFAULT_HEIGHT, DEFAULT_WIDTH, CameraRenderer
from rlhf_sim.env import ManipulationEnv
from rlhf_sim.expert import ExpertController
from rlhf_sim.realtime import CameraThread, RealtimeSimulation
from rlhf_sim.robot import CAMERA_NAMES
from rlhf_sim.simulation import Simulation

console = Console(width=150)


def bench_physics(seconds: float) -> tuple[float, float]:
    sim = Simulation('pick_place', seed=0)
    sim.set_command(np.concatenate([sim.command[:7] + 0.2, [0.0]]))   # moving arm, closing fingers
    steps, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        sim.step(100)
        steps += 100
    rate = steps / (time.perf_counter() - start)
    return rate, rate / sim.physics_hz


def bench_env_with_expert(episodes: int = 3) -> float:
    env = ManipulationEnv('pick_place', cameras=())
    controller = ExpertController(env)
    ticks, start = 0, time.perf_counter()
    for seed in range(episodes):
        obs, _ = env.reset(seed=seed)
        controller.reset()
        done = False
        while not done:
            obs, _, terminated, truncated, _ = env.step(controller.action(obs))
            ticks += 1
            done = terminated or truncated
    return ticks / (time.perf_counter() - start)


def bench_render(width: int, height: int, frames: int) -> tuple[float, float]:
    """Frames/s (wall clock) and CPU ms per frame (all threads of the process: llvmpipe rasterises in threads)."""
    sim = Simulation('pick_place', seed=0)
    renderer = CameraRenderer(sim.model, ['scene_camera'], width, height, depth=True)
    try:
        renderer.render(sim.data)
        start, cpu = time.perf_counter(), time.process_time()
        for _ in range(frames):
            renderer.render(sim.data)
        return frames / (time.perf_counter() - start), (time.process_time() - cpu) / frames * 1000.0
    finally:
        renderer.close()


def bench_realtime(width: int, height: int, seconds: float) -> dict:
    from sensor_msgs.msg import Image

    from rlhf_sim.ros_convert import fill_image

    def pack(snap, images):   # the node's per-frame work short of the DDS write
        for key, array in images.items():
            fill_image(Image(), array, 'rgb8' if key.endswith('/color') else '32FC1')

    realtime = RealtimeSimulation('pick_place', seed=0)
    cameras = CameraThread(realtime, CAMERA_NAMES, width, height, True, 30.0, pack)
    cameras.start()
    realtime.start()
    time.sleep(1.0)   # settle
    realtime.stats()
    frames0, skipped0 = cameras.frames, cameras.skipped
    time.sleep(seconds)
    stats = realtime.stats()
    frames, skipped = cameras.frames - frames0, cameras.skipped - skipped0
    cameras.stop()
    realtime.stop()
    return {'rtf': stats.real_time_factor, 'dropped': stats.dropped_steps, 'fps': frames / stats.wall_s,
            'skipped': skipped}


def bench_expert(task: str, episodes: int, noise: float) -> tuple[float, float]:
    env = ManipulationEnv(task, cameras=(), max_episode_steps=300)
    controller = ExpertController(env, noise=noise, seed=0)
    successes, lengths = 0, []
    for seed in range(episodes):
        obs, info = env.reset(seed=1000 + seed)
        controller.reset()
        ticks, done = 0, False
        while not done:
            obs, _, terminated, truncated, info = env.step(controller.action(obs))
            ticks += 1
            done = terminated or truncated
        successes += bool(info['success'])
        if info['success']:
            lengths.append(ticks / env.control_hz)
    return successes / episodes, float(np.mean(lengths)) if lengths else float('nan')


def bench_node(seconds: float, width: int, height: int) -> tuple[dict, list[float]]:
    """Rates of the real node's topics seen by a subscriber over DDS, and the node's logged RTFs."""
    import rclpy
    from rclpy.executors import SingleThreadedExecutor
    from sensor_msgs.msg import Image, JointState

    from rlhf_msgs.msg import TaskState

    env = dict(os.environ)
    env.setdefault('ROS_DOMAIN_ID', '11')
    env.setdefault('ROS_AUTOMATIC_DISCOVERY_RANGE', 'LOCALHOST')
    cmd = [sys.executable, '-m', 'rlhf_sim.sim_node', '--ros-args', '-p', f'camera_width:={width}',
           '-p', f'camera_height:={height}', '-p', 'status_period_s:=5.0']
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    context = rclpy.Context()
    rclpy.init(context=context, domain_id=int(env['ROS_DOMAIN_ID']))
    node = rclpy.create_node('sim_bench_probe', context=context)
    executor = SingleThreadedExecutor(context=context)
    executor.add_node(node)
    topics = {'/joint_states': JointState, '/rlhf_sim/task_state': TaskState}
    for cam in CAMERA_NAMES:
        topics[f'/{cam}/color'] = Image
        topics[f'/{cam}/depth'] = Image
    arrivals = {topic: [] for topic in topics}
    for topic, msg_type in topics.items():
        node.create_subscription(msg_type, topic, lambda _msg, t=topic: arrivals[t].append(time.perf_counter()),
                                 10, raw=True)
    try:
        deadline = time.monotonic() + 60.0
        while not all(arrivals.values()) and time.monotonic() < deadline and proc.poll() is None:
            executor.spin_once(timeout_sec=0.1)
        for stamps in arrivals.values():
            stamps.clear()
        end = time.perf_counter() + seconds
        while time.perf_counter() < end:
            executor.spin_once(timeout_sec=0.05)
    finally:
        executor.shutdown()
        node.destroy_node()
        rclpy.try_shutdown(context=context)
        proc.send_signal(signal.SIGINT)
        try:
            output = proc.communicate(timeout=15)[0]
        except subprocess.TimeoutExpired:
            proc.kill()
            output = proc.communicate()[0]
    rates = {}
    for topic, stamps in arrivals.items():
        gaps = np.diff(stamps) if len(stamps) > 1 else np.array([np.nan])
        rates[topic] = (len(stamps) / seconds, float(np.max(gaps)) * 1000.0)
    rtfs = [float(v) for v in re.findall(r'real-time factor ([0-9.]+)', output)]
    return rates, rtfs[1:]   # the first window includes start-up


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--physics-seconds', type=float, default=3.0)
    parser.add_argument('--render-frames', type=int, default=60)
    parser.add_argument('--resolutions', default='128x96,160x120,320x240')
    parser.add_argument('--realtime-seconds', type=float, default=10.0)
    parser.add_argument('--realtime-resolutions', default=f'{DEFAULT_WIDTH}x{DEFAULT_HEIGHT},160x120')
    parser.add_argument('--episodes', type=int, default=20)
    parser.add_argument('--noises', default='0.0,0.05,0.1')
    parser.add_argument('--expert-tasks', default='pick_place,stack,insertion')
    parser.add_argument('--node-seconds', type=float, default=20.0)
    parser.add_argument('--no-node', action='store_true', help='skip the DDS measurement of the real node')
    args = parser.parse_args()
    parse = [tuple(int(v) for v in r.split('x')) for r in args.resolutions.split(',')]
    parse_rt = [tuple(int(v) for v in r.split('x')) for r in args.realtime_resolutions.split(',')]

    table = Table(title=f'rlhf_sim bench ({os.cpu_count()} CPUs, MUJOCO_GL={os.environ.get("MUJOCO_GL", "")})')
    table.add_column('measurement')
    table.add_column('value', justify='right')
    table.add_column('load avg', justify='right')

    def load() -> str:
        return f'{os.getloadavg()[0]:.1f}'

    console.print('1/5 physics ...')
    rate, rtf = bench_physics(args.physics_seconds)
    table.add_row('physics steps/s (pick_place, 500 Hz model, no rendering)', f'{rate:,.0f}', load())
    table.add_row('  max real-time factor without rendering', f'{rtf:.1f}', load())
    table.add_row('  state-only env + expert, control steps/s (30 Hz ticks)', f'{bench_env_with_expert():,.0f}', load())

    console.print('2/5 rendering ...')
    for width, height in parse:
        fps, cpu_ms = bench_render(width, height, args.render_frames)
        table.add_row(f'RGB+depth frames/s, one camera, {width}x{height} (CPU ms per frame)',
                      f'{fps:.1f} ({cpu_ms:.1f})', load())

    console.print('3/5 real-time physics while rendering 2 cameras at 30 Hz ...')
    for width, height in parse_rt:
        result = bench_realtime(width, height, args.realtime_seconds)
        table.add_row(f'{width}x{height}: real-time factor (physics thread)', f'{result["rtf"]:.3f}', load())
        table.add_row(f'{width}x{height}: dropped physics steps', f'{result["dropped"]}', load())
        table.add_row(f'{width}x{height}: delivered frames/s (2 cameras each, target 30)', f'{result["fps"]:.1f}',
                      load())

    console.print('4/5 scripted expert ...')
    for task in args.expert_tasks.split(','):
        for noise in (float(v) for v in args.noises.split(',')):
            success, length = bench_expert(task, args.episodes, noise)
            table.add_row(f'{task} expert success, noise {noise:g} ({args.episodes} seeds); mean length of a success',
                          f'{success:.0%}; {length:.1f} s', load())

    if not args.no_node:
        console.print(f'5/5 sim node over DDS for {args.node_seconds:g} s ...')
        rates, rtfs = bench_node(args.node_seconds, DEFAULT_WIDTH, DEFAULT_HEIGHT)
        for topic, (rate, max_gap_ms) in rates.items():
            table.add_row(f'node {DEFAULT_WIDTH}x{DEFAULT_HEIGHT}: {topic} Hz (largest gap ms)',
                          f'{rate:.1f} ({max_gap_ms:.0f})', load())
        rtf_text = ', '.join(f'{v:.3f}' for v in rtfs) if rtfs else 'n/a'
        table.add_row('node: real-time factor per 5 s window (logged)', rtf_text, load())
    console.print(table)


if __name__ == '__main__':
    main()
