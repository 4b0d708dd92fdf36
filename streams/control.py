"""The control topic: operator commands carried by the stream. One so far: ``forget``.

A record on ``memstream.control``, keyed by user_id (schemas/control.schema.json)::

    {"command": "forget", "user_id": "u-1", "memory_id": null, "reason": "erasure request",
     "request_id": "ticket-4711"}

does what ``memstream forget --user u-1 --yes`` does: it is decoded here and handed to
``Memstream.forget``, the use case the CLI calls (application/forgetting.py composed by
the public API), over the worker's own runtime. That is why only a ``--role all``
worker consumes the topic: it is the process that owns the embedded vector index the
forget must purge. The memory-events tombstones are not sent here: the outbox sends
one per forgotten memory when it reaches the forgetting's audit record in the log
(streams/outbox.py), whoever forgot (this agent, the CLI, the HTTP API).

While a forget runs, the worker's other lanes wait for it (``exclusive``): the Fast, Fine
and Offline stages cannot record anything about the user half-way through (a sweep that
saved the user's memories after the key was deleted would seal their old content under a
new key), and the projection loop does not write the timeline or the index the forget
rewrites.

A record that is not a valid command, or names a memory the user does not have, is a
dead letter with its reason (stage ``control``); the position is tracked, so a
redelivered command is not applied twice.
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import Executor
from typing import Any, Callable, Mapping

from application.dead_letters import DeadLetterBox
from application.jsonl import parse_record
from application.memory_app import kafka_tracking
from application.settings import Settings
from streams.handlers import Outgoing, Record
from streams.payloads import DeadLetterRecord, ForgetCommand

log = logging.getLogger(__name__)

ATTEMPTS = 5
LANE_ORDER = ("offline", "fast", "fine", "projections")
"""The forget runs on the last lane while the earlier ones each wait for the next (``offline``:
the Offline stage's sweeps, when this worker runs them)."""


class ControlHandler:
    """Decode a control record and apply it; synchronous (runs on a worker lane)."""

    def __init__(self, settings: Settings, runtime: Any, dead_topic: str) -> None:
        from memstream import Memstream

        self.memstream = Memstream.over(runtime, settings)
        self.store = runtime.store
        self.box = DeadLetterBox(runtime.store)
        self.dead_topic = dead_topic
        self.incarnation = self.store.broker_incarnation().number

    def handle(self, r: Record) -> tuple[str, dict[str, Any] | None, list[Outgoing]]:
        """(status, the forget's report, records to send): processed | duplicate | dead_letter."""
        tracking = kafka_tracking(r.topic, r.partition, r.offset, self.incarnation)
        if self.store.is_tracked(tracking):
            return "duplicate", None, []
        try:
            command = parse_record(r.value, ForgetCommand)
        except ValueError as e:
            return "dead_letter", None, self._dead(r, str(e), "invalid_record", tracking)
        try:
            report = self.memstream.forget(user_id=command.user_id, memory_id=command.memory_id,
                                           reason=command.reason)
        except LookupError as e:
            return "dead_letter", None, self._dead(r, str(e.args[0] if e.args else e), "invalid_record", tracking)
        self.store.track_only(tracking)
        log.info("forgot %s%s (request %s): %d memories, audit record %s", command.user_id,
                 f" memory {command.memory_id}" if command.memory_id else "", command.request_id,
                 report["memories"], report["record_id"])
        return "processed", report, []

    def _dead(self, r: Record, reason: str, error_type: str, tracking: Any) -> list[Outgoing]:
        from datetime import datetime, timezone

        letter = self.box.record(topic=r.topic, partition=r.partition, offset=r.offset, key=r.key, value=r.value,
                                 reason=reason, error_type=error_type, stage="control", tracking=tracking)
        letter["failed_at"] = datetime.now(timezone.utc).isoformat()
        letter["value_truncated"] = False
        log.warning("dead letter %s[%d]@%d: %s", r.topic, r.partition, r.offset, reason[:200])
        return [Outgoing(self.dead_topic, r.key, DeadLetterRecord.model_validate(letter).model_dump_json().encode())]


def exclusive(lanes: Mapping[str, Executor], call: Callable[..., Any], *args: Any) -> "asyncio.Future[Any]":
    """Run ``call`` on the projections lane while the other lanes wait for it to end.

    Each lane's thread blocks on the next lane's future, never the other way round, so
    the nesting cannot deadlock; work queued on any lane runs after the call."""
    order = [name for name in LANE_ORDER if name in lanes]

    def on(i: int) -> Any:
        if i == len(order) - 1:
            return call(*args)
        return lanes[order[i + 1]].submit(on, i + 1).result()

    return asyncio.get_running_loop().run_in_executor(lanes[order[0]], on, 0)


def add_control_agent(app: Any, settings: Settings, runtime: Any, control: Any, lanes: Mapping[str, Executor],
                      send: Callable[[Outgoing], Any]) -> None:
    """Consume the control topic in this (``--role all``) worker. ``send`` publishes an Outgoing."""
    handler = ControlHandler(settings, runtime, settings.topic("deadletters"))

    @app.agent(control, name="memstream.control")
    async def consume_control(stream: Any) -> None:
        async for event in stream.events():
            m = event.message
            record = Record(m.topic, m.partition, m.offset, event.key, event.value or b"")
            for out in await apply(record):
                await send(out)

    async def apply(record: Record) -> list[Outgoing]:
        """Retry infrastructure trouble; a command that keeps failing is a dead letter, never dropped."""
        for attempt in range(1, ATTEMPTS + 1):
            try:
                return (await exclusive(lanes, handler.handle, record))[2]
            except Exception as e:  # noqa: BLE001
                log.exception("control record %s[%d]@%d failed (%d/%d)", record.topic, record.partition,
                              record.offset, attempt, ATTEMPTS)
                error = e
                await asyncio.sleep(min(0.2 * 2**attempt, 5.0))
        tracking = kafka_tracking(record.topic, record.partition, record.offset, handler.incarnation)
        return handler._dead(record, f"{type(error).__name__}: {error}", "processing_error", tracking)
