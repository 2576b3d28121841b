# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""Start the annotation server as a child process and learn its URL and annotator tokens (tests, bench)."""

from __future__ import annotations

from dataclasses import dataclass, field
import os
import re
import signal
import subprocess
import sys
import time

_TOKEN = re.compile(r'^annotator (\S+): token (\S+)')
_SERVING = re.compile(r'^serving \S+ annotation on (http://\S+)')


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
