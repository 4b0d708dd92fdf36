"""Where the projections keep their state on SQLite: a file of their own.

Why it matters: one SQLite file admits one writer at a time, so with the stages and
the projections in separate processes, sharing the event store's file made each
queue behind the other (application/bootstrap.py::open_timeline).
"""

from __future__ import annotations

import sqlite3

from memstream.bootstrap import build_runtime
from application.settings import Settings
from streams.outbox import mark_published, outbox_position
from tests.integration.service_contract import V1, envelope


def _tables(path) -> set[str]:
    with sqlite3.connect(path) as db:
        return {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def test_timeline_and_positions_live_beside_the_event_store(tmp_path):
    runtime = build_runtime(Settings(data_dir=tmp_path, extractor="rules"), with_vectors=False)
    try:
        runtime.service.ingest(envelope(*V1))
        mark_published(runtime.timeline, 2)
        assert outbox_position(runtime.timeline) == 2
        assert runtime.timeline.position() > 0
    finally:
        runtime.close()
    events, projections = tmp_path / "events.sqlite", tmp_path / "events-projections.sqlite"
    assert {"timeline_versions", "timeline_current"} <= _tables(projections)
    assert not {"timeline_versions", "timeline_current"} & _tables(events)
    with sqlite3.connect(projections) as db:
        names = {r[0] for r in db.execute("SELECT application_name FROM tracking")}
    assert {"projection:timeline", "outbox:memory-events"} <= names
