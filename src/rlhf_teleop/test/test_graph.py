# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""One description of the collection graph: launch file arguments, specs, --ros-args, process shutdown."""

import ast
from pathlib import Path

import pytest

from rlhf_common.graph import resolve_arguments
from rlhf_common.testing import load_launch_file
from rlhf_teleop.collect import parser
from rlhf_teleop.graph import ARGUMENTS, collect_graph, recorded_topics

LAUNCH_FILE = Path(__file__).resolve().parents[1] / 'launch' / 'collect.launch.py'


def test_launch_file_uses_the_graph_description():
    tree = ast.parse(LAUNCH_FILE.read_text(), filename=str(LAUNCH_FILE), feature_version=(3, 10))
    imported = {(node.module, alias.name) for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
                for alias in node.names}
    assert {('rlhf_teleop.graph', 'ARGUMENTS'), ('rlhf_teleop.graph', 'collect_graph'),
            ('rlhf_common.graph', 'launch_description')} <= imported
    functions = {node.name for node in ast.walk(tree) if isinstance(node, ast.FunctionDef)}
    assert 'generate_launch_description' in functions


def test_collect_options_are_the_graph_arguments():
    options = {action.dest: action.default for action in parser()._actions if action.dest != 'help'}
    assert options == {a.name: a.default for a in ARGUMENTS}


def test_sim_graph_has_simulator_teleop_and_recorder(tmp_path):
    specs = collect_graph({'device': 'expert', 'num_episodes': '20', 'output_dir': str(tmp_path),
                           'cameras': 'scene_camera, wrist_camera', 'seed': '7', 'expert_aim_offset': '0,0,0.06'})
    assert [(s.package, s.executable, s.name) for s in specs] == [
        ('rlhf_sim', 'sim', 'sim'), ('rlhf_teleop', 'teleop', 'teleop'), ('rlhf_recorder', 'recorder', 'recorder')]
    sim, teleop, recorder = specs
    assert sim.parameters['cameras'] == ['scene_camera', 'wrist_camera'] and sim.parameters['seed'] == 7
    assert teleop.parameters['num_episodes'] == 20 and teleop.parameters['sim'] is True
    assert teleop.parameters['expert_aim_offset'] == [0.0, 0.0, 0.06]
    assert teleop.parameter_files[0].endswith('teleop.yaml') and Path(teleop.parameter_files[0]).is_file()
    # each node starts from its package's documented defaults, then the graph's values
    assert sim.parameter_files[0].endswith('sim.yaml') and recorder.parameter_files[0].endswith('recorder.yaml')
    assert recorder.parameters['data_dir'] == str(tmp_path)
    topics = recorder.parameters['topics']
    assert '/wrist_camera/depth' in topics and '/arm_controller/commands' in topics
    assert '/rlhf_sim/task_state' in topics


def test_real_robot_graph_starts_no_simulator(tmp_path):
    config = tmp_path / 'robot.yaml'
    config.write_text('teleop:\n  ros__parameters:\n    topics:\n      joint_states: /franka/joint_states\n'
                      '      arm_commands: /position_controller/commands\n')
    specs = collect_graph({'sim': 'false', 'device': 'spacemouse', 'config': str(config), 'cameras': 'front',
                           'start_driver': 'true'})
    names = [s.name for s in specs]
    assert 'sim' not in names and names == ['spacenav', 'teleop', 'recorder']
    teleop = specs[1]
    assert teleop.parameters['sim'] is False and str(config) in teleop.parameter_files
    assert '/rlhf_sim/task_state' not in specs[2].parameters['topics']
    recorded = specs[2].parameters['topics']
    assert '/front/color' in recorded
    # the recorder records the robot's topics, named as the teleop node uses them
    assert recorded[:3] == ['/franka/joint_states', '/position_controller/commands', '/gripper_controller/commands']


