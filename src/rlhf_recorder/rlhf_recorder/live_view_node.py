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

import functools
import time

import rclpy
from rclpy.executors import ExternalShutdownException
from rclpy.node import Node
from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy

from rlhf_recorder.live_view import LiveView
from rlhf_recorder.recorder_node import message_class

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
        self._raw_subscriptions = []
        self._qos = QoSProfile(depth=10, history=HistoryPolicy.KEEP_LAST, reliability=ReliabilityPolicy.BEST_EFFORT)
        self._discover()
        self.create_timer(float(param('discovery_period_s').value), self._discover)
        self.get_logger().info(f'live view on ws://{param("host").value}:{self.view.port} '
                               f'({len(self.wanted)} topics; Foxglove: Open connection)')

    def _discover(self) -> None:
        missing = [t for t in self.wanted if t not in self.types]
        if not missing:
            return
        graph = dict(self.get_topic_names_and_types())
        for topic in missing:
            types = graph.get(topic)
            if not types:
                continue
            try:
                cls = message_class(types[0])
                self.view.add_topic(topic, types[0])
            except (ImportError, AttributeError, ValueError, LookupError) as err:
                self.get_logger().error(f'topic {topic}: cannot relay type {types[0]}: {err}')
                self.types[topic] = types[0]   # do not retry every period
                continue
            self._raw_subscriptions.append(self.create_subscription(
                cls, topic, functools.partial(self._on_message, topic), self._qos, raw=True))
            self.types[topic] = types[0]
            self.get_logger().info(f'relaying {topic} ({types[0]})')

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
