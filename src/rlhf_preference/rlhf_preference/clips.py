# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""Small browser-playable clips (H.264 MP4, yuv420p, faststart) of segments, cached by content hash.

A clip's file name is a hash of what it shows: the bytes of the episode's bag files, the time range, the
camera and the encoding settings. Re-rendering an unchanged segment is a no-op; a re-recorded episode
gets a new clip.
"""

from __future__ import annotations

from fractions import Fraction
import hashlib
import json
import os
from pathlib import Path

import av
import numpy as np
from tqdm import tqdm

CLIP_VERSION = 1   # bump when the encoding changes, so cached clips are re-rendered
_fingerprints = {}


def write_mp4(frames, path, fps=10.0, width=None, crf=26, audio=None, sample_rate=22050):
    """Encode ``frames`` ((T,H,W,3) uint8 RGB) as H.264 MP4 at ``path`` (written atomically).

    ``audio``: int16 stereo samples (N, 2) at ``sample_rate``, added as an AAC track starting with the video.
    """
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
        sound = None if audio is None else container.add_stream('aac', rate=int(sample_rate), layout='stereo')
        for image in frames:
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format='rgb24')
            frame = frame.reformat(width=out_w, height=out_h, format='yuv420p')
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
        if sound is not None:
            _mux_audio(container, sound, audio, int(sample_rate))
    os.replace(tmp, path)
    return path


def _mux_audio(container, stream, samples, sample_rate, block=1024):
    samples = np.ascontiguousarray(np.asarray(samples, dtype=np.int16).reshape(-1, 2))
    for start in range(0, len(samples), block):
        chunk = samples[start:start + block]
        frame = av.AudioFrame.from_ndarray(chunk.reshape(1, -1), format='s16', layout='stereo')
        frame.sample_rate = sample_rate
        frame.pts = start
        container.mux(stream.encode(frame))
    container.mux(stream.encode(None))


def episode_fingerprint(episode_path) -> str:
    """SHA-256 of the episode's bag files (memoised per file size and modification time)."""
    files = sorted(p for p in Path(episode_path).iterdir() if p.is_file())
    key = tuple((str(p), p.stat().st_size, p.stat().st_mtime_ns) for p in files)
    if key not in _fingerprints:
        digest = hashlib.sha256()
        for p in files:
            digest.update(p.name.encode())
            with open(p, 'rb') as f:
                for block in iter(lambda: f.read(1 << 20), b''):
                    digest.update(block)
        _fingerprints[key] = digest.hexdigest()
    return _fingerprints[key]


def clip_name(segment, camera='scene_camera', fps=10.0, width=320) -> str:
    content = {'episode': episode_fingerprint(segment.episode_path), 'start_s': segment.start_s,
               'end_s': segment.end_s, 'camera': camera, 'fps': fps, 'width': width, 'version': CLIP_VERSION}
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()[:20] + '.mp4'


def render_clip(segment, clip_dir, camera='scene_camera', fps=10.0, width=320) -> str:
    """Render one segment (unless its clip is cached); return the clip's file name inside ``clip_dir``."""
    from rlhf_recorder.reader import read_episode

    name = clip_name(segment, camera, fps, width)
    target = Path(clip_dir) / name
    if target.is_file():
        return name
    episode = read_episode(segment.episode_path, rate_hz=fps, cameras=[camera], start_s=segment.start_s,
                           end_s=segment.end_s, images=True)
    frames = episode.images.get(camera)
    if frames is None or len(frames) == 0:
        raise ValueError(f'{segment.episode_path}: no {camera!r} frames in {segment.start_s}-{segment.end_s} s '
                         f'(cameras recorded: {sorted(episode.images)})')
    write_mp4(frames, target, fps=fps, width=width)
    return name


def render_clips(segments, clip_dir, camera='scene_camera', fps=10.0, width=320) -> dict:
    """Render many segments with a progress bar; return ``{Segment: clip file name}``."""
    names, rendered = {}, 0
    for segment in tqdm(list(segments), desc='clips', unit='clip'):
        cached = (Path(clip_dir) / clip_name(segment, camera, fps, width)).is_file()
        names[segment] = render_clip(segment, clip_dir, camera, fps, width)
        rendered += int(not cached)
    print(f'clips: {len(names)} segments, {rendered} rendered, {len(names) - rendered} from cache in {clip_dir}')
    return names
