# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""Documented defaults of the package (mirrored with comments in config/preference.yaml) and their loader."""

from pathlib import Path

import yaml

DEFAULTS = {
    'segment_length_s': 2.5,
    'stride_s': 2.5,
    'num_pairs': 200,
    'strategy': 'uniform',
    'pairing': 'any',
    'camera': 'scene_camera',
    'clip_fps': 10.0,
    'clip_width': 320,
    'mode': 'pairwise',
    'min_annotations_per_pair': 2,
    'lease_s': 600.0,
    'gold_every': 0,
    'host': '127.0.0.1',
    'port': 8080,
    'server_threads': 8,
    'db_timeout_s': 60.0,
    'min_clip_size': '320x240',
    'agreement_threshold': 0.0,
    'label_mode': 'soft',
    'rating_pairs': 'all',
}


def load_config(path=None) -> dict:
    """Defaults, overridden by the keys of the YAML file ``path``; unknown keys or wrong types are errors."""
    config = dict(DEFAULTS)
    if path is None:
        return config
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding='utf-8')) or {}
    except (OSError, yaml.YAMLError) as err:
        raise ValueError(f'{path}: cannot read configuration ({err})') from None
    if not isinstance(data, dict):
        raise ValueError(f'{path}: expected a mapping of settings')
    for key, value in data.items():
        if key not in DEFAULTS:
            raise ValueError(f'{path}: {key}: unknown setting (known: {", ".join(sorted(DEFAULTS))})')
        expected = type(DEFAULTS[key])
        if expected is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, expected) or isinstance(value, bool):
            raise ValueError(f'{path}: {key}: expected {expected.__name__}, got {value!r}')
        config[key] = value
    return config
