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
from application.knowledge import document_event_id
from application.memory_app import kafka_tracking
from domain.envelope import MAX_ENVELOPE_BYTES, InputEnvelope, KnowledgeDocument
from domain.values import Cause
from eventsourcing.persistence import IntegrityError
from streams.failures import RecordFailed, error_text, is_infrastructure
from streams.payloads import DeadLetterRecord, FineRequest, KafkaPosition

log = logging.getLogger(__name__)

TOPIC_VALUE_LIMIT = MAX_ENVELOPE_BYTES  # every envelope the contract accepts fits whole
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


class RecordHandler:
    def __init__(self, service: MemoryService, settings: Settings) -> None:
        self.service = service
        self.store = service.store
        self.incarnation = self.store.broker_incarnation().number
        self.box = DeadLetterBox(service.store)
        self.fine_topic = settings.topic("fine")
        self.dead_topic = settings.topic("deadletters")

    # -- messages (Fast stage) -------------------------------------------------------------
    def _envelope(self, r: Record) -> tuple[InputEnvelope, Cause]:
        envelope = parse_record(r.value, InputEnvelope)
        cause = Cause(event_ids=(envelope.event_id,), topic=r.topic, partition=r.partition, offset=r.offset,
                      extra={"worker": WORKER_ID})
        return envelope, cause

    def _handoff(self, envelope: InputEnvelope, r: Record) -> Outgoing:
        request = FineRequest(event_id=envelope.event_id, user_id=envelope.user_id,
                              source=KafkaPosition(topic=r.topic, partition=r.partition, offset=r.offset))
        return Outgoing(self.fine_topic, envelope.user_id.encode(), request.model_dump_json().encode())

    def handoffs_again(self) -> list[Outgoing]:
        """A hand-off to the Fine stage for every input recorded and not yet refined: after
        a broker restart those the old broker carried are gone (streams/broker_watch.py)."""
        out = []
        for raw in self.store.unrefined_inputs():
            cause = raw.cause or {}
            source = KafkaPosition(topic=cause.get("topic") or "", partition=cause.get("partition") or 0,
                                   offset=cause.get("offset") or 0)
            request = FineRequest(event_id=raw.event_id, user_id=raw.user_id, source=source)
            out.append(Outgoing(self.fine_topic, raw.user_id.encode(), request.model_dump_json().encode()))
        return out

    def on_message(self, r: Record) -> Handled:
        """Fast stage for one envelope record, then the hand-off to the Fine stage."""
        try:
            envelope, cause = self._envelope(r)
        except ValueError as e:
            return self._dead(r, str(e), "invalid_record", "fast")
        tracking = self._tracking(r)
        if self.store.is_tracked(tracking) and not self._consumed(r, self.store.raw_input(envelope.event_id,
                                                                                   envelope.user_id)):
            tracking = self._broker_replaced(r)
        outcome = self.service.record_input(envelope, cause, tracking)
        return Handled("duplicate" if outcome.duplicate else "processed", [self._handoff(envelope, r)])

    def on_messages(self, records: Sequence[Record]) -> list[Handled]:
        return self._batched(records, self._message_runs, self.on_message, "fast", across_partitions=True)

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
        """Decode a hand-off with its schema's model: one without user_id is rejected."""
        request = parse_record(r.value, FineRequest)
        cause = Cause(event_ids=(request.event_id,), topic=request.source.topic,
                      partition=request.source.partition, offset=request.source.offset,
                      extra={"fine_topic": r.topic, "fine_partition": r.partition, "fine_offset": r.offset,
                             "worker": WORKER_ID})
        return request.event_id, request.user_id, cause

    def on_fine(self, r: Record) -> Handled:
        try:
            event_id, user_id, cause = self._fine_request(r)
        except ValueError as e:
            return self._dead(r, f"bad hand-off: {e}", "invalid_record", "fine")
        tracking = self._tracking(r)
        if self.store.is_tracked(tracking):
            raw = self.store.raw_input(event_id, user_id)
            if not self._consumed(r, raw if raw is not None and raw.is_refined else None):
                tracking = self._broker_replaced(r)
        result = self.service.refine(event_id, cause, tracking, user_id=user_id)
        return Handled("duplicate" if result.skipped else "processed")

    def on_fines(self, records: Sequence[Record]) -> list[Handled]:
        return self._batched(records, lambda runs: self._fine_run(runs[0]), self.on_fine, "fine")

    def _fine_run(self, run: list[Record]) -> list[Handled]:
        """Refine in segments of distinct users (a user's inputs must see each other's effects)."""
        requests = [self._fine_request(r) for r in run]  # a bad one raises: one by one then
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
                                                    self._tracking(run[end - 1]),
                                                    [u for _, u, _ in requests[start:end]])
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
        tracking = self._tracking(r)
        if self.store.is_tracked(tracking) and not self._consumed(r, self.store.raw_input(document_event_id(doc))):
            tracking = self._broker_replaced(r)
        outcome = self.service.ingest_document(doc, cause, tracking)
        return Handled("duplicate" if outcome.duplicate else "processed")

    def on_knowledge_records(self, records: Sequence[Record]) -> list[Handled]:
        return [self._one(self.on_knowledge, r, "knowledge") for r in records]

    # -- shared ----------------------------------------------------------------------------
    def _tracking(self, r: Record) -> Any:
        return kafka_tracking(r.topic, r.partition, r.offset, self.incarnation)

    def on_record(self, r: Record) -> Handled:
        """Whatever topic ``r`` came from (a single record's careful path)."""
        if r.topic == self.fine_topic:
            return self.on_fine(r)
        if r.topic.endswith(".knowledge"):
            return self.on_knowledge(r)
        return self.on_message(r)

    # -- a replaced broker -----------------------------------------------------------------
    def _consumed(self, r: Record, outcome: Any) -> bool:
        """Whether the record at a tracked position really is one this store consumed:
        its outcome exists (``outcome`` not None), or it was dead-lettered as it is."""
        if outcome is not None:
            return True
        letter = self.box.get(r.topic, r.partition, r.offset)
        return letter is not None and base64.b64decode(letter["value_b64"]) == r.value

    def _broker_replaced(self, r: Record) -> Any:
        """A record the store never saw sits at a tracked position: the broker numbers
        its offsets afresh (domain/broker_incarnation.py). Count a new incarnation, unless
        another worker already did, and track under its names from now on."""
        for _ in range(5):
            known = self.store.broker_incarnation()
            if known.number > self.incarnation:
                break
            known.replaced(evidence=f"{r.topic}[{r.partition}]@{r.offset}")
            try:
                self.store.save_tracked([known], None)
                break
            except IntegrityError:  # another worker counted it at the same moment
                continue
        previous, self.incarnation = self.incarnation, known.number
        log.warning("%s[%d]@%d is at a position already tracked, yet this store never saw it: the broker "
                    "was replaced and numbers its offsets afresh. Positions now count as broker "
                    "incarnation %d (was %d); repeated inputs are still recognised by event_id.",
                    r.topic, r.partition, r.offset, self.incarnation, previous)
        return self._tracking(r)

    def dead_letter_after(self, r: Record, stage: str, attempts: int, error: BaseException) -> Handled:
        """A record that failed the same way ``attempts`` times: a dead letter, the stream goes on."""
        return self._dead(r, f"failed {attempts} times: {error_text(error)}", "processing_error", stage)

    def _one(self, one: Callable[[Record], Handled], r: Record, stage: str) -> Handled:
        """One record on its own. Its own failure becomes a dead letter at once; an
        infrastructure failure goes up as RecordFailed, to be retried (streams/failures.py)."""
        try:
            return one(r)
        except Exception as e:  # noqa: BLE001 - classified below, never swallowed
            if is_infrastructure(e):
                raise RecordFailed(r, stage, e) from e
            log.exception("%s stage failed for %s[%d]@%d", stage, r.topic, r.partition, r.offset)
            return self._dead(r, error_text(e), "processing_error", stage)

    def _batched(self, records: Sequence[Record], run_batch: Callable[[list[list[Record]]], list[Handled]],
                 one: Callable[[Record], Handled], stage: str, across_partitions: bool = False) -> list[Handled]:
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
                out.update((_at(r), self._one(one, r, stage)) for r in run)  # redeliveries and singles: careful path
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
                out.update((_at(r), self._one(one, r, stage)) for r in batch)
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
        record = DeadLetterRecord.model_validate(letter)
        return Handled("dead_letter", [Outgoing(self.dead_topic, r.key, record.model_dump_json().encode())], reason)
