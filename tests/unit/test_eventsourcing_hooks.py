"""Loud checks of eventsourcing's protected names that adapters/ relies on.

eventsourcing has no public hook for writing several Kafka positions with the
events, nor for setting up each SQLite connection, so adapters/recorders.py
overrides ``_insert_events``/``_insert_tracking`` and adapters/sqlite_sync.py
wraps ``SQLiteConnectionPool._create_connection``. A library upgrade that renames
or reshapes them would otherwise break batching or commit durability silently;
these tests name what changed. The behaviour on real SQLite files (the pragma on
every connection, both positions of a batch recorded) is in
tests/integration/test_eventsourcing_hooks.py.
"""

from __future__ import annotations

import inspect
from typing import Any, Callable

import eventsourcing
import pytest
from eventsourcing.application import ProcessingEvent
from eventsourcing.persistence import Tracking
from eventsourcing.postgres import PostgresProcessRecorder
from eventsourcing.sqlite import SQLiteConnectionPool, SQLiteDatastore, SQLiteProcessRecorder

from adapters.recorders import PostgresBatchProcessRecorder, SQLiteBatchProcessRecorder
from application.memory_app import MORE_TRACKING

VERSION = getattr(eventsourcing, "__version__", "?")
TRACKING = Tracking("kafka:t:0", 1)


def hook(cls: type, name: str) -> Callable[..., Any]:
    found = getattr(cls, name, None)
    if not callable(found):
        pytest.fail(f"eventsourcing {VERSION}: {cls.__name__}.{name} is gone; adapters/ overrides or wraps it "
                    f"(see adapters/recorders.py and adapters/sqlite_sync.py) and must be rewritten")
    return found


def callable_as(cls: type, name: str, *args: Any, **kwargs: Any) -> inspect.BoundArguments:
    """Bind the call adapters/ makes; fail loudly when the library's signature no longer takes it."""
    method = hook(cls, name)
    signature = inspect.signature(method)
    try:
        return signature.bind(None, *args, **kwargs)
    except TypeError as exc:
        pytest.fail(f"eventsourcing {VERSION}: {cls.__name__}.{name}{signature} no longer takes the call "
                    f"adapters/recorders.py makes ({exc})")


@pytest.mark.parametrize("recorder", [SQLiteProcessRecorder, PostgresProcessRecorder])
def test_insert_events_takes_the_cursor_the_events_and_keyword_arguments(recorder: type) -> None:
    bound = callable_as(recorder, "_insert_events", object(), [], tracking=TRACKING, **{MORE_TRACKING: [TRACKING]})
    kwargs = next((bound.arguments[p.name] for p in bound.signature.parameters.values()
                   if p.kind is p.VAR_KEYWORD), None)
    assert kwargs is not None and kwargs.get(MORE_TRACKING) == [TRACKING], (
        f"eventsourcing {VERSION}: {recorder.__name__}._insert_events no longer passes on **kwargs, "
        f"so the batch's further positions ({MORE_TRACKING!r}) would not reach adapters/recorders.py")


def test_insert_tracking_takes_the_cursor_and_one_position() -> None:
    callable_as(SQLiteProcessRecorder, "_insert_tracking", object(), TRACKING)  # positional, as recorders.py
    callable_as(PostgresProcessRecorder, "_insert_tracking", object(), tracking=TRACKING)  # by keyword


def test_the_batch_recorders_override_the_hooks_of_the_recorders_they_extend() -> None:
    assert issubclass(SQLiteBatchProcessRecorder, SQLiteProcessRecorder)
    assert issubclass(PostgresBatchProcessRecorder, PostgresProcessRecorder)
    assert "_insert_events" in vars(SQLiteBatchProcessRecorder) and "_insert_events" in vars(PostgresBatchProcessRecorder)


def test_processing_events_hand_extra_keywords_to_the_recorder() -> None:
    """MemoryApplication.save_tracked passes the batch's positions through collect_events."""
    event = ProcessingEvent(tracking=TRACKING)
    event.collect_events(**{MORE_TRACKING: [TRACKING]})
    saved = getattr(event, "saved_kwargs", None)
    assert saved == {MORE_TRACKING: [TRACKING]}, (
        f"eventsourcing {VERSION}: ProcessingEvent.collect_events(**kwargs) no longer keeps them in "
        f"saved_kwargs for the recorder (got {saved!r}); save_tracked's further positions would be dropped")


def test_the_sqlite_pool_creates_connections_holding_an_sqlite3_connection() -> None:
    datastore = SQLiteDatastore(db_name=":memory:")
    assert isinstance(getattr(datastore, "pool", None), SQLiteConnectionPool), (
        f"eventsourcing {VERSION}: SQLiteDatastore.pool is no SQLiteConnectionPool; adapters/sqlite_sync.py wraps it")
    create = hook(SQLiteConnectionPool, "_create_connection")
    assert not inspect.signature(create).parameters.keys() - {"self"}, (
        f"eventsourcing {VERSION}: SQLiteConnectionPool._create_connection{inspect.signature(create)} takes "
        "arguments now; adapters/sqlite_sync.py calls it with none")
    connection = datastore.pool._create_connection()
    try:
        raw = getattr(connection, "_sqlite_conn", None)
        assert raw is not None, (f"eventsourcing {VERSION}: SQLite connections have no _sqlite_conn; "
                                 "adapters/sqlite_sync.py sets PRAGMA synchronous through it")
        assert raw.execute("PRAGMA synchronous").fetchone()[0] in (0, 1, 2, 3)
    finally:
        connection.close()
