"""Which SQLite files fsync at every commit, and that skipping it survives a killed process.

Why: the projections file commits without the fsync (derived rows, positions in the
same transaction) and the event store may be told to (MEMSTREAM_EVENT_STORE_SYNC).
That is only safe if a process killed right after its commits loses none of them.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
from pathlib import Path
from types import SimpleNamespace

import pytest
from pydantic import ValidationError

from memstream.bootstrap import build_runtime
from application.settings import Settings
from adapters.sqlite_sync import use_synchronous
from adapters.event_store import open_application
from application.memory_app import MemoryApplication
from tests.conftest import REPO

FULL, NORMAL = 2, 1  # PRAGMA synchronous values

SAVE_THEN_DIE = textwrap.dedent(
    """
    import os, signal, sys
    from eventsourcing.domain import Aggregate
    from eventsourcing.persistence import Tracking
    from adapters.event_store import open_application

    store = open_application(f"sqlite:///{sys.argv[1]}", sync="normal")
    for offset in range(int(sys.argv[2])):
        store.save_tracked([Aggregate()], Tracking("kafka:probe[0]", offset + 1))
    print("saved", flush=True)
    os.kill(os.getpid(), signal.SIGKILL)
    """
)


def synchronous(datastore) -> int:
    with datastore.transaction(commit=False) as cursor:
        cursor.execute("PRAGMA synchronous")
        return int(cursor.fetchone()[0])


@pytest.mark.parametrize(("mode", "events_expected"), [("full", FULL), ("normal", NORMAL)])
def test_event_store_follows_the_setting_and_projections_skip_the_fsync(
        tmp_path: Path, mode: str, events_expected: int) -> None:
    runtime = build_runtime(Settings(data_dir=tmp_path, event_store_sync=mode), with_vectors=False)
    try:
        assert synchronous(runtime.store.factory.datastore) == events_expected
        assert synchronous(runtime.timeline.datastore) == NORMAL
    finally:
        runtime.close()


def test_the_event_store_fsyncs_every_commit_by_default(tmp_path: Path) -> None:
    assert Settings().event_store_sync == "full"
    store = open_application(f"sqlite:///{tmp_path / 'events.sqlite'}")
    try:
        assert synchronous(store.factory.datastore) == FULL
    finally:
        store.close()


def test_an_unknown_mode_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEMSTREAM_EVENT_STORE_SYNC", "off")
    with pytest.raises(ValidationError, match="event_store_sync"):
        Settings()
    with pytest.raises(ValueError, match="choose one of full, normal"):
        use_synchronous(object(), "off")


def test_other_datastores_are_left_alone() -> None:
    class Pool:
        def _create_connection(self) -> str:
            return "a PostgreSQL connection"

    class PostgresLikeFactory:
        datastore = SimpleNamespace(pool=Pool())

    factory = PostgresLikeFactory()
    use_synchronous(factory, "normal")
    assert "_create_connection" not in vars(factory.datastore.pool)  # not wrapped
    assert factory.datastore.pool._create_connection() == "a PostgreSQL connection"
    popo = MemoryApplication(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    use_synchronous(popo.factory, "normal")  # no datastore at all: no error
    assert not hasattr(popo.factory, "datastore")


def test_commits_without_fsync_survive_a_killed_process(tmp_path: Path) -> None:
    path = tmp_path / "events.sqlite"
    proc = subprocess.run([sys.executable, "-c", SAVE_THEN_DIE, str(path), "200"], cwd=REPO,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == -signal.SIGKILL, proc.stderr[-2000:]
    assert proc.stdout.strip() == "saved"
    store = open_application(f"sqlite:///{path}")
    try:
        assert store.recorder.max_notification_id() == 200
        assert store.last_tracked("kafka:probe[0]") == 200
    finally:
        store.close()
