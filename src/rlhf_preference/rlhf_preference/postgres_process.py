# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""A throwaway PostgreSQL server from the Debian package, for the store's tests and the load bench.

``initdb`` in a fresh temporary folder, ``pg_ctl start`` on a free port of 127.0.0.1 (trust
authentication, reachable from this machine only), one database per caller, ``stop()`` removes it all.
PostgreSQL refuses to run as root, so under root the server runs as the ``postgres`` user the Debian
package creates. ``scripts/install_postgres.sh`` installs the package.
"""

from __future__ import annotations

from dataclasses import dataclass
import glob
import os
from pathlib import Path
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid

INSTALL_HINT = 'run scripts/install_postgres.sh (Debian: apt-get install postgresql)'


class PostgresNotInstalled(RuntimeError):
    pass


def server_binaries() -> Path:
    """The newest ``/usr/lib/postgresql/<version>/bin`` (Debian's layout), else the folder of ``pg_ctl`` on PATH."""
    found = sorted(glob.glob('/usr/lib/postgresql/*/bin/pg_ctl'), key=lambda p: int(Path(p).parts[-3]))
    pg_ctl = found[-1] if found else shutil.which('pg_ctl')
    if not pg_ctl or not Path(pg_ctl).with_name('initdb').exists():
        raise PostgresNotInstalled(f'PostgreSQL server programs (pg_ctl, initdb) not found: {INSTALL_HINT}')
    return Path(pg_ctl).parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


@dataclass
class PostgresServer:
    bin_dir: Path
    root: Path
    port: int
    run_as: str | None
    user: str = 'rlhf'

    def url(self, database='postgres') -> str:
        return f'postgresql://{self.user}@127.0.0.1:{self.port}/{database}'

    def create_database(self, name=None) -> str:
        """A new empty database; returns its URL."""
        import psycopg

        name = name or f'labels_{uuid.uuid4().hex[:12]}'
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def _run(self, *args):
        return subprocess.run([str(self.bin_dir / args[0]), *map(str, args[1:])], user=self.run_as, check=True,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    def stop(self):
        try:
            self._run('pg_ctl', '-D', self.root / 'data', '-m', 'fast', '-w', 'stop')
        except subprocess.CalledProcessError:
            pass   # already gone
        shutil.rmtree(self.root, ignore_errors=True)


def start_postgres() -> PostgresServer:
    """Initialise and start a private server; raises PostgresNotInstalled with the fix when it cannot."""
    bin_dir = server_binaries()
    root = Path(tempfile.mkdtemp(prefix='rlhf_postgres_'))
    run_as = None
    if os.geteuid() == 0:
        try:
            account = pwd.getpwnam('postgres')
        except KeyError:
            raise PostgresNotInstalled(f'running as root and there is no "postgres" user: {INSTALL_HINT}') from None
        os.chown(root, account.pw_uid, account.pw_gid)
        run_as = 'postgres'
    server = PostgresServer(bin_dir, root, _free_port(), run_as)
    try:
        server._run('initdb', '-D', root / 'data', '-U', server.user, '--auth=trust', '-E', 'UTF8', '--no-sync')
        options = f'-p {server.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={root} -c fsync=on'
        server._run('pg_ctl', '-D', root / 'data', '-o', options, '-l', root / 'server.log', '-w', '-t', '120',
                    'start')
    except subprocess.CalledProcessError as err:
        log = (root / 'server.log').read_text() if (root / 'server.log').exists() else ''
        shutil.rmtree(root, ignore_errors=True)
        raise RuntimeError(f'PostgreSQL did not start: {err.stdout}\n{log}') from None
    return server
