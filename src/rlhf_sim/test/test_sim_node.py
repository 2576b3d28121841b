# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""The sim node over real DDS: joint states follow commands, camera topics, task state, reset service."""

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import rclpy
from rclpy.executors import SingleThreadedExecutor
from sensor_msgs.msg import CameraInfo, Image, JointState
from std_msgs.msg import Float64MultiArray

from rlhf_common.node import call_service
from rlhf_common.robot import JOINT_NAMES
from rlhf_msgs.msg import TaskState
from rlhf_msgs.srv import ResetSim
from rlhf_sim.robot import HOME_ARM_QPOS

WIDTH, HEIGHT = 64, 48


@pytest.fixture(scope='module')
def ros_env():
    env = dict(os.environ)
    env.setdefault('ROS_DOMAIN_ID', '11')
    env['ROS_AUTOMATIC_DISCOVERY_RANGE'] = 'LOCALHOST'
    if env.get('ROS_DISTRO') == 'humble':
        env['ROS_LOCALHOST_ONLY'] = '1'
    return env


@pytest.fixture(scope='module')
def sim_process(ros_env):
    cmd = [sys.executable, '-m', 'rlhf_sim.sim_node', '--ros-args',
           '-p', 'task:=pick_place', '-p', 'seed:=4', '-p', 'cameras:=[scene_camera, wrist_camera]',
           '-p', f'camera_width:={WIDTH}', '-p', f'camera_height:={HEIGHT}', '-p', 'camera_rate:=10.0',
           '-p', 'status_period_s:=0.0']
    proc = subprocess.Popen(cmd, env=ros_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    yield proc
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class Probe:
    """A test node in its own context: latest message per topic, command publishers, reset client."""

    def __init__(self, domain_id: int):
        self.context = rclpy.Context()
        rclpy.init(context=self.context, domain_id=domain_id)
        self.node = rclpy.create_node('sim_probe', context=self.context)
        self.executor = SingleThreadedExecutor(context=self.context)
        self.executor.add_node(self.node)
        self.latest = {}
        for topic, msg_type in [('/joint_states', JointState), ('/scene_camera/color', Image),
                                ('/scene_camera/depth', Image), ('/scene_camera/camera_info', CameraInfo),
                                ('/wrist_camera/color', Image), ('/rlhf_sim/task_state', TaskState)]:
            self.node.create_subscription(msg_type, topic, lambda msg, t=topic: self.latest.__setitem__(t, msg), 10)
        self.arm_pub = self.node.create_publisher(Float64MultiArray, '/arm_controller/commands', 10)
        self.gripper_pub = self.node.create_publisher(Float64MultiArray, '/gripper_controller/commands', 10)
        self.reset_client = self.node.create_client(ResetSim, '/rlhf_sim/reset')

    def spin_until(self, condition, timeout: float, what: str, proc=None):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.executor.spin_once(timeout_sec=0.05)
            if condition():
                return
            if proc is not None and proc.poll() is not None:
                pytest.fail(f'sim node exited while waiting for {what}:\n{proc.stdout.read()}')
        pytest.fail(f'timed out after {timeout} s waiting for {what}')

    def close(self):
        self.executor.shutdown()
        self.node.destroy_node()
        rclpy.try_shutdown(context=self.context)


@pytest.fixture
def probe(ros_env, sim_process):
    p = Probe(int(ros_env['ROS_DOMAIN_ID']))
    p.spin_until(lambda: '/joint_states' in p.latest, 60.0, '/joint_states', sim_process)
    yield p
    p.close()


def joint_positions(probe):
    msg = probe.latest['/joint_states']
    return np.array(msg.position)


def test_joint_states_layout(probe):
    msg = probe.latest['/joint_states']
    assert tuple(msg.name) == JOINT_NAMES
    assert len(msg.position) == len(msg.velocity) == len(msg.effort) == 9
    np.testing.assert_allclose(np.array(msg.position)[:7], HOME_ARM_QPOS, atol=0.01)


def test_camera_topics(probe, sim_process):
    topics = ('/scene_camera/color', '/scene_camera/depth', '/scene_camera/camera_info', '/wrist_camera/color')
    probe.spin_until(lambda: all(t in probe.latest for t in topics), 30.0, 'camera topics', sim_process)
    color, depth = probe.latest['/scene_camera/color'], probe.latest['/scene_camera/depth']
    assert (color.encoding, color.width, color.height, color.step) == ('rgb8', WIDTH, HEIGHT, WIDTH * 3)
    assert len(color.data) == WIDTH * HEIGHT * 3
    assert np.frombuffer(bytes(color.data), np.uint8).std() > 5.0
    assert (depth.encoding, depth.width, depth.height, depth.step) == ('32FC1', WIDTH, HEIGHT, WIDTH * 4)
    metres = np.frombuffer(bytes(depth.data), np.float32)
    assert depth.is_bigendian == 0 and np.isfinite(metres).all()
    assert 0.5 < np.median(metres) < 3.0       # the table seen from about 1.4 m away
    info = probe.latest['/scene_camera/camera_info']
    focal = 0.5 * HEIGHT / np.tan(np.deg2rad(45.0) / 2)   # scene camera fovy is 45 degrees
    assert (info.width, info.height) == (WIDTH, HEIGHT)
    np.testing.assert_allclose(info.k, [focal, 0, (WIDTH - 1) / 2, 0, focal, (HEIGHT - 1) / 2, 0, 0, 1], rtol=1e-6)
    assert color.header.frame_id == 'scene_camera_optical_frame'


def test_arm_and_gripper_follow_commands(probe, sim_process):
    target = HOME_ARM_QPOS + np.array([0.25, 0.15, -0.2, 0.2, 0.2, -0.15, 0.4])
    probe.spin_until(lambda: probe.arm_pub.get_subscription_count() > 0, 10.0, 'command subscriber', sim_process)
    start = joint_positions(probe)[:7]

    def reached():
        probe.arm_pub.publish(Float64MultiArray(data=target.tolist()))
        probe.gripper_pub.publish(Float64MultiArray(data=[0.01]))
        q = joint_positions(probe)
        return np.max(np.abs(q[:7] - target)) < 0.01 and np.max(np.abs(q[7:] - 0.01)) < 0.002

    probe.spin_until(reached, 20.0, 'joints to converge on the command', sim_process)
    assert np.max(np.abs(start - target)) > 0.1   # it really moved
    # a malformed command is ignored: the arm keeps holding the last good target
    probe.arm_pub.publish(Float64MultiArray(data=[0.0, 0.0]))
    end = time.monotonic() + 0.5
    while time.monotonic() < end:
        probe.executor.spin_once(timeout_sec=0.05)
    assert np.max(np.abs(joint_positions(probe)[:7] - target)) < 0.01
    assert sim_process.poll() is None


def call_reset(probe, task, seed, proc):
    reply = call_service(probe.reset_client, ResetSim.Request(task=task, seed=seed),
                         lambda: probe.executor.spin_once(timeout_sec=0.02), timeout_s=30.0)
    assert reply is not None and proc.poll() is None, '/rlhf_sim/reset did not answer'
    return reply


def test_reset_service_switches_task_and_seeds(probe, sim_process):
    reply = call_reset(probe, 'stack', 5, sim_process)
    assert reply.success and reply.seed == 5, reply.message
    probe.latest.pop('/rlhf_sim/task_state', None)
    probe.spin_until(lambda: probe.latest.get('/rlhf_sim/task_state') is not None
                     and probe.latest['/rlhf_sim/task_state'].task == 'stack', 10.0, 'stack task state', sim_process)
    first = probe.latest['/rlhf_sim/task_state']
    assert list(first.object_names) == ['cube_top', 'cube_base'] and not first.success
    probe.spin_until(lambda: np.max(np.abs(joint_positions(probe)[:7] - HOME_ARM_QPOS)) < 0.01, 10.0,
                     'arm back home after reset', sim_process)
    # the same seed gives the same scene
    reply = call_reset(probe, '', 5, sim_process)
    assert reply.success and reply.seed == 5
    probe.latest.pop('/rlhf_sim/task_state', None)
    probe.spin_until(lambda: '/rlhf_sim/task_state' in probe.latest, 10.0, 'task state', sim_process)
    again = probe.latest['/rlhf_sim/task_state']
    assert again.object_poses[1].position.x == pytest.approx(first.object_poses[1].position.x, abs=1e-4)
    # a fresh seed is drawn for -1 and reported
    reply = call_reset(probe, 'pick_place', -1, sim_process)
    assert reply.success and reply.seed >= 0
    bad = call_reset(probe, 'juggling', 1, sim_process)
    assert not bad.success and 'pick_place' in bad.message


def test_publish_clock_stamps_with_simulated_time(ros_env):
    from rosgraph_msgs.msg import Clock
    cmd = [sys.executable, '-m', 'rlhf_sim.sim_node', '--ros-args', '-p', 'cameras:=[none]',
           '-p', 'publish_clock:=true', '-p', 'status_period_s:=0.0', '-r', '__node:=sim_clock',
           '-r', '/joint_states:=/clock_test/joint_states', '-r', '/clock:=/clock_test/clock',
           '-p', 'reset_service:=/clock_test/reset', '-p', 'task_state_topic:=/clock_test/task_state']
    proc = subprocess.Popen(cmd, env=ros_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    p = Probe(int(ros_env['ROS_DOMAIN_ID']))
    try:
        clocks, states = [], []
        p.node.create_subscription(Clock, '/clock_test/clock', clocks.append, 10)
        p.node.create_subscription(JointState, '/clock_test/joint_states', states.append, 10)
        p.spin_until(lambda: len(clocks) > 20 and len(states) > 20, 60.0, '/clock and joint states', proc)
        times = [c.clock.sec + c.clock.nanosec * 1e-9 for c in clocks]
        assert all(b >= a for a, b in zip(times, times[1:]))   # monotonic
        assert times[-1] < 120.0                                # simulated time since start, not the epoch
        stamp = states[-1].header.stamp
        assert stamp.sec + stamp.nanosec * 1e-9 < 120.0
    finally:
        p.close()
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.mark.parametrize('arguments, named', [(['-p', 'task:=juggling'], 'task'),
                                              (['-p', 'camera_width:=5000'], 'camera_width')])
def test_bad_parameters_exit_with_a_clear_error(ros_env, arguments, named):
    cmd = [sys.executable, '-m', 'rlhf_sim.sim_node', '--ros-args', '-r', '__node:=sim_bad', *arguments]
    result = subprocess.run(cmd, env=ros_env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2   # bad input, as every node and console script
    assert f'parameter {named}' in result.stderr or f'parameters {named}' in result.stderr, result.stderr
    assert 'Traceback' not in result.stderr
