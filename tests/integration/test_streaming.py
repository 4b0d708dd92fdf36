"""The streaming path against a real Kafka-protocol broker (Tansu) and real worker
processes: exactly-once effect, crash recovery, consumer groups, dead letters."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import time
from collections import Counter, defaultdict
from datetime import datetime, timedelta, timezone

import pytest

from application.settings import Settings
from streams.topics import ensure_topics, topic_specs_for
from tests.integration.kafka_fixtures import produce, run, wait_until
from tests.support.store_probe import MEMORY, RECORDED, StoreProbe

pytestmark = [pytest.mark.kafka, pytest.mark.slow]
_prefix = itertools.count(1)
START = datetime(2025, 1, 1, tzinfo=timezone.utc)
CITIES = ["上海", "成都", "北京", "广州", "深圳", "杭州", "Berlin", "Lisbon"]


@pytest.fixture
def stream(tansu_broker, tmp_path, processes):
    """Per-test topics, consumer group and data dir on the session's broker."""
    prefix = f"t{next(_prefix)}x{int(time.time() * 1000) % 100000}"
    data = tmp_path / "data"
    settings = Settings(data_dir=data, kafka_url=tansu_broker, topic_prefix=prefix, partitions=4,
                        consumer_group=f"{prefix}-group", session_timeout=2.0)
    run(ensure_topics(tansu_broker, topic_specs_for(settings)))
    env = {"MEMSTREAM_KAFKA_URL": tansu_broker, "MEMSTREAM_DATA_DIR": str(data),
           "MEMSTREAM_TOPIC_PREFIX": prefix, "MEMSTREAM_CONSUMER_GROUP": settings.consumer_group,
           "MEMSTREAM_SESSION_TIMEOUT": "2", "MEMSTREAM_PARTITIONS": "4"}

    def worker(name: str, role: str = "agents"):
        return processes([os.path.join(os.path.dirname(sys.executable), "memstream"), "worker", "--role", role], env=env, name=name)

    probe = StoreProbe(settings.event_store_url)
    yield settings, worker, probe
    probe.close()


def envelopes(count: int, users: int) -> list[tuple[bytes, bytes]]:
    """Each user says where they live, city after city, in chat-time order."""
    records = []
    per_user: Counter = Counter()
    for i in range(count):
        user = f"user{i % users:02d}"
        n = per_user[user]
        per_user[user] += 1
        city = CITIES[n % len(CITIES)]
        text = f"我现在住在{city}。" if n % 3 else f"今天天气不错，聊点别的吧 {n}"
        body = {"event_id": f"{user}-{n:04d}", "user_id": user, "conversation_id": f"{user}-c",
                "messages": [{"message_id": f"{user}-m{n}", "role": "user", "content": text,
                              "chat_time": (START + timedelta(minutes=n)).isoformat()}]}
        records.append((user.encode(), json.dumps(body, ensure_ascii=False).encode()))
    return records


def refined(probe: StoreProbe, expected: int):
    return probe.refined_count() >= expected


def assert_exactly_once(probe: StoreProbe, count: int) -> None:
    recorded = probe.recorded_event_ids()
    assert len(recorded) == count and set(recorded.values()) == {1}, "every envelope recorded once"
    assert probe.refined_count() == count, "every envelope refined once"
    created = [e for e in probe.events(MEMORY) if type(e).__name__ == "MemoryCreated"]
    episodes = Counter(str(e.originator_id) for e in created if e.kind == "episode")
    assert len(episodes) == count and set(episodes.values()) == {1}


def assert_per_user_order(probe: StoreProbe) -> None:
    """Versions of each memory follow the order of the messages that caused them."""
    chats: dict[str, list[str]] = defaultdict(list)
    for event in probe.events(MEMORY):
        if type(event).__name__ == "MemoryRevised" and event.new_sources:
            chats[str(event.originator_id)].append(event.new_sources[-1]["chat_time"])
    assert chats, "some memories were revised"
    for memory_id, times in chats.items():
        assert times == sorted(times), f"memory {memory_id} revised out of order: {times}"


