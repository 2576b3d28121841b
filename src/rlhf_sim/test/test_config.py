# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""config/sim.yaml documents every parameter of the node with its default value and type."""

from pathlib import Path

import yaml

from rlhf_sim.sim_node import PARAMETERS

CONFIG = Path(__file__).resolve().parents[1] / 'config' / 'sim.yaml'


def test_config_matches_node_defaults():
    params = yaml.safe_load(CONFIG.read_text())['sim']['ros__parameters']
    assert set(params) == set(PARAMETERS), f'{CONFIG}: parameters differ from sim_node.PARAMETERS'
    for name, default in PARAMETERS.items():
        assert type(params[name]) is type(default), f'{CONFIG}: {name} has type {type(params[name]).__name__}'
        assert params[name] == default, f'{CONFIG}: {name} = {params[name]!r}, node default {default!r}'
