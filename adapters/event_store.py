"""Where the event store lives: an event-store URL to eventsourcing's persistence settings.

The same ``MemoryApplication`` runs on the embedded SQLite file and on PostgreSQL.
Everything that knows a driver is here and in the two modules beside it:
- the factories select the batch process recorders (``adapters/recorders.py``)
  through eventsourcing's ``process_recorder_class``, and the SQLite one sets the
  commit durability of every connection (``adapters/sqlite_sync.py``);
- ``open_timeline`` puts the projections' rows where their writes do not queue
  behind the stages' (docs/design.md, "Where projection state lives").
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Any, Callable, TypeVar
from urllib.parse import parse_qs, unquote, urlparse

from eventsourcing.persistence import IntegrityError, OperationalError
from eventsourcing.postgres import PostgresFactory
from eventsourcing.sqlite import SQLiteFactory
from eventsourcing.utils import Environment, get_topic

from adapters.recorders import PostgresBatchProcessRecorder, SQLiteBatchProcessRecorder
from adapters.sqlite_sync import use_synchronous
from application.memory_app import MemoryApplication
from projections.timeline_view import PostgresTimelineView, SQLiteTimelineView, TimelineView

SYNC_ENV_KEY = "SQLITE_SYNCHRONOUS"


class EventStoreURLError(ValueError):
    pass


class SQLiteStoreFactory(SQLiteFactory):
    """SQLite with batch tracking and the configured commit durability."""

    process_recorder_class = SQLiteBatchProcessRecorder

    def __init__(self, env: Any) -> None:
        super().__init__(env)
        # Before the first recorder: the pool opens its connections lazily.
        use_synchronous(self, self.env.get(SYNC_ENV_KEY) or "full")


class PostgresStoreFactory(PostgresFactory):
    """PostgreSQL with batch tracking."""

    process_recorder_class = PostgresBatchProcessRecorder


def persistence_env(url: str) -> dict[str, str]:
    """Translate ``sqlite:///path`` / ``postgresql://...`` into eventsourcing's settings."""
    parsed = urlparse(url)
    if parsed.scheme == "sqlite":
        path = unquote(parsed.path)
        if url.startswith("sqlite:////"):
            path = "/" + path.lstrip("/")
        if not path or path == "/":
            raise EventStoreURLError(f"sqlite URL needs a file path: {url!r}")
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        return {
            "PERSISTENCE_MODULE": get_topic(SQLiteStoreFactory),
            "SQLITE_DBNAME": path,
            "SQLITE_LOCK_TIMEOUT": "30",
            "SINGLE_ROW_TRACKING": "y",
        }
    if parsed.scheme in ("postgresql", "postgres"):
        query = parse_qs(parsed.query)
        env = {
            "PERSISTENCE_MODULE": get_topic(PostgresStoreFactory),
            "POSTGRES_DBNAME": parsed.path.lstrip("/") or "postgres",
            "POSTGRES_HOST": parsed.hostname or "127.0.0.1",
            "POSTGRES_PORT": str(parsed.port or 5432),
            "POSTGRES_USER": unquote(parsed.username or "postgres"),
            "POSTGRES_PASSWORD": unquote(parsed.password or ""),
            "SINGLE_ROW_TRACKING": "y",
            "POSTGRES_POOL_SIZE": "4",
        }
        if "schema" in query:
            env["POSTGRES_SCHEMA"] = query["schema"][0]
        return env
    raise EventStoreURLError(
        f"unsupported event store URL {url!r}: use sqlite:///PATH or postgresql://USER@HOST:PORT/DB"
    )


def open_application(url: str, extra_env: dict[str, Any] | None = None, sync: str = "full") -> MemoryApplication:
    """The event store at ``url``; ``sync``: see ``adapters.sqlite_sync`` (SQLite only)."""
    env = persistence_env(url)
    env[SYNC_ENV_KEY] = sync
    env.update({k: str(v) for k, v in (extra_env or {}).items()})
    return creating_tables(lambda: MemoryApplication(env=env))


def open_timeline(app: MemoryApplication) -> TimelineView:
    """The timeline view, with the positions of every projection that reads it.

    On PostgreSQL it lives in the event store's schema. On SQLite it gets a file of its
    own next to the event store (``events.sqlite`` -> ``events-projections.sqlite``): one
    SQLite file has one writer at a time, and with the Fast and Fine stages and the
    projections in separate processes, the projections' writes queued behind the stages'
    (and the stages behind theirs) through SQLite's busy handler. Rows and position still
    commit in one transaction, and that file commits without an fsync (derived rows).
    """
    if isinstance(app.factory, PostgresFactory):
        return creating_tables(lambda: app.factory.tracking_recorder(PostgresTimelineView))  # type: ignore[arg-type]
    events_file = Path(app.env["SQLITE_DBNAME"])
    env = {**app.env, "SQLITE_DBNAME": str(events_file.with_name(f"{events_file.stem}-projections.sqlite"))}
    factory = SQLiteFactory(Environment(app.name, env))
    use_synchronous(factory, "normal")
    return creating_tables(lambda: factory.tracking_recorder(SQLiteTimelineView))  # type: ignore[arg-type]


T = TypeVar("T")


def creating_tables(open_: Callable[[], T], attempts: int = 5) -> T:
    """Open something that creates its tables, tolerating another process doing the same.

    Why: eventsourcing's SQLite recorder checks whether the tracking table exists,
    then creates it and inserts its ``__migration__`` marker in a second step. Two
    workers started together on a fresh file both see "no table", and the later
    one's marker insert fails although the table is now exactly as it wants it.
    Opening again sees the table and skips the marker. Switching a fresh file to WAL
    mode can also report "database is locked" while another process does the same;
    eventsourcing raises that one as sqlite3's own error, from its connection set-up.
    """
    for attempt in range(1, attempts + 1):
        try:
            return open_()
        except (IntegrityError, OperationalError, sqlite3.OperationalError) as exc:
            racing = "__migration__" in str(exc) or "database is locked" in str(exc)
            if not racing or attempt == attempts:
                raise
            time.sleep(0.05 * attempt)
    raise AssertionError("unreachable")
