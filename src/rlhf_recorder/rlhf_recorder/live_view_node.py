# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""ROS node ``live_view``: the configured topics, live, over the Foxglove WebSocket protocol.

In the Foxglove app: "Open connection", ``ws://<host>:<port>``.

Subscribes to every configured topic as serialised messages (``raw=True``) with the type found in the graph
(retried every ``discovery_period_s`` until it appears), best effort so that a slow viewer never slows a publisher,
and relays them through :class:`rlhf_recorder.live_view.LiveView`. Parameters (defaults in config/live_view.yaml):

- ``host`` (str, ``127.0.0.1``): address to listen on (``0.0.0.0`` for a viewer on another machine).
- ``port`` (int, 8765): WebSocket port (Foxglove's default); 0 picks a free one (logged).
- ``topics`` (str[]): topics to relay.
- ``image_rate_hz`` (float, 10.0): at most this many frames per second per image topic; 0 = every frame.
- ``discovery_period_s`` (float, 1.0): how often missing topics are looked for.
"""

from __future__ import annotations

import time

import rclpy
from rclpy.executors import ExternalShutdownException
from rclpy.node import Node
from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy

from rlhf_recorder.live_view import LiveView
from rlhf_recorder.raw_topics import subscribe_appeared

DEFAULT_TOPICS = ['/joint_states', '/scene_camera/color', '/scene_camera/depth', '/wrist_camera/color',
                  '/wrist_camera/depth', '/rlhf_sim/task_state', '/episode/events', '/policy/status',
                  '/arm_controller/commands', '/gripper_controller/commands']


class LiveViewNode(Node):
    def __init__(self, **kwargs) -> None:
        super().__init__('live_view', **kwargs)
        self.declare_parameter('host', '127.0.0.1')
        self.declare_parameter('port', 8765)
        self.declare_parameter('topics', DEFAULT_TOPICS)
        self.declare_parameter('image_rate_hz', 10.0)
        self.declare_parameter('discovery_period_s', 1.0)
        param = self.get_parameter
        self.wanted = [t for t in param('topics').value if t]
        self.view = LiveView(param('host').value, int(param('port').value), float(param('image_rate_hz').value))
        self.types: dict[str, str] = {}
        self._qos = QoSProfile(depth=10, history=HistoryPolicy.KEEP_LAST, reliability=ReliabilityPolicy.BEST_EFFORT)
        self._discover()
        self.create_timer(float(param('discovery_period_s').value), self._discover)
        self.get_logger().info(f'live view on ws://{param("host").value}:{self.view.port} '
                               f'({len(self.wanted)} topics; Foxglove: Open connection)')

    def _discover(self) -> None:
        for topic in subscribe_appeared(self, self.wanted, self.types, self._on_message, lambda _: self._qos):
            try:
                self.view.add_topic(topic, self.types[topic])
            except LookupError as err:   # no message definition to give Foxglove: its messages are not relayed
                self.get_logger().error(f'topic {topic}: not relayed: {err}')
                continue
            self.get_logger().info(f'relaying {topic} ({self.types[topic]})')

    def _on_message(self, topic: str, data: bytes) -> None:
        self.view.message(topic, data, time.time_ns())

    def destroy_node(self) -> None:
        self.view.close()
        super().destroy_node()


def main(args=None) -> None:
    rclpy.init(args=args)
    node = LiveViewNode()
    try:
        rclpy.spin(node)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    except RuntimeError:
        if rclpy.ok():
            raise
        # Ctrl-C shut the context down while the executor built its wait set (rclpy/rclpy#398): a normal stop
    finally:
        node.destroy_node()
        rclpy.try_shutdown()


if __name__ == '__main__':
    main()
