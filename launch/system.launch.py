# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""The whole system in one launch: collect demonstrations, or deploy a policy, on the simulator or the robot.

    ros2 launch launch/system.launch.py mode:=collect device:=spacemouse            # teleop + sim + recorder
    ros2 launch launch/system.launch.py mode:=deploy contract:=runs/cpl/export/contract.yaml sim:=false

Every other argument is passed through to rlhf_teleop/collect.launch.py (mode:=collect) or
rlhf_policy/deploy.launch.py (mode:=deploy), which declare and document them; those two files read the
same graph descriptions the embedded default's `collect` and `deploy` console scripts start.
"""

import os

from ament_index_python.packages import get_package_share_directory
from launch.actions import DeclareLaunchArgument, IncludeLaunchDescription
from launch.conditions import IfCondition
from launch.launch_description_sources import PythonLaunchDescriptionSource
from launch.substitutions import LaunchConfiguration, PythonExpression

from launch import LaunchDescription

MODES = {'collect': ('rlhf_teleop', 'collect.launch.py'), 'deploy': ('rlhf_policy', 'deploy.launch.py')}


def generate_launch_description():
    includes = [
        IncludeLaunchDescription(
            PythonLaunchDescriptionSource(os.path.join(get_package_share_directory(package), 'launch', file)),
            # (LaunchConfigurationEquals is deprecated on Jazzy; this form works on Humble and Jazzy alike)
            condition=IfCondition(PythonExpression(["'", LaunchConfiguration('mode'), f"' == '{mode}'"])))
        for mode, (package, file) in MODES.items()
    ]
    return LaunchDescription([
        DeclareLaunchArgument('mode', default_value='collect', choices=list(MODES),
                              description='collect: teleoperation + recorder; deploy: the ONNX policy node'),
        *includes,
    ])
