# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""The label store: SQLite (the embedded default, one file) or PostgreSQL (a lab's shared server).

Tables: ``annotators`` (name + secret token), ``sessions`` (signed-in browsers, revoked at sign-out),
``pairs`` (two segment references + their clips, optional gold answer), ``assignments`` (which annotator
holds which pair, with a lease and a one-time nonce) and ``labels`` (one answer of one annotator on one
pair). Both the page and the scripted annotator go through :class:`LabelStore`, so there is one
implementation of the rules, on either database:

- every regular pair is shown to ``min_annotations_per_pair`` distinct annotators (skips do not count,
  so a skipped pair goes to someone else); an annotator never gets the same pair twice;
- writes are serialised (SQLite: ``BEGIN IMMEDIATE``, the write lock; PostgreSQL: a transaction-level
  advisory lock), so concurrent annotators never exceed a pair's quota and, while unclaimed pairs remain,
  get different pairs; a claim is a lease that expires after ``lease_s`` so an abandoned pair goes back
  to the pool;
- an answer on an expired lease is stored only while the pair still needs it; once others have taken its
  slots it is refused (:class:`LeaseExpired`), so no pair gets more than its quota;
- a label is committed durably (SQLite ``synchronous=FULL``, PostgreSQL ``synchronous_commit=on``)
  before :meth:`LabelStore.submit` returns, so an answer acknowledged to the browser survives ``kill -9``;
- submits are idempotent: a second submit of the same assignment and nonce changes nothing and
  returns ``replayed=True`` (or raises :class:`AlreadyAnswered` when the answer differs).

``location`` is a file path (SQLite) or a ``postgresql://`` URL (libpq's environment variables and
``~/.pgpass`` apply, so no password needs to be on a command line).
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
import hashlib
import json
import math
import queue
import secrets
import threading
import time

from rlhf_preference.databases import Connection, is_postgres, open_backend
from rlhf_preference.segments import Segment

SCHEMA_VERSION = 2   # 2: sessions table (version 1 files are upgraded in place)
MODES = ('pairwise', 'rating')
CHOICES = ('left', 'right', 'equal', 'cant_tell', 'skip')
GOLD_CHOICES = ('left', 'right', 'equal')
NOT_COUNTED = ('skip',)   # answers that do not use up one of the pair's annotation slots
MAX_TIME_MS = 24 * 3600 * 1000
MAX_ID = 2 ** 63 - 1      # ids are 64-bit integers in both databases

