# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""Turn stored labels into preference units: one per compared pair of segments, with one vote per annotator.

Votes are ``'a'`` (segment_a better), ``'b'`` (segment_b better) or ``'equal'``.

- Pairwise labels: left = segment_a, right = segment_b. ``cant_tell`` is counted separately (it carries no
  preference) and ``skip`` is ignored. Gold pairs are quality checks and never become units.
- Rating labels, ``rating_pairs='all'`` (the default, as when clips are rated one by one): each annotator's
  ratings (1-100; a clip rated twice by one annotator is averaged) become a vote for every pair of distinct
  clips of the same task that annotator rated: higher rating wins, equal ratings give ``'equal'``. Such a
  unit's segments are in segment-id order, its id is ``rating:<segment_id_a>|<segment_id_b>``. n rated
  clips give n(n-1)/2 units, most of them of clips never shown side by side.
- ``rating_pairs='same_window'``: as ``'all'``, but only clips of the same time range of their episodes
  (same ``start_s`` and ``end_s``: the same bars of a song played by different performances), so that a vote
  compares how a passage was played, not which passage was harder.
- ``rating_pairs='shown'``: only the two clips rated side by side are compared; the unit is the stored
  pair (its id and segment order), with origin ``'rating'``.

Every unit keeps the ids of the labels behind each vote (``label_ids``), so nothing said is lost.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
import itertools

from rlhf_preference.segments import Segment
from rlhf_preference.stats import majority, pair_agreement

VOTE_VALUE = {'a': 1.0, 'b': 0.0, 'equal': 0.5}
RATING_PAIRS = ('all', 'same_window', 'shown')
_PAIRWISE_VOTE = {'left': 'a', 'right': 'b', 'equal': 'equal'}


@dataclass
class PreferenceUnit:
    pair_id: str
    origin: str                 # 'pairwise' or 'rating'
    task: str
    segment_a: Segment
    segment_b: Segment
    votes: dict = field(default_factory=dict)   # annotator name -> 'a' | 'b' | 'equal'
    cant_tell: int = 0
    label_ids: dict = field(default_factory=dict)   # annotator name -> ids of the labels behind the vote

    @property
    def num_annotations(self) -> int:
        return len(self.votes)

    @property
    def agreement(self) -> float:
        return pair_agreement(list(self.votes.values()))

    def soft_label(self) -> float:
        """Mean vote in [0, 1]: 1.0 = every annotator preferred segment_a, 0.5 = undecided."""
        return sum(VOTE_VALUE[v] for v in self.votes.values()) / len(self.votes)

    def majority_label(self) -> float:
        """1.0 / 0.0 / 0.5 of the majority vote; a tie between the top answers gives 0.5."""
        top = majority(list(self.votes.values()))
        return 0.5 if top is None else VOTE_VALUE[top]

    def counts(self) -> dict:
        return {v: sum(1 for x in self.votes.values() if x == v) for v in VOTE_VALUE}


def rating_votes(ratings):
    """Pairwise votes from one annotator's ratings ``{segment_id: rating}`` of clips of one task.

    Returns ``{(id_x, id_y): 'a' | 'b' | 'equal'}`` for every pair with ``id_x < id_y``, 'a' meaning id_x won.
    """
    return {(x, y): rating_vote(ratings[x], ratings[y]) for x, y in itertools.combinations(sorted(ratings), 2)}


def rating_group(segment: Segment, rating_pairs: str) -> tuple:
    """The clips whose ratings are compared with each other: one task, and one time range with 'same_window'."""
    return (segment.task, segment.start_s, segment.end_s) if rating_pairs == 'same_window' else (segment.task,)


def rating_vote(rating_x, rating_y):
    return 'a' if rating_x > rating_y else 'b' if rating_x < rating_y else 'equal'


def collect_units(store, rating_pairs='all') -> list[PreferenceUnit]:
    """Preference units of every non-gold pair with at least one preference or can't-tell answer."""
    if rating_pairs not in RATING_PAIRS:
        raise ValueError(f'rating_pairs: expected one of {RATING_PAIRS}, got {rating_pairs!r}')
    pairs = {p.pair_id: p for p in store.pairs()}
    units = {}

    def unit_of(pair_id, origin, task, segment_a, segment_b):
        if pair_id not in units:
            units[pair_id] = PreferenceUnit(pair_id, origin, task, segment_a, segment_b)
        return units[pair_id]

    ratings = defaultdict(lambda: defaultdict(list))   # (annotator, group) -> segment_id -> [ratings]
    rating_labels = defaultdict(lambda: defaultdict(list))   # (annotator, group) -> segment_id -> [label ids]
    segments = {}
    for label in store.labels(include_gold=False):
        pair = pairs[label.pair_id]
        if label.mode == 'rating' and label.choice is None:
            if rating_pairs == 'shown':
                unit = unit_of(pair.pair_id, 'rating', pair.task, pair.segment_a, pair.segment_b)
                unit.votes[label.annotator] = rating_vote(label.rating_a, label.rating_b)
                unit.label_ids[label.annotator] = [label.label_id]
                continue
            for segment, rating in ((pair.segment_a, label.rating_a), (pair.segment_b, label.rating_b)):
                segments[segment.segment_id] = segment
                group = (label.annotator, rating_group(segment, rating_pairs))
                ratings[group][segment.segment_id].append(rating)
                rating_labels[group][segment.segment_id].append(label.label_id)
            continue
        if label.choice not in _PAIRWISE_VOTE and label.choice != 'cant_tell':
            continue   # skip
        unit = unit_of(pair.pair_id, 'pairwise', pair.task, pair.segment_a, pair.segment_b)
        if label.choice == 'cant_tell':
            unit.cant_tell += 1
        else:
            unit.votes[label.annotator] = _PAIRWISE_VOTE[label.choice]
            unit.label_ids[label.annotator] = [label.label_id]
    for (annotator, group), by_segment in sorted(ratings.items()):
        mean = {seg_id: sum(values) / len(values) for seg_id, values in by_segment.items()}
        ids = rating_labels[(annotator, group)]
        for (x, y), vote in rating_votes(mean).items():
            unit = unit_of(f'rating:{x}|{y}', 'rating', group[0], segments[x], segments[y])
            unit.votes[annotator] = vote
            unit.label_ids[annotator] = sorted(set(ids[x]) | set(ids[y]))
    return list(units.values())
