# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""Label store on SQLite and PostgreSQL.

Assignment rules, concurrency (threads on one real database), idempotent submits, expired leases,
sessions, and what happens when the database cannot be used.
"""

from collections import Counter
import sqlite3
import subprocess
import sys
import threading

from conftest import make_pairs
import pytest

from rlhf_preference.store import (
    MAX_ID,
    AlreadyAnswered,
    LabelStore,
    LeaseExpired,
    StoreError,
    StoreUnavailable,
    UnknownAnnotator,
)


def test_each_pair_to_min_annotators_never_twice(store, tmp_path):
    store.add_pairs(make_pairs(tmp_path, 3))
    names = ['alice', 'bob', 'carol']
    annotators = [store.add_annotator(n) for n in names]
    seen = Counter()
    for annotator in annotators:
        while True:
            assignment = store.claim(annotator.annotator_id)
            if assignment is None:
                break
            assert (annotator.name, assignment.pair.pair_id) not in seen
            seen[(annotator.name, assignment.pair.pair_id)] += 1
            store.submit(annotator.annotator_id, assignment.assignment_id, assignment.nonce, choice='left')
    per_pair = Counter(pair for _name, pair in seen)
    assert per_pair == {'p000': 2, 'p001': 2, 'p002': 2}
    assert len(store.labels()) == 6
    assert store.progress()['pick_place'] == {'pairs': 3, 'complete': 3, 'remaining': 0, 'labels': 6,
                                             'labels_needed': 6}


def test_skip_frees_the_slot_for_another_annotator(store, tmp_path):
    store.add_pairs(make_pairs(tmp_path, 1))
    alice, bob, carol = (store.add_annotator(n) for n in ('alice', 'bob', 'carol'))
    a = store.claim(alice.annotator_id)
    store.submit(alice.annotator_id, a.assignment_id, a.nonce, choice='skip')
    assert store.claim(alice.annotator_id) is None            # never the same pair twice
    for who in (bob, carol):
        got = store.claim(who.annotator_id)
        assert got is not None and got.pair.pair_id == 'p000'
        store.submit(who.annotator_id, got.assignment_id, got.nonce, choice='right')
    assert store.progress()['pick_place']['complete'] == 1


def test_open_claim_is_returned_again_and_preload_gets_a_second(store, tmp_path):
    store.add_pairs(make_pairs(tmp_path, 4))
    alice = store.add_annotator('alice')
    first = store.claim(alice.annotator_id)
    assert store.claim(alice.annotator_id).assignment_id == first.assignment_id      # page reload
    second = store.claim(alice.annotator_id, exclude=[first.assignment_id])          # preload
    assert second.pair.pair_id != first.pair.pair_id
    assert store.claim(alice.annotator_id, exclude=[first.assignment_id, second.assignment_id]) is None


def test_expired_lease_returns_the_pair_to_the_pool_and_a_late_answer_cannot_exceed_the_quota(new_store, tmp_path):
    store = new_store(min_annotations_per_pair=1, lease_s=-1.0)      # every lease has expired at once
    store.add_pairs(make_pairs(tmp_path, 1))
    alice, bob = store.add_annotator('alice'), store.add_annotator('bob')
    late = store.claim(alice.annotator_id)
    held = store.claim(bob.annotator_id)
    assert held.pair.pair_id == 'p000'                                # alice's lease expired
    store.submit(bob.annotator_id, held.assignment_id, held.nonce, choice='right')
    with pytest.raises(LeaseExpired, match='lease of -1 s ran out.*not stored'):
        store.submit(alice.annotator_id, late.assignment_id, late.nonce, choice='left')
    assert [(label.annotator, label.choice) for label in store.labels()] == [('bob', 'right')]
    assert store.claim(alice.annotator_id) is None
    assert store.integrity_problems() == []


def test_late_answer_is_kept_while_the_pair_still_needs_it(new_store, tmp_path):
    store = new_store(min_annotations_per_pair=2, lease_s=-1.0)
    store.add_pairs(make_pairs(tmp_path, 1))
    alice, bob, carol = (store.add_annotator(n) for n in ('alice', 'bob', 'carol'))
    late = store.claim(alice.annotator_id)
    other = store.claim(bob.annotator_id)                 # alice's lease expired; bob holds one of the two slots
    assert not store.submit(alice.annotator_id, late.assignment_id, late.nonce, choice='left').replayed
    assert not store.submit(bob.annotator_id, other.assignment_id, other.nonce, choice='left').replayed
    assert store.progress()['pick_place']['complete'] == 1
    assert store.claim(carol.annotator_id) is None        # both slots filled
    assert store.integrity_problems() == []


def test_concurrent_claims_get_different_pairs_and_respect_quota(new_store, tmp_path):
    store = new_store(min_annotations_per_pair=2)
    store.add_pairs(make_pairs(tmp_path, 30))
    annotators = [store.add_annotator(f'a{i}') for i in range(8)]
    first_claims, labelled, errors = {}, [], []
    barrier = threading.Barrier(len(annotators))

    def work(annotator):
        try:
            barrier.wait()
            held = store.claim(annotator.annotator_id)      # everyone holds a claim at the same time
            first_claims[annotator.name] = held.pair.pair_id
            barrier.wait()
            while True:
                got = held or store.claim(annotator.annotator_id)
                held = None
                if got is None:
                    return
                store.submit(annotator.annotator_id, got.assignment_id, got.nonce, choice='equal', time_ms=5)
                labelled.append((annotator.name, got.pair.pair_id))
        except Exception as err:   # noqa: BLE001 - reported by the assertion below
            errors.append(err)

    threads = [threading.Thread(target=work, args=(a,)) for a in annotators]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors
    assert len(set(first_claims.values())) == len(annotators)       # simultaneous annotators: different pairs
    assert len(labelled) == len(set(labelled)) == 60                # 30 pairs x 2, nobody twice
    assert set(Counter(p for _a, p in labelled).values()) == {2}
    assert len(store.labels()) == 60
    # the per-pair counters the claim query uses agree with the rows they summarise
    assert store.integrity_problems() == []


def test_replayed_submit_changes_nothing_and_says_so(store, tmp_path):
    store.add_pairs(make_pairs(tmp_path, 2))
    alice = store.add_annotator('alice')
    got = store.claim(alice.annotator_id)
    first = store.submit(alice.annotator_id, got.assignment_id, got.nonce, choice='left', time_ms=900)
    again = store.submit(alice.annotator_id, got.assignment_id, got.nonce, choice='left', time_ms=1200)
    assert not first.replayed and again.replayed and again.label_id == first.label_id
    with pytest.raises(AlreadyAnswered, match='already answered'):
        store.submit(alice.annotator_id, got.assignment_id, got.nonce, choice='right')
    labels = store.labels()
    assert [(label.choice, label.time_ms) for label in labels] == [('left', 900)]


def test_bad_submits_are_refused_and_change_nothing(store, tmp_path):
    store.add_pairs(make_pairs(tmp_path, 2))
    alice, bob = store.add_annotator('alice'), store.add_annotator('bob')
    got = store.claim(alice.annotator_id)
    with pytest.raises(StoreError, match='nonce does not match'):
        store.submit(alice.annotator_id, got.assignment_id, 'forged', choice='left')
    with pytest.raises(StoreError, match='not an assignment of this annotator'):
        store.submit(bob.annotator_id, got.assignment_id, got.nonce, choice='left')
    with pytest.raises(StoreError, match='choice: expected one of'):
        store.submit(alice.annotator_id, got.assignment_id, got.nonce, choice='LEFT')
    with pytest.raises(StoreError, match='rating_a: expected a whole number'):
        store.submit(alice.annotator_id, got.assignment_id, got.nonce, rating_a=0, rating_b=50, mode='rating')
    with pytest.raises(StoreError, match='time_ms'):
        store.submit(alice.annotator_id, got.assignment_id, got.nonce, choice='left', time_ms=-1)
    with pytest.raises(UnknownAnnotator, match='unknown annotator'):
        store.claim(999)
    with pytest.raises(UnknownAnnotator, match="unknown annotator 'mallory'"):
        store.annotator('mallory')
    assert store.annotator_by_token('not-a-token') is None
    assert store.labels() == []


def test_gold_pairs_are_mixed_in_and_not_counted(new_store, tmp_path):
    store = new_store(min_annotations_per_pair=1, gold_every=2)
    store.add_pairs(make_pairs(tmp_path, 3))
    store.add_pairs(make_pairs(tmp_path, 1, prefix='g', gold='left'))
    alice = store.add_annotator('alice')
    order = []
    while (got := store.claim(alice.annotator_id)) is not None:
        order.append(got.pair.pair_id)
        store.submit(alice.annotator_id, got.assignment_id, got.nonce, choice='right')
    assert order == ['p000', 'g000', 'p001', 'p002']
    assert store.progress()['pick_place']['labels'] == 3
    gold = [label for label in store.labels() if label.is_gold]
    assert [(g.choice, g.gold_choice) for g in gold] == [('right', 'left')]


def test_add_pairs_is_idempotent_and_refuses_conflicts(store, tmp_path):
    pairs = make_pairs(tmp_path, 2)
    assert store.add_pairs(pairs) == 2
    assert store.add_pairs(pairs) == 0
    changed = [pairs[0].__class__(pairs[0].pair_id, 'stack', pairs[0].segment_a, pairs[0].segment_b, 'x', 'y')]
    with pytest.raises(StoreError, match='different content'):
        store.add_pairs(changed + make_pairs(tmp_path, 1, prefix='q'))
    assert [p.pair_id for p in store.pairs()] == ['p000', 'p001']     # the transaction rolled back


def test_ids_out_of_range_are_refused_by_name(store, tmp_path):
    store.add_pairs(make_pairs(tmp_path, 1))
    alice = store.add_annotator('alice')
    got = store.claim(alice.annotator_id)
    for bad in (MAX_ID + 1, 2 ** 80, 0, -5, True, 1.0):
        with pytest.raises(StoreError, match='assignment_id: expected an integer from 1 to'):
            store.submit(alice.annotator_id, bad, got.nonce, choice='left')
        with pytest.raises(StoreError, match=r'exclude\[\]: expected an integer'):
            store.claim(alice.annotator_id, exclude=[bad])
    assert store.labels() == []


def test_signed_out_session_no_longer_signs_in(store):
    alice = store.add_annotator('alice')
    session = store.open_session(alice.annotator_id)
    other = store.open_session(alice.annotator_id)             # a second browser
    assert store.session_annotator(session) == alice
    store.close_session(session)
    assert store.session_annotator(session) is None
    assert store.session_annotator(other) == alice
    assert store.session_annotator('made-up') is None and store.session_annotator(None) is None


def test_per_task_instructions_merge(store):
    store.set_instructions({'reach': 'Which arm reached the green dot more precisely?'})
    store.set_instructions({'stack': 'Which stack is neater?'})
    assert store.instructions() == {'reach': 'Which arm reached the green dot more precisely?',
                                    'stack': 'Which stack is neater?'}


HOLD_SQLITE_LOCK = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute('PRAGMA locking_mode=EXCLUSIVE')
conn.execute('BEGIN EXCLUSIVE')
print('locked', flush=True)
sys.stdin.read()
"""


