# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""Write small real episodes (rosbag2 MCAP through rlhf_recorder's writer, listed in its catalog) for tests.

Each episode publishes what the sim publishes at 10 Hz: a scene camera image (a square whose position
follows the task progress), joint states, arm and gripper commands and the task state.
"""

import numpy as np

from rlhf_recorder.bag import EpisodeBagWriter
from rlhf_recorder.catalog import Catalog, EpisodeRecord
from rlhf_recorder.msgtypes import make_typestore

JOINTS = [f'panda_joint{i}' for i in range(1, 8)] + ['panda_finger_joint1', 'panda_finger_joint2']
TOPICS = {
    '/scene_camera/color': 'sensor_msgs/msg/Image',
    '/joint_states': 'sensor_msgs/msg/JointState',
    '/arm_controller/commands': 'std_msgs/msg/Float64MultiArray',
    '/gripper_controller/commands': 'std_msgs/msg/Float64MultiArray',
    '/rlhf_sim/task_state': 'rlhf_msgs/msg/TaskState',
}
T0 = 1_700_000_000 * 10**9


class _Cdr:
    def __init__(self):
        self.store = make_typestore()
        self.t = self.store.types

    def header(self, ns):
        return self.t['std_msgs/msg/Header'](
            stamp=self.t['builtin_interfaces/msg/Time'](sec=ns // 10**9, nanosec=ns % 10**9), frame_id='world')

    def image(self, rgb, ns):
        h, w = rgb.shape[:2]
        msg = self.t['sensor_msgs/msg/Image'](header=self.header(ns), height=h, width=w, encoding='rgb8',
                                              is_bigendian=0, step=w * 3, data=rgb.reshape(-1))
        return self.store.serialize_cdr(msg, 'sensor_msgs/msg/Image')

    def joints(self, q, ns):
        msg = self.t['sensor_msgs/msg/JointState'](header=self.header(ns), name=JOINTS, position=q,
                                                   velocity=np.zeros(9), effort=np.zeros(0))
        return self.store.serialize_cdr(msg, 'sensor_msgs/msg/JointState')

    def command(self, values):
        layout = self.t['std_msgs/msg/MultiArrayLayout'](dim=[], data_offset=0)
        msg = self.t['std_msgs/msg/Float64MultiArray'](layout=layout, data=np.asarray(values, dtype=np.float64))
        return self.store.serialize_cdr(msg, 'std_msgs/msg/Float64MultiArray')

    def task_state(self, task, progress, ns):
        pose = self.t['geometry_msgs/msg/Pose'](
            position=self.t['geometry_msgs/msg/Point'](x=0.0, y=0.0, z=0.0),
            orientation=self.t['geometry_msgs/msg/Quaternion'](x=0.0, y=0.0, z=0.0, w=1.0))
        msg = self.t['rlhf_msgs/msg/TaskState'](header=self.header(ns), task=task, object_names=['cube'],
                                                object_poses=[pose], target_pose=pose, progress=float(progress),
                                                success=bool(progress >= 1.0))
        return self.store.serialize_cdr(msg, 'rlhf_msgs/msg/TaskState')


def write_episode(data_dir, episode_id, progress, task='pick_place', rate_hz=10.0, size=(48, 64), device='sim',
                  catalog=True, seed=-1, camera_from=0):
    """Write episode ``episode_id`` whose task progress at step i is ``progress[i]``; return its bag path.

    ``camera_from``: the step of the first camera frame (a camera that joins late).
    """
    cdr = _Cdr()
    path = data_dir / 'episodes' / episode_id
    writer = EpisodeBagWriter(path, TOPICS, {'episode_id': episode_id, 'task': task, 'start_time_ns': T0,
                                             'device': device, 'is_sim': True, 'seed': seed})
    h, w = size
    step_ns = int(1e9 / rate_hz)
    for i, p in enumerate(progress):
        ns = T0 + i * step_ns
        image = np.full((h, w, 3), 30, np.uint8)
        x = int(p * (w - 12))
        image[h // 2 - 6:h // 2 + 6, x:x + 12] = (240, 120, 40)
        q = np.full(9, float(p))
        if i >= camera_from:
            writer.write('/scene_camera/color', cdr.image(image, ns), ns)
        writer.write('/joint_states', cdr.joints(q, ns), ns)
        writer.write('/rlhf_sim/task_state', cdr.task_state(task, p, ns), ns)
        writer.write('/arm_controller/commands', cdr.command(q[:7]), ns + 1000)
        writer.write('/gripper_controller/commands', cdr.command([0.04]), ns + 1000)
    summary = writer.close('success' if progress[-1] >= 1.0 else 'failure', end_time_ns=T0 + len(progress) * step_ns)
    if catalog:
        Catalog(data_dir).add(EpisodeRecord(episode_id, str(path), task=task, device=device,
                                            outcome=summary['outcome'], status='complete',
                                            duration_s=summary['duration_s'], seed=seed))
    return path
