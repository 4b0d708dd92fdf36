"""Forgetting in the stream: a ``forget`` record on the control topic does what ``memstream
forget`` does, and memory-events carries a tombstone (key = Memory ID, null value) for
each forgotten memory, whoever forgot. A real Tansu broker and a real ``memstream worker``."""

from __future__ import annotations

import itertools
import json
import os
import sys
import time
from uuid import UUID

import pytest

import memstream
from application.forgetting import Forgetting
from application.settings import Settings
from eventsourcing.utils import get_topic
from streams.outbox import pending_records
from streams.payloads import DeadLetterRecord, MemoryEventRecord
from streams.topics import ensure_topics, topic_specs_for
from tests.integration.kafka_fixtures import produce, read_topic, run, wait_until
from tests.integration.test_forgetting import scan_files
from tests.support.store_probe import MEMORY, StoreProbe

SECRET = "Wombatlantis5521"
FORGOTTEN = (get_topic(Forgetting.ForgettingRecorded),)  # type: ignore[attr-defined]
_prefix = itertools.count(1)


def envelope(user: str, event_id: str, text: str) -> tuple[bytes, bytes]:
    body = {"event_id": event_id, "user_id": user, "conversation_id": "c1",
            "messages": [{"role": "user", "content": text, "chat_time": "2025-03-01T10:00:00"}]}
    return user.encode(), json.dumps(body).encode()


def command(user: str, **fields) -> tuple[bytes, bytes]:
    return user.encode(), json.dumps({"command": "forget", "user_id": user, **fields}).encode()


@pytest.mark.kafka
@pytest.mark.slow
def test_a_forget_record_forgets_in_the_stream_and_tombstones_reach_memory_events(tansu_broker, tmp_path,
                                                                                   processes):
    prefix = f"fgt{next(_prefix)}x{int(time.time() * 1000) % 100000}"
    settings = Settings(data_dir=tmp_path / "data", kafka_url=tansu_broker, topic_prefix=prefix, partitions=2,
                        consumer_group=f"{prefix}-group", session_timeout=2.0)
    run(ensure_topics(tansu_broker, topic_specs_for(settings)))
    env = {"MEMSTREAM_KAFKA_URL": tansu_broker, "MEMSTREAM_DATA_DIR": str(settings.data_dir),
           "MEMSTREAM_TOPIC_PREFIX": prefix, "MEMSTREAM_CONSUMER_GROUP": settings.consumer_group,
           "MEMSTREAM_SESSION_TIMEOUT": "2", "MEMSTREAM_PARTITIONS": "2", "MEMSTREAM_EXTRACTOR": "rules"}
    exe = os.path.join(os.path.dirname(sys.executable), "memstream")
    worker = processes([exe, "worker", "--role", "all"], env=env, name="worker")
    produce(tansu_broker, settings.topic("messages"), [
        envelope("ana", "ana-1", f"I live in Porto. My nickname is {SECRET}."),
        envelope("ana", "ana-2", f"I have a parrot named {SECRET}."),
        envelope("ben", "ben-1", "I live in Oslo and I like skiing."),
    ])
    probe = StoreProbe(settings.event_store_url)
    try:
        def published() -> list:
            return probe.events(MEMORY)

        wait_until(lambda: probe.refined_count() >= 3, 90, "all three inputs refined", worker.log_tail)
        before = run(read_topic(tansu_broker, settings.topic("memory-events"), len(published()), timeout=60),
                     timeout=65)
        records = [MemoryEventRecord.model_validate_json(r.value) for r in before]
        ana_ids = {r.memory_id for r in records if r.memory.user_id == "ana"}
        ben_ids = {r.memory_id for r in records if r.memory.user_id == "ben"}
        assert ana_ids and ben_ids and any(SECRET in r.memory.content for r in records)

        produce(tansu_broker, settings.topic("control"), [
            (b"ana", b"{not json"),
            command("ben", memory_id=str(UUID(int=7))),  # ben has no such memory
            command("ana", reason="GDPR Art. 17 request", request_id="ticket-1"),
        ])
        wait_until(lambda: probe.events(FORGOTTEN), 60, "the forgetting's audit record", worker.log_tail)
        (record,) = probe.events(FORGOTTEN)
        assert record.user_id == "ana" and record.reason == "GDPR Art. 17 request"
        assert set(record.memory_ids) == ana_ids

        # one tombstone per forgotten memory, after everything published before
        total = len(before) + len(ana_ids)
        after = run(read_topic(tansu_broker, settings.topic("memory-events"), total, timeout=60), timeout=65)
        tombstones = [r for r in after if r.value is None]
        assert sorted(r.key.decode() for r in tombstones) == sorted(ana_ids)
        assert not any(r.key.decode() in ben_ids for r in tombstones)

        letters = run(read_topic(tansu_broker, settings.topic("deadletters"), 2, timeout=30), timeout=35)
        dead = [DeadLetterRecord.model_validate_json(r.value) for r in letters]
        assert {d.stage for d in dead} == {"control"} and all(d.topic == settings.topic("control") for d in dead)
        assert any("no memory" in d.reason for d in dead) and len(dead) == 2
    finally:
        probe.close()
    assert worker.stop() is not None
    assert scan_files(settings.data_dir, [SECRET]) == []
    with memstream.open(settings.data_dir, kafka_url="", extractor="rules") as ms:
        assert ms.memories(user_id="ana") == []
        assert all(m["content"] == "" for m in ms.memories(user_id="ana", include_archived=True))
        assert {m["memory_id"] for m in ms.memories(user_id="ben", include_archived=True)} == ben_ids
        assert ms.search("where does the user live", user_id="ben")


def test_the_outbox_sends_a_tombstone_per_memory_forgotten_outside_the_stream(tmp_path):
    """``memstream forget`` / the HTTP API forget in-process; the outbox sends the tombstones later."""
    with memstream.open(tmp_path / "data", kafka_url="", extractor="rules") as ms:
        ms.add([{"role": "user", "content": f"I live in Porto. My nickname is {SECRET}."}], user_id="ana",
               event_id="a1")
        ms.add([{"role": "user", "content": "I live in Oslo."}], user_id="ben", event_id="b1")
        one = ms.memories(user_id="ben")[0]["memory_id"]
        ana = {m["memory_id"] for m in ms.memories(user_id="ana", include_archived=True)}
        ms.forget(user_id="ana")
        ben_forgot = ms.forget(user_id="ben", memory_id=one)["memory_ids"]  # the memory and its source's episode
        assert one in ben_forgot
        records = pending_records(ms.runtime.store, ms.runtime.timeline, limit=10_000)
    tombstones = [key.decode() for _, key, value in records if value is None]
    assert sorted(tombstones) == sorted([*ana, *ben_forgot])
    positions = [n for n, _, _ in records]
    assert positions == sorted(positions)  # the outbox advances past them in log order
    events = [json.loads(value) for _, _, value in records if value is not None]
    assert events and not any(SECRET in json.dumps(e, ensure_ascii=False) for e in events)
    last = max(i for i, (_, _, v) in enumerate(records) if v is not None)
    assert all(records[i][2] is None for i in range(last + 1, len(records)))  # after every earlier event
