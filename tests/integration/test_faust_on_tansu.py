"""Spike: prove Faust (faust-streaming) works against the Tansu broker.

Why: memstream's agents will be Faust agents on Tansu, which has quirks (slow
group joins, no idempotent producer, auto-created topics).  These tests pin
down the settings that work (see ``faust_spike_app.SETTINGS_FOR_TANSU``) and
the delivery behaviour the real agents must be designed around:

* every record is seen, with its topic/partition/offset from ``event.message``;
* two workers in one group split the partitions;
* SIGTERM commits everything acked, so a successor sees nothing twice;
* after SIGKILL, records since the last commit are redelivered (at least once);
* an agent exception acks the failing record: it is *not* redelivered.

Measured numbers are printed (run with ``-s`` to see them).
"""

from __future__ import annotations

import collections
import time
from pathlib import Path
from typing import Any, Callable

import pytest

from streams.topics import DEADLETTERS, MESSAGES, default_topic_specs, ensure_topics
from tests.integration.kafka_fixtures import (  # noqa: F401  (fixtures)
    PYTHON,
    ManagedProcess,
    produce,
    read_topic,
    read_jsonl,
    run,
    wait_until,
)

pytestmark = [pytest.mark.kafka, pytest.mark.slow, pytest.mark.timeout(120)]

SPIKE_MODULE = "tests.integration.faust_spike_app"
WAIT = 60.0


def keyed(n: int, start: int = 0, users: int = 37) -> list[tuple[bytes, bytes]]:
    return [(f"user-{i % users}".encode(), f"v{i}".encode()) for i in range(start, start + n)]


class Spike:
    """Starts spike workers for one test and reads what they recorded."""

    def __init__(self, spawn: Callable[..., ManagedProcess], bootstrap: str, topic: str,
                 out: Path, app_id: str) -> None:
        self.spawn, self.bootstrap, self.topic, self.out, self.app_id = (
            spawn, bootstrap, topic, out, app_id)
        self.workers: list[ManagedProcess] = []

    def start(self, worker_id: str, *, cli: bool = False, delay: float = 0.0,
              commit_interval: float = 1.0, forward_to: str = "") -> ManagedProcess:
        env = {"SPIKE_BOOTSTRAP": self.bootstrap, "SPIKE_TOPIC": self.topic,
               "SPIKE_OUT": str(self.out), "SPIKE_WORKER_ID": worker_id,
               "SPIKE_APP_ID": self.app_id, "SPIKE_DELAY": str(delay),
               "SPIKE_COMMIT_INTERVAL": str(commit_interval), "SPIKE_FORWARD": forward_to}
        if cli:  # the stock Faust CLI
            argv = [PYTHON, "-m", "faust", "-A", SPIKE_MODULE, "worker", "--without-web", "-l", "info"]
        else:  # programmatic faust.Worker, as `memstream worker` will do it
            argv = [PYTHON, "-m", SPIKE_MODULE]
        proc = self.spawn(argv, env=env, name=worker_id)
        self.workers.append(proc)
        return proc

    def rows(self, kind: str | None = None, worker: str | None = None) -> list[dict[str, Any]]:
        return [r for r in read_jsonl(self.out)
                if (kind is None or r["kind"] == kind) and (worker is None or r["worker"] == worker)]

    def events(self, worker: str | None = None) -> list[dict[str, Any]]:
        return self.rows("event", worker)

    def logs(self) -> str:
        return "\n".join(w.log_tail() for w in self.workers)

    def wait(self, predicate: Callable[[], Any], what: str, timeout: float = WAIT) -> Any:
        return wait_until(predicate, timeout, what, on_fail=self.logs)

    def wait_assigned(self, worker: str, n_partitions: int | None = None) -> dict[str, Any]:
        def done() -> Any:
            for row in reversed(self.rows("rebalanced", worker)):
                if n_partitions is None or len(row["tps"]) == n_partitions:
                    return row
            return None
        return self.wait(done, f"{worker} assigned {n_partitions} partitions")


@pytest.fixture
def spike(processes, tansu_broker, make_topic, tmp_path, request) -> Spike:  # noqa: F811
    out = tmp_path / "out"
    out.mkdir()
    app_id = f"spike-{request.node.name}"[:60]
    return Spike(processes, tansu_broker, make_topic("spike", 4), out, app_id)


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


def test_single_worker_sees_every_record_with_its_offset(spike: Spike, make_topic):  # noqa: F811
    forward = make_topic("spike-fwd", 4)
    t0 = time.time()
    spike.start("w0", forward_to=forward)
    joined = spike.wait_assigned("w0", 4)
    boot = spike.rows("boot", "w0")[0]
    sent = produce(spike.bootstrap, spike.topic, keyed(500))
    spike.wait(lambda: len(spike.events()) >= 500, "500 events")
    events = spike.events()
    seen = collections.Counter((e["partition"], e["offset"]) for e in events)
    dupes = sum(c - 1 for c in seen.values())
    # event.message carries exactly the partition/offset the producer was told
    expected = {(m.partition, m.offset): f"v{i}" for i, m in enumerate(sent)}
    assert {(e["partition"], e["offset"]): e["value"] for e in events} == expected
    assert {e["topic"] for e in events} == {spike.topic}
    assert len({e["partition"] for e in events}) == 4  # keys spread over partitions

    # the agent's keyed re-send lands on the same partition number (same key hash)
    forwarded = run(read_topic(spike.bootstrap, forward, 500))
    assert sorted(r.value.decode() for r in forwarded) == sorted(f"v{i}" for i in range(500))
    source_partition = {e["value"]: e["partition"] for e in events}
    assert all(source_partition[r.value.decode()] == r.partition for r in forwarded)

    # rough throughput on a bigger batch, measured inside the agent
    produce(spike.bootstrap, spike.topic, keyed(5000, start=500))
    spike.wait(lambda: len(spike.events()) >= 5500, "5500 events")
    tail = spike.events()[500:]
    span = max(e["t"] for e in tail) - min(e["t"] for e in tail)
    print(f"\n[spike] worker start->boot {boot['t'] - t0:.2f}s, boot->assigned "
          f"{joined['t'] - boot['t']:.2f}s, duplicates {dupes}/500, "
          f"throughput ~{len(tail) / max(span, 1e-3):.0f} rec/s (5000 records in {span:.2f}s)")
    assert dupes == 0
    assert spike.workers[0].stop() == 0  # SIGTERM -> graceful exit 0


