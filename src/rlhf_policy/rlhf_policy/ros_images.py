# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""sensor_msgs/Image <-> numpy without cv_bridge (pure; works on any object with the Image fields).

Colour: rgb8, bgr8, rgba8, bgra8, mono8 -> (H, W, 3) uint8 RGB (a view where the layout allows).
Depth: 32FC1 metres or 16UC1 millimetres (RealSense) -> (H, W) float32 metres.
"""

import numpy as np

_COLOR_CHANNELS = {'rgb8': 3, 'bgr8': 3, 'rgba8': 4, 'bgra8': 4, 'mono8': 1}


class ImageEncodingError(ValueError):
    """An image message has an encoding or size this node cannot use."""


def _rows(msg, dtype, channels):
    itemsize = np.dtype(dtype).itemsize
    if msg.step < msg.width * channels * itemsize or len(msg.data) < msg.step * msg.height:
        raise ImageEncodingError(f'{msg.encoding} image {msg.width}x{msg.height}: step {msg.step} and '
                                 f'{len(msg.data)} data bytes do not hold the pixels')
    buf = np.frombuffer(msg.data, dtype=np.uint8, count=msg.step * msg.height).reshape(msg.height, msg.step)
    pixels = buf[:, :msg.width * channels * itemsize]
    if itemsize > 1:
        order = '>' if msg.is_bigendian else '<'
        pixels = np.ascontiguousarray(pixels).view(np.dtype(dtype).newbyteorder(order))
    return pixels.reshape(msg.height, msg.width, channels)


def color_to_rgb(msg):
    channels = _COLOR_CHANNELS.get(msg.encoding)
    if channels is None:
        raise ImageEncodingError(f'colour image encoding {msg.encoding!r}: expected one of {sorted(_COLOR_CHANNELS)}')
    px = _rows(msg, np.uint8, channels)
    if msg.encoding == 'rgb8':
        return px
    if msg.encoding == 'rgba8':
        return px[:, :, :3]
    if msg.encoding in ('bgr8', 'bgra8'):
        return px[:, :, 2::-1]
    return np.repeat(px, 3, axis=2)


def depth_to_metres(msg):
    if msg.encoding == '32FC1':
        return _rows(msg, np.float32, 1)[:, :, 0]
    if msg.encoding == '16UC1':
        mm = _rows(msg, np.uint16, 1)[:, :, 0]
        metres = mm.astype(np.float32) * np.float32(1e-3)
        metres[mm == 0] = np.nan  # 0 mm means "no return"
        return metres
    raise ImageEncodingError(f"depth image encoding {msg.encoding!r}: expected '32FC1' (m) or '16UC1' (mm)")


def fill_image(msg, array, encoding):
    """Fill an Image message from (H, W, 3) uint8 (rgb8) or (H, W) float32 (32FC1); used by tests and tools."""
    array = np.ascontiguousarray(array)
    msg.height, msg.width = int(array.shape[0]), int(array.shape[1])
    msg.encoding = encoding
    msg.is_bigendian = 0
    msg.step = int(array.strides[0])
    msg.data = array.tobytes()
    return msg
