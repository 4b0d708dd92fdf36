"""The version-timeline view: every version of every memory, and the current one.

It lives in the event store's own database (SQLite file or PostgreSQL schema) and
is written by eventsourcing *tracking recorders*: the rows of a batch and the
notification position they came from commit in one transaction, so each event is
applied exactly once even across crashes. ``history`` and ``memories`` read it.
"""

from __future__ import annotations

import json
from abc import abstractmethod
from typing import Any, Iterable, Sequence

from eventsourcing.persistence import Tracking, TrackingRecorder
from eventsourcing.sqlite import SQLiteTrackingRecorder

TRACKING_NAME = "projection:timeline"


class TimelineView(TrackingRecorder):
    """Reads and batch writes of the timeline tables; SQL dialects subclass it."""

    placeholder = "?"

    @abstractmethod
    def _execute(self, sql: str, params: Sequence[Any] = (), *, fetch: bool = True) -> list[tuple]: ...

    def _write(self, statements: list[tuple[str, Sequence[Any]]], tracking: Tracking | None) -> None:
        self._write_many([(sql, [params]) for sql, params in statements], tracking)

    @abstractmethod
    def _write_many(self, statements: list[tuple[str, list[Sequence[Any]]]], tracking: Tracking | None) -> None:
        """Each statement run once per parameter row, all in one transaction with ``tracking``."""

    def _sql(self, sql: str) -> str:
        return sql.replace("?", self.placeholder)

    def apply(self, views: Iterable[dict[str, Any]], tracking: Tracking) -> list[str]:
        """Record new versions and the latest state of each memory, with the position,
        in one transaction (two statements, each run over all rows). Returns each
        view's JSON, in order."""
        versions: list[tuple[Any, ...]] = []
        current: list[tuple[Any, ...]] = []
        blobs: list[str] = []
        for view in views:
            if _forgotten(view):
                view["status"] = "archived"  # in place: the projections that follow read this view too
            blob = json.dumps(view, ensure_ascii=False, default=str)
            blobs.append(blob)
            versions.append((view["memory_id"], view["version"], view["user_id"], blob))
            current.append((view["memory_id"], view["user_id"], view["kind"], view["status"],
                            view["version"], view["updated_at"], blob))
        self._write_many([
            ("INSERT INTO timeline_versions (memory_id, version, user_id, view) "
             "VALUES (?, ?, ?, ?) ON CONFLICT (memory_id, version) DO NOTHING", versions),
            ("INSERT INTO timeline_current "
             "(memory_id, user_id, kind, status, version, updated_at, view) "
             "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (memory_id) DO UPDATE SET "
             "kind = excluded.kind, status = excluded.status, version = excluded.version, "
             "updated_at = excluded.updated_at, view = excluded.view "
             "WHERE timeline_current.version < excluded.version", current),
        ], tracking)
        return blobs

    def position(self) -> int:
        return self.max_tracking_id(TRACKING_NAME) or 0

    def replace_memories(self, memory_ids: Sequence[str], views: Iterable[dict[str, Any]]) -> None:
        """Forgetting: drop every row of these memories and record ``views`` (their versions
        as the event log now folds them, without content) instead, in one transaction.
        With ``secure_delete`` on (adapters/event_store.py) the dropped rows' bytes are zeroed."""
        ids = [[str(m)] for m in memory_ids]
        views = list(views)
        for view in views:
            if _forgotten(view):
                view["status"] = "archived"
        versions = [(v["memory_id"], v["version"], v["user_id"], json.dumps(v, ensure_ascii=False, default=str))
                    for v in views]
        latest: dict[str, tuple[Any, ...]] = {}
        for view, (_, _, _, blob) in zip(views, versions):
            if view["memory_id"] not in latest or latest[view["memory_id"]][4] < view["version"]:
                latest[view["memory_id"]] = (view["memory_id"], view["user_id"], view["kind"], view["status"],
                                             view["version"], view["updated_at"], blob)
        self._write_many([
            ("DELETE FROM timeline_versions WHERE memory_id = ?", ids),
            ("DELETE FROM timeline_current WHERE memory_id = ?", ids),
            ("INSERT INTO timeline_versions (memory_id, version, user_id, view) VALUES (?, ?, ?, ?)", versions),
            ("INSERT INTO timeline_current (memory_id, user_id, kind, status, version, updated_at, view) "
             "VALUES (?, ?, ?, ?, ?, ?, ?)", list(latest.values())),
        ], None)

    def current(self, memory_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        ids = list(dict.fromkeys(memory_ids))
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            rows = self._execute(
                f"SELECT memory_id, view FROM timeline_current WHERE memory_id IN ({marks})", chunk
            )
            found.update({r[0]: json.loads(r[1]) for r in rows})
        return found

    def history(self, memory_id: str) -> list[dict[str, Any]]:
        rows = self._execute(
            "SELECT view FROM timeline_versions WHERE memory_id = ? ORDER BY version", (memory_id,)
        )
        return [json.loads(r[0]) for r in rows]

    def version(self, memory_id: str, version: int) -> dict[str, Any] | None:
        rows = self._execute(
            "SELECT view FROM timeline_versions WHERE memory_id = ? AND version = ?",
            (memory_id, version),
        )
        return json.loads(rows[0][0]) if rows else None

    def versions(self, pairs: Sequence[tuple[str, int]]) -> dict[tuple[str, int], dict[str, Any]]:
        """Several (memory_id, version) views at once, keyed by that pair."""
        found: dict[tuple[str, int], dict[str, Any]] = {}
        wanted = set(pairs)
        ids = list(dict.fromkeys(mid for mid, _ in pairs))
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            rows = self._execute(
                f"SELECT memory_id, version, view FROM timeline_versions WHERE memory_id IN ({marks})", chunk
            )
            for mid, version, blob in rows:
                if (mid, version) in wanted:
                    found[(mid, version)] = json.loads(blob)
        return found

    def memories(
        self, user_id: str, include_archived: bool = False, kinds: Sequence[str] = ()
    ) -> list[dict[str, Any]]:
        sql = "SELECT view FROM timeline_current WHERE user_id = ?"
        params: list[Any] = [user_id]
        if not include_archived:
            sql += " AND status = 'active'"
        if kinds:
            sql += f" AND kind IN ({','.join('?' * len(kinds))})"
            params += list(kinds)
        rows = self._execute(sql + " ORDER BY updated_at, memory_id", params)
        return [json.loads(r[0]) for r in rows]

    def find_by_prefix(self, prefix: str, user_id: str | None = None) -> list[str]:
        """Memory IDs starting with ``prefix`` (at most 5), of ``user_id`` when given.

        A prefix is hex digits and dashes, at least ``MIN_PREFIX`` of them: a one-character
        prefix, or LIKE's own ``%`` and ``_``, would enumerate other users' memories.
        """
        prefix = prefix.strip().lower()
        if len(prefix) < MIN_PREFIX or not set(prefix) <= _ID_CHARS:
            raise ValueError(f"a memory id prefix is at least {MIN_PREFIX} hex digits (0-9, a-f, -)")
        sql, params = "SELECT memory_id FROM timeline_current WHERE memory_id LIKE ?", [prefix + "%"]
        if user_id is not None:
            sql += " AND user_id = ?"
            params.append(user_id)
        return [r[0] for r in self._execute(sql + " ORDER BY memory_id LIMIT 5", params)]

    def memory_ids(self, user_id: str) -> list[str]:
        """Every Memory ID the user ever had, archived ones included (time travel)."""
        rows = self._execute("SELECT memory_id FROM timeline_current WHERE user_id = ? ORDER BY memory_id",
                             (user_id,))
        return [r[0] for r in rows]

    def users(self) -> list[str]:
        """Every user with a memory (reprocessing's compare)."""
        return [r[0] for r in self._execute("SELECT DISTINCT user_id FROM timeline_current ORDER BY user_id")]

    def users_with_prefix(self, prefix: str) -> list[str]:
        """The users whose id starts with ``prefix`` (the knowledge bases' spaces), by the user index."""
        upper = prefix[:-1] + chr(ord(prefix[-1]) + 1)
        rows = self._execute("SELECT DISTINCT user_id FROM timeline_current WHERE user_id >= ? AND user_id < ?"
                             " ORDER BY user_id", (prefix, upper))
        return [r[0] for r in rows]

    def owner(self, memory_id: str) -> str | None:
        rows = self._execute("SELECT user_id FROM timeline_current WHERE memory_id = ?", (memory_id,))
        return rows[0][0] if rows else None

    def counts(self) -> dict[str, int]:
        versions = self._execute("SELECT COUNT(*) FROM timeline_versions")[0][0]
        current = self._execute("SELECT COUNT(*) FROM timeline_current")[0][0]
        return {"versions": versions, "memories": current}

    def clear(self) -> None:
        """Forget everything, position included: the next catch-up rebuilds from event 1."""
        self._write(
            [
                ("DELETE FROM timeline_versions", ()),
                ("DELETE FROM timeline_current", ()),
                (f"DELETE FROM {self._tracking_table()} WHERE application_name = ?", (TRACKING_NAME,)),
            ],
            None,
        )

    def reset_position(self, name: str) -> None:
        """Forget another projection's position (kept in this database's tracking table)."""
        self._write(
            [(f"DELETE FROM {self._tracking_table()} WHERE application_name = ?", (name,))], None
        )

    def advance(self, name: str, notification_id: int) -> None:
        """Record another projection's position, ignoring one that is not ahead."""
        if (self.max_tracking_id(name) or 0) < notification_id:
            self.insert_tracking(Tracking(name, notification_id))

    def meta(self, name: str) -> str | None:
        """A projection's note about itself (e.g. which model made the vector index)."""
        rows = self._execute("SELECT value FROM timeline_meta WHERE name = ?", (name,))
        return rows[0][0] if rows else None

    def set_meta(self, name: str, value: str) -> None:
        self._write([("INSERT INTO timeline_meta (name, value) VALUES (?, ?)"
                      " ON CONFLICT (name) DO UPDATE SET value = excluded.value", (name, value))], None)

    @abstractmethod
    def _tracking_table(self) -> str: ...


def _forgotten(view: dict[str, Any]) -> bool:
    """Folded from events whose content was forgotten (adapters/encryption.py placeholders):
    such a version is recorded archived, so it is never current and never indexed."""
    return (view.get("attributes") or {}).get("forgotten") is True and not view.get("content")


MIN_PREFIX = 4
_ID_CHARS = frozenset("0123456789abcdef-")

_TABLES = [
    "CREATE TABLE IF NOT EXISTS timeline_versions (memory_id TEXT NOT NULL, version INTEGER NOT NULL,"
    " user_id TEXT NOT NULL, view TEXT NOT NULL, PRIMARY KEY (memory_id, version))",
    "CREATE TABLE IF NOT EXISTS timeline_current (memory_id TEXT PRIMARY KEY, user_id TEXT NOT NULL,"
    " kind TEXT NOT NULL, status TEXT NOT NULL, version INTEGER NOT NULL, updated_at TEXT NOT NULL,"
    " view TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS timeline_current_user ON timeline_current (user_id, status)",
    "CREATE TABLE IF NOT EXISTS timeline_meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)",
]


class SQLiteTimelineView(SQLiteTrackingRecorder, TimelineView):
    def construct_create_table_statements(self) -> list[str]:
        return super().construct_create_table_statements() + list(_TABLES)

    def _execute(self, sql: str, params: Sequence[Any] = (), *, fetch: bool = True) -> list[tuple]:
        with self.datastore.transaction(commit=False) as c:
            c.execute(sql, tuple(params))
            return [tuple(r) for r in c.fetchall()] if fetch else []

    def _write_many(self, statements: list[tuple[str, list[Sequence[Any]]]], tracking: Tracking | None) -> None:
        with self.datastore.transaction(commit=True) as c:
            for sql, rows in statements:
                if rows:
                    c.executemany(sql, rows)
            if tracking is not None:
                self._insert_tracking(c, tracking)

    def _tracking_table(self) -> str:
        return "tracking"


def __getattr__(name: str) -> Any:
    """``PostgresTimelineView`` lives in projections/timeline_view_postgres.py (psycopg only when used)."""
    if name == "PostgresTimelineView":
        from projections.timeline_view_postgres import PostgresTimelineView

        return PostgresTimelineView
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
