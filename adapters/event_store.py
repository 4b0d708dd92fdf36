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
import sys
import time
from pathlib import Path
from typing import Any, Callable, TypeVar
from urllib.parse import parse_qs, unquote, urlparse, urlunparse
from uuid import UUID

from eventsourcing.persistence import IntegrityError, OperationalError
from eventsourcing.sqlite import SQLiteFactory
from eventsourcing.utils import Environment, get_topic

from adapters.encryption import SealingMapper, sealed_user
from adapters.keys import KeyStore, PostgresKeyStore, SQLiteKeyStore
from adapters.disk_space import DiskSpaceGuard
from adapters.recorders import SQLiteBatchProcessRecorder
from adapters.sqlite_sync import use_synchronous
from application.memory_app import MemoryApplication
from projections.timeline_view import SQLiteTimelineView, TimelineView

SYNC_ENV_KEY = "SQLITE_SYNCHRONOUS"


POSTGRES_FACTORY = "adapters.postgres_store:PostgresStoreFactory"
"""eventsourcing's topic of the PostgreSQL factory: a name, so that psycopg (about 0.15 s of imports)
is loaded only by a store whose URL is postgresql://."""


def on_postgres(app: Any) -> bool:
    """Whether ``app`` stores its events in PostgreSQL, without importing psycopg: a PostgreSQL
    factory has imported ``eventsourcing.postgres`` already."""
    module = sys.modules.get("eventsourcing.postgres")
    return module is not None and isinstance(app.factory, module.PostgresFactory)


class EventStoreURLError(ValueError):
    pass


class SQLiteStoreFactory(SQLiteFactory):
    """SQLite with batch tracking and the configured commit durability."""

    process_recorder_class = SQLiteBatchProcessRecorder

    def __init__(self, env: Any) -> None:
        super().__init__(env)
        # Before the first recorder: the pool opens its connections lazily.
        use_synchronous(self, self.env.get(SYNC_ENV_KEY) or "full")
        self._keys: KeyStore | None = None

    def key_store(self) -> KeyStore:
        """The users' data keys: ``events.sqlite`` -> ``events-keys.sqlite`` (adapters/keys.py)."""
        if self._keys is None:
            name = self.env.get("SQLITE_DBNAME") or ":memory:"
            events_file = Path(name)
            in_memory = name == ":memory:" or "mode=memory" in name
            self._keys = SQLiteKeyStore(":memory:" if in_memory else
                                        events_file.with_name(f"{events_file.stem}-keys.sqlite"))
        return self._keys

    def mapper(self, transcoder: Any = None, mapper_class: Any = None) -> Any:
        return _sealing_mapper(self, transcoder, mapper_class)

    def process_recorder(self) -> Any:
        """The recorder, refusing writes while the data dir's volume is nearly full."""
        recorder = super().process_recorder()
        name = self.env.get("SQLITE_DBNAME") or ":memory:"
        if name != ":memory:" and "mode=memory" not in name and isinstance(recorder, SQLiteBatchProcessRecorder):
            recorder.space = DiskSpaceGuard(Path(name).parent)
        return recorder


def _sealing_mapper(factory: Any, transcoder: Any, mapper_class: Any) -> Any:
    """Content fields of users' events sealed with the user's data key (adapters/encryption.py).
    eventsourcing's ``SEALED_CONTENT=off`` setting (environment) stores them in the clear, as
    releases before sealing did (tests and benchmarks of such stores)."""
    if mapper_class is not None or (factory.env.get("SEALED_CONTENT") or "on") == "off":
        return super(type(factory), factory).mapper(transcoder, mapper_class)
    return SealingMapper(transcoder=transcoder or factory.transcoder(), compressor=factory.compressor(),
                         cipher=factory.cipher(), keys=factory.key_store())


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
            "PERSISTENCE_MODULE": POSTGRES_FACTORY,
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
    app = creating_tables(lambda: MemoryApplication(env=env))
    if isinstance(app.mapper, SealingMapper):
        app.mapper.owner_lookup = lambda originator_id: _first_event_owner(app, originator_id)
    return app


def _first_event_owner(app: MemoryApplication, originator_id: Any) -> str | None:
    """The user an aggregate's first stored event is sealed for (or names, when stored in the clear)."""
    for stored in app.recorder.select_events(originator_id, limit=1):
        user = sealed_user(stored.state)
        if user is None:
            state = app.mapper.to_domain_event(stored).__dict__
            user = state.get("user_id") if isinstance(state.get("user_id"), str) else None
        return user
    return None


def open_timeline(app: MemoryApplication) -> TimelineView:
    """The timeline view, with the positions of every projection that reads it.

    On PostgreSQL it lives in the event store's schema. On SQLite it gets a file of its
    own next to the event store (``events.sqlite`` -> ``events-projections.sqlite``): one
    SQLite file has one writer at a time, and with the Fast and Fine stages and the
    projections in separate processes, the projections' writes queued behind the stages'
    (and the stages behind theirs) through SQLite's busy handler. Rows and position still
    commit in one transaction, and that file commits without an fsync (derived rows).
    """
    if on_postgres(app):
        from projections.timeline_view_postgres import PostgresTimelineView

        return creating_tables(lambda: app.factory.tracking_recorder(PostgresTimelineView))  # type: ignore[arg-type]
    events_file = Path(app.env["SQLITE_DBNAME"])
    env = {**app.env, "SQLITE_DBNAME": str(events_file.with_name(f"{events_file.stem}-projections.sqlite"))}
    factory = SQLiteFactory(Environment(app.name, env))
    use_synchronous(factory, "normal")
    use_secure_delete(factory)
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


