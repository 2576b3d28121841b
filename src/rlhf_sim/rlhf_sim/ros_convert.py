# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""numpy -> ROS message fields (Image, CameraInfo, Pose, Time) for the sim node, without cv_bridge."""

from builtin_interfaces.msg import Time
from geometry_msgs.msg import Pose
import numpy as np

_ENCODINGS = {'rgb8': (np.uint8, 3), '32FC1': (np.float32, 1)}


def stamp_from_ns(nanoseconds: int) -> Time:
    return Time(sec=int(nanoseconds // 1_000_000_000), nanosec=int(nanoseconds % 1_000_000_000))


def fill_image(msg, array: np.ndarray, encoding: str, stamp=None, frame_id: str = ''):
    """Fill a sensor_msgs/Image from (H, W, 3) uint8 ('rgb8') or (H, W) float32 ('32FC1', metres)."""
    dtype, channels = _ENCODINGS[encoding]
    array = np.ascontiguousarray(array, dtype=np.dtype(dtype).newbyteorder('<'))
    expected_ndim = 3 if channels > 1 else 2
    if array.ndim != expected_ndim or (channels > 1 and array.shape[2] != channels):
        raise ValueError(f'{encoding} image needs shape (H, W{", 3" if channels > 1 else ""}), got {array.shape}')
    if stamp is not None:
        msg.header.stamp = stamp
    msg.header.frame_id = frame_id
    msg.height, msg.width = int(array.shape[0]), int(array.shape[1])
    msg.encoding = encoding
    msg.is_bigendian = 0
    msg.step = int(array.shape[1] * channels * array.itemsize)
    msg.data = array.tobytes()
    return msg


def fill_camera_info(msg, k: np.ndarray, width: int, height: int, stamp=None, frame_id: str = ''):
    """sensor_msgs/CameraInfo of an ideal pinhole camera (no distortion) with matrix ``k``."""
    if stamp is not None:
        msg.header.stamp = stamp
    msg.header.frame_id = frame_id
    msg.width, msg.height = int(width), int(height)
    msg.distortion_model = 'plumb_bob'
    msg.d = [0.0] * 5
    msg.k = [float(v) for v in np.asarray(k).reshape(9)]
    msg.r = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0]
    msg.p = [float(k[0, 0]), 0.0, float(k[0, 2]), 0.0, 0.0, float(k[1, 1]), float(k[1, 2]), 0.0, 0.0, 0.0, 1.0, 0.0]
    return msg


def fill_pose(pose7) -> Pose:
    """geometry_msgs/Pose from [x, y, z, qw, qx, qy, qz]."""
    msg = Pose()
    msg.position.x, msg.position.y, msg.position.z = (float(v) for v in pose7[:3])
    msg.orientation.w, msg.orientation.x, msg.orientation.y, msg.orientation.z = (float(v) for v in pose7[3:7])
    return msg
