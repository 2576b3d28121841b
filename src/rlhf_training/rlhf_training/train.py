# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""Console script `train`: `train --config config/bc.yaml [key=value ...]` (also `ros2 run rlhf_training train`).

The YAML file's `algorithm` picks the config class (rlhf_training.config.CONFIGS, checked before any data is read)
and the module whose `run(config) -> summary` trains it: bc, reward, cpl, sac, rl.
Multi-process: `torchrun --nproc_per_node N $(which train) --config ...`; the global batch stays `batch_size`.
Exit codes: 0 done, 2 bad configuration or data, 3 non-finite gradients.
"""

import argparse
import importlib
import sys

ALGORITHM_MODULES = {'bc': 'rlhf_training.bc', 'chunk_bc': 'rlhf_training.chunk_bc', 'reward': 'rlhf_training.reward',
                     'cpl': 'rlhf_training.cpl', 'sac': 'rlhf_training.sac', 'rl': 'rlhf_training.rl'}


def run_training(config_path: str, overrides: list[str] = ()) -> dict:
    """Load, check and run one training configuration; returns the summary."""
    from rlhf_training.config import ConfigError, load_config
    from rlhf_training.distributed import init_distributed
    config = load_config(config_path, list(overrides))
    if config.algorithm not in ALGORITHM_MODULES:
        raise ConfigError(f'{config_path}: algorithm {config.algorithm!r} has no training module; '
                          f'expected one of {sorted(ALGORITHM_MODULES)}')
    module = importlib.import_module(ALGORITHM_MODULES[config.algorithm])
    if config.algorithm not in ('sac', 'rl'):   # SAC's per-step updates run in one process
        init_distributed(config.device)
    return module.run(config)


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
