# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""Console script `train`: `train --config config/bc.yaml [key=value ...]` (also `ros2 run rlhf_training train`).

The YAML file's `algorithm` picks the module: bc, reward, cpl (this module's configs, checked before any data is
read), or a module that provides `run_from_file(config_path, overrides) -> summary` (sac, rl).
Multi-process: `torchrun --nproc_per_node N $(which train) --config ...`; the global batch stays `batch_size`.
Exit codes: 0 done, 2 bad configuration or data, 3 non-finite gradients.
"""

import argparse
import importlib
from pathlib import Path
import sys

import yaml

ALGORITHM_MODULES = {'bc': 'rlhf_training.bc', 'chunk_bc': 'rlhf_training.chunk_bc', 'reward': 'rlhf_training.reward',
                     'cpl': 'rlhf_training.cpl', 'sac': 'rlhf_training.sac', 'rl': 'rlhf_training.rl'}


def _algorithm_of(path: str, overrides: list[str]) -> str:
    from rlhf_training.config import ConfigError, parse_override
    for item in overrides:
        key, value = parse_override(item)
        if key == 'algorithm':
            return str(value)
    try:
        data = yaml.safe_load(Path(path).read_text()) or {}
    except FileNotFoundError:
        raise ConfigError(f'config file {path} does not exist') from None
    except yaml.YAMLError as err:
        raise ConfigError(f'{path}: not valid YAML: {err}') from None
    if not isinstance(data, dict) or 'algorithm' not in data:
        raise ConfigError(f'{path}: missing key "algorithm" (one of {sorted(ALGORITHM_MODULES)})')
    return str(data['algorithm'])


def run_training(config_path: str, overrides: list[str] = ()) -> dict:
    """Load, check and run one training configuration; returns the summary."""
    from rlhf_training.config import CONFIGS, ConfigError, load_config
    from rlhf_training.distributed import init_distributed
    algorithm = _algorithm_of(config_path, list(overrides))
    if algorithm not in ALGORITHM_MODULES:
        raise ConfigError(f'{config_path}: algorithm must be one of {sorted(ALGORITHM_MODULES)}, got {algorithm!r}')
    module = importlib.import_module(ALGORITHM_MODULES[algorithm])
    if algorithm in CONFIGS:
        config = load_config(config_path, list(overrides))
        init_distributed(config.device)
        return module.run(config)
    if not hasattr(module, 'run_from_file'):
        raise ConfigError(f'algorithm {algorithm!r}: {module.__name__} has no run_from_file(config_path, overrides)')
    return module.run_from_file(config_path, list(overrides))


def main(args=None):
    parser = argparse.ArgumentParser(
        description='Train a policy or reward model (BC, Bradley-Terry reward, CPL, SAC, RL on a learned reward).',
        epilog='Overrides are key=value pairs parsed as YAML, e.g. steps=500 cameras=[] lr=1e-4.')
    parser.add_argument('--config', required=True, help='YAML config (see the package config/ folder)')
    parser.add_argument('overrides', nargs='*', help='key=value overrides of config keys')
    ns = parser.parse_args(args)

    from rlhf_training.config import ConfigError
    from rlhf_training.data import DataError
    from rlhf_training.distributed import current_info
    from rlhf_training.trainer import NonFiniteGradientError, print_summary
    bad_input = (ConfigError, DataError, FileNotFoundError, KeyError)
    try:
        from rlhf_policy.contract import ContractError
        bad_input += (ContractError,)
    except ImportError:
        pass
    is_main = True
    try:
        summary = run_training(ns.config, ns.overrides)
        is_main = current_info().is_main
    except bad_input as err:
        print(f'error: {err}', file=sys.stderr)
        return 2
    except NonFiniteGradientError as err:
        print(f'error: {err}', file=sys.stderr)
        return 3
    finally:
        import torch.distributed as dist
        if dist.is_available() and dist.is_initialized():
            dist.destroy_process_group()
    if is_main and isinstance(summary, dict):
        print_summary(summary)
    return 0


if __name__ == '__main__':
    sys.exit(main())
