# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""Helpers shared by the `run(config)` entry points of BC, reward learning and CPL."""

from pathlib import Path

import yaml

from rlhf_training.distributed import current_info


def contract_to_yaml(contract) -> str:
    return yaml.safe_dump(contract.to_dict(), sort_keys=False)


def contract_from_yaml(text: str):
    from rlhf_policy.contract import PolicyContract
    return PolicyContract.from_dict(yaml.safe_load(text))


def export_if_main(policy, contract, config, summary: dict) -> dict:
    """Write <out_dir>/export/policy.onnx + contract.yaml on the main process when config.export_onnx."""
    if not (config.export_onnx and current_info().is_main):
        return summary
    from rlhf_training.export import export_policy
    onnx_path = export_policy(policy, contract, Path(config.out_dir) / 'export',
                              metadata={'algorithm': config.algorithm, 'steps': summary['steps'],
                                        'checkpoint': summary['checkpoint']})
    summary['onnx'] = str(onnx_path)
    summary['contract'] = str(onnx_path.parent / 'contract.yaml')
    return summary
