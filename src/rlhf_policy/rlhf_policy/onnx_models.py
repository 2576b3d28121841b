# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""Small untrained ONNX policies that match a contract, built with onnx.helper (no torch needed).

For wiring checks, the node's fault tests and the control-loop benchmark. The graph honours the
contract's inputs: per camera a strided convolution stack (or global average pooling), concatenated
with ``proprio``, an MLP, and ``tanh`` -> ``action`` (B, 8) in [-1, 1], like the trained policies.
"""

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from rlhf_policy.contract import PROPRIO_INPUT

OPSET = 17


def build_policy_model(contract, path, hidden=64, conv_channels=(), seed=0, nan_weights=False):
    """Write an ONNX model for ``contract`` to ``path`` and return the path.

    conv_channels: output channels of 3x3 stride-2 ReLU convolutions per camera before global average
    pooling (empty: pooling only). nan_weights: every weight is NaN (the output is NaN for any input).
    """
    rng = np.random.default_rng(seed)
    nodes, inits, inputs = [], [], []
    features, width = [], 0

    def weight(name, shape, scale):
        value = (rng.standard_normal(shape) * scale).astype(np.float32)
        if nan_weights:
            value[...] = np.nan
        inits.append(numpy_helper.from_array(value, name))
        return name

    for name in contract.onnx_inputs:
        if name == PROPRIO_INPUT:
            dim = contract.observation.proprio_dim
            inputs.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, ['batch', dim]))
            features.append(name)
            width += dim
            continue
        cam = contract.observation.camera(name)
        inputs.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, ['batch', *cam.shape]))
        x, channels = name, cam.channels
        for i, out_ch in enumerate(conv_channels):
            w = weight(f'{name}_conv{i}_w', (out_ch, channels, 3, 3), np.sqrt(2.0 / (9 * channels)))
            b = weight(f'{name}_conv{i}_b', (out_ch,), 0.01)
            nodes.append(helper.make_node('Conv', [x, w, b], [f'{name}_conv{i}'], strides=[2, 2], pads=[1, 1, 1, 1]))
            nodes.append(helper.make_node('Relu', [f'{name}_conv{i}'], [f'{name}_relu{i}']))
            x, channels = f'{name}_relu{i}', out_ch
        nodes.append(helper.make_node('GlobalAveragePool', [x], [f'{name}_pool']))
        nodes.append(helper.make_node('Flatten', [f'{name}_pool'], [f'{name}_feat'], axis=1))
        features.append(f'{name}_feat')
        width += channels
    if len(features) > 1:
        nodes.append(helper.make_node('Concat', features, ['features'], axis=1))
        x = 'features'
    else:
        x = features[0]
    w1, b1 = weight('fc1_w', (width, hidden), np.sqrt(1.0 / width)), weight('fc1_b', (hidden,), 0.01)
    w2, b2 = weight('fc2_w', (hidden, 8), np.sqrt(1.0 / hidden)), weight('fc2_b', (8,), 0.01)
    nodes += [helper.make_node('MatMul', [x, w1], ['h1']), helper.make_node('Add', ['h1', b1], ['h1b']),
              helper.make_node('Relu', ['h1b'], ['h1r']), helper.make_node('MatMul', ['h1r', w2], ['h2']),
              helper.make_node('Add', ['h2', b2], ['h2b']),
              helper.make_node('Tanh', ['h2b'], [contract.onnx_output])]
    output = helper.make_tensor_value_info(contract.onnx_output, TensorProto.FLOAT, ['batch', 8])
    graph = helper.make_graph(nodes, 'rlhf_policy_synthetic', inputs, [output], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid('', OPSET)],
                              producer_name='rlhf_policy.onnx_models')
    model.ir_version = min(model.ir_version, 9)  # readable by older onnxruntime releases too
    onnx.checker.check_model(model)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(path))
    return path
