# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""EpisodeBagWriter + read_episode on synthetic streams with known log times (alignment rule, decoding)."""

import json

from mcap.reader import make_reader
from mcap_ros2.decoder import DecoderFactory
import numpy as np
import pytest
import yaml

from rlhf_recorder.bag import (
    EpisodeBagWriter,
    mcap_path,
    metadata_version,
    offered_qos,
    read_episode_metadata,
    recover_bag,
    running_distro,
)
from rlhf_recorder.reader import (
    EpisodeReadError,
    camera_names,
    episode_info,
    read_episode,
)

MS = 1_000_000
T0 = 1_700_000_000 * 10**9  # episode start (the recorder's START time)
JOINTS = [f'panda_joint{i}' for i in range(1, 8)] + ['panda_finger_joint1', 'panda_finger_joint2']
TOPICS = {
    '/scene_camera/color': 'sensor_msgs/msg/Image',
    '/scene_camera/depth': 'sensor_msgs/msg/Image',
    '/joint_states': 'sensor_msgs/msg/JointState',
    '/arm_controller/commands': 'std_msgs/msg/Float64MultiArray',
    '/gripper_controller/commands': 'std_msgs/msg/Float64MultiArray',
    '/rlhf_sim/task_state': 'rlhf_msgs/msg/TaskState',
}
# Known log times (ms after T0). Every message carries its own index in its payload.
CAMERA_MS = [20, 53, 86, 120, 153, 186, 220, 253, 286, 320]
JOINT_MS = list(range(5, 400, 10))         # 5, 15, ..., 395
ARM_MS = [0, 33, 66, 100, 133, 166, 200, 233, 266, 300]
GRIPPER_MS = [1, 34, 67, 101, 134, 167, 201, 234, 267, 301]
TASK_MS = [30, 130, 230]


def write_synthetic(msgs, path, topics=TOPICS, outcome='success'):
    """Write the streams above; returns the closing summary."""
    writer = EpisodeBagWriter(path, topics, {'task': 'pick_place', 'start_time_ns': T0, 'seed': 7, 'is_sim': True})
    events = []
    for i, ms in enumerate(CAMERA_MS):
        color = np.full((4, 5, 3), i, dtype=np.uint8)
        color[..., 1] = 100 + i
        events.append((ms, '/scene_camera/color', msgs.image(color, 'rgb8')))
        events.append((ms, '/scene_camera/depth', msgs.image(np.full((4, 5), 0.5 + i, dtype=np.float32), '32FC1')))
    for i, ms in enumerate(JOINT_MS):
        events.append((ms, '/joint_states', msgs.joint_state(JOINTS, np.full(9, float(i)), np.full(9, -float(i)))))
    for i, ms in enumerate(ARM_MS):
        events.append((ms, '/arm_controller/commands', msgs.command(np.full(7, float(i)))))
    for i, ms in enumerate(GRIPPER_MS):
        events.append((ms, '/gripper_controller/commands', msgs.command([0.04 - i * 0.001])))
    for i, ms in enumerate(TASK_MS):
        events.append((ms, '/rlhf_sim/task_state', msgs.task_state(0.25 * i, i == 2, (i, 10 + i, 20 + i),
                                                                   (-i, -10 - i, 0.5))))
    for ms, topic, data in sorted(events, key=lambda e: e[0]):
        if topic in topics:
            writer.write(topic, data, T0 + ms * MS)
    return writer.close(outcome, end_time_ns=T0 + 400 * MS)


def latest_at_or_before(stream_ms, t_ms):
    return max(i for i, s in enumerate(stream_ms) if s <= t_ms)


def first_at_or_after(stream_ms, t_ms):
    return min(i for i, s in enumerate(stream_ms) if s >= t_ms)


@pytest.fixture
def bag(msgs, tmp_path):
    path = tmp_path / 'ep_0001'
    write_synthetic(msgs, path)
    return path


