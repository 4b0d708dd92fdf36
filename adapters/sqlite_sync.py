"""When a SQLite commit waits for the disk: the event store at every commit, derived files not.

Why: in WAL mode SQLite's default (``synchronous=FULL``) fsyncs the WAL at every
commit. The Fast and Fine stages and the projections commit many small
transactions each second, and under load each fsync waited behind the others'
writes. On the broker benchmark (200 msg/s, three worker processes), with both
files committing without the fsync, searchable p50 went from 54-91 to 35-38 ms in
interleaved runs; the projections file alone gained less (docs/benchmarks.md).

``synchronous=NORMAL`` in WAL mode still survives the process dying, SIGKILL
included: the WAL lives in the OS page cache and the next open replays it. Only an
OS crash or a power cut can roll back the last commits (the file stays consistent).

- The projections file holds only what is derived from the event store, with each
  projection's position in the same transaction as its rows. A rolled-back tail
  takes its position with it and is projected again from the event log, so it
  always commits without the fsync.
- The event store is the system of record. Faust commits a record's Kafka offset
  once the store has committed the record's events, so a rolled-back commit would
  lose that input. It keeps ``full`` unless ``MEMSTREAM_EVENT_STORE_SYNC=normal``
  trades that for latency.
"""

from __future__ import annotations

from typing import Any

SYNC_MODES = ("full", "normal")


def use_synchronous(factory: Any, mode: str) -> None:
    """Make every connection ``factory``'s SQLite datastore opens use ``mode``.

    Set even for ``full``, the usual default, so the setting holds whatever default
    the SQLite build has. A no-op for other datastores (PostgreSQL). Call it before
    the factory's first recorder: the pool opens connections lazily, and the setting
    is per connection.
    """
    if mode not in SYNC_MODES:
        raise ValueError(f"SQLite synchronous mode {mode!r}: choose one of {', '.join(SYNC_MODES)}")
    from eventsourcing.sqlite import SQLiteDatastore

    datastore = getattr(factory, "datastore", None)
    if not isinstance(datastore, SQLiteDatastore):
        return
    pool = datastore.pool
    create = pool._create_connection

    def create_with_mode() -> Any:
        connection = create()
        connection._sqlite_conn.execute(f"PRAGMA synchronous={mode.upper()}")
        return connection

    pool._create_connection = create_with_mode  # type: ignore[method-assign]
