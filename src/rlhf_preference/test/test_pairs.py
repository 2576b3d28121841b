# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""Segments from real episode bags, pair selection strategies, clips and the pairs file."""

import json
from pathlib import Path

import av
from episodes_helper import write_episode
import numpy as np
import pytest

from rlhf_preference.clips import render_clips, write_mp4
from rlhf_preference.make_pairs import main as make_pairs_main
from rlhf_preference.pairs import PairsFileError, load_pairs_file, same_start, segment_features, select_pairs
from rlhf_preference.segments import Segment, SegmentError, cut_segments, episodes_from_folder, find_episodes


@pytest.fixture(scope='module')
def data_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp('data')
    write_episode(root, 'fast', np.linspace(0.0, 1.0, 50))     # 5 s at 10 Hz
    write_episode(root, 'slow', np.linspace(0.0, 0.2, 50))
    write_episode(root, 'stack0', np.linspace(0.0, 0.5, 30), task='stack')
    return root


def test_segments_from_catalog_and_folder(data_dir):
    catalog = find_episodes(data_dir)
    folder = episodes_from_folder(data_dir / 'episodes')
    assert sorted(e.episode_id for e in catalog) == sorted(e.episode_id for e in folder) == ['fast', 'slow', 'stack0']
    segments = cut_segments(catalog, 2.5)
    by_episode = {}
    for s in segments:
        by_episode.setdefault(s.episode_id, []).append((s.start_s, s.end_s))
    assert by_episode == {'fast': [(0.0, 2.5), (2.5, 5.0)], 'slow': [(0.0, 2.5), (2.5, 5.0)], 'stack0': [(0.0, 2.5)]}
    assert len(cut_segments(catalog, 2.5, stride_s=1.25)) == 3 + 3 + 1
    assert all(s.episode_path.endswith(s.episode_id) for s in segments)
    with pytest.raises(SegmentError, match='segment_length_s'):
        cut_segments(catalog, 0)


def test_segments_start_when_every_stream_has_data(tmp_path):
    """A camera that joined 1.2 s after START: no segment covers the time before it (issue seen under load)."""
    write_episode(tmp_path, 'late_camera', np.linspace(0.0, 1.0, 50), camera_from=12)
    (episode,) = find_episodes(tmp_path)
    assert (episode.start_s, episode.end_s) == (pytest.approx(1.2), pytest.approx(5.0))
    segments = cut_segments([episode], 1.0, stride_s=0.5)
    assert segments[0].start_s == pytest.approx(1.2) and segments[-1].end_s <= 5.0 + 1e-6
    assert len(segments) == 6   # starting at 1.2, 1.7, ..., 3.7 (the next would end at 5.2)


def test_relative_locations_give_absolute_episode_paths(data_dir, monkeypatch):
    monkeypatch.chdir(data_dir.parent)
    for episodes in (find_episodes(data_dir.name), find_episodes(f'{data_dir.name}/episodes')):
        assert len(episodes) == 3
        assert all(Path(e.path).is_absolute() and (Path(e.path) / 'metadata.yaml').is_file() for e in episodes)


def test_segment_json_round_trip_and_errors(tmp_path):
    seg = Segment('e1', 'episodes/e1', 1.0, 3.5, 'stack', 'demo')
    assert Segment.from_dict(seg.to_dict()) == seg
    assert Segment.from_dict(seg.to_dict(), base_dir=tmp_path).episode_path == str(tmp_path / 'episodes/e1')
    with pytest.raises(SegmentError, match=r'pairs\[0\].segment_a.start_s: expected a finite number'):
        Segment.from_dict({**seg.to_dict(), 'start_s': 'x'}, 'pairs[0].segment_a')
    with pytest.raises(SegmentError, match='start_s < end_s'):
        Segment.from_dict({**seg.to_dict(), 'end_s': 0.5})


def test_select_pairs_strategies(data_dir):
    segments = cut_segments(find_episodes(data_dir), 2.5)
    pick = [s for s in segments if s.task == 'pick_place']
    uniform = select_pairs(segments, 100, 'uniform', seed=1)
    assert len(uniform) == 6                 # C(4,2) pick_place pairs; the lone stack segment has no partner
    assert len({frozenset((a.segment_id, b.segment_id)) for a, b in uniform}) == 6
    assert all(a.task == b.task and a != b for a, b in uniform)
    assert select_pairs(segments, 3, 'uniform', seed=1) == select_pairs(segments, 3, 'uniform', seed=1)

    # disagreement picks the pairs the scorer rates highest
    target = {pick[0].segment_id, pick[3].segment_id}
    best = select_pairs(segments, 1, 'disagreement', seed=0,
                        scorer=lambda a, b: float({a.segment_id, b.segment_id} == target))
    assert {best[0][0].segment_id, best[0][1].segment_id} == target
    with pytest.raises(ValueError, match='needs a scorer'):
        select_pairs(segments, 1, 'disagreement')

    # diversity: features from the reader; two clusters -> the two chosen pairs differ in kind
    features = segment_features(pick)
    assert set(features) == set(pick)
    gain = {s.segment_id: features[s][-2] for s in pick}
    assert gain['fast@0-2500'] > gain['slow@0-2500'] > 0
    points = {s: np.array([10.0 if s.segment_id == 'fast@0-2500' else 0.0]) for s in pick}
    chosen = select_pairs(pick, 2, 'diversity', features=points, seed=0)
    has_outlier = [('fast@0-2500' in (a.segment_id, b.segment_id)) for a, b in chosen]
    assert sorted(has_outlier) == [False, True]


