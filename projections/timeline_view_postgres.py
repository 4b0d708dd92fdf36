"""The timeline view on PostgreSQL, in the event store's schema (projections/timeline_view.py);
imported only for a ``postgresql://`` event store: psycopg costs about 0.15 s of imports."""

from __future__ import annotations

from typing import Any, Sequence

from eventsourcing.persistence import Tracking
from eventsourcing.postgres import PostgresTrackingRecorder
from psycopg.sql import SQL, Identifier

from projections.timeline_view import _TABLES, TimelineView


class PostgresTimelineView(PostgresTrackingRecorder, TimelineView):
    placeholder = "%s"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        schema = self.datastore.schema
        for statement in _TABLES:
            qualified = statement.replace("TABLE IF NOT EXISTS timeline", "TABLE IF NOT EXISTS {0}.timeline")
            qualified = qualified.replace("ON timeline", "ON {0}.timeline")
            self.sql_create_statements.append(SQL(qualified).format(Identifier(schema)))

    def _execute(self, sql: str, params: Sequence[Any] = (), *, fetch: bool = True) -> list[tuple]:
        with self.datastore.transaction(commit=False) as c:
            self._set_path(c)
            c.execute(self._sql(sql), tuple(params))
            return [tuple(r.values()) if isinstance(r, dict) else tuple(r) for r in c.fetchall()] if fetch else []

    def _write_many(self, statements: list[tuple[str, list[Sequence[Any]]]], tracking: Tracking | None) -> None:
        with self.datastore.transaction(commit=True) as c:
            self._set_path(c)
            for sql, rows in statements:
                if rows:
                    c.executemany(self._sql(sql), rows)
            if tracking is not None:
                self._insert_tracking(c, tracking)

    def _set_path(self, c: Any) -> None:
        c.execute(SQL("SET LOCAL search_path TO {0}").format(Identifier(self.datastore.schema)))

    def _tracking_table(self) -> str:
        return self.tracking_table_name
