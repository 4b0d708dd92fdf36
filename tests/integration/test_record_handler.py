"""The Fast stage's batches, on a real SQLite event store, without a broker.

A batch from Faust spans several partitions. It is recorded in one transaction
with one position per partition; a partition holding a redelivered record takes
the careful one-by-one path while the others still batch; results come back in
the order the records arrived. (The broker-level behaviour is in test_streaming.py.)
"""

from __future__ import annotations

import json

import pytest

from memstream.bootstrap import build_runtime
from application.settings import Settings
from application.memory_app import kafka_tracking
from streams.handlers import Record, RecordHandler

TOPIC = "memstream.messages"


def record(partition: int, offset: int, user: str, text: str = "今天去了公园") -> Record:
    value = json.dumps({"event_id": f"ev-{partition}-{offset}", "user_id": user, "messages": [
        {"role": "user", "content": text, "chat_time": "2026-11-20T10:00:00+00:00"}]}).encode()
    return Record(TOPIC, partition, offset, user.encode(), value)


class CountingInserts:
    """Wraps the recorder's insert_events on one store: how many write transactions."""

    def __init__(self, recorder) -> None:
        self.calls = 0
        self._insert = recorder.insert_events
        recorder.insert_events = self

    def __call__(self, *args, **kwargs):
        self.calls += 1
        return self._insert(*args, **kwargs)


@pytest.fixture
def handler(tmp_path):
    settings = Settings(data_dir=tmp_path / "data", extractor="rules")
    runtime = build_runtime(settings, with_vectors=False, sync_projections=False)
    yield RecordHandler(runtime.service, settings)
    runtime.close()


def test_records_of_three_partitions_are_one_transaction(handler):
    inserts = CountingInserts(handler.store.recorder)
    records = [record(0, 0, "ann"), record(1, 0, "bob"), record(0, 1, "ann"), record(2, 0, "cid")]
    handled = handler.on_messages(records)
    assert [h.status for h in handled] == ["processed"] * 4
    assert inserts.calls == 1
    for partition, last in ((0, 1), (1, 0), (2, 0)):
        assert handler.store.is_tracked(kafka_tracking(TOPIC, partition, last))
        assert not handler.store.is_tracked(kafka_tracking(TOPIC, partition, last + 1))
    # Each hand-off to the Fine stage answers its own record, in the order they came.
    assert [json.loads(h.outgoing[0].value)["event_id"] for h in handled] == [
        "ev-0-0", "ev-1-0", "ev-0-1", "ev-2-0"]


def test_an_invalid_record_at_an_offset_another_partition_also_has(handler):
    bad = Record(TOPIC, 1, 0, b"bob", b"{not json")
    handled = handler.on_messages([record(0, 0, "ann"), bad, record(2, 0, "cid")])
    assert [h.status for h in handled] == ["processed", "dead_letter", "processed"]
    letter = json.loads(handled[1].outgoing[0].value)
    assert (letter["partition"], letter["offset"], letter["error_type"]) == (1, 0, "invalid_record")
    assert handler.store.is_tracked(kafka_tracking(TOPIC, 1, 0))


def test_a_redelivered_partition_goes_one_by_one_and_the_rest_still_batch(handler):
    handler.on_messages([record(0, 0, "ann"), record(0, 1, "ann")])
    inserts = CountingInserts(handler.store.recorder)
    again = [record(0, 1, "ann"), record(0, 2, "ann")]  # offset 1 was applied before the crash
    handled = handler.on_messages([*again, record(1, 0, "bob"), record(3, 0, "dan")])
    assert [h.status for h in handled] == ["duplicate", "processed", "processed", "processed"]
    assert inserts.calls == 2  # offset 2 of partition 0 alone, then partitions 1 and 3 together
    assert handler.store.is_tracked(kafka_tracking(TOPIC, 0, 2))


def test_a_batch_with_an_event_recorded_before_falls_back_and_loses_nothing(handler):
    handler.on_messages([record(0, 0, "ann")])
    republished = Record(TOPIC, 2, 5, b"ann", record(0, 0, "ann").value)  # same event_id, new position
    handled = handler.on_messages([republished, record(1, 0, "bob")])
    assert [h.status for h in handled] == ["duplicate", "processed"]
    assert handler.store.is_tracked(kafka_tracking(TOPIC, 2, 5))
    assert handler.store.is_tracked(kafka_tracking(TOPIC, 1, 0))
