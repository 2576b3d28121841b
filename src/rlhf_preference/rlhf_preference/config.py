# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""Documented defaults of the package's tools (mirrored with comments in config/preference.yaml) and their loader.

Every console script (make_pairs, server, export_preferences, annotate_scripted) takes ``--config FILE`` with any
subset of these keys, read by the workspace's one settings loader (``rlhf_common.settings``); flags win.
"""

from dataclasses import asdict, dataclass

from rlhf_common.settings import load_settings


@dataclass
class PreferenceConfig:
    # segments and pairs (make_pairs)
    segment_length_s: float = 2.5
    stride_s: float = 2.5
    num_pairs: int = 200
    strategy: str = 'uniform'
    pairing: str = 'any'
    camera: str = 'scene_camera'
    clip_fps: float = 10.0
    clip_width: int = 320
    # annotation (server)
    mode: str = 'pairwise'
    min_annotations_per_pair: int = 2
    lease_s: float = 600.0
    gold_every: int = 0
    host: str = '127.0.0.1'
    port: int = 8080
    server_threads: int = 8
    db_timeout_s: float = 60.0
    min_clip_size: str = '320x240'
    # export (export_preferences)
    agreement_threshold: float = 0.0
    label_mode: str = 'soft'
    rating_pairs: str = 'all'


DEFAULTS = asdict(PreferenceConfig())


def load_config(path=None) -> dict:
    """The defaults, overridden by the keys of the YAML file ``path``; unknown keys or wrong types are errors."""
    return asdict(load_settings(PreferenceConfig, path))
