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

import sys
import time

from rclpy.node import Node
from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy

from rlhf_common import topics as graph_topics
from rlhf_common.node import declare_parameters, run_node
from rlhf_recorder.live_view import LiveView
from rlhf_recorder.raw_topics import subscribe_appeared

DEFAULT_TOPICS = [graph_topics.JOINT_STATES, *[graph_topics.camera_topic(camera, stream)
                                               for camera in ('scene_camera', 'wrist_camera')
                                               for stream in ('color', 'depth')], graph_topics.TASK_STATE,
                  graph_topics.EPISODE_EVENTS, graph_topics.POLICY_STATUS, graph_topics.ARM_COMMANDS,
                  graph_topics.GRIPPER_COMMANDS]
PARAMETERS = {
    'host': '127.0.0.1',
    'port': 8765,
    'topics': DEFAULT_TOPICS,
    'image_rate_hz': 10.0,
    'discovery_period_s': 1.0,
}


class LiveViewNode(Node):
    def __init__(self, **kwargs) -> None:
        super().__init__('live_view', **kwargs)
        p = declare_parameters(self, PARAMETERS)
        self.wanted = [t for t in p['topics'] if t]
        self.view = LiveView(p['host'], int(p['port']), float(p['image_rate_hz']))
        self.types: dict[str, str] = {}
        self._qos = QoSProfile(depth=10, history=HistoryPolicy.KEEP_LAST, reliability=ReliabilityPolicy.BEST_EFFORT)
        self._discover()
        self.create_timer(float(p['discovery_period_s']), self._discover)
        self.get_logger().info(f'live view on ws://{p["host"]}:{self.view.port} '
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

    def close(self) -> None:
        self.view.close()


def main(args=None):
    return run_node(LiveViewNode, args, prog='live_view', description=__doc__, parameters=PARAMETERS)


if __name__ == '__main__':
    sys.exit(main())
