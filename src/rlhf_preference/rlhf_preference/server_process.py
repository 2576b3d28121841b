# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""The annotation server as a child process (its URL and tokens), and a client that talks to it as the page does."""

from __future__ import annotations

from dataclasses import dataclass, field
from http.client import HTTPConnection
import json
import os
import re
import signal
import subprocess
import sys
import time
from urllib.parse import urlencode, urlparse

_TOKEN = re.compile(r'^annotator (\S+): token (\S+)')
_SERVING = re.compile(r'^serving \S+ annotation on (http://\S+)')
_CSRF = re.compile(rb'name="csrf_token" value="([^"]+)"')


@dataclass
class ServerProcess:
    process: subprocess.Popen
    url: str
    tokens: dict = field(default_factory=dict)
    log_path: str | None = None

    def stop(self, kill=False, timeout=10.0):
        """SIGTERM (or SIGKILL with ``kill``) this server only, and wait for it."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout)


def start_server(args, log_path, timeout=60.0) -> ServerProcess:
    """Run ``python -m rlhf_preference.server *args`` with output to ``log_path``; wait until it serves."""
    log = open(log_path, 'w')   # noqa: SIM115 - the child keeps writing to it
    env = dict(os.environ, PYTHONUNBUFFERED='1')
    process = subprocess.Popen([sys.executable, '-m', 'rlhf_preference.server', *map(str, args)],
                               stdout=log, stderr=subprocess.STDOUT, env=env)
    log.close()
    deadline = time.monotonic() + timeout
    tokens = {}
    while time.monotonic() < deadline:
        text = open(log_path).read()
        for line in text.splitlines():
            match = _TOKEN.match(line)
            if match:
                tokens[match.group(1)] = match.group(2)
            match = _SERVING.match(line)
            if match:
                return ServerProcess(process, match.group(1), tokens, str(log_path))
        if process.poll() is not None:
            raise RuntimeError(f'server exited with code {process.returncode}:\n{text}')
        time.sleep(0.1)
    process.kill()
    process.wait()
    raise RuntimeError(f'server did not start within {timeout} s:\n{open(log_path).read()}')


class PageClient:
    """One browser session over HTTP: the session cookie and CSRF token, a fresh connection per request."""

    def __init__(self, url, timeout=30.0):
        self.set_url(url)
        self.timeout = timeout
        self.cookie = ''
        self.csrf = ''

    def set_url(self, url):
        parsed = urlparse(url)
        self.host, self.port = parsed.hostname, parsed.port

    def request(self, method, path, body=None, content_type='application/json', headers=None):
        """Returns (status, response headers with lower-case names, body bytes); keeps the cookie it is given."""
        conn = HTTPConnection(self.host, self.port, timeout=self.timeout)
        try:
            sent = {'Cookie': self.cookie, 'X-CSRF-Token': self.csrf, **(headers or {})}
            if body is not None:
                sent['Content-Type'] = content_type
            conn.request(method, path, body=body, headers=sent)
            response = conn.getresponse()
            data = response.read()
            received = {k.lower(): v for k, v in response.getheaders()}
            if 'set-cookie' in received:
                self.cookie = received['set-cookie'].split(';', 1)[0]
            return response.status, received, data
        finally:
            conn.close()

    def sign_in(self, token):
        _status, _headers, page = self.request('GET', '/login')
        self.csrf = _CSRF.search(page).group(1).decode()
        status, _headers, _data = self.request('POST', '/login', urlencode({'token': token, 'csrf_token': self.csrf}),
                                               'application/x-www-form-urlencoded')
        if status != 302:
            raise RuntimeError(f'sign-in failed with HTTP {status}')

    def post_json(self, path, payload):
        """POST ``payload`` (an object, or bytes / str sent as they are); returns (status, decoded JSON)."""
        body = payload if isinstance(payload, (bytes, str)) else json.dumps(payload)
        status, _headers, data = self.request('POST', path, body)
        return status, json.loads(data or b'{}')
