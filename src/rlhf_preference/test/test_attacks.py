# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""The real server (waitress on 127.0.0.1, a child process) against what an attacker or a bad day sends.

Each test names the problem it guards against: links out of the clip folder, missing clips, expired leases,
malformed bodies, a locked or read-only database, sessions after sign-out, tokens in logs, the WSGI server,
a database without annotators, clips too small to judge.
"""

import json
import os
import re
import shutil
import subprocess
import sys

from conftest import make_pairs, placeholder_clips
import numpy as np
import pytest

from rlhf_preference.clips import write_mp4
from rlhf_preference.pairs import write_pairs_file
from rlhf_preference.server import main as server_main
from rlhf_preference.server_process import PageClient, start_server
from rlhf_preference.store import MAX_ID, LabelStore


def seeded(tmp_path, count=3, clips=True, **store_options):
    """A database with ``count`` pairs and annotators alice and bob; the clip folder holds every clip."""
    store = LabelStore(tmp_path / 'labels.sqlite', **store_options)
    pairs = make_pairs(tmp_path, count)
    store.add_pairs(pairs)
    tokens = {name: store.add_annotator(name).token for name in ('alice', 'bob')}
    if clips:
        placeholder_clips(tmp_path / 'clips', pairs)
    return store, pairs, tokens


def serve(tmp_path, *extra, log='server.log'):
    return start_server(['--db', tmp_path / 'labels.sqlite', '--clips', tmp_path / 'clips', '--port', '0', *extra],
                        tmp_path / log)


def client(server, token):
    browser = PageClient(server.url)
    browser.sign_in(token)
    return browser


def test_links_out_of_the_clip_folder_are_refused_and_the_database_is_never_served(tmp_path):
    store, pairs, tokens = seeded(tmp_path)
    (tmp_path / 'secret.txt').write_text('not yours')
    clips = tmp_path / 'clips'
    (clips / 'leak.mp4').symlink_to(tmp_path / 'labels.sqlite')
    (clips / 'leak-wal.mp4').symlink_to(tmp_path / 'labels.sqlite-wal')
    (clips / 'outside.mp4').symlink_to(tmp_path / 'secret.txt')
    (clips / 'alias.mp4').symlink_to(clips / pairs[0].clip_a)         # a link inside the folder is fine
    (clips / 'db.mp4').symlink_to('../labels.sqlite')                  # relative, same target
    server = serve(tmp_path, '--quiet')
    try:
        alice = client(server, tokens['alice'])
        for name in ('leak.mp4', 'leak-wal.mp4', 'outside.mp4', 'db.mp4', '..%2Flabels.sqlite', '../secret.txt',
                     '%2e%2e/labels.sqlite', 'nope.mp4'):
            status, _headers, data = alice.request('GET', f'/clips/{name}')
            assert status == 404 and b'SQLite' not in data, name
        assert alice.request('GET', '/clips/alias.mp4')[0] == 200
        # the story of the report: after the database had been served, an acknowledged label went missing
        a = alice.post_json('/api/claim', {})[1]['assignment']
        status, ack = alice.post_json('/api/label', {'assignment_id': a['assignment_id'], 'nonce': a['nonce'],
                                                     'choice': 'left', 'time_ms': 10})
        assert status == 200 and ack['ok']
    finally:
        server.stop(kill=True)
    assert [label.label_id for label in LabelStore(tmp_path / 'labels.sqlite').labels()] == [ack['label_id']]


def test_a_pairs_file_with_a_clip_linked_from_outside_is_refused_by_field(tmp_path, capsys):
    pairs = make_pairs(tmp_path, 2)
    placeholder_clips(tmp_path / 'clips', pairs)
    os.unlink(tmp_path / 'clips' / pairs[1].clip_b)
    (tmp_path / 'clips' / pairs[1].clip_b).symlink_to(tmp_path / 'labels.sqlite')
    write_pairs_file(tmp_path / 'pairs.json', pairs, tmp_path / 'clips')
    code = server_main(['--pairs', str(tmp_path / 'pairs.json'), '--db', str(tmp_path / 'labels.sqlite'),
                        '--annotators', 'alice', '--port', '0', '--min-clip-size', '0x0'])
    assert code == 2
    err = capsys.readouterr().err
    assert 'pairs.json: pairs[1].clip_b: clip' in err and 'outside the clip folder' in err
    assert LabelStore(tmp_path / 'labels.sqlite').pairs() == []          # nothing imported


def test_a_missing_clip_is_reported_and_only_a_skip_is_taken(tmp_path):
    store, pairs, tokens = seeded(tmp_path, count=1)
    os.unlink(tmp_path / 'clips' / pairs[0].clip_b)
    server = serve(tmp_path, '--quiet')
    try:
        alice = client(server, tokens['alice'])
        a = alice.post_json('/api/claim', {})[1]['assignment']
        assert a['missing'] == [pairs[0].clip_b]
        answer = {'assignment_id': a['assignment_id'], 'nonce': a['nonce'], 'time_ms': 10}
        status, body = alice.post_json('/api/label', {**answer, 'choice': 'left'})
        assert status == 409 and f'clip {pairs[0].clip_b} is missing on the server' in body['error']
        assert store.labels() == []
        status, body = alice.post_json('/api/label', {**answer, 'choice': 'skip'})
        assert status == 200 and body['ok']
    finally:
        server.stop()
    assert [label.choice for label in store.labels()] == ['skip']


def test_an_answer_on_an_expired_lease_cannot_exceed_the_quota(tmp_path):
    store, _pairs, tokens = seeded(tmp_path, count=1, min_annotations_per_pair=1)
    server = serve(tmp_path, '--quiet', '--lease-s', '-1', '--min-annotations-per-pair', '1')   # leases expired at once
    try:
        alice, bob = client(server, tokens['alice']), client(server, tokens['bob'])
        late = alice.post_json('/api/claim', {})[1]['assignment']
        taken = bob.post_json('/api/claim', {})[1]['assignment']
        assert taken['pair_id'] == late['pair_id']
        status, _body = bob.post_json('/api/label', {'assignment_id': taken['assignment_id'], 'nonce': taken['nonce'],
                                                     'choice': 'right'})
        assert status == 200
        status, body = alice.post_json('/api/label', {'assignment_id': late['assignment_id'], 'nonce': late['nonce'],
                                                      'choice': 'left'})
        assert status == 409 and 'lease of -1 s ran out' in body['error'] and 'not stored' in body['error']
    finally:
        server.stop()
    assert [(label.annotator, label.choice) for label in store.labels()] == [('bob', 'right')]
    assert store.integrity_problems() == []


def test_malformed_bodies_get_a_400_naming_the_field_and_change_nothing(tmp_path):
    store, _pairs, tokens = seeded(tmp_path)
    server = serve(tmp_path, '--quiet')
    try:
        alice = client(server, tokens['alice'])
        a = alice.post_json('/api/claim', {})[1]['assignment']
        good = {'assignment_id': a['assignment_id'], 'nonce': a['nonce'], 'choice': 'left', 'time_ms': 5}
        deep = '[' * 20000 + ']' * 20000
        cases = [
            ('/api/label', {**good, 'assignment_id': 2 ** 64}, 'assignment_id: expected an integer from 1 to'),
            ('/api/label', {**good, 'assignment_id': MAX_ID + 1}, 'assignment_id: expected an integer'),
            ('/api/label', {**good, 'assignment_id': -1}, 'assignment_id: expected an integer'),
            ('/api/label', {**good, 'assignment_id': '1'}, 'assignment_id: expected an integer'),
            ('/api/claim', {'exclude': [2 ** 70]}, r'exclude[]: expected an integer from 1 to'),
            ('/api/claim', {'exclude': 'all'}, 'exclude: expected a list'),
            ('/api/claim', {'exclude': list(range(1, 50))}, 'exclude: expected a list of at most 10'),
            ('/api/claim', '[1, 2]', 'body: expected a JSON object, got a JSON list'),
            ('/api/label', '[{"choice": "left"}]', 'body: expected a JSON object, got a JSON list'),
            ('/api/label', '"left"', 'body: expected a JSON object, got a JSON str'),
            ('/api/label', deep, 'body: expected a JSON object (nested too deeply)'),
            ('/api/claim', '{"exclude": ' + deep + '}', 'body: expected a JSON object (nested too deeply)'),
            ('/api/label', b'{"choice": "\xff"}', 'body: expected a JSON object (not valid JSON)'),
            ('/api/label', '', 'body: expected a JSON object (not valid JSON)'),
            ('/api/label', {**good, 'time_ms': 1e308 * 10}, 'time_ms: expected milliseconds'),
            ('/api/label', {**good, 'choice': ['left']}, 'choice: expected one of'),
            ('/api/label', {**good, 'rating_a': 10 ** 30}, 'rating_a'),
            ('/api/label', {**good, 'nonce': {'x': 1}}, 'nonce does not match'),
            ('/api/label', {**good, 'extra': 1}, 'unknown fields: extra'),
        ]
        for path, body, message in cases:
            payload = body if isinstance(body, (str, bytes)) else json.dumps(body)
            status, answer = alice.post_json(path, payload)
            assert status == 400 and message in answer['error'], (path, str(body)[:80], status, answer)
        status, headers, data = alice.request('POST', '/api/label', 'x' * 100_000)
        assert status == 413 and headers['content-type'].startswith('application/json') and b'413' in data
        assert alice.post_json('/api/label', good)[0] == 200        # the server is fine afterwards
    finally:
        server.stop()
    assert [label.choice for label in store.labels()] == ['left']
    assert 'Traceback' not in (tmp_path / 'server.log').read_text()


HOLD_LOCK = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute('BEGIN IMMEDIATE')   # the write lock, held until stdin closes
print('locked', flush=True)
sys.stdin.read()
"""


