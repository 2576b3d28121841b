# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""The deployment graph: one description for the launch file and the deploy script."""

import ast
from pathlib import Path

import numpy as np
import pytest

from rlhf_common.supervisor import ros_arguments
from rlhf_policy.actions import ActionGroup
from rlhf_policy.contract import ActionSpec, CameraSpec, ContractError, ObservationSpec, PolicyContract
from rlhf_policy.graph import deploy_graph, evaluate_graph, piano_policy_parameters

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
    assert recorder.parameters['whole_run_task'] == 'pick_place'   # the bag of the whole run names its task
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


def test_foxglove_port_adds_the_live_view_of_the_deployment(contract_path):
    assert 'live_view' not in [s.name for s in deploy_graph({'contract': contract_path})]
    specs = deploy_graph({'contract': contract_path, 'foxglove_port': '8765'})
    view = specs[-1]
    assert (view.package, view.executable, view.name) == ('rlhf_recorder', 'live_view', 'live_view')
    assert view.parameters['port'] == 8765 and Path(view.parameter_files[0]).name == 'live_view.yaml'
    relayed = set(view.parameters['topics'])
    assert {'/policy/status', '/episode/events', '/wrist_camera/color', '/joint_states'} <= relayed
    with pytest.raises(ValueError, match='argument foxglove_port'):
        deploy_graph({'contract': contract_path, 'foxglove_port': '99999'})


def piano_contract(tmp_path, metadata=True):
    features = ['piano_keys', 'piano_sustain', 'piano_goal', 'piano_fingers']
    obs = ObservationSpec([], ['rh_WRJ2', 'rh_WRJ1'], proprio_fields=['position'], state_features=features,
                          feature_sizes={'piano_goal': 178, 'piano_fingers': 5})
    action = ActionSpec([ActionGroup('hand_controller', ['rh_WRJ2', 'sustain'], 'absolute', [-0.5, 0.0], [0.2, 1.0])])
    task = {'song': 'CMajorScaleOneHand', 'hands': 'right', 'n_steps_lookahead': 1, 'control_timestep': 0.05,
            'stretch': 1.0}
    contract = PolicyContract(obs, action, rate_hz=20.0, metadata={'piano': task} if metadata else {})
    return str(contract.save(tmp_path / f'contract_{metadata}.yaml'))


def test_a_piano_policy_plays_the_simulated_piano_of_its_task(tmp_path):
    path = piano_contract(tmp_path)
    piano, policy, recorder = deploy_graph({'contract': path, 'seed': '3', 'record': 'true',
                                            'output_dir': str(tmp_path)})
    assert (piano.package, piano.executable) == ('rlhf_sim', 'piano')
    assert piano.parameters == {'song': 'CMajorScaleOneHand', 'hands': 'right', 'n_steps_lookahead': 1,
                                'control_timestep': 0.05, 'seed': 3}
    assert recorder.parameters['topics'] == [
        '/joint_states', '/hand_controller/commands', '/policy/status', '/piano_camera/color',
        '/piano_camera/camera_info', '/piano/keys', '/piano/score']
    assert '/hand_controller/commands' not in recorder.parameters['required_topics']
    # the hand may cross its range in a control step, as in training; the arm's defaults come first
    assert [Path(f).name for f in policy.parameter_files] == ['policy.yaml', 'policy_piano.yaml']
    assert recorder.parameters['whole_run_task'] == 'CMajorScaleOneHand'
    assert piano_policy_parameters() == {'max_absolute_step_fraction': 1.0, 'tick_on': '/piano/score'}
    with pytest.raises(ValueError, match='key-press F1'):
        evaluate_graph({'contract': path})
    with pytest.raises(ValueError, match='metadata.piano'):
        deploy_graph({'contract': piano_contract(tmp_path, metadata=False)})
    # on the robot: no simulator, and the metadata is not needed; the policy keeps the piano's settings
    policy, = deploy_graph({'contract': piano_contract(tmp_path, metadata=False), 'sim': 'false'})
    assert [Path(f).name for f in policy.parameter_files] == ['policy.yaml', 'policy_piano.yaml']
