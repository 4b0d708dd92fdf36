"""Aggregates that record the input itself and each user's memory directory.

``RawInput`` keeps every accepted envelope in the event store, so memories can be
rebuilt (or re-extracted with a new extractor) from the store alone after Kafka
retention has expired. Its ID derives from the envelope's ``event_id``: recording
the same envelope twice collides on the aggregate ID and is recognised as a
duplicate, which is what makes re-ingest idempotent.

``UserDirectory`` is the Fine stage's consistent view of one user's active,
non-episode memories (which Memory ID holds which slot keys) plus the last input
of each conversation (for context). It is updated in the same transaction as the
memories it lists, and optimistic concurrency on it serialises two Fine-stage
decisions about the same user.
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


def directory_id(user_id: str) -> UUID:
    return stable_id("user-directory", user_id)


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


class UserDirectory(Aggregate):
    """Which active memories a user has, by slot key, and each conversation's last input."""

    @event("DirectoryOpened")
    def __init__(self, *, user_id: str) -> None:
        self.user_id = user_id
        self.entries: dict[str, dict[str, Any]] = {}
        self.last_input: dict[str, str] = {}

    @classmethod
    def create_id(cls, user_id: str) -> UUID:
        return directory_id(user_id)

    @event("DirectoryUpdated")
    def update(
        self,
        *,
        upserts: dict[str, dict[str, Any]],
        removals: list[str],
        conversation_id: str | None,
        event_id: str | None,
    ) -> None:
        """One event per Fine-stage decision batch: listed memories added/changed/removed."""
        for memory_id in removals:
            self.entries.pop(memory_id, None)
        self.entries.update(upserts)
        if event_id is not None:
            self.last_input[conversation_id or ""] = event_id

    def memory_ids_for_slot(self, slot: str) -> list[str]:
        return [mid for mid, e in self.entries.items() if slot in e.get("slots", ())]

    def memory_ids_for_key(self, key: str) -> list[str]:
        return [mid for mid, e in self.entries.items() if e.get("key") == key]
