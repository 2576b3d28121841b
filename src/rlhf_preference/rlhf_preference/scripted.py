# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""Scripted annotators: stand-ins for people in the automated pipeline, labelling through the label store.

They claim and submit through the same :class:`~rlhf_preference.store.LabelStore` calls the page uses, so
assignment, quotas and idempotency are exercised exactly as with people. A segment's true quality comes from
the recorded task progress (``Episode.task_progress``): the progress gained over the segment (``'gain'``) or
the progress reached at its end (``'final'``). Choices are Bradley-Terry noisy: the left clip wins with
probability ``sigmoid((score_a - score_b) / temperature)``; ``temperature=0`` is a perfect annotator.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
import math
from pathlib import Path

import numpy as np
from tqdm import tqdm

from rlhf_preference.segments import SegmentError

SCORES = ('gain', 'final')


class ProgressScorer:
    """Score segments from recorded task progress, reading each episode once (no images)."""

    def __init__(self, score='gain', rate_hz=10.0):
        if score not in SCORES:
            raise ValueError(f'score: expected one of {SCORES}, got {score!r}')
        self.score_kind = score
        self.rate_hz = rate_hz
        self._episodes = {}

    def _episode(self, path):
        if path not in self._episodes:
            from rlhf_recorder.reader import read_episode
            episode = read_episode(path, rate_hz=self.rate_hz, images=False)
            if episode.task_progress is None:
                raise SegmentError(f'{path}: no task progress recorded (/rlhf_sim/task_state); scripted '
                                   'annotators need it')
            self._episodes[path] = (np.asarray(episode.times), np.asarray(episode.task_progress, dtype=float))
        return self._episodes[path]

    def __call__(self, segment) -> float:
        times, progress = self._episode(segment.episode_path)
        inside = np.flatnonzero(segment.frames(times))
        if inside.size == 0:
            raise SegmentError(f'{segment.episode_path}: no samples in segment {segment.segment_id}')
        if self.score_kind == 'final':
            return float(progress[inside[-1]])
        return float(progress[inside[-1]] - progress[inside[0]])


@dataclass
class ScriptedAnnotator:
    name: str
    temperature: float = 0.05     # Bradley-Terry noise in units of score; 0 = always right
    equal_margin: float = 0.0     # |score difference| at or below this is answered 'equal'
    rating_noise: float = 5.0     # std of the rating noise in points (rating mode)
    seed: int = 0

    def __post_init__(self):
        self.rng = np.random.default_rng(self.seed)

    def choose(self, score_a, score_b) -> str:
        diff = score_a - score_b
        if abs(diff) <= self.equal_margin:
            return 'equal'
        if self.temperature <= 0:
            return 'left' if diff > 0 else 'right'
        p_left = 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, diff / self.temperature))))
        return 'left' if self.rng.random() < p_left else 'right'

    def rate(self, score) -> int:
        """A 1-100 rating of a clip whose score is in [0, 1]."""
        value = 1 + 99 * min(1.0, max(0.0, score)) + self.rng.normal(0.0, self.rating_noise)
        return int(min(100, max(1, round(value))))


def annotate(store, annotators, scorer, mode='pairwise', max_labels=None, progress=True) -> dict:
    """Let the annotators take turns claiming and answering until no pair is left; return a summary."""
    ids = {a.name: store.add_annotator(a.name).annotator_id for a in annotators}
    active = list(annotators)
    counts = {a.name: 0 for a in annotators}
    bar = tqdm(desc='scripted labels', unit='label', disable=not progress)
    total = 0
    while active and (max_labels is None or total < max_labels):
        for annotator in list(active):
            assignment = store.claim(ids[annotator.name])
            if assignment is None:
                active.remove(annotator)
                continue
            pair = assignment.pair
            score_a, score_b = scorer(pair.segment_a), scorer(pair.segment_b)
            time_ms = int(annotator.rng.integers(1500, 6000))   # a plausible human pace, for the statistics
            if mode == 'rating':
                store.submit(ids[annotator.name], assignment.assignment_id, assignment.nonce, mode='rating',
                             rating_a=annotator.rate(score_a), rating_b=annotator.rate(score_b), time_ms=time_ms)
            else:
                store.submit(ids[annotator.name], assignment.assignment_id, assignment.nonce,
                             choice=annotator.choose(score_a, score_b), time_ms=time_ms)
            counts[annotator.name] += 1
            total += 1
            bar.update(1)
            if max_labels is not None and total >= max_labels:
                break
    bar.close()
    return {'labels': total, 'per_annotator': counts}


def main(args=None):
    from rlhf_preference.config import load_config
    from rlhf_preference.pairs import PairsFileError, load_pairs_file
    from rlhf_preference.store import LabelStore, StoreError

    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument('--config')
    config = load_config(pre.parse_known_args(args)[0].config)
    parser = argparse.ArgumentParser(description='Label pairs with scripted annotators (noisy task progress).')
    parser.add_argument('--config', help='YAML settings (see config/preference.yaml)')
    parser.add_argument('--db', required=True, help='label database (SQLite)')
    parser.add_argument('--pairs', help='pairs file to import first (optional when the database holds pairs)')
    parser.add_argument('--annotators', type=int, default=3, help='number of simulated annotators')
    parser.add_argument('--temperature', type=float, default=0.05, help='Bradley-Terry noise (0: perfect)')
    parser.add_argument('--equal-margin', type=float, default=0.0)
    parser.add_argument('--score', choices=SCORES, default='gain')
    parser.add_argument('--mode', choices=('pairwise', 'rating'), default=config['mode'])
    parser.add_argument('--min-annotations-per-pair', type=int, default=config['min_annotations_per_pair'])
    parser.add_argument('--seed', type=int, default=0)
    opts = parser.parse_args(args)
    store = LabelStore(opts.db, min_annotations_per_pair=opts.min_annotations_per_pair)
    try:
        if opts.pairs:
            pairs, _clips = load_pairs_file(opts.pairs, check_clips=False)
            store.add_pairs(pairs)
        annotators = [ScriptedAnnotator(f'scripted{i}', opts.temperature, opts.equal_margin, seed=opts.seed + i)
                      for i in range(opts.annotators)]
        summary = annotate(store, annotators, ProgressScorer(opts.score), mode=opts.mode)
    except (PairsFileError, StoreError, SegmentError) as err:
        print(f'error: {err}')
        return 2
    print(f'{summary["labels"]} labels in {Path(opts.db)}: ' +
          ', '.join(f'{k} {v}' for k, v in summary['per_annotator'].items()))
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
