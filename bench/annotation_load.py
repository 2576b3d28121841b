# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""Load test of the annotation server: simulated annotators label while the server is killed -9 mid-run.

1. A label database (SQLite file, or a throwaway PostgreSQL server from the Debian package with
   ``--backend postgresql``) is seeded with pairs and annotators through rlhf_preference.store.
2. The real server (``python -m rlhf_preference.server``: waitress) starts on 127.0.0.1 as a child process.
3. N simulated annotators (threads, one HTTP session each) sign in with their tokens and, for ``--duration``
   seconds, claim a pair and post a label, as the page does (JSON + CSRF header).
4. At ``--kill-at`` of the run the server gets SIGKILL with requests in flight and is restarted on the same
   database. Each client re-sends the label that got no answer (same assignment and nonce) and goes on.
5. At the end every client re-sends one label that was acknowledged before: replays must change nothing.
6. The database is checked: every acknowledged label is stored exactly once with its answer; no pair has
   more labels than its quota; no annotator labelled a pair twice; the store's counters agree with its rows.

Usage: python bench/annotation_load.py [--annotators 50] [--duration 60] [--backend sqlite|postgresql]
"""

import argparse
from collections import Counter
from http.client import HTTPException
import os
from pathlib import Path
import random
import statistics
import sys
import tempfile
import threading
import time

from rlhf_preference.segments import Segment
from rlhf_preference.server_process import PageClient, start_server
from rlhf_preference.store import LabelStore, PairRecord

CHOICES = ['left', 'right', 'equal', 'cant_tell']
CLIPS = ('bench_a.mp4', 'bench_b.mp4')   # the server checks that clips exist; nothing plays them here
SETTLE_S = 5.0   # after the restart every client reconnects at once: that queue is reported apart


class Annotator(threading.Thread):
    def __init__(self, name, token, url, deadline, restarted, seed):
        super().__init__(daemon=True)
        self.name_, self.token, self.deadline, self.restarted = name, token, deadline, restarted
        self.session = PageClient(url)
        self.rng = random.Random(seed)
        self.acked = []          # (label_id, assignment_id, nonce, choice)
        self.in_flight = None    # the label post that got no answer (server killed), and what its replay said
        self.replay_result = None
        self.latency = {'claim': [], 'label': []}
        self.errors = []

    def timed(self, kind, path, payload):
        start = time.monotonic()
        status, body = self.session.post_json(path, payload)
        self.latency[kind].append((start, time.monotonic() - start))
        return status, body

    def reconnect(self):
        """Wait for the restarted server; re-send the label that got no answer."""
        self.restarted['event'].wait(timeout=120)
        self.session.set_url(self.restarted['url'])
        if self.in_flight is not None and self.replay_result is None:
            status, body = self.session.post_json('/api/label', self.in_flight)
            if status == 200 and body.get('replayed'):
                self.replay_result = 'was stored'
                self.acked.append((body['label_id'], self.in_flight['assignment_id'], self.in_flight['nonce'],
                                   self.in_flight['choice']))
            elif status == 200:
                self.replay_result = 'stored now'
                self.acked.append((body['label_id'], self.in_flight['assignment_id'], self.in_flight['nonce'],
                                   self.in_flight['choice']))
            else:
                self.replay_result = f'refused: HTTP {status} {body}'
                self.errors.append(f'replay after restart: HTTP {status}: {body}')

    def run(self):
        try:
            self.session.sign_in(self.token)
        except Exception as err:   # noqa: BLE001 - counted in the report
            self.errors.append(f'sign-in: {err}')
            return
        while time.monotonic() < self.deadline:
            try:
                status, body = self.timed('claim', '/api/claim', {})
            except (OSError, HTTPException):   # the server is gone
                self.reconnect()
                continue
            if status != 200 or body.get('assignment') is None:
                if status != 200:
                    self.errors.append(f'claim HTTP {status}: {body}')
                    time.sleep(0.05)
                    continue
                return
            a = body['assignment']
            payload = {'assignment_id': a['assignment_id'], 'nonce': a['nonce'], 'choice': self.rng.choice(CHOICES),
                       'time_ms': self.rng.randint(800, 5000)}
            try:
                status, body = self.timed('label', '/api/label', payload)
            except (OSError, HTTPException):   # killed mid-request: no answer, maybe stored
                if self.in_flight is None:
                    self.in_flight = payload
                self.reconnect()
                continue
            if status == 200 and body.get('ok') and not body.get('replayed'):
                self.acked.append((body['label_id'], payload['assignment_id'], payload['nonce'], payload['choice']))
            else:
                self.errors.append(f'label HTTP {status}: {body}')


def seed_database(location, num_pairs, annotators, min_annotations):
    store = LabelStore(location, min_annotations_per_pair=min_annotations)
    pairs = []
    for i in range(num_pairs):
        a = Segment(f'bench{i}', f'episodes/bench{i}', 0.0, 2.5, 'pick_place', 'bench')
        b = Segment(f'bench{i}', f'episodes/bench{i}', 2.5, 5.0, 'pick_place', 'bench')
        pairs.append(PairRecord(f'b{i:06d}', 'pick_place', a, b, *CLIPS))
    store.add_pairs(pairs)
    return store, {f'annotator{i:02d}': store.add_annotator(f'annotator{i:02d}').token for i in range(annotators)}


def percentile(values, q):
    if not values:
        return float('nan')
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def load_average():
    return ' / '.join(f'{x:.2f}' for x in os.getloadavg())


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--annotators', type=int, default=50)
    parser.add_argument('--duration', type=float, default=60.0)
    parser.add_argument('--kill-at', type=float, default=0.5, help='fraction of --duration at which to kill -9')
    parser.add_argument('--pairs', type=int, default=12000)
    parser.add_argument('--min-annotations-per-pair', type=int, default=3)
    parser.add_argument('--backend', choices=['sqlite', 'postgresql'], default='sqlite')
    opts = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix='annotation_load_'))
    postgres = None
    if opts.backend == 'postgresql':
        from rlhf_preference.postgres_process import start_postgres
        postgres = start_postgres()
        location = postgres.create_database('annotation_load')
    else:
        location = work / 'labels.sqlite'
    try:
        return run(opts, work, location)
    finally:
        if postgres is not None:
            postgres.stop()


def run(opts, work, location):
    store, tokens = seed_database(location, opts.pairs, opts.annotators, opts.min_annotations_per_pair)
    (work / 'clips').mkdir()
    for name in CLIPS:
        (work / 'clips' / name).write_bytes(b'\x00\x00\x00\x18ftypmp42')
    args = ['--db', location, '--clips', work / 'clips', '--port', '0', '--quiet',
            '--min-annotations-per-pair', opts.min_annotations_per_pair]
    server = start_server(args, work / 'server1.log')
    load_before = load_average()
    print(f'{opts.backend} ({store.where}), server {server.url}, {opts.annotators} annotators, {opts.duration:.0f} s '
          f'with kill -9 at {opts.kill_at * opts.duration:.0f} s or half the labels, {opts.pairs} pairs x '
          f'{opts.min_annotations_per_pair}; load average {load_before}', flush=True)

    restarted = {'event': threading.Event(), 'url': None}
    start = time.monotonic()
    deadline = start + opts.duration
    clients = [Annotator(name, token, server.url, deadline, restarted, seed=i)
               for i, (name, token) in enumerate(tokens.items())]
    for client in clients:
        client.start()

    def report_until(until, enough=None):
        last_print = time.monotonic()
        while time.monotonic() < until:
            time.sleep(min(0.05, max(0.0, until - time.monotonic())))
            done = sum(len(c.acked) for c in clients)
            if time.monotonic() - last_print >= 10.0:
                last_print = time.monotonic()
                print(f'  {time.monotonic() - start:5.1f} s: {done} labels acknowledged', flush=True)
            if enough is not None and done >= enough:
                return

    # Kill at --kill-at of the time or at half of all the labels the quota asks for, whichever comes first,
    # so that a fast machine still has requests in flight when the server dies.
    report_until(start + opts.kill_at * opts.duration, enough=opts.pairs * opts.min_annotations_per_pair // 2)
    acked_before_kill = sum(len(c.acked) for c in clients)
    killed_at = time.monotonic()
    server.stop(kill=True)               # SIGKILL with requests in flight
    server = start_server(args, work / 'server2.log')
    outage = time.monotonic() - killed_at
    restarted['url'] = server.url
    restarted['event'].set()
    print(f'  kill -9 after {acked_before_kill} acknowledged labels; restarted in {outage:.1f} s', flush=True)
    report_until(deadline)
    for client in clients:
        client.join(timeout=120)
    elapsed = time.monotonic() - start

    replay_same = replay_refused = 0
    for client in clients:
        client.session.set_url(server.url)   # a client that finished before the kill never switched
        if client.acked:
            _lid, assignment_id, nonce, choice = client.acked[0]
            status, body = client.session.post_json('/api/label', {'assignment_id': assignment_id, 'nonce': nonce,
                                                                   'choice': choice})
            replay_same += int(status == 200 and bool(body.get('replayed')))
            replay_refused += int(not (status == 200 and body.get('replayed')))
    server.stop()
    load_after = load_average()

    acked = {lid: (aid, choice, c.name_) for c in clients for lid, aid, _n, choice in c.acked}
    labels = store.labels()
    stored = {label.label_id: (label.assignment_id, label.choice, label.annotator) for label in labels}
    lost = sum(1 for lid, value in acked.items() if stored.get(lid) != value)
    duplicated = sum(n - 1 for n in Counter(label.assignment_id for label in labels).values())
    twice = sum(n - 1 for n in Counter((label.pair_id, label.annotator) for label in labels).values())
    problems = store.integrity_problems()
    claims = [x for c in clients for _t, x in c.latency['claim']]
    posts = [x for c in clients for _t, x in c.latency['label']]
    settled = killed_at + outage + SETTLE_S      # requests started later: no queue left over from the restart
    steady = [x for c in clients for kind in ('claim', 'label') for t, x in c.latency[kind]
              if t < killed_at or t > settled]
    errors = [e for c in clients for e in c.errors]
    replays = Counter(c.replay_result for c in clients if c.in_flight is not None)

    rows_out = [
        ('database', opts.backend),
        ('simulated annotators', f'{opts.annotators}'),
        ('load duration (s)', f'{elapsed:.1f}'),
        ('labels acknowledged before kill -9 / in total', f'{acked_before_kill} / {len(acked)}'),
        ('restart after kill -9 (s)', f'{outage:.1f}'),
        ('in flight at kill: replay found stored / stored now / refused',
         f'{replays["was stored"]} / {replays["stored now"]} / '
         f'{sum(n for k, n in replays.items() if k not in ("was stored", "stored now"))}'),
        ('labels stored after the run', f'{len(stored)}'),
        ('acknowledged labels lost', f'{lost}'),
        ('duplicated labels (same assignment)', f'{duplicated}'),
        ('annotator twice on a pair', f'{twice}'),
        ('store integrity problems', f'{len(problems)}'),
        ('replays answered "already recorded"', f'{replay_same} of {replay_same + replay_refused}'),
        ('client errors', f'{len(errors)}'),
        ('claim  p50 / p99 (ms)', f'{1000 * percentile(claims, 0.5):.1f} / {1000 * percentile(claims, 0.99):.1f}'),
        ('label  p50 / p99 (ms)', f'{1000 * percentile(posts, 0.5):.1f} / {1000 * percentile(posts, 0.99):.1f}'),
        ('label  mean (ms)', f'{1000 * statistics.mean(posts):.1f}' if posts else 'n/a'),
        (f'all requests but the {SETTLE_S:g} s after the restart: p50 / p99 (ms)',
         f'{1000 * percentile(steady, 0.5):.1f} / {1000 * percentile(steady, 0.99):.1f}'),
        ('throughput (labels/s)', f'{len(acked) / elapsed:.1f}'),
        ('throughput (requests/s)', f'{(len(claims) + len(posts)) / elapsed:.1f}'),
        ('load average 1/5/15 min, before / after', f'{load_before}  /  {load_after}'),
    ]
    width = max(len(k) for k, _v in rows_out)
    print()
    print(f'{"measure":<{width}} | value')
    print(f'{"-" * width}-|------------')
    for key, value in rows_out:
        print(f'{key:<{width}} | {value}')
    for line in (errors[:5] + problems):
        print('problem:', line)
    ok = (lost == 0 and duplicated == 0 and twice == 0 and not problems and replay_refused == 0
          and not any(k not in ('was stored', 'stored now') for k in replays))
    print('\nresult:', 'PASS (zero lost, zero duplicated)' if ok else 'FAIL')
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
