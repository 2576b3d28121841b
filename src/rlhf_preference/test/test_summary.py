# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""The statistics page's numbers from a small labelled store (values worked out by hand)."""

from conftest import make_pairs
import pytest

from rlhf_preference.store import LabelStore
from rlhf_preference.summary import annotation_summary


def test_summary_gold_accuracy_agreement_and_progress(tmp_path):
    store = LabelStore(tmp_path / 'l.sqlite', min_annotations_per_pair=2, gold_every=3)
    store.add_pairs(make_pairs(tmp_path, 2))
    store.add_pairs(make_pairs(tmp_path, 1, prefix='g', gold='left'))
    answers = {'ann1': {'p000': 'left', 'p001': 'right', 'g000': 'left'},
               'ann2': {'p000': 'left', 'p001': 'left', 'g000': 'right'}}
    for name, by_pair in answers.items():
        annotator = store.add_annotator(name)
        while (got := store.claim(annotator.annotator_id)) is not None:
            store.submit(annotator.annotator_id, got.assignment_id, got.nonce, choice=by_pair[got.pair.pair_id],
                         time_ms=2000)
    s = annotation_summary(store)
    rows = {a['name']: a for a in s['annotators']}
    assert (rows['ann1']['gold_correct'], rows['ann1']['gold_answered'], rows['ann1']['gold_accuracy']) == (1, 1, 1.0)
    assert rows['ann2']['gold_accuracy'] == 0.0 and rows['ann2']['labels'] == 2
    assert s['progress']['pick_place'] == {'pairs': 2, 'complete': 2, 'remaining': 0, 'labels': 4, 'labels_needed': 4}
    # units p000 [a, a], p001 [b, a]: o_aa = 2, o_ab = o_ba = 1; n_a = 3, n_b = 1, n = 4
    # alpha = 1 - 3 * 2 / (2 * 3 * 1) = 0;  Fleiss: P = (1, 0), P_e = (3/4)^2 + (1/4)^2 = 5/8 -> (1/2 - 5/8) / (3/8)
    assert s['krippendorff_alpha'] == pytest.approx(0.0)
    assert s['fleiss'] == {'kappa': pytest.approx(-1 / 3), 'units': 2, 'raters': 2}
    assert s['mean_pair_agreement'] == pytest.approx(0.75)
    assert s['median_time_s'] == 2.0


def test_rating_answers_count_for_gold(tmp_path):
    store = LabelStore(tmp_path / 'l.sqlite', min_annotations_per_pair=1, gold_every=1)
    store.add_pairs(make_pairs(tmp_path, 1, prefix='g', gold='right'))
    annotator = store.add_annotator('rater')
    got = store.claim(annotator.annotator_id)
    store.submit(annotator.annotator_id, got.assignment_id, got.nonce, rating_a=20, rating_b=70, mode='rating')
    assert annotation_summary(store)['annotators'][0]['gold_accuracy'] == 1.0


def test_an_annotator_sees_only_their_own_gold_results_and_the_count_the_page_shows(tmp_path):
    store = LabelStore(tmp_path / 'l.sqlite', min_annotations_per_pair=2, gold_every=2)
    store.add_pairs(make_pairs(tmp_path, 3))
    store.add_pairs(make_pairs(tmp_path, 1, prefix='g', gold='left'))
    annotators = {name: store.add_annotator(name) for name in ('ann1', 'ann2')}
    for name, choices in {'ann1': ['skip', 'left', 'right', 'equal'], 'ann2': ['left', 'right']}.items():
        for choice in choices:         # ann1: a skip, the gold pair (second claim), two regular labels
            got = store.claim(annotators[name].annotator_id)
            store.submit(annotators[name].annotator_id, got.assignment_id, got.nonce, choice=choice)
    rows = {a['name']: a for a in annotation_summary(store, viewer='ann1')['annotators']}
    assert rows['ann1']['gold_accuracy'] == 1.0 and rows['ann1']['you']
    assert rows['ann2']['gold_accuracy'] is None and rows['ann2']['gold_answered'] is None
    rows_2 = {a['name']: a for a in annotation_summary(store, viewer='ann2')['annotators']}
    assert rows_2['ann2']['gold_accuracy'] == 0.0 and rows_2['ann1']['gold_accuracy'] is None
    # the page's "you: N labelled" is the statistics page's "labels": skips and gold pairs do not count
    assert [store.label_count(annotators[n].annotator_id) for n in ('ann1', 'ann2')] == \
        [rows['ann1']['labels'], rows['ann2']['labels']] == [2, 1]
