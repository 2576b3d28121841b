# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""Small browser-playable clips (H.264 MP4, yuv420p, faststart) of segments, cached by content hash.

A clip's file name is a hash of what it shows: the bytes of the episode's bag files, the time range, the
camera and the encoding settings. Re-rendering an unchanged segment is a no-op; a re-recorded episode
gets a new clip.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from tqdm import tqdm

from rlhf_recorder.video import write_mp4

CLIP_VERSION = 2   # bump when what a clip shows changes, so cached clips are re-rendered (2: [start, end))
_fingerprints = {}


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
    if frames is not None:
        frames = frames[segment.frames(episode.times)]   # the reader's window includes end_s; a segment does not
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
