# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""The shipped YAML configs load, and document exactly the dataclass defaults."""

from pathlib import Path

import pytest

from rlhf_training.config import CONFIGS, ConfigError, load_config

CONFIG_DIR = Path(__file__).resolve().parents[1] / 'config'


@pytest.mark.parametrize('algorithm', ['bc', 'reward', 'cpl', 'sac', 'rl'])
def test_shipped_config_equals_documented_defaults(algorithm):
    config = load_config(CONFIG_DIR / f'{algorithm}.yaml')
    assert config == CONFIGS[algorithm]()


def test_cpl_preset_is_the_piano_projects():
    cfg = load_config(CONFIG_DIR / 'cpl.yaml')
    assert (cfg.lr, cfg.batch_size, cfg.alpha, cfg.conservative_weight, cfg.lam) == (1e-4, 32, 0.1, 0.01, 0.5)


def test_bad_files_name_the_file(tmp_path):
    with pytest.raises(ConfigError, match='does not exist'):
        load_config(tmp_path / 'missing.yaml')
    bad = tmp_path / 'bad.yaml'
    bad.write_text('algorithm: [unclosed')
    with pytest.raises(ConfigError, match='bad.yaml: not valid YAML'):
        load_config(bad)
    bad.write_text('algorithm: dqn\n')
    with pytest.raises(ConfigError, match="algorithm must be one of .*'dqn'"):
        load_config(bad)
