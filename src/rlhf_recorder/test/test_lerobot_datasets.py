# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""Episodes -> LeRobot v3.0 dataset -> episodes (and LeRobot -> episodes -> LeRobot) on bags with known streams."""

import json

import numpy as np
import pyarrow.parquet as pq
import pytest

from rlhf_recorder.bag import EpisodeBagWriter
from rlhf_recorder.catalog import Catalog, EpisodeRecord
from rlhf_recorder.lerobot_cli import export_main, import_main
from rlhf_recorder.lerobot_export import export_lerobot, select_episodes
from rlhf_recorder.lerobot_format import LeRobotFormatError
from rlhf_recorder.lerobot_import import import_lerobot
from rlhf_recorder.reader import read_episode

MS = 1_000_000
T0 = 1_700_000_000 * 10**9
JOINTS = [f'panda_joint{i}' for i in range(1, 8)] + ['panda_finger_joint1', 'panda_finger_joint2']
TOPICS = {'/scene_camera/color': 'sensor_msgs/msg/Image', '/joint_states': 'sensor_msgs/msg/JointState',
          '/arm_controller/commands': 'std_msgs/msg/Float64MultiArray',
          '/gripper_controller/commands': 'std_msgs/msg/Float64MultiArray',
          '/rlhf_sim/task_state': 'rlhf_msgs/msg/TaskState'}
FPS = 10


def picture(i, h=48, w=64):
    """A smooth image that changes with i (video coding keeps it within a few grey levels)."""
    y, x = np.mgrid[0:h, 0:w]
    image = np.stack([x * 3 + i, y * 5, np.full_like(x, (i * 20) % 256)], axis=-1)   # frames differ in blue
    return image.astype(np.uint8)


def record(msgs, data_dir, episode_id, duration_ms, seed, task='reach', outcome='success'):
    """One episode as the recorder writes it: camera 30 Hz, joints 100 Hz, commands 30 Hz (values not float32)."""
    path = data_dir / 'episodes' / episode_id
    writer = EpisodeBagWriter(path, TOPICS, {'episode_id': episode_id, 'task': task, 'start_time_ns': T0,
                                             'seed': seed, 'operator_name': 'ada', 'device': 'expert'})
    events = []
    for i, ms in enumerate(range(7, duration_ms, 33)):
        events.append((ms, '/scene_camera/color', msgs.image(picture(i), 'rgb8')))
        events.append((ms, '/rlhf_sim/task_state', msgs.task_state(i / 100, i > 20, (0.1 * i, 0.2, 0.3),
                                                                   (0.5, -0.1, 0.05 + i / 3))))
    for i, ms in enumerate(range(0, duration_ms, 10)):
        q = np.linspace(-1, 1, 9) + i / 7
        events.append((ms, '/joint_states', msgs.joint_state(JOINTS, q, q / 3)))
    for i, ms in enumerate(range(12, duration_ms, 33)):
        events.append((ms, '/arm_controller/commands', msgs.command(np.arange(7) / 3 + i / 7 + seed)))
        events.append((ms + 1, '/gripper_controller/commands', msgs.command([0.04 / 3 * (i % 4)])))
    for ms, topic, data in sorted(events, key=lambda e: e[0]):
        writer.write(topic, data, T0 + ms * MS)
    summary = writer.close(outcome, end_time_ns=T0 + duration_ms * MS)
    Catalog(data_dir).add(EpisodeRecord(episode_id=episode_id, path=str(path), task=task, outcome=outcome,
                                        status='complete', duration_s=summary['duration_s'], seed=seed))
    return path


@pytest.fixture
def recorded(msgs, tmp_path):
    data = tmp_path / 'data'
    return data, [record(msgs, data, 'ep_a', 2000, 1), record(msgs, data, 'ep_b', 1500, 2),
                  record(msgs, data, 'ep_fail', 800, 3, outcome='failure')]


