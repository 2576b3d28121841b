# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""Episode catalog: one SQLite file ``<data_dir>/catalog.sqlite`` (WAL journal) listing every recorded episode.

Status: ``recording`` while the recorder writes the bag, ``complete`` once it was closed with an outcome,
``incomplete`` when the recording was interrupted (crash, disk full, unwritable directory). Outcome:
``success`` / ``failure`` as the episode ended, ``incomplete`` while recording or when interrupted.
Paths are stored relative to ``data_dir`` (the directory can be moved) and returned absolute.
"""

from __future__ import annotations

from contextlib import closing
from dataclasses import asdict, dataclass, field
import json
from pathlib import Path
import sqlite3

CATALOG_FILE = 'catalog.sqlite'
STATUSES = ('recording', 'complete', 'incomplete')
OUTCOMES = ('success', 'failure', 'incomplete')

_COLUMNS = ('episode_id', 'path', 'task', 'operator_name', 'device', 'outcome', 'status', 'duration_s', 'is_sim',
            'robot', 'seed', 'software_version', 'started_at', 'message_counts', 'note')

_SCHEMA = """
CREATE TABLE IF NOT EXISTS episodes (
    episode_id TEXT PRIMARY KEY,
    path TEXT NOT NULL,
    task TEXT NOT NULL DEFAULT '',
    operator_name TEXT NOT NULL DEFAULT '',
    device TEXT NOT NULL DEFAULT '',
    outcome TEXT NOT NULL DEFAULT 'incomplete',
    status TEXT NOT NULL DEFAULT 'recording',
    duration_s REAL NOT NULL DEFAULT 0.0,
    is_sim INTEGER NOT NULL DEFAULT 1,
    robot TEXT NOT NULL DEFAULT '',
    seed INTEGER NOT NULL DEFAULT -1,
    software_version TEXT NOT NULL DEFAULT '',
    started_at TEXT NOT NULL DEFAULT '',
    message_counts TEXT NOT NULL DEFAULT '{}',
    note TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS episodes_task ON episodes (task);
CREATE INDEX IF NOT EXISTS episodes_status ON episodes (status);
"""


@dataclass
class EpisodeRecord:
    episode_id: str
    path: str                      # absolute path of the bag directory
    task: str = ''
    operator_name: str = ''
    device: str = ''
    outcome: str = 'incomplete'    # success | failure | incomplete
    status: str = 'recording'      # recording | complete | incomplete
    duration_s: float = 0.0
    is_sim: bool = True
    robot: str = ''
    seed: int = -1
    software_version: str = ''
    started_at: str = ''           # ISO 8601 UTC
    message_counts: dict = field(default_factory=dict)
    note: str = ''

    def to_dict(self) -> dict:
        return asdict(self)


class Catalog:
    """The episode catalog of one data directory (created on first use)."""

    def __init__(self, data_dir: str | Path) -> None:
        # absolute: the records' paths are returned absolute, whatever the working directory later is
        self.data_dir = Path(data_dir).expanduser().absolute()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.path = self.data_dir / CATALOG_FILE
        with closing(self._connect()) as db, db:
            db.execute('PRAGMA journal_mode=WAL')
            db.executescript(_SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=10.0)
        db.row_factory = sqlite3.Row
        return db

    def _relative(self, path: str | Path) -> str:
        path = Path(path)
        try:
            return str(path.resolve().relative_to(self.data_dir.resolve()))
        except ValueError:
            return str(path)

    def _record(self, row: sqlite3.Row) -> EpisodeRecord:
        values = dict(row)
        path = Path(values['path'])
        values['path'] = str(path if path.is_absolute() else self.data_dir / path)
        values['is_sim'] = bool(values['is_sim'])
        values['message_counts'] = json.loads(values['message_counts'] or '{}')
        return EpisodeRecord(**values)

    def add(self, record: EpisodeRecord) -> None:
        """Insert or replace one episode."""
        if record.status not in STATUSES:
            raise ValueError(f'episode {record.episode_id}: status {record.status!r}, expected one of {STATUSES}')
        if record.outcome not in OUTCOMES:
            raise ValueError(f'episode {record.episode_id}: outcome {record.outcome!r}, expected one of {OUTCOMES}')
        values = record.to_dict()
        values['path'] = self._relative(record.path)
        values['is_sim'] = int(bool(record.is_sim))
        values['message_counts'] = json.dumps(record.message_counts, sort_keys=True)
        with closing(self._connect()) as db, db:
            db.execute(f'INSERT OR REPLACE INTO episodes ({", ".join(_COLUMNS)}) '
                       f'VALUES ({", ".join("?" * len(_COLUMNS))})', [values[c] for c in _COLUMNS])

    def update(self, episode_id: str, **fields) -> EpisodeRecord:
        """Change some fields of an existing episode; returns the updated record."""
        record = self.get(episode_id)
        for key, value in fields.items():
            if not hasattr(record, key):
                raise KeyError(f'episode catalog {self.path}: no field {key!r}')
            setattr(record, key, value)
        self.add(record)
        return record

    def remove(self, episode_id: str) -> bool:
        """Delete an episode's row (the bag itself is the recorder's business); True when one was there."""
        with closing(self._connect()) as db, db:
            return db.execute('DELETE FROM episodes WHERE episode_id = ?', (episode_id,)).rowcount > 0

    def list_ids(self, episode_id: str | None = None) -> list[str]:
        """Episode ids in the catalog (only ``episode_id`` when given and present)."""
        query, params = 'SELECT episode_id FROM episodes', ()
        if episode_id is not None:
            query, params = query + ' WHERE episode_id = ?', (episode_id,)
        with closing(self._connect()) as db:
            return [row[0] for row in db.execute(query, params).fetchall()]

    def get(self, episode_id: str) -> EpisodeRecord:
        with closing(self._connect()) as db:
            row = db.execute('SELECT * FROM episodes WHERE episode_id = ?', (episode_id,)).fetchone()
        if row is None:
            raise KeyError(f'episode {episode_id!r} is not in the catalog {self.path}')
        return self._record(row)

    def list(self, task: str | None = None, outcome: str | None = None, device: str | None = None,
             is_sim: bool | None = None, status: str | None = None) -> list[EpisodeRecord]:
        """Episodes matching every given filter, oldest first."""
        clauses, params = [], []
        for column, value in (('task', task), ('outcome', outcome), ('device', device), ('status', status)):
            if value is not None:
                clauses.append(f'{column} = ?')
                params.append(value)
        if is_sim is not None:
            clauses.append('is_sim = ?')
            params.append(int(bool(is_sim)))
        where = f' WHERE {" AND ".join(clauses)}' if clauses else ''
        with closing(self._connect()) as db:
            rows = db.execute(f'SELECT * FROM episodes{where} ORDER BY started_at, episode_id', params).fetchall()
        return [self._record(row) for row in rows]
