# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""Aggregation, export filters, the reader's errors, rating-derived preferences and scripted annotators."""

from datetime import datetime
import json

from conftest import make_pairs
from episodes_helper import write_episode
import numpy as np
import pytest

from rlhf_preference.aggregate import collect_units, rating_votes
from rlhf_preference.export import PreferenceFileError, export_preferences, load_preferences
from rlhf_preference.pairs import pair_id_of, select_pairs
from rlhf_preference.scripted import ProgressScorer, ScriptedAnnotator, annotate
from rlhf_preference.segments import cut_segments, find_episodes
from rlhf_preference.store import LabelStore, PairRecord


def label_all(store, answers):
    """answers: {annotator: [choice for each pair in claim order]}."""
    for name, choices in answers.items():
        annotator = store.add_annotator(name)
        for choice in choices:
            got = store.claim(annotator.annotator_id)
            store.submit(annotator.annotator_id, got.assignment_id, got.nonce, choice=choice)


def test_export_aggregates_and_filters(tmp_path):
    store = LabelStore(tmp_path / 'l.sqlite', min_annotations_per_pair=3)
    store.add_pairs(make_pairs(tmp_path, 3))
    # p000: left, left, right -> soft 2/3, agreement 2/3; p001: all equal; p002: left, cant_tell, skip -> 1 vote
    label_all(store, {'ann1': ['left', 'equal', 'left'], 'ann2': ['left', 'equal', 'cant_tell'],
                      'ann3': ['right', 'equal', 'skip']})
    out = tmp_path / 'prefs.json'
    summary = export_preferences(store, out, min_annotations_per_pair=2, agreement_threshold=0.6)
    assert summary['records'] == 2 and summary['excluded'] == 1
    records = {r.pair_id: r for r in load_preferences(out)}
    assert set(records) == {'p000', 'p001'}
    assert records['p000'].label == pytest.approx(2 / 3) and records['p000'].num_annotations == 3
    assert records['p000'].agreement == pytest.approx(2 / 3)
    assert records['p001'].label == 0.5 and records['p001'].agreement == 1.0
    assert records['p000'].segment_a.episode_id == 'pep0_0'

    export_preferences(store, out, min_annotations_per_pair=2, agreement_threshold=0.7, label_mode='majority')
    assert [r.pair_id for r in load_preferences(out)] == ['p001']
    export_preferences(store, out, min_annotations_per_pair=2, agreement_threshold=0.7, label_mode='majority',
                       include_excluded=True)
    everything = {r.pair_id: r for r in load_preferences(out, include_excluded=True)}
    assert everything['p000'].label == 1.0 and not everything['p000'].included      # majority vote
    assert everything['p002'].num_annotations == 1 and not everything['p002'].included
    assert [r.pair_id for r in load_preferences(out)] == ['p001']                    # reader skips excluded


def test_load_preferences_errors_name_file_and_field(tmp_path):
    store = LabelStore(tmp_path / 'l.sqlite', min_annotations_per_pair=1)
    store.add_pairs(make_pairs(tmp_path, 2))
    label_all(store, {'ann1': ['left', 'right']})
    out = tmp_path / 'prefs.json'
    export_preferences(store, out, agreement_threshold=0.0)
    good = json.loads(out.read_text())
    assert len(load_preferences(out)) == 2

    def broken(edit, name='broken.json'):
        document = json.loads(json.dumps(good))
        edit(document)
        path = tmp_path / name
        path.write_text(json.dumps(document))
        return path

    cases = [
        (lambda d: d['records'][1].__setitem__('label', 'high'), r'records\[1\].label: expected a number'),
        (lambda d: d['records'][0].__setitem__('num_annotations', 1.5), r'records\[0\].num_annotations'),
        (lambda d: d['records'][0]['segment_b'].pop('end_s'), r'records\[0\].segment_b.end_s: missing'),
        (lambda d: d['records'][1]['segment_a'].__setitem__('episode_path', str(tmp_path / 'nope')),
         r"records\[1\].segment_a.episode_path: episode 'pep1_0' not found"),
        (lambda d: d.__setitem__('version', 7), 'version: expected 1'),
        (lambda d: d.__setitem__('records', {}), 'records: expected a list'),
    ]
    for edit, message in cases:
        with pytest.raises(PreferenceFileError, match='broken.json: ' + message):
            load_preferences(broken(edit))
    (tmp_path / 'trunc.json').write_text(out.read_text()[:100])
    with pytest.raises(PreferenceFileError, match='trunc.json: not valid JSON'):
        load_preferences(tmp_path / 'trunc.json')
    with pytest.raises(PreferenceFileError, match='no such file'):
        load_preferences(tmp_path / 'missing.json')
    assert len(load_preferences(out)) == 2      # the good file is untouched