@pytest.mark.parametrize('args, field', [({'sim': 'maybe'}, 'sim'), ({'num_episodes': 'x'}, 'num_episodes'),
                                          ({'num_episodes': '-1'}, 'num_episodes'), ({'bogus': 1}, 'bogus'),
                                          ({'config': '/nonexistent/robot.yaml'}, 'config'),
                                          ({'expert_aim_offset': '0,0.06'}, 'expert_aim_offset'),
                                          ({'expert_aim_offset': '0,up,0'}, 'expert_aim_offset')])
def test_bad_arguments_name_the_argument(args, field):
    with pytest.raises(ValueError, match=field):
        collect_graph(args)


def test_recorded_topics_follow_the_cameras():
    values = resolve_arguments(ARGUMENTS, {'cameras': 'a', 'sim': 'false'})
    assert recorded_topics(values) == ['/joint_states', '/arm_controller/commands', '/gripper_controller/commands',
                                       '/a/color', '/a/depth', '/a/camera_info']


def test_launch_file_turns_the_specs_into_nodes(monkeypatch, tmp_path):
    """Run the launch file against minimal stand-ins of launch/launch_ros (not installable here)."""
    actions = load_launch_file(LAUNCH_FILE, monkeypatch)
    assert [(a.args[0], a.kwargs['default_value'], a.kwargs['description']) for a in actions[:-1]] == \
        [(a.name, a.default, a.description) for a in ARGUMENTS]
    declared = {a.args[0]: a.kwargs['default_value'] for a in actions[:-1]}
    context = {**declared, 'device': 'gamepad', 'sim': 'false', 'output_dir': str(tmp_path)}
    nodes = actions[-1].kwargs['function'](context)
    specs = collect_graph(context)
    assert [n.kwargs['name'] for n in nodes] == [s.name for s in specs] == ['teleop', 'recorder']
    teleop = nodes[0].kwargs
    assert teleop['package'] == 'rlhf_teleop' and teleop['executable'] == 'teleop'
    assert teleop['parameters'][-1] == specs[0].parameters and teleop['parameters'][-1]['device'] == 'gamepad'
    assert teleop['parameters'][0].endswith('teleop.yaml')


def test_unattended_launch_ends_when_teleop_is_done(monkeypatch, tmp_path):
    actions = load_launch_file(LAUNCH_FILE, monkeypatch)
    declared = {a.args[0]: a.kwargs['default_value'] for a in actions[:-1]}
    context = {**declared, 'num_episodes': '3', 'output_dir': str(tmp_path)}
    launched = actions[-1].kwargs['function'](context)
    handlers = [a for a in launched if 'name' not in a.kwargs]
    teleop = next(a for a in launched if a.kwargs.get('name') == 'teleop')
    assert len(handlers) == 1
    on_exit = handlers[0].args[0].kwargs
    assert on_exit['target_action'] is teleop and on_exit['on_exit'][0].kwargs['event'].kwargs['reason']
    interactive = actions[-1].kwargs['function']({**declared, 'output_dir': str(tmp_path)})
    assert all('name' in a.kwargs for a in interactive)   # interactive: no node ends the launch


def test_missing_driver_package_fails_before_any_node_starts(monkeypatch, tmp_path):
    actions = load_launch_file(LAUNCH_FILE, monkeypatch)
    declared = {a.args[0]: a.kwargs['default_value'] for a in actions[:-1]}
    context = {**declared, 'device': 'spacemouse', 'start_driver': 'true', 'output_dir': str(tmp_path)}
    with pytest.raises(FileNotFoundError, match='package spacenav is not installed'):
        actions[-1].kwargs['function'](context)


def test_recorder_waits_for_the_observations_not_the_commands(tmp_path):
    recorder = collect_graph({'output_dir': str(tmp_path), 'cameras': 'scene_camera'})[-1]
    required = recorder.parameters['required_topics']
    assert required == ['/joint_states', '/scene_camera/color', '/scene_camera/depth', '/scene_camera/camera_info',
                        '/rlhf_sim/task_state']
    assert set(required) < set(recorder.parameters['topics'])
