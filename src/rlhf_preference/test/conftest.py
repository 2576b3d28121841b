# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""Shared fixtures: label stores on both databases, pairs referencing (placeholder) episode bags.

``new_store`` runs a test once on SQLite and once on a real PostgreSQL server (the Debian package,
started once per test session by ``rlhf_preference.postgres_process``). A machine without PostgreSQL
fails those tests with the command that installs it; they are not skipped.
"""

import itertools

import pytest

from rlhf_preference.postgres_process import start_postgres
from rlhf_preference.segments import Segment
from rlhf_preference.store import LabelStore, PairRecord


def make_pairs(folder, count, task='pick_place', prefix='p', gold=None):
    """``count`` pairs of 2.5 s segments of episodes ep<i> under ``folder`` (each a dir with metadata.yaml)."""
    pairs = []
    for i in range(count):
        segs = []
        for side in range(2):
            episode = folder / 'episodes' / f'{prefix}ep{i}_{side}'
            episode.mkdir(parents=True, exist_ok=True)
            (episode / 'metadata.yaml').write_text('rosbag2_bagfile_information: {}\n')
            segs.append(Segment(episode.name, str(episode), 0.0, 2.5, task, 'test'))
        pairs.append(PairRecord(f'{prefix}{i:03d}', task, segs[0], segs[1], f'{prefix}{i}_a.mp4', f'{prefix}{i}_b.mp4',
                                gold))
    return pairs


def placeholder_clips(folder, pairs):
    """Files under the pairs' clip names (the server checks that clips exist; nothing here plays them)."""
    folder.mkdir(parents=True, exist_ok=True)
    for pair in pairs:
        for name in (pair.clip_a, pair.clip_b):
            (folder / name).write_bytes(b'\x00\x00\x00\x18ftypmp42')
    return folder


@pytest.fixture(scope='session')
def postgres():
    server = start_postgres()
    yield server
    server.stop()


@pytest.fixture(params=['sqlite', 'postgresql'])
def store_location(request, tmp_path):
    """A function returning the location of a new empty label database on this test's backend."""
    counter = itertools.count()
    if request.param == 'sqlite':
        return lambda: tmp_path / f'labels{next(counter)}.sqlite'
    server = request.getfixturevalue('postgres')
    return server.create_database


@pytest.fixture
def new_store(store_location):
    """``new_store(**options)``: a LabelStore on a new database of this test's backend."""
    return lambda **options: LabelStore(store_location(), **options)


@pytest.fixture
def store(new_store):
    return new_store(min_annotations_per_pair=2)
