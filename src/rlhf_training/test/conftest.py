# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""Fixtures: real episode bags (rlhf_recorder's writer, CDR messages) with known commands, and preference files."""

import json

import numpy as np
import pytest

ARM = [f'panda_joint{i}' for i in range(1, 8)]
JOINTS = ARM + ['panda_finger_joint1', 'panda_finger_joint2']
Q_HOME = np.array([0.0, -0.3, 0.0, -2.2, 0.0, 2.0, 0.8])
MS = 1_000_000
T0 = 1_700_000_000 * 10**9


class EpisodeFactory:
    """Write episodes whose arm stays at q0 while the command is q0 + delta (so the action is delta/max_delta)."""

    def __init__(self, data_dir):
        from rlhf_recorder.msgtypes import make_typestore
        self.data_dir = data_dir
        self.store = make_typestore()
        self.t = self.store.types

    def _header(self):
        return self.t['std_msgs/msg/Header'](stamp=self.t['builtin_interfaces/msg/Time'](sec=0, nanosec=0),
                                             frame_id='world')

    def _image(self, array):
        h, w = array.shape[:2]
        msg = self.t['sensor_msgs/msg/Image'](header=self._header(), height=h, width=w, encoding='rgb8',
                                              is_bigendian=0, step=w * 3, data=array.reshape(-1))
        return self.store.serialize_cdr(msg, 'sensor_msgs/msg/Image')

    def _joints(self, q):
        msg = self.t['sensor_msgs/msg/JointState'](header=self._header(), name=list(JOINTS),
                                                   position=np.asarray(q, np.float64),
                                                   velocity=np.zeros(9), effort=np.zeros(0))
        return self.store.serialize_cdr(msg, 'sensor_msgs/msg/JointState')

    def _command(self, values):
        layout = self.t['std_msgs/msg/MultiArrayLayout'](dim=[], data_offset=0)
        msg = self.t['std_msgs/msg/Float64MultiArray'](layout=layout, data=np.asarray(values, np.float64))
        return self.store.serialize_cdr(msg, 'std_msgs/msg/Float64MultiArray')

    def _task_state(self, object_xyz, target_xyz):
        def pose(xyz):
            return self.t['geometry_msgs/msg/Pose'](
                position=self.t['geometry_msgs/msg/Point'](x=float(xyz[0]), y=float(xyz[1]), z=float(xyz[2])),
                orientation=self.t['geometry_msgs/msg/Quaternion'](x=0.0, y=0.0, z=0.0, w=1.0))
        msg = self.t['rlhf_msgs/msg/TaskState'](header=self._header(), task='pick_place', object_names=['cube'],
                                                object_poses=[pose(object_xyz)], target_pose=pose(target_xyz),
                                                progress=0.0, success=False)
        return self.store.serialize_cdr(msg, 'rlhf_msgs/msg/TaskState')

    def write(self, episode_id, q0_offset=0.0, delta=0.02, gripper=0.04, duration_s=2.0,
              cameras=('scene_camera',), size=(24, 32), task='pick_place', outcome='success', catalog=True,
              object_xyz=None, target_xyz=(0.5, 0.0, 0.1)):
        """``object_xyz`` given: also a /rlhf_sim/task_state stream (30 Hz) with that object and target position."""
        from rlhf_recorder.bag import EpisodeBagWriter
        from rlhf_recorder.catalog import Catalog, EpisodeRecord
        path = self.data_dir / 'episodes' / episode_id
        topics = {'/joint_states': 'sensor_msgs/msg/JointState',
                  '/arm_controller/commands': 'std_msgs/msg/Float64MultiArray',
                  '/gripper_controller/commands': 'std_msgs/msg/Float64MultiArray'}
        topics.update({f'/{c}/color': 'sensor_msgs/msg/Image' for c in cameras})
        if object_xyz is not None:
            topics['/rlhf_sim/task_state'] = 'rlhf_msgs/msg/TaskState'
        writer = EpisodeBagWriter(path, topics, {'task': task, 'start_time_ns': T0, 'episode_id': episode_id})
        q = np.concatenate([Q_HOME + q0_offset, [0.02, 0.02]])
        events = []
        end_ms = int(duration_s * 1000)
        for ms in range(0, end_ms, 10):
            events.append((ms, '/joint_states', self._joints(q)))
        for ms in range(2, end_ms, 33):
            events.append((ms, '/arm_controller/commands', self._command(q[:7] + delta)))
            events.append((ms + 1, '/gripper_controller/commands', self._command([gripper])))
        if object_xyz is not None:
            for ms in range(0, end_ms, 33):
                events.append((ms, '/rlhf_sim/task_state', self._task_state(object_xyz, target_xyz)))
        rng = np.random.default_rng(abs(hash(episode_id)) % 2**32)
        for ms in range(0, end_ms, 33):
            for cam in cameras:
                image = rng.integers(0, 255, size=(*size, 3), dtype=np.uint8)
                image[..., 0] = int(np.clip(128 + 2000 * delta, 0, 255))  # red channel tells the action
                events.append((ms, f'/{cam}/color', self._image(image)))
        for ms, topic, data in sorted(events, key=lambda e: e[0]):
            writer.write(topic, data, T0 + ms * MS)
        writer.close(outcome, end_time_ns=T0 + end_ms * MS)
        if catalog:
            Catalog(self.data_dir).add(EpisodeRecord(episode_id=episode_id, path=str(path), task=task,
                                                     outcome=outcome, status='complete', duration_s=duration_s))
        return path


@pytest.fixture
def episodes(tmp_path):
    return EpisodeFactory(tmp_path / 'data')


def write_preferences(path, records):
    """A preference export (rlhf_preference.export format, version 1): records = (seg_a, seg_b, label)."""
    out = []
    for i, (seg_a, seg_b, label) in enumerate(records):
        out.append({'pair_id': f'p{i:04d}', 'origin': 'pairwise', 'task': 'pick_place', 'segment_a': seg_a,
                    'segment_b': seg_b, 'label': float(label), 'num_annotations': 2, 'agreement': 1.0,
                    'votes': {}, 'included': True, 'excluded_reason': None})
    path.write_text(json.dumps({'format': 'rlhf_preference.preferences', 'version': 1, 'created_at': '',
                                'label_mode': 'soft', 'min_annotations_per_pair': 1, 'agreement_threshold': 0.6,
                                'records': out}))
    return path


def segment(episode_path, start_s, end_s, episode_id=None):
    return {'episode_id': episode_id or episode_path.name, 'episode_path': str(episode_path), 'start_s': start_s,
            'end_s': end_s, 'task': 'pick_place', 'source': 'test'}