def test_bag_layout_and_metadata_are_rosbag2_compatible(msgs, tmp_path):
    path = tmp_path / 'ep_0001'
    summary = write_synthetic(msgs, path)
    assert sorted(p.name for p in path.iterdir()) == ['ep_0001_0.mcap', 'metadata.yaml']
    info = yaml.safe_load((path / 'metadata.yaml').read_text())['rosbag2_bagfile_information']
    assert info['storage_identifier'] == 'mcap'
    assert info['version'] == metadata_version(running_distro())
    assert info['relative_file_paths'] == ['ep_0001_0.mcap']
    counts = {t['topic_metadata']['name']: t['message_count'] for t in info['topics_with_message_count']}
    assert counts['/scene_camera/color'] == len(CAMERA_MS)
    assert counts['/joint_states'] == len(JOINT_MS)
    assert info['message_count'] == 2 * len(CAMERA_MS) + len(JOINT_MS) + len(ARM_MS) + len(GRIPPER_MS) + len(TASK_MS)
    custom = json.loads(info['custom_data']['rlhf_episode'])
    assert custom['task'] == 'pick_place' and custom['seed'] == 7 and custom['is_sim'] is True
    assert custom['outcome'] == 'success'
    assert custom['duration_s'] == pytest.approx(0.4)
    assert summary['message_counts']['/rlhf_sim/task_state'] == len(TASK_MS)
    assert read_episode_metadata(path)['outcome'] == 'success'
    # The independent `mcap` library reads the file with its summary (channels, schemas, every message).
    with open(mcap_path(path), 'rb') as stream:
        reader = make_reader(stream)
        summary_section = reader.get_summary()
        assert {c.topic for c in summary_section.channels.values()} == set(TOPICS)
        assert {s.name for s in summary_section.schemas.values()} >= {'rlhf_msgs/msg/TaskState',
                                                                       'sensor_msgs/msg/Image'}
        assert sum(1 for _ in reader.iter_messages()) == info['message_count']
    # ... and decodes every message from the schemas embedded in the file (as Foxglove does), our TaskState too.
    with open(mcap_path(path), 'rb') as stream:
        decoded = {}
        for _, channel, _, msg in make_reader(stream, decoder_factories=[DecoderFactory()]).iter_decoded_messages():
            decoded.setdefault(channel.topic, []).append(msg)
    assert [m.progress for m in decoded['/rlhf_sim/task_state']] == [0.0, 0.25, 0.5]
    assert [m.position[0] for m in decoded['/joint_states']] == [float(i) for i in range(len(JOINT_MS))]
    assert decoded['/scene_camera/color'][3].encoding == 'rgb8'


class _Duration:
    def __init__(self, nanoseconds):
        self.nanoseconds = nanoseconds


class _Profile:
    """What rclpy's get_publishers_info_by_topic reports for a sensor-data publisher (rmw's numbers)."""

    history, depth, reliability, durability, liveliness = 3, 0, 2, 2, 1   # unknown, 0, best effort, volatile, auto
    deadline = lifespan = liveliness_lease_duration = _Duration(2**63 - 1)
    avoid_ros_namespace_conventions = False


