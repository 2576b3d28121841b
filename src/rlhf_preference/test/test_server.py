# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""The Flask app through its test client: sign-in, CSRF, clip serving, validation, replayed forms."""

import re

from conftest import make_pairs, placeholder_clips
import pytest

from rlhf_preference.server import create_app
from rlhf_preference.server import main as server_main
from rlhf_preference.store import LabelStore


@pytest.fixture
def setup(tmp_path):
    clips = tmp_path / 'clips'
    clips.mkdir()
    for name in ('p0_a.mp4', 'p0_b.mp4', 'p1_a.mp4', 'p1_b.mp4'):
        (clips / name).write_bytes(b'\x00\x00\x00\x18ftypmp42')
    (tmp_path / 'secret.mp4').write_bytes(b'not yours')
    store = LabelStore(tmp_path / 'labels.sqlite')
    store.add_pairs(make_pairs(tmp_path, 2))
    token = store.add_annotator('alice').token
    app = create_app(tmp_path / 'labels.sqlite', clips)
    return app, token, store


def csrf_of(html):
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def sign_in(client, token):
    csrf = csrf_of(client.get('/login').get_data(as_text=True))
    response = client.post('/login', data={'token': token, 'csrf_token': csrf})
    assert response.status_code == 302 and response.headers['Location'].endswith('/annotate')
    return csrf


def test_sign_in_needs_a_known_token_and_csrf(setup):
    app, token, _store = setup
    client = app.test_client()
    assert client.get('/annotate').status_code == 302                         # not signed in
    assert client.post('/api/claim', json={}).status_code == 400              # no CSRF token at all
    csrf = csrf_of(client.get('/login').get_data(as_text=True))
    response = client.post('/login', data={'token': 'wrong', 'csrf_token': csrf})
    assert response.status_code == 403 and 'Unknown token' in response.get_data(as_text=True)
    response = client.post('/login', data={'token': token, 'csrf_token': 'forged'})
    assert response.status_code == 400 and 'CSRF' in response.get_data(as_text=True)
    sign_in(client, token)
    page = client.get('/annotate').get_data(as_text=True)
    assert 'alice' in page and 'Left is better' in page


def test_claim_label_replay_and_validation(setup):
    app, token, store = setup
    client = app.test_client()
    csrf = sign_in(client, token)
    headers = {'X-CSRF-Token': csrf}
    assert client.post('/api/claim', json={}, headers={'X-CSRF-Token': 'nope'}).status_code == 400
    got = client.post('/api/claim', json={'progress': True}, headers=headers).get_json()
    a = got['assignment']
    assert a['clip_a'].startswith('/clips/') and got['progress']['pairs'] == 2
    body = {'assignment_id': a['assignment_id'], 'nonce': a['nonce'], 'choice': 'left', 'time_ms': 1234}
    first = client.post('/api/label', json=body, headers=headers).get_json()
    assert first['ok'] and not first['replayed']
    again = client.post('/api/label', json=body, headers=headers).get_json()
    assert again['replayed'] and again['label_id'] == first['label_id'] and 'nothing changed' in again['message']
    conflict = client.post('/api/label', json={**body, 'choice': 'right'}, headers=headers)
    assert conflict.status_code == 409 and 'already answered' in conflict.get_json()['error']
    for bad, message in [({**body, 'choice': 'maybe'}, 'choice: expected one of'),
                         ({**body, 'assignment_id': '1'}, 'assignment_id: expected an integer'),
                         ({**body, 'nonce': 'x'}, 'nonce does not match'),
                         ({**body, 'extra': 1}, 'unknown fields: extra'),
                         ({**body, 'time_ms': 'soon'}, 'time_ms')]:
        response = client.post('/api/label', json=bad, headers=headers)
        assert response.status_code == 400 and message in response.get_json()['error'], bad
    assert client.post('/api/label', data='not json', headers=headers).status_code == 400
    labels = store.labels()
    assert [(label.choice, label.time_ms) for label in labels] == [('left', 1234)]     # nothing else changed


def test_clips_only_from_the_clip_directory(setup):
    app, token, _store = setup
    client = app.test_client()
    assert client.get('/clips/p0_a.mp4').status_code == 302                   # sign in first
    sign_in(client, token)
    assert client.get('/clips/p0_a.mp4').status_code == 200
    for path in ['/clips/../secret.mp4', '/clips/..%2Fsecret.mp4', '/clips/%2e%2e/secret.mp4',
                 '/clips//etc/passwd', '/clips/missing.mp4', '/clips/../labels.sqlite']:
        assert client.get(path, follow_redirects=True).status_code == 404, path


def test_stats_page(setup):
    app, token, _store = setup
    client = app.test_client()
    csrf = sign_in(client, token)
    got = client.post('/api/claim', json={}, headers={'X-CSRF-Token': csrf}).get_json()['assignment']
    client.post('/api/label', json={'assignment_id': got['assignment_id'], 'nonce': got['nonce'], 'choice': 'right'},
                headers={'X-CSRF-Token': csrf})
    page = client.get('/stats').get_data(as_text=True)
    assert "Krippendorff" in page and 'alice' in page and got['pair_id'] in page
    stats = client.get('/api/stats').get_json()
    assert stats['labels_total'] == 1 and stats['krippendorff_alpha'] is None   # one rater: undefined


def test_main_refuses_a_pairs_file_with_missing_episode(tmp_path, capsys):
    from rlhf_preference.pairs import write_pairs_file
    pairs = make_pairs(tmp_path, 2)
    (tmp_path / 'clips').mkdir()
    for p in pairs:
        (tmp_path / 'clips' / p.clip_a).write_bytes(b'x')
        (tmp_path / 'clips' / p.clip_b).write_bytes(b'x')
    (tmp_path / 'episodes' / pairs[1].segment_b.episode_id / 'metadata.yaml').unlink()
    write_pairs_file(tmp_path / 'pairs.json', pairs, tmp_path / 'clips')
    code = server_main(['--pairs', str(tmp_path / 'pairs.json'), '--db', str(tmp_path / 'l.sqlite'), '--port', '0'])
    assert code == 2
    assert "pairs[1].segment_b.episode_path: episode 'pep1_1' not found" in capsys.readouterr().err
    assert LabelStore(tmp_path / 'l.sqlite').pairs() == []                    # nothing imported


def test_the_stats_page_shows_gold_results_only_to_their_annotator(tmp_path):
    store = LabelStore(tmp_path / 'labels.sqlite', min_annotations_per_pair=1, gold_every=1)
    store.add_pairs(make_pairs(tmp_path, 1, prefix='g', gold='left'))
    tokens = {name: store.add_annotator(name).token for name in ('alice', 'bob')}
    alice = store.annotator('alice')
    got = store.claim(alice.annotator_id)
    store.submit(alice.annotator_id, got.assignment_id, got.nonce, choice='left')
    app = create_app(tmp_path / 'labels.sqlite', placeholder_clips(tmp_path / 'clips', store.pairs()))
    pages = {}
    for name, token in tokens.items():
        client = app.test_client()
        sign_in(client, token)
        pages[name] = client.get('/stats').get_data(as_text=True)
    assert '<td class="gold-accuracy">100%</td>' in pages['alice']
    assert '100%' not in pages['bob'] and 'private' in pages['bob']