def test_rating_votes_every_pair_of_rated_clips():
    assert rating_votes({'x': 80, 'y': 30, 'z': 80}) == {('x', 'y'): 'a', ('x', 'z'): 'equal', ('y', 'z'): 'b'}


def test_ratings_become_pairwise_preferences_within_a_task(tmp_path):
    store = LabelStore(tmp_path / 'l.sqlite', min_annotations_per_pair=1)
    store.add_pairs(make_pairs(tmp_path, 2) + make_pairs(tmp_path, 1, task='stack', prefix='s'))
    alice = store.add_annotator('alice')
    ratings = {'p000': (90, 20), 'p001': (50, 50), 's000': (10, 70)}
    while (got := store.claim(alice.annotator_id)) is not None:
        a, b = ratings[got.pair.pair_id]
        store.submit(alice.annotator_id, got.assignment_id, got.nonce, rating_a=a, rating_b=b, mode='rating')
    units = {u.pair_id: u for u in collect_units(store)}
    # pick_place clips: pep0_0=90, pep0_1=20, pep1_0=50, pep1_1=50 -> C(4,2) = 6 preferences; stack: 1
    assert len(units) == 7
    assert units['rating:pep0_0@0-2500|pep0_1@0-2500'].votes == {'alice': 'a'}
    assert units['rating:pep0_1@0-2500|pep1_0@0-2500'].votes == {'alice': 'b'}
    assert units['rating:pep1_0@0-2500|pep1_1@0-2500'].votes == {'alice': 'equal'}
    assert units['rating:sep0_0@0-2500|sep0_1@0-2500'].votes == {'alice': 'b'}
    assert all(u.origin == 'rating' for u in units.values())


@pytest.fixture(scope='module')
def episodes(tmp_path_factory):
    root = tmp_path_factory.mktemp('data')
    for i, top in enumerate([1.0, 0.6, 0.3, 0.1]):
        write_episode(root, f'ep{i}', np.linspace(0.0, top, 50))
    return root


def test_scripted_annotators_recover_true_order(tmp_path, episodes):
    segments = cut_segments(find_episodes(episodes), 2.5)
    pairs = [PairRecord(pair_id_of(a, b), a.task, a, b, 'a.mp4', 'b.mp4') for a, b in select_pairs(segments, 12)]
    store = LabelStore(tmp_path / 'l.sqlite', min_annotations_per_pair=2)
    store.add_pairs(pairs)
    scorer = ProgressScorer('gain')
    perfect = [ScriptedAnnotator('p1', temperature=0.0, equal_margin=1e-6), ScriptedAnnotator('p2', temperature=0.0,
                                                                                              equal_margin=1e-6)]
    summary = annotate(store, perfect, scorer, progress=False)
    assert summary['labels'] == 24
    export_preferences(store, tmp_path / 'prefs.json', agreement_threshold=0.0)
    records = load_preferences(tmp_path / 'prefs.json')
    assert len(records) == 12
    for record in records:
        diff = scorer(record.segment_a) - scorer(record.segment_b)
        expected = 0.5 if abs(diff) <= 1e-6 else float(diff > 0)
        assert record.label == expected and record.agreement == 1.0


def test_noisy_annotators_follow_bradley_terry():
    annotator = ScriptedAnnotator('n', temperature=0.1, seed=3)
    # P(left) = sigmoid(0.1 / 0.1) = 0.731
    share = np.mean([annotator.choose(0.6, 0.5) == 'left' for _ in range(4000)])
    assert share == pytest.approx(1 / (1 + np.exp(-1)), abs=0.03)
    assert 1 <= annotator.rate(-3.0) <= 100 and annotator.rate(1.0) > annotator.rate(0.0)


