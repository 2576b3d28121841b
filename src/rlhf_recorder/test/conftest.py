# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""Shared test helpers: ROS messages built and CDR-serialised with rosbags (no ROS needed); nodes spun over DDS."""

import threading
import time

import numpy as np
import pytest

from rlhf_recorder.msgtypes import make_typestore


class Messages:
    """Build CDR bytes of the messages the recorder sees, as the real publishers would send them."""

    def __init__(self):
        self.store = make_typestore()
        self.t = self.store.types

    def _header(self, stamp_ns=0, frame='world'):
        return self.t['std_msgs/msg/Header'](
            stamp=self.t['builtin_interfaces/msg/Time'](sec=stamp_ns // 10**9, nanosec=stamp_ns % 10**9),
            frame_id=frame)

    def image(self, array, encoding, step=None, bigendian=False):
        array = np.ascontiguousarray(array)
        h, w = array.shape[:2]
        row_bytes = array.reshape(h, -1).view(np.uint8).shape[1]
        step = step or row_bytes
        rows = np.zeros((h, step), dtype=np.uint8)
        rows[:, :row_bytes] = array.reshape(h, -1).view(np.uint8)
        msg = self.t['sensor_msgs/msg/Image'](header=self._header(), height=h, width=w, encoding=encoding,
                                              is_bigendian=int(bigendian), step=step, data=rows.reshape(-1))
        return self.store.serialize_cdr(msg, 'sensor_msgs/msg/Image')

    def joint_state(self, names, position, velocity):
        msg = self.t['sensor_msgs/msg/JointState'](
            header=self._header(), name=list(names), position=np.asarray(position, dtype=np.float64),
            velocity=np.asarray(velocity, dtype=np.float64), effort=np.zeros(0))
        return self.store.serialize_cdr(msg, 'sensor_msgs/msg/JointState')

    def command(self, values):
        layout = self.t['std_msgs/msg/MultiArrayLayout'](dim=[], data_offset=0)
        msg = self.t['std_msgs/msg/Float64MultiArray'](layout=layout, data=np.asarray(values, dtype=np.float64))
        return self.store.serialize_cdr(msg, 'std_msgs/msg/Float64MultiArray')

    def _pose(self, xyz):
        return self.t['geometry_msgs/msg/Pose'](
            position=self.t['geometry_msgs/msg/Point'](x=float(xyz[0]), y=float(xyz[1]), z=float(xyz[2])),
            orientation=self.t['geometry_msgs/msg/Quaternion'](x=0.0, y=0.0, z=0.0, w=1.0))

    def task_state(self, progress, success, object_xyz=(0.0, 0.0, 0.0), target_xyz=(0.0, 0.0, 0.0)):
        msg = self.t['rlhf_msgs/msg/TaskState'](header=self._header(), task='pick_place', object_names=['cube', 'peg'],
                                                object_poses=[self._pose(object_xyz), self._pose((9.0, 9.0, 9.0))],
                                                target_pose=self._pose(target_xyz), progress=float(progress),
                                                success=bool(success))
        return self.store.serialize_cdr(msg, 'rlhf_msgs/msg/TaskState')


@pytest.fixture(scope='session')
def msgs():
    return Messages()


def wait_for(predicate, timeout=15.0, what='condition'):
    """Poll ``predicate`` until it holds; fail naming ``what`` after ``timeout`` s (a bound, never an assertion)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.02)
    raise AssertionError(f'timed out after {timeout} s waiting for {what}')


@pytest.fixture
def context():
    """An rclpy context of its own (imported here: the bag and reader tests need no ROS)."""
    import rclpy

    ctx = rclpy.Context()
    rclpy.init(context=ctx)
    yield ctx
    rclpy.try_shutdown(context=ctx)


@pytest.fixture
def spinning(context):
    """add(node): spin the node in a background executor until the test ends."""
    from rclpy.executors import SingleThreadedExecutor

    executor = SingleThreadedExecutor(context=context)
    thread = threading.Thread(target=executor.spin, daemon=True)
    nodes = []

    def add(node):
        nodes.append(node)
        executor.add_node(node)
        if not thread.is_alive():
            thread.start()
        return node

    yield add
    executor.shutdown()
    for node in nodes:
        node.destroy_node()
