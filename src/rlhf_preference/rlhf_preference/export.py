# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""The preference dataset for training: export from the label store, and its reader.

File format (JSON, ``version`` 1; fields marked "new" were added later and are optional for readers)::

    {
      "format": "rlhf_preference.preferences",
      "version": 1,
      "created_at": "2026-01-01T00:00:00+00:00",
      "label_mode": "soft" | "majority",
      "min_annotations_per_pair": 2,
      "agreement_threshold": 0.0,
      "rating_pairs": "all" | "same_window" | "shown",  # new: how rating labels became pairs (aggregate doc)
      "krippendorff_alpha": 0.41 | null,   # new: nominal alpha over every record with >= 2 votes (null: undefined)
      "alpha_units": 12,                   # new: records that entered alpha
      "records": [
        {
          "pair_id": "p0007" | "rating:<segment_id>|<segment_id>",
          "origin": "pairwise" | "rating",
          "task": "pick_place",
          "segment_a": {"episode_id", "episode_path", "start_s", "end_s", "task", "source"},
          "segment_b": {... same fields ...},
          "label": 0.75,              # P(segment_a preferred): 1.0 = a, 0.0 = b, 0.5 = equal or a split vote
          "num_annotations": 4,       # preference votes (left/right/equal, or rating comparisons)
          "agreement": 0.75,          # share of the most frequent vote
          "votes": {"a": 3, "b": 1, "equal": 0},
          "cant_tell": 1,             # new: "can't tell" answers (no preference, not in num_annotations)
          "annotations": [{"annotator": "alice", "vote": "a", "label_ids": [17]}, ...],   # new: who said what
          "included": true,           # false only in exports made with include_excluded
          "excluded_reason": null     # why a record fails the filters
        }
      ],
      "labels": [                     # new: every stored label, skips and gold pairs included
        {"label_id": 17, "pair_id": "p0007", "annotator": "alice", "annotator_id": 1, "mode": "pairwise",
         "choice": "left" | "right" | "equal" | "cant_tell" | "skip" | null, "rating_a": null, "rating_b": null,
         "time_ms": 2300, "created_at": "2026-01-01T10:00:00.123+00:00", "gold": false, "gold_choice": null}
      ]
    }

``label`` is the mean vote (``soft``) or the majority vote (``majority``, a tie gives 0.5). A relative
``episode_path`` is relative to the folder of the file. Pairs with fewer than ``min_annotations_per_pair``
votes or agreement below ``agreement_threshold`` are left out unless ``include_excluded`` is set. The
default threshold is 0: two annotators who disagree give a soft label of 0.5 rather than no record.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
import json
import math
import os
from pathlib import Path
import sys

from rlhf_preference.aggregate import RATING_PAIRS, collect_units
from rlhf_preference.cli import parser_with_config
from rlhf_preference.jsonfile import read_json
from rlhf_preference.segments import Segment, SegmentError, segment_pair
from rlhf_preference.stats import krippendorff_alpha_nominal

FORMAT = 'rlhf_preference.preferences'
VERSION = 1
LABEL_MODES = ('soft', 'majority')


class PreferenceFileError(ValueError):
    """A preference file that cannot be used; the message names the file and the field."""


@dataclass(frozen=True)
class PreferenceRecord:
    pair_id: str
    segment_a: Segment
    segment_b: Segment
    label: float
    num_annotations: int
    agreement: float
    task: str = ''
    origin: str = 'pairwise'
    votes: dict = field(default_factory=dict)
    included: bool = True
    cant_tell: int = 0
    annotations: tuple = ()     # ({"annotator", "vote", "label_ids"}, ...)


def _iso(timestamp):
    return datetime.fromtimestamp(timestamp, timezone.utc).isoformat(timespec='milliseconds')


