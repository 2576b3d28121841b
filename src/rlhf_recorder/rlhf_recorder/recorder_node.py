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
- ``required_topics`` (str[], []): topics that must be flowing for the recorder to be ready ([] = every topic).
- ``stream_timeout_s`` (float, 1.0): a topic is flowing when it delivered a message within this many seconds.
- ``status_rate_hz`` (float, 5.0): ``/recorder/status`` (rlhf_msgs/RecorderStatus) rate; teleop and the evaluator
  start an episode only once it says ready, and name the silent topics otherwise.
- ``record_whole_run`` (bool, false): record the whole run as one episode, opened once the recorder is ready and
  closed at shutdown (a deployment, where nothing announces episodes).
- ``whole_run_task`` (str, ''): the task that episode's metadata names (the deployment's task or song).

SIGINT / SIGTERM close the open episode (its bag gets its metadata.yaml, its catalog row an outcome).
"""

from __future__ import annotations

from datetime import datetime, timezone
import sys
import time

from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy

from rlhf_common import topics as graph_topics
from rlhf_common.node import declare_parameters, run_node
from rlhf_msgs.msg import EpisodeEvent, RecorderStatus
from rlhf_recorder import __version__
from rlhf_recorder.bag import offered_qos
from rlhf_recorder.raw_topics import subscribe_appeared
from rlhf_recorder.recording import EpisodeRecorder

DEFAULT_TOPICS = [graph_topics.JOINT_STATES, graph_topics.ARM_COMMANDS, graph_topics.GRIPPER_COMMANDS,
                  *graph_topics.camera_topics('scene_camera'), *graph_topics.camera_topics('wrist_camera'),
                  graph_topics.TASK_STATE]
PARAMETERS = {
    'data_dir': 'data',
    'topics': DEFAULT_TOPICS,
    'events_topic': graph_topics.EPISODE_EVENTS,
    'status_topic': graph_topics.RECORDER_STATUS,
    'qos_depth': 100,
    'queue_size': 1000,
    'discovery_period_s': 1.0,
    'chunk_interval_s': 1.0,
    'required_topics': [''],
    'stream_timeout_s': 1.0,
    'status_rate_hz': 5.0,
    'record_whole_run': False,
    'whole_run_task': '',
}
OUTCOME_OF_EVENT = {EpisodeEvent.SUCCESS: 'success', EpisodeEvent.FAILURE: 'failure'}


def silent_topics(required, last_received, now, timeout_s):
    """The required topics without a message within ``timeout_s`` of ``now`` (never received counts), in order."""
    return [t for t in required if now - last_received.get(t, float('-inf')) > timeout_s]


class RecorderNode(Node):
    def __init__(self, **kwargs) -> None:
        super().__init__('recorder', **kwargs)
        p = self.p = declare_parameters(self, PARAMETERS)
        self.wanted = [t for t in p['topics'] if t]
        required = [t for t in p['required_topics'] if t]
        unknown = [t for t in required if t not in self.wanted]
        if unknown:
            raise ValueError(f'parameter required_topics: {unknown} are not in topics {self.wanted}')
        self.required = required or list(self.wanted)
        if p['stream_timeout_s'] <= 0 or p['status_rate_hz'] <= 0:
            raise ValueError('parameters stream_timeout_s and status_rate_hz: expected > 0, got '
                             f'{p["stream_timeout_s"]} and {p["status_rate_hz"]}')
        self.qos_depth = int(p['qos_depth'])
        self.core = EpisodeRecorder(p['data_dir'], software_version=__version__, queue_size=int(p['queue_size']),
                                    chunk_interval_s=float(p['chunk_interval_s']), logger=self.get_logger())
        if self.core.acquire_data_dir():
            self.core.recover_interrupted()
        self.types: dict[str, str] = {}        # subscribed topic -> type
        self.qos: dict[str, list] = {}         # subscribed topic -> QoS profiles its publishers offered
        self.received: dict[str, int] = {}     # messages received per topic (all time, for diagnostics)
        self.last_received: dict[str, float] = {}   # topic -> monotonic time of its last message
        self.episode_messages = 0              # received since the current episode started
        events_qos = QoSProfile(depth=50, reliability=ReliabilityPolicy.RELIABLE, history=HistoryPolicy.KEEP_LAST)
        self.create_subscription(EpisodeEvent, p['events_topic'], self._on_event, events_qos)
        # The last status stays available to late subscribers (teleop starting after the recorder).
        status_qos = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE,
                                durability=DurabilityPolicy.TRANSIENT_LOCAL, history=HistoryPolicy.KEEP_LAST)
        self.status_pub = self.create_publisher(RecorderStatus, p['status_topic'], status_qos)
        self._discover()
        self.create_timer(float(p['discovery_period_s']), self._discover)
        self.create_timer(1.0 / p['status_rate_hz'], self._publish_status)
        self.get_logger().info(f'recorder {__version__}: {len(self.wanted)} topics, data in {self.core.data_dir}'
                               + (' (the whole run is one episode)' if p['record_whole_run'] else ''))

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
        self.last_received[topic] = time.monotonic()
        if self.core.recording is not None:
            self.episode_messages += 1
        self.core.message(topic, data, time.time_ns())

    def silent(self) -> list[str]:
        return silent_topics(self.required, self.last_received, time.monotonic(), self.p['stream_timeout_s'])

    def _publish_status(self) -> None:
        silent = self.silent()
        if self.p['record_whole_run'] and not silent and self.core.recording is None and not self.core.saved:
            self._start(f'{datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S")}_run', task=self.p['whole_run_task'],
                        device='policy')
        recording = self.core.recording
        msg = RecorderStatus(ready=not silent, silent_topics=silent, stream_timeout_s=float(self.p['stream_timeout_s']),
                             episode_id=recording or '', episode_messages=self.episode_messages if recording else 0)
        msg.header.stamp = self.get_clock().now().to_msg()
        self.status_pub.publish(msg)

    def _start(self, episode_id, **metadata) -> None:
        self._discover()
        metadata = {'episode_id': episode_id, 'task': '', 'operator_name': '', 'device': '', 'seed': -1,
                    'is_sim': False, 'robot': '', 'note': '', **metadata}
        missing = [t for t in self.wanted if t not in self.types]
        self.episode_messages = 0
        try:
            self.core.start(metadata, dict(self.types), missing, self.qos)
        except ValueError as err:
            self.get_logger().error(f'START ignored: {err}')
            return
        silent = self.silent()
        self.get_logger().info(f'episode {episode_id} started ({metadata["task"] or "no task"}, '
                               f'{metadata["device"] or "no device"})'
                               + (f'; no data yet on {silent}' if silent else ''))

    def _on_event(self, msg: EpisodeEvent) -> None:
        if msg.event == EpisodeEvent.START:
            self._start(msg.episode_id, task=msg.task, operator_name=msg.operator_name, device=msg.device,
                        seed=int(msg.seed), is_sim=bool(msg.is_sim), robot=msg.robot, note=msg.note)
        elif msg.event in OUTCOME_OF_EVENT:
            self.core.finish(OUTCOME_OF_EVENT[msg.event], msg.episode_id)
        elif msg.event == EpisodeEvent.DISCARD:
            self.core.discard(msg.episode_id)
        else:
            self.get_logger().warn(f'unknown episode event {msg.event} on the events topic')

    def close(self) -> None:
        """Close the open episode (as incomplete) and stop the writer thread."""
        self.core.shutdown()


def main(args=None):
    return run_node(RecorderNode, args, prog='recorder', description=__doc__, parameters=PARAMETERS)


if __name__ == '__main__':
    sys.exit(main())
