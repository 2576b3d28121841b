# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""ONNX export: contract inputs, self-check against ONNX Runtime, clear errors."""

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

from rlhf_policy.chunking import ChunkExecution
from rlhf_policy.contract import ActionSpec, CameraSpec, ObservationSpec, PolicyContract
from rlhf_training.export import ExportError, export_policy, sample_inputs
from rlhf_training.models import ChunkPolicy, GaussianPolicy, observation_shapes

torch.set_num_threads(1)
JOINTS = [f'panda_joint{i}' for i in range(1, 8)] + ['panda_finger_joint1', 'panda_finger_joint2']


def contract_with(cameras):
    return PolicyContract(ObservationSpec(cameras, JOINTS), ActionSpec.for_panda(), rate_hz=30.0)


@pytest.mark.parametrize('cameras', [[], [CameraSpec('scene_camera', 32, 24), CameraSpec('wrist_camera', 16, 16,
                                                                                          use_depth=True)]])
def test_export_matches_torch_and_writes_contract(tmp_path, cameras):
    contract = contract_with(cameras)
    policy = GaussianPolicy(observation_shapes(contract.observation), hidden_dims=(32,), image_feature_dim=8)
    onnx_path = export_policy(policy, contract, tmp_path)
    model = onnx.load(str(onnx_path))
    assert max(o.version for o in model.opset_import if o.domain in ('', 'ai.onnx')) >= 17
    assert [i.name for i in model.graph.input] == [c.name for c in cameras] + ['proprio']
    assert [o.name for o in model.graph.output] == ['action']
    loaded = PolicyContract.load(tmp_path / 'contract.yaml')
    assert loaded.model_path(tmp_path / 'contract.yaml') == onnx_path.resolve()
    assert loaded.metadata['onnx_max_abs_diff'] <= 1e-4
    # Batch size is dynamic: 5 rows through ONNX Runtime equal torch.
    inputs = sample_inputs(loaded.input_shapes(), batch=5, seed=9)
    got = ort.InferenceSession(str(onnx_path), providers=['CPUExecutionProvider']).run(['action'], inputs)[0]
    with torch.no_grad():
        expected = policy.deterministic({k: torch.from_numpy(v) for k, v in inputs.items()}).numpy()
    np.testing.assert_allclose(got, expected, atol=1e-4)


def test_chunk_policy_export_carries_the_chunk_in_physical_units(tmp_path):
    contract = contract_with([CameraSpec('scene_camera', 24, 24)])
    policy = ChunkPolicy(observation_shapes(contract.observation), horizon=4, hidden_dims=(16,), image_feature_dim=8)
    with pytest.raises(ExportError, match=r'\(4, 8\) does not match'):
        export_policy(policy, contract, tmp_path)   # the contract does not say it is a chunk policy
    contract.chunk = ChunkExecution(horizon=4)
    policy = ChunkPolicy(observation_shapes(contract.observation), horizon=4, hidden_dims=(16,), image_feature_dim=8)
    mean, std = torch.linspace(-0.2, 0.2, 32).reshape(4, 8), torch.full((4, 8), 0.05)
    policy.set_action_statistics(mean, std)
    onnx_path = export_policy(policy, contract, tmp_path)
    inputs = sample_inputs(contract.input_shapes(), batch=2, seed=3)
    got = ort.InferenceSession(str(onnx_path), providers=['CPUExecutionProvider']).run(['action'], inputs)[0]
    assert got.shape == (2, 4, 8)
    with torch.no_grad():
        expected = policy({k: torch.from_numpy(v) for k, v in inputs.items()}).numpy()
        raw = policy.normalised({k: torch.from_numpy(v) for k, v in inputs.items()}).numpy()
    np.testing.assert_allclose(got, expected, atol=1e-4)
    np.testing.assert_allclose(got, raw * 0.05 + mean.numpy(), atol=1e-4)   # the statistics are in the graph
    assert PolicyContract.load(tmp_path / 'contract.yaml').chunk == ChunkExecution(horizon=4)


def test_export_rejects_a_policy_that_does_not_fit_the_contract(tmp_path):
    contract = contract_with([CameraSpec('scene_camera', 32, 32)])
    policy = GaussianPolicy({'proprio': (18,)}, hidden_dims=(8,))  # state-only policy, camera contract
    with pytest.raises(ExportError, match='do not match the contract'):
        export_policy(policy, contract, tmp_path)
    assert not (tmp_path / 'contract.yaml').exists()


def test_export_rejects_a_mismatching_runtime_result(tmp_path, monkeypatch):
    """If ONNX Runtime disagreed with torch (here: the checked policy is perturbed), nothing is published."""
    import rlhf_training.export as export_module
    contract = contract_with([])
    policy = GaussianPolicy({'proprio': (18,)}, hidden_dims=(8,))
    real_check = export_module.check_onnx

    def perturbed_check(cpu_policy, path, shapes, atol):
        with torch.no_grad():
            cpu_policy.head.net[-1].bias.add_(0.5)
        return real_check(cpu_policy, path, shapes, atol)

    monkeypatch.setattr(export_module, 'check_onnx', perturbed_check)
    with pytest.raises(ExportError, match='differs from torch'):
        export_policy(policy, contract, tmp_path)
    assert not (tmp_path / 'policy.onnx').exists() and not (tmp_path / 'contract.yaml').exists()
