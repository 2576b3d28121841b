# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""The collection graph: simulator (or the robot's own drivers), teleop and recorder.

``collect_graph(args)`` turns the documented arguments (``ARGUMENTS``) into a list of ``rlhf_common.graph.NodeSpec``:
the simulator (unless ``sim`` is false: then the robot's own ros2_control and camera drivers are expected),
optionally the device driver, the teleop node and the recorder. ``launch/collect.launch.py`` is its ``ros2 launch``
form; the ``collect`` console script (the embedded default, where ``ros2 launch`` does not exist) starts the same
specs with ``rlhf_common.supervisor.run_graph``. With ``num_episodes`` > 0 the graph ends when teleop has recorded
them.
"""

from pathlib import Path

import yaml

from rlhf_common import topics
from rlhf_common.graph import (
    GraphArgument,
    NodeSpec,
    config_file_argument,
    package_config_file,
    package_defaults,
    resolve_arguments,
)

ARGUMENTS = (
    GraphArgument('sim', 'true', 'true: start the MuJoCo simulator; false: use the robot\'s own ros2_control '
                                 'and camera drivers (topic names from the config file)', kind='bool'),
    GraphArgument('task', 'pick_place', 'task: pick_place, stack, insertion or reach',
                  choices=('pick_place', 'stack', 'insertion', 'reach')),
    GraphArgument('device', 'expert', 'input device: spacemouse, gamepad, keyboard, pose or expert',
                  choices=('spacemouse', 'gamepad', 'keyboard', 'pose', 'expert')),
    GraphArgument('num_episodes', '0', 'episodes to record unattended, then stop (expert); 0 = interactive',
                  kind='int', minimum=0),
    GraphArgument('output_dir', 'data/demos', 'data directory: episodes/<episode_id>/ bags and catalog.sqlite',
                  kind='path'),
    GraphArgument('cameras', 'scene_camera,wrist_camera', 'comma-separated camera names; each publishes '
                                                          '<name>/color, <name>/depth and <name>/camera_info',
                  kind='names'),
    GraphArgument('camera_width', '', 'simulated camera image width in pixels ("" = the simulator\'s default)',
                  kind='int', minimum=1, optional=True),
    GraphArgument('camera_height', '', 'simulated camera image height in pixels ("" = the simulator\'s default)',
                  kind='int', minimum=1, optional=True),
    GraphArgument('operator_name', '', 'who drives (stored with every episode); default: user name or expert'),
    GraphArgument('expert_noise', '0.0', 'std of the scripted expert\'s twist perturbation', kind='float',
                  minimum=0.0),
    GraphArgument('expert_aim_offset', '0,0,0', 'x,y,z in m: where the scripted expert aims off the goal '
                                                '(a sloppy operator\'s systematic error)', kind='vector', size=3),
    GraphArgument('seed', '0', 'seed of the first episode\'s scene (the next ones count up)', kind='int'),
    GraphArgument('scene_count', '0', 'unattended: scenes cycle through seed .. seed+scene_count-1 (several '
                                      'attempts per scene); 0 = a new scene every episode', kind='int', minimum=0),
    GraphArgument('episode_timeout_s', '30.0', 'unattended: an episode without success after this long is a '
                                               'failure', kind='float', minimum=0.1),
    GraphArgument('success_settle_s', '0.5', 'unattended: task success must hold this long to end an episode',
                  kind='float', minimum=0.0),
    GraphArgument('config', '', 'extra YAML parameter file for all nodes (ros__parameters per node name), '
                                'e.g. robot topic names for sim:=false', kind='path'),
    GraphArgument('start_driver', 'false', 'true: also start the device driver (spacenav_node or joy_node)',
                  kind='bool'),
)
DEVICE_DRIVERS = {'spacemouse': ('spacenav', 'spacenav_node', 'spacenav'), 'gamepad': ('joy', 'joy_node', 'joy')}


ROBOT_TOPICS = {'joint_states': topics.JOINT_STATES, 'arm_commands': topics.ARM_COMMANDS,
                'gripper_commands': topics.GRIPPER_COMMANDS}


def robot_topics(parameter_files: list) -> dict:
    """The teleop node's ``topics.*`` names for the robot, as its parameter files set them (later files win)."""
    names = dict(ROBOT_TOPICS)
    for path in parameter_files:
        try:
            content = yaml.safe_load(Path(path).read_text()) or {}
        except (OSError, yaml.YAMLError) as err:
            raise ValueError(f'parameter file {path}: cannot be read as YAML ({err})') from None
        for key in ('/**', 'teleop', '/teleop'):
            params = ((content.get(key) or {}).get('ros__parameters') or {}) if isinstance(content, dict) else {}
            nested = params.get('topics') if isinstance(params.get('topics'), dict) else {}
            for name in ROBOT_TOPICS:
                value = nested.get(name, params.get(f'topics.{name}'))
                if value:
                    names[name] = str(value)
    return names


def recorded_topics(values: dict, robot: dict | None = None) -> list:
    """Topics in every episode bag: proprioception, the commands (actions), cameras, and the sim's task state."""
    robot = robot or ROBOT_TOPICS
    recorded = [robot['joint_states'], robot['arm_commands'], robot['gripper_commands']]
    for camera in values['cameras']:
        recorded += topics.camera_topics(camera)
    if values['sim']:
        recorded.append(topics.TASK_STATE)
    return recorded


TELEOP_ARGUMENTS = ('device', 'task', 'num_episodes', 'operator_name', 'expert_noise', 'expert_aim_offset', 'seed',
                    'sim', 'scene_count', 'episode_timeout_s', 'success_settle_s')


def collect_graph(args: dict) -> list:
    """The nodes of a collection run for the given arguments (names of ``ARGUMENTS``; strings or typed)."""
    v = resolve_arguments(ARGUMENTS, args)
    extra_files = config_file_argument(v)
    specs = []
    if v['sim']:
        sim_parameters = {'task': v['task'], 'cameras': v['cameras'] or ['none'], 'seed': v['seed']}
        sim_parameters.update({name: v[name] for name in ('camera_width', 'camera_height') if v[name] is not None})
        specs.append(NodeSpec('rlhf_sim', 'sim', 'sim', parameters=sim_parameters,
                              parameter_files=package_defaults('rlhf_sim', 'sim.yaml') + extra_files))
    if v['start_driver'] and v['device'] in DEVICE_DRIVERS:
        package, executable, name = DEVICE_DRIVERS[v['device']]
        specs.append(NodeSpec(package, executable, name, parameter_files=list(extra_files)))
    teleop_files = [teleop_config_file()] + extra_files
    specs.append(NodeSpec('rlhf_teleop', 'teleop', 'teleop', parameter_files=teleop_files,
                          parameters={name: v[name] for name in TELEOP_ARGUMENTS},
                          ends_graph=v['num_episodes'] > 0))
    robot = robot_topics(teleop_files)
    recorded = recorded_topics(v, robot)
    # an episode starts once the observations flow; the commands are what it produces
    observed = [t for t in recorded if t not in (robot['arm_commands'], robot['gripper_commands'])]
    recorder_parameters = {'data_dir': v['output_dir'], 'topics': recorded, 'required_topics': observed,
                           'events_topic': topics.EPISODE_EVENTS}
    specs.append(NodeSpec('rlhf_recorder', 'recorder', 'recorder', parameters=recorder_parameters,
                          parameter_files=package_defaults('rlhf_recorder', 'recorder.yaml') + extra_files))
    return specs


def teleop_config_file() -> str:
    """rlhf_teleop's config/teleop.yaml."""
    return package_config_file('rlhf_teleop', 'teleop.yaml')
