"""A replaced broker: its offsets start again at 0, and nothing it carries may be skipped.

A fresh Tansu broker (memory storage: a restart is a new, empty broker) is put in
front of a data dir that tracked positions of the old one. Every new envelope must
be recorded and refined once; inputs the old broker already delivered and that
arrive again are still recognised by their event_id.
"""

from __future__ import annotations

import itertools
import os
import sys

import pytest

from application.settings import Settings
from streams.broker import TansuBroker
from streams.topics import ensure_topics, topic_specs_for
from tests.integration.kafka_fixtures import produce, run, wait_until
from tests.integration.test_streaming import envelopes
from tests.support.store_probe import StoreProbe

pytestmark = [pytest.mark.kafka, pytest.mark.slow]
_n = itertools.count(1)


def test_a_fresh_broker_against_an_old_data_dir_loses_nothing(tmp_path, processes):
    data = tmp_path / "data"
    first, second = envelopes(80, 8)[:40], envelopes(80, 8)[40:]
    settings = Settings(data_dir=data, topic_prefix=f"rb{next(_n)}", partitions=2,
                        consumer_group="rb-group", session_timeout=2.0)
    probe = StoreProbe(settings.event_store_url)

    def worker(broker: TansuBroker, name: str):
        env = {"MEMSTREAM_KAFKA_URL": broker.bootstrap, "MEMSTREAM_DATA_DIR": str(data),
               "MEMSTREAM_TOPIC_PREFIX": settings.topic_prefix, "MEMSTREAM_CONSUMER_GROUP": "rb-group",
               "MEMSTREAM_SESSION_TIMEOUT": "2", "MEMSTREAM_PARTITIONS": "2"}
        return processes([os.path.join(os.path.dirname(sys.executable), "memstream"), "worker",
                          "--role", "agents"], env=env, name=name)

    try:
        with TansuBroker(log_path=tmp_path / "old.log") as old:
            run(ensure_topics(old.bootstrap, topic_specs_for(settings)))
            w = worker(old, "w-old")
            produce(old.bootstrap, settings.topic("messages"), first)
            wait_until(lambda: probe.refined_count() >= 40, 60, "40 refined on the old broker", w.log_tail)
            w.stop()
        with TansuBroker(log_path=tmp_path / "new.log") as new:
            run(ensure_topics(new.bootstrap, topic_specs_for(settings)))
            w = worker(new, "w-new")
            # The old broker's last five envelopes again (a client re-sending), then 40 new ones.
            produce(new.bootstrap, settings.topic("messages"), first[-5:] + second)
            wait_until(lambda: probe.refined_count() >= 80, 90, "80 refined in all", w.log_tail)
            w.stop()
            log = w.log_tail(400)
        recorded = probe.recorded_event_ids()
        assert len(recorded) == 80 and set(recorded.values()) == {1}, "each envelope recorded once"
        assert probe.refined_count() == 80
        assert "the broker was replaced" in log
        assert probe.store.broker_incarnation().number == 1
    finally:
        probe.close()
