# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""The ``keyboard_teleop`` console script: a terminal key map (works over SSH, no display needed).

It puts the terminal in raw mode (termios) and publishes in the shape the spacenav driver uses, so the
teleop node (``device: keyboard``) treats it like a SpaceMouse: ``/keyboard/twist`` (geometry_msgs/Twist,
normalised axes in [-1, 1]) and ``/keyboard/joy`` (sensor_msgs/Joy: the same 6 axes and 4 buttons:
gripper, start/stop-success, stop-failure, discard). Keys: see ``rlhf_teleop.devices.KEYBOARD_HELP``.
Run it in its own terminal beside the collection graph.
"""

import os
import select
import sys
import termios
import time
import tty

from geometry_msgs.msg import Twist
import rclpy
from rclpy.node import Node
from sensor_msgs.msg import Joy

from rlhf_common.node import declare_parameters, parameter_help, wants_help
from rlhf_teleop.devices import KEYBOARD_HELP, KeyboardState

PARAMETERS = {
    'publish_rate': 30.0,              # Hz
    'hold_s': 0.6,                     # a key counts as held this long after its last repeat
    'twist_topic': '/keyboard/twist',
    'joy_topic': '/keyboard/joy',
}


class KeyboardTeleopNode(Node):

    def __init__(self, **kwargs):
        super().__init__('keyboard_teleop', **kwargs)
        p = declare_parameters(self, PARAMETERS)
        self.rate = p['publish_rate']
        self.keys = KeyboardState(hold_s=p['hold_s'])
        self.twist_pub = self.create_publisher(Twist, p['twist_topic'], 10)
        self.joy_pub = self.create_publisher(Joy, p['joy_topic'], 10)

    def publish(self, now: float):
        axes = self.keys.axes(now)
        twist = Twist()
        twist.linear.x, twist.linear.y, twist.linear.z = axes[:3]
        twist.angular.x, twist.angular.y, twist.angular.z = axes[3:]
        self.twist_pub.publish(twist)
        joy = Joy(axes=[float(a) for a in axes], buttons=self.keys.buttons())
        joy.header.stamp = self.get_clock().now().to_msg()
        self.joy_pub.publish(joy)


def main(args=None):
    if wants_help(sys.argv[1:] if args is None else args[1:]):
        print(parameter_help('keyboard_teleop', __doc__, PARAMETERS))
        return 0
    if not sys.stdin.isatty():
        print('keyboard_teleop: stdin is not a terminal; run it in an interactive terminal (ssh -t works)',
              file=sys.stderr)
        return 2
    rclpy.init(args=args)
    node = KeyboardTeleopNode()
    fd = sys.stdin.fileno()
    saved = termios.tcgetattr(fd)
    print(KEYBOARD_HELP.replace('\n', '\r\n'), end='\r\n', flush=True)
    try:
        tty.setraw(fd)
        period = 1.0 / node.rate
        next_publish = time.monotonic()
        running = True
        while running and rclpy.ok():
            timeout = max(0.0, next_publish - time.monotonic())
            readable, _, _ = select.select([fd], [], [], timeout)
            if readable:
                for key in os.read(fd, 32).decode(errors='ignore'):
                    running = node.keys.press(key, time.monotonic()) and running
            if time.monotonic() >= next_publish:
                node.publish(time.monotonic())
                next_publish += period
                rclpy.spin_once(node, timeout_sec=0.0)
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)
        node.publish(time.monotonic() + 1e6)   # all axes released: the arm stops
        node.destroy_node()
        rclpy.try_shutdown()
    print('keyboard_teleop: bye')
    return 0


if __name__ == '__main__':
    sys.exit(main())
