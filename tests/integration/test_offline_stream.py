"""The Offline stage in the stream: a real Tansu broker and a real `memstream worker`.

After input goes quiet for MEMSTREAM_OFFLINE_IDLE seconds the worker sweeps the users
the Fine stage marked, and the sweep's events (stage=offline) reach the memory-events
topic through the outbox like every other memory event.
"""

from __future__ import annotations

import itertools
import json
import os
import sys
import time

import pytest

from application.settings import Settings
from streams.payloads import MemoryEventRecord
from streams.topics import ensure_topics, topic_specs_for
from tests.integration.kafka_fixtures import produce, read_topic, run, wait_until
from tests.support.store_probe import MEMORY, StoreProbe

pytestmark = [pytest.mark.kafka, pytest.mark.slow]
_prefix = itertools.count(1)


def envelope(user: str, conversation: str, text: str, when: str) -> tuple[bytes, bytes]:
    body = {"user_id": user, "conversation_id": conversation,
            "messages": [{"role": "user", "content": text, "chat_time": when}]}
    return user.encode(), json.dumps(body).encode()


@pytest.mark.parametrize("role", ["all", "offline"])
def test_offline_role_sweeps_quiet_users_and_its_events_are_published(tansu_broker, tmp_path, processes, role):
    """``all`` runs every stage in one process; ``offline`` runs beside an ``agents`` and a
    ``projections`` worker (the outbox), as in a deployment that scales the stages apart."""
    prefix = f"off{next(_prefix)}x{int(time.time() * 1000) % 100000}"
    settings = Settings(data_dir=tmp_path / "data", kafka_url=tansu_broker, topic_prefix=prefix, partitions=4,
                        consumer_group=f"{prefix}-group", session_timeout=2.0)
    run(ensure_topics(tansu_broker, topic_specs_for(settings)))
    env = {"MEMSTREAM_KAFKA_URL": tansu_broker, "MEMSTREAM_DATA_DIR": str(settings.data_dir),
           "MEMSTREAM_TOPIC_PREFIX": prefix, "MEMSTREAM_CONSUMER_GROUP": settings.consumer_group,
           "MEMSTREAM_SESSION_TIMEOUT": "2", "MEMSTREAM_PARTITIONS": "4", "MEMSTREAM_EXTRACTOR": "rules",
           "MEMSTREAM_OFFLINE_IDLE": "1", "MEMSTREAM_OFFLINE_INTERVAL": "3600"}
    memstream = os.path.join(os.path.dirname(sys.executable), "memstream")
    worker = processes([memstream, "worker", "--role", role], env=env, name=f"w-{role}")
    if role == "offline":
        for other in ("agents", "projections"):
            processes([memstream, "worker", "--role", other], env=env, name=f"w-{other}")
    # Plans whose dates have passed: the Fine stage records them as plans, the sweep marks them past.
    produce(tansu_broker, settings.topic("messages"), [
        envelope("ana", "c1", "I plan to visit Rome in summer 2024.", "2024-03-01T10:00:00"),
        envelope("ben", "c2", "我计划2024年暑假去广州旅游。", "2024-04-01T10:00:00"),
    ])
    probe = StoreProbe(settings.event_store_url)
    try:
        def offline_events() -> list:
            return [e for e in probe.events(MEMORY) if getattr(e, "stage", None) == "offline"]

        wait_until(lambda: len(offline_events()) >= 2, 60, "offline sweep of both users", worker.log_tail)
        swept = offline_events()
        assert {e.decided_by for e in swept} == {"offline.past_plan"}
        expected = len(probe.events(MEMORY))
        records = run(read_topic(tansu_broker, settings.topic("memory-events"), expected, timeout=50), timeout=55)
        published = [MemoryEventRecord.model_validate_json(r.value) for r in records]
        offline = [e for e in published if e.stage == "offline"]
        assert len(offline) == len(swept)
        assert all(e.memory.attributes.get("past") is True and "past" in e.memory.tags for e in offline)
        time.sleep(2)  # quiet again: nothing more to sweep, nothing more recorded
        assert len(offline_events()) == len(swept)
    finally:
        probe.close()