def test_every_envelope_exactly_once(stream):
    settings, worker, probe = stream
    records = envelopes(2000, 50)
    w = worker("w1")
    produce(settings.kafka_url, settings.topic("messages"), records, timeout=60)
    wait_until(lambda: refined(probe, 2000), 180, "2,000 envelopes refined", w.log_tail)
    assert_exactly_once(probe, 2000)
    assert_per_user_order(probe)


def test_sigkill_mid_stream_loses_and_duplicates_nothing(stream):
    settings, worker, probe = stream
    records = envelopes(2000, 50)
    first = worker("w-killed")
    produce(settings.kafka_url, settings.topic("messages"), records, timeout=60)
    wait_until(lambda: probe.refined_count() >= 300, 120, "300 refined before the crash", first.log_tail)
    assert first.kill() != 0
    assert probe.refined_count() < 2000, "the crash must happen mid-stream"
    second = worker("w-restarted")
    wait_until(lambda: refined(probe, 2000), 180, "the rest after restart", second.log_tail)
    time.sleep(1.0)  # let redelivered records (already tracked) drain
    assert_exactly_once(probe, 2000)
    assert_per_user_order(probe)


def workers_seen(probe: StoreProbe) -> dict[str, set]:
    by_worker: dict[str, set] = defaultdict(set)
    for event in probe.events((RECORDED,)):
        by_worker[event.cause["extra"]["worker"]].add(event.cause["partition"])
    return by_worker


def test_two_workers_share_partitions_and_keep_user_order(stream):
    settings, worker, probe = stream
    a, b = worker("wa"), worker("wb")
    records = envelopes(1000, 40)
    topic = settings.topic("messages")
    # Feed one message per user at a time until both workers have joined the group and
    # taken partitions (a join waits half the session timeout; start-up time varies).
    sent, deadline = 0, time.monotonic() + 90
    while len(workers_seen(probe)) < 2 and sent < 600:
        assert time.monotonic() < deadline, "second worker never got partitions\n" + b.log_tail()
        produce(settings.kafka_url, topic, records[sent : sent + 40])
        sent += 40
        wait_until(lambda: refined(probe, sent), 60, f"{sent} refined", lambda: a.log_tail() + b.log_tail())
    produce(settings.kafka_url, topic, records[sent:], timeout=60)
    wait_until(lambda: refined(probe, 1000), 180, "1,000 envelopes refined",
               lambda: a.log_tail() + "\n" + b.log_tail())
    assert_exactly_once(probe, 1000)
    assert_per_user_order(probe)
    by_worker = workers_seen(probe)
    assert len(by_worker) == 2, f"both workers consumed: {dict(by_worker)}"


def test_poison_records_become_dead_letters(stream):
    settings, worker, probe = stream
    good = envelopes(30, 3)
    poison = [
        (b"user00", b"this is not json"),
        (b"user01", b'{"user_id": "user01", "messages": []}'),
        (b"user02", json.dumps({"user_id": "user02", "messages": [
            {"role": "user", "content": "x" * (5 * 1024 * 1024)}]}).encode()),
        (b"user00", b'{"user_id": "\xff\xfe", "messages": [{"role": "user", "content": "hi"}]}'),
        # What crash-looped a worker or failed later in a store: deep nesting, a lone
        # surrogate, a NUL, NaN and a numeric chat_time.
        (b"user01", b'{"user_id": "user01", "messages": [{"role": "user", "content": "hi"}], "info": '
                    + b'{"a":' * 1000 + b'1' + b'}' * 1000 + b'}'),
        (b"user02", b'{"user_id": "user02", "messages": [{"role": "user", "content": "\\ud800"}]}'),
        (b"user00", b'{"user_id": "user\\u0000", "messages": [{"role": "user", "content": "hi"}]}'),
        (b"user01", b'{"user_id": "user01", "messages": [{"role": "user", "content": "hi"}], "info": {"x": NaN}}'),
        (b"user02", b'{"user_id": "user02", "messages": [{"role": "user", "content": "hi", "chat_time": 253402300800}]}'),
    ]
    records = good[:10] + poison[:2] + good[10:20] + poison[2:] + good[20:]
    w = worker("w-poison")
    produce(settings.kafka_url, settings.topic("messages"), records, timeout=60)
    wait_until(lambda: refined(probe, 30), 120, "valid records around the poison", w.log_tail)
    from application.dead_letters import DeadLetterBox

    wait_until(lambda: len(DeadLetterBox(probe.store).recent()) == len(poison), 30, "a dead letter each", w.log_tail)
    letters = {d["offset"]: d for d in DeadLetterBox(probe.store).recent()}
    reasons = " | ".join(d["reason"] for d in letters.values())
    assert "invalid JSON" in reasons
    assert "messages: List should have at least 1 item" in reasons
    assert "the limit is" in reasons
    assert "not valid UTF-8" in reasons
    for reason in ("nests deeper", "surrogate", "NUL", "NaN", "chat_time"):
        assert reason in reasons, f"no dead letter says {reason!r}: {reasons}"
    assert all(d["topic"] == settings.topic("messages") for d in letters.values())
    assert max(d["size"] for d in letters.values()) > 5 * 1024 * 1024
    assert w.alive(), "the worker carried on"
    assert_exactly_once(probe, 30)