@pytest.mark.parametrize('distro, version', [('jazzy', 9), ('humble', 8)])
def test_metadata_names_the_distro_and_the_offered_qos_as_rosbag2_writes_them(msgs, tmp_path, monkeypatch,
                                                                             distro, version):
    monkeypatch.setenv('ROS_DISTRO', distro)
    path = tmp_path / 'ep_qos'
    writer = EpisodeBagWriter(path, {'/scene_camera/color': 'sensor_msgs/msg/Image'}, {'start_time_ns': T0},
                              qos={'/scene_camera/color': [offered_qos(_Profile())]})
    writer.add_topic('/joint_states', 'sensor_msgs/msg/JointState')   # no publisher known: no profile
    writer.write('/scene_camera/color', msgs.image(np.zeros((2, 2, 3), np.uint8), 'rgb8'), T0)
    writer.close('success')
    info = yaml.safe_load((path / 'metadata.yaml').read_text())['rosbag2_bagfile_information']
    assert info['version'] == version and info['ros_distro'] == distro
    topics = {t['topic_metadata']['name']: t['topic_metadata'] for t in info['topics_with_message_count']}
    infinite = {'sec': 9223372036, 'nsec': 854775807}
    if version == 9:   # Jazzy: a YAML list, policies as rmw's words
        assert topics['/scene_camera/color']['offered_qos_profiles'] == [{
            'history': 'unknown', 'depth': 0, 'reliability': 'best_effort', 'durability': 'volatile',
            'deadline': infinite, 'lifespan': infinite, 'liveliness': 'automatic',
            'liveliness_lease_duration': infinite, 'avoid_ros_namespace_conventions': False}]
        assert topics['/joint_states']['offered_qos_profiles'] == []
    else:              # Humble reads one YAML string with rmw's numbers
        assert yaml.safe_load(topics['/scene_camera/color']['offered_qos_profiles']) == [{
            'history': 3, 'depth': 0, 'reliability': 2, 'durability': 2, 'deadline': infinite,
            'lifespan': infinite, 'liveliness': 1, 'liveliness_lease_duration': infinite,
            'avoid_ros_namespace_conventions': False}]
        assert topics['/joint_states']['offered_qos_profiles'] == ''
    assert topics['/scene_camera/color']['type_description_hash'].startswith('RIHS01_')
    # The copy inside the MCAP file (as rosbag2's MCAP storage keeps one) says the same.
    with open(mcap_path(path), 'rb') as stream:
        embedded = make_reader(stream).iter_metadata()
        inner = yaml.safe_load(next(m for m in embedded if m.name == 'rosbag2').metadata['serialized_metadata'])
    assert inner['ros_distro'] == distro and inner['version'] == version
    # A recovered bag keeps the profiles its channels carried.
    (path / 'metadata.yaml').unlink()
    recover_bag(path)
    recovered = yaml.safe_load((path / 'metadata.yaml').read_text())['rosbag2_bagfile_information']
    again = {t['topic_metadata']['name']: t['topic_metadata'] for t in recovered['topics_with_message_count']}
    assert again['/scene_camera/color']['offered_qos_profiles'] == topics['/scene_camera/color']['offered_qos_profiles']


def test_alignment_rule_on_known_timestamps(bag):
    ep = read_episode(bag, rate_hz=10.0)
    # Grid starts when every observation stream has a message: camera 20 ms, joints 5 ms, task state 30 ms.
    # It ends at the earliest last command: arm 300 ms, gripper 301 ms -> 30, 130, 230 ms.
    np.testing.assert_allclose(ep.times, [0.030, 0.130, 0.230])
    for row, t_ms in enumerate([30, 130, 230]):
        cam = latest_at_or_before(CAMERA_MS, t_ms)
        assert ep.images['scene_camera'][row, 0, 0, 0] == cam
        assert ep.images['scene_camera'][row, 0, 0, 1] == 100 + cam
        assert ep.depth['scene_camera'][row, 0, 0] == pytest.approx(0.5 + cam)
        joint = latest_at_or_before(JOINT_MS, t_ms)
        np.testing.assert_array_equal(ep.joint_positions[row], np.full(9, float(joint)))
        np.testing.assert_array_equal(ep.joint_velocities[row], np.full(9, -float(joint)))
        np.testing.assert_array_equal(ep.actions[row, :7], np.full(7, float(first_at_or_after(ARM_MS, t_ms))))
        assert ep.actions[row, 7] == pytest.approx(0.04 - 0.001 * first_at_or_after(GRIPPER_MS, t_ms))
        assert ep.task_progress[row] == pytest.approx(0.25 * latest_at_or_before(TASK_MS, t_ms))
    # Written out by hand for t = 130 ms: camera 120 ms (#3), joints 125 ms (#12), arm 133 ms (#4), gripper 134 (#4).
    assert ep.images['scene_camera'][1, 0, 0, 0] == 3
    assert ep.joint_positions[1, 0] == 12.0
    assert ep.actions[1, 0] == 4.0
    # Task state at 230 ms is its third message (success true), exactly at the grid time: "at or before" includes it.
    assert list(ep.task_success) == [False, False, True]
    assert ep.joint_names == JOINTS
    assert ep.metadata['task'] == 'pick_place'


