# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""Simulation throughput: physics, rendering, real-time factor under rendering, scripted expert success.

1. Physics steps/s of the pick_place scene (500 Hz model) stepped as fast as possible, and the real-time
   factor that allows; also control steps/s of the state-only ManipulationEnv driven by the expert.
2. Offscreen RGB + depth frames/s per camera at several resolutions (one render pass reads both buffers).
3. The node's arrangement without ROS: the real-time physics thread (rlhf_sim.realtime) while a camera
   thread renders 2 cameras at 30 Hz from snapshots and packs them into sensor_msgs/Image: real-time factor,
   dropped physics steps, delivered camera rate.
4. Scripted expert success rate on seeded pick_place episodes at a few noise levels.

The machine is shared: the 1-minute load average is printed with the results.

Usage: python bench/sim_bench.py [--realtime-seconds 10] [--episodes 20] [--resolutions 128x96,160x120,320x240]
"""

import argparse
import os
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

console = Console()


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


def bench_render(width: int, height: int, frames: int) -> float:
    sim = Simulation('pick_place', seed=0)
    renderer = CameraRenderer(sim.model, ['scene_camera'], width, height, depth=True)
    try:
        renderer.render(sim.data)
        start = time.perf_counter()
        for _ in range(frames):
            renderer.render(sim.data)
        return frames / (time.perf_counter() - start)
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


def bench_expert(episodes: int, noise: float) -> tuple[float, float]:
    env = ManipulationEnv('pick_place', cameras=(), max_episode_steps=300)
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


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--physics-seconds', type=float, default=3.0)
    parser.add_argument('--render-frames', type=int, default=60)
    parser.add_argument('--resolutions', default='128x96,160x120,320x240')
    parser.add_argument('--realtime-seconds', type=float, default=10.0)
    parser.add_argument('--realtime-resolutions', default=f'{DEFAULT_WIDTH}x{DEFAULT_HEIGHT},160x120')
    parser.add_argument('--episodes', type=int, default=20)
    parser.add_argument('--noises', default='0.0,0.05,0.1')
    args = parser.parse_args()
    parse = [tuple(int(v) for v in r.split('x')) for r in args.resolutions.split(',')]
    parse_rt = [tuple(int(v) for v in r.split('x')) for r in args.realtime_resolutions.split(',')]

    table = Table(title=f'rlhf_sim bench ({os.cpu_count()} CPUs, MUJOCO_GL={os.environ.get("MUJOCO_GL", "")})')
    table.add_column('measurement')
    table.add_column('value', justify='right')
    table.add_column('load avg', justify='right')

    def load() -> str:
        return f'{os.getloadavg()[0]:.1f}'

    console.print('1/4 physics ...')
    rate, rtf = bench_physics(args.physics_seconds)
    table.add_row('physics steps/s (pick_place, 500 Hz model, no rendering)', f'{rate:,.0f}', load())
    table.add_row('  max real-time factor without rendering', f'{rtf:.1f}', load())
    table.add_row('  state-only env + expert, control steps/s (30 Hz ticks)', f'{bench_env_with_expert():,.0f}', load())

    console.print('2/4 rendering ...')
    for width, height in parse:
        fps = bench_render(width, height, args.render_frames)
        table.add_row(f'RGB+depth frames/s, one camera, {width}x{height}', f'{fps:.1f}', load())

    console.print('3/4 real-time physics while rendering 2 cameras at 30 Hz ...')
    for width, height in parse_rt:
        result = bench_realtime(width, height, args.realtime_seconds)
        table.add_row(f'{width}x{height}: real-time factor (physics thread)', f'{result["rtf"]:.3f}', load())
        table.add_row(f'{width}x{height}: dropped physics steps', f'{result["dropped"]}', load())
        table.add_row(f'{width}x{height}: delivered frames/s (2 cameras each, target 30)', f'{result["fps"]:.1f}',
                      load())

    console.print('4/4 scripted expert ...')
    for noise in (float(v) for v in args.noises.split(',')):
        success, length = bench_expert(args.episodes, noise)
        table.add_row(f'pick_place expert success, noise {noise:g} ({args.episodes} seeds)', f'{success:.0%}', load())
        table.add_row(f'  mean successful episode length (sim s), noise {noise:g}', f'{length:.1f}', load())
    console.print(table)


if __name__ == '__main__':
    main()