def test_a_locked_sqlite_database_gives_a_clear_error_and_changes_nothing(tmp_path):
    store = LabelStore(tmp_path / 'l.sqlite', min_annotations_per_pair=1, timeout_s=0.2)
    store.add_pairs(make_pairs(tmp_path, 1))
    alice = store.add_annotator('alice')
    store.close()                                               # an exclusive lock needs the file to itself
    holder = subprocess.Popen([sys.executable, '-c', HOLD_SQLITE_LOCK, str(tmp_path / 'l.sqlite')],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == 'locked'
        with pytest.raises(StoreUnavailable, match='locked by another program and stayed locked for 0.2 s'):
            store.claim(alice.annotator_id)
    finally:
        holder.communicate('')
    assert store.claim(alice.annotator_id) is not None          # usable again once the lock is gone


def test_a_locked_postgres_database_gives_a_clear_error(postgres, tmp_path):
    import psycopg

    url = postgres.create_database()
    store = LabelStore(url, min_annotations_per_pair=1, timeout_s=0.2)
    store.add_pairs(make_pairs(tmp_path, 1))
    alice = store.add_annotator('alice')
    with psycopg.connect(url) as holder:                       # another program holding the writers' lock
        holder.execute('SELECT pg_advisory_xact_lock(%s)', (0x726c6866,))
        with pytest.raises(StoreUnavailable, match='stayed locked for 0.2 s'):
            store.claim(alice.annotator_id)
    assert store.claim(alice.annotator_id) is not None


def test_a_version_1_database_is_upgraded_in_place(tmp_path):
    path = tmp_path / 'old.sqlite'
    with sqlite3.connect(path) as conn:                         # what version 1 created, with one annotator
        conn.execute('CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)')
        conn.execute("INSERT INTO meta VALUES ('schema_version', '1')")
        conn.execute('CREATE TABLE annotators (annotator_id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, '
                     'token TEXT NOT NULL UNIQUE, created_at REAL NOT NULL)')
        conn.execute("INSERT INTO annotators VALUES (1, 'alice', 'tok', 0)")
    store = LabelStore(path)
    assert store.annotator('alice').token == 'tok'
    assert store.session_annotator(store.open_session(1)).name == 'alice'
    assert store.get_meta('schema_version') == '2'


def test_a_read_only_or_unreachable_postgres_database_is_a_clear_error(postgres):
    import psycopg

    url = postgres.create_database()
    LabelStore(url).close()
    with psycopg.connect(postgres.url(), autocommit=True) as admin:
        admin.execute(f'ALTER DATABASE "{url.rsplit("/", 1)[1]}" SET default_transaction_read_only = on')
    store = LabelStore(url)                                     # reading (an export) needs no write access
    assert store.pairs() == []
    with pytest.raises(StoreUnavailable, match='the label database is read-only'):
        store.add_annotator('alice')
    with pytest.raises(StoreUnavailable, match='cannot reach the label database') as failed:
        LabelStore(f'postgresql://nobody:secret@127.0.0.1:{postgres.port}/no_such_database')
    assert 'secret' not in str(failed.value) and 'nobody:***@' in str(failed.value)   # a password is never shown