def test_a_locked_database_gives_a_clear_503_on_the_page_and_the_api(tmp_path):
    _store, _pairs, tokens = seeded(tmp_path)
    server = serve(tmp_path, '--quiet', '--db-timeout-s', '0.3')
    holder = None
    try:
        alice = client(server, tokens['alice'])
        status, body = alice.post_json('/api/claim', {})
        assert status == 200
        # another program takes the database; the server waits --db-timeout-s, then says so
        holder = subprocess.Popen([sys.executable, '-c', HOLD_LOCK, str(tmp_path / 'labels.sqlite')],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert holder.stdout.readline().strip() == 'locked'
        status, body = alice.post_json('/api/claim', {})
        assert status == 503 and 'locked by another program and stayed locked for 0.3 s' in body['error']
        assert 'not saved' in body['error']
        bob = PageClient(server.url)                               # signing in writes a session: a page's 503
        bob.csrf = re.search(r'name="csrf_token" value="([^"]+)"', bob.request('GET', '/login')[2].decode()).group(1)
        status, headers, page = bob.request('POST', '/login', f'token={tokens["bob"]}&csrf_token={bob.csrf}',
                                            'application/x-www-form-urlencoded')
        assert status == 503 and headers['content-type'].startswith('text/html')
        assert b'Label database unavailable' in page and b'stayed locked for 0.3 s' in page
        holder.communicate('')
        holder = None
        assert alice.post_json('/api/claim', {})[0] == 200          # back once the lock is gone
    finally:
        if holder is not None:
            holder.communicate('')
        server.stop()


def test_a_read_only_database_is_a_clear_error_at_start(tmp_path):
    seeded(tmp_path)
    db = tmp_path / 'labels.sqlite'
    LabelStore(db).close()
    # root writes through file modes: make the file immutable instead
    make_read_only = ['chattr', '+i', str(db)] if os.geteuid() == 0 else ['chmod', '0444', str(db)]
    subprocess.run(make_read_only, check=True)
    try:
        with pytest.raises(RuntimeError) as failed:
            serve(tmp_path)
    finally:
        subprocess.run(['chattr', '-i', str(db)] if os.geteuid() == 0 else ['chmod', '0644', str(db)], check=True)
    assert 'exited with code 2' in str(failed.value)
    log = (tmp_path / 'server.log').read_text()
    assert 'the label database is read-only' in log and 'Traceback' not in log


def test_sign_out_revokes_the_session_and_tokens_stay_out_of_urls_and_logs(tmp_path):
    _store, _pairs, tokens = seeded(tmp_path)
    server = serve(tmp_path)                            # with the access log
    try:
        startup = (tmp_path / 'server.log').read_text()
        assert 'token=' not in startup
        alice = client(server, tokens['alice'])
        assert alice.post_json('/api/claim', {})[0] == 200
        stolen = PageClient(server.url)
        stolen.cookie, stolen.csrf = alice.cookie, alice.csrf        # a copy of the cookie
        assert stolen.post_json('/api/claim', {})[0] == 200
        status, _headers, _data = alice.request('POST', '/logout', f'csrf_token={alice.csrf}',
                                                'application/x-www-form-urlencoded')
        assert status == 302
        assert stolen.post_json('/api/claim', {})[0] == 401
        assert stolen.request('GET', '/annotate')[0] == 302
        # a token pasted into a URL is neither used nor logged nor shown
        status, _headers, page = PageClient(server.url).request('GET', f'/login?token={tokens["bob"]}')
        assert status == 200 and tokens['bob'].encode() not in page
    finally:
        server.stop()
    log = (tmp_path / 'server.log').read_text()
    assert 'GET /login 200' in log and 'POST /api/claim 401' in log
    assert not any(token in log for token in tokens.values())


def test_the_server_is_waitress_behind_the_same_command_line(tmp_path):
    _store, _pairs, tokens = seeded(tmp_path)
    server = serve(tmp_path, '--quiet', '--threads', '4')
    try:
        status, headers, _data = PageClient(server.url).request('GET', '/healthz')
        assert status == 200 and headers['server'] == 'rlhf-preference'   # waitress' ident, not Werkzeug
    finally:
        server.stop()
    assert 'development server' not in (tmp_path / 'server.log').read_text()


def test_a_database_without_annotators_does_not_start(tmp_path, capsys):
    store = LabelStore(tmp_path / 'labels.sqlite')
    store.add_pairs(make_pairs(tmp_path, 1))
    assert server_main(['--db', str(tmp_path / 'labels.sqlite'), '--port', '0']) == 2
    assert 'has no annotators, so nobody could sign in: pass --annotators' in capsys.readouterr().err


def clips_of_size(folder, pairs, width, height):
    folder.mkdir(parents=True, exist_ok=True)
    for pair in pairs:
        for name in (pair.clip_a, pair.clip_b):
            write_mp4(np.zeros((3, height, width, 3), np.uint8), folder / name, fps=10)


def test_clips_too_small_to_judge_are_refused_unless_asked_for(tmp_path, capsys):
    pairs = make_pairs(tmp_path, 1)
    clips_of_size(tmp_path / 'clips', pairs, 128, 96)            # the simulator camera's default size
    write_pairs_file(tmp_path / 'pairs.json', pairs, tmp_path / 'clips')
    argv = ['--pairs', str(tmp_path / 'pairs.json'), '--db', str(tmp_path / 'labels.sqlite'), '--annotators', 'alice',
            '--port', '0', '--quiet']
    assert server_main(argv) == 2
    err = capsys.readouterr().err
    assert 'is 128x96: people cannot judge clips smaller than 320x240' in err and 'camera_width:=320' in err
    server = start_server([*argv, '--min-clip-size', '128x96'], tmp_path / 'small.log')   # asked for
    server.stop()
    shutil.rmtree(tmp_path / 'clips')
    clips_of_size(tmp_path / 'clips', pairs, 320, 240)
    server = start_server(argv, tmp_path / 'ok.log')
    server.stop()
