# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""keyboard_teleop in a pseudo-terminal (what an SSH session gives it): keys become Twist and Joy over DDS."""

import os
import pty
import subprocess

from geometry_msgs.msg import Twist
from sensor_msgs.msg import Joy

from rlhf_common.graph import NodeSpec, executable_path


def test_keys_in_a_pty_publish_twist_and_buttons(ros):
    node = ros.node
    twists, joys = [], []
    node.create_subscription(Twist, '/keyboard/twist', twists.append, 50)
    node.create_subscription(Joy, '/keyboard/joy', joys.append, 50)
    primary, secondary = pty.openpty()
    path = executable_path(NodeSpec('rlhf_teleop', 'keyboard_teleop', 'keyboard_teleop'))
    proc = subprocess.Popen([str(path)], stdin=secondary, stdout=secondary, stderr=secondary, close_fds=True)
    os.close(secondary)
    try:
        assert ros.spin_until(lambda: len(twists) > 3), 'keyboard_teleop published nothing'
        os.write(primary, b'w')
        assert ros.spin_until(lambda: twists[-1].linear.x == 1.0), 'w did not move +x'
        os.write(primary, b' ')
        assert ros.spin_until(lambda: any(j.buttons[0] == 1 for j in joys)), 'space: no gripper button'
        assert len(joys[-1].axes) == 6 and len(joys[-1].buttons) == 4
        os.write(primary, b'.')
        assert ros.spin_until(lambda: twists[-1].linear.x == 0.0), 'another key did not stop'
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
