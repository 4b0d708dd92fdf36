"""The projection loop: timeline, vector index (+ lexical) and the memory-events outbox.

It consumes no topic, so it does not need a Faust consumer: inside an ``all``
worker it runs as a Faust task, and ``memstream worker --role projections`` runs
it alone with a plain producer for the outbox. Several copies are safe (positions
are tracked, index writes version-guarded), but one is enough.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections import Counter
from typing import Any, Awaitable, Callable

from memstream.bootstrap import Runtime
from application.settings import Settings
from streams.outbox import mark_published, pending_records

log = logging.getLogger(__name__)

Run = Callable[..., Awaitable[Any]]
Send = Callable[[bytes, bytes], Awaitable[Any]]
IDLE_SLEEP = 0.005
"""Seconds between polls of an idle log: an empty poll is one indexed query (~0.1 ms)."""
MOVED: Counter[str] = Counter()
"""Events projected ("projection") and memory events published ("outbox") by this process,
for the worker's progress line (read on the event loop, where it is counted)."""


async def publish_outbox(runtime: Runtime, send: Send, run: Run) -> int:
    """Send pending memory events, then advance the outbox position (at least once)."""
    records = await run(pending_records, runtime.store, runtime.timeline)
    if not records:
        return 0
    futures = [await send(key, value) for _, key, value in records]
    await asyncio.gather(*futures)
    await run(mark_published, runtime.timeline, records[-1][0])
    return len(records)


async def project_forever(runtime: Runtime, send: Send | None, run: Run, stopping: Callable[[], bool]) -> None:
    """Two loops on one event loop and one worker thread (``run``): the projections and
    the outbox. The outbox waits for the broker's acks before it advances; doing that
    between catch-ups held the next catch-up back by the ack round trip (~17 % of the
    loop's time at 200 msg/s), so it now waits on its own."""
    loops = [_repeat(lambda: run(runtime.catch_up), "projection", stopping)]
    if send is not None:
        loops.append(_repeat(lambda: publish_outbox(runtime, send, run), "outbox", stopping))
    await asyncio.gather(*loops)


async def _repeat(step: Callable[[], Awaitable[int]], name: str, stopping: Callable[[], bool]) -> None:
    while not stopping():
        try:
            moved = await step()
        except Exception:  # noqa: BLE001 - keep going; the error is logged
            log.exception("%s loop failed; retrying", name)
            moved = 0
            await asyncio.sleep(1.0)
        if moved:
            MOVED[name] += int(moved)
        else:
            await asyncio.sleep(IDLE_SLEEP)


def run_projection_worker(settings: Settings, runtime: Runtime, on_ready: Callable[[], None] | None = None,
                          progress: Callable[[], None] | None = None, every: float = 0.0) -> int:
    """``--role projections``: the loop alone until SIGTERM / SIGINT. ``on_ready`` is called
    once the producer is connected, ``progress`` every ``every`` seconds."""
    return asyncio.run(_main(settings, runtime, on_ready, progress, every))


async def _report(progress: Callable[[], None], every: float) -> None:
    while True:
        await asyncio.sleep(every)
        progress()


async def _main(settings: Settings, runtime: Runtime, on_ready: Callable[[], None] | None = None,
                progress: Callable[[], None] | None = None, every: float = 0.0) -> int:
    from concurrent.futures import ThreadPoolExecutor

    from aiokafka import AIOKafkaProducer

    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="memstream-projections")

    async def run(call: Callable[..., Any], *args: Any) -> Any:
        return await loop.run_in_executor(executor, call, *args)

    from streams.broker_watch import TopicKeeper, forbid_topic_auto_creation
    from streams.topics import topic_specs_for

    forbid_topic_auto_creation()  # a restarted broker gets its topics from the keeper, with their counts
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_servers, acks="all", linger_ms=5)
    await producer.start()
    topic = settings.topic("memory-events")
    keeper = asyncio.ensure_future(TopicKeeper(settings.kafka_servers, topic_specs_for(settings)).run(stop.is_set))

    async def send(key: bytes, value: bytes) -> Any:
        return await producer.send(topic, value=value, key=key)

    reporter = asyncio.ensure_future(_report(progress, every)) if progress and every > 0 else None
    if on_ready is not None:
        on_ready()
    try:
        await project_forever(runtime, send, run, stop.is_set)
    finally:
        if reporter is not None:
            reporter.cancel()
        keeper.cancel()
        await producer.stop()
        executor.shutdown(wait=True)
    return 0