def test_alignment_at_higher_rate_matches_brute_force(bag):
    ep = read_episode(bag, rate_hz=30.0)
    assert ep.times[0] == pytest.approx(0.030)
    assert ep.times[-1] <= 0.300 + 1e-9
    assert len(ep.times) == int((300 - 30) / (1000 / 30)) + 1
    for row, t in enumerate(ep.times):
        t_ms = t * 1000
        assert ep.images['scene_camera'][row, 0, 0, 0] == latest_at_or_before(CAMERA_MS, t_ms + 1e-6)
        assert ep.joint_positions[row, 0] == latest_at_or_before(JOINT_MS, t_ms + 1e-6)
        assert ep.actions[row, 0] == first_at_or_after(ARM_MS, t_ms - 1e-6)


def test_equal_timestamps_count_as_at_or_before_and_at_or_after(bag):
    # Window starting exactly on a camera message (120 ms) and an arm command (100 ms + 3 * 33 ms != 120).
    ep = read_episode(bag, rate_hz=1000 / 33.0, start_s=0.120, end_s=0.2)
    assert ep.times[0] == pytest.approx(0.120)
    assert ep.images['scene_camera'][0, 0, 0, 0] == CAMERA_MS.index(120)
    # 153 ms is the second grid point: camera message #4 arrives exactly then, arm command #5 (166 ms) follows.
    assert ep.times[1] == pytest.approx(0.153)
    assert ep.images['scene_camera'][1, 0, 0, 0] == CAMERA_MS.index(153)
    window = read_episode(bag, rate_hz=10.0, start_s=0.100, end_s=0.100)
    assert window.times.tolist() == pytest.approx([0.100])
    assert window.actions[0, 0] == ARM_MS.index(100)  # command exactly at t is the action at t


def test_window_and_images_false(bag):
    ep = read_episode(bag, rate_hz=10.0, start_s=0.1, end_s=0.25, images=False)
    np.testing.assert_allclose(ep.times, [0.1, 0.2])
    assert ep.images == {} and ep.depth == {}
    assert ep.actions.shape == (2, 8)
    empty = read_episode(bag, rate_hz=10.0, start_s=0.35)
    assert empty.times.shape == (0,) and empty.actions.shape == (0, 8)


def test_missing_gripper_stream_gives_nan_and_does_not_limit_grid(msgs, tmp_path):
    topics = {k: v for k, v in TOPICS.items() if k != '/gripper_controller/commands'}
    path = tmp_path / 'no_gripper'
    write_synthetic(msgs, path, topics=topics)
    ep = read_episode(path, rate_hz=10.0)
    np.testing.assert_allclose(ep.times, [0.030, 0.130, 0.230])
    assert np.isnan(ep.actions[:, 7]).all()
    assert not np.isnan(ep.actions[:, :7]).any()


