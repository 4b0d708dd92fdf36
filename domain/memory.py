"""The Memory aggregate: one Memory ID, a version chain V1, V2, V3 ...

The aggregate version *is* the memory version. Every event records which stage
produced it, why (``reason``), what caused it (``cause``) and which extractor or
policy decided (``decided_by``), so the event log is a complete audit trail.
A newer or contradicting statement revises the same Memory ID instead of creating
a second, conflicting memory; a superseded or merged memory is archived with a
link to its successors.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.values import Status, latest


KEEP: Any = object()
"""``revise`` argument default: keep the current value (None would clear it)."""


class MemoryStateError(Exception):
    """A command that the memory's current state does not allow."""


class Memory(Aggregate):
    """A user's memory unit. State is the latest version; older ones come from the log."""

    @event("MemoryCreated")
    def __init__(  # noqa: PLR0913 - keyword-only args with defaults trip eventsourcing
        self,
        user_id: str,
        kind: str,
        key: str,
        content: str,
        stage: str,
        reason: str,
        cause: dict[str, Any],
        decided_by: str,
        conversation_id: str | None = None,
        agent_id: str | None = None,
        app_id: str | None = None,
        preference_type: str | None = None,
        reasoning: str | None = None,
        confidence: float = 1.0,
        tags: list[str] | None = None,
        sources: list[dict[str, Any]] | None = None,
        slots: dict[str, str] | None = None,
        attributes: dict[str, Any] | None = None,
        id: UUID | None = None,  # noqa: A002 - eventsourcing takes the aggregate ID this way
    ) -> None:
        self.user_id = user_id
        self.conversation_id = conversation_id
        self.agent_id = agent_id
        self.app_id = app_id
        self.kind = kind
        self.key = key
        self.content = content
        self.preference_type = preference_type
        self.reasoning = reasoning
        self.confidence = confidence
        self.tags = list(tags or [])
        self.sources = list(sources or [])
        self.slots = dict(slots or {})
        self.attributes = dict(attributes or {})
        self.stage = stage
        self.reason = reason
        self.cause = cause
        self.decided_by = decided_by
        self.status = Status.ACTIVE.value
        self.superseded_by: list[str] = []

    @property
    def memory_id(self) -> UUID:
        return self.id

    @property
    def is_active(self) -> bool:
        return self.status == Status.ACTIVE.value

    def revise(
        self,
        *,
        content: str,
        stage: str,
        reason: str,
        cause: dict[str, Any],
        decided_by: str,
        key: str | None = None,
        preference_type: str | None = KEEP,
        reasoning: str | None = KEEP,
        confidence: float | None = None,
        tags: list[str] | None = None,
        new_sources: list[dict[str, Any]] | None = None,
        slots: dict[str, str] | None = None,
        attributes: dict[str, Any] | None = None,
    ) -> None:
        """Record a new version. Fields not given keep their current value."""
        if not self.is_active:
            raise MemoryStateError(f"memory {self.id} is archived and cannot be revised")
        self._revise(
            content=content,
            key=key if key is not None else self.key,
            preference_type=self.preference_type if preference_type is KEEP else preference_type,
            reasoning=self.reasoning if reasoning is KEEP else reasoning,
            confidence=confidence if confidence is not None else self.confidence,
            tags=list(tags) if tags is not None else list(self.tags),
            new_sources=[s for s in (new_sources or []) if s not in self.sources],
            slots=dict(slots) if slots is not None else dict(self.slots),
            attributes=dict(attributes) if attributes is not None else dict(self.attributes),
            stage=stage,
            reason=reason,
            cause=cause,
            decided_by=decided_by,
        )

    @event("MemoryRevised")
    def _revise(
        self,
        *,
        content: str,
        key: str,
        preference_type: str | None,
        reasoning: str | None,
        confidence: float,
        tags: list[str],
        new_sources: list[dict[str, Any]],
        slots: dict[str, str],
        attributes: dict[str, Any],
        stage: str,
        reason: str,
        cause: dict[str, Any],
        decided_by: str,
    ) -> None:
        self.content = content
        self.key = key
        self.preference_type = preference_type
        self.reasoning = reasoning
        self.confidence = confidence
        self.tags = tags
        self.sources = self.sources + new_sources
        self.slots = slots
        self.attributes = attributes
        self.stage = stage
        self.reason = reason
        self.cause = cause
        self.decided_by = decided_by

    def archive(
        self,
        *,
        stage: str,
        reason: str,
        cause: dict[str, Any],
        decided_by: str,
        superseded_by: list[str] | None = None,
    ) -> None:
        """Take the memory out of the current set, linking the memories that replace it."""
        if not self.is_active:
            raise MemoryStateError(f"memory {self.id} is already archived")
        self._archive(
            stage=stage,
            reason=reason,
            cause=cause,
            decided_by=decided_by,
            superseded_by=list(superseded_by or []),
        )

    @event("MemoryArchived")
    def _archive(
        self,
        *,
        stage: str,
        reason: str,
        cause: dict[str, Any],
        decided_by: str,
        superseded_by: list[str],
    ) -> None:
        self.status = Status.ARCHIVED.value
        self.superseded_by = superseded_by
        self.stage = stage
        self.reason = reason
        self.cause = cause
        self.decided_by = decided_by

    @property
    def created_at(self) -> datetime:
        return self.created_on

    @property
    def updated_at(self) -> datetime:
        return self.modified_on

    def latest_chat_time(self) -> str | None:
        return latest([s.get("chat_time") for s in self.sources])


MemoryCreated = Memory.MemoryCreated  # type: ignore[attr-defined]
MemoryRevised = Memory.MemoryRevised  # type: ignore[attr-defined]
MemoryArchived = Memory.MemoryArchived  # type: ignore[attr-defined]
