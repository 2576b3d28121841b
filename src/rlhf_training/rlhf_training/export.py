# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""Export a trained policy to ONNX together with its policy contract, and check the export.

`export_policy(policy, contract, out_dir)` writes `<out_dir>/policy.onnx` (inputs named as the contract's
onnx_inputs, float32 (B, C, H, W) per camera and (B, P) `proprio`; output `action`: (B, 8) = tanh(mean) of a
GaussianPolicy, or (B, horizon, 8) commands relative to the observation of a ChunkPolicy) and
`<out_dir>/contract.yaml`. It then checks itself: onnx.checker passes and ONNX Runtime matches torch on sample
inputs to `atol`; otherwise it raises ExportError and leaves no contract.yaml next to a bad model.

Console script `export`: `export --checkpoint runs/bc [--out DIR]`.
"""

import argparse
import copy
from pathlib import Path
import sys
import warnings

import numpy as np
import torch

from rlhf_training.models import ChunkActor, ChunkPolicy, DeterministicActor, GaussianPolicy

MODEL_FILE = 'policy.onnx'
CONTRACT_FILE = 'contract.yaml'
OPSET = 17


class ExportError(RuntimeError):
    """The exported model does not match the policy or the contract."""


def sample_inputs(shapes: dict, batch: int = 3, seed: int = 0) -> dict[str, np.ndarray]:
    """Random float32 inputs: images in [0, 1], proprio standard normal."""
    rng = np.random.default_rng(seed)
    return {name: (rng.random((batch, *shape)) if len(shape) == 3 else rng.normal(size=(batch, *shape)))
            .astype(np.float32) for name, shape in shapes.items()}


def actor_of(policy: GaussianPolicy | ChunkPolicy) -> torch.nn.Module:
    """The module the ONNX model is traced from: inputs positionally, output the exported action."""
    return ChunkActor(policy) if isinstance(policy, ChunkPolicy) else DeterministicActor(policy)


def check_onnx(policy: GaussianPolicy | ChunkPolicy, onnx_path: str | Path, shapes: dict,
               atol: float = 1e-4) -> float:
    """onnx.checker + ONNX Runtime vs torch on sample inputs; returns the max abs difference."""
    import onnx
    import onnxruntime as ort
    try:
        onnx.checker.check_model(str(onnx_path), full_check=True)
    except onnx.checker.ValidationError as err:
        raise ExportError(f'{onnx_path}: onnx.checker failed: {err}') from err
    session = ort.InferenceSession(str(onnx_path), providers=['CPUExecutionProvider'])
    names = [i.name for i in session.get_inputs()]
    if names != list(shapes):
        raise ExportError(f'{onnx_path}: model inputs {names} differ from the contract inputs {list(shapes)}')
    outputs = [o.name for o in session.get_outputs()]
    if outputs != ['action']:
        raise ExportError(f'{onnx_path}: model outputs {outputs}, expected ["action"]')
    worst = 0.0
    actor = actor_of(policy).eval()
    for seed in range(2):
        inputs = sample_inputs(shapes, batch=3, seed=seed)
        with torch.no_grad():
            expected = actor(*(torch.from_numpy(v) for v in inputs.values())).numpy()
        got = session.run(['action'], inputs)[0]
        if got.shape != expected.shape:
            raise ExportError(f'{onnx_path}: ONNX Runtime output shape {got.shape}, torch {expected.shape}')
        worst = max(worst, float(np.abs(got - expected).max()))
    if not worst <= atol:
        raise ExportError(f'{onnx_path}: ONNX Runtime differs from torch by {worst:.3g} (> {atol}) on sample inputs')
    return worst


def export_policy(policy: GaussianPolicy | ChunkPolicy, contract, out_dir: str | Path, opset: int = OPSET,
                  atol: float = 1e-4, metadata: dict | None = None) -> Path:
    """Write policy.onnx + contract.yaml into out_dir and verify them; returns the ONNX path."""
    if opset < 17:
        raise ExportError(f'opset must be >= 17, got {opset}')
    shapes = {k: tuple(v) for k, v in contract.input_shapes().items()}
    model_shapes = {k: tuple(v) for k, v in policy.encoder.shapes.items()}
    if list(shapes) != policy.input_names or shapes != {k: model_shapes[k] for k in shapes}:
        raise ExportError(f'policy inputs {model_shapes} (order {policy.input_names}) do not match the contract '
                          f'inputs {shapes} (order {list(shapes)})')
    output = (policy.horizon, policy.action_dim) if isinstance(policy, ChunkPolicy) else (policy.action_dim,)
    if output != contract.output_shape:
        raise ExportError(f'policy output {output} does not match the contract output {contract.output_shape} '
                          f'(contract chunk: {contract.chunk})')
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    onnx_path = out_dir / MODEL_FILE
    tmp_path = out_dir / (MODEL_FILE + '.tmp')
    cpu_policy = copy.deepcopy(policy).cpu().eval()
    actor = actor_of(cpu_policy)
    example = tuple(torch.from_numpy(v) for v in sample_inputs(shapes, batch=2).values())
    dynamic = {name: {0: 'batch'} for name in [*shapes, 'action']}
    with warnings.catch_warnings():  # the TorchScript exporter (no onnxscript needed) warns that it is legacy
        warnings.simplefilter('ignore', DeprecationWarning)
        torch.onnx.export(actor, example, str(tmp_path), input_names=list(shapes), output_names=['action'],
                          dynamic_axes=dynamic, opset_version=opset, dynamo=False)
    try:
        diff = check_onnx(cpu_policy, tmp_path, shapes, atol)
    except ExportError:
        tmp_path.unlink(missing_ok=True)
        raise
    tmp_path.replace(onnx_path)
    contract = copy.deepcopy(contract)
    contract.model_file = MODEL_FILE
    contract.onnx_output = 'action'
    contract.metadata = {**contract.metadata, **(metadata or {}), 'onnx_opset': opset, 'onnx_max_abs_diff': diff}
    contract.save(out_dir / CONTRACT_FILE)
    return onnx_path


def export_checkpoint(checkpoint: str | Path, out_dir: str | Path | None = None) -> Path:
    """Export the policy of a training checkpoint (file or run directory) with its saved contract."""
    import tempfile

    from rlhf_policy.contract import PolicyContract
    from rlhf_training.checkpoint import load_policy
    from rlhf_training.trainer import load_checkpoint
    state = load_checkpoint(checkpoint)
    policy, contract_yaml = load_policy(state)
    if not contract_yaml:
        raise ExportError(f'{checkpoint}: the checkpoint holds no policy contract (trained on plain arrays?)')
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / CONTRACT_FILE
        path.write_text(contract_yaml)
        contract = PolicyContract.load(path)
    if out_dir is None:
        out_dir = Path(state['config'].get('out_dir', '.')) / 'export'
    return export_policy(policy, contract, out_dir, metadata={'checkpoint': str(checkpoint), 'step': state['step'],
                                                              'algorithm': state.get('algorithm', '')})


def main(args=None):
    parser = argparse.ArgumentParser(description='Export a trained policy checkpoint to ONNX + policy contract.')
    parser.add_argument('--checkpoint', required=True, help='checkpoint file, or a run directory (uses latest)')
    parser.add_argument('--out', default=None, help='output folder (default: <run out_dir>/export)')
    ns = parser.parse_args(args)
    try:
        path = export_checkpoint(ns.checkpoint, ns.out)
    except (ExportError, FileNotFoundError, KeyError, ValueError) as err:
        print(f'export failed: {err}', file=sys.stderr)
        return 1
    print(f'wrote {path} and {path.parent / CONTRACT_FILE}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
