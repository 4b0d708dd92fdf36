"""The Fast and Fine stages' batches, on a real SQLite event store, without a broker.

A batch from Faust spans several partitions. It is recorded in one transaction
with one position per partition; a partition holding a redelivered record takes
the careful one-by-one path while the others still batch; results come back in
the order the records arrived. (The broker-level behaviour is in test_streaming.py.)
"""

from __future__ import annotations

import json

import pytest

from application.bootstrap import build_runtime
from application.settings import Settings
from application.store import kafka_tracking
from domain.raw_input import raw_input_id
from streams.handlers import Record, RecordHandler

TOPIC = "memstream.messages"
FINE = "memstream.fine"


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


def handoffs(handler, records: list[Record]) -> list[Record]:
    """The Fast stage's hand-offs for ``records``, as the Fine topic would deliver them
    (same partition as the message, offsets counted per partition)."""
    handled = handler.on_messages(records)
    next_offset: dict[int, int] = {}
    out = []
    for r, h in zip(records, handled):
        offset = next_offset.get(r.partition, 0)
        next_offset[r.partition] = offset + 1
        out.append(Record(FINE, r.partition, offset, r.key, h.outgoing[0].value))
    return out


def test_fine_hand_offs_of_three_partitions_are_one_transaction(handler):
    fines = handoffs(handler, [record(0, 0, "ann", "我喜欢喝绿茶"), record(1, 0, "bob", "我住在上海"),
                               record(2, 0, "cid", "我养了一只猫")])
    inserts = CountingInserts(handler.store.recorder)
    handled = handler.on_fines(fines)
    assert [h.status for h in handled] == ["processed"] * 3
    assert inserts.calls == 1
    for partition in (0, 1, 2):
        assert handler.store.is_tracked(kafka_tracking(FINE, partition, 0))
        assert not handler.store.is_tracked(kafka_tracking(FINE, partition, 1))
    assert all(handler.store.repository.get(raw_input_id(f"ev-{p}-0")).is_refined for p in (0, 1, 2))
    assert [h.status for h in handler.on_fines(fines)] == ["duplicate"] * 3  # redelivered: nothing twice
    assert inserts.calls == 1


def test_a_user_seen_twice_splits_the_fine_batch_where_it_repeats(handler):
    fines = handoffs(handler, [record(0, 0, "ann", "我喜欢喝绿茶"), record(1, 0, "bob", "我住在上海"),
                               record(0, 1, "ann", "我其实更喜欢喝红茶")])
    inserts = CountingInserts(handler.store.recorder)
    handled = handler.on_fines(fines)
    assert [h.status for h in handled] == ["processed"] * 3
    # Partition 0 runs first: [ann@0, ann@1] then bob; ann repeats, so ann@0 | ann@1 + bob.
    assert inserts.calls == 2
    assert handler.store.is_tracked(kafka_tracking(FINE, 0, 1))
    assert handler.store.is_tracked(kafka_tracking(FINE, 1, 0))
