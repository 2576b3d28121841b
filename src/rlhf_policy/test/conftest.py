# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""Shared test data: the Panda's joints and a two-camera contract (one camera with depth)."""

import numpy as np
import pytest

from rlhf_common.robot import JOINT_NAMES
from rlhf_policy.actions import ActionSpec
from rlhf_policy.contract import CameraSpec, ObservationSpec, PolicyContract

JOINTS = list(JOINT_NAMES)


class FakeImage:
    """Carries the sensor_msgs/Image fields."""


@pytest.fixture
def camera_contract(tmp_path):
    """scene_camera 16x12 RGB, wrist_camera 8x8 RGB-D, the Panda's joints; saved as tmp_path/contract.yaml."""
    obs = ObservationSpec([CameraSpec('scene_camera', 16, 12), CameraSpec('wrist_camera', 8, 8, True, 1.0)],
                          JOINTS, proprio_mean=np.zeros(18), proprio_std=np.full(18, 0.5))
    contract = PolicyContract(obs, ActionSpec.for_panda())
    contract.save(tmp_path / 'contract.yaml')
    return contract
