# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""config/<node>.yaml documents every parameter of its node with its default value and type."""

from pathlib import Path

import pytest

from rlhf_common.node import check_parameter_file
from rlhf_sim import piano_node, sim_node

CONFIG_DIR = Path(__file__).resolve().parents[1] / 'config'


@pytest.mark.parametrize('node, module', [('sim', sim_node), ('piano', piano_node)])
def test_config_matches_node_defaults(node, module):
    assert check_parameter_file(CONFIG_DIR / f'{node}.yaml', node, module.PARAMETERS) == []

