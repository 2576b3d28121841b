# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""Choosing which segment pairs people compare, and the pairs file that hands them to the server.

Strategies of :func:`select_pairs` (pairs are always two different segments of the same task; with
``group_of=same_start(...)`` only segments that start at the same time of two attempts at the same scene):

- ``uniform``: a random sample of the candidate pairs;
- ``diversity``: greedy k-center over pair features (built from cheap per-segment features read
  through the recorder's reader, without images), so the chosen pairs cover the space of behaviours;
- ``disagreement``: the pairs a plug-in ``scorer(segment_a, segment_b) -> float`` rates highest (the
  training package passes the disagreement of its reward-model ensemble).

Pairs file (JSON, ``version`` 1)::

    {"format": "rlhf_preference.pairs", "version": 1, "created_at": "...", "strategy": "uniform",
     "segment_length_s": 2.5, "clip_dir": "clips",            # relative to the pairs file
     "instructions": {"reach": "Which arm reached the green dot more precisely?"},   # optional, per task
     "pairs": [{"pair_id": "9f0c...", "task": "pick_place",
                "segment_a": {<Segment fields>}, "segment_b": {<Segment fields>},
                "clip_a": "<file in clip_dir>", "clip_b": "<file in clip_dir>",
                "gold": null | "left" | "right" | "equal"}]}
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timezone
import hashlib
import itertools
import json
import os
from pathlib import Path

import numpy as np

from rlhf_preference.segments import Segment, SegmentError, episode_exists
from rlhf_preference.store import GOLD_CHOICES, PairRecord

STRATEGIES = ('uniform', 'diversity', 'disagreement')
PAIRS_FORMAT = 'rlhf_preference.pairs'
PAIRS_VERSION = 1


class PairsFileError(ValueError):
    """A pairs file that cannot be used; the message names the file and the field."""


def pair_id_of(segment_a: Segment, segment_b: Segment) -> str:
    """Content-derived id, so re-importing the same pairs is a no-op."""
    text = f'{segment_a.episode_path}|{segment_a.segment_id}|{segment_b.episode_path}|{segment_b.segment_id}'
    return hashlib.sha1(text.encode()).hexdigest()[:12]


def same_start(seed_of):
    """Grouping for :func:`candidate_pairs` by (task, scene seed, start time).

    ``seed_of`` maps episode paths to the seed their scene was reset with; episodes without a seed (-1: a real
    robot) get no group and are never paired. Two attempts at the same scene, compared over the same stretch of
    time, differ by what was done, not by how hard the scene was: the comparison that methods like CPL assume.
    """
    def group_of(segment):
        seed = seed_of.get(segment.episode_path, -1)
        return None if seed < 0 else (segment.task, seed, segment.start_s)
    return group_of


def candidate_pairs(segments, rng, max_candidates=20000, group_of=None):
    """All unordered pairs within a group (default: the task), or a random sample of ``max_candidates``."""
    group_of = group_of or (lambda segment: segment.task)
    groups = defaultdict(list)
    for segment in segments:
        group = group_of(segment)
        if group is not None:
            groups[group].append(segment)
    sizes = {group: len(s) * (len(s) - 1) // 2 for group, s in groups.items()}
    total = sum(sizes.values())
    if total <= max_candidates:
        return [pair for group in sorted(groups) for pair in itertools.combinations(groups[group], 2)]
    seen, out = set(), []
    keys = sorted(g for g in groups if sizes[g])
    weights = np.array([sizes[g] for g in keys], dtype=float)
    while len(out) < max_candidates:
        group = keys[rng.choice(len(keys), p=weights / weights.sum())]
        i, j = sorted(rng.choice(len(groups[group]), size=2, replace=False))
        if (group, i, j) not in seen:
            seen.add((group, i, j))
            out.append((groups[group][i], groups[group][j]))
    return out


def segment_features(segments, rate_hz=5.0) -> dict:
    """``{Segment: vector}`` of cheap features (joints, motion, actions, progress), reading each episode once."""
    from rlhf_recorder.reader import read_episode

    by_episode = defaultdict(list)
    for segment in segments:
        by_episode[segment.episode_path].append(segment)
    features = {}
    for path, segs in by_episode.items():
        try:
            episode = read_episode(path, rate_hz=rate_hz, images=False)
        except Exception as err:
            raise SegmentError(f'{path}: cannot read episode for segment features ({err})') from err
        for segment in segs:
            mask = segment.frames(episode.times)
            if not mask.any():
                raise SegmentError(f'{path}: segment {segment.segment_id} has no samples at {rate_hz} Hz')
            q = np.asarray(episode.joint_positions)[mask]
            dq = np.asarray(episode.joint_velocities)[mask]
            act = np.asarray(episode.actions)[mask]
            parts = [q.mean(0), q.std(0), q[-1] - q[0], np.abs(dq).mean(0), act.mean(0)]
            if episode.task_progress is not None:
                progress = np.asarray(episode.task_progress)[mask]
                parts.append(np.array([progress[-1] - progress[0], progress[-1]]))
            features[segment] = np.nan_to_num(np.concatenate(parts).astype(np.float64))
    return features


def _k_center(points, k, rng):
    """Greedy k-center (farthest-point) selection; returns indices in selection order."""
    chosen = [int(rng.integers(len(points)))]
    distance = np.linalg.norm(points - points[chosen[0]], axis=1)
    while len(chosen) < k:
        nxt = int(np.argmax(distance))
        if distance[nxt] <= 0.0:   # only duplicates left: fill at random
            rest = [i for i in rng.permutation(len(points)) if i not in set(chosen)]
            chosen.extend(int(i) for i in rest[:k - len(chosen)])
            break
        chosen.append(nxt)
        distance = np.minimum(distance, np.linalg.norm(points - points[nxt], axis=1))
    return chosen


def select_pairs(segments, num_pairs, strategy='uniform', scorer=None, seed=0, features=None,
                 max_candidates=20000, group_of=None) -> list[tuple[Segment, Segment]]:
    """Choose up to ``num_pairs`` distinct same-task segment pairs (see the module doc for strategies).

    ``features`` (``{Segment: vector}``) skips reading episodes for ``diversity``. Left/right order is
    randomised so that the better segment is not systematically on one side.
    """
    if strategy not in STRATEGIES:
        raise ValueError(f'strategy: expected one of {STRATEGIES}, got {strategy!r}')
    if strategy == 'disagreement' and scorer is None:
        raise ValueError("strategy 'disagreement' needs a scorer(segment_a, segment_b) -> float")
    if num_pairs < 1:
        return []
    rng = np.random.default_rng(seed)
    candidates = candidate_pairs(list(segments), rng, max_candidates, group_of)
    if not candidates:
        return []
    k = min(num_pairs, len(candidates))
    if strategy == 'uniform':
        order = rng.permutation(len(candidates))[:k]
    elif strategy == 'diversity':
        if features is None:
            features = segment_features({s for pair in candidates for s in pair})
        fa = np.stack([features[a] for a, _b in candidates])
        fb = np.stack([features[b] for _a, b in candidates])
        points = np.concatenate([fa + fb, np.abs(fa - fb)], axis=1)   # symmetric in a and b
        points = (points - points.mean(0)) / (points.std(0) + 1e-9)
        order = _k_center(points, k, rng)
    else:
        scores = np.array([float(scorer(a, b)) for a, b in candidates])
        tiebreak = rng.random(len(candidates))
        order = np.lexsort((tiebreak, -scores))[:k]
    chosen = []
    for index in order:
        a, b = candidates[int(index)]
        chosen.append((b, a) if rng.random() < 0.5 else (a, b))
    return chosen


def write_pairs_file(path, pairs, clip_dir, **info) -> Path:
    """Write the pairs file atomically; ``clip_dir`` is stored relative to the file when possible."""
    path = Path(path).resolve()
    clip_dir = Path(clip_dir).resolve()
    try:
        clip_ref = os.path.relpath(clip_dir, path.parent)
    except ValueError:   # another drive on Windows
        clip_ref = str(clip_dir)
    document = {'format': PAIRS_FORMAT, 'version': PAIRS_VERSION,
                'created_at': datetime.now(timezone.utc).isoformat(), **info, 'clip_dir': clip_ref,
                'pairs': [{'pair_id': p.pair_id, 'task': p.task, 'segment_a': p.segment_a.to_dict(),
                           'segment_b': p.segment_b.to_dict(), 'clip_a': p.clip_a, 'clip_b': p.clip_b,
                           'gold': p.gold_choice} for p in pairs]}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + '.tmp')
    tmp.write_text(json.dumps(document, indent=1), encoding='utf-8')
    os.replace(tmp, path)
    return path


def load_instructions(path) -> dict:
    """The pairs file's optional per-task instructions for the page, ``{task: text}``."""
    path = Path(path)
    try:
        instructions = json.loads(path.read_text(encoding='utf-8')).get('instructions') or {}
    except (OSError, ValueError, AttributeError) as err:
        raise PairsFileError(f'{path}: cannot read ({err})') from None
    if not isinstance(instructions, dict) or not all(isinstance(k, str) and isinstance(v, str) and len(v) <= 500
                                                     for k, v in instructions.items()):
        raise PairsFileError(f'{path}: instructions: expected an object of task name -> text (at most 500 '
                             f'characters), got {instructions!r}'[:300])
    return instructions


def load_pairs_file(path, check_episodes=True, check_clips=True):
    """Read a pairs file; return ``(pairs, clip_dir)``. Errors name the file and the field."""
    path = Path(path)
    try:
        document = json.loads(path.read_text(encoding='utf-8'))
    except FileNotFoundError:
        raise PairsFileError(f'{path}: no such file') from None
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise PairsFileError(f'{path}: not valid JSON ({err})') from None
    if not isinstance(document, dict) or document.get('format') != PAIRS_FORMAT:
        raise PairsFileError(f'{path}: format: expected {PAIRS_FORMAT!r}')
    if document.get('version') != PAIRS_VERSION:
        raise PairsFileError(f'{path}: version: expected {PAIRS_VERSION}, got {document.get("version")!r}')
    clip_dir = document.get('clip_dir')
    if not isinstance(clip_dir, str) or not clip_dir:
        raise PairsFileError(f'{path}: clip_dir: expected a folder name, got {clip_dir!r}')
    clip_dir = (path.parent / clip_dir).resolve()
    raw = document.get('pairs')
    if not isinstance(raw, list):
        raise PairsFileError(f'{path}: pairs: expected a list')
    pairs, ids = [], set()
    for i, item in enumerate(raw):
        where = f'pairs[{i}]'
        if not isinstance(item, dict):
            raise PairsFileError(f'{path}: {where}: expected an object')
        for name in ('pair_id', 'task', 'clip_a', 'clip_b'):
            if not isinstance(item.get(name), str) or not item[name]:
                raise PairsFileError(f'{path}: {where}.{name}: expected a non-empty string, got {item.get(name)!r}')
        if item['pair_id'] in ids:
            raise PairsFileError(f'{path}: {where}.pair_id: duplicate id {item["pair_id"]!r}')
        ids.add(item['pair_id'])
        gold = item.get('gold')
        if gold is not None and gold not in GOLD_CHOICES:
            raise PairsFileError(f'{path}: {where}.gold: expected null or one of {GOLD_CHOICES}, got {gold!r}')
        segments = []
        for name in ('segment_a', 'segment_b'):
            try:
                segment = Segment.from_dict(item.get(name), f'{where}.{name}', base_dir=path.parent)
            except SegmentError as err:
                raise PairsFileError(f'{path}: {err}') from None
            if check_episodes and not episode_exists(segment.episode_path):
                raise PairsFileError(f'{path}: {where}.{name}.episode_path: episode {segment.episode_id!r} not '
                                     f'found at {segment.episode_path} (no metadata.yaml)')
            segments.append(segment)
        for name in ('clip_a', 'clip_b'):
            clip = clip_dir / item[name]
            if Path(item[name]).name != item[name]:
                raise PairsFileError(f'{path}: {where}.{name}: expected a file name inside clip_dir, got '
                                     f'{item[name]!r}')
            if check_clips and not clip.is_file():
                raise PairsFileError(f'{path}: {where}.{name}: clip {clip} does not exist')
        pairs.append(PairRecord(item['pair_id'], item['task'], segments[0], segments[1], item['clip_a'],
                                item['clip_b'], gold))
    return pairs, clip_dir