def test_same_start_pairs_two_attempts_at_one_scene_over_the_same_time(tmp_path):
    write_episode(tmp_path, 'careful', np.linspace(0.0, 1.0, 20), seed=5)    # 2 s at 10 Hz
    write_episode(tmp_path, 'sloppy', np.linspace(0.0, 0.6, 20), seed=5)
    write_episode(tmp_path, 'other_scene', np.linspace(0.0, 0.6, 20), seed=6)
    write_episode(tmp_path, 'robot', np.linspace(0.0, 0.6, 20))              # no seed: never paired
    for episodes in (find_episodes(tmp_path), episodes_from_folder(tmp_path / 'episodes')):
        seed_of = {e.path: e.seed for e in episodes}
        assert sorted(seed_of.values()) == [-1, 5, 5, 6]
        segments = cut_segments(episodes, 1.0, stride_s=0.5)
        pairs = select_pairs(segments, 100, 'uniform', seed=0, group_of=same_start(seed_of))
        assert sorted((a.start_s, {a.episode_id, b.episode_id} == {'careful', 'sloppy'}) for a, b in pairs) == [
            (0.0, True), (0.5, True), (1.0, True)]
        assert all(a.start_s == b.start_s for a, b in pairs)


def test_clips_are_h264_and_cached(tmp_path, data_dir):
    frames = np.zeros((12, 48, 65, 3), np.uint8)
    path = write_mp4(frames, tmp_path / 'x.mp4', fps=10)
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == 'h264' and (stream.width, stream.height) == (64, 48)
        assert sum(1 for _ in container.decode(stream)) == 12
    with pytest.raises(ValueError, match='expected frames of shape'):
        write_mp4(np.zeros((0, 4, 4, 3), np.uint8), tmp_path / 'bad.mp4')
    segments = cut_segments(find_episodes(data_dir), 2.5)[:2]
    names = render_clips(segments, tmp_path / 'clips')
    first = {n: (tmp_path / 'clips' / n).stat().st_mtime_ns for n in names.values()}
    assert render_clips(segments, tmp_path / 'clips') == names         # cached: same names, files untouched
    assert {n: (tmp_path / 'clips' / n).stat().st_mtime_ns for n in names.values()} == first
    assert len(set(names.values())) == 2


def test_make_pairs_and_pairs_file_errors(tmp_path, data_dir):
    out = tmp_path / 'prefs' / 'pairs.json'
    assert make_pairs_main(['--data', str(data_dir), '--output', str(out), '--num-pairs', '3', '--gold', '1',
                            '--gold-margin', '0.05']) == 0
    pairs, clip_dir = load_pairs_file(out)
    assert len(pairs) == 4 and sum(p.gold_choice is not None for p in pairs) == 1
    assert all((clip_dir / p.clip_a).is_file() and (clip_dir / p.clip_b).is_file() for p in pairs)
    gold = next(p for p in pairs if p.gold_choice)
    assert gold.gold_choice == 'left' if gold.segment_a.episode_id == 'fast' else 'right'

    assert make_pairs_main(['--data', str(data_dir), '--output', str(tmp_path / 'none.json'),
                            '--segment-length', '6']) == 2
    assert not (tmp_path / 'none.json').exists()
    assert make_pairs_main(['--data', str(data_dir), '--output', str(tmp_path / 'p.json'), '--task', 'stack']) == 2
    assert make_pairs_main(['--data', str(data_dir), '--output', str(tmp_path / 'some.json'), '--num-pairs',
                            '50']) == 0
    assert len(load_pairs_file(tmp_path / 'some.json')[0]) == 6   # 4 pick_place segments: every pair of them

    document = json.loads(out.read_text())
    document['pairs'][1]['segment_b']['episode_path'] = str(tmp_path / 'gone')
    bad = tmp_path / 'prefs' / 'bad.json'
    bad.write_text(json.dumps(document))
    with pytest.raises(PairsFileError, match=r"bad.json: pairs\[1\].segment_b.episode_path: episode .* not found"):
        load_pairs_file(bad)
    document['pairs'][1]['clip_a'] = '../../etc/passwd'
    bad.write_text(json.dumps(document))
    with pytest.raises(PairsFileError, match=r'pairs\[1\].clip_a: expected a file name inside clip_dir'):
        load_pairs_file(bad, check_episodes=False)
    bad.write_text('{"format": "rlhf_preference.pairs", "version": 1, "clip_dir": "c", "pairs": [')
    with pytest.raises(PairsFileError, match='bad.json: not valid JSON'):
        load_pairs_file(bad)


def test_one_window_rule_for_every_reader():
    seg = Segment('e', 'p', 1.0, 2.0, 'reach')
    times = np.array([0.9, 1.0 - 1e-12, 1.0, 1.5, 2.0 - 1e-3, 2.0, 2.0 + 1e-12])
    np.testing.assert_array_equal(seg.frames(times), [False, True, True, True, True, False, False])
