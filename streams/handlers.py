"""What a consumed Kafka record turns into, independent of Faust.

The Faust agents only pass (topic, partition, offset, key, value) here and send
the returned records. A record that cannot be decoded, fails validation or whose
processing raises becomes a dead letter (recorded with its position, and sent to
the dead-letter topic) and the stream goes on. A redelivered record is recognised
by its tracked position; its hand-off to the Fine stage is re-sent, because the
crash may have happened after the commit and before that send (refining twice is
a no-op).
"""

from __future__ import annotations

import base64
import json
import logging
import os
import socket
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from application.dead_letters import DeadLetterBox
from application.jsonl import parse_record
from application.service import MemoryService
from application.settings import Settings
from application.store import kafka_tracking
from domain.envelope import InputEnvelope, KnowledgeDocument
from domain.values import Cause

log = logging.getLogger(__name__)

TOPIC_VALUE_LIMIT = 256 * 1024
WORKER_ID = f"{socket.gethostname()}:{os.getpid()}"


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


def _json(data: dict[str, Any]) -> bytes:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()


class RecordHandler:
    def __init__(self, service: MemoryService, settings: Settings) -> None:
        self.service = service
        self.store = service.store
        self.box = DeadLetterBox(service.store)
        self.fine_topic = settings.topic("fine")
        self.dead_topic = settings.topic("deadletters")

    def on_message(self, topic: str, partition: int, offset: int, key: bytes | None, value: bytes) -> Handled:
        """Fast stage for one envelope record, then the hand-off to the Fine stage."""
        tracking = kafka_tracking(topic, partition, offset)
        try:
            envelope = parse_record(value, InputEnvelope, {"event_id": f"kafka:{topic}:{partition}:{offset}"})
        except ValueError as e:
            return self._dead(topic, partition, offset, key, value, str(e), "invalid_record", "fast", tracking)
        cause = Cause(event_ids=(envelope.event_id,), topic=topic, partition=partition, offset=offset,
                      extra={"worker": WORKER_ID})
        try:
            outcome = self.service.record_input(envelope, cause, tracking)
        except Exception as e:  # noqa: BLE001 - a failing record must not stop the worker
            log.exception("fast stage failed for %s[%d]@%d", topic, partition, offset)
            return self._dead(topic, partition, offset, key, value, repr(e), "processing_error", "fast", tracking)
        handoff = Outgoing(
            self.fine_topic,
            envelope.user_id.encode(),
            _json({"event_id": envelope.event_id, "user_id": envelope.user_id,
                   "source": {"topic": topic, "partition": partition, "offset": offset}}),
        )
        return Handled("duplicate" if outcome.duplicate else "processed", [handoff])

    def on_fine(self, topic: str, partition: int, offset: int, key: bytes | None, value: bytes) -> Handled:
        tracking = kafka_tracking(topic, partition, offset)
        try:
            request = json.loads(value)
            event_id = request["event_id"]
            source = request.get("source") or {}
        except (ValueError, KeyError, TypeError) as e:
            return self._dead(topic, partition, offset, key, value, f"bad hand-off: {e!r}", "invalid_record", "fine", tracking)
        cause = Cause(event_ids=(event_id,), topic=source.get("topic", topic),
                      partition=source.get("partition", partition), offset=source.get("offset", offset),
                      extra={"fine_topic": topic, "fine_partition": partition, "fine_offset": offset,
                             "worker": WORKER_ID})
        try:
            result = self.service.refine(event_id, cause, tracking)
        except Exception as e:  # noqa: BLE001
            log.exception("fine stage failed for %s", event_id)
            return self._dead(topic, partition, offset, key, value, repr(e), "processing_error", "fine", tracking)
        return Handled("duplicate" if result.skipped else "processed")

    def on_knowledge(self, topic: str, partition: int, offset: int, key: bytes | None, value: bytes) -> Handled:
        tracking = kafka_tracking(topic, partition, offset)
        try:
            doc = parse_record(value, KnowledgeDocument)
        except ValueError as e:
            return self._dead(topic, partition, offset, key, value, str(e), "invalid_record", "knowledge", tracking)
        cause = Cause(event_ids=(), topic=topic, partition=partition, offset=offset)
        try:
            outcome = self.service.ingest_document(doc, cause, tracking)
        except Exception as e:  # noqa: BLE001
            log.exception("knowledge ingest failed for %s/%s", doc.kb_id, doc.doc_id)
            return self._dead(topic, partition, offset, key, value, repr(e), "processing_error", "knowledge", tracking)
        return Handled("duplicate" if outcome.duplicate else "processed")

    def _dead(self, topic: str, partition: int, offset: int, key: bytes | None, value: bytes,
              reason: str, error_type: str, stage: str, tracking: Any) -> Handled:
        letter = self.box.record(topic=topic, partition=partition, offset=offset, key=key, value=value,
                                 reason=reason, error_type=error_type, stage=stage, tracking=tracking)
        letter["failed_at"] = datetime.now(timezone.utc).isoformat()
        # The event store keeps every byte; the topic copy stays under the broker's size limit.
        letter["value_truncated"] = len(value) > TOPIC_VALUE_LIMIT
        if letter["value_truncated"]:
            letter["value_b64"] = base64.b64encode(value[:TOPIC_VALUE_LIMIT]).decode("ascii")
        log.warning("dead letter %s[%d]@%d: %s", topic, partition, offset, reason[:200])
        return Handled("dead_letter", [Outgoing(self.dead_topic, key, _json(letter))], reason)
