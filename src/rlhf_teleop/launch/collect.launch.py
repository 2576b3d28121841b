# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""Collect demonstrations: simulator (or the real robot's drivers), teleop and recorder.

    ros2 launch rlhf_teleop collect.launch.py device:=spacemouse task:=pick_place
    ros2 launch rlhf_teleop collect.launch.py device:=expert num_episodes:=20 output_dir:=data/demos
    ros2 launch rlhf_teleop collect.launch.py sim:=false device:=spacemouse config:=my_robot.yaml

The nodes come from rlhf_teleop.graph.collect_graph, the same description the ``collect`` console
script starts on installs without ``ros2 launch``. The arguments below are graph.ARGUMENTS (a test
keeps the two identical).
"""

from launch.actions import DeclareLaunchArgument, OpaqueFunction
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node

from launch import LaunchDescription
from rlhf_teleop.graph import ARGUMENT_NAMES, collect_graph


def _nodes(context):
    specs = collect_graph({name: LaunchConfiguration(name).perform(context) for name in ARGUMENT_NAMES})
    return [Node(package=s.package, executable=s.executable, name=s.name, output=s.output,
                 parameters=[*s.parameter_files, s.parameters], remappings=s.remappings) for s in specs]


def generate_launch_description():
    return LaunchDescription([
        DeclareLaunchArgument('sim', default_value='true',
                              description="true: start the MuJoCo simulator; false: use the robot's own "
                                          'ros2_control and camera drivers (topic names from the config file)'),
        DeclareLaunchArgument('task', default_value='pick_place',
                              description='task: pick_place, stack or insertion'),
        DeclareLaunchArgument('device', default_value='expert',
                              description='input device: spacemouse, gamepad, keyboard, pose or expert'),
        DeclareLaunchArgument('num_episodes', default_value='0',
                              description='episodes to record unattended, then stop (expert); 0 = interactive'),
        DeclareLaunchArgument('output_dir', default_value='data/demos',
                              description='data directory: episodes/<episode_id>/ bags and catalog.sqlite'),
        DeclareLaunchArgument('cameras', default_value='scene_camera,wrist_camera',
                              description='comma-separated camera names; each publishes <name>/color, '
                                          '<name>/depth and <name>/camera_info'),
        DeclareLaunchArgument('camera_width', default_value='',
                              description='simulated camera image width in pixels ("" = the simulator\'s default)'),
        DeclareLaunchArgument('camera_height', default_value='',
                              description='simulated camera image height in pixels ("" = the simulator\'s '
                                          'default)'),
        DeclareLaunchArgument('operator_name', default_value='',
                              description='who drives (stored with every episode); default: user name or expert'),
        DeclareLaunchArgument('expert_noise', default_value='0.0',
                              description="std of the scripted expert's twist perturbation"),
        DeclareLaunchArgument('seed', default_value='0',
                              description="seed of the first episode's scene (the next ones count up)"),
        DeclareLaunchArgument('config', default_value='',
                              description='extra YAML parameter file for all nodes (ros__parameters per node '
                                          'name), e.g. robot topic names for sim:=false'),
        DeclareLaunchArgument('start_driver', default_value='false',
                              description='true: also start the device driver (spacenav_node or joy_node)'),
        OpaqueFunction(function=_nodes),
    ])
