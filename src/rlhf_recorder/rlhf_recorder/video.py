# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""MP4 files of camera frames (H.264, yuv420p, faststart: every browser plays them), through PyAV.

Annotation clips (``rlhf_preference.clips``) and evaluation videos (``rlhf_policy.sim_rollout``) are written here.
"""

from fractions import Fraction
import os
from pathlib import Path

import av
import numpy as np


def write_mp4(frames, path, fps=10.0, width=None, crf=26):
    """Encode ``frames`` ((T,H,W,3) uint8 RGB) as H.264 MP4 at ``path`` (written atomically)."""
    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8 or len(frames) == 0:
        raise ValueError(f'{path}: expected frames of shape (T,H,W,3) uint8 with T >= 1, got '
                         f'{frames.shape} {frames.dtype}')
    height, src_width = frames.shape[1:3]
    width = src_width if width is None else min(int(width), src_width)
    out_w = max(2, width - width % 2)    # yuv420p needs even sizes
    out_h = max(2, round(height * out_w / src_width / 2) * 2)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.stem + '.tmp' + path.suffix)
    with av.open(str(tmp), mode='w', format='mp4', options={'movflags': '+faststart'}) as container:
        stream = container.add_stream('libx264', rate=Fraction(fps).limit_denominator(1000))
        stream.width, stream.height, stream.pix_fmt = out_w, out_h, 'yuv420p'
        stream.options = {'crf': str(crf), 'preset': 'veryfast', 'profile': 'main'}
        for image in frames:
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format='rgb24')
            frame = frame.reformat(width=out_w, height=out_h, format='yuv420p')
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    os.replace(tmp, path)
    return path