# {id}: an auto-numbered primary key, {ref}: a column referencing one, {real}: a double.
_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS annotators (
    annotator_id {{id}},
    name TEXT NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 64),
    token TEXT NOT NULL UNIQUE,
    created_at {{real}} NOT NULL
);
CREATE TABLE IF NOT EXISTS sessions (
    session_hash TEXT PRIMARY KEY,
    annotator_id {{ref}} NOT NULL REFERENCES annotators (annotator_id),
    created_at {{real}} NOT NULL
);
CREATE TABLE IF NOT EXISTS pairs (
    pair_id TEXT PRIMARY KEY,
    position INTEGER NOT NULL,
    task TEXT NOT NULL,
    segment_a TEXT NOT NULL,
    segment_b TEXT NOT NULL,
    clip_a TEXT NOT NULL,
    clip_b TEXT NOT NULL,
    gold_choice TEXT CHECK (gold_choice IS NULL OR gold_choice IN {GOLD_CHOICES}),
    created_at {{real}} NOT NULL,
    n_open INTEGER NOT NULL DEFAULT 0 CHECK (n_open >= 0),   -- active assignments (kept by the store)
    n_done INTEGER NOT NULL DEFAULT 0 CHECK (n_done >= 0)    -- counted labels (kept by the store)
);
CREATE INDEX IF NOT EXISTS pairs_by_need ON pairs (n_open, n_done DESC, position);
CREATE TABLE IF NOT EXISTS assignments (
    assignment_id {{id}},
    pair_id TEXT NOT NULL REFERENCES pairs (pair_id),
    annotator_id {{ref}} NOT NULL REFERENCES annotators (annotator_id),
    nonce TEXT NOT NULL UNIQUE,
    status TEXT NOT NULL CHECK (status IN ('active', 'done', 'expired')),
    issued_at {{real}} NOT NULL,
    expires_at {{real}} NOT NULL,
    UNIQUE (pair_id, annotator_id)
);
CREATE INDEX IF NOT EXISTS assignments_by_status ON assignments (status, pair_id);
CREATE INDEX IF NOT EXISTS assignments_by_annotator ON assignments (annotator_id, status);
CREATE TABLE IF NOT EXISTS labels (
    label_id {{id}},
    assignment_id {{ref}} NOT NULL UNIQUE REFERENCES assignments (assignment_id),
    pair_id TEXT NOT NULL REFERENCES pairs (pair_id),
    annotator_id {{ref}} NOT NULL REFERENCES annotators (annotator_id),
    mode TEXT NOT NULL CHECK (mode IN {MODES}),
    choice TEXT CHECK (choice IS NULL OR choice IN {CHOICES}),
    rating_a INTEGER CHECK (rating_a IS NULL OR rating_a BETWEEN 1 AND 100),
    rating_b INTEGER CHECK (rating_b IS NULL OR rating_b BETWEEN 1 AND 100),
    counted INTEGER NOT NULL CHECK (counted IN (0, 1)),
    time_ms INTEGER NOT NULL CHECK (time_ms >= 0),
    created_at {{real}} NOT NULL,
    UNIQUE (pair_id, annotator_id),
    CHECK ((choice IS NOT NULL AND rating_a IS NULL AND rating_b IS NULL)
           OR (mode = 'rating' AND choice IS NULL AND rating_a IS NOT NULL AND rating_b IS NOT NULL))
);
CREATE INDEX IF NOT EXISTS labels_by_pair ON labels (pair_id, counted);
"""


class StoreError(ValueError):
    """A request the store refuses; nothing was changed. The message says what was wrong."""


class UnknownAnnotator(StoreError):
    pass


class AlreadyAnswered(StoreError):
    """The assignment already has a different answer; the stored one is kept."""


class LeaseExpired(StoreError):
    """The assignment's lease ran out and the pair's slots went to others; the answer was not stored."""


class StoreUnavailable(RuntimeError):
    """The database cannot be used right now (locked too long, read-only, unreachable); nothing was changed."""


@dataclass(frozen=True)
class Annotator:
    annotator_id: int
    name: str
    token: str


@dataclass(frozen=True)
class PairRecord:
    pair_id: str
    task: str
    segment_a: Segment
    segment_b: Segment
    clip_a: str
    clip_b: str
    gold_choice: str | None = None


@dataclass(frozen=True)
class Assignment:
    assignment_id: int
    annotator_id: int
    nonce: str
    issued_at: float
    expires_at: float
    pair: PairRecord


@dataclass(frozen=True)
class SubmitResult:
    label_id: int
    replayed: bool


@dataclass(frozen=True)
class Label:
    label_id: int
    assignment_id: int
    pair_id: str
    annotator: str
    mode: str
    choice: str | None
    rating_a: int | None
    rating_b: int | None
    counted: bool
    time_ms: int
    created_at: float
    is_gold: bool
    gold_choice: str | None
    annotator_id: int = 0


def check_id(field, value):
    """``value`` as a database id (an integer from 1 to 2**63 - 1), else StoreError naming ``field``."""
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_ID:
        raise StoreError(f'{field}: expected an integer from 1 to {MAX_ID}, got {value!r}'[:200])
    return value


_writer_locks = {}
_writer_locks_guard = threading.Lock()


def _writer_lock(key) -> threading.Lock:
    with _writer_locks_guard:
        return _writer_locks.setdefault(key, threading.Lock())


def _pair_from_row(row) -> PairRecord:
    return PairRecord(row['pair_id'], row['task'],
                      Segment.from_dict(json.loads(row['segment_a']), f'pair {row["pair_id"]}.segment_a'),
                      Segment.from_dict(json.loads(row['segment_b']), f'pair {row["pair_id"]}.segment_b'),
                      row['clip_a'], row['clip_b'], row['gold_choice'])


class LabelStore:
    """All reads and writes of the label database; safe to share between threads and processes."""

    def __init__(self, location, min_annotations_per_pair=2, lease_s=600.0, gold_every=0, max_active=2,
                 timeout_s=60.0):
        if int(min_annotations_per_pair) < 1:
            raise StoreError(f'min_annotations_per_pair: expected >= 1, got {min_annotations_per_pair}')
        self.backend = open_backend(location, timeout_s)
        self.kind = 'postgresql' if is_postgres(location) else 'sqlite'
        self.where = self.backend.where           # for messages (a URL's password is hidden)
        self.min_annotations_per_pair = int(min_annotations_per_pair)
        self.lease_s = float(lease_s)
        self.gold_every = int(gold_every)      # every n-th claim is a gold pair (0: never)
        self.max_active = int(max_active)      # current pair + the preloaded next one
        self.timeout_s = float(timeout_s)      # how long to wait for a database locked by someone else
        self._pool = queue.LifoQueue(maxsize=32)
        with self._connect() as conn:
            self.backend.initialise(conn.raw)
            current = self._schema_version(conn) == SCHEMA_VERSION
        if not current:   # a new or older database: create what is missing (reading needs no write access)
            with self._transaction() as conn:
                version = self._schema_version(conn)
                if version is not None and version > SCHEMA_VERSION:
                    raise StoreError(f'{self.where}: schema version {version}, this code reads {SCHEMA_VERSION}')
                for statement in _SCHEMA.format(**self.backend.types).split(';'):
                    if statement.strip():
                        conn.execute(statement)
                if version is None:
                    conn.execute('INSERT INTO meta VALUES (?, ?)', ('schema_version', str(SCHEMA_VERSION)))
                elif version < SCHEMA_VERSION:   # the missing tables were created above
                    conn.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(SCHEMA_VERSION),))

    def _schema_version(self, conn):
        if not self._has_table(conn, 'meta'):
            return None
        row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        return None if row is None else int(row[0])

    def _has_table(self, conn, name):
        if self.kind == 'sqlite':
            query = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?"
        else:
            query = 'SELECT 1 FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = ?'
        return conn.execute(query, (name,)).fetchone() is not None

    # -- connections and transactions -------------------------------------------------------------

    @contextmanager
    def _connect(self):
        # Connections are pooled: opening one costs a round trip (PostgreSQL), and closing the last
        # connection of a SQLite WAL database checkpoints and fsyncs, which would cost every request a disk
        # flush. A connection is used by one thread at a time.
        try:
            conn = self._pool.get_nowait()
        except queue.Empty:
            try:
                conn = Connection(self.backend.open(), self.backend)
            except Exception as err:
                self._raise_if_unavailable(err)
                raise
        try:
            yield conn
        except BaseException as err:
            conn.close()   # its state is unknown: do not reuse it
            self._raise_if_unavailable(err)
            raise
        else:
            try:
                self._pool.put_nowait(conn)
            except queue.Full:
                conn.close()

    def _raise_if_unavailable(self, err):
        message = self.backend.unavailable(err)
        if message is not None:
            raise StoreUnavailable(message) from err

    def close(self):
        """Close pooled connections (optional; they also close when the store is garbage-collected)."""
        while True:
            try:
                self._pool.get_nowait().close()
            except queue.Empty:
                return

    @contextmanager
    def _transaction(self, durable=True):
        # Writers of this process queue on a lock first: SQLite's busy handler polls with growing sleeps,
        # which under many threads gives some requests multi-second waits. The database's own lock
        # (BEGIN IMMEDIATE / the advisory lock) still serialises writers of other processes.
        lock = _writer_lock(self.backend.key)
        if not lock.acquire(timeout=self.timeout_s):
            raise StoreUnavailable(f'{self.where}: the label database stayed busy for {self.timeout_s:g} s; '
                                   'nothing was changed, try again')
        try:
            with self._connect() as conn:
                self.backend.begin_write(conn.raw, durable)
                try:
                    yield conn
                except BaseException:
                    conn.execute('ROLLBACK')
                    raise
                conn.execute('COMMIT')
        finally:
            lock.release()

    # -- settings -----------------------------------------------------------------------------------

    def get_meta(self, key, default=None):
        with self._connect() as conn:
            row = conn.execute('SELECT value FROM meta WHERE key = ?', (key,)).fetchone()
        return default if row is None else row[0]

    def meta_setdefault(self, key, value):
        """Store ``value`` under ``key`` unless a value exists; return the stored value."""
        with self._transaction() as conn:
            conn.execute('INSERT INTO meta VALUES (?, ?) ON CONFLICT (key) DO NOTHING', (key, str(value)))
            return conn.execute('SELECT value FROM meta WHERE key = ?', (key,)).fetchone()[0]

    def set_instructions(self, instructions):
        """Remember per-task instructions for the page (``{task: text}``, merged with earlier ones)."""
        with self._transaction() as conn:
            row = conn.execute("SELECT value FROM meta WHERE key = 'instructions'").fetchone()
            merged = {**(json.loads(row[0]) if row else {}), **instructions}
            conn.execute("INSERT INTO meta VALUES ('instructions', ?) ON CONFLICT (key) DO UPDATE SET value = ?",
                         (json.dumps(merged, sort_keys=True), json.dumps(merged, sort_keys=True)))

    def instructions(self) -> dict:
        return json.loads(self.get_meta('instructions', '{}'))

    # -- annotators and their sessions --------------------------------------------------------------

    def add_annotator(self, name, token=None) -> Annotator:
        """Create an annotator (or return the existing one of that name) with a secret sign-in token."""
        name = str(name).strip()
        if not name or len(name) > 64 or not all(c.isalnum() or c in '-_.' for c in name):
            raise StoreError(f'annotator name: expected 1-64 letters, digits, "-", "_" or ".", got {name!r}')
        with self._transaction() as conn:
            row = conn.execute('SELECT * FROM annotators WHERE name = ?', (name,)).fetchone()
            if row is None:
                row = conn.execute('INSERT INTO annotators (name, token, created_at) VALUES (?, ?, ?) RETURNING *',
                                   (name, token or secrets.token_urlsafe(18), time.time())).fetchone()
        return Annotator(row['annotator_id'], row['name'], row['token'])

    def annotator_by_token(self, token) -> Annotator | None:
        if not isinstance(token, str) or not token or len(token) > 200:
            return None
        with self._connect() as conn:
            row = conn.execute('SELECT * FROM annotators WHERE token = ?', (token,)).fetchone()
        if row is None or not secrets.compare_digest(row['token'], token):
            return None
        return Annotator(row['annotator_id'], row['name'], row['token'])

    def annotator(self, name_or_id) -> Annotator:
        column = 'annotator_id' if isinstance(name_or_id, int) else 'name'
        if column == 'annotator_id':
            check_id('annotator_id', name_or_id)
        with self._connect() as conn:
            row = conn.execute(f'SELECT * FROM annotators WHERE {column} = ?', (name_or_id,)).fetchone()
        if row is None:
            raise UnknownAnnotator(f'unknown annotator {name_or_id!r}')
        return Annotator(row['annotator_id'], row['name'], row['token'])

    def annotators(self) -> list[Annotator]:
        with self._connect() as conn:
            rows = conn.execute('SELECT * FROM annotators ORDER BY annotator_id').fetchall()
        return [Annotator(r['annotator_id'], r['name'], r['token']) for r in rows]

    @staticmethod
    def _session_hash(session_id):
        return hashlib.sha256(session_id.encode()).hexdigest()   # a leaked database holds no usable session

    def open_session(self, annotator_id) -> str:
        """A new sign-in of the annotator: returns the secret session id the browser keeps."""
        session_id = secrets.token_urlsafe(32)
        with self._transaction() as conn:
            conn.execute('INSERT INTO sessions (session_hash, annotator_id, created_at) VALUES (?, ?, ?)',
                         (self._session_hash(session_id), check_id('annotator_id', annotator_id), time.time()))
        return session_id

    def session_annotator(self, session_id) -> Annotator | None:
        """The annotator signed in with ``session_id``, or None (unknown, or signed out)."""
        if not isinstance(session_id, str) or not session_id or len(session_id) > 200:
            return None
        with self._connect() as conn:
            row = conn.execute('SELECT a.* FROM sessions s JOIN annotators a USING (annotator_id) '
                               'WHERE s.session_hash = ?', (self._session_hash(session_id),)).fetchone()
        return None if row is None else Annotator(row['annotator_id'], row['name'], row['token'])

    def close_session(self, session_id):
        """Sign-out: the session id no longer signs anyone in, wherever a copy of it is."""
        if isinstance(session_id, str) and session_id:
            with self._transaction() as conn:
                conn.execute('DELETE FROM sessions WHERE session_hash = ?', (self._session_hash(session_id),))

    # -- pairs --------------------------------------------------------------------------------------

    def add_pairs(self, pairs) -> int:
        """Insert pairs (``PairRecord``); pairs already present unchanged are skipped. Returns how many were new.

        A pair id that exists with different content is an error and nothing is inserted.
        """
        new = 0
        columns = ('pair_id', 'task', 'segment_a', 'segment_b', 'clip_a', 'clip_b', 'gold_choice')
        with self._transaction() as conn:
            position = conn.execute('SELECT COALESCE(MAX(position), -1) + 1 FROM pairs').fetchone()[0]
            for pair in pairs:
                if pair.gold_choice is not None and pair.gold_choice not in GOLD_CHOICES:
                    raise StoreError(f'pair {pair.pair_id}: gold_choice must be one of {GOLD_CHOICES}, '
                                     f'got {pair.gold_choice!r}')
                row = (pair.pair_id, pair.task, json.dumps(pair.segment_a.to_dict(), sort_keys=True),
                       json.dumps(pair.segment_b.to_dict(), sort_keys=True), pair.clip_a, pair.clip_b,
                       pair.gold_choice)
                old = conn.execute(f'SELECT {", ".join(columns)} FROM pairs WHERE pair_id = ?',
                                   (pair.pair_id,)).fetchone()
                if old is not None:
                    if tuple(old[c] for c in columns) != row:
                        raise StoreError(f'pair {pair.pair_id}: already in {self.where} with different content')
                    continue
                conn.execute(f'INSERT INTO pairs ({", ".join(columns)}, position, created_at) '
                             'VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)', row + (position, time.time()))
                position += 1
                new += 1
        return new

    def pairs(self) -> list[PairRecord]:
        with self._connect() as conn:
            rows = conn.execute('SELECT * FROM pairs ORDER BY position').fetchall()
        return [_pair_from_row(r) for r in rows]

    def pair(self, pair_id) -> PairRecord:
        with self._connect() as conn:
            row = conn.execute('SELECT * FROM pairs WHERE pair_id = ?', (pair_id,)).fetchone()
        if row is None:
            raise StoreError(f'unknown pair {pair_id!r}')
        return _pair_from_row(row)

    # -- assignment ---------------------------------------------------------------------------------

    def claim(self, annotator_id, exclude=()) -> Assignment | None:
        """Hand the annotator a pair: their oldest open assignment not in ``exclude``, else a new one.

        Returns ``None`` when nothing is left for this annotator (or they already hold ``max_active``).
        """
        check_id('annotator_id', annotator_id)
        exclude = [check_id('exclude[]', x) for x in exclude]
        now = time.time()
        with self._transaction(durable=False) as conn:   # an assignment is cheap to lose, a label is not
            if conn.execute('SELECT 1 FROM annotators WHERE annotator_id = ?', (annotator_id,)).fetchone() is None:
                raise UnknownAnnotator(f'unknown annotator id {annotator_id!r}')
            expired = conn.execute("SELECT assignment_id, pair_id FROM assignments WHERE status = 'active' "
                                   'AND expires_at < ?', (now,)).fetchall()
            for row in expired:
                conn.execute("UPDATE assignments SET status = 'expired' WHERE assignment_id = ?",
                             (row['assignment_id'],))
                conn.execute('UPDATE pairs SET n_open = n_open - 1 WHERE pair_id = ?', (row['pair_id'],))
            not_excluded = f"AND assignment_id NOT IN ({','.join('?' * len(exclude))}) " if exclude else ''
            held = conn.execute(
                f"SELECT * FROM assignments WHERE annotator_id = ? AND status = 'active' {not_excluded}"
                'ORDER BY assignment_id LIMIT 1', [annotator_id, *exclude]).fetchone()
            if held is not None:
                return self._assignment(conn, held)
            active = conn.execute("SELECT COUNT(*) FROM assignments WHERE annotator_id = ? AND status = 'active'",
                                  (annotator_id,)).fetchone()[0]
            if active >= self.max_active:
                return None
            pair_id = None
            if self.gold_every > 0:
                issued = conn.execute('SELECT COUNT(*) FROM assignments WHERE annotator_id = ?',
                                      (annotator_id,)).fetchone()[0]
                if (issued + 1) % self.gold_every == 0:
                    pair_id = self._unseen_gold(conn, annotator_id)
            if pair_id is None:
                pair_id = self._next_regular(conn, annotator_id)
            if pair_id is None:
                return None
            row = conn.execute(
                "INSERT INTO assignments (pair_id, annotator_id, nonce, status, issued_at, expires_at) "
                "VALUES (?, ?, ?, 'active', ?, ?) RETURNING *",
                (pair_id, annotator_id, secrets.token_urlsafe(16), now, now + self.lease_s)).fetchone()
            conn.execute('UPDATE pairs SET n_open = n_open + 1 WHERE pair_id = ?', (pair_id,))
            return self._assignment(conn, row)

    def assignment_pair(self, annotator_id, assignment_id) -> PairRecord | None:
        """The pair of one of the annotator's assignments, or None when it is not theirs."""
        with self._connect() as conn:
            row = conn.execute('SELECT p.* FROM assignments a JOIN pairs p USING (pair_id) WHERE a.assignment_id = ? '
                               'AND a.annotator_id = ?', (check_id('assignment_id', assignment_id),
                                                          check_id('annotator_id', annotator_id))).fetchone()
        return None if row is None else _pair_from_row(row)

    def _next_regular(self, conn, annotator_id):
        # Slots used = counted labels + open leases of others. Prefer pairs nobody holds right now (so
        # concurrent annotators get different pairs), then pairs closest to completion, then file order.
        row = conn.execute(
            """
            SELECT p.pair_id FROM pairs p
            WHERE p.gold_choice IS NULL AND p.n_open + p.n_done < ?
              AND NOT EXISTS (SELECT 1 FROM assignments a WHERE a.pair_id = p.pair_id AND a.annotator_id = ?)
            ORDER BY p.n_open ASC, p.n_done DESC, p.position ASC
            LIMIT 1
            """, (self.min_annotations_per_pair, annotator_id)).fetchone()
        return None if row is None else row['pair_id']

    def _unseen_gold(self, conn, annotator_id):
        row = conn.execute(
            'SELECT pair_id FROM pairs p WHERE gold_choice IS NOT NULL AND NOT EXISTS '
            '(SELECT 1 FROM assignments a WHERE a.pair_id = p.pair_id AND a.annotator_id = ?) '
            'ORDER BY position LIMIT 1', (annotator_id,)).fetchone()
        return None if row is None else row['pair_id']

    def _assignment(self, conn, row) -> Assignment:
        pair = conn.execute('SELECT * FROM pairs WHERE pair_id = ?', (row['pair_id'],)).fetchone()
        return Assignment(row['assignment_id'], row['annotator_id'], row['nonce'], row['issued_at'],
                          row['expires_at'], _pair_from_row(pair))

    # -- labels -------------------------------------------------------------------------------------

    @staticmethod
    def validate_answer(mode, choice, rating_a, rating_b, time_ms):
        """Check one answer; return it normalised as (choice, rating_a, rating_b, time_ms) or raise StoreError."""
        if mode not in MODES:
            raise StoreError(f'mode: expected one of {MODES}, got {mode!r}')
        if choice is not None and (not isinstance(choice, str) or choice not in CHOICES):
            raise StoreError(f'choice: expected one of {CHOICES}, got {choice!r}'[:200])
        ratings = []
        for field, value in (('rating_a', rating_a), ('rating_b', rating_b)):
            if value is None:
                ratings.append(None)
                continue
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
                    or int(value) != value or not 1 <= value <= 100:
                raise StoreError(f'{field}: expected a whole number from 1 to 100, got {value!r}'[:200])
            ratings.append(int(value))
        if choice is not None and any(r is not None for r in ratings):
            raise StoreError('give either a choice or two ratings, not both')
        if choice is None:
            if mode == 'pairwise':
                raise StoreError('choice: missing (pairwise mode)')
            if any(r is None for r in ratings):
                raise StoreError('rating mode: expected both rating_a and rating_b (or choice "skip")')
        elif mode == 'rating' and choice != 'skip':
            raise StoreError(f'rating mode takes ratings or "skip", got choice {choice!r}')
        if isinstance(time_ms, bool) or not isinstance(time_ms, (int, float)) or not math.isfinite(time_ms) \
                or not 0 <= time_ms <= MAX_TIME_MS:
            raise StoreError(f'time_ms: expected milliseconds from 0 to {MAX_TIME_MS}, got {time_ms!r}'[:200])
        return choice, ratings[0], ratings[1], int(time_ms)

    def submit(self, annotator_id, assignment_id, nonce, choice=None, rating_a=None, rating_b=None, time_ms=0,
               mode='pairwise') -> SubmitResult:
        """Record one answer (committed before returning). See the module doc for replays and expired leases."""
        choice, rating_a, rating_b, time_ms = self.validate_answer(mode, choice, rating_a, rating_b, time_ms)
        check_id('assignment_id', assignment_id)
        check_id('annotator_id', annotator_id)
        counted = choice not in NOT_COUNTED
        with self._transaction() as conn:
            row = conn.execute('SELECT * FROM assignments WHERE assignment_id = ?', (assignment_id,)).fetchone()
            if row is None or row['annotator_id'] != annotator_id:
                raise StoreError(f'assignment {assignment_id}: not an assignment of this annotator')
            if not isinstance(nonce, str) or not secrets.compare_digest(row['nonce'].encode(), nonce.encode()):
                raise StoreError(f'assignment {assignment_id}: the form nonce does not match (stale or forged form)')
            old = conn.execute('SELECT * FROM labels WHERE assignment_id = ?', (assignment_id,)).fetchone()
            if old is not None:
                if (old['mode'], old['choice'], old['rating_a'], old['rating_b']) == (mode, choice, rating_a,
                                                                                      rating_b):
                    return SubmitResult(old['label_id'], replayed=True)
                raise AlreadyAnswered(f'assignment {assignment_id} was already answered '
                                      f'({old["choice"] or (old["rating_a"], old["rating_b"])}); the stored answer '
                                      'is kept')
            pair = conn.execute('SELECT gold_choice, n_open, n_done FROM pairs WHERE pair_id = ?',
                                (row['pair_id'],)).fetchone()
            active = row['status'] == 'active'
            if counted and pair['gold_choice'] is None and (not active or row['expires_at'] < time.time()):
                # a late answer: stored only if the slots others hold or filled leave room for it
                others = pair['n_open'] - int(active) + pair['n_done']
                if others >= self.min_annotations_per_pair:
                    raise LeaseExpired(f'assignment {assignment_id}: its lease of {self.lease_s:g} s ran out and the '
                                       'pair has since gone to other annotators; this answer was not stored')
            label_id = conn.execute(
                'INSERT INTO labels (assignment_id, pair_id, annotator_id, mode, choice, rating_a, rating_b, counted, '
                'time_ms, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING label_id',
                (assignment_id, row['pair_id'], annotator_id, mode, choice, rating_a, rating_b, int(counted), time_ms,
                 time.time())).fetchone()[0]
            conn.execute("UPDATE assignments SET status = 'done' WHERE assignment_id = ?", (assignment_id,))
            conn.execute('UPDATE pairs SET n_open = n_open - ?, n_done = n_done + ? WHERE pair_id = ?',
                         (int(active), int(counted), row['pair_id']))
            return SubmitResult(label_id, replayed=False)

    def labels(self, include_gold=True) -> list[Label]:
        with self._connect() as conn:
            rows = conn.execute(
                'SELECT l.*, a.name AS annotator, p.gold_choice FROM labels l '
                'JOIN annotators a ON a.annotator_id = l.annotator_id JOIN pairs p ON p.pair_id = l.pair_id '
                'ORDER BY l.label_id').fetchall()
        out = [Label(r['label_id'], r['assignment_id'], r['pair_id'], r['annotator'], r['mode'], r['choice'],
                     r['rating_a'], r['rating_b'], bool(r['counted']), r['time_ms'], r['created_at'],
                     r['gold_choice'] is not None, r['gold_choice'], r['annotator_id']) for r in rows]
        return out if include_gold else [label for label in out if not label.is_gold]

    def label_count(self, annotator_id) -> int:
        """The annotator's answers on regular pairs, skips left out: the "labels" the statistics page counts."""
        with self._connect() as conn:
            return conn.execute('SELECT COUNT(*) FROM labels l JOIN pairs p USING (pair_id) WHERE l.annotator_id = ? '
                                'AND l.counted = 1 AND p.gold_choice IS NULL', (annotator_id,)).fetchone()[0]

    def progress(self) -> dict:
        """Per task: regular pairs, pairs with enough counted labels, counted labels so far."""
        with self._connect() as conn:
            rows = conn.execute(
                """
                SELECT task, COUNT(*) AS pairs, SUM(CASE WHEN n_done >= ? THEN 1 ELSE 0 END) AS complete,
                       SUM(n_done) AS labels
                FROM pairs WHERE gold_choice IS NULL GROUP BY task ORDER BY task
                """, (self.min_annotations_per_pair,)).fetchall()
        return {r['task']: {'pairs': r['pairs'], 'complete': r['complete'], 'remaining': r['pairs'] - r['complete'],
                            'labels': r['labels'],
                            'labels_needed': r['pairs'] * self.min_annotations_per_pair}
                for r in rows}

    def integrity_problems(self) -> list[str]:
        """What is inconsistent in the database (empty when all is well): the checks of the load bench."""
        problems = []
        with self._connect() as conn:
            if self.kind == 'sqlite':
                result = conn.execute('PRAGMA integrity_check').fetchone()[0]
                if result != 'ok':
                    problems.append(f'SQLite integrity_check: {result}')
            drift = conn.execute(
                "SELECT COUNT(*) FROM pairs p WHERE n_open != (SELECT COUNT(*) FROM assignments a WHERE "
                "a.pair_id = p.pair_id AND a.status = 'active') OR n_done != (SELECT COUNT(*) FROM labels l "
                'WHERE l.pair_id = p.pair_id AND l.counted = 1)').fetchone()[0]
            over = conn.execute('SELECT COUNT(*) FROM pairs WHERE gold_choice IS NULL AND n_done > ?',
                                (self.min_annotations_per_pair,)).fetchone()[0]
        if drift:
            problems.append(f'{drift} pairs whose n_open / n_done counters disagree with their rows')
        if over:
            problems.append(f'{over} pairs with more than {self.min_annotations_per_pair} counted labels')
        return problems