def test_export_writes_the_lerobot_v30_layout(recorded, tmp_path):
    data, paths = recorded
    out = tmp_path / 'dataset'
    episodes = select_episodes(data, task='reach', outcome='success')
    assert [p.name for p in episodes] == ['ep_a', 'ep_b']
    summary = export_lerobot(episodes, out, fps=FPS, progress=False)
    lengths = [len(read_episode(p, rate_hz=FPS).times) for p in paths[:2]]
    assert summary['episodes'] == 2 and summary['frames'] == sum(lengths)
    assert sorted(str(p.relative_to(out)) for p in out.rglob('*') if p.is_file()) == [
        'data/chunk-000/file-000.parquet', 'meta/episodes/chunk-000/file-000.parquet', 'meta/info.json',
        'meta/stats.json', 'meta/tasks.parquet', 'videos/observation.images.scene_camera/chunk-000/file-000.mp4']
    info = json.loads((out / 'meta/info.json').read_text())
    assert info['codebase_version'] == 'v3.0' and info['fps'] == FPS and info['total_episodes'] == 2
    assert info['total_frames'] == sum(lengths) and info['total_tasks'] == 1
    assert info['features']['action'] == {'dtype': 'float32', 'shape': [8], 'names': JOINTS[:7] + ['gripper']}
    assert info['features']['observation.state']['names'] == JOINTS
    video = info['features']['observation.images.scene_camera']
    assert video['dtype'] == 'video' and video['shape'] == [48, 64, 3] and video['info']['video.codec'] == 'h264'
    frames = pq.read_table(out / 'data/chunk-000/file-000.parquet').to_pydict()
    assert frames['index'] == list(range(sum(lengths)))
    assert frames['frame_index'] == list(range(lengths[0])) + list(range(lengths[1]))
    np.testing.assert_allclose(frames['timestamp'][:3], [0.0, 0.1, 0.2], atol=1e-7)
    table = pq.read_table(out / 'meta/episodes/chunk-000/file-000.parquet').to_pylist()
    assert [(e['episode_index'], e['length'], e['dataset_from_index'], e['dataset_to_index']) for e in table] == \
        [(0, lengths[0], 0, lengths[0]), (1, lengths[1], lengths[0], sum(lengths))]
    key = 'videos/observation.images.scene_camera/'
    assert table[1][key + 'from_timestamp'] == pytest.approx(lengths[0] / FPS)
    assert table[1][key + 'to_timestamp'] == pytest.approx(sum(lengths) / FPS)
    assert table[0]['tasks'] == ['reach'] and table[0]['rlhf/episode_id'] == 'ep_a'
    stats = json.loads((out / 'meta/stats.json').read_text())
    assert stats['action']['count'] == [sum(lengths)] and len(stats['action']['q99']) == 8
    assert np.array(stats['observation.images.scene_camera']['mean']).shape == (3, 1, 1)
    with pytest.raises(FileExistsError):
        export_lerobot(episodes, out, fps=FPS, progress=False)


def test_round_trip_keeps_frames_timestamps_and_actions_bit_exact(recorded, tmp_path):
    data, paths = recorded
    out, back = tmp_path / 'dataset', tmp_path / 'imported'
    export_lerobot(paths[:2], out, fps=FPS, dtype='float64', progress=False)
    summary = import_lerobot(out, back, outcome='failure', progress=False)
    assert summary['episode_ids'] == ['ep_a', 'ep_b']
    for path in paths[:2]:
        before = read_episode(path, rate_hz=FPS)
        again_path = back / 'episodes' / path.name
        after = read_episode(again_path, rate_hz=FPS)
        assert len(after.times) == len(before.times)
        assert np.abs(after.times - before.times).max() < 1.0 / FPS
        assert np.array_equal(after.actions, before.actions)                 # bit for bit
        assert np.array_equal(after.joint_positions, before.joint_positions)
        assert np.array_equal(after.joint_velocities, before.joint_velocities)
        assert np.array_equal(after.object_positions, before.object_positions)
        assert np.array_equal(after.task_progress, before.task_progress)
        assert np.array_equal(after.task_success, before.task_success)
        assert np.array_equal(after.previous_commands[1:], before.actions[:-1])
        assert after.joint_names == JOINTS
        error = np.abs(after.images['scene_camera'].astype(int) - before.images['scene_camera'].astype(int))
        assert error.mean() < 2.0, error.mean()                               # H.264 is lossy, but close
        assert after.metadata['seed'] == before.metadata['seed'] and after.metadata['operator_name'] == 'ada'
    rows = {r.episode_id: r for r in Catalog(back).list()}
    assert {k: (r.status, r.outcome, r.task) for k, r in rows.items()} == {
        'ep_a': ('complete', 'success', 'reach'), 'ep_b': ('complete', 'success', 'reach')}
    with pytest.raises(LeRobotFormatError, match='ep_a is already in'):
        import_lerobot(out, back, progress=False)


def test_lerobot_float32_dataset_survives_import_and_export_unchanged(recorded, tmp_path):
    data, paths = recorded
    first, second = tmp_path / 'first', tmp_path / 'second'
    assert export_main(['--data-dir', str(data), '--out', str(first), '--fps', str(FPS), '--no-progress']) == 0
    assert import_main(['--dataset', str(first), '--data-dir', str(tmp_path / 'eps'), '--no-progress']) == 0
    assert export_main(['--data-dir', str(tmp_path / 'eps'), '--out', str(second), '--fps', str(FPS),
                        '--no-progress']) == 0
    a = pq.read_table(first / 'data/chunk-000/file-000.parquet')
    b = pq.read_table(second / 'data/chunk-000/file-000.parquet')
    assert a.num_rows == b.num_rows
    for column in ('action', 'observation.state', 'observation.velocity', 'observation.environment_state',
                   'timestamp', 'frame_index', 'episode_index', 'index', 'task_index'):
        assert a.column(column).equals(b.column(column)), column            # float32 values bit for bit