def test_scripted_rating_mode_goes_through_the_store(tmp_path, episodes):
    segments = cut_segments(find_episodes(episodes), 2.5)
    pairs = [PairRecord(pair_id_of(a, b), a.task, a, b, 'a.mp4', 'b.mp4') for a, b in select_pairs(segments, 4)]
    store = LabelStore(tmp_path / 'l.sqlite', min_annotations_per_pair=1)
    store.add_pairs(pairs)
    scorer = ProgressScorer('final')
    annotate(store, [ScriptedAnnotator('r1', rating_noise=0.0)], scorer, mode='rating', progress=False)
    labels = store.labels()
    assert len(labels) == 4 and all(label.mode == 'rating' and label.choice is None for label in labels)
    for unit in collect_units(store):
        diff = scorer(unit.segment_a) - scorer(unit.segment_b)
        if abs(diff) > 0.02:        # ratings are whole points: only clear gaps are sure to be ordered
            assert unit.votes == {'r1': 'a' if diff > 0 else 'b'}


def test_export_keeps_every_label_and_a_disagreement_becomes_a_soft_label(tmp_path):
    store = LabelStore(tmp_path / 'l.sqlite', min_annotations_per_pair=3)
    store.add_pairs(make_pairs(tmp_path, 3))
    label_all(store, {'ann1': ['left', 'equal', 'cant_tell'], 'ann2': ['right', 'equal', 'left']})
    store.add_annotator('ann3')
    got = store.claim(store.annotator('ann3').annotator_id)
    store.submit(store.annotator('ann3').annotator_id, got.assignment_id, got.nonce, choice='skip', time_ms=321)
    out = tmp_path / 'prefs.json'
    summary = export_preferences(store, out, min_annotations_per_pair=2)   # nothing dropped for disagreeing
    document = json.loads(out.read_text())
    records = {r['pair_id']: r for r in document['records']}
    assert summary['excluded'] == 1 and set(records) == {'p000', 'p001'}   # p002 has one vote (< 2)
    assert records['p000']['label'] == 0.5 and records['p000']['agreement'] == 0.5 and records['p000']['included']
    assert [(a['annotator'], a['vote']) for a in records['p000']['annotations']] == [('ann1', 'a'), ('ann2', 'b')]
    # every stored label, with who, when, how long, and what (the skip and the can't-tell too)
    labels = document['labels']
    stored = store.labels()
    assert [x['label_id'] for x in labels] == [x.label_id for x in stored] and len(labels) == 7
    by_id = {x.label_id: x for x in stored}
    for row in labels:
        label = by_id[row['label_id']]
        assert (row['annotator'], row['annotator_id'], row['choice'], row['time_ms'], row['pair_id']) == \
            (label.annotator, label.annotator_id, label.choice, label.time_ms, label.pair_id)
        assert datetime.fromisoformat(row['created_at']).timestamp() == pytest.approx(label.created_at, abs=1e-3)
    assert sorted(x['choice'] for x in labels if x['pair_id'] == 'p002') == ['cant_tell', 'left']
    ids_in_records = {i for r in records.values() for a in r['annotations'] for i in a['label_ids']}
    assert ids_in_records == {x.label_id for x in stored if x.pair_id in ('p000', 'p001') and x.choice != 'skip'}
    everything = export_preferences(store, out, min_annotations_per_pair=2, include_excluded=True)
    assert everything['records'] == 3
    p002 = next(r for r in json.loads(out.read_text())['records'] if r['pair_id'] == 'p002')
    assert p002['cant_tell'] == 1 and p002['num_annotations'] == 1
    record = next(r for r in load_preferences(out, include_excluded=True) if r.pair_id == 'p002')
    assert record.cant_tell == 1 and record.annotations[0]['annotator'] == 'ann2'


