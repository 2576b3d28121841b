# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""keyboard_teleop in a pseudo-terminal (what an SSH session gives it): keys become Twist and Joy over DDS."""

import os
import pty
import subprocess
import time

from geometry_msgs.msg import Twist
import pytest
import rclpy
from rclpy.executors import SingleThreadedExecutor
from sensor_msgs.msg import Joy

from rlhf_teleop.graph import NodeSpec, executable_path


@pytest.fixture
def listener():
    context = rclpy.Context()
    rclpy.init(context=context, domain_id=int(os.environ.get('ROS_DOMAIN_ID', '0')))
    node = rclpy.create_node('keyboard_listener', context=context)
    executor = SingleThreadedExecutor(context=context)
    executor.add_node(node)
    yield node, executor
    executor.shutdown()
    node.destroy_node()
    rclpy.try_shutdown(context=context)


def spin_until(executor, predicate, timeout=15.0):
    deadline = time.monotonic() + timeout
    while not predicate() and time.monotonic() < deadline:
        executor.spin_once(timeout_sec=0.05)
    return predicate()


def test_keys_in_a_pty_publish_twist_and_buttons(listener):
    node, executor = listener
    twists, joys = [], []
    node.create_subscription(Twist, '/keyboard/twist', twists.append, 50)
    node.create_subscription(Joy, '/keyboard/joy', joys.append, 50)
    primary, secondary = pty.openpty()
    path = executable_path(NodeSpec('rlhf_teleop', 'keyboard_teleop', 'keyboard_teleop'))
    proc = subprocess.Popen([str(path)], stdin=secondary, stdout=secondary, stderr=secondary, close_fds=True)
    os.close(secondary)
    try:
        assert spin_until(executor, lambda: len(twists) > 3), 'keyboard_teleop published nothing'
        os.write(primary, b'w')
        assert spin_until(executor, lambda: twists[-1].linear.x == 1.0), 'w did not move +x'
        os.write(primary, b' ')
        assert spin_until(executor, lambda: any(j.buttons[0] == 1 for j in joys)), 'space: no gripper button'
        assert len(joys[-1].axes) == 6 and len(joys[-1].buttons) == 4
        os.write(primary, b'.')
        assert spin_until(executor, lambda: twists[-1].linear.x == 0.0), 'another key did not stop'
        os.write(primary, b'q')
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(primary)


def test_refuses_to_run_without_a_terminal():
    path = executable_path(NodeSpec('rlhf_teleop', 'keyboard_teleop', 'keyboard_teleop'))
    result = subprocess.run([str(path)], stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=30)
    assert result.returncode == 2 and 'not a terminal' in result.stderr