def build_records(units, min_annotations_per_pair, agreement_threshold, label_mode='soft') -> list[dict]:
    """One record per unit with a preference vote, each marked included or why not."""
    if label_mode not in LABEL_MODES:
        raise ValueError(f'label_mode: expected one of {LABEL_MODES}, got {label_mode!r}')
    records = []
    for unit in units:
        if unit.num_annotations == 0:
            continue   # only can't-tell answers: no preference to learn from (the labels list keeps them)
        reason = None
        if unit.num_annotations < min_annotations_per_pair:
            reason = f'{unit.num_annotations} annotations < min_annotations_per_pair {min_annotations_per_pair}'
        elif unit.agreement < agreement_threshold:
            reason = f'agreement {unit.agreement:.3f} < agreement_threshold {agreement_threshold}'
        label = unit.soft_label() if label_mode == 'soft' else unit.majority_label()
        records.append({
            'pair_id': unit.pair_id, 'origin': unit.origin, 'task': unit.task,
            'segment_a': unit.segment_a.to_dict(), 'segment_b': unit.segment_b.to_dict(),
            'label': label, 'num_annotations': unit.num_annotations, 'agreement': unit.agreement,
            'votes': unit.counts(), 'cant_tell': unit.cant_tell,
            'annotations': [{'annotator': name, 'vote': vote, 'label_ids': unit.label_ids.get(name, [])}
                            for name, vote in sorted(unit.votes.items())],
            'included': reason is None, 'excluded_reason': reason,
        })
    return records


def label_rows(store) -> list[dict]:
    """Every stored label as the export lists it."""
    return [{'label_id': label.label_id, 'pair_id': label.pair_id, 'annotator': label.annotator,
             'annotator_id': label.annotator_id, 'mode': label.mode, 'choice': label.choice,
             'rating_a': label.rating_a, 'rating_b': label.rating_b, 'time_ms': label.time_ms,
             'created_at': _iso(label.created_at), 'gold': label.is_gold, 'gold_choice': label.gold_choice}
            for label in store.labels()]


def export_preferences(store, out_path, min_annotations_per_pair=None, agreement_threshold=0.0, label_mode='soft',
                       include_excluded=False, rating_pairs='all') -> dict:
    """Write the preference file atomically; return a summary (records written, excluded, alpha)."""
    if min_annotations_per_pair is None:
        min_annotations_per_pair = store.min_annotations_per_pair
    units = collect_units(store, rating_pairs)
    everything = build_records(units, min_annotations_per_pair, agreement_threshold, label_mode)
    records = everything if include_excluded else [r for r in everything if r['included']]
    rated = [list(u.votes.values()) for u in units if len(u.votes) >= 2]
    alpha = krippendorff_alpha_nominal(rated)
    document = {
        'format': FORMAT, 'version': VERSION, 'created_at': datetime.now(timezone.utc).isoformat(),
        'label_mode': label_mode, 'min_annotations_per_pair': int(min_annotations_per_pair),
        'agreement_threshold': float(agreement_threshold), 'rating_pairs': rating_pairs,
        'krippendorff_alpha': None if math.isnan(alpha) else alpha, 'alpha_units': len(rated),
        'records': records, 'labels': label_rows(store),
    }
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_path.with_name(out_path.name + '.tmp')
    tmp.write_text(json.dumps(document, indent=1), encoding='utf-8')
    os.replace(tmp, out_path)   # a reader never sees half a file
    included = sum(1 for r in everything if r['included'])
    return {'path': str(out_path), 'records': len(records), 'included': included,
            'excluded': len(everything) - included, 'labels': len(document['labels']),
            'krippendorff_alpha': document['krippendorff_alpha']}


def _number(path, where, value, low=0.0, high=1.0):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
            or not low <= value <= high:
        raise PreferenceFileError(f'{path}: {where}: expected a number in [{low}, {high}], got {value!r}')
    return float(value)


def _count(path, where, value, low):
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise PreferenceFileError(f'{path}: {where}: expected an integer >= {low}, got {value!r}')
    return value


def _raw_records(path) -> list:
    """The ``records`` list of a preference file, once its format and version are the ones this reader knows."""
    document = read_json(path, PreferenceFileError)
    if not isinstance(document, dict):
        raise PreferenceFileError(f'{path}: expected a JSON object at the top level')
    if document.get('format') != FORMAT:
        raise PreferenceFileError(f'{path}: format: expected {FORMAT!r}, got {document.get("format")!r}')
    if document.get('version') != VERSION:
        raise PreferenceFileError(f'{path}: version: expected {VERSION}, got {document.get("version")!r}')
    raw = document.get('records')
    if not isinstance(raw, list):
        raise PreferenceFileError(f'{path}: records: expected a list, got {type(raw).__name__}')
    return raw


