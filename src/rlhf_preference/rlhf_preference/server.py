# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""The annotation page: a Flask app over the label store, served by waitress (a production WSGI server).

Run: ``python -m rlhf_preference.server --pairs pairs.json --db labels.sqlite --port 8080 --annotators alice,bob``
(or ``ros2 run rlhf_preference server ...``). Each annotator signs in with the token printed at start-up.

Routes: ``/login`` (token form), ``/logout``, ``/annotate`` (the page), ``/stats`` (statistics page),
``/clips/<file>`` (files of the clip folder only, links out of it refused), JSON ``POST /api/claim`` and
``POST /api/label``, ``GET /api/stats``, ``/healthz``. Every POST carries the session's CSRF token (form field
``csrf_token`` or header ``X-CSRF-Token``). Sessions live in the database: signing out revokes them.
The access log names method, path (never the query string) and status.
"""

from __future__ import annotations

import argparse
from functools import wraps
import hmac
import json
import logging
from pathlib import Path
import secrets
import signal
import sys

from flask import Flask, abort, jsonify, redirect, render_template, request, send_file, session, url_for
from werkzeug.exceptions import HTTPException

from rlhf_preference.config import load_config
from rlhf_preference.store import (
    MODES,
    AlreadyAnswered,
    LabelStore,
    LeaseExpired,
    StoreError,
    StoreUnavailable,
    check_id,
    is_postgres,
)
from rlhf_preference.summary import annotation_summary

CHOICE_KEYS = [  # (choice, button text, keys) -- the page's keyboard shortcuts, one source for HTML and JS
    ('left', 'Left is better', ['ArrowLeft', 'a']),
    ('equal', 'About equal', ['ArrowDown', 'e']),
    ('right', 'Right is better', ['ArrowRight', 'd']),
    ('cant_tell', "Can't tell", ['c']),
    ('skip', 'Skip', ['s']),
]
CLIP_SUFFIXES = ('.mp4', '.webm')
access_log = logging.getLogger('rlhf_preference.access')


class BadRequest(ValueError):
    """A request body the API cannot use; the message names the field."""


def clip_path(clip_dir: Path, name) -> Path | None:
    """The real file a clip name refers to, or None when it is not a clip file inside ``clip_dir``.

    ``clip_dir`` is already resolved. Links are followed and must end inside the folder: a link to the label
    database or anything else outside is refused (serving the database would also break SQLite's locks).
    """
    if not isinstance(name, str) or Path(name).name != name or not name.endswith(CLIP_SUFFIXES):
        return None
    real = (clip_dir / name).resolve()
    if not real.is_relative_to(clip_dir) or real.suffix not in CLIP_SUFFIXES or not real.is_file():
        return None
    return real


def json_object(optional=False) -> dict:
    """The request body as a JSON object; BadRequest names what was wrong (a list, nesting too deep, ...)."""
    raw = request.get_data(cache=False)
    if not raw.strip() and optional:
        return {}
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError) as err:   # RecursionError: absurdly deep nesting
        reason = 'nested too deeply' if isinstance(err, RecursionError) else 'not valid JSON'
        raise BadRequest(f'body: expected a JSON object ({reason})') from None
    if not isinstance(body, dict):
        raise BadRequest(f'body: expected a JSON object, got a JSON {type(body).__name__}')
    return body


def create_app(db, clip_dir, mode='pairwise', min_annotations_per_pair=2, lease_s=600.0, gold_every=0,
               secret_key=None, timeout_s=60.0, rating_pairs='all', log_requests=True) -> Flask:
    """Build the app. The session secret is kept in the database, so sign-ins survive a restart."""
    if mode not in MODES:
        raise ValueError(f'mode: expected one of {MODES}, got {mode!r}')
    store = LabelStore(db, min_annotations_per_pair=min_annotations_per_pair, lease_s=lease_s,
                       gold_every=gold_every, timeout_s=timeout_s)
    clip_dir = Path(clip_dir).resolve()
    app = Flask(__name__)
    app.config.update(SECRET_KEY=secret_key or store.meta_setdefault('secret_key', secrets.token_hex(32)),
                      SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE='Lax', MAX_CONTENT_LENGTH=64 * 1024)
    app.extensions['label_store'] = store

    def api():
        return request.path.startswith('/api/')

    def csrf_token():
        if 'csrf' not in session:
            session['csrf'] = secrets.token_urlsafe(24)
        return session['csrf']

    app.jinja_env.globals['csrf_token'] = csrf_token

    def message_page(title, message, status):
        return render_template('message.html', title=title, message=message, annotator=None), status

    @app.before_request
    def check_csrf():
        if request.method == 'POST':
            sent = request.form.get('csrf_token') or request.headers.get('X-CSRF-Token') or ''
            expected = session.get('csrf', '')
            if not expected or not hmac.compare_digest(sent.encode(), expected.encode()):
                if api():
                    return jsonify(error='CSRF token missing or wrong: reload the page'), 400
                return message_page('Form expired', 'The form was stale or forged (CSRF token missing or wrong). '
                                                    'Reload the page and try again.', 400)
        return None

    def current_annotator():
        return store.session_annotator(session.get('sid'))

    def signed_in(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            annotator = current_annotator()
            if annotator is None:
                if api():
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
                session['sid'] = store.open_session(annotator.annotator_id)
                session['csrf'] = csrf or secrets.token_urlsafe(24)
                return redirect(url_for('annotate'))
            error = 'Unknown token. Ask the study organiser for yours.'
        return render_template('login.html', error=error), (403 if error else 200)

    @app.post('/logout')
    def logout():
        store.close_session(session.get('sid'))   # a copy of the cookie signs nobody in any more
        session.clear()
        return redirect(url_for('login'))

    @app.get('/annotate')
    @signed_in
    def annotate(annotator):
        return render_template('annotate.html', annotator=annotator, mode=mode, choices=CHOICE_KEYS,
                               config={'mode': mode, 'csrf': csrf_token(), 'claim_url': url_for('api_claim'),
                                       'label_url': url_for('api_label'), 'instructions': store.instructions(),
                                       'keys': {c: keys for c, _t, keys in CHOICE_KEYS}})

    def progress_of(annotator):
        totals = store.progress()
        return {'pairs': sum(t['pairs'] for t in totals.values()),
                'complete': sum(t['complete'] for t in totals.values()),
                'mine': store.label_count(annotator.annotator_id)}

    def missing_clips(pair):
        return [name for name in (pair.clip_a, pair.clip_b) if clip_path(clip_dir, name) is None]

    def assignment_json(assignment):
        pair = assignment.pair
        return {'assignment_id': assignment.assignment_id, 'nonce': assignment.nonce, 'pair_id': pair.pair_id,
                'task': pair.task, 'clip_a': url_for('clip', name=pair.clip_a),
                'clip_b': url_for('clip', name=pair.clip_b), 'missing': missing_clips(pair)}

    @app.post('/api/claim')
    @signed_in
    def api_claim(annotator):
        body = json_object(optional=True)
        exclude = body.get('exclude', [])
        if not isinstance(exclude, list) or len(exclude) > 10:
            raise BadRequest('exclude: expected a list of at most 10 assignment ids')
        assignment = store.claim(annotator.annotator_id, exclude=exclude)
        return jsonify(assignment=assignment_json(assignment) if assignment else None,
                       progress=progress_of(annotator) if body.get('progress') else None)

    @app.post('/api/label')
    @signed_in
    def api_label(annotator):
        body = json_object()
        unknown = set(body) - {'assignment_id', 'nonce', 'choice', 'rating_a', 'rating_b', 'time_ms'}
        if unknown:
            raise BadRequest(f'unknown fields: {", ".join(sorted(unknown))}'[:200])
        assignment_id = check_id('assignment_id', body.get('assignment_id'))
        if body.get('choice') != 'skip':
            # the annotator cannot have seen a clip the server does not have: only a skip is possible
            held = store.assignment_pair(annotator.annotator_id, assignment_id)
            missing = missing_clips(held) if held is not None else []
            if missing:
                return jsonify(error=f'clip {", ".join(missing)} is missing on the server, so this pair cannot be '
                                     'judged; skip it'), 409
        result = store.submit(annotator.annotator_id, assignment_id, body.get('nonce'), choice=body.get('choice'),
                              rating_a=body.get('rating_a'), rating_b=body.get('rating_b'),
                              time_ms=body.get('time_ms', 0), mode=mode)
        message = 'already recorded; nothing changed' if result.replayed else 'saved'
        return jsonify(ok=True, label_id=result.label_id, replayed=result.replayed, message=message)

    @app.get('/clips/<path:name>')
    @signed_in
    def clip(annotator, name):
        path = clip_path(clip_dir, name)
        if path is None:
            abort(404)
        return send_file(path, max_age=3600, conditional=True)

    @app.get('/stats')
    @signed_in
    def stats(annotator):
        return render_template('stats.html', annotator=annotator,
                               s=annotation_summary(store, viewer=annotator.name, rating_pairs=rating_pairs))

    @app.get('/api/stats')
    @signed_in
    def api_stats(annotator):
        return jsonify(annotation_summary(store, viewer=annotator.name, rating_pairs=rating_pairs))

    @app.get('/healthz')
    def healthz():
        return 'ok'

    @app.errorhandler(BadRequest)
    @app.errorhandler(StoreError)
    def refused(err):   # nothing was changed; the message names the field or the rule
        return jsonify(error=str(err)), 409 if isinstance(err, (AlreadyAnswered, LeaseExpired)) else 400

    @app.errorhandler(StoreUnavailable)
    def unavailable(err):
        app.logger.error('%s', err)
        text = f'{err}. Your last answer was not saved; try again in a minute.'
        if api():
            return jsonify(error=text), 503
        return message_page('Label database unavailable', text, 503)

    @app.errorhandler(HTTPException)
    def http_error(err):
        if api():
            return jsonify(error=f'{err.code} {err.name}: {err.description}'), err.code
        return err

    @app.errorhandler(Exception)
    def server_error(err):
        app.logger.exception('unexpected error on %s %s', request.method, request.path)
        if api():
            return jsonify(error='internal error (logged on the server); nothing was saved'), 500
        return message_page('Something went wrong', 'The error was logged on the server. Reload the page.', 500)

    @app.after_request
    def headers(response):
        response.headers.setdefault('X-Content-Type-Options', 'nosniff')
        response.headers.setdefault('X-Frame-Options', 'DENY')
        response.headers.setdefault('Referrer-Policy', 'no-referrer')
        response.headers.setdefault('Content-Security-Policy',
                                    "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:")
        if log_requests:   # the path only: a query string could carry something secret
            access_log.info('%s %s %s %s', request.remote_addr, request.method, request.path, response.status_code)
        return response

    return app


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def video_size(path) -> tuple[int, int]:
    """(width, height) of a clip's video stream, from its header."""
    import av

    with av.open(str(path)) as container:
        context = container.streams.video[0].codec_context
        return context.width, context.height


def check_clips(pairs, clip_dir, pairs_file, min_size):
    """Refuse clips linked from outside the clip folder or too small for people; return the missing ones."""
    real_dir = clip_dir.resolve()
    missing, sized = [], {}
    for i, pair in enumerate(pairs):
        for field in ('clip_a', 'clip_b'):
            name = getattr(pair, field)
            path = clip_dir / name
            if path.is_symlink() and not path.resolve().is_relative_to(real_dir):
                raise StoreError(f'{pairs_file}: pairs[{i}].{field}: clip {path} is a link to {path.resolve()}, '
                                 f'outside the clip folder {real_dir}; copy the file into the folder instead')
            if clip_path(real_dir, name) is None:
                missing.append(name)
            elif any(min_size) and len(sized) < 20 and name not in sized:   # a camera has one size: a sample tells
                try:
                    sized[name] = video_size(path)
                except (OSError, ValueError) as err:   # PyAV's errors are both
                    raise StoreError(f'{pairs_file}: pairs[{i}].{field}: clip {path} is not a readable video '
                                     f'({err})') from None
    for name, (width, height) in sized.items():
        if width < min_size[0] or height < min_size[1]:
            raise StoreError(f'clip {clip_dir / name} is {width}x{height}: people cannot judge clips smaller than '
                             f'{min_size[0]}x{min_size[1]}. Record the camera at that size or larger (e.g. collect '
                             'camera_width:=320 camera_height:=240) and run make_pairs again, or pass --min-clip-size '
                             f'{width}x{height} to serve them anyway')
    return missing


def parse_size(text):
    try:
        width, height = (int(v) for v in str(text).lower().split('x'))
    except ValueError:
        raise argparse.ArgumentTypeError(f'expected WIDTHxHEIGHT such as 320x240, got {text!r}') from None
    return width, height


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
    parser.add_argument('--db', '--output', dest='db', required=True,
                        help='label database: a SQLite file (created if new) or a postgresql:// URL')
    parser.add_argument('--clips', help='clip directory (default: the one named in the pairs file)')
    parser.add_argument('--annotators', default='', help='comma-separated names to create (tokens are printed)')
    parser.add_argument('--mode', choices=MODES, default=config['mode'])
    parser.add_argument('--min-annotations-per-pair', type=int, default=config['min_annotations_per_pair'])
    parser.add_argument('--lease-s', type=float, default=config['lease_s'])
    parser.add_argument('--gold-every', type=int, default=config['gold_every'])
    parser.add_argument('--host', default=config['host'])
    parser.add_argument('--port', type=int, default=config['port'])
    parser.add_argument('--threads', type=int, default=config['server_threads'], help='request threads')
    parser.add_argument('--db-timeout-s', type=float, default=config['db_timeout_s'],
                        help='how long a request waits for a database locked by another program')
    parser.add_argument('--min-clip-size', type=parse_size, default=parse_size(config['min_clip_size']),
                        help='refuse clips smaller than WIDTHxHEIGHT (people cannot judge a few pixels)')
    parser.add_argument('--quiet', action='store_true', help='do not log every request')
    parser.add_argument('--no-check-episodes', action='store_true',
                        help='import pairs even if their episode bags are not on this machine')
    opts = parser.parse_args(argv)

    from waitress import create_server

    from rlhf_preference.pairs import PairsFileError, load_instructions, load_pairs_file

    logging.basicConfig(level=logging.WARNING if opts.quiet else logging.INFO, format='%(message)s')
    logging.getLogger('waitress.queue').setLevel(logging.ERROR)   # "task queue depth": requests wait, that is all
    clip_dir = Path(opts.clips) if opts.clips else None
    try:
        store = LabelStore(opts.db, min_annotations_per_pair=opts.min_annotations_per_pair,
                           timeout_s=opts.db_timeout_s)
        if opts.pairs:
            pairs, named_clip_dir = load_pairs_file(opts.pairs, check_episodes=not opts.no_check_episodes,
                                                    check_clips=clip_dir is None)
            clip_dir = clip_dir or named_clip_dir
            missing = check_clips(pairs, clip_dir, opts.pairs, opts.min_clip_size)
            new = store.add_pairs(pairs)
            store.set_instructions(load_instructions(opts.pairs))
            print(f'pairs: {len(pairs)} in {opts.pairs} ({new} new in {store.where})')
            if missing:
                print(f'warning: {len(missing)} clips missing in {clip_dir} (first: {missing[0]}); their pairs say so '
                      'on the page and can only be skipped', file=sys.stderr)
        if clip_dir is None:
            if is_postgres(opts.db):
                parser.error('--clips: needed with a PostgreSQL database and no --pairs')
            clip_dir = Path(opts.db).resolve().parent / 'clips'
        if not store.pairs():
            print(f'error: {store.where} holds no pairs; pass --pairs FILE from make_pairs', file=sys.stderr)
            return 2
        annotators = [store.add_annotator(name) for name in filter(None, (n.strip()
                                                                          for n in opts.annotators.split(',')))]
        if not store.annotators():
            print(f'error: {store.where} has no annotators, so nobody could sign in: pass --annotators alice,bob '
                  '(each one\'s sign-in token is printed)', file=sys.stderr)
            return 2
        app = create_app(opts.db, clip_dir, mode=opts.mode, min_annotations_per_pair=opts.min_annotations_per_pair,
                         lease_s=opts.lease_s, gold_every=opts.gold_every, timeout_s=opts.db_timeout_s,
                         rating_pairs=config['rating_pairs'], log_requests=not opts.quiet)
    except (PairsFileError, StoreError, StoreUnavailable) as err:
        print(f'error: {err}', file=sys.stderr)
        return 2
    server = create_server(app, host=opts.host, port=opts.port, threads=opts.threads, ident='rlhf-preference',
                           clear_untrusted_proxy_headers=True)
    url = f'http://{opts.host}:{server.effective_port}'
    for annotator in annotators:
        print(f'annotator {annotator.name}: token {annotator.token}')
    signal.signal(signal.SIGTERM, _interrupt)   # stop like Ctrl-C: close the socket, exit 0
    print(f'serving {opts.mode} annotation on {url} (sign in at {url}/login; clips: {clip_dir}; '
          f'labels: {store.where})', flush=True)
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
