# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""Catalog on a real SQLite file, and the ``episodes`` command line."""

from pathlib import Path
import sqlite3

import numpy as np
import pytest

from rlhf_recorder.bag import EpisodeBagWriter
from rlhf_recorder.catalog import Catalog, EpisodeRecord
from rlhf_recorder.episodes_cli import main as episodes_main


def _record(data_dir, episode_id, **fields):
    values = dict(task='pick_place', operator_name='alice', device='spacemouse', outcome='success',
                  status='complete', duration_s=12.5, is_sim=True, robot='franka_panda', seed=3,
                  software_version='0.1.0', started_at=f'2026-11-21T10:00:{episode_id[-2:]}Z',
                  message_counts={'/joint_states': 1250})
    values.update(fields)
    return EpisodeRecord(episode_id=episode_id, path=str(data_dir / 'episodes' / episode_id), **values)


def test_add_get_list_filter(tmp_path):
    catalog = Catalog(tmp_path)
    catalog.add(_record(tmp_path, 'ep_01'))
    catalog.add(_record(tmp_path, 'ep_02', task='stack', outcome='failure', device='expert'))
    catalog.add(_record(tmp_path, 'ep_03', is_sim=False, seed=-1))
    catalog.add(_record(tmp_path, 'ep_04', status='recording', outcome='incomplete'))
    got = catalog.get('ep_01')
    assert got.path == str(tmp_path / 'episodes' / 'ep_01')
    assert got.message_counts == {'/joint_states': 1250} and got.is_sim is True and got.duration_s == 12.5
    assert [r.episode_id for r in catalog.list()] == ['ep_01', 'ep_02', 'ep_03', 'ep_04']
    assert [r.episode_id for r in catalog.list(task='stack')] == ['ep_02']
    assert [r.episode_id for r in catalog.list(outcome='success', is_sim=True)] == ['ep_01']
    assert [r.episode_id for r in catalog.list(is_sim=False)] == ['ep_03']
    assert [r.episode_id for r in catalog.list(device='expert')] == ['ep_02']
    assert [r.episode_id for r in catalog.list(status='recording')] == ['ep_04']
    updated = catalog.update('ep_04', status='incomplete', note='recorder restarted')
    assert Catalog(tmp_path).get('ep_04').status == 'incomplete' == updated.status
    assert catalog.remove('ep_02') and not catalog.remove('ep_02')
    with pytest.raises(KeyError, match='ep_02'):
        catalog.get('ep_02')
    with pytest.raises(ValueError, match='status'):
        catalog.add(_record(tmp_path, 'ep_05', status='done'))
    # A real SQLite file in WAL mode with relative paths, readable by any SQLite client.
    with sqlite3.connect(tmp_path / 'catalog.sqlite') as db:
        assert db.execute('PRAGMA journal_mode').fetchone()[0] == 'wal'
        assert db.execute("SELECT path FROM episodes WHERE episode_id='ep_01'").fetchone()[0] == 'episodes/ep_01'


def test_relative_data_dir_gives_absolute_paths(tmp_path, monkeypatch):
    """`train data_dir=data/demos` found data/demos/data/demos/...: paths come back absolute once, not joined twice."""
    monkeypatch.chdir(tmp_path)
    Catalog('data/demos').add(_record(Path('data/demos'), 'ep_01'))
    monkeypatch.chdir(tmp_path / 'data')     # a later working directory changes nothing
    record = Catalog(tmp_path / 'data' / 'demos').get('ep_01')
    assert record.path == str(tmp_path / 'data' / 'demos' / 'episodes' / 'ep_01')
    monkeypatch.chdir(tmp_path)
    assert Catalog('data/demos').get('ep_01').path == record.path


def test_episodes_cli_list_and_show(tmp_path, capsys, msgs):
    catalog = Catalog(tmp_path)
    catalog.add(_record(tmp_path, 'ep_01'))
    catalog.add(_record(tmp_path, 'ep_02', task='stack', outcome='failure'))
    writer = EpisodeBagWriter(tmp_path / 'episodes' / 'ep_01', {'/joint_states': 'sensor_msgs/msg/JointState'},
                              {'task': 'pick_place'})
    for i in range(11):
        writer.write('/joint_states', msgs.joint_state(['j'], [0.1 * i], [0.0]), 10**18 + i * 10**7)
    writer.close('success')
    assert episodes_main(['--data-dir', str(tmp_path), 'list', '--task', 'stack']) == 0
    out = capsys.readouterr().out
    assert 'ep_02' in out and 'ep_01' not in out and '1 episodes' in out
    assert episodes_main(['--data-dir', str(tmp_path), 'list', '--json', '--outcome', 'success']) == 0
    out = capsys.readouterr().out
    assert '"episode_id": "ep_01"' in out and 'ep_02' not in out
    assert episodes_main(['--data-dir', str(tmp_path), 'show', 'ep_01']) == 0
    out = capsys.readouterr().out
    assert '/joint_states' in out and 'sensor_msgs/msg/JointState' in out and '100.0' in out
    assert episodes_main(['--data-dir', str(tmp_path), 'show', 'nope']) == 1
    assert episodes_main(['--data-dir', str(tmp_path / 'missing')]) == 1
    assert 'no episode catalog' in capsys.readouterr().out
    assert np.isfinite(catalog.get('ep_01').duration_s)
