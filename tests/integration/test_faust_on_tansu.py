"""Two facts about Faust on Tansu that memstream's design rests on.

* Topics are created up front with their final partition counts (Tansu would
  auto-create any topic with 4 partitions).
* The canary: an agent exception *acks* the failing record, so it is not
  redelivered. That is why memstream's agents never raise (streams/app.py
  ``handle``): bad input becomes a dead letter. If a Faust upgrade changes this,
  the test fails and the design must be looked at again.

Everything else about the real worker on Tansu (offsets, groups, SIGTERM and
SIGKILL recovery) is tested against memstream's own worker in test_streaming.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import pytest

from streams.topics import DEADLETTERS, MESSAGES, default_topic_specs, ensure_topics
from tests.integration.kafka_fixtures import PYTHON, ManagedProcess, produce, read_jsonl, run, wait_until

pytestmark = [pytest.mark.kafka, pytest.mark.slow, pytest.mark.timeout(120)]

WAIT = 60.0


class Spike:
    """Starts canary workers (tests/integration/faust_spike_app.py) and reads what they recorded."""

    def __init__(self, spawn: Callable[..., ManagedProcess], bootstrap: str, topic: str,
                 out: Path, app_id: str) -> None:
        self.spawn, self.bootstrap, self.topic, self.out, self.app_id = spawn, bootstrap, topic, out, app_id
        self.workers: list[ManagedProcess] = []

    def start(self, worker_id: str, commit_interval: float = 1.0) -> ManagedProcess:
        env = {"SPIKE_BOOTSTRAP": self.bootstrap, "SPIKE_TOPIC": self.topic, "SPIKE_OUT": str(self.out),
               "SPIKE_WORKER_ID": worker_id, "SPIKE_APP_ID": self.app_id,
               "SPIKE_COMMIT_INTERVAL": str(commit_interval)}
        proc = self.spawn([PYTHON, "-m", "tests.integration.faust_spike_app"], env=env, name=worker_id)
        self.workers.append(proc)
        return proc

    def rows(self, kind: str, worker: str | None = None) -> list[dict[str, Any]]:
        return [r for r in read_jsonl(self.out) if r["kind"] == kind and (worker is None or r["worker"] == worker)]

    def events(self, worker: str | None = None) -> list[dict[str, Any]]:
        return self.rows("event", worker)

    def wait(self, predicate: Callable[[], Any], what: str) -> Any:
        return wait_until(predicate, WAIT, what, on_fail=lambda: "\n".join(w.log_tail() for w in self.workers))

    def wait_assigned(self, worker: str) -> None:
        self.wait(lambda: any(len(r["tps"]) == 4 for r in self.rows("rebalanced", worker)),
                  f"{worker} assigned 4 partitions")


@pytest.fixture
def spike(processes, tansu_broker, make_topic, tmp_path, request) -> Spike:  # noqa: F811
    out = tmp_path / "out"
    out.mkdir()
    return Spike(processes, tansu_broker, make_topic("spike", 4), out, f"spike-{request.node.name}"[:60])


def test_ensure_topics_creates_final_partition_counts(tansu_broker):  # noqa: F811
    specs = default_topic_specs(partitions=4)
    first = run(ensure_topics(tansu_broker, specs))
    assert set(first.values()) <= {"created", "exists"}
    again = run(ensure_topics(tansu_broker, specs))
    assert set(again.values()) == {"exists"}  # idempotent, "already exists" tolerated
    wrong = [s for s in default_topic_specs(partitions=8) if s.name == MESSAGES]
    assert run(ensure_topics(tansu_broker, wrong))[MESSAGES] == "exists-mismatch:4!=8"
    # the dead-letter topic really has 1 partition (not Tansu's auto-create default of 4)
    from aiokafka.admin import AIOKafkaAdminClient

    async def partitions_of(name: str) -> int:
        admin = AIOKafkaAdminClient(bootstrap_servers=tansu_broker)
        await admin.start()
        try:
            return len((await admin.describe_topics([name]))[0]["partitions"])
        finally:
            await admin.close()

    assert run(partitions_of(DEADLETTERS)) == 1


def test_agent_exception_acks_and_skips_the_record(spike: Spike):
    # 60 s commit interval: offsets are committed only by the crash handler
    # (Faust commits on agent error) and by the graceful stop.
    w1 = spike.start("p1", commit_interval=60.0)
    spike.wait_assigned("p1")
    values = [b"a0", b"a1", b"poison", b"a3", b"a4"]
    produce(spike.bootstrap, spike.topic, [(b"one-user", v) for v in values])
    # the supervisor restarts the crashed agent, which goes on with a3, a4
    spike.wait(lambda: {"a0", "a1", "poison", "a3", "a4"} <= {e["value"] for e in spike.events()},
               "records after the poison one")
    assert w1.stop() == 0  # SIGTERM: Faust commits every acked offset on the way out
    spike.start("p2")
    spike.wait_assigned("p2")
    produce(spike.bootstrap, spike.topic, [(b"one-user", b"a5")])
    spike.wait(lambda: any(e["value"] == "a5" for e in spike.events("p2")), "a5 on p2")
    values_seen = [e["value"] for e in spike.events()]
    # The failing record was acked (and committed): not redelivered, so agents
    # must catch their own errors and dead-letter the record themselves.
    assert values_seen.count("poison") == 1
    assert [e["value"] for e in spike.events("p2")] == ["a5"]
