# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""The recorder node over real DDS: publishers in this process, the recorder in-process or as a subprocess."""

import os
from pathlib import Path
import signal
import sqlite3
import subprocess
import sys
import time

from conftest import wait_for
import numpy as np
import rclpy
from rclpy.parameter import Parameter
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import Image, JointState
from std_msgs.msg import Float64MultiArray
import yaml

from rlhf_msgs.msg import EpisodeEvent, RecorderStatus
from rlhf_recorder import __version__
from rlhf_recorder.bag import metadata_version
from rlhf_recorder.catalog import Catalog
from rlhf_recorder.reader import episode_info, read_episode, read_messages

JOINTS = [f'panda_joint{i}' for i in range(1, 8)] + ['panda_finger_joint1', 'panda_finger_joint2']
TOPICS = ['/joint_states', '/arm_controller/commands', '/scene_camera/color', '/never/published', '/late/commands']
RELIABLE = QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE)


def qos_in_words(value):
    """offered_qos_profiles of either metadata version as version 9 writes them (policies as rmw's words)."""
    if not isinstance(value, str):
        return value
    words = {'history': ['system_default', 'keep_last', 'keep_all', 'unknown'],
             'reliability': ['system_default', 'reliable', 'best_effort'],
             'durability': ['system_default', 'transient_local', 'volatile'],
             'liveliness': ['system_default', 'automatic', 'manual_by_node', 'manual_by_topic']}
    return [{k: words[k][v] if k in words else v for k, v in profile.items()} for profile in yaml.safe_load(value)]


class Publishers:
    """What the sim and the teleop node publish, at the ROS topic boundary."""

    def __init__(self, context):
        self.node = rclpy.create_node('fake_robot', context=context)
        self.joints = self.node.create_publisher(JointState, '/joint_states', RELIABLE)
        self.arm = self.node.create_publisher(Float64MultiArray, '/arm_controller/commands', RELIABLE)
        self.color = self.node.create_publisher(Image, '/scene_camera/color', RELIABLE)
        self.events = self.node.create_publisher(EpisodeEvent, '/episode/events', QoSProfile(depth=20))
        self.status = []   # what the recorder says on /recorder/status
        self.node.create_subscription(RecorderStatus, '/recorder/status', self.status.append,
                                      QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE,
                                                 durability=DurabilityPolicy.TRANSIENT_LOCAL))

    def all_matched(self):
        return all(p.get_subscription_count() > 0 for p in (self.joints, self.arm, self.color, self.events))

    def event(self, kind, episode_id, **fields):
        msg = EpisodeEvent(event=kind, episode_id=episode_id, task='pick_place', operator_name='tester',
                           device='expert', seed=fields.get('seed', 5), is_sim=True, robot='franka_panda')
        self.events.publish(msg)

    def joint_state(self, i):
        self.joints.publish(JointState(name=JOINTS, position=[float(i)] * 9, velocity=[0.5 * i] * 9))

    def arm_command(self, i):
        self.arm.publish(Float64MultiArray(data=[float(i)] * 7))

    def image(self, i):
        data = np.full((6, 8, 3), i % 256, dtype=np.uint8)
        self.color.publish(Image(height=6, width=8, encoding='rgb8', step=24, data=data.tobytes()))


