# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""The deployment graph: one description for the launch file and the deploy script."""

import ast
from pathlib import Path

import numpy as np
import pytest

from rlhf_common.supervisor import ros_arguments
from rlhf_policy.contract import ActionSpec, CameraSpec, ContractError, ObservationSpec, PolicyContract
from rlhf_policy.graph import deploy_graph

LAUNCH = Path(__file__).resolve().parents[1] / 'launch' / 'deploy.launch.py'


@pytest.fixture
def contract_path(tmp_path):
    obs = ObservationSpec([CameraSpec('wrist_camera', 32, 32, use_depth=True)],
                          [f'panda_joint{i}' for i in range(1, 8)], proprio_mean=np.zeros(14))
    return str(PolicyContract(obs, ActionSpec.for_panda()).save(tmp_path / 'contract.yaml'))


def test_launch_file_uses_the_graph_description():
    tree = ast.parse(LAUNCH.read_text(), feature_version=(3, 10))
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) for alias in node.names}
    assert {'ARGUMENTS', 'deploy_graph', 'launch_description'} <= imported


def test_sim_graph(contract_path, tmp_path):
    specs = deploy_graph({'contract': contract_path, 'seed': '7', 'record': 'true', 'output_dir': str(tmp_path)})
    assert [s.name for s in specs] == ['sim', 'policy', 'recorder']
    sim, policy, recorder = specs
    assert sim.parameters == {'task': 'pick_place', 'cameras': ['wrist_camera'], 'seed': 7}
    assert policy.parameters['contract'] == contract_path and policy.parameters['start_in_estop'] is False
    assert Path(policy.parameter_files[0]).name == 'policy.yaml'
    assert '/wrist_camera/depth' in recorder.parameters['topics']
    assert '/rlhf_sim/task_state' in recorder.parameters['topics']
    args = ros_arguments(policy, 'params.yaml')
    assert args[:3] == ['--ros-args', '-r', '__node:=policy']


def test_state_only_policy_in_simulation_records_the_scene_camera(tmp_path):
    obs = ObservationSpec([], [f'panda_joint{i}' for i in range(1, 8)], proprio_mean=np.zeros(14))
    path = str(PolicyContract(obs, ActionSpec.for_panda()).save(tmp_path / 'contract.yaml'))
    sim, _, recorder = deploy_graph({'contract': path, 'record': 'true', 'output_dir': str(tmp_path)})
    assert sim.parameters['cameras'] == ['scene_camera']
    assert '/scene_camera/color' in recorder.parameters['topics']


def test_robot_graph_has_only_the_policy(contract_path):
    specs = deploy_graph({'contract': contract_path, 'sim': 'false', 'start_in_estop': 'true'})
    assert [(s.package, s.executable) for s in specs] == [('rlhf_policy', 'policy')]
    assert specs[0].parameters['start_in_estop'] is True


def test_bad_arguments_are_named(contract_path, tmp_path):
    with pytest.raises(ValueError, match='argument contract'):
        deploy_graph({})
    with pytest.raises(ValueError, match='argument sim'):
        deploy_graph({'contract': contract_path, 'sim': 'maybe'})
    with pytest.raises(ValueError, match=r"unknown argument\(s\) \['speed'\]"):
        deploy_graph({'contract': contract_path, 'speed': '2'})
    with pytest.raises(ContractError, match='cannot read'):
        deploy_graph({'contract': str(tmp_path / 'nope.yaml')})
