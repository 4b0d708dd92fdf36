"""The Faust app: thin agents over the record handler, plus the projection loop.

Agents decode nothing themselves: they hand (topic, partition, offset, key,
value) to ``RecordHandler`` on a single worker thread (the event store is
synchronous) and send what it returns. Offsets are committed by Faust after the
event is acked (at least once); the event store's tracking makes that exactly
once in effect. The projection loop keeps the timeline, the vector index and the
memory-events outbox current; several copies of it are safe (positions are
tracked, index writes are version-guarded) but one is enough.
"""

from __future__ import annotations

import asyncio
import logging
import os
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Sequence

import faust

from memstream.bootstrap import Runtime
from application.settings import Settings
from adapters.disk_space import is_disk_full
from streams.failures import AttemptLog, RecordFailed
from streams.handlers import Record, RecordHandler
from streams.broker_watch import TopicKeeper, forbid_topic_auto_creation
from streams.faust_tuning import apply_consumer_tuning
from streams.topics import topic_specs_for
from streams.projection_loop import project_forever

log = logging.getLogger(__name__)

ROLES = ("all", "agents", "fast", "fine", "offline")
"""all = everything in one process; agents = Fast + Fine + knowledge; fast / fine = one stage
each (separate processes use both cores). ``--role projections`` needs no consumer: see
streams/projection_loop.py. offline = the Offline stage's sweeps (streams/offline_sweeps.py)."""
HANDLE_ATTEMPTS = 5
BATCH_MAX = 200  # records per take; the Fast stage writes a take in one transaction
BATCH_WITHIN = 0.005  # seconds to wait for a batch to fill: bounds the added latency
DISK_FULL_WAIT = 1.0  # seconds between retries while the data dir's disk is full
EXIT_REDELIVER = 75  # EX_TEMPFAIL: a supervisor should restart the worker


def faust_settings(settings: Settings, web_port: int = 0) -> dict[str, Any]:
    return {
        "broker": [f"kafka://{server}" for server in settings.kafka_servers],
        "broker_session_timeout": settings.session_timeout,
        "broker_heartbeat_interval": min(settings.session_timeout / 4, 3.0),
        "broker_commit_interval": 1.0,
        "consumer_auto_offset_reset": "earliest",  # never rely on LATEST (see docs/design.md)
        "processing_guarantee": "at_least_once",  # exactly-once effect comes from the event store
        "topic_partitions": settings.partitions,
        "topic_allow_declare": False,  # topics are created up front with their final partitions
        "topic_disable_leader": True,
        "store": "memory://",
        "datadir": str(settings.data_dir / "faust"),  # not the working directory: Faust keeps state there
        "web_enabled": web_port > 0,
        "web_port": web_port or 6066,
        "web_host": "127.0.0.1",
    }


