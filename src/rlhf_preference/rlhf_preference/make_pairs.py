# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""``make_pairs``: segments from recorded episodes -> selected pairs -> clips -> a pairs file for the server.

Example: ``make_pairs --data data/ --data rollouts/ckpt3 --output prefs/pairs.json --num-pairs 200``.
Each ``--data`` is an rlhf_recorder data directory (with catalog.sqlite) or a folder of episode bags;
``--source`` labels the segments of the matching ``--data`` (e.g. ``demo``, ``ckpt3_noise0.1``).
"""

from __future__ import annotations

import argparse
from pathlib import Path
import sys

import numpy as np

from rlhf_preference.clips import render_clips
from rlhf_preference.config import load_config
from rlhf_preference.pairs import STRATEGIES, pair_id_of, same_start, select_pairs, write_pairs_file
from rlhf_preference.segments import SegmentError, cut_segments, find_episodes
from rlhf_preference.store import PairRecord

PAIRINGS = ('any', 'same_start')


def gold_pairs(segments, count, margin, seed, exclude=()):
    """Pairs whose answer is known from recorded progress (gain differs by more than ``margin``)."""
    from rlhf_preference.scripted import ProgressScorer

    scorer = ProgressScorer('gain')
    rng = np.random.default_rng(seed + 1)
    excluded = {frozenset((a, b)) for a, b in exclude}
    out = []
    for a, b in select_pairs(segments, max(count * 20, 50), 'uniform', seed=seed + 1):
        if frozenset((a, b)) in excluded:
            continue
        diff = scorer(a) - scorer(b)
        if abs(diff) > margin:
            out.append((a, b, 'left' if diff > 0 else 'right'))
        if len(out) == count:
            break
    rng.shuffle(out)
    return out


def no_segments_reason(episodes, opts):
    """Why no segment could be cut, in words a user can act on."""
    where = ', '.join(opts.data)
    if not episodes:
        task = f' of task {opts.task!r}' if opts.task else ''
        return f'no finished episode{task} with data on every stream in {where}'
    longest = max(episodes, key=lambda e: e.duration_s)
    return (f'every episode is shorter than --segment-length {opts.segment_length:g} s (the longest, '
            f'{longest.episode_id}, has {longest.duration_s:.2f} s with data on every stream): shorten '
            f'--segment-length or record longer episodes')


def no_pairs_reason(opts):
    if opts.pairing == 'same_start':
        return ('--pairing same_start pairs only segments that start at the same time of two attempts at the same '
                'scene (the same task and reset seed)')
    return 'pairs are formed within a task'


def main(args=None):
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument('--config')
    config = load_config(pre.parse_known_args(args)[0].config)
    parser = argparse.ArgumentParser(description='Cut segments from episodes, select pairs and render clips.')
    parser.add_argument('--config', help='YAML settings (see config/preference.yaml)')
    parser.add_argument('--data', action='append', required=True, help='data directory or folder of bags (repeat)')
    parser.add_argument('--source', action='append', default=[], help='source label per --data (optional)')
    parser.add_argument('--output', required=True, help='pairs file to write (JSON)')
    parser.add_argument('--clips', help='clip directory (default: clips/ next to the pairs file)')
    parser.add_argument('--task', help='only episodes of this task')
    parser.add_argument('--num-pairs', type=int, default=config['num_pairs'])
    parser.add_argument('--strategy', choices=STRATEGIES[:2], default=config['strategy'],
                        help='disagreement needs a reward ensemble: use rlhf_preference.pairs.select_pairs')
    parser.add_argument('--pairing', choices=PAIRINGS, default=config['pairing'],
                        help='same_start: only segments starting at the same time of two attempts at one scene')
    parser.add_argument('--segment-length', type=float, default=config['segment_length_s'])
    parser.add_argument('--stride', type=float, default=config['stride_s'])
    parser.add_argument('--camera', default=config['camera'])
    parser.add_argument('--fps', type=float, default=config['clip_fps'])
    parser.add_argument('--width', type=int, default=config['clip_width'])
    parser.add_argument('--gold', type=int, default=0, help='also add this many gold pairs (known answer from '
                                                            'recorded task progress)')
    parser.add_argument('--gold-margin', type=float, default=0.1, help='minimum progress-gain gap of a gold pair')
    parser.add_argument('--instruction', help='what annotators should judge, shown on the page for these pairs\' '
                                              'task(s), e.g. "Which arm reached the green dot more precisely?"')
    parser.add_argument('--seed', type=int, default=0)
    opts = parser.parse_args(args)
    if opts.source and len(opts.source) != len(opts.data):
        parser.error('--source: give one per --data, or none')
    output = Path(opts.output)
    clip_dir = Path(opts.clips) if opts.clips else output.parent / 'clips'
    try:
        segments, seed_of, episodes = [], {}, []
        for i, location in enumerate(opts.data):
            found = find_episodes(location, task=opts.task)
            episodes += found
            seed_of.update({episode.path: episode.seed for episode in found})
            segments += cut_segments(found, opts.segment_length, opts.stride,
                                     source=opts.source[i] if opts.source else None)
        print(f'segments: {len(segments)} of {opts.segment_length} s from {len(episodes)} episodes in '
              f'{len(opts.data)} location(s)')
        if not segments:
            raise SegmentError(no_segments_reason(episodes, opts))
        group_of = same_start(seed_of) if opts.pairing == 'same_start' else None
        chosen = [(a, b, None) for a, b in select_pairs(segments, opts.num_pairs, opts.strategy, seed=opts.seed,
                                                        group_of=group_of)]
        if not chosen:
            raise SegmentError(f'no pair of {len(segments)} segments: {no_pairs_reason(opts)}')
        if len(chosen) < opts.num_pairs:
            print(f'warning: {len(chosen)} pairs, not the {opts.num_pairs} asked for: that is every candidate pair '
                  f'({no_pairs_reason(opts)}); record more episodes or shorten --stride to get more', file=sys.stderr)
        if opts.gold:
            chosen += gold_pairs(segments, opts.gold, opts.gold_margin, opts.seed, exclude=[c[:2] for c in chosen])
        needed = {s for a, b, _g in chosen for s in (a, b)}
        clips = render_clips(needed, clip_dir, opts.camera, opts.fps, opts.width)
    except (SegmentError, ValueError, OSError) as err:
        print(f'error: {err}', file=sys.stderr)
        return 2
    pairs = [PairRecord(pair_id_of(a, b), a.task, a, b, clips[a], clips[b], gold)
             for a, b, gold in chosen]
    instructions = {p.task: opts.instruction for p in pairs} if opts.instruction else {}
    write_pairs_file(output, pairs, clip_dir, strategy=opts.strategy, segment_length_s=opts.segment_length,
                     camera=opts.camera, instructions=instructions)
    gold_count = sum(1 for p in pairs if p.gold_choice)
    print(f'wrote {len(pairs)} pairs ({gold_count} gold) to {output}; clips in {clip_dir}')
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