def test_episode_recorded_in_process_and_discard_leaves_nothing(context, spinning, tmp_path):
    from rlhf_recorder.recorder_node import RecorderNode

    pubs = Publishers(context)
    spinning(pubs.node)
    recorder = spinning(RecorderNode(context=context, parameter_overrides=[
        Parameter('data_dir', value=str(tmp_path)), Parameter('topics', value=TOPICS),
        Parameter('discovery_period_s', value=0.2)]))
    wait_for(lambda: len(recorder.types) == 3 and pubs.all_matched(), what='recorder subscriptions')

    pubs.event(EpisodeEvent.START, 'ep_ok')
    wait_for(lambda: recorder.core.recording == 'ep_ok', what='START')
    for i in range(40):
        pubs.joint_state(i)
        if i % 4 == 0:
            pubs.arm_command(i // 4)
        if i % 8 == 0:
            pubs.image(i // 8)
        time.sleep(0.005)
    wait_for(lambda: recorder.received['/joint_states'] == 40, what='all joint states received')
    # A topic that appears only during the episode is found by the periodic discovery and recorded from then on.
    late = pubs.node.create_publisher(Float64MultiArray, '/late/commands', RELIABLE)
    wait_for(lambda: '/late/commands' in recorder.types and late.get_subscription_count() > 0, what='late topic')
    for i in range(3):
        late.publish(Float64MultiArray(data=[float(i)]))
    wait_for(lambda: recorder.received['/late/commands'] == 3, what='late topic messages')
    pubs.event(EpisodeEvent.SUCCESS, 'ep_ok')
    catalog = Catalog(tmp_path)
    wait_for(lambda: catalog.list(status='complete'), what='episode in the catalog')

    record = catalog.get('ep_ok')
    assert record.outcome == 'success' and record.task == 'pick_place' and record.device == 'expert'
    assert record.seed == 5 and record.is_sim and record.robot == 'franka_panda'
    assert record.software_version == __version__ and record.duration_s > 0
    assert record.message_counts == {'/joint_states': 40, '/arm_controller/commands': 10, '/scene_camera/color': 5,
                                     '/late/commands': 3}
    bag = Path(record.path)
    assert bag == tmp_path / 'episodes' / 'ep_ok'
    # metadata.yaml as rosbag2 of this distribution writes it: its name, and the QoS the publishers offered
    # (as DDS discovery reports them: history is not advertised, so rosbag2 too records 'unknown', depth 0).
    bag_info = yaml.safe_load((bag / 'metadata.yaml').read_text())['rosbag2_bagfile_information']
    assert bag_info['ros_distro'] == os.environ['ROS_DISTRO']
    assert bag_info['version'] == metadata_version(os.environ['ROS_DISTRO'])
    offered = {t['topic_metadata']['name']: qos_in_words(t['topic_metadata']['offered_qos_profiles'])
               for t in bag_info['topics_with_message_count']}
    assert offered['/joint_states'] == [{
        'history': 'unknown', 'depth': 0, 'reliability': 'reliable', 'durability': 'volatile',
        'deadline': {'sec': 9223372036, 'nsec': 854775807}, 'lifespan': {'sec': 9223372036, 'nsec': 854775807},
        'liveliness': 'automatic', 'liveliness_lease_duration': {'sec': 9223372036, 'nsec': 854775807},
        'avoid_ros_namespace_conventions': False}]
    assert len(offered['/late/commands']) == 1 and offered['/late/commands'][0]['reliability'] == 'reliable'
    info = episode_info(bag)
    assert info['counts'] == record.message_counts
    assert info['metadata']['missing_topics'] == ['/never/published']
    assert info['metadata']['missing_topics_at_start'] == ['/late/commands', '/never/published']
    assert [m.data[0] for _, _, m in read_messages(bag, ['/late/commands'])] == [0.0, 1.0, 2.0]
    assert info['metadata']['queue_overflows'] == 0 and info['metadata']['operator_name'] == 'tester'
    positions = [m.position[0] for _, _, m in read_messages(bag, ['/joint_states'])]
    assert positions == [float(i) for i in range(40)]
    commands = [m.data[0] for _, _, m in read_messages(bag, ['/arm_controller/commands'])]
    assert commands == [float(i) for i in range(10)]
    ep = read_episode(bag, rate_hz=50.0)
    assert ep.images['scene_camera'].shape[1:] == (6, 8, 3)
    assert set(np.unique(ep.images['scene_camera'])) <= set(range(5))
    assert ep.joint_names == JOINTS

    # A discarded episode leaves no directory and no catalog row.
    pubs.event(EpisodeEvent.START, 'ep_discarded')
    wait_for(lambda: recorder.core.recording == 'ep_discarded', what='second START')
    for i in range(10):
        pubs.joint_state(i)
    wait_for(lambda: recorder.received['/joint_states'] == 50, what='joint states of the discarded episode')
    assert recorder.core.flush(10.0)
    assert (tmp_path / 'episodes' / 'ep_discarded').is_dir()
    pubs.event(EpisodeEvent.DISCARD, 'ep_discarded')
    wait_for(lambda: recorder.core.recording is None, what='DISCARD')
    assert recorder.core.flush(10.0)
    assert sorted(p.name for p in (tmp_path / 'episodes').iterdir()) == ['ep_ok']
    assert [r.episode_id for r in catalog.list()] == ['ep_ok']


def _catalog_rows(data_dir):
    path = Path(data_dir) / 'catalog.sqlite'
    if not path.exists():
        return {}
    try:
        with sqlite3.connect(path, timeout=5) as db:
            return dict(db.execute('SELECT episode_id, status FROM episodes').fetchall())
    except sqlite3.OperationalError:
        return {}


def _start_recorder(data_dir, log_path):
    cmd = [sys.executable, '-m', 'rlhf_recorder.recorder_node', '--ros-args',
           '-p', f'data_dir:={data_dir}', '-p', 'topics:=[/joint_states]', '-p', 'chunk_interval_s:=0.2',
           '-p', 'discovery_period_s:=0.2']
    return subprocess.Popen(cmd, stdout=open(log_path, 'ab'), stderr=subprocess.STDOUT, env=dict(os.environ))


def test_kill_9_mid_episode_keeps_earlier_episode_and_marks_interrupted_incomplete(context, spinning, tmp_path):
    pubs = Publishers(context)
    spinning(pubs.node)
    log = tmp_path / 'recorder.log'
    data_dir = tmp_path / 'data'
    proc = _start_recorder(data_dir, log)
    try:
        wait_for(lambda: pubs.joints.get_subscription_count() > 0 and pubs.events.get_subscription_count() > 0,
                 timeout=30, what='recorder subprocess subscriptions')
        pubs.event(EpisodeEvent.START, 'ep_a')
        wait_for(lambda: _catalog_rows(data_dir).get('ep_a') == 'recording', what='episode A recording')
        for i in range(30):
            pubs.joint_state(i)
            time.sleep(0.01)
        # the joint states and the (separately delivered) SUCCESS are two streams: stop once all 30 arrived
        wait_for(lambda: pubs.status and pubs.status[-1].episode_messages == 30, timeout=60,
                 what='30 joint states at the recorder')
        pubs.event(EpisodeEvent.SUCCESS, 'ep_a')
        wait_for(lambda: _catalog_rows(data_dir).get('ep_a') == 'complete', what='episode A complete')

        pubs.event(EpisodeEvent.START, 'ep_b')
        wait_for(lambda: _catalog_rows(data_dir).get('ep_b') == 'recording', what='episode B recording')
        bag_b = data_dir / 'episodes' / 'ep_b'
        empty = sum(f.stat().st_size for f in bag_b.glob('*.mcap'))
        for i in range(100):  # 1 s of joint states: 0.2 s chunks reach the disk as they close
            pubs.joint_state(i)
            time.sleep(0.01)
        wait_for(lambda: sum(f.stat().st_size for f in bag_b.glob('*.mcap')) > empty, timeout=60,
                 what='a chunk of episode B on disk')
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)

    bag_a, bag_b = data_dir / 'episodes' / 'ep_a', data_dir / 'episodes' / 'ep_b'
    assert episode_info(bag_a)['counts'] == {'/joint_states': 30}
    assert not (bag_b / 'metadata.yaml').exists()
    assert _catalog_rows(data_dir)['ep_b'] == 'recording'

    proc = _start_recorder(data_dir, log)
    try:
        wait_for(lambda: _catalog_rows(data_dir).get('ep_b') == 'incomplete', timeout=30,
                 what='interrupted episode marked incomplete after restart')
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
    record = Catalog(data_dir).get('ep_b')
    assert record.outcome == 'incomplete' and 'recovered' in record.note, log.read_text()
    positions = [m.position[0] for _, _, m in read_messages(bag_b, ['/joint_states'])]
    assert 0 < len(positions) <= 100
    assert positions == [float(i) for i in range(len(positions))]  # a prefix, nothing reordered or invented
    assert episode_info(bag_b)['metadata']['outcome'] == 'incomplete'
    assert Catalog(data_dir).get('ep_a').status == 'complete'
    assert [m.position[0] for _, _, m in read_messages(bag_a)] == [float(i) for i in range(30)]
