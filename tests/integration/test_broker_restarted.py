"""A broker killed and restarted on the same port while the worker keeps running.

The in-memory Tansu broker comes back empty: no topics, no consumer group, offsets
from 0. The worker must notice by itself, re-create its topics with their final
partition counts and consume again, without being restarted; what the old broker
delivered is neither lost nor doubled, and inputs re-sent after the restart are
recognised by their event_id.
"""

from __future__ import annotations

import itertools
import os
import sys

import pytest

from application.settings import Settings
from streams.broker import TansuBroker, free_port
from streams.topics import ensure_topics, topic_specs_for
from tests.integration.kafka_fixtures import produce, run, wait_until
from tests.integration.test_streaming import envelopes
from tests.support.store_probe import StoreProbe

pytestmark = [pytest.mark.kafka, pytest.mark.slow]
_n = itertools.count(1)


async def _partitions(bootstrap: str, names: list[str]) -> dict[str, int]:
    from aiokafka.admin import AIOKafkaAdminClient

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        present = set(await admin.list_topics()) & set(names)
        if not present:
            return {}
        return {d["topic"]: len(d["partitions"]) for d in await admin.describe_topics(sorted(present))}
    finally:
        await admin.close()


def _memstream() -> str:
    return os.path.join(os.path.dirname(sys.executable), "memstream")


def _wait_for_topics(bootstrap: str, settings: Settings, on_fail) -> dict[str, int]:
    specs = {s.name: s.partitions for s in topic_specs_for(settings)}

    def present():
        found = run(_partitions(bootstrap, list(specs)))
        return found if set(found) == set(specs) else None

    found = wait_until(present, 60, "the worker re-creating its topics", on_fail)
    assert found == specs, "re-created with their final partition counts"
    return found


class _Restart:
    """Two Tansu brokers on one port (the first started), the settings and environment a worker
    on them uses, and a probe of its store."""

    def __init__(self, tmp_path, prefix: str) -> None:
        group = f"{prefix}-group"
        self.settings = Settings(data_dir=tmp_path / "data", topic_prefix=f"{prefix}{next(_n)}", partitions=2,
                                 consumer_group=group, session_timeout=2.0)
        self.probe = StoreProbe(self.settings.event_store_url)
        port = free_port()
        self.old = TansuBroker(port=port, log_path=tmp_path / "old.log").start()
        self.new = TansuBroker(port=port, log_path=tmp_path / "new.log")
        self.env = {"MEMSTREAM_KAFKA_URL": self.old.bootstrap, "MEMSTREAM_DATA_DIR": str(self.settings.data_dir),
                    "MEMSTREAM_TOPIC_PREFIX": self.settings.topic_prefix, "MEMSTREAM_CONSUMER_GROUP": group,
                    "MEMSTREAM_SESSION_TIMEOUT": "2", "MEMSTREAM_PARTITIONS": "2"}
        try:
            run(ensure_topics(self.old.bootstrap, topic_specs_for(self.settings)))
        except BaseException:
            self.close()
            raise

    def restart(self, on_fail) -> None:
        self.old.stop(timeout=0.1)  # SIGTERM then SIGKILL: it keeps nothing (memory storage)
        self.new.start()
        _wait_for_topics(self.new.bootstrap, self.settings, on_fail)

    def close(self) -> None:
        self.probe.close()
        self.new.stop()
        self.old.stop()


def test_worker_recovers_in_place_from_a_broker_restart(tmp_path, processes):
    first, second = envelopes(80, 8)[:40], envelopes(80, 8)[40:]
    r = _Restart(tmp_path, "rr")
    probe, settings = r.probe, r.settings
    try:
        w = processes([_memstream(), "worker", "--role", "agents"], env=r.env, name="w")
        produce(r.old.bootstrap, settings.topic("messages"), first)
        wait_until(lambda: probe.refined_count() >= 40, 90, "40 refined on the first broker", w.log_tail)
        # Nobody but the worker creates the topics again; the producer waits until they exist
        # (a send to a missing topic would make Tansu auto-create it with 4 partitions).
        r.restart(w.log_tail)
        produce(r.new.bootstrap, settings.topic("messages"), first[-5:] + second)
        wait_until(lambda: probe.refined_count() >= 80, 120, "80 refined in all", w.log_tail)
        assert w.alive(), "the worker recovered without a restart"
        log = w.log_tail(2000)
        recorded = probe.recorded_event_ids()
        assert len(recorded) == 80 and set(recorded.values()) == {1}, "each envelope recorded once"
        assert probe.refined_count() == 80
        assert "broker restarted" in log
    finally:
        r.close()


def test_hand_offs_the_restarted_broker_lost_are_sent_again(tmp_path, processes):
    """Only the Fast stage runs while the first broker lives, so every hand-off to the Fine
    stage sits unconsumed in it when it dies. The Fast worker, never restarted, hands them
    off again; a Fine worker started afterwards refines every input once."""
    first = envelopes(30, 6)
    r = _Restart(tmp_path, "rh")
    probe, settings = r.probe, r.settings
    try:
        fast = processes([_memstream(), "worker", "--role", "fast"], env=r.env, name="fast")
        produce(r.old.bootstrap, settings.topic("messages"), first)
        wait_until(lambda: len(probe.recorded_event_ids()) >= 30, 90, "30 recorded", fast.log_tail)
        assert probe.refined_count() == 0
        r.restart(fast.log_tail)
        fine = processes([_memstream(), "worker", "--role", "fine"], env=r.env, name="fine")
        wait_until(lambda: probe.refined_count() >= 30, 120, "30 refined", lambda: fast.log_tail() + fine.log_tail())
        assert fast.alive()
        assert "handed 30 recorded but unrefined inputs to the Fine stage again" in fast.log_tail(2000)
        recorded = probe.recorded_event_ids()
        assert len(recorded) == 30 and set(recorded.values()) == {1}
        assert probe.refined_count() == 30, "each refined once"
    finally:
        r.close()
