# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""Ratings -> preferences over every pair of rated clips (pooled over annotators), from a file or the page."""

import json

from conftest import make_pairs
import pytest

from rlhf_preference.export import load_preferences
from rlhf_preference.ratings import (
    RatingsError,
    main,
    rating_records,
    ratings_from_store,
    read_ratings_file,
    write_rating_preferences,
    write_ratings_file,
)
from rlhf_preference.store import LabelStore


def test_every_pair_of_rated_clips_from_pooled_ratings(tmp_path):
    pairs = make_pairs(tmp_path, 2)
    segs = [pairs[0].segment_a, pairs[0].segment_b, pairs[1].segment_a, pairs[1].segment_b]
    # clip 0 and clip 3 were never shown together; pooled means: 80, 40, 60, 60
    ratings_file = write_ratings_file(tmp_path / 'ratings.json', [
        (segs[0], 'c0.mp4', {'alice': 90, 'bob': 70}), (segs[1], 'c1.mp4', {'alice': 40}),
        (segs[2], 'c2.mp4', {'bob': 60}), (segs[3], 'c3.mp4', {'alice': 50, 'bob': 70})])
    segments, ratings = read_ratings_file(ratings_file)
    records = {r['pair_id']: r for r in rating_records(segments, ratings)}
    ids = [s.segment_id for s in segs]
    assert len(records) == 6                                   # 4 clips -> 4 * 3 / 2 pairs
    assert records[f'rating:{ids[0]}|{ids[1]}']['label'] == 1.0
    assert records[f'rating:{ids[0]}|{ids[3]}']['label'] == 1.0   # never side by side, still a pair
    assert records[f'rating:{ids[2]}|{ids[3]}']['label'] == 0.5   # equal means
    assert records[f'rating:{ids[1]}|{ids[2]}']['label'] == 0.0
    assert records[f'rating:{ids[0]}|{ids[1]}']['num_annotations'] == 1   # the fewer-rated clip's count
    out = tmp_path / 'prefs.json'
    assert main(['--ratings', str(ratings_file), '--output', str(out)]) == 0
    loaded = load_preferences(out)
    assert len(loaded) == 6 and {r.origin for r in loaded} == {'rating'}


def test_ratings_from_the_pages_rating_mode_pool_annotators(tmp_path):
    store = LabelStore(tmp_path / 'l.sqlite', min_annotations_per_pair=2)
    store.add_pairs(make_pairs(tmp_path, 2))
    given = {'alice': {'p000': (90, 20), 'p001': (50, 30)}, 'bob': {'p000': (70, 40), 'p001': (10, 30)}}
    for name, answers in given.items():
        who = store.add_annotator(name)
        while (got := store.claim(who.annotator_id)) is not None:
            a, b = answers[got.pair.pair_id]
            store.submit(who.annotator_id, got.assignment_id, got.nonce, rating_a=a, rating_b=b, mode='rating')
    segments, ratings = ratings_from_store(store)
    assert ratings['pep0_0@0-2500'] == {'alice': 90, 'bob': 70}
    summary = write_rating_preferences(tmp_path / 'p.json', segments, ratings)
    assert summary == {'path': str(tmp_path / 'p.json'), 'clips': 4, 'records': 6}
    records = json.loads((tmp_path / 'p.json').read_text())['records']
    by_id = {r['pair_id']: r for r in records}
    # pooled means: pep0_0 80, pep0_1 30, pep1_0 30, pep1_1 30
    assert by_id['rating:pep0_0@0-2500|pep1_1@0-2500']['label'] == 1.0
    assert by_id['rating:pep0_1@0-2500|pep1_0@0-2500']['label'] == 0.5


def test_bad_ratings_name_the_field(tmp_path):
    pairs = make_pairs(tmp_path, 1)
    path = write_ratings_file(tmp_path / 'r.json', [(pairs[0].segment_a, 'c.mp4', {'alice': 101})])
    with pytest.raises(RatingsError, match=r"clips\[0\]\.ratings\.alice: expected a number in \[1, 100\]"):
        read_ratings_file(path)
    (tmp_path / 'x.json').write_text('{"format": "other"}')
    with pytest.raises(RatingsError, match='x.json: format'):
        read_ratings_file(tmp_path / 'x.json')