def use_secure_delete(factory: Any) -> None:
    """Every connection of ``factory``'s SQLite pool zeroes what it deletes (``PRAGMA
    secure_delete``): the projections file holds users' content in the clear, and a
    forgotten user's rows, and the versions each upsert replaced, must leave no bytes
    in free pages (docs/lifecycle.md)."""
    from eventsourcing.sqlite import SQLiteDatastore

    datastore = getattr(factory, "datastore", None)
    if not isinstance(datastore, SQLiteDatastore):
        return
    pool = datastore.pool
    create = pool._create_connection

    def create_secure() -> Any:
        connection = create()
        connection._sqlite_conn.execute("PRAGMA secure_delete=ON")
        return connection

    pool._create_connection = create_secure  # type: ignore[method-assign]


def rewrite_stored_states(app: MemoryApplication, rows: list[tuple[Any, int, bytes]], *, snapshots: bool = False) -> int:
    """Forgetting: replace the stored state of these (originator_id, version) rows in
    place, on a connection that zeroes what it overwrites (SQLite ``secure_delete``).
    Used only for content that sealing cannot shred: one forgotten memory of a user who
    stays, and events stored in the clear before sealing existed. Returns rows changed."""
    if not rows:
        return 0
    store = app.snapshots if snapshots else app.events
    if store is None:
        return 0
    recorder = store.recorder
    table = recorder.events_table_name  # type: ignore[attr-defined]
    if on_postgres(app):
        from psycopg.sql import SQL, Identifier

        statement = SQL("UPDATE {0}.{1} SET state = %s WHERE originator_id = %s AND originator_version = %s").format(
            Identifier(app.factory.datastore.schema), Identifier(table))
        changed = 0
        with app.factory.datastore.transaction(commit=True) as curs:
            for originator_id, version, state in rows:
                curs.execute(statement, (state, originator_id, version))
                changed += curs.rowcount
        return changed
    connection = sqlite3.connect(app.env["SQLITE_DBNAME"], timeout=30.0)
    try:
        connection.execute("PRAGMA secure_delete=ON")
        with connection:
            connection.executemany(f"UPDATE {table} SET state = ? WHERE originator_id = ? AND originator_version = ?",
                                   [(state, oid.hex if isinstance(oid, UUID) else str(oid), version)
                                    for oid, version, state in rows])  # eventsourcing stores UUIDs as hex
            changed = connection.total_changes
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        connection.close()
    return changed


def scrub_sqlite_files(app: MemoryApplication) -> list[str]:
    """Fold each SQLite WAL of the store into its file and truncate it (``wal_checkpoint
    (TRUNCATE)``): a WAL keeps older page images, the rows before a delete among them.
    The event store, its key file and its projections file; returns the files scrubbed."""
    if on_postgres(app):
        keys = app.factory.key_store()
        if isinstance(keys, PostgresKeyStore):
            keys.vacuum()
        return []
    events_file = Path(app.env["SQLITE_DBNAME"])
    scrubbed = []
    for path in (events_file, events_file.with_name(f"{events_file.stem}-projections.sqlite"),
                 events_file.with_name(f"{events_file.stem}-keys.sqlite")):
        if path.exists():
            connection = sqlite3.connect(str(path), timeout=30.0)
            try:
                connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            finally:
                connection.close()
            scrubbed.append(str(path))
    return scrubbed


def prepare_store(url: str) -> None:
    """Create the PostgreSQL schema a URL names, if missing (a memory set's own schema)."""
    parsed = urlparse(url)
    if parsed.scheme not in ("postgresql", "postgres"):
        return
    schema = (parse_qs(parsed.query).get("schema") or [""])[0]
    if schema:
        import psycopg
        from psycopg.sql import SQL, Identifier

        with psycopg.connect(urlunparse(parsed._replace(query="")), autocommit=True) as conn:
            conn.execute(SQL("CREATE SCHEMA IF NOT EXISTS {0}").format(Identifier(schema)))


def drop_store(url: str) -> None:
    """Drop a memory set's PostgreSQL schema (its SQLite files go with its directory)."""
    parsed = urlparse(url)
    if parsed.scheme not in ("postgresql", "postgres"):
        return
    schema = (parse_qs(parsed.query).get("schema") or [""])[0]
    if schema and schema != "public":
        import psycopg
        from psycopg.sql import SQL, Identifier

        with psycopg.connect(urlunparse(parsed._replace(query="")), autocommit=True) as conn:
            conn.execute(SQL("DROP SCHEMA IF EXISTS {0} CASCADE").format(Identifier(schema)))
