# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""ONNX Runtime session for a policy contract (pure; no ROS).

Provider choice: 'auto' uses CUDAExecutionProvider when onnxruntime-gpu is installed and sees a GPU,
CPUExecutionProvider otherwise; 'cpu' and 'cuda' force one (a forced 'cuda' without a GPU falls back to
CPU, and ``provider`` says what actually runs).
"""

from pathlib import Path

import numpy as np
import onnxruntime as ort


class ModelError(RuntimeError):
    """The model file cannot be loaded or does not match its contract."""


def choose_providers(preference='auto'):
    available = ort.get_available_providers()
    if preference not in ('auto', 'cpu', 'cuda'):
        raise ValueError(f"execution_provider: expected 'auto', 'cpu' or 'cuda', got {preference!r}")
    if preference != 'cpu' and 'CUDAExecutionProvider' in available:
        return ['CUDAExecutionProvider', 'CPUExecutionProvider']
    return ['CPUExecutionProvider']


class OnnxPolicy:
    """Runs the contract's model on assembled inputs and returns the (8,) normalised action."""

    def __init__(self, model_path, contract, provider='auto', threads=1):
        self.model_path = Path(model_path)
        if not self.model_path.is_file():
            raise ModelError(f'{self.model_path}: model file not found (model_file of the contract, '
                             f'relative to contract.yaml)')
        options = ort.SessionOptions()
        # Few threads: the control loop shares a small CPU with the simulator and the cameras.
        options.intra_op_num_threads = max(1, int(threads))
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        try:
            self.session = ort.InferenceSession(str(self.model_path), sess_options=options,
                                                providers=choose_providers(provider))
        except Exception as err:  # onnxruntime raises its own exception types
            raise ModelError(f'{self.model_path}: ONNX Runtime cannot load the model: {err}') from err
        self.provider = self.session.get_providers()[0]
        model_inputs = {i.name: i for i in self.session.get_inputs()}
        outputs = [o.name for o in self.session.get_outputs()]
        if contract.onnx_output not in outputs:
            raise ModelError(f'{self.model_path}: the contract\'s onnx_output {contract.onnx_output!r} is not an '
                             f'output of the model (outputs: {outputs})')
        self.output_name = contract.onnx_output
        # Inputs the model needs that the contract does not provide: the node holds (never guesses them).
        self.missing_inputs = sorted(n for n in model_inputs if n not in contract.onnx_inputs)
        self.input_names = [n for n in contract.onnx_inputs if n in model_inputs]
        self.shape_errors = []
        for name, shape in contract.input_shapes().items():
            if name in model_inputs:
                declared = model_inputs[name].shape[1:]
                if len(declared) != len(shape) or any(isinstance(d, int) and d != s for d, s in zip(declared, shape)):
                    self.shape_errors.append(f'input {name!r}: model expects (B, {declared}), contract gives {shape}')
        declared = next(o for o in self.session.get_outputs() if o.name == self.output_name).shape[1:]
        expected = contract.output_shape
        if len(declared) != len(expected) or any(isinstance(d, int) and d != e for d, e in zip(declared, expected)):
            self.shape_errors.append(f'output {self.output_name!r}: model gives (B, {declared}), contract expects '
                                     f'{expected} (chunk: {contract.chunk})')
        self.output_shape = expected
        self._feed = {}

    def run(self, inputs):
        """inputs: {name: float32 array with batch dim 1} -> (8,) action or (horizon, 8) chunk (may hold NaN/inf)."""
        feed = self._feed
        for name in self.input_names:
            feed[name] = inputs[name]
        return np.asarray(self.session.run([self.output_name], feed)[0]).reshape(self.output_shape)
