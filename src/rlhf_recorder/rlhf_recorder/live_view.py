# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""Live view core (no ROS): a Foxglove WebSocket server relaying serialised ROS 2 messages as they arrive.

Each topic becomes a Foxglove channel with message encoding ``cdr`` and its ``ros2msg`` schema (the message
definition with every type it uses, as rosbag2 stores it in MCAP), so the Foxglove app decodes and shows
``sensor_msgs/Image``, ``JointState``, our ``TaskState`` / ``EpisodeEvent`` / ``PolicyStatus`` like any ROS
topic. Messages are relayed as received (no deserialisation); images are thinned to ``image_rate_hz``. A client that
cannot keep up loses the oldest messages (the server's per-client backlog), never slowing the robot's topics.
"""

from __future__ import annotations

import threading

from rlhf_common.graph import GraphArgument, NodeSpec, package_defaults
from rlhf_recorder.msgtypes import ensure_type, make_typestore
from rlhf_recorder.reader import IMAGE_TYPE

# The argument by which the collection and deployment graphs start a live view of their topics.
FOXGLOVE_ARGUMENT = GraphArgument('foxglove_port', '', 'port of a Foxglove live view of the graph\'s topics '
                                                       '(rlhf_recorder live_view, WebSocket), e.g. 8765; "" = none',
                                  kind='int', minimum=1, optional=True)


def live_view_specs(port, topics, parameter_files):
    """The live view node relaying ``topics`` on ``port`` ([] when port is None: no live view)."""
    if port is None:
        return []
    if port > 65535:
        raise ValueError(f'argument foxglove_port: expected a TCP port 1..65535 or "", got {port}')
    return [NodeSpec('rlhf_recorder', 'live_view', 'live_view', parameters={'port': port, 'topics': list(topics)},
                     parameter_files=package_defaults('rlhf_recorder', 'live_view.yaml') + list(parameter_files))]


class LiveView:
    """A Foxglove WebSocket server on ``host:port`` (port 0: any free port, see :attr:`port`)."""

    def __init__(self, host: str = '127.0.0.1', port: int = 8765, image_rate_hz: float = 10.0,
                 name: str = 'rlhf live view') -> None:
        import foxglove

        self._foxglove = foxglove
        self._context = foxglove.Context()
        self._server = foxglove.start_server(name=name, host=host, port=port, context=self._context)
        self._typestore = make_typestore()
        self._channels: dict[str, object] = {}
        self._image_period_ns = int(1e9 / image_rate_hz) if image_rate_hz > 0 else 0
        self._last_image_ns: dict[str, int] = {}
        self._lock = threading.Lock()
        self.relayed: dict[str, int] = {}

    @property
    def port(self) -> int:
        return self._server.port

    def add_topic(self, topic: str, msgtype: str) -> None:
        """Advertise ``topic`` (type ``pkg/msg/Name``) to clients; a no-op when it is there already."""
        with self._lock:
            if topic in self._channels:
                return
            msgtype = ensure_type(self._typestore, msgtype)
            definition, _ = self._typestore.generate_msgdef(msgtype, ros_version=2)
            schema = self._foxglove.Schema(name=msgtype, encoding='ros2msg', data=definition.encode())
            self._channels[topic] = (self._foxglove.Channel(topic, message_encoding='cdr', schema=schema,
                                                            context=self._context), msgtype == IMAGE_TYPE)
            self.relayed[topic] = 0

    def message(self, topic: str, cdr: bytes, log_time_ns: int) -> bool:
        """Relay one serialised message; False when it was dropped (unknown topic, or an image thinned out)."""
        entry = self._channels.get(topic)
        if entry is None:
            return False
        channel, is_image = entry
        if is_image and self._image_period_ns:
            if log_time_ns - self._last_image_ns.get(topic, -self._image_period_ns) < self._image_period_ns:
                return False
            self._last_image_ns[topic] = log_time_ns
        channel.log(bytes(cdr), log_time=log_time_ns)
        self.relayed[topic] += 1
        return True

    def close(self) -> None:
        self._server.stop()
