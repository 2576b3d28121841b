# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""An acknowledged label survives kill -9 of the real server process; a replay after restart changes nothing."""

from http.cookiejar import CookieJar
import json
import re
import sqlite3
from urllib.parse import urlencode
from urllib.request import HTTPCookieProcessor, Request, build_opener

from conftest import make_pairs

from rlhf_preference.server_process import start_server
from rlhf_preference.store import LabelStore


class Browser:
    def __init__(self, url):
        self.url = url
        self.opener = build_opener(HTTPCookieProcessor(CookieJar()))
        self.csrf = ''

    def sign_in(self, token):
        page = self.opener.open(self.url + '/login', timeout=30).read().decode()
        self.csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
        self.opener.open(self.url + '/login', urlencode({'token': token, 'csrf_token': self.csrf}).encode(),
                         timeout=30)

    def post(self, path, payload):
        request = Request(self.url + path, json.dumps(payload).encode(),
                          {'Content-Type': 'application/json', 'X-CSRF-Token': self.csrf})
        return json.loads(self.opener.open(request, timeout=30).read())


def test_acknowledged_label_survives_kill_9(tmp_path):
    store = LabelStore(tmp_path / 'labels.sqlite')
    store.add_pairs(make_pairs(tmp_path, 3))
    token = store.add_annotator('alice').token
    args = ['--db', tmp_path / 'labels.sqlite', '--port', '0', '--quiet']
    server = start_server(args, tmp_path / 'server.log')
    try:
        browser = Browser(server.url)
        browser.sign_in(token)
        a = browser.post('/api/claim', {})['assignment']
        body = {'assignment_id': a['assignment_id'], 'nonce': a['nonce'], 'choice': 'right', 'time_ms': 700}
        ack = browser.post('/api/label', body)
        assert ack['ok'] and not ack['replayed']
    finally:
        server.stop(kill=True)          # SIGKILL right after the acknowledgement
    with sqlite3.connect(tmp_path / 'labels.sqlite') as conn:
        assert conn.execute('SELECT label_id, choice FROM labels').fetchall() == [(ack['label_id'], 'right')]

    server = start_server(args, tmp_path / 'server2.log')
    try:
        browser.url = server.url        # same session cookie: the session secret lives in the database
        again = browser.post('/api/label', body)
        assert again['replayed'] and again['label_id'] == ack['label_id']
    finally:
        server.stop()
    assert [(label.choice, label.time_ms) for label in store.labels()] == [('right', 700)]