def test_memory_events_are_published_in_order_per_memory(stream):
    """The outbox sends every domain event, with the memory as of that version."""
    from streams.payloads import MemoryEventRecord
    from tests.conftest import EXAMPLES
    from tests.integration.kafka_fixtures import read_topic

    settings, worker, probe = stream
    lines = (EXAMPLES / "brief.jsonl").read_text(encoding="utf-8").splitlines()
    w = worker("w-all", role="all")
    produce(settings.kafka_url, settings.topic("messages"),
            [(json.loads(line)["user_id"].encode(), line.encode()) for line in lines])
    wait_until(lambda: refined(probe, len(lines)), 120, "examples refined", w.log_tail)
    expected = len(probe.events(MEMORY))
    records = run(read_topic(settings.kafka_url, settings.topic("memory-events"), expected, timeout=90), timeout=100)
    events = [MemoryEventRecord.model_validate_json(r.value) for r in records]
    assert len({(e.memory_id, e.version) for e in events}) == expected
    versions: dict[str, list[int]] = defaultdict(list)
    for record, event in zip(records, events):
        assert record.key.decode() == event.memory_id
        versions[event.memory_id].append(event.version)
    assert all(v == sorted(v) for v in versions.values())
    chain = [e for e in events if e.memory.key == "profile" and e.memory.user_id == "xiaoyi"]
    assert [e.event_type for e in chain] == ["MemoryCreated", "MemoryRevised"]
    assert "成都" in chain[-1].memory.content and chain[-1].reason == "conflict"


def test_dead_letters_can_be_resubmitted(stream, tmp_path):
    settings, worker, probe = stream
    from application.dead_letters import DeadLetterBox

    w = worker("w-resubmit")
    produce(settings.kafka_url, settings.topic("messages"), [(b"u", b"not json at all")])
    wait_until(lambda: len(DeadLetterBox(probe.store).recent()) == 1, 60, "a dead letter", w.log_tail)
    env = {**os.environ, "MEMSTREAM_KAFKA_URL": settings.kafka_url,
           "MEMSTREAM_DATA_DIR": str(settings.data_dir), "MEMSTREAM_TOPIC_PREFIX": settings.topic_prefix}
    proc = subprocess.run([os.path.join(os.path.dirname(sys.executable), "memstream"), "deadletters", "--resubmit", "--json"],
                                        env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["dead_letters"][0]["resubmissions"] == 1
    # Still not JSON, so it comes back as a new dead letter from its new offset.
    wait_until(lambda: len(DeadLetterBox(probe.store).recent()) == 2, 60, "the resubmitted record", w.log_tail)
    offsets = sorted(d["offset"] for d in DeadLetterBox(probe.store).recent())
    assert offsets[0] != offsets[1]
