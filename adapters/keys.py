"""Per-user data keys: the one secret that makes a user's stored content readable.

Crypto-shredding (docs/lifecycle.md): the content fields of every event about a
user are sealed with that user's data key (``adapters/encryption.py``); forgetting
the user deletes the key, and every copy of the sealed content, in the event store,
its backups and replicas, becomes unreadable at once, without rewriting an event.

Where keys live:
- SQLite event store: a file of its own beside it (``events.sqlite`` ->
  ``events-keys.sqlite``), with ``secure_delete`` (a deleted key's bytes are zeroed in
  the page) and a rollback journal that is deleted after each commit, so no copy of a
  deleted key stays in a WAL. Keys are created with a full fsync: an event sealed with
  a key that a crash lost would be unreadable.
- PostgreSQL: a table ``memstream_data_keys`` in the event store's schema.

Each process caches keys it has read for ``CACHE_SECONDS``: a key deleted by another
process (``memstream forget`` while a worker runs) is dropped from the worker's cache
within that time.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any, Protocol

KEY_BYTES = 32
CACHE_SECONDS = 2.0


class KeyStore(Protocol):
    def key(self, user_id: str, *, create: bool = True) -> bytes | None:
        """The user's data key; a new one when there is none and ``create``."""

    def delete(self, user_id: str) -> bool:
        """Destroy the user's key (True when there was one)."""

    def close(self) -> None: ...


class _Cached:
    """The process-local cache both stores share."""

    def __init__(self) -> None:
        self._cache: dict[str, tuple[bytes | None, float]] = {}
        self._lock = threading.RLock()

    def key(self, user_id: str, *, create: bool = True) -> bytes | None:
        now = time.monotonic()
        with self._lock:
            hit = self._cache.get(user_id)
            if hit is not None and hit[0] is not None and now - hit[1] < CACHE_SECONDS:
                return hit[0]
            found = self._read(user_id)
            if found is None and create:
                found = self._create(user_id, os.urandom(KEY_BYTES))
            if found is not None:
                self._cache[user_id] = (found, now)
            else:
                self._cache.pop(user_id, None)
            return found

    def delete(self, user_id: str) -> bool:
        with self._lock:
            self._cache.pop(user_id, None)
            return self._delete(user_id)

    def forget_cached(self) -> None:
        with self._lock:
            self._cache.clear()

    def _read(self, user_id: str) -> bytes | None: ...
    def _create(self, user_id: str, key: bytes) -> bytes: ...
    def _delete(self, user_id: str) -> bool: ...


class SQLiteKeyStore(_Cached):
    def __init__(self, path: Path | str) -> None:
        super().__init__()
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, check_same_thread=False, timeout=30.0, isolation_level=None)
        self._db.execute("PRAGMA secure_delete=ON")
        self._db.execute("PRAGMA journal_mode=DELETE")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute("CREATE TABLE IF NOT EXISTS data_keys (user_id TEXT PRIMARY KEY, key BLOB NOT NULL,"
                         " created_at REAL NOT NULL)")

    def _read(self, user_id: str) -> bytes | None:
        row = self._db.execute("SELECT key FROM data_keys WHERE user_id = ?", (user_id,)).fetchone()
        return bytes(row[0]) if row else None

    def _create(self, user_id: str, key: bytes) -> bytes:
        self._db.execute("INSERT OR IGNORE INTO data_keys (user_id, key, created_at) VALUES (?, ?, ?)",
                         (user_id, key, time.time()))
        return self._read(user_id) or key  # another process may have won: use its key

    def _delete(self, user_id: str) -> bool:
        cur = self._db.execute("DELETE FROM data_keys WHERE user_id = ?", (user_id,))
        return cur.rowcount > 0

    def close(self) -> None:
        with self._lock:
            self._db.close()


class PostgresKeyStore(_Cached):
    """Keys in the event store's schema, through its datastore's connection pool."""

    TABLE = "memstream_data_keys"

    def __init__(self, datastore: Any) -> None:
        super().__init__()
        self.datastore = datastore
        self._created = False

    def _sql(self, statement: str, params: tuple = ()) -> list[tuple]:
        from psycopg.sql import SQL, Identifier

        with self.datastore.transaction(commit=True) as curs:
            if not self._created:
                curs.execute(SQL("CREATE TABLE IF NOT EXISTS {0}.{1} (user_id TEXT PRIMARY KEY, key BYTEA NOT NULL,"
                                 " created_at DOUBLE PRECISION NOT NULL)").format(
                    Identifier(self.datastore.schema), Identifier(self.TABLE)))
                self._created = True
            curs.execute(SQL(statement).format(Identifier(self.datastore.schema), Identifier(self.TABLE)), params)
            if curs.description is None:
                return [(curs.rowcount,)]
            return [tuple(r.values()) if isinstance(r, dict) else tuple(r) for r in curs.fetchall()]

    def _read(self, user_id: str) -> bytes | None:
        rows = self._sql("SELECT key FROM {0}.{1} WHERE user_id = %s", (user_id,))
        return bytes(rows[0][0]) if rows else None

    def _create(self, user_id: str, key: bytes) -> bytes:
        self._sql("INSERT INTO {0}.{1} (user_id, key, created_at) VALUES (%s, %s, %s) ON CONFLICT DO NOTHING",
                  (user_id, key, time.time()))
        return self._read(user_id) or key

    def _delete(self, user_id: str) -> bool:
        return bool(self._sql("DELETE FROM {0}.{1} WHERE user_id = %s", (user_id,))[0][0])

    def vacuum(self) -> None:
        """Reclaim the deleted key's dead row (a small table: cheap)."""
        import psycopg
        from psycopg.sql import SQL, Identifier

        with self.datastore.get_connection() as conn:
            conn.autocommit = True
            conn.execute(SQL("VACUUM {0}.{1}").format(Identifier(self.datastore.schema), Identifier(self.TABLE)))

    def close(self) -> None:
        pass
