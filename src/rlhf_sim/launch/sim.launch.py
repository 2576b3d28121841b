# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""Start the MuJoCo Panda simulator alone (parameters from config/sim.yaml; arguments override them).

    ros2 launch rlhf_sim sim.launch.py task:=stack seed:=3
    ros2 launch rlhf_sim sim.launch.py publish_clock:=true

Without ``ros2 launch`` (the embedded default): ``install/rlhf_sim/lib/rlhf_sim/sim --ros-args
--params-file src/rlhf_sim/config/sim.yaml -p task:=stack``.
"""

import os

from ament_index_python.packages import get_package_share_directory
from launch.actions import DeclareLaunchArgument
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node

from launch import LaunchDescription

ARGUMENTS = {
    'task': ('pick_place', 'task: pick_place, stack, insertion or reach'),
    'seed': ('0', 'object pose seed of the first episode; -1 draws one'),
    'camera_width': ('128', 'camera image width in pixels'),
    'camera_height': ('96', 'camera image height in pixels'),
    'camera_rate': ('30.0', 'camera frame rate, Hz'),
    'publish_clock': ('false', 'publish simulated time on /clock and stamp headers with it'),
}


def generate_launch_description():
    config = os.path.join(get_package_share_directory('rlhf_sim'), 'config', 'sim.yaml')
    overrides = {name: LaunchConfiguration(name) for name in ARGUMENTS}
    return LaunchDescription([
        *[DeclareLaunchArgument(name, default_value=default, description=text)
          for name, (default, text) in ARGUMENTS.items()],
        Node(package='rlhf_sim', executable='sim', name='sim', output='screen', parameters=[config, overrides]),
    ])
