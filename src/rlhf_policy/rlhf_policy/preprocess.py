# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""The one observation preprocessing implementation, shared by training and the policy node.

Per camera (``preprocess_camera``):
  1. RGB uint8 (H, W, 3) -> float32, resized to the contract's (height, width) by *area averaging*:
     every output pixel is the mean of the input area it covers, partial pixels weighted by their
     overlapping fraction (the same rule as OpenCV's INTER_AREA / PIL's BOX filter), implemented here in
     numpy as a rows pass then a columns pass, each a fixed-order weighted sum of a few gathered input
     rows/columns in float32, so training and node agree bit-for-bit. Equal sizes copy exactly.
  2. scaled to [0, 1] (divide by 255) and laid out channels-first (3, h, w).
  3. with ``use_depth``: depth (H, W) float32 metres; non-finite values (no return) become max_depth_m,
     then clipped to [0, max_depth_m], resized the same way and divided by max_depth_m -> 4th channel.
Proprioception (``preprocess_proprio``): the contract's fields concatenated in order (all joint
positions, then all joint velocities, joints in ``joint_names`` order), then the contract's
``state_features`` in their listed order (``state``: {name: (3,) / (8,) or (T, 3) / (T, 8)}, see
``rlhf_policy.contract.STATE_FEATURES``), then (x - mean) / max(std, 1e-3).

``preprocess`` (one frame, batch dim 1) and ``preprocess_batch`` (T frames) run the same per-frame
code, so they give identical tensors for the same inputs.