def test_image_encodings(msgs, tmp_path):
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 255, size=(3, 4, 3), dtype=np.uint8)
    depth_mm = np.array([[0, 1000, 2500, 65535]] * 3, dtype=np.uint16)
    topics = {'/cam_a/color': 'sensor_msgs/msg/Image', '/cam_a/depth': 'sensor_msgs/msg/Image',
              '/cam_b/color': 'sensor_msgs/msg/Image', '/cam_b/depth': 'sensor_msgs/msg/Image',
              '/arm_controller/commands': 'std_msgs/msg/Float64MultiArray'}
    path = tmp_path / 'enc'
    writer = EpisodeBagWriter(path, topics, {'start_time_ns': T0})
    writer.write('/cam_a/color', msgs.image(rgb[:, :, ::-1], 'bgr8', step=16), T0)  # padded rows
    writer.write('/cam_a/depth', msgs.image(depth_mm, '16UC1'), T0)
    writer.write('/cam_b/color', msgs.image(rgb, 'rgb8'), T0)
    writer.write('/cam_b/depth', msgs.image(np.full((3, 4), 1.25, dtype='>f4'), '32FC1', bigendian=True), T0)
    writer.write('/arm_controller/commands', msgs.command(np.arange(7.0)), T0 + 10 * MS)
    writer.close('failure')
    ep = read_episode(path, rate_hz=10.0)
    assert ep.cameras == ['cam_a', 'cam_b']
    np.testing.assert_array_equal(ep.images['cam_a'][0], rgb)
    np.testing.assert_array_equal(ep.images['cam_b'][0], rgb)
    np.testing.assert_allclose(ep.depth['cam_a'][0], depth_mm / 1000.0)
    assert ep.depth['cam_a'].dtype == np.float32
    np.testing.assert_allclose(ep.depth['cam_b'][0], 1.25)
    assert ep.joint_positions.shape == (1, 0) and ep.task_progress is None
    only_b = read_episode(path, cameras=['cam_b'])
    assert list(only_b.images) == ['cam_b']
    with pytest.raises(EpisodeReadError, match='cam_c'):
        read_episode(path, cameras=['cam_c'])


def test_camera_discovery_from_topics():
    topics = {'/scene_camera/color': 'sensor_msgs/msg/Image', '/wrist_camera/color': 'sensor_msgs/msg/Image',
              '/robot/head/color': 'sensor_msgs/msg/Image', '/only_depth/depth': 'sensor_msgs/msg/Image',
              '/not_image/color': 'std_msgs/msg/String', '/color': 'sensor_msgs/msg/Image'}
    assert camera_names(topics) == ['robot/head', 'scene_camera', 'wrist_camera']


def test_episode_info_and_abort(msgs, tmp_path, bag):
    info = episode_info(bag)
    assert info['counts']['/scene_camera/color'] == len(CAMERA_MS)
    assert info['cameras'] == ['scene_camera']
    assert info['topics']['/rlhf_sim/task_state'] == 'rlhf_msgs/msg/TaskState'
    assert info['duration_s'] == pytest.approx(0.395, abs=1e-6)  # span of the messages in the bag
    assert info['metadata']['outcome'] == 'success'
    doomed = tmp_path / 'doomed'
    writer = EpisodeBagWriter(doomed, TOPICS, {})
    writer.write('/joint_states', msgs.joint_state(JOINTS, np.zeros(9), np.zeros(9)), T0)
    writer.abort()
    assert not doomed.exists()
    with pytest.raises(FileExistsError):
        EpisodeBagWriter(bag, TOPICS, {})


def test_interrupted_bag_is_recovered_up_to_last_flushed_chunk(msgs, tmp_path):
    path = tmp_path / 'crashed'
    writer = EpisodeBagWriter(path, {'/joint_states': 'sensor_msgs/msg/JointState'}, {'task': 'stack'},
                              chunk_interval_s=0.1)
    for i in range(25):  # chunks close every 100 ms of log time: messages 0..19 reach the disk in two chunks
        writer.write('/joint_states', msgs.joint_state(JOINTS, np.full(9, float(i)), np.zeros(9)), T0 + i * 10 * MS)
    # The process dies here: no close(), no metadata.yaml, the last chunk still in memory.
    assert not (path / 'metadata.yaml').exists()
    with pytest.raises(EpisodeReadError, match='interrupted'):
        read_episode(path)
    summary = recover_bag(path, {'task': 'stack'})
    assert summary['outcome'] == 'incomplete'
    ep = read_episode(path, rate_hz=100.0)
    assert ep.metadata['outcome'] == 'incomplete' and ep.metadata['task'] == 'stack'
    flushed = summary['message_counts']['/joint_states']
    assert 10 <= flushed < 25
    np.testing.assert_array_equal(ep.joint_positions[:, 0], np.arange(flushed, dtype=float))
    assert sorted(p.name for p in path.iterdir()) == ['crashed_0.mcap', 'metadata.yaml']


