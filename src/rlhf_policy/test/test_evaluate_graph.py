# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""The evaluator through the real graph: simulator node + policy node + recorder + evaluate_node over DDS."""

import json
import os
import shutil
import subprocess

import numpy as np

from rlhf_common.graph import NodeSpec, executable_path
from rlhf_common.robot import ARM_JOINT_NAMES, FINGER_JOINT_NAMES
from rlhf_policy.contract import ActionSpec, CameraSpec, ObservationSpec, PolicyContract
from rlhf_policy.onnx_models import build_policy_model

JOINTS = ARM_JOINT_NAMES + FINGER_JOINT_NAMES


def test_evaluate_two_recorded_episodes(tmp_path):
    obs = ObservationSpec([CameraSpec('wrist_camera', 32, 24)], JOINTS, proprio_std=np.full(18, 0.5))
    contract = PolicyContract(obs, ActionSpec.for_panda(0.05))
    build_policy_model(contract, tmp_path / 'model' / 'policy.onnx', hidden=16)
    contract_path = contract.save(tmp_path / 'model' / 'contract.yaml')
    output = tmp_path / 'eval.json'
    data = tmp_path / 'data'
    evaluate = str(executable_path(NodeSpec('rlhf_policy', 'evaluate', 'evaluate')))
    proc = subprocess.run([evaluate, '--contract', str(contract_path),
                           '--episodes', '2', '--seed', '5', '--timeout-s', '2.0', '--output', str(output),
                           '--record', 'true', '--output-dir', str(data)],
                          capture_output=True, text=True, timeout=150, env=os.environ.copy())
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-4000:]
    report = json.loads(output.read_text())
    episodes = report['episodes']
    assert [e['seed'] for e in episodes] == [5, 6] and report['summary']['episodes'] == 2
    for e in episodes:
        assert e['commands'] > 10, e  # the policy drove the simulated arm in every episode
        assert e['success'] or e['duration_s'] >= 2.0
        assert e['mean_action_change'] is not None
    assert 'success rate' in proc.stdout
    from rlhf_recorder.catalog import Catalog
    records = {r.episode_id: r for r in Catalog(str(data)).list()}
    for e in episodes:
        record = records[e['episode_id']]
        assert record.outcome == ('success' if e['success'] else 'failure') and record.device == 'policy'
        assert record.message_counts.get('/arm_controller/commands', 0) > 10
    shutil.rmtree(data, ignore_errors=True)
