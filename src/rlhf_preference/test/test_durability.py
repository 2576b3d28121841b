# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""An acknowledged label survives kill -9 of the real server, on SQLite and PostgreSQL; a replay changes nothing."""

from conftest import make_pairs, placeholder_clips

from rlhf_preference.server_process import PageClient, start_server
from rlhf_preference.store import LabelStore


def test_acknowledged_label_survives_kill_9(tmp_path, store_location):
    db = store_location()
    store = LabelStore(db)
    pairs = make_pairs(tmp_path, 3)
    store.add_pairs(pairs)
    token = store.add_annotator('alice').token
    args = ['--db', db, '--clips', placeholder_clips(tmp_path / 'clips', pairs), '--port', '0', '--quiet']
    server = start_server(args, tmp_path / 'server.log')
    try:
        browser = PageClient(server.url)
        browser.sign_in(token)
        a = browser.post_json('/api/claim', {})[1]['assignment']
        body = {'assignment_id': a['assignment_id'], 'nonce': a['nonce'], 'choice': 'right', 'time_ms': 700}
        status, ack = browser.post_json('/api/label', body)
        assert status == 200 and ack['ok'] and not ack['replayed']
    finally:
        server.stop(kill=True)          # SIGKILL right after the acknowledgement
    assert [(label.label_id, label.choice) for label in LabelStore(db).labels()] == [(ack['label_id'], 'right')]

    server = start_server(args, tmp_path / 'server2.log')
    try:
        browser.set_url(server.url)     # same session cookie: sessions and their secret live in the database
        status, again = browser.post_json('/api/label', body)
        assert status == 200 and again['replayed'] and again['label_id'] == ack['label_id']
    finally:
        server.stop()
    assert [(label.choice, label.time_ms) for label in store.labels()] == [('right', 700)]