Observation history (the contract's ``observation.history`` = h > 1): every model input holds the frames of
this control tick and the h - 1 ticks before it, stacked oldest first along its first axis (camera channels,
the proprio vector); before an episode has h frames, its first frame fills the older slots. ``preprocess_batch``
stacks the T frames it is given (``stack_history``); a running policy feeds ``HistoryStack`` one frame per tick,
which gives the same arrays for the same frames (tested).
"""

from functools import lru_cache

import numpy as np

from rlhf_policy.contract import DERIVED_FEATURES, PROPRIO_INPUT

PROPRIO_STD_FLOOR = 1e-3  # std below this (a joint that never moved in the data) is treated as this
_INV_255 = np.float32(1.0 / 255.0)


class PreprocessError(ValueError):
    """An observation does not match the contract; the message names the camera/field and the expectation."""


@lru_cache(maxsize=64)
def area_weights(in_size, out_size):
    """(out_size, in_size) matrix whose rows average the input cells each output cell covers (float64)."""
    weights = np.zeros((out_size, in_size), dtype=np.float64)
    scale = in_size / out_size
    for o in range(out_size):
        start, end = o * scale, (o + 1) * scale
        first, last = int(np.floor(start)), min(int(np.ceil(end)), in_size)
        for i in range(first, last):
            weights[o, i] = min(end, i + 1) - max(start, i)
        weights[o] /= weights[o].sum()
    weights.flags.writeable = False
    return weights


@lru_cache(maxsize=64)
def area_taps(in_size, out_size):
    """The non-zero entries of ``area_weights`` as taps: indices (out, K) and float32 weights (out, K).

    Each output cell reads at most K = ceil(in/out) + 1 input cells; unused taps have weight 0.
    """
    weights = area_weights(in_size, out_size)
    nonzero = [np.flatnonzero(row) for row in weights]
    k = max(len(n) for n in nonzero)
    idx = np.zeros((out_size, k), dtype=np.intp)
    w = np.zeros((out_size, k), dtype=np.float32)
    for o, cols in enumerate(nonzero):
        idx[o, :len(cols)] = cols
        idx[o, len(cols):] = cols[-1]
        w[o, :len(cols)] = weights[o, cols]
    idx.flags.writeable = False
    w.flags.writeable = False
    return idx, w


def _resample(x, axis, out_size):
    """Area-resample float32 ``x`` along axis 0 or 1 (a weighted sum of K gathered slices, fixed order)."""
    idx, w = area_taps(x.shape[axis], out_size)
    shape = (-1,) + (1,) * (x.ndim - 1) if axis == 0 else (1, -1) + (1,) * (x.ndim - 2)
    out = np.take(x, idx[:, 0], axis=axis) * w[:, 0].reshape(shape)
    for k in range(1, idx.shape[1]):
        out += np.take(x, idx[:, k], axis=axis) * w[:, k].reshape(shape)
    return out


def resize_area(image, height, width):
    """Area-average resize: (H, W) -> (height, width), or (H, W, C) -> channels-first (C, height, width), float32."""
    img = np.asarray(image)
    h, w = img.shape[:2]
    out = img.astype(np.float32)
    if h != height:
        out = _resample(out, 0, height)
    if w != width:
        out = _resample(out, 1, width)
    return np.ascontiguousarray(out.transpose(2, 0, 1)) if out.ndim == 3 else out


def preprocess_color(spec, image, out):
    """RGB uint8 (H, W, 3) -> ``out`` float32 (3, h, w) in [0, 1]."""
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise PreprocessError(f'camera {spec.name!r}: expected an RGB uint8 image (H, W, 3), '
                              f'got {image.dtype} {image.shape}')
    np.multiply(resize_area(image, spec.height, spec.width), _INV_255, out=out)
    return out


def preprocess_depth(spec, depth, out):
    """Depth float32 metres (H, W) -> ``out`` float32 (h, w) in [0, 1] (non-finite = max_depth_m)."""
    depth = np.asarray(depth, dtype=np.float32)
    if depth.ndim == 3 and depth.shape[2] == 1:
        depth = depth[:, :, 0]
    if depth.ndim != 2:
        raise PreprocessError(f'camera {spec.name!r}: expected a depth image (H, W), got shape {depth.shape}')
    d = np.where(np.isfinite(depth), depth, np.float32(spec.max_depth_m))
    np.clip(d, np.float32(0.0), np.float32(spec.max_depth_m), out=d)
    np.multiply(resize_area(d, spec.height, spec.width), np.float32(1.0 / spec.max_depth_m), out=out)
    return out


def preprocess_camera(spec, image, depth=None, out=None):
    """One camera frame -> float32 (C, h, w) as the model sees it (``out`` is filled when given)."""
    if out is None:
        out = np.empty(spec.shape, dtype=np.float32)
    preprocess_color(spec, image, out[:3])
    if spec.use_depth:
        if depth is None:
            raise PreprocessError(f'camera {spec.name!r}: the contract uses depth but no depth image was given')
        if np.shape(depth)[:2] != np.shape(image)[:2]:
            raise PreprocessError(f'camera {spec.name!r}: expected a depth image (H, W) = {np.shape(image)[:2]}, '
                                  f'got {np.shape(depth)}')
        preprocess_depth(spec, depth, out[3])
    return out


def with_derived_state(observation_spec, joint_positions, state=None):
    """``state`` plus the derived features the spec lists (end_effector_position: FK of the arm joints)."""
    derived = [n for n in observation_spec.state_features if n in DERIVED_FEATURES]
    if not derived:
        return state
    from rlhf_policy.kinematics import arm_indices, end_effector_positions
    state = dict(state or {})
    pos = np.asarray(joint_positions, dtype=np.float64)
    state['end_effector_position'] = end_effector_positions(pos[..., arm_indices(observation_spec.joint_names)])
    return state


class ProprioNormaliser:
    """Precomputed (x - mean) / max(std, floor) for one observation spec (float32, no per-call allocation)."""

    def __init__(self, observation_spec):
        self.fields = observation_spec.proprio_fields
        self.state_features = {n: observation_spec.feature_size(n) for n in observation_spec.state_features}
        self._spec = observation_spec
        self.num_joints = len(observation_spec.joint_names)
        self.mean = np.asarray(observation_spec.proprio_mean, dtype=np.float32)
        self.inv_std = (1.0 / np.maximum(np.asarray(observation_spec.proprio_std, dtype=np.float64),
                                         PROPRIO_STD_FLOOR)).astype(np.float32)

    def __call__(self, joint_positions, joint_velocities, out=None, state=None):
        """(J,) or (T, J) positions/velocities (+ state features {name: (D,) or (T, D)}) -> float32 (P,) or (T, P)."""
        state = with_derived_state(self._spec, joint_positions, state)
        raw = assemble_proprio(self.fields, self.num_joints, joint_positions, joint_velocities,
                               self.state_features, state)
        if out is None:
            out = np.empty(raw.shape, dtype=np.float32)
        np.subtract(raw, self.mean, out=out)
        np.multiply(out, self.inv_std, out=out)
        return out


def assemble_proprio(fields, num_joints, joint_positions, joint_velocities, state_features=None, state=None):
    """Concatenate the joint fields, then the state features, along the last axis -> float32 (..., P).

    ``state_features``: {name: size} in order (``ObservationSpec.feature_size``).
    """
    parts = {'position': joint_positions, 'velocity': joint_velocities}
    arrays = []
    for name in fields:
        arr = np.asarray(parts[name], dtype=np.float32)
        if arr.shape[-1:] != (num_joints,):
            raise PreprocessError(f'proprio field {name!r}: expected {num_joints} values per frame '
                                  f'(the contract\'s joint_names), got shape {arr.shape}')
        arrays.append(arr)
    lead = arrays[0].shape[:-1]
    for name, size in (state_features or {}).items():
        if state is None or name not in state or state[name] is None:
            raise PreprocessError(f'state feature {name!r}: the contract observes it but the state has no '
                                  f'{name!r} (have {sorted(state or {})})')
        arr = np.asarray(state[name], dtype=np.float32)
        if arr.shape != lead + (size,):
            raise PreprocessError(f'state feature {name!r}: expected shape {lead + (size,)}, got {arr.shape}')
        arrays.append(arr)
    return np.concatenate(arrays, axis=-1)


def preprocess_proprio(observation_spec, joint_positions, joint_velocities, state=None):
    """(J,) or (T, J) joint positions/velocities (+ state features) -> normalised float32 (P,) or (T, P)."""
    return ProprioNormaliser(observation_spec)(joint_positions, joint_velocities, state=state)


def proprio_statistics(joint_positions, joint_velocities, proprio_fields=('position', 'velocity'),
                       std_floor=PROPRIO_STD_FLOOR, state_features=(), state=None):
    """Mean and std (floored) of the proprio vector over (N, J) arrays -> (mean (P,), std (P,)) float64.

    ``state_features`` / ``state`` ({name: (N, D)}): the contract's state features, appended in order.
    Pass the result to ``ObservationSpec(proprio_mean=..., proprio_std=...)`` when building a contract.
    """
    pos = np.asarray(joint_positions, dtype=np.float64)
    vel = np.asarray(joint_velocities, dtype=np.float64)
    if pos.ndim != 2 or pos.shape[0] == 0:
        raise PreprocessError(f'joint_positions: expected a non-empty (N, J) array, got shape {pos.shape}')
    if vel.shape != pos.shape:
        raise PreprocessError(f'joint_velocities: expected shape {pos.shape} like joint_positions, got {vel.shape}')
    parts = {'position': pos, 'velocity': vel}
    arrays = [parts[name] for name in proprio_fields]
    for name in state_features:
        arr = None if state is None else state.get(name)
        if arr is None:
            raise PreprocessError(f'state feature {name!r}: no values given (state has {sorted(state or {})})')
        arr = np.asarray(arr, dtype=np.float64)
        if arr.ndim != 2 or arr.shape[0] != pos.shape[0]:
            raise PreprocessError(f'state feature {name!r}: expected shape ({pos.shape[0]}, size), got {arr.shape}')
        arrays.append(arr)
    raw = np.concatenate(arrays, axis=1)
    if not np.all(np.isfinite(raw)):
        raise PreprocessError('joint_positions/joint_velocities/state: expected finite values (found NaN or inf)')
    return raw.mean(axis=0), np.maximum(raw.std(axis=0), std_floor)


def stack_history(frames, history):
    """(T, D, ...) consecutive frames -> (T, history * D, ...): row t holds frames t - history + 1 .. t, oldest first.

    Slots before the first frame repeat it (the running policy's ``HistoryStack`` does the same).
    """
    frames = np.asarray(frames)
    if history == 1:
        return frames
    idx = np.maximum(np.arange(len(frames))[:, None] + np.arange(1 - history, 1)[None], 0)   # (T, history)
    stacked = frames[idx]                                                                   # (T, history, D, ...)
    return stacked.reshape((len(frames), history * frames.shape[1]) + frames.shape[2:])


class HistoryStack:
    """The last ``history`` frames of every model input, for a running policy (batch dim 1, oldest first)."""

    def __init__(self, frame_shapes, history):
        """``frame_shapes``: {input: shape of one frame with batch dim 1, e.g. (1, 3, 64, 64)}."""
        self.history = int(history)
        self.inputs = {name: np.zeros((1, self.history * shape[1]) + tuple(shape[2:]), dtype=np.float32)
                       for name, shape in frame_shapes.items()}
        self.empty = True

    def reset(self):
        """Start a new history: the next frame fills every slot."""
        self.empty = True

    def push(self, frame):
        """Append this tick's frame {input: (1, D, ...)}; returns the stacked inputs {input: (1, history * D, ...)}."""
        for name, stacked in self.inputs.items():
            current = frame[name][0]
            size = current.shape[0]
            for slot in range(self.history - 1):   # oldest first; slot by slot, so no copy is allocated per tick
                start = slot * size
                stacked[0, start:start + size] = current if self.empty else stacked[0, start + size:start + 2 * size]
            stacked[0, -size:] = current
        self.empty = False
        return self.inputs


def _camera_frames(contract, images, depths, cam):
    if cam.name not in images:
        raise PreprocessError(f'camera {cam.name!r}: missing from the images (have {sorted(images)})')
    depth = None
    if cam.use_depth:
        if depths is None or cam.name not in depths:
            raise PreprocessError(f'camera {cam.name!r}: the contract uses depth but depths has no {cam.name!r}')
        depth = depths[cam.name]
    return images[cam.name], depth


def preprocess(contract, images, depths, joint_positions, joint_velocities, state=None):
    """One observation -> {onnx input name: float32 array with batch dim 1}, one frame (no history stacking).

    ``state``: {feature: (D,)} for the contract's ``observation.state_features`` (None when it lists none).
    """
    batch = {}
    for name in contract.onnx_inputs:
        if name == PROPRIO_INPUT:
            continue
        cam = contract.observation.camera(name)
        image, depth = _camera_frames(contract, images, depths, cam)
        batch[name] = preprocess_camera(cam, image, depth)[None]
    if PROPRIO_INPUT in contract.onnx_inputs:
        pos = np.asarray(joint_positions)
        vel = np.asarray(joint_velocities)
        if pos.ndim != 1 or vel.ndim != 1:
            raise PreprocessError(f'joint_positions/joint_velocities: expected (J,) arrays for one frame, '
                                  f'got {pos.shape} and {vel.shape} (use preprocess_batch for T frames)')
        batch[PROPRIO_INPUT] = preprocess_proprio(contract.observation, pos, vel, state)[None]
    return {name: batch[name] for name in contract.onnx_inputs}


def preprocess_batch(contract, images, depths, joint_positions, joint_velocities, state=None):
    """T consecutive observations -> {onnx input name: float32 array (T, ...)}.

    Frame t equals ``preprocess`` of frame t, stacked with the frames before it when the contract has observation
    history (``stack_history``). ``state``: {feature: (T, D)} for the contract's ``observation.state_features``.
    """
    batch = {}
    num_frames = None
    for name in contract.onnx_inputs:
        if name == PROPRIO_INPUT:
            continue
        cam = contract.observation.camera(name)
        frames, depth_frames = _camera_frames(contract, images, depths, cam)
        frames = np.asarray(frames)
        if frames.ndim != 4:
            raise PreprocessError(f'camera {cam.name!r}: expected (T, H, W, 3) frames, got shape {frames.shape}')
        if num_frames is None:
            num_frames = frames.shape[0]
        elif frames.shape[0] != num_frames:
            raise PreprocessError(f'camera {cam.name!r}: expected {num_frames} frames like the other inputs, '
                                  f'got {frames.shape[0]}')
        out = np.empty((frames.shape[0],) + cam.shape, dtype=np.float32)
        for t in range(frames.shape[0]):
            preprocess_camera(cam, frames[t], None if depth_frames is None else depth_frames[t], out=out[t])
        batch[name] = out
    if PROPRIO_INPUT in contract.onnx_inputs:
        pos = np.asarray(joint_positions)
        vel = np.asarray(joint_velocities)
        if pos.ndim != 2 or vel.ndim != 2:
            raise PreprocessError(f'joint_positions/joint_velocities: expected (T, J) arrays, '
                                  f'got {pos.shape} and {vel.shape}')
        if num_frames is not None and pos.shape[0] != num_frames:
            raise PreprocessError(f'joint_positions: expected {num_frames} frames like the images, got {pos.shape[0]}')
        batch[PROPRIO_INPUT] = preprocess_proprio(contract.observation, pos, vel, state)
    return {name: stack_history(batch[name], contract.observation.history) for name in contract.onnx_inputs}
