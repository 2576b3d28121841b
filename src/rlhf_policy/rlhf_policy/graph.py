# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""The deployment graph, described once and started two ways.

``deploy_graph(args)`` turns the documented arguments (``ARGUMENTS``) into ``rlhf_teleop.graph.NodeSpec``
entries: the simulator (``sim:=true``; with ``sim:=false`` the robot's own ros2_control and camera drivers
provide the topics), the policy node, and optionally the recorder. ``launch/deploy.launch.py`` turns the
specs into ``launch_ros`` Node actions; the ``deploy`` console script starts them with
``rlhf_teleop.graph.run_graph`` (one process per node). ``evaluate_graph`` adds the evaluator node.
"""

import os
from pathlib import Path

from rlhf_policy.contract import PolicyContract
from rlhf_teleop.graph import FOXGLOVE_ARGUMENT, GraphArgument, NodeSpec, foxglove_port, live_view_specs

ARGUMENTS = (
    GraphArgument('contract', '', 'path of the policy contract.yaml (the model file is resolved next to it)'),
    GraphArgument('sim', 'true', "true: start the MuJoCo simulator; false: only the policy, against the robot's "
                                 'own ros2_control and camera topics'),
    GraphArgument('task', 'pick_place', 'simulated task: pick_place, stack, insertion or reach'),
    GraphArgument('seed', '0', 'seed of the simulated scene'),
    GraphArgument('start_in_estop', 'false', 'true: the policy commands nothing until /policy/resume'),
    GraphArgument('execution_provider', 'auto', 'ONNX Runtime provider: auto, cpu or cuda'),
    GraphArgument('realtime_priority', '20', 'SCHED_FIFO priority of the policy control thread (1..99; 0 = normal '
                                            'scheduling; needs CAP_SYS_NICE)'),
    GraphArgument('record', 'false', 'true: also start the recorder (episodes as bags, driven by /episode/events)'),
    GraphArgument('output_dir', 'data/policy_episodes', 'recorder data directory (with record:=true)'),
    GraphArgument('stats_file', '', 'CSV of every control tick\'s timing, written by the policy at shutdown'),
    GraphArgument('config', '', 'extra YAML parameter file for all nodes (ros__parameters per node name), '
                                'e.g. robot topic remaps or safety limits for sim:=false'),
    FOXGLOVE_ARGUMENT,
)
ARGUMENT_NAMES = tuple(a.name for a in ARGUMENTS)


def _bool(name, value):
    text = str(value).strip().lower()
    if text in ('true', '1', 'yes', 'on'):
        return True
    if text in ('false', '0', 'no', 'off'):
        return False
    raise ValueError(f'argument {name}: expected true or false, got {value!r}')


def resolve_arguments(args):
    """Defaults filled in, values typed and checked; errors name the argument."""
    unknown = sorted(set(args) - set(ARGUMENT_NAMES))
    if unknown:
        raise ValueError(f'unknown argument(s) {unknown}; known: {list(ARGUMENT_NAMES)}')
    raw = {a.name: a.default for a in ARGUMENTS}
    raw.update({k: v for k, v in args.items() if v is not None})
    if not raw['contract']:
        raise ValueError('argument contract: expected the path of a contract.yaml (from the training export)')
    contract_path = os.path.abspath(os.path.expanduser(str(raw['contract'])))
    try:
        seed = int(raw['seed'])
    except ValueError:
        raise ValueError(f'argument seed: expected an integer, got {raw["seed"]!r}') from None
    if raw['execution_provider'] not in ('auto', 'cpu', 'cuda'):
        raise ValueError(f'argument execution_provider: expected auto, cpu or cuda, got {raw["execution_provider"]!r}')
    try:
        priority = int(raw['realtime_priority'])
    except ValueError:
        raise ValueError(f'argument realtime_priority: expected an integer, got {raw["realtime_priority"]!r}') from None
    if not 0 <= priority <= 99:
        raise ValueError(f'argument realtime_priority: expected 0..99, got {priority}')
    if raw['config'] and not Path(raw['config']).is_file():
        raise ValueError(f'argument config: no such file {raw["config"]}')
    return {
        'contract': contract_path, 'contract_obj': PolicyContract.load(contract_path),
        'sim': _bool('sim', raw['sim']), 'task': str(raw['task']), 'seed': seed,
        'start_in_estop': _bool('start_in_estop', raw['start_in_estop']),
        'execution_provider': str(raw['execution_provider']), 'realtime_priority': priority,
        'record': _bool('record', raw['record']),
        'output_dir': os.path.abspath(os.path.expanduser(str(raw['output_dir']))),
        'stats_file': os.path.abspath(raw['stats_file']) if raw['stats_file'] else '',
        'config': os.path.abspath(raw['config']) if raw['config'] else '',
        'foxglove_port': foxglove_port(raw['foxglove_port']),
    }


def policy_config_file():
    """The installed config/policy.yaml (the documented defaults), or the source tree's copy."""
    try:
        from ament_index_python.packages import get_package_share_directory
        path = Path(get_package_share_directory('rlhf_policy')) / 'config' / 'policy.yaml'
        if path.is_file():
            return str(path)
    except (ImportError, LookupError, ValueError):
        pass
    return str(Path(__file__).resolve().parents[1] / 'config' / 'policy.yaml')


def graph_cameras(values):
    """The cameras the graph publishes: the contract's, and the scene camera for a simulated state-only policy.

    The scene camera lets recorded episodes of a state-only policy be shown to annotators.
    """
    cameras = [c.name for c in values['contract_obj'].observation.cameras]
    return cameras or (['scene_camera'] if values['sim'] else [])


def recorded_topics(values):
    """What an evaluation episode bag holds: the same streams as a demonstration."""
    cameras = graph_cameras(values)
    topics = ['/joint_states', '/arm_controller/commands', '/gripper_controller/commands', '/policy/status']
    for cam in cameras:
        topics += [f'/{cam}/color', f'/{cam}/depth', f'/{cam}/camera_info']
    if values['sim']:
        topics.append('/rlhf_sim/task_state')
    return topics


def deploy_graph(args):
    """The nodes of a deployment for the given arguments (names of ``ARGUMENTS``; strings or typed)."""
    v = resolve_arguments(args)
    extra = [v['config']] if v['config'] else []
    specs = []
    if v['sim']:
        specs.append(NodeSpec('rlhf_sim', 'sim', 'sim', parameter_files=list(extra), parameters={
            'task': v['task'], 'cameras': graph_cameras(v), 'seed': v['seed']}))
    specs.append(NodeSpec('rlhf_policy', 'policy', 'policy', parameter_files=[policy_config_file()] + extra,
                          parameters={'contract': v['contract'], 'start_in_estop': v['start_in_estop'],
                                      'execution_provider': v['execution_provider'], 'stats_file': v['stats_file'],
                                      'realtime_priority': v['realtime_priority']}))
    if v['record']:
        specs.append(NodeSpec('rlhf_recorder', 'recorder', 'recorder', parameter_files=list(extra), parameters={
            'data_dir': v['output_dir'], 'topics': recorded_topics(v), 'events_topic': '/episode/events'}))
    specs += live_view_specs(v['foxglove_port'], recorded_topics(v) + ['/episode/events'], extra)
    return specs
