# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""ROS node ``recorder``: one rosbag2 (MCAP) per episode of the configured topics, driven by ``/episode/events``.

Subscribes to every configured topic as serialised messages (``raw=True``: no deserialisation), with the type
found in the graph (``get_topic_names_and_types``, retried every ``discovery_period_s`` until the topic
appears). START opens a bag, SUCCESS / FAILURE close it with that outcome, DISCARD deletes it; the work is
done by :class:`rlhf_recorder.recording.EpisodeRecorder` in its writer thread. The log time of each message is
its receive time (wall clock, ns). Parameters (defaults in config/recorder.yaml):

- ``data_dir`` (str, ``data``): where ``catalog.sqlite`` and ``episodes/<episode_id>/`` go.
- ``topics`` (str[]): topics to record.
- ``events_topic`` (str, ``/episode/events``): rlhf_msgs/EpisodeEvent stream.
- ``qos_depth`` (int, 100): history depth of each reliable subscription.
- ``queue_size`` (int, 1000): messages buffered for the writer thread before callbacks wait.
- ``discovery_period_s`` (float, 1.0): how often missing topics are looked for.
- ``chunk_interval_s`` (float, 1.0): longest log-time span of an MCAP chunk (what a crash can lose).
"""

from __future__ import annotations

import time

import rclpy
from rclpy.executors import ExternalShutdownException
from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy

from rlhf_msgs.msg import EpisodeEvent
from rlhf_recorder import __version__
from rlhf_recorder.bag import offered_qos
from rlhf_recorder.raw_topics import subscribe_appeared
from rlhf_recorder.recording import EpisodeRecorder

DEFAULT_TOPICS = ['/joint_states', '/arm_controller/commands', '/gripper_controller/commands',
                  '/scene_camera/color', '/scene_camera/depth', '/scene_camera/camera_info',
                  '/wrist_camera/color', '/wrist_camera/depth', '/wrist_camera/camera_info', '/rlhf_sim/task_state']
OUTCOME_OF_EVENT = {EpisodeEvent.SUCCESS: 'success', EpisodeEvent.FAILURE: 'failure'}


class RecorderNode(Node):
    def __init__(self, **kwargs) -> None:
        super().__init__('recorder', **kwargs)
        self.declare_parameter('data_dir', 'data')
        self.declare_parameter('topics', DEFAULT_TOPICS)
        self.declare_parameter('events_topic', '/episode/events')
        self.declare_parameter('qos_depth', 100)
        self.declare_parameter('queue_size', 1000)
        self.declare_parameter('discovery_period_s', 1.0)
        self.declare_parameter('chunk_interval_s', 1.0)
        param = self.get_parameter
        self.wanted = [t for t in param('topics').value if t]
        self.qos_depth = int(param('qos_depth').value)
        self.core = EpisodeRecorder(param('data_dir').value, software_version=__version__,
                                    queue_size=int(param('queue_size').value),
                                    chunk_interval_s=float(param('chunk_interval_s').value), logger=self.get_logger())
        if self.core.acquire_data_dir():
            self.core.recover_interrupted()
        self.types: dict[str, str] = {}        # subscribed topic -> type
        self.qos: dict[str, list] = {}         # subscribed topic -> QoS profiles its publishers offered
        self.received: dict[str, int] = {}     # messages received per topic (all time, for diagnostics)
        events_qos = QoSProfile(depth=50, reliability=ReliabilityPolicy.RELIABLE, history=HistoryPolicy.KEEP_LAST)
        self.create_subscription(EpisodeEvent, param('events_topic').value, self._on_event, events_qos)
        self._discover()
        self.create_timer(float(param('discovery_period_s').value), self._discover)
        self.get_logger().info(f'recorder {__version__}: {len(self.wanted)} topics, data in {self.core.data_dir}')

    def _qos_for(self, topic: str) -> QoSProfile:
        # Reliable (no loss) unless a publisher only offers best effort, which a reliable reader cannot match.
        infos = self.get_publishers_info_by_topic(topic)
        best_effort = any(i.qos_profile.reliability == ReliabilityPolicy.BEST_EFFORT for i in infos)
        return QoSProfile(depth=self.qos_depth, history=HistoryPolicy.KEEP_LAST, durability=DurabilityPolicy.VOLATILE,
                          reliability=ReliabilityPolicy.BEST_EFFORT if best_effort else ReliabilityPolicy.RELIABLE)

    def _discover(self) -> None:
        for topic in subscribe_appeared(self, self.wanted, self.types, self._on_message, self._qos_for):
            msgtype = self.types[topic]
            self.qos[topic] = [offered_qos(i.qos_profile) for i in self.get_publishers_info_by_topic(topic)]
            self.received[topic] = 0
            self.core.add_topic(topic, msgtype, self.qos[topic])
            self.get_logger().info(f'subscribed to {topic} ({msgtype})')

    def _on_message(self, topic: str, data: bytes) -> None:
        self.received[topic] += 1
        self.core.message(topic, data, time.time_ns())

    def _on_event(self, msg: EpisodeEvent) -> None:
        if msg.event == EpisodeEvent.START:
            self._discover()
            metadata = {'episode_id': msg.episode_id, 'task': msg.task, 'operator_name': msg.operator_name,
                        'device': msg.device, 'seed': int(msg.seed), 'is_sim': bool(msg.is_sim), 'robot': msg.robot,
                        'note': msg.note}
            missing = [t for t in self.wanted if t not in self.types]
            try:
                self.core.start(metadata, dict(self.types), missing, self.qos)
            except ValueError as err:
                self.get_logger().error(f'START ignored: {err}')
                return
            self.get_logger().info(f'episode {msg.episode_id} started ({msg.task}, {msg.device})')
        elif msg.event in OUTCOME_OF_EVENT:
            self.core.finish(OUTCOME_OF_EVENT[msg.event], msg.episode_id)
        elif msg.event == EpisodeEvent.DISCARD:
            self.core.discard(msg.episode_id)
        else:
            self.get_logger().warn(f'unknown episode event {msg.event} on the events topic')

    def destroy_node(self) -> None:
        self.core.shutdown()
        super().destroy_node()


def main(args=None) -> None:
    rclpy.init(args=args)
    node = RecorderNode()
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
