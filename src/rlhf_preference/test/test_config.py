# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""config/preference.yaml documents exactly the defaults the code uses; bad settings are named."""

from pathlib import Path

import pytest
import yaml

from rlhf_preference.config import DEFAULTS, load_config

CONFIG = Path(__file__).resolve().parents[1] / 'config' / 'preference.yaml'


def test_yaml_matches_defaults():
    assert yaml.safe_load(CONFIG.read_text()) == DEFAULTS
    assert load_config(CONFIG) == DEFAULTS


def test_bad_settings_are_named(tmp_path):
    bad = tmp_path / 'bad.yaml'
    bad.write_text('min_annotations_per_pair: two\n')
    with pytest.raises(ValueError, match='bad.yaml: min_annotations_per_pair must be int'):
        load_config(bad)
    bad.write_text('segment_lenght_s: 3\n')
    with pytest.raises(ValueError, match="bad.yaml: unknown key 'segment_lenght_s'"):
        load_config(bad)
    bad.write_text('segment_length_s: 3\n')
    assert load_config(bad)['segment_length_s'] == 3.0
