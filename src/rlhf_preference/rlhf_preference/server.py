# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""The annotation page: a Flask app over the label store, served by a threaded WSGI server.

Run: ``python -m rlhf_preference.server --pairs pairs.json --db labels.sqlite --port 8080 --annotators alice,bob``
(or ``ros2 run rlhf_preference server ...``). Each annotator signs in with the token printed at start-up.

Routes: ``/login`` (token form), ``/annotate`` (the page), ``/stats`` (statistics page), ``/clips/<file>``
(clip directory only), JSON ``POST /api/claim`` and ``POST /api/label``, ``GET /api/stats``, ``/healthz``.
Every POST carries the session's CSRF token (form field ``csrf_token`` or header ``X-CSRF-Token``).
"""

from __future__ import annotations

import argparse
from functools import wraps
import hmac
import logging
from pathlib import Path
import secrets
import signal
import sys

from flask import Flask, abort, jsonify, redirect, render_template, request, send_from_directory, session, url_for

from rlhf_preference.config import load_config
from rlhf_preference.store import MODES, AlreadyAnswered, LabelStore, StoreError
from rlhf_preference.summary import annotation_summary

CHOICE_KEYS = [  # (choice, button text, keys) -- the page's keyboard shortcuts, one source for HTML and JS
    ('left', 'Left is better', ['ArrowLeft', 'a']),
    ('equal', 'About equal', ['ArrowDown', 'e']),
    ('right', 'Right is better', ['ArrowRight', 'd']),
    ('cant_tell', "Can't tell", ['c']),
    ('skip', 'Skip', ['s']),
]


def create_app(db_path, clip_dir, mode='pairwise', min_annotations_per_pair=2, lease_s=600.0, gold_every=0,
               secret_key=None) -> Flask:
    """Build the app. The session secret is kept in the database, so sign-ins survive a restart."""
    if mode not in MODES:
        raise ValueError(f'mode: expected one of {MODES}, got {mode!r}')
    store = LabelStore(db_path, min_annotations_per_pair=min_annotations_per_pair, lease_s=lease_s,
                       gold_every=gold_every)
    clip_dir = Path(clip_dir).resolve()
    app = Flask(__name__)
    app.config.update(SECRET_KEY=secret_key or store.meta_setdefault('secret_key', secrets.token_hex(32)),
                      SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE='Lax', MAX_CONTENT_LENGTH=64 * 1024,
                      JSON_SORT_KEYS=False)
    app.extensions['label_store'] = store

    def csrf_token():
        if 'csrf' not in session:
            session['csrf'] = secrets.token_urlsafe(24)
        return session['csrf']

    app.jinja_env.globals['csrf_token'] = csrf_token

    @app.before_request
    def check_csrf():
        if request.method == 'POST':
            sent = request.form.get('csrf_token') or request.headers.get('X-CSRF-Token') or ''
            expected = session.get('csrf', '')
            if not expected or not hmac.compare_digest(sent, expected):
                if request.path.startswith('/api/'):
                    return jsonify(error='CSRF token missing or wrong: reload the page'), 400
                return render_template('message.html', title='Form expired',
                                       message='The form was stale or forged (CSRF token missing or wrong). '
                                               'Reload the page and try again.'), 400
        return None

    def current_annotator():
        annotator_id = session.get('annotator_id')
        if annotator_id is None:
            return None
        try:
            return store.annotator(int(annotator_id))
        except StoreError:
            session.clear()
            return None

    def signed_in(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            annotator = current_annotator()
            if annotator is None:
                if request.path.startswith('/api/'):
                    return jsonify(error='not signed in'), 401
                return redirect(url_for('login'))
            return view(annotator, *args, **kwargs)
        return wrapper

    @app.get('/')
    def index():
        return redirect(url_for('annotate' if current_annotator() else 'login'))

    @app.route('/login', methods=['GET', 'POST'])
    def login():
        error = None
        if request.method == 'POST':
            annotator = store.annotator_by_token(request.form.get('token', '').strip())
            if annotator is not None:
                csrf = session.get('csrf')
                session.clear()
                session['annotator_id'] = annotator.annotator_id
                session['csrf'] = csrf or secrets.token_urlsafe(24)
                return redirect(url_for('annotate'))
            error = 'Unknown token. Ask the study organiser for yours.'
        return render_template('login.html', error=error, token=request.args.get('token', '')), \
            (403 if error else 200)

    @app.post('/logout')
    def logout():
        session.clear()
        return redirect(url_for('login'))

    @app.get('/annotate')
    @signed_in
    def annotate(annotator):
        return render_template('annotate.html', annotator=annotator, mode=mode, choices=CHOICE_KEYS,
                               config={'mode': mode, 'csrf': csrf_token(), 'claim_url': url_for('api_claim'),
                                       'label_url': url_for('api_label'),
                                       'keys': {c: keys for c, _t, keys in CHOICE_KEYS}})

    def progress_of(annotator):
        totals = store.progress()
        return {'pairs': sum(t['pairs'] for t in totals.values()),
                'complete': sum(t['complete'] for t in totals.values()),
                'mine': store.label_count(annotator.annotator_id)}

    def assignment_json(assignment):
        pair = assignment.pair
        return {'assignment_id': assignment.assignment_id, 'nonce': assignment.nonce, 'pair_id': pair.pair_id,
                'task': pair.task, 'clip_a': url_for('clip', name=pair.clip_a),
                'clip_b': url_for('clip', name=pair.clip_b)}

    @app.post('/api/claim')
    @signed_in
    def api_claim(annotator):
        body = request.get_json(silent=True) or {}
        exclude = body.get('exclude', [])
        if not isinstance(exclude, list) or not all(isinstance(x, int) and not isinstance(x, bool)
                                                    for x in exclude) or len(exclude) > 10:
            return jsonify(error='exclude: expected a short list of assignment ids'), 400
        assignment = store.claim(annotator.annotator_id, exclude=exclude)
        return jsonify(assignment=assignment_json(assignment) if assignment else None,
                       progress=progress_of(annotator) if body.get('progress') else None)

    @app.post('/api/label')
    @signed_in
    def api_label(annotator):
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            return jsonify(error='expected a JSON object'), 400
        unknown = set(body) - {'assignment_id', 'nonce', 'choice', 'rating_a', 'rating_b', 'time_ms'}
        if unknown:
            return jsonify(error=f'unknown fields: {", ".join(sorted(unknown))}'), 400
        try:
            result = store.submit(annotator.annotator_id, body.get('assignment_id'), body.get('nonce'),
                                  choice=body.get('choice'), rating_a=body.get('rating_a'),
                                  rating_b=body.get('rating_b'), time_ms=body.get('time_ms', 0), mode=mode)
        except AlreadyAnswered as err:
            return jsonify(error=str(err)), 409
        except StoreError as err:
            return jsonify(error=str(err)), 400
        message = 'already recorded; nothing changed' if result.replayed else 'saved'
        return jsonify(ok=True, label_id=result.label_id, replayed=result.replayed, message=message)

    @app.get('/clips/<path:name>')
    @signed_in
    def clip(annotator, name):
        # send_from_directory joins safely: '..', absolute paths and the like are a 404
        if not name.endswith(('.mp4', '.webm')):
            abort(404)
        return send_from_directory(clip_dir, name, max_age=3600)

    @app.get('/stats')
    @signed_in
    def stats(annotator):
        return render_template('stats.html', annotator=annotator, s=annotation_summary(store))

    @app.get('/api/stats')
    @signed_in
    def api_stats(annotator):
        return jsonify(annotation_summary(store))

    @app.get('/healthz')
    def healthz():
        return 'ok'

    @app.after_request
    def headers(response):
        response.headers.setdefault('X-Content-Type-Options', 'nosniff')
        response.headers.setdefault('X-Frame-Options', 'DENY')
        response.headers.setdefault('Content-Security-Policy',
                                    "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:")
        return response

    return app


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def main(args=None):
    argv = list(sys.argv[1:] if args is None else args)
    if '--ros-args' in argv:   # `ros2 run` may append ROS arguments; this process has no node
        argv = argv[:argv.index('--ros-args')]
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument('--config')
    config = load_config(pre.parse_known_args(argv)[0].config)
    parser = argparse.ArgumentParser(description='Serve the preference annotation page.')
    parser.add_argument('--config', help='YAML settings (see config/preference.yaml)')
    parser.add_argument('--pairs', help='pairs file from make_pairs (imported into the database; optional when '
                                        'the database already holds pairs)')
    parser.add_argument('--db', '--output', dest='db', required=True, help='label database (SQLite), created if new')
    parser.add_argument('--clips', help='clip directory (default: the one named in the pairs file)')
    parser.add_argument('--annotators', default='', help='comma-separated names to create (tokens are printed)')
    parser.add_argument('--mode', choices=MODES, default=config['mode'])
    parser.add_argument('--min-annotations-per-pair', type=int, default=config['min_annotations_per_pair'])
    parser.add_argument('--lease-s', type=float, default=config['lease_s'])
    parser.add_argument('--gold-every', type=int, default=config['gold_every'])
    parser.add_argument('--host', default=config['host'])
    parser.add_argument('--port', type=int, default=config['port'])
    parser.add_argument('--quiet', action='store_true', help='do not log every request')
    parser.add_argument('--no-check-episodes', action='store_true',
                        help='import pairs even if their episode bags are not on this machine')
    opts = parser.parse_args(argv)

    from werkzeug.serving import make_server

    if opts.quiet:
        logging.getLogger('werkzeug').setLevel(logging.WARNING)

    from rlhf_preference.pairs import PairsFileError, load_pairs_file

    clip_dir = Path(opts.clips) if opts.clips else None
    store = LabelStore(opts.db, min_annotations_per_pair=opts.min_annotations_per_pair)
    if opts.pairs:
        try:
            pairs, named_clip_dir = load_pairs_file(opts.pairs, check_episodes=not opts.no_check_episodes,
                                                    check_clips=clip_dir is None)
            new = store.add_pairs(pairs)
        except (PairsFileError, StoreError) as err:
            print(f'error: {err}', file=sys.stderr)
            return 2
        clip_dir = clip_dir or named_clip_dir
        print(f'pairs: {len(pairs)} in {opts.pairs} ({new} new in {opts.db})')
    if clip_dir is None:
        clip_dir = Path(opts.db).resolve().parent / 'clips'
    if not store.pairs():
        print(f'error: {opts.db} holds no pairs; pass --pairs FILE from make_pairs', file=sys.stderr)
        return 2
    annotators = []
    for name in filter(None, (n.strip() for n in opts.annotators.split(','))):
        try:
            annotators.append(store.add_annotator(name))
        except StoreError as err:
            print(f'error: --annotators: {err}', file=sys.stderr)
            return 2
    app = create_app(opts.db, clip_dir, mode=opts.mode, min_annotations_per_pair=opts.min_annotations_per_pair,
                     lease_s=opts.lease_s, gold_every=opts.gold_every)
    server = make_server(opts.host, opts.port, app, threaded=True)
    url = f'http://{opts.host}:{server.server_port}'
    for annotator in annotators:
        print(f'annotator {annotator.name}: token {annotator.token}  {url}/login?token={annotator.token}')
    signal.signal(signal.SIGTERM, _interrupt)   # stop like Ctrl-C: close the socket, exit 0
    print(f'serving {opts.mode} annotation on {url} (clips: {clip_dir})', flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
