# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""config/recorder.yaml documents every parameter of the node with its default value and type."""

from pathlib import Path

from rlhf_common.node import check_parameter_file
from rlhf_recorder.recorder_node import PARAMETERS

CONFIG = Path(__file__).resolve().parents[1] / 'config' / 'recorder.yaml'


def test_config_matches_node_defaults():
    assert check_parameter_file(CONFIG, 'recorder', PARAMETERS) == []
