# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""EpisodeRecorder (the node's core) under an unwritable data_dir and a really full disk (small tmpfs)."""

import json
from pathlib import Path
import shutil
import subprocess
import sys
import textwrap

import pytest

from rlhf_recorder.catalog import Catalog
from rlhf_recorder.reader import episode_info
from rlhf_recorder.recording import EpisodeRecorder

T0 = 1_800_000_000 * 10**9
TEST_DIR = Path(__file__).resolve().parent


class ListLog:
    def __init__(self):
        self.lines = []

    def info(self, msg):
        self.lines.append(('info', msg))

    def warn(self, msg):
        self.lines.append(('warn', msg))

    warning = warn

    def error(self, msg):
        self.lines.append(('error', msg))

    def errors(self):
        return [m for level, m in self.lines if level == 'error']


def test_unwritable_data_dir_is_reported_and_recorder_keeps_running(tmp_path, msgs):
    blocker = tmp_path / 'not_a_dir'
    blocker.write_text('a file where the data directory should be')
    log = ListLog()
    rec = EpisodeRecorder(blocker / 'data', logger=log)
    rec.start({'episode_id': 'ep_1', 'task': 'stack'}, {'/joint_states': 'sensor_msgs/msg/JointState'})
    assert rec.message('/joint_states', msgs.joint_state(['j'], [0.0], [0.0]), T0)
    rec.finish('success')
    assert rec.flush(10.0)
    errors = log.errors()
    assert any(str(blocker / 'data') in e and 'catalog' in e for e in errors), errors
    assert any('cannot create bag' in e and str(blocker / 'data' / 'episodes' / 'ep_1') in e for e in errors), errors
    assert any('ep_1 ended (success) but was not fully saved' in e for e in errors), errors
    assert rec.saved == []
    # Still alive: the next episode is handled (and fails the same way, loudly, without raising).
    rec.start({'episode_id': 'ep_2'}, {})
    assert rec.flush(10.0) and rec.recording == 'ep_2'
    rec.shutdown()


def test_episode_id_reuse_never_overwrites_an_earlier_episode(tmp_path, msgs):
    log = ListLog()
    rec = EpisodeRecorder(tmp_path, logger=log)
    topics = {'/joint_states': 'sensor_msgs/msg/JointState'}
    for positions in ([1.0], [2.0]):
        rec.start({'episode_id': 'same'}, topics)
        rec.message('/joint_states', msgs.joint_state(['j'], positions, [0.0]), T0)
        rec.finish('success')
    rec.shutdown()
    assert any('exists already' in e for e in log.errors())
    assert episode_info(tmp_path / 'episodes' / 'same')['counts'] == {'/joint_states': 1}
    assert Catalog(tmp_path).get('same').status == 'complete'


def test_restart_settles_episodes_left_recording_and_a_second_recorder_keeps_off(tmp_path, msgs):
    first = EpisodeRecorder(tmp_path, logger=ListLog())
    assert first.acquire_data_dir()
    topics = {'/joint_states': 'sensor_msgs/msg/JointState'}
    first.start({'episode_id': 'closed_bag'}, topics)
    first.message('/joint_states', msgs.joint_state(['j'], [1.0], [0.0]), T0)
    first.finish('failure')
    first.start({'episode_id': 'open_bag'}, topics)
    first.message('/joint_states', msgs.joint_state(['j'], [1.0], [0.0]), T0)
    assert first.flush(10.0)
    catalog = Catalog(tmp_path)
    # As if killed after the bag was closed but before the catalog heard of it.
    catalog.update('closed_bag', status='recording', outcome='incomplete')
    log = ListLog()
    second = EpisodeRecorder(tmp_path, logger=log)
    assert not second.acquire_data_dir()  # the first one is alive: hands off its episodes
    assert any('another recorder is running' in e for e in log.errors())
    first._lock_file.close()  # what the OS does when the first recorder dies
    third = EpisodeRecorder(tmp_path, logger=ListLog())
    assert third.acquire_data_dir()
    assert third.recover_interrupted() == ['open_bag']
    closed, open_ = catalog.get('closed_bag'), catalog.get('open_bag')
    assert (closed.status, closed.outcome) == ('complete', 'failure')
    assert (open_.status, open_.outcome) == ('incomplete', 'incomplete')
    for rec in (first, second, third):
        rec.shutdown()


DISK_FULL_SCRIPT = textwrap.dedent('''
    import json, os, sys
    import numpy as np
    sys.path.insert(0, sys.argv[2])
    from conftest import Messages
    from rlhf_recorder.catalog import Catalog
    from rlhf_recorder.reader import episode_info
    from rlhf_recorder.recording import EpisodeRecorder
    from test_recording_failures import ListLog, T0

    data_dir = sys.argv[1]
    log = ListLog()
    rec = EpisodeRecorder(data_dir, queue_size=20, chunk_interval_s=0.05, logger=log)
    msgs = Messages()
    frame = msgs.image(np.zeros((240, 320, 3), np.uint8), 'rgb8')   # 230 kB
    topics = {'/cam/color': 'sensor_msgs/msg/Image'}

    def episode(name, frames, outcome):
        rec.start({'episode_id': name, 'task': 'pick_place'}, topics)
        for i in range(frames):
            rec.message('/cam/color', frame, T0 + i * 10**8)
        rec.finish(outcome)
        assert rec.flush(60)

    episode('ep_before', 3, 'success')
    filler = os.path.join(data_dir, 'filler')
    with open(filler, 'wb') as f:
        f.write(b'0' * 1_500_000)
    episode('ep_full', 40, 'failure')            # 9 MB into what is left of 4 MB: ENOSPC
    os.remove(filler)
    episode('ep_after', 2, 'success')
    rec.shutdown()
    catalog = Catalog(data_dir)
    print(json.dumps({
        'status': {r.episode_id: r.status for r in catalog.list()},
        'errors': log.errors(),
        'before_counts': episode_info(os.path.join(data_dir, 'episodes', 'ep_before'))['counts'],
        'after_counts': episode_info(os.path.join(data_dir, 'episodes', 'ep_after'))['counts'],
    }))
''')


def test_disk_full_marks_episode_incomplete_and_keeps_others(tmp_path):
    unshare = shutil.which('unshare')
    if unshare is None:
        pytest.skip('unshare (util-linux) not installed: cannot mount a small tmpfs without privileges')
    mount_dir = tmp_path / 'small_disk'
    mount_dir.mkdir()
    script = tmp_path / 'disk_full.py'
    script.write_text(DISK_FULL_SCRIPT)
    probe = subprocess.run([unshare, '-rm', 'sh', '-c', f'mount -t tmpfs -o size=4m tmpfs {mount_dir}'],
                           capture_output=True, text=True)
    if probe.returncode != 0:
        pytest.skip(f'cannot mount a tmpfs in a user namespace here: {probe.stderr.strip()}')
    cmd = (f'mount -t tmpfs -o size=4m tmpfs {mount_dir} && '
           f'{sys.executable} {script} {mount_dir} {TEST_DIR}')
    result = subprocess.run([unshare, '-rm', 'sh', '-c', cmd], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report['status'] == {'ep_before': 'complete', 'ep_full': 'incomplete', 'ep_after': 'complete'}, report
    assert report['before_counts'] == {'/cam/color': 3}
    assert report['after_counts'] == {'/cam/color': 2}
    disk_errors = [e for e in report['errors'] if 'No space left on device' in e]
    assert disk_errors and all(str(mount_dir / 'episodes' / 'ep_full') in e for e in disk_errors), report['errors']
