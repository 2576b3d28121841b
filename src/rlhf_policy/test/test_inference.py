# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""ONNX Runtime sessions of a contract's model (real sessions, no ROS)."""

from conftest import JOINTS
import numpy as np
import pytest

from rlhf_policy.contract import CameraSpec, ObservationSpec, PolicyContract
from rlhf_policy.inference import ModelError, OnnxPolicy
from rlhf_policy.onnx_models import build_policy_model


def test_nan_model_and_mismatches(tmp_path, camera_contract):
    contract = camera_contract
    build_policy_model(contract, tmp_path / 'nan.onnx', nan_weights=True)
    inputs = {n: np.zeros((1,) + s, np.float32) for n, s in contract.input_shapes().items()}
    assert np.all(np.isnan(OnnxPolicy(tmp_path / 'nan.onnx', contract).run(inputs)))
    # the model wants an input the contract does not provide -> reported, not guessed
    wider = PolicyContract(contract.observation, contract.action, onnx_inputs=['scene_camera', 'proprio'])
    assert OnnxPolicy(tmp_path / 'nan.onnx', wider).missing_inputs == ['wrist_camera']
    smaller = PolicyContract(ObservationSpec([CameraSpec('scene_camera', 8, 8), CameraSpec('wrist_camera', 8, 8, True)],
                                             JOINTS), contract.action)
    assert OnnxPolicy(tmp_path / 'nan.onnx', smaller).shape_errors
    with pytest.raises(ModelError, match='not found'):
        OnnxPolicy(tmp_path / 'absent.onnx', contract)
    (tmp_path / 'junk.onnx').write_bytes(b'not a model')
    with pytest.raises(ModelError, match='cannot load'):
        OnnxPolicy(tmp_path / 'junk.onnx', contract)
