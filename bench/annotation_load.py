# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""Load test of the annotation server: simulated annotators post labels, then the server is killed -9.

1. A label database is seeded with pairs and annotators (through rlhf_preference.store).
2. The real server (``python -m rlhf_preference.server``) starts on 127.0.0.1 as a child process.
3. N simulated annotators (threads, one HTTP session each) sign in with their tokens and, for ``--duration``
   seconds, claim a pair and post a label, as the page does (JSON + CSRF header).
4. At the deadline the server gets SIGKILL while requests are in flight, and is restarted on the same file.
5. Every client re-sends its last unanswered label and one already acknowledged label (same assignment
   and nonce): replays must change nothing.
6. The database is checked: every acknowledged label is stored exactly once with its answer; no pair has
   more labels than its quota; no annotator labelled a pair twice.

Usage: python bench/annotation_load.py [--annotators 20] [--duration 60] [--pairs 12000]
"""

import argparse
from http.client import HTTPConnection, HTTPException
import json
from pathlib import Path
import random
import re
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
from urllib.parse import urlencode, urlparse

from rlhf_preference.segments import Segment
from rlhf_preference.server_process import start_server
from rlhf_preference.store import LabelStore, PairRecord

CHOICES = ['left', 'right', 'equal', 'cant_tell']


class Session:
    """One annotator's browser session: cookie + CSRF token, a fresh connection per request."""

    def __init__(self, url):
        self.set_url(url)
        self.cookie = ''
        self.csrf = ''

    def set_url(self, url):
        parsed = urlparse(url)
        self.host, self.port = parsed.hostname, parsed.port

    def request(self, method, path, body=None, content_type='application/json'):
        conn = HTTPConnection(self.host, self.port, timeout=30)
        try:
            headers = {'Cookie': self.cookie, 'X-CSRF-Token': self.csrf}
            if body is not None:
                headers['Content-Type'] = content_type
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            data = response.read()
            cookie = response.getheader('Set-Cookie')
            if cookie:
                self.cookie = cookie.split(';', 1)[0]
            return response.status, data
        finally:
            conn.close()

    def sign_in(self, token):
        _status, page = self.request('GET', '/login')
        self.csrf = re.search(rb'name="csrf_token" value="([^"]+)"', page).group(1).decode()
        status, _ = self.request('POST', '/login', urlencode({'token': token, 'csrf_token': self.csrf}),
                                 'application/x-www-form-urlencoded')
        if status != 302:
            raise RuntimeError(f'sign-in failed with HTTP {status}')

    def post_json(self, path, payload):
        status, data = self.request('POST', path, json.dumps(payload))
        return status, json.loads(data or b'{}')


class Annotator(threading.Thread):
    def __init__(self, name, token, url, deadline, killed, seed, max_iterations=100000):
        super().__init__(daemon=True)
        self.name_, self.token, self.deadline, self.killed = name, token, deadline, killed
        self.session = Session(url)
        self.rng = random.Random(seed)
        self.max_iterations = max_iterations
        self.acked = []          # (label_id, assignment_id, nonce, choice)
        self.unanswered = None   # the label post that got no answer (server killed)
        self.latency = {'claim': [], 'label': []}
        self.errors = []

    def timed(self, kind, path, payload):
        start = time.perf_counter()
        status, body = self.session.post_json(path, payload)
        self.latency[kind].append(time.perf_counter() - start)
        return status, body

    def run(self):
        try:
            self.session.sign_in(self.token)
        except Exception as err:   # noqa: BLE001 - counted in the report
            self.errors.append(f'sign-in: {err}')
            return
        for _ in range(self.max_iterations):
            if time.monotonic() >= self.deadline or self.killed.is_set():
                return
            try:
                status, body = self.timed('claim', '/api/claim', {})
            except (OSError, HTTPException):
                return   # server gone
            if status != 200 or body.get('assignment') is None:
                if status != 200:
                    self.errors.append(f'claim HTTP {status}: {body}')
                return
            a = body['assignment']
            payload = {'assignment_id': a['assignment_id'], 'nonce': a['nonce'], 'choice': self.rng.choice(CHOICES),
                       'time_ms': self.rng.randint(800, 5000)}
            try:
                status, body = self.timed('label', '/api/label', payload)
            except (OSError, HTTPException):   # killed mid-request: no answer, maybe stored
                self.unanswered = payload
                return
            if status == 200 and body.get('ok') and not body.get('replayed'):
                self.acked.append((body['label_id'], payload['assignment_id'], payload['nonce'], payload['choice']))
            else:
                self.errors.append(f'label HTTP {status}: {body}')


def seed_database(db, num_pairs, annotators, min_annotations):
    store = LabelStore(db, min_annotations_per_pair=min_annotations)
    pairs = []
    for i in range(num_pairs):
        a = Segment(f'bench{i}', f'episodes/bench{i}', 0.0, 2.5, 'pick_place', 'bench')
        b = Segment(f'bench{i}', f'episodes/bench{i}', 2.5, 5.0, 'pick_place', 'bench')
        pairs.append(PairRecord(f'b{i:06d}', 'pick_place', a, b, f'b{i}_a.mp4', f'b{i}_b.mp4'))
    store.add_pairs(pairs)
    return {f'annotator{i:02d}': store.add_annotator(f'annotator{i:02d}').token for i in range(annotators)}


