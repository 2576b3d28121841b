# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""config/<node>.yaml documents every parameter of its node with its default value and type."""

from pathlib import Path

import pytest
import yaml

from rlhf_sim import piano_node, sim_node

CONFIG_DIR = Path(__file__).resolve().parents[1] / 'config'


@pytest.mark.parametrize('node, module', [('sim', sim_node), ('piano', piano_node)])
def test_config_matches_node_defaults(node, module):
    config = CONFIG_DIR / f'{node}.yaml'
    params = yaml.safe_load(config.read_text())[node]['ros__parameters']
    assert set(params) == set(module.PARAMETERS), f'{config}: parameters differ from the node\'s PARAMETERS'
    for name, default in module.PARAMETERS.items():
        assert type(params[name]) is type(default), f'{config}: {name} has type {type(params[name]).__name__}'
        assert params[name] == default, f'{config}: {name} = {params[name]!r}, node default {default!r}'
