# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""config/policy.yaml documents every parameter of the policy node with its default value and type."""

from pathlib import Path

from rlhf_common.node import check_parameter_file
from rlhf_policy.policy_node import PARAMETERS

CONFIG = Path(__file__).resolve().parents[1] / 'config' / 'policy.yaml'


def test_config_matches_node_defaults():
    assert check_parameter_file(CONFIG, 'policy', PARAMETERS) == []


def test_the_piano_settings_are_policy_parameters_of_their_types():
    from rlhf_policy.graph import piano_policy_parameters
    overrides = piano_policy_parameters()
    assert overrides, 'config/policy_piano.yaml changes nothing'
    for name, value in overrides.items():   # a typo or an int for a double would only fail when the node starts
        assert name in PARAMETERS and type(value) is type(PARAMETERS[name]), (name, value)
