"""Several workers opening one fresh SQLite event store at once all start.

Why: a compose file or a supervisor starts the Fast, Fine and projection workers
together; eventsourcing's table creation is check-then-create, and before
``creating_tables`` one of them could die with "Failed to record tracking for
__migration__ 1".
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap

import pytest
from eventsourcing.persistence import IntegrityError, OperationalError

from adapters.event_store import creating_tables, open_application
from tests.conftest import REPO

OPEN_RUNTIME = textwrap.dedent(
    """
    import sys
    from memstream.bootstrap import build_runtime
    from application.settings import Settings
    runtime = build_runtime(Settings(data_dir=sys.argv[1]), sync_projections=False, with_vectors=False)
    runtime.close()
    print("opened")
    """
)


def test_a_lost_table_creation_race_is_retried() -> None:
    calls = []

    def open_once_raced() -> str:
        calls.append(1)
        if len(calls) == 1:
            raise IntegrityError("Failed to record tracking for __migration__ 1")
        return "store"

    assert creating_tables(open_once_raced) == "store"
    assert len(calls) == 2


def test_a_locked_fresh_file_is_retried() -> None:
    """sqlite3's own error: eventsourcing does not translate its connection set-up."""
    calls = []

    def open_while_locked() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise sqlite3.OperationalError("database is locked")
        return "store"

    assert creating_tables(open_while_locked) == "store"
    assert len(calls) == 3


def test_other_integrity_errors_are_not_retried() -> None:
    calls = []

    def conflict() -> None:
        calls.append(1)
        raise IntegrityError("UNIQUE constraint failed: stored_events")

    with pytest.raises(IntegrityError):
        creating_tables(conflict)
    assert len(calls) == 1


def test_a_race_that_persists_is_reported() -> None:
    def always_locked() -> None:
        raise OperationalError("database is locked")

    with pytest.raises(OperationalError, match="locked"):
        creating_tables(always_locked, attempts=2)


@pytest.mark.parametrize("round_", range(3))
def test_four_processes_open_a_fresh_store_together(tmp_path, round_: int) -> None:
    data_dir = tmp_path / "data"
    procs = [
        subprocess.Popen([sys.executable, "-c", OPEN_RUNTIME, str(data_dir)], cwd=REPO,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(4)
    ]
    outcomes = [p.communicate(timeout=120) for p in procs]
    for proc, (out, err) in zip(procs, outcomes):
        assert proc.returncode == 0, err[-2000:]
        assert out.strip() == "opened"
    store = open_application(f"sqlite:///{data_dir / 'events.sqlite'}")
    try:
        assert store.last_tracked("__migration__") == 1
    finally:
        store.close()
