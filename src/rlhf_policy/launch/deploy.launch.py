# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""Deploy a policy: the simulator (sim:=true) or the real robot's topics (sim:=false), and the policy node.

    ros2 launch rlhf_policy deploy.launch.py contract:=runs/cpl/export/contract.yaml
    ros2 launch rlhf_policy deploy.launch.py contract:=.../contract.yaml sim:=false config:=my_robot.yaml

Arguments and nodes come from rlhf_policy.graph (ARGUMENTS, deploy_graph), the same description the
``deploy`` console script starts on installs without ``ros2 launch``; `ros2 launch ... --show-args` lists them.
"""

from rlhf_common.graph import launch_description
from rlhf_policy.graph import ARGUMENTS, deploy_graph


def generate_launch_description():
    return launch_description(ARGUMENTS, deploy_graph)