def test_faust_cli_worker_runs_and_commits_on_sigterm(spike: Spike):
    # A 60 s commit interval: only the graceful-stop commit can save progress.
    spike.start("cli", cli=True, commit_interval=60.0)
    spike.wait_assigned("cli", 4)
    produce(spike.bootstrap, spike.topic, keyed(100))
    spike.wait(lambda: len(spike.events()) >= 100, "100 events via faust CLI")
    assert len({(e["partition"], e["offset"]) for e in spike.events()}) == 100
    assert spike.workers[0].stop() == 0
    # A new member of the same group starts after the committed offsets.
    spike.start("after")
    spike.wait_assigned("after", 4)
    produce(spike.bootstrap, spike.topic, [(b"user-1", b"sentinel")])
    spike.wait(lambda: spike.events("after"), "sentinel on the new worker")
    time.sleep(0.5)  # give a wrongly redelivered batch the chance to show up
    assert [e["value"] for e in spike.events("after")] == ["sentinel"]


def test_two_workers_split_partitions(spike: Spike):
    spike.start("a")
    spike.wait_assigned("a", 4)
    t_b = time.time()
    spike.start("b")
    a_row = spike.wait_assigned("a", 2)
    b_row = spike.wait_assigned("b", 2)
    rebalance = max(a_row["t"], b_row["t"]) - t_b
    tps_a = {p for _, p in a_row["tps"]}
    tps_b = {p for _, p in b_row["tps"]}
    assert tps_a.isdisjoint(tps_b) and tps_a | tps_b == {0, 1, 2, 3}

    produce(spike.bootstrap, spike.topic, keyed(500))
    spike.wait(lambda: len(spike.events()) >= 500, "500 events over two workers")
    by_worker = {w: {e["partition"] for e in spike.events(w)} for w in ("a", "b")}
    assert by_worker["a"] <= tps_a and by_worker["b"] <= tps_b
    seen = collections.Counter((e["partition"], e["offset"]) for e in spike.events())
    print(f"\n[spike] second worker start->both rebalanced {rebalance:.2f}s; "
          f"a={sorted(tps_a)} ({len(spike.events('a'))} ev) b={sorted(tps_b)} "
          f"({len(spike.events('b'))} ev); duplicates {sum(seen.values()) - len(seen)}")
    assert len(seen) == 500


def test_sigkill_redelivers_uncommitted_records(spike: Spike):
    first = spike.start("k1", delay=0.01)  # ~100 rec/s so the kill lands mid-stream
    spike.wait_assigned("k1", 4)
    sent = {(m.partition, m.offset) for m in produce(spike.bootstrap, spike.topic, keyed(500))}
    spike.wait(lambda: len(spike.events("k1")) >= 200, "k1 mid-stream")
    first.kill()
    before = {(e["partition"], e["offset"]) for e in spike.events("k1")}

    t_restart = time.time()
    spike.start("k2")
    joined = spike.wait_assigned("k2", 4)
    spike.wait(lambda: {(e["partition"], e["offset"]) for e in spike.events()} >= sent,
               "every record after restart")
    after = collections.Counter((e["partition"], e["offset"]) for e in spike.events("k2"))
    redelivered = before & set(after)
    print(f"\n[spike] SIGKILL after {len(before)} processed: {len(redelivered)} redelivered "
          f"(commit interval 1.0s), restart->assigned {joined['t'] - t_restart:.2f}s, "
          f"k2 processed {sum(after.values())}")
    assert before | set(after) == sent  # nothing lost: at least once
    assert sum(after.values()) == len(after)  # the new worker saw each record once


def test_agent_exception_acks_and_skips_the_record(spike: Spike):
    # 60 s commit interval: offsets are committed only by the crash handler
    # (Faust commits on agent error) and by the graceful stop.
    w1 = spike.start("p1", commit_interval=60.0)
    spike.wait_assigned("p1", 4)
    values = [b"a0", b"a1", b"poison", b"a3", b"a4"]
    produce(spike.bootstrap, spike.topic, [(b"one-user", v) for v in values])
    # the supervisor restarts the crashed agent, which goes on with a3, a4
    spike.wait(lambda: {"a0", "a1", "poison", "a3", "a4"} <= {e["value"] for e in spike.events()},
               "records after the poison one")
    assert w1.stop() == 0  # SIGTERM: Faust commits every acked offset on the way out
    spike.start("p2")
    spike.wait_assigned("p2", 4)
    produce(spike.bootstrap, spike.topic, [(b"one-user", b"a5")])
    spike.wait(lambda: any(e["value"] == "a5" for e in spike.events("p2")), "a5 on p2")
    values_seen = [e["value"] for e in spike.events()]
    # The failing record was acked (and committed): not redelivered, so agents
    # must catch their own errors and dead-letter the record themselves.
    assert values_seen.count("poison") == 1
    assert [e["value"] for e in spike.events("p2")] == ["a5"]
