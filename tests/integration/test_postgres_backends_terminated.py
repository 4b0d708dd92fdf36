"""PostgreSQL backends terminated again and again under a running worker: nothing lost or doubled.

The event store is PostgreSQL (a fresh schema); while envelopes stream in through a real
Tansu broker, a thread terminates every backend the worker holds (``pg_terminate_backend``,
as a failover or an administrator would) several times. The worker's connections are
told apart from everyone else's on the server by their ``application_name`` (PGAPPNAME).
Lost connections are infrastructure errors (streams/failures.py): the worker backs off
and retries, so every envelope is recorded and refined exactly once, none becomes a dead
letter, and the worker needs no restart.
"""

from __future__ import annotations

import itertools
import os
import sys
import threading
import time
import uuid

import pytest

from application.settings import Settings
from streams.topics import ensure_topics, topic_specs_for
from tests.conftest import PG_DSN
from tests.integration.kafka_fixtures import produce, run, wait_until
from tests.integration.test_streaming import envelopes
from tests.support.store_probe import StoreProbe

pytestmark = [pytest.mark.kafka, pytest.mark.slow]
_n = itertools.count(1)


def terminate(app_name: str) -> int:
    import psycopg

    with psycopg.connect(PG_DSN, autocommit=True) as conn:
        rows = conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                            "WHERE application_name = %s AND pid <> pg_backend_pid()", (app_name,)).fetchall()
    return sum(1 for (ok,) in rows if ok)


def test_a_worker_survives_its_postgres_backends_being_terminated(pg_url, tansu_broker, tmp_path, processes):
    app_name = f"memstream-terminated-{uuid.uuid4().hex[:8]}"
    prefix = f"pgt{next(_n)}x{os.getpid()}"
    settings = Settings(data_dir=tmp_path / "data", event_store=pg_url, kafka_url=tansu_broker, topic_prefix=prefix,
                        partitions=2, consumer_group=f"{prefix}-group", session_timeout=2.0)
    run(ensure_topics(tansu_broker, topic_specs_for(settings)))
    env = {"MEMSTREAM_KAFKA_URL": tansu_broker, "MEMSTREAM_DATA_DIR": str(settings.data_dir),
           "MEMSTREAM_EVENT_STORE": pg_url, "MEMSTREAM_TOPIC_PREFIX": prefix,
           "MEMSTREAM_CONSUMER_GROUP": settings.consumer_group, "MEMSTREAM_SESSION_TIMEOUT": "2",
           "MEMSTREAM_PARTITIONS": "2", "PGAPPNAME": app_name}
    records = envelopes(60, 6)
    probe = StoreProbe(pg_url)
    w = processes([os.path.join(os.path.dirname(sys.executable), "memstream"), "worker", "--role", "agents"],
                  env=env, name="w")
    try:
        produce(tansu_broker, settings.topic("messages"), records[:10])
        wait_until(lambda: probe.refined_count() >= 10, 90, "10 refined before the terminations", w.log_tail)
        killed: list[int] = []
        stop = threading.Event()

        def keep_terminating() -> None:
            while not stop.is_set() and len(killed) < 8:
                found = terminate(app_name)
                if found:
                    killed.append(found)
                stop.wait(0.7)

        killer = threading.Thread(target=keep_terminating, daemon=True)
        killer.start()
        for start in range(10, 60, 10):
            produce(tansu_broker, settings.topic("messages"), records[start:start + 10])
            time.sleep(0.5)
        killer.join(timeout=60)
        stop.set()
        assert len(killed) >= 3, f"the worker's backends were terminated only {len(killed)} times"
        wait_until(lambda: probe.refined_count() >= 60, 180, "60 refined after the terminations", w.log_tail)
        recorded = probe.recorded_event_ids()
        assert len(recorded) == 60 and set(recorded.values()) == {1}, "each envelope recorded once"
        assert probe.refined_count() == 60, "each envelope refined once"
        log = w.log_tail(3000)
        assert "dead letter" not in log, "a lost connection dead-letters nothing"
        assert w.alive(), "no restart needed"
    finally:
        stop_killer = locals().get("stop")
        if stop_killer is not None:
            stop_killer.set()
        probe.close()