def _record(path, where, item, check_episodes) -> PreferenceRecord:
    """One checked record of a preference file; ``where`` names it in errors (``records[3]``)."""
    if not isinstance(item, dict):
        raise PreferenceFileError(f'{path}: {where}: expected an object')
    pair_id = item.get('pair_id')
    if not isinstance(pair_id, str) or not pair_id:
        raise PreferenceFileError(f'{path}: {where}.pair_id: expected a non-empty string, got {pair_id!r}')
    try:
        segment_a, segment_b = segment_pair(item, where, path.parent, check_episodes)
    except SegmentError as err:
        raise PreferenceFileError(f'{path}: {err}') from None
    label = _number(path, f'{where}.label', item.get('label'))
    count = _count(path, f'{where}.num_annotations', item.get('num_annotations'), 1)
    agreement = _number(path, f'{where}.agreement', item.get('agreement'))
    included = item.get('included', True)
    if not isinstance(included, bool):
        raise PreferenceFileError(f'{path}: {where}.included: expected true or false, got {included!r}')
    votes = item.get('votes', {})
    if not isinstance(votes, dict):
        raise PreferenceFileError(f'{path}: {where}.votes: expected an object, got {votes!r}')
    cant_tell = _count(path, f'{where}.cant_tell', item.get('cant_tell', 0), 0)
    annotations = item.get('annotations', [])
    if not isinstance(annotations, list) or not all(isinstance(a, dict) for a in annotations):
        raise PreferenceFileError(f'{path}: {where}.annotations: expected a list of objects')
    return PreferenceRecord(pair_id, segment_a, segment_b, label, count, agreement,
                            task=str(item.get('task', segment_a.task)), origin=str(item.get('origin', 'pairwise')),
                            votes=votes, included=included, cant_tell=cant_tell, annotations=tuple(annotations))


def load_preferences(path, check_episodes=True, include_excluded=False) -> list[PreferenceRecord]:
    """Read a preference file written by :func:`export_preferences`.

    Raises :class:`PreferenceFileError` naming the file and field for malformed content, an unknown
    version, or (with ``check_episodes``) a segment whose episode bag does not exist.
    """
    path = Path(path)
    records = [_record(path, f'records[{i}]', item, check_episodes) for i, item in enumerate(_raw_records(path))]
    return [record for record in records if record.included or include_excluded]


def export_options(args=None):
    from rlhf_preference.store import is_postgres

    parser, config = parser_with_config('Export the preference dataset from a label database.', args)
    parser.add_argument('--db', required=True, help='label database written by the server (SQLite file or '
                                                    'postgresql:// URL)')
    parser.add_argument('--output', required=True, help='preference file to write (JSON)')
    parser.add_argument('--min-annotations-per-pair', type=int, default=config['min_annotations_per_pair'])
    parser.add_argument('--agreement-threshold', type=float, default=config['agreement_threshold'])
    parser.add_argument('--label-mode', choices=LABEL_MODES, default=config['label_mode'])
    parser.add_argument('--rating-pairs', choices=RATING_PAIRS, default=config['rating_pairs'],
                        help='rating mode: all = every two clips of a task one annotator rated; same_window = '
                             'only those of the same time range; shown = only the two rated side by side')
    parser.add_argument('--include-excluded', action='store_true',
                        help='also write pairs that fail the filters (marked "included": false)')
    opts = parser.parse_args(args)
    if not is_postgres(opts.db) and not Path(opts.db).is_file():
        parser.error(f'--db {opts.db}: no such file')
    return opts


def main(args=None):
    from rlhf_preference.store import LabelStore, StoreError, StoreUnavailable

    opts = export_options(args)
    try:
        store = LabelStore(opts.db, min_annotations_per_pair=opts.min_annotations_per_pair)
        summary = export_preferences(store, opts.output, opts.min_annotations_per_pair, opts.agreement_threshold,
                                     opts.label_mode, opts.include_excluded, opts.rating_pairs)
    except (StoreError, StoreUnavailable) as err:
        print(f'error: {err}', file=sys.stderr)
        return 2
    alpha = summary['krippendorff_alpha']
    print(f'wrote {summary["records"]} records ({summary["included"]} pass the filters, {summary["excluded"]} '
          f'excluded) and all {summary["labels"]} labels to {summary["path"]}; Krippendorff\'s alpha '
          f'{"n/a" if alpha is None else f"{alpha:.3f}"}')
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