def percentile(values, q):
    if not values:
        return float('nan')
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--annotators', type=int, default=20)
    parser.add_argument('--duration', type=float, default=60.0)
    parser.add_argument('--pairs', type=int, default=12000)
    parser.add_argument('--min-annotations-per-pair', type=int, default=3)
    opts = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix='annotation_load_'))
    db = work / 'labels.sqlite'
    tokens = seed_database(db, opts.pairs, opts.annotators, opts.min_annotations_per_pair)
    args = ['--db', db, '--port', '0', '--quiet', '--min-annotations-per-pair', opts.min_annotations_per_pair]
    server = start_server(args, work / 'server1.log')
    print(f'server {server.url}, {opts.annotators} annotators, {opts.duration:.0f} s, {opts.pairs} pairs '
          f'x {opts.min_annotations_per_pair}; work dir {work}', flush=True)

    killed = threading.Event()
    start = time.monotonic()
    deadline = start + opts.duration
    clients = [Annotator(name, token, server.url, deadline + 5.0, killed, seed=i)
               for i, (name, token) in enumerate(tokens.items())]
    for client in clients:
        client.start()
    while time.monotonic() < deadline:   # print progress every 10 s
        time.sleep(min(10.0, max(0.0, deadline - time.monotonic())))
        done = sum(len(c.acked) for c in clients)
        print(f'  {time.monotonic() - start:5.1f} s: {done} labels acknowledged', flush=True)
    server.stop(kill=True)               # SIGKILL with requests in flight
    killed.set()
    elapsed = time.monotonic() - start
    for client in clients:
        client.join(timeout=60)

    server = start_server(args, work / 'server2.log')
    replay_new = replay_same = replay_refused = 0
    for client in clients:
        client.session.set_url(server.url)
        if client.unanswered is not None:
            status, body = client.session.post_json('/api/label', client.unanswered)
            if status == 200 and body.get('replayed'):
                replay_same += 1          # it had been committed before the kill
            elif status == 200:
                replay_new += 1
                client.acked.append((body['label_id'], client.unanswered['assignment_id'],
                                     client.unanswered['nonce'], client.unanswered['choice']))
            else:
                replay_refused += 1
        if client.acked:
            _lid, assignment_id, nonce, choice = client.acked[0]
            status, body = client.session.post_json('/api/label', {'assignment_id': assignment_id, 'nonce': nonce,
                                                                   'choice': choice})
            replay_same += int(status == 200 and bool(body.get('replayed')))
            replay_refused += int(not (status == 200 and body.get('replayed')))
    server.stop()

    acked = {lid: (aid, choice, c.name_) for c in clients for lid, aid, _n, choice in c.acked}
    with sqlite3.connect(db) as conn:
        rows = conn.execute('SELECT l.label_id, l.assignment_id, l.choice, a.name FROM labels l '
                            'JOIN annotators a USING (annotator_id)').fetchall()
        over_quota = conn.execute('SELECT COUNT(*) FROM (SELECT pair_id FROM labels WHERE counted = 1 GROUP BY '
                                  'pair_id HAVING COUNT(*) > ?)', (opts.min_annotations_per_pair,)).fetchone()[0]
        twice = conn.execute('SELECT COUNT(*) FROM (SELECT 1 FROM labels GROUP BY pair_id, annotator_id '
                             'HAVING COUNT(*) > 1)').fetchone()[0]
        integrity = conn.execute('PRAGMA integrity_check').fetchone()[0]
    stored = {lid: (aid, choice, name) for lid, aid, choice, name in rows}
    lost = sum(1 for lid, value in acked.items() if stored.get(lid) != value)
    per_assignment = {}
    for _lid, aid, _c, _n in rows:
        per_assignment[aid] = per_assignment.get(aid, 0) + 1
    duplicated = sum(n - 1 for n in per_assignment.values())
    claims = [x for c in clients for x in c.latency['claim']]
    labels = [x for c in clients for x in c.latency['label']]
    errors = [e for c in clients for e in c.errors]
    acked_in_run = sum(len(c.acked) for c in clients) - replay_new

    rows_out = [
        ('simulated annotators', f'{opts.annotators}'),
        ('load duration (s)', f'{elapsed:.1f}'),
        ('labels acknowledged before kill -9', f'{acked_in_run}'),
        ('in flight at kill: replay found stored / stored now / refused',
         f'{sum(1 for c in clients if c.unanswered) - replay_new - replay_refused} / {replay_new} / '
         f'{replay_refused}'),
        ('labels acknowledged in total', f'{len(acked)}'),
        ('labels stored after restart', f'{len(stored)}'),
        ('acknowledged labels lost', f'{lost}'),
        ('duplicated labels (same assignment)', f'{duplicated}'),
        ('pairs over quota / annotator twice on a pair', f'{over_quota} / {twice}'),
        ('replays answered "already recorded"', f'{replay_same}'),
        ('SQLite integrity_check', integrity),
        ('client errors', f'{len(errors)}'),
        ('claim  p50 / p99 (ms)', f'{1000 * percentile(claims, 0.5):.1f} / {1000 * percentile(claims, 0.99):.1f}'),
        ('label  p50 / p99 (ms)', f'{1000 * percentile(labels, 0.5):.1f} / {1000 * percentile(labels, 0.99):.1f}'),
        ('label  mean (ms)', f'{1000 * statistics.mean(labels):.1f}' if labels else 'n/a'),
        ('throughput (labels/s)', f'{acked_in_run / opts.duration:.1f}'),
        ('throughput (requests/s)', f'{(len(claims) + len(labels)) / opts.duration:.1f}'),
    ]
    width = max(len(k) for k, _v in rows_out)
    print()
    print(f'{"measure":<{width}} | value')
    print(f'{"-" * width}-|------------')
    for key, value in rows_out:
        print(f'{key:<{width}} | {value}')
    for error in errors[:5]:
        print('error:', error)
    ok = lost == 0 and duplicated == 0 and over_quota == 0 and twice == 0 and integrity == 'ok'
    print('\nresult:', 'PASS (zero lost, zero duplicated)' if ok else 'FAIL')
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