def latest_before(stream_ms, t_ms):
    return max((i for i, s in enumerate(stream_ms) if s < t_ms), default=None)


def test_task_state_positions_and_previous_commands(bag):
    ep = read_episode(bag, rate_hz=1000 / 33.0, images=False)
    assert ep.object_positions.shape == (len(ep.times), 3) and ep.previous_commands.shape == (len(ep.times), 8)
    for row, t in enumerate(ep.times):
        t_ms = t * 1000
        task = latest_at_or_before(TASK_MS, t_ms + 1e-6)
        np.testing.assert_array_equal(ep.object_positions[row], [task, 10 + task, 20 + task])  # the first object
        np.testing.assert_array_equal(ep.target_positions[row], [-task, -10 - task, 0.5])
        arm, gripper = latest_before(ARM_MS, t_ms - 1e-6), latest_before(GRIPPER_MS, t_ms - 1e-6)
        # the command just before the action: what the node last published when its tick reads the observation
        assert arm == first_at_or_after(ARM_MS, t_ms - 1e-6) - 1
        np.testing.assert_array_equal(ep.previous_commands[row, :7], np.full(7, float(arm)))
        assert ep.previous_commands[row, 7] == pytest.approx(0.04 - 0.001 * gripper)
    # by hand, t = 30 ms: task state #0 (30 ms, "at or before"), previous arm #0 (0 ms), gripper #0 (1 ms)
    assert ep.times[0] == pytest.approx(0.030)
    np.testing.assert_array_equal(ep.object_positions[0], [0, 10, 20])
    assert ep.previous_commands[0, 0] == 0.0 and ep.actions[0, 0] == 1.0


def test_previous_command_strictly_before_and_nan_before_the_first(msgs, bag, tmp_path):
    # t = 100 ms: an arm command arrives exactly then -> it is the action, the previous one is #2 (66 ms)
    ep = read_episode(bag, rate_hz=10.0, start_s=0.100, end_s=0.100, images=False)
    assert ep.actions[0, 0] == ARM_MS.index(100) and ep.previous_commands[0, 0] == ARM_MS.index(66)
    # commands that start after the observations: NaN before the first (the node holds its measured pose there)
    topics = {'/joint_states': TOPICS['/joint_states'], '/arm_controller/commands': TOPICS['/arm_controller/commands']}
    writer = EpisodeBagWriter(tmp_path / 'late', topics, {'task': 'pick_place', 'start_time_ns': T0})
    for ms in range(0, 200, 10):
        writer.write('/joint_states', msgs.joint_state(JOINTS, np.zeros(9), np.zeros(9)), T0 + ms * MS)
    for i, ms in enumerate((45, 95, 145, 195)):
        writer.write('/arm_controller/commands', msgs.command(np.full(7, float(i))), T0 + ms * MS + 1)
    writer.close('success', end_time_ns=T0 + 200 * MS)
    late = read_episode(tmp_path / 'late', rate_hz=20.0)
    np.testing.assert_allclose(late.times, np.arange(0, 0.2, 0.05))
    np.testing.assert_array_equal(late.actions[:, 0], [0, 1, 2, 3])
    assert np.isnan(late.previous_commands[0]).all()                  # before the first command
    np.testing.assert_array_equal(late.previous_commands[1:, 0], [0, 1, 2])
    assert np.isnan(late.previous_commands[:, 7]).all()               # gripper never recorded


def test_no_task_state_gives_none(msgs, tmp_path):
    topics = {k: v for k, v in TOPICS.items() if k != '/rlhf_sim/task_state'}
    path = tmp_path / 'no_task'
    write_synthetic(msgs, path, topics=topics)
    ep = read_episode(path, rate_hz=10.0, images=False)
    assert ep.object_positions is None and ep.target_positions is None and ep.task_progress is None
    assert ep.previous_commands.shape == (len(ep.times), 8)
