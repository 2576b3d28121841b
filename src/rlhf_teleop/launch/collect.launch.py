# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""Collect demonstrations: simulator (or the real robot's drivers), teleop and recorder.

    ros2 launch rlhf_teleop collect.launch.py device:=spacemouse task:=pick_place
    ros2 launch rlhf_teleop collect.launch.py device:=expert num_episodes:=20 output_dir:=data/demos
    ros2 launch rlhf_teleop collect.launch.py sim:=false device:=spacemouse config:=my_robot.yaml

Arguments and nodes come from rlhf_teleop.graph (ARGUMENTS, collect_graph), the same description the
``collect`` console script starts on installs without ``ros2 launch``; `ros2 launch ... --show-args` lists them.
With num_episodes:=N the launch ends once teleop has recorded N episodes.
"""

from rlhf_common.graph import launch_description
from rlhf_teleop.graph import ARGUMENTS, collect_graph


def generate_launch_description():
    return launch_description(ARGUMENTS, collect_graph)
