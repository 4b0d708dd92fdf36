"""What adapters/ makes of eventsourcing's protected hooks, on real SQLite files.

tests/unit/test_eventsourcing_hooks.py checks the names and signatures; these check
the effect: every connection of a store opened with ``sync=...`` really has that
``PRAGMA synchronous``, and a batch save really records each of its positions, all or
none (the PostgreSQL side is held to the same in service_contract.py).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError, Tracking

from adapters.event_store import open_application

PRAGMA = {"normal": 1, "full": 2}


@pytest.mark.parametrize("mode", ["normal", "full"])
def test_every_connection_of_the_store_has_the_synchronous_mode(tmp_path: Path, mode: str) -> None:
    store = open_application(f"sqlite:///{tmp_path / 'events.sqlite'}", sync=mode)
    pool = store.factory.datastore.pool
    connections = [pool.get_connection() for _ in range(3)]  # held at once: three distinct connections
    try:
        assert len({id(c) for c in connections}) == 3
        values = [c._sqlite_conn.execute("PRAGMA synchronous").fetchone()[0] for c in connections]
        assert values == [PRAGMA[mode]] * 3, (
            f"PRAGMA synchronous is {values}, not {mode}: adapters/sqlite_sync.py's wrapper of "
            "SQLiteConnectionPool._create_connection no longer takes effect")
    finally:
        for connection in connections:
            pool.put_connection(connection)
        store.close()


def test_a_batch_save_records_each_of_its_positions(tmp_path: Path) -> None:
    store = open_application(f"sqlite:///{tmp_path / 'events.sqlite'}")
    try:
        saved = store.save_tracked([Aggregate(), Aggregate()],
                                   [Tracking("kafka:t:0", 8), Tracking("kafka:t:3", 3), Tracking("kafka:t:5", 1)])
        assert saved == 2
        assert [store.last_tracked(f"kafka:t:{p}") for p in (0, 3, 5)] == [8, 3, 1], (
            "a batch's further positions were not recorded: adapters/recorders.py's _insert_events "
            "override no longer sees more_tracking")
        head = store.head()
        # A batch whose second position was recorded before fails as a whole.
        with pytest.raises(IntegrityError):
            store.save_tracked([Aggregate()], [Tracking("kafka:t:1", 4), Tracking("kafka:t:3", 3)])
        assert store.head() == head and store.last_tracked("kafka:t:1") == 0
    finally:
        store.close()
