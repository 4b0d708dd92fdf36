"""Recording, listing and re-submitting dead letters (see domain/dead_letter.py)."""

from __future__ import annotations

import base64
from typing import Any
from uuid import UUID

from eventsourcing.persistence import IntegrityError, Tracking
from eventsourcing.utils import get_topic

from application.memory_app import MemoryApplication
from domain.dead_letter import DeadLetter, dead_letter_id


class DeadLetterBox:
    def __init__(self, store: MemoryApplication) -> None:
        self.store = store

    @staticmethod
    def letter(
        *, topic: str, partition: int, offset: int, key: bytes | None, value: bytes,
        reason: str, error_type: str, stage: str,
    ) -> DeadLetter:
        """The dead letter of one record, not yet saved (batches save it with the rest)."""
        return DeadLetter(
            topic=topic, partition=partition, offset=offset,
            key=key.decode("utf-8", "replace") if key else None,
            value_b64=base64.b64encode(value).decode("ascii"),
            reason=reason[:2000], error_type=error_type, stage=stage,
        )

    def record(
        self, *, topic: str, partition: int, offset: int, key: bytes | None, value: bytes,
        reason: str, error_type: str, stage: str, tracking: Tracking | None,
    ) -> dict[str, Any]:
        """Keep the record with its reason, atomically with its position (once only)."""
        letter = self.letter(topic=topic, partition=partition, offset=offset, key=key, value=value,
                             reason=reason, error_type=error_type, stage=stage)
        try:
            self.store.save_tracked([letter], tracking)
        except IntegrityError:
            if tracking is not None:
                self.store.track_only(tracking)
        return describe(letter)

    def recent(self, limit: int | None = 100, include_dropped: bool = False) -> list[dict[str, Any]]:
        """Letters in the order they were recorded, at most ``limit`` (None: all); dropped
        letters are skipped unless ``include_dropped``."""
        created = get_topic(DeadLetter.DeadLettered)  # type: ignore[attr-defined]
        letters: list[dict[str, Any]] = []
        start, page = 1, 500
        while limit is None or len(letters) < limit:
            notifications = self.store.recorder.select_notifications(start, limit=page, topics=[created])
            for n in notifications:
                event = self.store.mapper.to_domain_event(n)
                letter = self.store.find(event.originator_id, DeadLetter)
                if letter is not None and (include_dropped or not letter.dropped):
                    letters.append(describe(letter))
                    if limit is not None and len(letters) >= limit:
                        break
            if len(notifications) < page:
                break
            start = notifications[-1].id + 1
        return letters

    def drop(self, letter_id: str, reason: str) -> bool:
        """Drop a letter that can never succeed; False if it was dropped already."""
        letter = self.store.find(UUID(letter_id), DeadLetter)
        if letter is None:
            raise LookupError(f"no dead letter {letter_id}")
        if letter.dropped:
            return False
        letter.drop(reason=reason)
        self.store.save(letter)
        return True

    def mark_resubmitted(self, letter_id: str, to_topic: str) -> None:
        letter = self.store.find(UUID(letter_id), DeadLetter)
        if letter is None:
            raise LookupError(f"no dead letter {letter_id}")
        letter.resubmitted(to_topic=to_topic)
        self.store.save(letter)

    def get(self, topic: str, partition: int, offset: int) -> dict[str, Any] | None:
        letter = self.store.find(dead_letter_id(topic, partition, offset), DeadLetter)
        return None if letter is None else describe(letter)


def describe(letter: DeadLetter) -> dict[str, Any]:
    raw = base64.b64decode(letter.value_b64)
    preview = raw[:200].decode("utf-8", "replace")
    return {
        "id": str(letter.id), "topic": letter.topic, "partition": letter.partition,
        "offset": letter.offset, "key": letter.key, "stage": letter.stage,
        "error_type": letter.error_type, "reason": letter.reason, "size": len(raw),
        "preview": preview, "value_b64": letter.value_b64,
        "resubmissions": letter.resubmissions, "recorded_at": letter.created_on.isoformat(),
        "dropped": letter.dropped,
    }
