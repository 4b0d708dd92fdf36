"""Reusable pytest fixtures and helpers for tests that need a Kafka broker.

Import the fixtures into ``tests/conftest.py``::

    from tests.integration.kafka_fixtures import (  # noqa: F401
        tansu, tansu_broker, make_topic, processes,
    )

Why session scope: Tansu starts in ~20 ms, but sharing one broker keeps the
test run to one process; tests stay independent by using unique topic names
(``make_topic``) and unique consumer group ids.  Every process started here is
stopped by its PID in a finalizer (SIGTERM, then SIGKILL), never by name.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Mapping, Sequence

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from streams.broker import TansuBroker
from streams.topics import TopicSpec, ensure_topics

REPO_ROOT = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
_topic_counter = itertools.count(1)


@pytest.fixture(scope="session")
def tansu(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TansuBroker]:
    """The running ``TansuBroker`` (for its log and PID); memory storage."""
    log_path = tmp_path_factory.mktemp("tansu") / "tansu.log"
    broker = TansuBroker(log_path=log_path, startup_timeout=15.0)
    broker.start()
    try:
        yield broker
    finally:
        broker.stop(timeout=5.0)


@pytest.fixture(scope="session")
def tansu_broker(tansu: TansuBroker) -> str:
    """Bootstrap string ``127.0.0.1:PORT`` of the session's Tansu broker."""
    return tansu.bootstrap


@pytest.fixture
def make_topic(tansu_broker: str) -> Callable[..., str]:
    """Factory: create a uniquely named topic with its final partition count."""

    def _make(prefix: str = "test", partitions: int = 4) -> str:
        name = f"{prefix}.{os.getpid()}.{next(_topic_counter)}"
        run(ensure_topics(tansu_broker, [TopicSpec(name, partitions)]), timeout=30)
        return name

    return _make


def run(coro: Any, timeout: float = 30.0) -> Any:
    """Run a coroutine to completion from a sync test, bounded in time."""
    return asyncio.run(asyncio.wait_for(coro, timeout))


async def produce_records(
    bootstrap: str, topic: str, records: Iterable[tuple[bytes | None, bytes]]
) -> list[Any]:
    """Send keyed records; return their ``RecordMetadata`` in send order."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5,
                                max_request_size=16 * 1024 * 1024)
    await producer.start()
    try:
        futures = [await producer.send(topic, key=k, value=v) for k, v in records]
        return list(await asyncio.gather(*futures))
    finally:
        await producer.stop()


async def read_topic(bootstrap: str, topic: str, count: int, timeout: float = 30.0) -> list[Any]:
    """Read ``count`` records from the start of every partition (no group).

    Assigns partitions explicitly and seeks to the beginning: no group join
    (slow on Tansu) and no reliance on ListOffsets(LATEST) (wrong on Tansu).
    Returns aiokafka ``ConsumerRecord``s; fails if fewer arrive in time.
    """
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        await consumer.topics()  # refresh metadata (never auto-creates: no names asked)
        partitions = consumer.partitions_for_topic(topic) or set()
        if not partitions:
            raise AssertionError(f"topic {topic} does not exist")
        tps = [TopicPartition(topic, p) for p in sorted(partitions)]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        records: list[Any] = []
        deadline = time.monotonic() + timeout
        while len(records) < count and time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=200)
            for rows in batch.values():
                records.extend(rows)
        if len(records) < count:
            raise AssertionError(f"read {len(records)}/{count} records from {topic} in {timeout}s")
        return records
    finally:
        await consumer.stop()


def produce(
    bootstrap: str, topic: str, records: Iterable[tuple[bytes | None, bytes]], timeout: float = 30.0
) -> list[Any]:
    """Sync wrapper around ``produce_records``."""
    return run(produce_records(bootstrap, topic, list(records)), timeout=timeout)


def wait_until(
    predicate: Callable[[], Any], timeout: float, what: str, on_fail: Callable[[], str] = lambda: ""
) -> Any:
    """Poll ``predicate`` every 50 ms; return its truthy value or fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}\n{on_fail()}")
        time.sleep(0.05)


def read_jsonl(directory: Path, pattern: str = "*.jsonl") -> list[dict[str, Any]]:
    """All JSON lines from the files matching ``pattern``; skips a torn last line."""
    rows: list[dict[str, Any]] = []
    for path in sorted(directory.glob(pattern)):
        for line in path.read_text().splitlines():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:
                continue
    return rows


class ManagedProcess:
    """A child process (e.g. a Faust worker) with its output in a log file."""

    def __init__(self, argv: Sequence[str], env: Mapping[str, str], log_path: Path, cwd: Path):
        self.argv, self.env, self.log_path, self.cwd = list(argv), dict(env), log_path, cwd
        self.proc: subprocess.Popen[bytes] | None = None
        self.started_at = 0.0

    def start(self) -> "ManagedProcess":
        with open(self.log_path, "ab") as log:
            self.started_at = time.time()
            self.proc = subprocess.Popen(
                self.argv, cwd=self.cwd, env=self.env, stdin=subprocess.DEVNULL,
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )
        return self

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> int:
        """SIGKILL: simulate a crash (no commit, no graceful leave)."""
        assert self.proc is not None
        if self.alive():
            os.kill(self.proc.pid, signal.SIGKILL)
        return self.proc.wait(timeout=10)

    def stop(self, timeout: float = 15.0) -> int | None:
        """SIGTERM (graceful: Faust commits and leaves the group), SIGKILL on timeout."""
        if self.proc is None:
            return None
        if self.alive():
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                return self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
        return self.proc.wait(timeout=10)

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "<no log>"
        return f"--- {self.log_path}\n" + "\n".join(text.splitlines()[-lines:])


@pytest.fixture
def processes(tmp_path: Path) -> Iterator[Callable[..., ManagedProcess]]:
    """Factory starting ``ManagedProcess``es; all are stopped by PID at teardown.

    ``spawn(argv, env=..., name=...)`` runs from the repo root with the
    current interpreter's environment plus ``env``.
    """
    started: list[ManagedProcess] = []

    def spawn(argv: Sequence[str], *, env: Mapping[str, str] | None = None, name: str = "proc"):
        full_env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
        proc = ManagedProcess(argv, full_env, tmp_path / f"{name}.log", REPO_ROOT)
        started.append(proc)
        return proc.start()

    try:
        yield spawn
    finally:
        for proc in reversed(started):
            try:
                proc.stop(timeout=10)
            except Exception:  # pragma: no cover - best effort cleanup
                pass

