"""The aggregate that records the input itself.

``RawInput`` keeps every accepted envelope in the event store, so memories can be
rebuilt (or re-extracted with a new extractor) from the store alone after Kafka
retention has expired. Its ID derives from the envelope's ``event_id``: recording
the same envelope twice collides on the aggregate ID and is recognised as a
duplicate, which is what makes re-ingest idempotent.

Each user's directory of memories is ``domain.user_directory.UserDirectory``.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.values import stable_id


def raw_input_id(event_id: str) -> UUID:
    return stable_id("raw-input", event_id)


def episode_id(event_id: str, message_index: int) -> UUID:
    """Deterministic, so the Fine stage can find the episodes the Fast stage wrote."""
    return stable_id("episode", event_id, str(message_index))


class RawInput(Aggregate):
    """One accepted input envelope (messages or a knowledge document)."""

    @event("InputRecorded")
    def __init__(
        self,
        *,
        event_id: str,
        user_id: str,
        input_type: str,
        payload: dict[str, Any],
        cause: dict[str, Any],
    ) -> None:
        self.event_id = event_id
        self.user_id = user_id
        self.input_type = input_type
        self.payload = payload
        self.cause = cause
        self.refined_by: str | None = None
        self.memory_ids: list[str] = []

    @classmethod
    def create_id(cls, event_id: str, **_: Any) -> UUID:
        return raw_input_id(event_id)

    @property
    def is_refined(self) -> bool:
        return self.refined_by is not None

    @event("InputRefined")
    def mark_refined(self, *, decided_by: str, memory_ids: list[str]) -> None:
        self.refined_by = decided_by
        self.memory_ids = memory_ids
