# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""Shared fixtures: a label store in a temporary folder with pairs referencing (placeholder) episode bags."""

import pytest

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


@pytest.fixture
def store(tmp_path):
    return LabelStore(tmp_path / 'labels.sqlite', min_annotations_per_pair=2)
