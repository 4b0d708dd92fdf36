"""What consumed Kafka records turn into, independent of Faust.

The Faust agents only pass records (topic, partition, offset, key, value) here and
send the returned records. A record that cannot be decoded, fails validation or
whose processing raises becomes a dead letter (recorded with its position, and
sent to the dead-letter topic) and the stream goes on. A redelivered record is
recognised by its tracked position; its hand-off to the Fine stage is re-sent,
because the crash may have happened after the commit and before that send
(refining twice is a no-op).

Batches: the Fast stage records a whole batch, whatever partitions it spans, in
one transaction with one position per partition (its last offset): one lock and
one commit per batch is what keeps the Fast path cheap and its latency short.
The Fine stage batches per partition. On any surprise (a duplicate, a conflict)
a batch falls back to one record at a time.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import socket
from dataclasses import dataclass, field
from datetime import datetime, timezone
from itertools import groupby
from typing import Any, Callable, Sequence

from application.dead_letters import DeadLetterBox, describe
from application.jsonl import parse_record
from application.service import MemoryService
from application.settings import Settings
from application.memory_app import kafka_tracking
from domain.envelope import InputEnvelope, KnowledgeDocument
from domain.values import Cause

log = logging.getLogger(__name__)

TOPIC_VALUE_LIMIT = 256 * 1024
WORKER_ID = f"{socket.gethostname()}:{os.getpid()}"


@dataclass(frozen=True)
class Record:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes


@dataclass(frozen=True)
class Outgoing:
    topic: str
    key: bytes | None
    value: bytes


@dataclass
class Handled:
    status: str  # processed | duplicate | dead_letter
    outgoing: list[Outgoing] = field(default_factory=list)
    reason: str | None = None


def _at(r: Record) -> tuple[str, int, int]:
    """Where a record came from: its identity within one call."""
    return r.topic, r.partition, r.offset


def _json(data: dict[str, Any]) -> bytes:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()


class RecordHandler:
    def __init__(self, service: MemoryService, settings: Settings) -> None:
        self.service = service
        self.store = service.store
        self.box = DeadLetterBox(service.store)
        self.fine_topic = settings.topic("fine")
        self.dead_topic = settings.topic("deadletters")

    # -- messages (Fast stage) -------------------------------------------------------------
    def _envelope(self, r: Record) -> tuple[InputEnvelope, Cause]:
        envelope = parse_record(r.value, InputEnvelope, {"event_id": f"kafka:{r.topic}:{r.partition}:{r.offset}"})
        cause = Cause(event_ids=(envelope.event_id,), topic=r.topic, partition=r.partition, offset=r.offset,
                      extra={"worker": WORKER_ID})
        return envelope, cause

    def _handoff(self, envelope: InputEnvelope, r: Record) -> Outgoing:
        return Outgoing(self.fine_topic, envelope.user_id.encode(), _json({
            "event_id": envelope.event_id, "user_id": envelope.user_id,
            "source": {"topic": r.topic, "partition": r.partition, "offset": r.offset}}))

    def on_message(self, r: Record) -> Handled:
        """Fast stage for one envelope record, then the hand-off to the Fine stage."""
        try:
            envelope, cause = self._envelope(r)
        except ValueError as e:
            return self._dead(r, str(e), "invalid_record", "fast")
        try:
            outcome = self.service.record_input(envelope, cause, self._tracking(r))
        except Exception as e:  # noqa: BLE001 - a failing record must not stop the worker
            log.exception("fast stage failed for %s[%d]@%d", r.topic, r.partition, r.offset)
            return self._dead(r, repr(e), "processing_error", "fast")
        return Handled("duplicate" if outcome.duplicate else "processed", [self._handoff(envelope, r)])

    def on_messages(self, records: Sequence[Record]) -> list[Handled]:
        return self._batched(records, self._message_runs, self.on_message, across_partitions=True)

    def _message_runs(self, runs: list[list[Record]]) -> list[Handled]:
        """Every run (one per partition) in one transaction; dead letters go in it too."""
        records = [r for run in runs for r in run]
        parsed: list[tuple[Record, Any]] = []
        for r in records:
            try:
                parsed.append((r, self._envelope(r)))
            except ValueError as e:
                parsed.append((r, str(e)))
        letters = {_at(r): self.box.letter(topic=r.topic, partition=r.partition, offset=r.offset, key=r.key,
                                           value=r.value, reason=p, error_type="invalid_record", stage="fast")
                   for r, p in parsed if isinstance(p, str)}
        good = [(r, p) for r, p in parsed if not isinstance(p, str)]
        self.service.record_batch([p for _, p in good], list(letters.values()),
                                  [self._tracking(run[-1]) for run in runs])
        handled = {_at(r): Handled("processed", [self._handoff(p[0], r)]) for r, p in good}
        for r, p in parsed:
            if isinstance(p, str):
                handled[_at(r)] = self._dead_handled(r, describe(letters[_at(r)]), p)
        return [handled[_at(r)] for r in records]

    # -- fine hand-offs ----------------------------------------------------------------------
    def _fine_request(self, r: Record) -> tuple[str, str, Cause]:
        try:
            request = json.loads(r.value)
            event_id, user_id = request["event_id"], request.get("user_id", "")
            source = request.get("source") or {}
        except (ValueError, KeyError, TypeError) as e:
            raise ValueError(f"bad hand-off: {e!r}") from None
        cause = Cause(event_ids=(event_id,), topic=source.get("topic", r.topic),
                      partition=source.get("partition", r.partition), offset=source.get("offset", r.offset),
                      extra={"fine_topic": r.topic, "fine_partition": r.partition, "fine_offset": r.offset,
                             "worker": WORKER_ID})
        return event_id, user_id, cause

    def on_fine(self, r: Record) -> Handled:
        try:
            event_id, _, cause = self._fine_request(r)
        except ValueError as e:
            return self._dead(r, str(e), "invalid_record", "fine")
        try:
            result = self.service.refine(event_id, cause, self._tracking(r))
        except Exception as e:  # noqa: BLE001
            log.exception("fine stage failed for %s", event_id)
            return self._dead(r, repr(e), "processing_error", "fine")
        return Handled("duplicate" if result.skipped else "processed")

    def on_fines(self, records: Sequence[Record]) -> list[Handled]:
        return self._batched(records, lambda runs: self._fine_run(runs[0]), self.on_fine)

    def _fine_run(self, run: list[Record]) -> list[Handled]:
        """Refine in segments of distinct users (a user's inputs must see each other's effects)."""
        requests = [self._fine_request(r) for r in run]  # a bad one raises: one by one then
        if not all(user for _, user, _ in requests):
            raise ValueError("a hand-off without user_id")
        out: list[Handled] = []
        start = 0
        while start < len(run):
            end, seen = start, set()
            while end < len(run) and requests[end][1] not in seen:
                seen.add(requests[end][1])
                end += 1
            if end - start == 1:
                out.append(self.on_fine(run[start]))
            else:
                results = self.service.refine_batch([(e, c) for e, _, c in requests[start:end]],
                                                    self._tracking(run[end - 1]))
                out += [Handled("duplicate" if x.skipped else "processed") for x in results]
            start = end
        return out

    # -- knowledge -------------------------------------------------------------------------
    def on_knowledge(self, r: Record) -> Handled:
        try:
            doc = parse_record(r.value, KnowledgeDocument)
        except ValueError as e:
            return self._dead(r, str(e), "invalid_record", "knowledge")
        cause = Cause(event_ids=(), topic=r.topic, partition=r.partition, offset=r.offset,
                      extra={"worker": WORKER_ID})
        try:
            outcome = self.service.ingest_document(doc, cause, self._tracking(r))
        except Exception as e:  # noqa: BLE001
            log.exception("knowledge ingest failed for %s/%s", doc.kb_id, doc.doc_id)
            return self._dead(r, repr(e), "processing_error", "knowledge")
        return Handled("duplicate" if outcome.duplicate else "processed")

    # -- shared ----------------------------------------------------------------------------
    @staticmethod
    def _tracking(r: Record) -> Any:
        return kafka_tracking(r.topic, r.partition, r.offset)

    def _batched(self, records: Sequence[Record], run_batch: Callable[[list[list[Record]]], list[Handled]],
                 one: Callable[[Record], Handled], across_partitions: bool = False) -> list[Handled]:
        """Batch the runs (one per partition) holding no redelivered record; the rest, and
        any batch that fails (a duplicate event_id, a conflict), go one record at a time.

        ``across_partitions``: all clean runs in one ``run_batch`` call (one transaction);
        otherwise one call per run of at least two records. Results come back in the
        order of ``records``.
        """
        out: dict[tuple[str, int, int], Handled] = {}
        clean: list[list[Record]] = []
        ordered = sorted(records, key=lambda r: (r.topic, r.partition))  # stable: offsets stay in order
        for _, group in groupby(ordered, key=lambda r: (r.topic, r.partition)):
            run = list(group)
            done = self.store.last_tracked(self._tracking(run[0]).application_name)
            if any(r.offset + 1 <= done for r in run) or (len(run) < 2 and not across_partitions):
                out.update((_at(r), one(r)) for r in run)  # redeliveries and singles take the careful path
            else:
                clean.append(run)
        if across_partitions:
            batches = [clean] if clean else []
        else:
            batches = [[run] for run in clean]
        for runs in batches:
            batch = [r for run in runs for r in run]
            try:
                out.update(zip(map(_at, batch), run_batch(runs)))
            except Exception as e:  # noqa: BLE001 - e.g. a re-published event_id: go one by one
                log.info("batch of %d from %s falls back to single records: %r", len(batch),
                         ", ".join(f"{run[0].topic}[{run[0].partition}]" for run in runs), e)
                out.update((_at(r), one(r)) for r in batch)
        return [out[_at(r)] for r in records]

    def _dead(self, r: Record, reason: str, error_type: str, stage: str) -> Handled:
        letter = self.box.record(topic=r.topic, partition=r.partition, offset=r.offset, key=r.key, value=r.value,
                                 reason=reason, error_type=error_type, stage=stage, tracking=self._tracking(r))
        return self._dead_handled(r, letter, reason)

    def _dead_handled(self, r: Record, letter: dict[str, Any], reason: str) -> Handled:
        letter["failed_at"] = datetime.now(timezone.utc).isoformat()
        # The event store keeps every byte; the topic copy stays under the broker's size limit.
        letter["value_truncated"] = len(r.value) > TOPIC_VALUE_LIMIT
        if letter["value_truncated"]:
            letter["value_b64"] = base64.b64encode(r.value[:TOPIC_VALUE_LIMIT]).decode("ascii")
        log.warning("dead letter %s[%d]@%d: %s", r.topic, r.partition, r.offset, reason[:200])
        return Handled("dead_letter", [Outgoing(self.dead_topic, r.key, _json(letter))], reason)
