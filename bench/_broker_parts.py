"""Moving parts of the broker benchmark: the store observer and the paced publisher.

Why observe the event store instead of instrumenting the worker: the benchmark
must measure the shipped worker unchanged. Everything the read side can see is
in the event store: an episode is *recorded* when its MemoryCreated notification
exists, and *searchable* when the vector projection's tracked position
("projection:vector") has passed that notification id. Reading the SQLite file
from another process is read-only and cheap (one indexed range query per poll).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from typing import Any, Sequence

from aiokafka import AIOKafkaProducer

from memstream.bootstrap import build_runtime
from application.settings import Settings
from domain.raw_input import episode_id, raw_input_id
from projections.catch_up import MEMORY_TOPICS
from projections.vector_projection import TRACKING_NAME as VECTOR_POSITION


_CREATED = MEMORY_TOPICS[0]
_REFINED = "domain.raw_input:RawInput.InputRefined"


class Observer:
    """Read-only follower of the worker's event store; timestamps with time.monotonic()
    (CLOCK_MONOTONIC is system-wide, so it compares with the publisher's stamps)."""

    def __init__(self, settings: Settings) -> None:
        self.runtime = build_runtime(settings, with_vectors=False, sync_projections=False)
        self.recorder = self.runtime.store.recorder
        self.last = 0
        self.episode_of: dict[Any, str] = {}
        self.raw_of: dict[Any, str] = {}
        self.fast_at: dict[str, float] = {}
        self.refined_at: dict[str, float] = {}
        self.visible_at: dict[str, float] = {}
        self.pending: deque[tuple[int, str]] = deque()
        self.last_memory_nid = 0
        self.vpos = 0
        self.polls = 0
        self.advances: list[tuple[float, int]] = []  # (when, position) each time the vector position moved

    def expect(self, event_ids: Sequence[str]) -> None:
        for eid in event_ids:
            self.episode_of[episode_id(eid, "0")] = eid
            self.raw_of[raw_input_id(eid)] = eid

    def poll(self) -> None:
        self.polls += 1
        while True:
            rows = self.recorder.select_notifications(self.last + 1, limit=2000)
            now = time.monotonic()
            for n in rows:
                if n.topic in MEMORY_TOPICS:
                    self.last_memory_nid = n.id
                    if n.topic == _CREATED and n.originator_id in self.episode_of:
                        eid = self.episode_of[n.originator_id]
                        self.fast_at[eid] = now
                        self.pending.append((n.id, eid))
                elif n.topic == _REFINED and n.originator_id in self.raw_of:
                    self.refined_at[self.raw_of[n.originator_id]] = now
            if rows:
                self.last = rows[-1].id
            if len(rows) < 2000:
                break
        vpos = self.runtime.timeline.max_tracking_id(VECTOR_POSITION) or 0
        now = time.monotonic()
        if vpos != self.vpos:
            self.advances.append((now, vpos))
        self.vpos = vpos
        while self.pending and self.pending[0][0] <= self.vpos:
            self.visible_at[self.pending.popleft()[1]] = now

    def all_recorded(self, event_ids: Sequence[str]) -> bool:
        return all(e in self.fast_at for e in event_ids)

    def all_projected(self, event_ids: Sequence[str]) -> bool:
        return (all(e in self.refined_at for e in event_ids) and all(e in self.visible_at for e in event_ids)
                and self.vpos >= self.last_memory_nid)

    def projection_cycle(self, since: float) -> dict[str, Any]:
        """How often the vector position moved after ``since`` (the projection loop's pace)."""
        times = [t for t, _ in self.advances if t >= since]
        gaps = sorted(b - a for a, b in zip(times, times[1:]))
        if not gaps:
            return {"advances": len(times)}
        return {"advances": len(times), "gap_ms_p50": round(1000 * gaps[len(gaps) // 2], 1),
                "gap_ms_max": round(1000 * gaps[-1], 1)}

    def memory_counts(self) -> dict[str, int]:
        rows = self.runtime.timeline._execute(  # noqa: SLF001 - read-only summary
            "SELECT kind, status, COUNT(*) FROM timeline_current GROUP BY kind, status")
        return {f"{k}/{s}": c for k, s, c in rows}

    def close(self) -> None:
        self.runtime.close()


async def paced_publish(bootstrap: str, topic: str, records: Sequence[tuple[str, bytes, bytes]], rate: float,
                        sent_at: dict[str, float], acked_at: dict[str, float]) -> None:
    """Send at a fixed rate (open loop: the schedule does not wait for the worker)."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=0,
                                enable_idempotence=False, request_timeout_ms=30000)
    await producer.start()
    try:
        futures = []
        t0 = time.monotonic()
        for i, (eid, key, value) in enumerate(records):
            delay = t0 + i / rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            sent_at[eid] = time.monotonic()
            fut = await producer.send(topic, value=value, key=key)
            fut.add_done_callback(lambda _f, eid=eid: acked_at.__setitem__(eid, time.monotonic()))
            futures.append(fut)
        await asyncio.gather(*futures)
    finally:
        await producer.stop()


def records_of(envelopes: list[dict[str, Any]]) -> list[tuple[str, bytes, bytes]]:
    return [(e["event_id"], e["user_id"].encode(), json.dumps(e, ensure_ascii=False).encode()) for e in envelopes]


def in_thread(coro: Any) -> threading.Thread:
    thread = threading.Thread(target=asyncio.run, args=(coro,), daemon=True)
    thread.start()
    return thread


_HOG = """
import sys, time
busy = 0.01 * float(sys.argv[1])
while True:
    t = time.perf_counter()
    while time.perf_counter() - t < busy:
        pass
    time.sleep(0.01 - busy)
"""


class CpuHog:
    """A process that keeps ``duty`` of a core busy (in 10 ms cycles) at normal priority.

    Why: the shared VM's speed drifts between phases in which the same run costs 15
    to 39 CPU seconds (docs/benchmarks.md), so whether a change helps on a slow phase
    could only be learnt by waiting for one. A competing process takes a steady share
    of the two cores instead: a reproducible stand-in for a slower machine, to compare
    variants under, not a model of the VM's slowness. Stopped by its pid.
    """

    def __init__(self, duty: float) -> None:
        if not 0 < duty <= 1:
            raise ValueError(f"--cpu-hog must be in (0, 1], got {duty}")
        self.proc = subprocess.Popen([sys.executable, "-c", _HOG, str(min(duty, 0.999))],
                                     start_new_session=True)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)
