# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""Real-time core of the node: snapshots render like the live state, resets, fixed-rate scheduling, messages."""

import threading
import time

import mujoco
import numpy as np
import pytest
from sensor_msgs.msg import CameraInfo, Image

from rlhf_sim.cameras import CameraRenderer, camera_intrinsics
from rlhf_sim.realtime import PeriodicThread, RealtimeSimulation, SnapshotRenderer, Ticker
from rlhf_sim.robot import HOME_ARM_QPOS
from rlhf_sim.ros_convert import fill_camera_info, fill_image, fill_pose, stamp_from_ns


def test_snapshot_renders_the_same_image_as_the_live_state():
    realtime = RealtimeSimulation('insertion', seed=2)
    realtime.set_arm_command(HOME_ARM_QPOS + 0.2)
    realtime.step_blocking(200)   # the arm moves: the snapshot must carry the new pose
    snap = realtime.snapshot()
    # after mj_step the live poses lag qpos by one step; recompute them so both sides show the same instant
    mujoco.mj_forward(realtime.sim.model, realtime.sim.data)
    snapshot_renderer = SnapshotRenderer(['scene_camera', 'wrist_camera'], 48, 32)
    live_renderer = CameraRenderer(realtime.sim.model, ['scene_camera', 'wrist_camera'], 48, 32)
    try:
        from_snapshot = snapshot_renderer.render(snap)
        live = live_renderer.render(realtime.sim.data)
    finally:
        snapshot_renderer.close()
        live_renderer.close()
    for key in live:
        np.testing.assert_allclose(from_snapshot[key].astype(float), live[key].astype(float), atol=1e-3)
    assert snap.sim_time == pytest.approx(200 / 500.0)


def test_reset_switches_task_and_keeps_time_running():
    realtime = RealtimeSimulation('pick_place', seed=0)
    realtime.step_blocking(50)
    model = realtime.sim.model
    assert realtime.reset(task='stack', seed=9) == 9
    assert realtime.task_name == 'stack' and realtime.sim.model is not model and realtime.model_generation == 1
    assert realtime.task_state().object_names == ['cube_top', 'cube_base']
    assert realtime.snapshot().sim_time == pytest.approx(0.1)   # /clock never goes backwards on reset
    realtime.reset(seed=3)
    assert realtime.model_generation == 1 and realtime.seed == 3


def test_commands_are_validated():
    realtime = RealtimeSimulation('pick_place', seed=0)
    with pytest.raises(ValueError, match='7'):
        realtime.set_arm_command([0.0] * 6)
    with pytest.raises(ValueError, match='finite'):
        realtime.set_arm_command([np.nan] * 7)
    with pytest.raises(ValueError, match='finite'):
        realtime.set_gripper_command(float('inf'))
    realtime.set_gripper_command(1.0)   # clipped to the hand's range like a real controller would
    assert realtime.sim.command[7] == pytest.approx(0.04)


def test_physics_thread_advances_and_stops():
    realtime = RealtimeSimulation('pick_place', seed=0)
    realtime.start()
    try:
        deadline = time.monotonic() + 10.0
        while realtime.steps < 50 and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        realtime.stop()
    steps = realtime.steps
    assert steps >= 50
    time.sleep(0.05)
    assert realtime.steps == steps   # stopped means stopped


def test_ticker_skips_only_beyond_the_backlog():
    stop = threading.Event()
    ticker = Ticker(100.0, max_backlog=2)
    ticker.next = time.perf_counter() - 0.055   # 5.5 periods late
    stop.set()                                   # wait returns at once
    assert ticker.wait(stop) is False
    assert ticker.skipped == 2                   # 4 ticks behind after this one, 2 may run late
    ticker = Ticker(100.0, max_backlog=10)
    ticker.next = time.perf_counter() - 0.055
    ticker.wait(stop)
    assert ticker.skipped == 0


def test_periodic_thread_calls_until_stopped():
    calls = []
    thread = PeriodicThread(200.0, lambda: calls.append(1), 'test')
    thread.start()
    deadline = time.monotonic() + 10.0
    while len(calls) < 5 and time.monotonic() < deadline:
        time.sleep(0.01)
    thread.stop()
    count = len(calls)
    assert count >= 5
    time.sleep(0.05)
    assert len(calls) == count


def test_image_and_camera_info_messages():
    rgb = np.random.default_rng(0).integers(0, 255, (6, 8, 3), dtype=np.uint8)
    depth = np.linspace(0.1, 2.0, 48, dtype=np.float32).reshape(6, 8)
    color_msg = fill_image(Image(), rgb, 'rgb8', stamp_from_ns(1_500_000_000), 'cam_optical_frame')
    assert (color_msg.width, color_msg.height, color_msg.step) == (8, 6, 24)
    assert color_msg.header.stamp.sec == 1 and color_msg.header.stamp.nanosec == 500_000_000
    np.testing.assert_array_equal(np.frombuffer(bytes(color_msg.data), np.uint8).reshape(6, 8, 3), rgb)
    depth_msg = fill_image(Image(), depth, '32FC1')
    assert depth_msg.step == 32 and depth_msg.is_bigendian == 0
    np.testing.assert_array_equal(np.frombuffer(bytes(depth_msg.data), '<f4').reshape(6, 8), depth)
    with pytest.raises(ValueError, match='shape'):
        fill_image(Image(), depth, 'rgb8')

    realtime = RealtimeSimulation('pick_place', seed=0)
    k = camera_intrinsics(realtime.sim.model, 'wrist_camera', 160, 120)
    info = fill_camera_info(CameraInfo(), k, 160, 120)
    assert info.k[0] == pytest.approx(60.0 / np.tan(np.deg2rad(70.0) / 2))   # wrist camera fovy 70
    assert list(info.p) == pytest.approx([k[0, 0], 0, 79.5, 0, 0, k[1, 1], 59.5, 0, 0, 0, 1, 0])
    pose = fill_pose([1, 2, 3, 0.5, 0.5, 0.5, 0.5])
    assert (pose.position.z, pose.orientation.w, pose.orientation.z) == (3.0, 0.5, 0.5)
