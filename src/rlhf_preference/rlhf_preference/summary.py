# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""What the statistics page shows, computed from the label store (one dict, also served as JSON)."""

from __future__ import annotations

from collections import Counter, defaultdict
import math
import statistics

from rlhf_preference.aggregate import collect_units
from rlhf_preference.stats import fleiss_kappa, krippendorff_alpha_nominal


def _finite_or_none(value):
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else value


def answer_of(label):
    """The pairwise answer of a label; ratings answer by which clip scored higher."""
    if label.choice is not None:
        return label.choice
    if label.rating_a == label.rating_b:
        return 'equal'
    return 'left' if label.rating_a > label.rating_b else 'right'


def annotation_summary(store, max_pairs_listed=200, viewer=None, rating_pairs='all') -> dict:
    """Everything the statistics page shows.

    With ``viewer`` (an annotator's name), gold-pair results of everyone else are left out: an annotator sees
    their own accuracy, not their colleagues'.
    """
    labels = store.labels()
    per_annotator = defaultdict(lambda: {'labels': 0, 'skips': 0, 'cant_tell': 0, 'times_ms': [],
                                         'gold_answered': 0, 'gold_correct': 0})
    for annotator in store.annotators():
        per_annotator[annotator.name]   # list annotators without labels too
    for label in labels:
        row = per_annotator[label.annotator]
        row['times_ms'].append(label.time_ms)
        if label.choice == 'skip':
            row['skips'] += 1
            continue
        if label.is_gold:
            row['gold_answered'] += 1
            row['gold_correct'] += int(answer_of(label) == label.gold_choice)
            continue
        row['labels'] += 1
        row['cant_tell'] += int(label.choice == 'cant_tell')
    annotators = []
    for name, row in sorted(per_annotator.items()):
        times = row.pop('times_ms')
        row['median_time_s'] = statistics.median(times) / 1000 if times else None
        row['gold_accuracy'] = row['gold_correct'] / row['gold_answered'] if row['gold_answered'] else None
        if viewer is not None and name != viewer:
            row.update(gold_answered=None, gold_correct=None, gold_accuracy=None)
        annotators.append({'name': name, 'you': name == viewer, **row})

    units = collect_units(store, rating_pairs)
    votes = [list(u.votes.values()) for u in units if u.votes]
    alpha = krippendorff_alpha_nominal(votes)
    # Fleiss' kappa needs a fixed number of raters per unit: use the units with the most common count.
    rater_counts = Counter(len(v) for v in votes if len(v) >= 2)
    fleiss = {'kappa': None, 'units': 0, 'raters': None}
    if rater_counts:
        raters, _n = rater_counts.most_common(1)[0]
        same = [v for v in votes if len(v) == raters]
        fleiss = {'kappa': _finite_or_none(fleiss_kappa(same)), 'units': len(same), 'raters': raters}
    pairs = sorted(({'pair_id': u.pair_id, 'task': u.task, 'origin': u.origin, **u.counts(),
                     'cant_tell': u.cant_tell, 'annotations': u.num_annotations,
                     'agreement': _finite_or_none(u.agreement) if u.votes else None,
                     'label': u.soft_label() if u.votes else None} for u in units),
                   key=lambda p: (p['agreement'] if p['agreement'] is not None else 2.0, p['pair_id']))
    agreements = [p['agreement'] for p in pairs if p['agreement'] is not None]
    all_times = [label.time_ms for label in labels if label.choice != 'skip']
    return {
        'min_annotations_per_pair': store.min_annotations_per_pair,
        'progress': store.progress(),
        'annotators': annotators,
        'labels_total': len(labels),
        'krippendorff_alpha': _finite_or_none(alpha),
        'alpha_units': sum(1 for v in votes if len(v) >= 2),
        'fleiss': fleiss,
        'mean_pair_agreement': sum(agreements) / len(agreements) if agreements else None,
        'median_time_s': statistics.median(all_times) / 1000 if all_times else None,
        'pairs': pairs[:max_pairs_listed],
        'pairs_total': len(pairs),
    }