def test_export_reports_krippendorff_alpha_computed_by_hand(tmp_path):
    store = LabelStore(tmp_path / 'l.sqlite', min_annotations_per_pair=3)
    store.add_pairs(make_pairs(tmp_path, 3))
    # p000 [a, a, b], p001 [equal x3], p002 [b, b, a]. Coincidences (each pair of values in a unit / (m - 1)):
    # o_aa = 2*1/2 = 1, o_bb = 1, o_ee = 3*2/2 = 3, o_ab = o_ba = 1 + 1 = 2; n_a = n_b = n_e = 3, n = 9.
    # alpha = 1 - (n - 1) * sum_{c!=k} o_ck / sum_{c!=k} n_c n_k = 1 - 8 * 4 / 54 = 11/27
    label_all(store, {'ann1': ['left', 'equal', 'right'], 'ann2': ['left', 'equal', 'right'],
                      'ann3': ['right', 'equal', 'left']})
    summary = export_preferences(store, tmp_path / 'prefs.json')
    document = json.loads((tmp_path / 'prefs.json').read_text())
    assert summary['krippendorff_alpha'] == pytest.approx(11 / 27)
    assert document['krippendorff_alpha'] == pytest.approx(11 / 27) and document['alpha_units'] == 3


def test_rating_pairs_all_or_only_those_shown_side_by_side(tmp_path):
    store = LabelStore(tmp_path / 'l.sqlite', min_annotations_per_pair=1)
    store.add_pairs(make_pairs(tmp_path, 2))
    alice = store.add_annotator('alice')
    ratings = {'p000': (90, 20), 'p001': (50, 60)}
    while (got := store.claim(alice.annotator_id)) is not None:
        store.submit(alice.annotator_id, got.assignment_id, got.nonce, rating_a=ratings[got.pair.pair_id][0],
                     rating_b=ratings[got.pair.pair_id][1], mode='rating')
    out = tmp_path / 'prefs.json'
    assert export_preferences(store, out)['records'] == 6           # 4 rated clips: every two of them
    assert json.loads(out.read_text())['rating_pairs'] == 'all'
    assert export_preferences(store, out, rating_pairs='same_window')['records'] == 6   # all clips span 0-2.5 s
    export_preferences(store, out, rating_pairs='shown')
    document = json.loads(out.read_text())
    assert document['rating_pairs'] == 'shown'
    assert {(r['pair_id'], r['origin'], r['label']) for r in document['records']} == {('p000', 'rating', 1.0),
                                                                                      ('p001', 'rating', 0.0)}


def test_same_window_ratings_compare_one_passage_across_performances(tmp_path):
    from rlhf_preference.ratings import rating_records
    from rlhf_preference.segments import Segment
    # three performances of one song, each cut into two windows; window 1 is harder, so it is rated lower
    segments = {}
    ratings = {}
    for perf, quality in enumerate([70, 50, 60]):
        for window in range(2):
            s = Segment(f'perf{perf}', str(tmp_path), 2.0 * window, 2.0 * window + 2.0, 'song')
            segments[s.segment_id] = s
            ratings[s.segment_id] = {'alice': quality - 30 * window}
    every = rating_records(segments, ratings)
    assert len(every) == 15    # 6 clips: every two of them, across windows too
    same = rating_records(segments, ratings, pairs='same_window')
    assert len(same) == 6      # 2 windows x 3 pairs of performances
    for record in same:
        a, b = record['segment_a'], record['segment_b']
        assert (a['start_s'], a['end_s']) == (b['start_s'], b['end_s'])
        better = max((a, b), key=lambda x: [70, 50, 60][int(x['episode_id'][-1])])
        assert record['label'] == (1.0 if better is a else 0.0)
    with pytest.raises(ValueError, match='pairs: expected one of'):
        rating_records(segments, ratings, pairs='shown')


def test_a_file_without_the_newer_fields_still_reads(tmp_path):
    store = LabelStore(tmp_path / 'l.sqlite', min_annotations_per_pair=1)
    store.add_pairs(make_pairs(tmp_path, 1))
    label_all(store, {'ann1': ['left']})
    out = tmp_path / 'prefs.json'
    export_preferences(store, out)
    document = json.loads(out.read_text())
    for key in ('rating_pairs', 'krippendorff_alpha', 'alpha_units', 'labels'):
        del document[key]
    for key in ('cant_tell', 'annotations'):
        del document['records'][0][key]
    out.write_text(json.dumps(document))
    (record,) = load_preferences(out)
    assert record.label == 1.0 and record.cant_tell == 0 and record.annotations == ()
