# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""sensor_msgs/Image to numpy as the node decodes it: colour encodings and depth in metres."""

from conftest import FakeImage
import numpy as np
import pytest

from rlhf_policy.ros_images import depth_to_metres, fill_image


def test_depth_16uc1_millimetres():
    mm = np.array([[0, 1000], [1500, 65535]], dtype=np.uint16)
    msg = fill_image(FakeImage(), mm, '16UC1')
    metres = depth_to_metres(msg)
    assert np.isnan(metres[0, 0]) and metres[0, 1] == pytest.approx(1.0) and metres[1, 0] == pytest.approx(1.5)
