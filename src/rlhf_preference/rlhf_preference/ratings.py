# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""Ratings of clips (1-100) -> pairwise preferences over every pair of rated clips, as the piano project made them.

Each clip's ratings are pooled over annotators (their mean); then every unordered pair of rated clips of the same
task becomes one preference record: label 1.0 when segment_a's mean rating is higher, 0.0 when lower, 0.5 when
equal. n rated clips give n (n - 1) / 2 records, whether or not the two clips were ever shown side by side.
With ``pairs='same_window'`` only clips of the same time range are paired (the same bars of a song played by
different performances; ``aggregate.rating_group``).
(``aggregate.collect_units`` instead compares the clips each annotator rated, one vote per annotator.)

Ratings come from the page's rating mode (``ratings_from_store``: both clips of every rating label) or from a
ratings file (JSON, ``version`` 1, e.g. written by a scripted rater)::

    {"format": "rlhf_preference.ratings", "version": 1,
     "clips": [{"segment": {<Segment fields>}, "clip": "<file>", "ratings": {"<annotator>": 73, ...}}]}

``write_rating_preferences`` writes the records in the preference export format (``rlhf_preference.export``).
Console script: ``ratings_to_preferences (--ratings FILE | --db labels.sqlite) --output preferences.json``.
"""

from __future__ import annotations

import argparse
from collections import defaultdict
from datetime import datetime, timezone
import json
import math
import os
from pathlib import Path

from rlhf_preference.aggregate import rating_group, rating_votes
from rlhf_preference.export import FORMAT, VERSION
from rlhf_preference.segments import Segment, SegmentError

RATINGS_FORMAT = 'rlhf_preference.ratings'
RATINGS_VERSION = 1
RATING_RANGE = (1, 100)
_LABEL = {'a': 1.0, 'b': 0.0, 'equal': 0.5}


class RatingsError(ValueError):
    """A ratings file or rating that cannot be used; the message names the file and the field."""


def ratings_from_store(store) -> tuple[dict, dict]:
    """``({segment_id: Segment}, {segment_id: {annotator: mean rating}})`` of the store's rating labels."""
    pairs = {p.pair_id: p for p in store.pairs()}
    segments, given = {}, defaultdict(lambda: defaultdict(list))
    for label in store.labels(include_gold=False):
        if label.mode != 'rating' or label.choice is not None:
            continue   # pairwise answers and skips carry no rating
        pair = pairs[label.pair_id]
        for segment, rating in ((pair.segment_a, label.rating_a), (pair.segment_b, label.rating_b)):
            segments[segment.segment_id] = segment
            given[segment.segment_id][label.annotator].append(rating)
    ratings = {sid: {who: sum(v) / len(v) for who, v in by.items()} for sid, by in given.items()}
    return segments, ratings


def read_ratings_file(path) -> tuple[dict, dict]:
    """``({segment_id: Segment}, {segment_id: {annotator: rating}})`` of a ratings file; errors name the field."""
    path = Path(path)
    try:
        document = json.loads(path.read_text(encoding='utf-8'))
    except FileNotFoundError:
        raise RatingsError(f'{path}: no such file') from None
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise RatingsError(f'{path}: not valid JSON ({err})') from None
    if not isinstance(document, dict) or document.get('format') != RATINGS_FORMAT:
        raise RatingsError(f'{path}: format: expected {RATINGS_FORMAT!r}')
    if document.get('version') != RATINGS_VERSION:
        raise RatingsError(f'{path}: version: expected {RATINGS_VERSION}, got {document.get("version")!r}')
    clips = document.get('clips')
    if not isinstance(clips, list):
        raise RatingsError(f'{path}: clips: expected a list')
    segments, ratings = {}, {}
    for i, item in enumerate(clips):
        where = f'clips[{i}]'
        if not isinstance(item, dict):
            raise RatingsError(f'{path}: {where}: expected an object')
        try:
            segment = Segment.from_dict(item.get('segment'), f'{where}.segment', base_dir=path.parent)
        except SegmentError as err:
            raise RatingsError(f'{path}: {err}') from None
        given = item.get('ratings')
        if not isinstance(given, dict):
            raise RatingsError(f'{path}: {where}.ratings: expected an object {{annotator: rating}}, got {given!r}')
        for who, value in given.items():
            low, high = RATING_RANGE
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
                    or not low <= value <= high:
                raise RatingsError(f'{path}: {where}.ratings.{who}: expected a number in [{low}, {high}], '
                                   f'got {value!r}')
        segments[segment.segment_id] = segment
        ratings[segment.segment_id] = {str(k): float(v) for k, v in given.items()}
    return segments, ratings