def build_app(settings: Settings, runtime: Runtime, role: str = "all", web_port: int = 0) -> faust.App:
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    apply_consumer_tuning()
    forbid_topic_auto_creation()  # a restarted broker must not get 4-partition guesses (broker_watch.py)
    # Single-stage roles consume in their own group: a group's members share one subscription.
    group = settings.consumer_group if role in ("all", "agents") else f"{settings.consumer_group}-{role}"
    app = faust.App(group, **faust_settings(settings, web_port))
    # One thread per stage: the Fast stage must not queue behind slower Fine or projection
    # work (each stage still processes its records in order, one batch at a time).
    lanes = {name: ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"memstream-{name}")
             for name in ("fast", "fine", "projections")}
    handler = RecordHandler(runtime.service, settings)
    attempts = AttemptLog(settings.data_dir / "attempts.json")

    def topic(name: str, partitions: int | None = None) -> faust.TopicT:
        return app.topic(
            settings.topic(name), key_type=bytes, value_type=bytes, key_serializer="raw",
            value_serializer="raw", partitions=partitions or settings.partitions,
        )

    messages, knowledge, fine = topic("messages"), topic("knowledge"), topic("fine")
    outputs = {settings.topic("fine"): fine, settings.topic("deadletters"): topic("deadletters", 1)}
    memory_events = topic("memory-events")
    offline_marks = topic("offline")

    async def mark_changed(events: Sequence[faust.EventT]) -> None:
        """Tell the Offline stage which users the Fine stage just handled (keys are user ids)."""
        for key in dict.fromkeys(e.key for e in events if e.key):
            await offline_marks.send(key=key, value=b"")

    def lane(name: str) -> Callable[..., Any]:
        async def run(call: Callable[..., Any], *args: Any) -> Any:
            return await asyncio.get_running_loop().run_in_executor(lanes[name], call, *args)

        return run

    run = lane("projections")

    async def handle(method: Callable[..., Any], events: Sequence[faust.EventT], stage: str) -> None:
        """Never let an exception escape: Faust would ack (and so drop) the records.

        The handler turns bad input and a record's own failures into dead letters. What
        reaches here is infrastructure trouble (streams/failures.py): back off and retry.
        A record that keeps failing the same way is dead-lettered after
        ``MEMSTREAM_MAX_ATTEMPTS`` (counted across restarts) and the rest goes on; when
        even that cannot be written, the worker exits so the records are redelivered.
        A full disk (adapters/disk_space.py) counts against no record: the batch waits
        for space and is retried, so nothing is dead-lettered or half-done for it.
        """
        records = [Record(e.message.topic, e.message.partition, e.message.offset, e.key, e.value) for e in events]
        keys = [AttemptLog.key(r.topic, r.partition, r.offset) for r in records]
        attempt, waiting_for_space = 0, False
        while attempt < HANDLE_ATTEMPTS:
            attempt += 1
            try:
                handled = await lane(stage)(method, records)
                for item in handled:
                    for out in item.outgoing:
                        await outputs[out.topic].send(key=out.key, value=out.value)
                attempts.succeeded(keys)
                return
            except Exception as e:  # noqa: BLE001 - a full disk is nobody's record: wait for space
                if not is_disk_full(e):
                    if not isinstance(e, RecordFailed):
                        log.exception("%d records from %s failed (attempt %d/%d)", len(records), records[0].topic,
                                      attempt, HANDLE_ATTEMPTS)
                        await asyncio.sleep(min(0.2 * 2**attempt, 5.0))
                        continue
                    failure = e
                else:
                    if not waiting_for_space:
                        log.error("%s: waiting for space, then %d records from %s are retried", e,
                                  len(records), records[0].topic)
                    waiting_for_space, attempt = True, attempt - 1
                    await asyncio.sleep(DISK_FULL_WAIT)
                    continue
                r = failure.record
                count = attempts.failed(AttemptLog.key(r.topic, r.partition, r.offset), failure.args[0])
                log.error("%s[%d]@%d failed (%d/%d): %s", r.topic, r.partition, r.offset, count,
                          settings.max_attempts, failure.args[0])
                if count >= settings.max_attempts:
                    try:
                        letter = await lane(stage)(handler.dead_letter_after, r, failure.stage, count, failure.error)
                        for out in letter.outgoing:
                            await outputs[out.topic].send(key=out.key, value=out.value)
                        continue  # the others of the batch go on at once
                    except Exception:  # noqa: BLE001 - the store itself is down: retry below
                        log.exception("could not dead-letter %s[%d]@%d", r.topic, r.partition, r.offset)
            await asyncio.sleep(min(0.2 * 2**attempt, 5.0))
        log.critical("giving up on %s[%d]@%d: exiting so it is redelivered",
                     records[0].topic, records[0].partition, records[0].offset)
        os._exit(EXIT_REDELIVER)

    if role in ("all", "agents", "fast"):

        @app.agent(messages, name="memstream.fast")
        async def consume_messages(stream: faust.StreamT) -> None:
            async for events in stream.take_events(BATCH_MAX, within=BATCH_WITHIN):
                await handle(handler.on_messages, events, "fast")

    if role in ("all", "agents", "fine"):

        @app.agent(fine, name="memstream.fine")
        async def consume_fine_requests(stream: faust.StreamT) -> None:
            async for events in stream.take_events(BATCH_MAX, within=BATCH_WITHIN):
                await handle(handler.on_fines, events, "fine")
                await mark_changed(events)

        @app.agent(knowledge, name="memstream.knowledge")
        async def consume_knowledge(stream: faust.StreamT) -> None:
            async for event in stream.events():
                await handle(handler.on_knowledge_records, [event], "fine")

    async def hand_off_again(created: list[str]) -> None:
        """The restarted broker lost the hand-offs it held: send one for every unrefined input."""
        if role not in ("all", "agents", "fast"):
            return
        again = await lane("fast")(handler.handoffs_again)
        for out in again:
            await outputs[out.topic].send(key=out.key, value=out.value)
        if again:
            log.warning("handed %d recorded but unrefined inputs to the Fine stage again", len(again))

    keeper = TopicKeeper(settings.kafka_servers, topic_specs_for(settings), on_restart=hand_off_again)

    @app.task
    async def keep_topics() -> None:
        await keeper.run(lambda: app.should_stop)

    if role in ("all", "offline"):
        from streams.offline_sweeps import add_offline_agents

        add_offline_agents(app, settings, runtime, offline_marks, lanes)

    if role == "all":  # the process owning the embedded index: the only one that can forget in full
        from streams.control import add_control_agent

        async def send_out(out: Any) -> None:
            await outputs[out.topic].send(key=out.key, value=out.value)

        add_control_agent(app, settings, runtime, topic("control"), lanes, send_out)

        @app.task
        async def run_projections() -> None:
            async def send(key: bytes, value: bytes) -> Any:
                return await memory_events.send(key=key, value=value)

            await app.producer.maybe_start()  # the outbox sends through it
            await project_forever(runtime, send, run, lambda: app.should_stop)

    return app
