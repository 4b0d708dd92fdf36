"""The event-sourced application: one event store for memories, raw input and directories.

Configured from an event-store URL so the same code runs on the embedded SQLite
file and on PostgreSQL. It uses a *process* recorder, which can write a Kafka
``Tracking`` position in the same transaction as the resulting domain events:
that is how a redelivered record is recognised and skipped (exactly-once effect
without Kafka transactions).
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Any, Callable, Sequence, TypeVar
from urllib.parse import parse_qs, unquote, urlparse

from eventsourcing.application import Application, ProcessingEvent
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import (
    InfrastructureFactory, IntegrityError, OperationalError, ProcessRecorder, Tracking,
)
from eventsourcing.utils import Environment

from application.gc_pause import collections_postponed
from application.recorders import MORE_TRACKING
from application.sqlite_sync import use_synchronous
from domain.raw_input import UserDirectory


SYNC_ENV_KEY = "SQLITE_SYNCHRONOUS"  # eventsourcing passes its environment to construct_factory


class EventStoreURLError(ValueError):
    pass


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
            "PERSISTENCE_MODULE": "eventsourcing.sqlite",
            "SQLITE_DBNAME": path,
            "SQLITE_LOCK_TIMEOUT": "30",
            "SINGLE_ROW_TRACKING": "y",
            "PROCESS_RECORDER_TOPIC": "application.recorders:SQLiteBatchProcessRecorder",
        }
    if parsed.scheme in ("postgresql", "postgres"):
        query = parse_qs(parsed.query)
        env = {
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "POSTGRES_DBNAME": parsed.path.lstrip("/") or "postgres",
            "POSTGRES_HOST": parsed.hostname or "127.0.0.1",
            "POSTGRES_PORT": str(parsed.port or 5432),
            "POSTGRES_USER": unquote(parsed.username or "postgres"),
            "POSTGRES_PASSWORD": unquote(parsed.password or ""),
            "SINGLE_ROW_TRACKING": "y",
            "POSTGRES_POOL_SIZE": "4",
            "PROCESS_RECORDER_TOPIC": "application.recorders:PostgresBatchProcessRecorder",
        }
        if "schema" in query:
            env["POSTGRES_SCHEMA"] = query["schema"][0]
        return env
    raise EventStoreURLError(
        f"unsupported event store URL {url!r}: use sqlite:///PATH or postgresql://USER@HOST:PORT/DB"
    )


class MemoryStore(Application):
    """Memories, raw input and user directories, all in one notification log."""

    name = "MemoryStore"
    env = {"AGGREGATE_CACHE_MAXSIZE": "20000"}
    snapshotting_intervals = {UserDirectory: 100}

    def construct_factory(self, env: Environment) -> InfrastructureFactory:
        factory = super().construct_factory(env)
        use_synchronous(factory, env.get(SYNC_ENV_KEY) or "full")
        return factory

    def construct_recorder(self) -> ProcessRecorder:
        return self.factory.process_recorder()

    @property
    def process_recorder(self) -> ProcessRecorder:
        recorder = self.recorder
        assert isinstance(recorder, ProcessRecorder)
        return recorder

    def save_tracked(self, aggregates: list[Aggregate], tracking: Tracking | Sequence[Tracking] | None) -> int:
        """Save every pending event of ``aggregates`` and the tracking position(s) atomically.

        Several positions (one per partition of a batch) are written in the same
        transaction (application/recorders.py). Raises eventsourcing's IntegrityError
        on an optimistic-concurrency conflict or when a position was already recorded
        (a redelivery).
        """
        positions = [] if tracking is None else [tracking] if isinstance(tracking, Tracking) else list(tracking)
        processing_event: ProcessingEvent = ProcessingEvent(tracking=positions[0] if positions else None)
        processing_event.collect_events(*aggregates, **{MORE_TRACKING: positions[1:]})
        if not processing_event.events:
            for position in positions:
                self.track_only(position)
            return 0
        with collections_postponed():
            recordings = self._record(processing_event)
        self._take_snapshots(processing_event)
        return len(recordings)

    def is_tracked(self, tracking: Tracking | None) -> bool:
        """True when this Kafka position (or a later one) was already applied."""
        if tracking is None:
            return False
        return self.process_recorder.has_tracking_id(
            tracking.application_name, tracking.notification_id
        )

    def track_only(self, tracking: Tracking) -> None:
        """Record a position that produced no events (dead letter, duplicate)."""
        if not self.is_tracked(tracking):
            self.process_recorder.insert_tracking(tracking)


def open_store(url: str, extra_env: dict[str, Any] | None = None, sync: str = "full") -> MemoryStore:
    """The event store at ``url``; ``sync``: see ``application.sqlite_sync`` (SQLite only)."""
    env = persistence_env(url)
    env[SYNC_ENV_KEY] = sync
    env.update({k: str(v) for k, v in (extra_env or {}).items()})
    return creating_tables(lambda: MemoryStore(env=env))


T = TypeVar("T")


def creating_tables(open_: Callable[[], T], attempts: int = 5) -> T:
    """Open something that creates its tables, tolerating another process doing the same.

    Why: eventsourcing's SQLite recorder checks whether the tracking table exists,
    then creates it and inserts its ``__migration__`` marker in a second step. Two
    workers started together on a fresh file both see "no table", and the later
    one's marker insert fails although the table is now exactly as it wants it.
    Opening again sees the table and skips the marker. (Seen once in 50 starts of
    four processes: switching a fresh file to WAL mode reported "database is
    locked"; that, too, is over by a later attempt. eventsourcing raises that one
    as sqlite3's own error, untranslated: it comes from its connection set-up.)
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


def kafka_tracking(topic: str, partition: int, offset: int) -> Tracking:
    """Tracking names one partition; ids are offset + 1 so offset 0 is trackable."""
    return Tracking(application_name=f"kafka:{topic}:{partition}", notification_id=offset + 1)
