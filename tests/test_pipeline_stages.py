# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""The main job's stages: finished ones are kept, a redone or interrupted one replaces its outputs, --fresh resets."""

from pathlib import Path
import sys

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / 'scripts'))
from pipeline import Pipeline, StageError  # noqa: E402


def make(tmp_path, fresh=False):
    return Pipeline({'out_dir': str(tmp_path / 'run')}, fresh=fresh)


def write_demos(pipeline, count):
    def body():
        for i in range(count):
            pipeline.output('data', 'demos', f'episode_{i}').write_text('bag')
    return body


def test_outputs_appear_only_when_the_stage_succeeds(tmp_path):
    pipeline = make(tmp_path)

    def interrupted():
        write_demos(pipeline, 3)()
        raise StageError('stage demos: collect exited with 1')

    with pytest.raises(StageError):
        pipeline.stage('demos', ['data/demos'], interrupted)
    assert not pipeline.path('data', 'demos').exists() and not pipeline.path('.done', 'demos').exists()
    pipeline.stage('demos', ['data/demos'], write_demos(pipeline, 2))   # redone: the half-written attempt is gone
    assert sorted(p.name for p in pipeline.path('data', 'demos').iterdir()) == ['episode_0', 'episode_1']
    assert pipeline.path('.done', 'demos').is_file() and not pipeline.path('.staging', 'demos').exists()


def test_finished_stages_are_kept_and_fresh_starts_from_nothing(tmp_path):
    pipeline = make(tmp_path)
    pipeline.stage('demos', ['data/demos'], write_demos(pipeline, 2))
    ran = []
    make(tmp_path).stage('demos', ['data/demos'], lambda: ran.append(1))
    assert ran == []                                   # kept
    fresh = make(tmp_path, fresh=True)
    assert not fresh.path('data').exists()             # nothing of the earlier run is left to be mixed in
    fresh.stage('demos', ['data/demos'], write_demos(fresh, 1))
    assert [p.name for p in fresh.path('data', 'demos').iterdir()] == ['episode_0']


def test_a_stage_must_write_what_it_promises(tmp_path):
    pipeline = make(tmp_path)
    with pytest.raises(StageError, match='did not write data/demos'):
        pipeline.stage('demos', ['data/demos'], lambda: None)
    assert not pipeline.path('.done', 'demos').exists()