def test_bad_datasets_are_refused_with_the_file_and_field(recorded, tmp_path, capsys):
    data, paths = recorded
    out = tmp_path / 'dataset'
    export_lerobot(paths[:1], out, fps=FPS, progress=False)
    info_path = out / 'meta/info.json'
    info = json.loads(info_path.read_text())
    info_path.write_text(json.dumps({**info, 'codebase_version': 'v2.1'}))
    with pytest.raises(LeRobotFormatError, match=r"info.json: codebase_version 'v2.1', expected 'v3.0'"):
        import_lerobot(out, tmp_path / 'x', progress=False)
    wide = {**info, 'features': {**info['features'], 'action': {'dtype': 'float32', 'shape': [6], 'names': None}}}
    info_path.write_text(json.dumps(wide))
    assert import_main(['--dataset', str(out), '--data-dir', str(tmp_path / 'x'), '--no-progress']) == 2
    assert 'action has 6 values' in capsys.readouterr().err
    assert not (tmp_path / 'x' / 'episodes').exists()
    with pytest.raises(LeRobotFormatError, match='whole number'):
        export_lerobot(paths[:1], tmp_path / 'y', fps=7.5, progress=False)
    assert not (tmp_path / 'y').exists() and not (tmp_path / 'y.partial').exists()


def test_lerobots_own_dataset_class_loads_the_export(recorded, tmp_path):
    lerobot_dataset = pytest.importorskip('lerobot.datasets.lerobot_dataset',
                                          reason='lerobot is not installed (see the rlhf_recorder README)')
    data, paths = recorded
    out = tmp_path / 'dataset'
    export_lerobot(paths[:2], out, fps=FPS, progress=False)
    dataset = lerobot_dataset.LeRobotDataset('local/rlhf_export', root=out)
    before = [read_episode(p, rate_hz=FPS) for p in paths[:2]]
    assert dataset.num_episodes == 2 and len(dataset) == sum(len(ep.times) for ep in before)
    assert dataset.fps == FPS
    last = len(before[0].times) + 3                        # 4th frame of the second episode
    item = dataset[last]
    assert int(item['episode_index']) == 1 and int(item['frame_index']) == 3
    np.testing.assert_array_equal(item['action'].numpy(), before[1].actions[3].astype(np.float32))
    image = item['observation.images.scene_camera'].numpy()    # (3, H, W) float in [0, 1]
    assert image.shape == (3, 48, 64)
    error = np.abs(image.transpose(1, 2, 0) * 255 - before[1].images['scene_camera'][3])
    assert error.mean() < 2.0, error.mean()
    assert item['task'] == 'reach'


def test_a_dataset_written_by_lerobot_imports_as_episodes(tmp_path):
    lerobot_dataset = pytest.importorskip('lerobot.datasets.lerobot_dataset',
                                          reason='lerobot is not installed (see the rlhf_recorder README)')
    features = {'observation.state': {'dtype': 'float32', 'shape': (9,), 'names': JOINTS},
                'action': {'dtype': 'float32', 'shape': (8,), 'names': JOINTS[:7] + ['gripper']},
                'observation.images.front': {'dtype': 'video', 'shape': (48, 64, 3),
                                             'names': ['height', 'width', 'channels']}}
    root = tmp_path / 'by_lerobot'
    dataset = lerobot_dataset.LeRobotDataset.create('local/by_lerobot', fps=FPS, root=root, features=features,
                                                    robot_type='franka_panda', use_videos=True)
    rng = np.random.default_rng(0)
    actions = {}
    for episode, length in enumerate((12, 7)):
        actions[episode] = rng.normal(size=(length, 8)).astype(np.float32)
        for k in range(length):
            dataset.add_frame({'observation.state': np.full(9, k / 10, np.float32), 'action': actions[episode][k],
                               'observation.images.front': picture(k), 'task': 'stack the cubes'})
        dataset.save_episode()
    dataset.finalize()
    summary = import_lerobot(root, tmp_path / 'eps', progress=False)
    assert summary['episodes'] == 2 and summary['cameras'] == ['front']
    for episode, episode_id in enumerate(summary['episode_ids']):
        ep = read_episode(tmp_path / 'eps' / 'episodes' / episode_id, rate_hz=FPS)
        assert len(ep.times) == len(actions[episode])
        np.testing.assert_allclose(ep.times - ep.times[0], np.arange(len(ep.times)) / FPS, atol=1e-9)
        assert np.array_equal(ep.actions, actions[episode].astype(np.float64))
        assert ep.task_progress is None and ep.joint_names == JOINTS
        error = np.abs(ep.images['front'].astype(int) - np.stack([picture(k) for k in range(len(ep.times))]))
        assert error.mean() < 3.0, error.mean()
        assert ep.metadata['task'] == 'stack the cubes'
        assert 'finite differences' in ep.metadata['note']
