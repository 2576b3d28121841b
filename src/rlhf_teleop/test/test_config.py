# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""config/teleop.yaml documents every parameter of the node with its default value and type."""

from pathlib import Path

from rlhf_common.node import check_parameter_file
from rlhf_teleop.teleop_node import PARAMETERS

CONFIG = Path(__file__).resolve().parents[1] / 'config' / 'teleop.yaml'


def test_config_matches_node_defaults():
    assert check_parameter_file(CONFIG, 'teleop', PARAMETERS) == []
