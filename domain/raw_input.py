"""The aggregate that records the input itself.

``RawInput`` keeps every accepted envelope in the event store, so memories can be
rebuilt (or re-extracted with a new extractor) from the store alone after Kafka
retention has expired. Its ID derives from the envelope's ``event_id``: recording
the same envelope twice collides on the aggregate ID and is recognised as a
duplicate, which is what makes re-ingest idempotent.

``event_id`` is unique per user (an app's users are distinct internal user ids), not
globally: the first input to use an ``event_id`` takes the plain ID, as every input did
before, and another user's input with the same ``event_id`` takes an ID *scoped* by its
user (``scope``), so no user can block another's input by guessing its ids. Data dirs
written before hold only plain IDs and load as they were; lookups that know the user
(``MemoryApplication.raw_input(event_id, user_id)``) try the plain ID, then the scoped one.

Each user's directory of memories is ``domain.user_directory.UserDirectory``.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.values import stable_id


def raw_input_id(event_id: str, scope: str | None = None) -> UUID:
    """``scope``: the owner, when another user's input already holds the plain ID."""
    return stable_id("raw-input", event_id) if scope is None else stable_id("raw-input", "user", scope, event_id)


def episode_id(event_id: str, message_index: int | str, scope: str | None = None) -> UUID:
    """Deterministic, so the Fine stage can find the episodes the Fast stage wrote
    (``scope`` as the raw input's)."""
    if scope is None:
        return stable_id("episode", event_id, str(message_index))
    return stable_id("episode", "user", scope, event_id, str(message_index))


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
        """The plain ID; a scoped input is created with ``id=raw_input_id(event_id, user_id)``."""
        return raw_input_id(event_id)

    @classmethod
    def scoped(cls, **kwargs: Any) -> "RawInput":
        """The input of a user whose ``event_id``'s plain ID another user's input holds."""
        return cls._create(cls.InputRecorded, id=raw_input_id(kwargs["event_id"], kwargs["user_id"]),  # type: ignore[attr-defined]
                           **kwargs)

    @property
    def scope(self) -> str | None:
        """None when this input holds its event_id's plain ID, else its owner (the module doc)."""
        return None if self.id == raw_input_id(self.event_id) else self.user_id

    @property
    def is_refined(self) -> bool:
        return self.refined_by is not None

    @event("InputRefined")
    def mark_refined(self, *, decided_by: str, memory_ids: list[str]) -> None:
        self.refined_by = decided_by
        self.memory_ids = memory_ids