def write_ratings_file(path, clips) -> Path:
    """Write a ratings file: ``clips`` = [(Segment, clip file name, {annotator: rating})]."""
    document = {'format': RATINGS_FORMAT, 'version': RATINGS_VERSION,
                'clips': [{'segment': s.to_dict(), 'clip': clip, 'ratings': dict(r)} for s, clip, r in clips]}
    return _write_json(path, document)


PAIRS = ('all', 'same_window')


def rating_records(segments, ratings, pairs='all') -> list[dict]:
    """Preference records (export format) of every pair of rated clips of one task, or one window of one task."""
    if pairs not in PAIRS:
        raise ValueError(f'pairs: expected one of {PAIRS}, got {pairs!r}')
    by_group = defaultdict(dict)
    for sid, given in ratings.items():
        if given:
            by_group[rating_group(segments[sid], pairs)][sid] = sum(given.values()) / len(given)
    records = []
    for group in sorted(by_group):
        task, means = group[0], by_group[group]
        for (x, y), vote in rating_votes(means).items():
            count = min(len(ratings[x]), len(ratings[y]))
            records.append({'pair_id': f'rating:{x}|{y}', 'origin': 'rating', 'task': task,
                            'segment_a': segments[x].to_dict(), 'segment_b': segments[y].to_dict(),
                            'label': _LABEL[vote], 'num_annotations': count, 'agreement': 1.0,
                            'votes': {v: int(v == vote) for v in _LABEL}, 'included': True,
                            'excluded_reason': None, 'ratings': [means[x], means[y]]})
    return records


def write_rating_preferences(path, segments, ratings, pairs='all') -> dict:
    """Write the preference file of every pair of rated clips (``pairs``); returns {'path', 'clips', 'records'}."""
    records = rating_records(segments, ratings, pairs)
    document = {'format': FORMAT, 'version': VERSION, 'created_at': datetime.now(timezone.utc).isoformat(),
                'label_mode': 'rating_order', 'min_annotations_per_pair': 1, 'agreement_threshold': 0.0,
                'pairs_from': 'all pairs of rated clips' + (' of the same window' if pairs == 'same_window' else ''),
                'rating_pairs': pairs, 'records': records}
    _write_json(path, document)
    return {'path': str(path), 'clips': sum(1 for r in ratings.values() if r), 'records': len(records)}


def _write_json(path, document) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + '.tmp')
    tmp.write_text(json.dumps(document, indent=1), encoding='utf-8')
    os.replace(tmp, path)   # a reader never sees half a file
    return path


def main(args=None):
    parser = argparse.ArgumentParser(description='Ratings (1-100) -> preferences over every pair of rated clips.')
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument('--ratings', help='ratings file (rlhf_preference.ratings JSON)')
    source.add_argument('--db', help="label database of the page's rating mode")
    parser.add_argument('--output', required=True, help='preference file to write (JSON)')
    parser.add_argument('--pairs', choices=PAIRS, default='all',
                        help='all: every two rated clips of a task; same_window: only clips of the same time range')
    opts = parser.parse_args(args)
    try:
        if opts.ratings:
            segments, ratings = read_ratings_file(opts.ratings)
        else:
            if not Path(opts.db).is_file():
                parser.error(f'--db {opts.db}: no such file')
            from rlhf_preference.store import LabelStore
            segments, ratings = ratings_from_store(LabelStore(opts.db))
    except RatingsError as err:
        print(f'error: {err}')
        return 2
    summary = write_rating_preferences(opts.output, segments, ratings, opts.pairs)
    print(f'wrote {summary["records"]} preference records from {summary["clips"]} rated clips to {summary["path"]}')
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
