# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""Deploy a policy: the simulator (sim:=true) or the real robot's topics (sim:=false), and the policy node.

    ros2 launch rlhf_policy deploy.launch.py contract:=runs/cpl/export/contract.yaml
    ros2 launch rlhf_policy deploy.launch.py contract:=.../contract.yaml sim:=false config:=my_robot.yaml

The nodes come from rlhf_policy.graph.deploy_graph, the same description the ``deploy`` console script
starts on installs without ``ros2 launch``. The arguments are graph.ARGUMENTS (a test keeps them identical).
"""

from launch.actions import DeclareLaunchArgument, OpaqueFunction
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node

from launch import LaunchDescription
from rlhf_policy.graph import ARGUMENT_NAMES, deploy_graph


def _nodes(context):
    specs = deploy_graph({name: LaunchConfiguration(name).perform(context) for name in ARGUMENT_NAMES})
    return [Node(package=s.package, executable=s.executable, name=s.name, output=s.output,
                 parameters=[*s.parameter_files, s.parameters], remappings=s.remappings) for s in specs]


def generate_launch_description():
    return LaunchDescription([
        DeclareLaunchArgument('contract', default_value='',
                              description='path of the policy contract.yaml (the model file is resolved next to it)'),
        DeclareLaunchArgument('sim', default_value='true',
                              description="true: start the MuJoCo simulator; false: only the policy, against the "
                                          "robot's own ros2_control and camera topics"),
        DeclareLaunchArgument('task', default_value='pick_place',
                              description='simulated task: pick_place, stack or insertion'),
        DeclareLaunchArgument('seed', default_value='0', description='seed of the simulated scene'),
        DeclareLaunchArgument('start_in_estop', default_value='false',
                              description='true: the policy commands nothing until /policy/resume'),
        DeclareLaunchArgument('execution_provider', default_value='auto',
                              description='ONNX Runtime provider: auto, cpu or cuda'),
        DeclareLaunchArgument('realtime_priority', default_value='20',
                              description='SCHED_FIFO priority of the policy control thread (1..99; 0 = normal '
                                          'scheduling; needs CAP_SYS_NICE)'),
        DeclareLaunchArgument('record', default_value='false',
                              description='true: also start the recorder (episodes as bags, driven by '
                                          '/episode/events)'),
        DeclareLaunchArgument('output_dir', default_value='data/policy_episodes',
                              description='recorder data directory (with record:=true)'),
        DeclareLaunchArgument('stats_file', default_value='',
                              description="CSV of every control tick's timing, written by the policy at shutdown"),
        DeclareLaunchArgument('config', default_value='',
                              description='extra YAML parameter file for all nodes (ros__parameters per node name), '
                                          'e.g. robot topic remaps or safety limits for sim:=false'),
        OpaqueFunction(function=_nodes),
    ])
