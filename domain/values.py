"""Value types shared by the aggregates, the extractors and the read side.

Kept as plain strings / frozen dataclasses so that events stay JSON-transcodable
and the domain stays free of any infrastructure import.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timezone
from dataclasses import asdict, dataclass, field
from enum import Enum
from typing import Any


class MemoryKind(str, Enum):
    FACT = "fact"
    PREFERENCE = "preference"
    TOOL = "tool"
    SKILL = "skill"
    KNOWLEDGE = "knowledge"
    EPISODE = "episode"


class Stage(str, Enum):
    """What made a version: one of the three stages, or the user asking directly (archive or
    correction through the API). Versions recorded before ``user`` existed say ``fine``."""

    FAST = "fast"
    FINE = "fine"
    OFFLINE = "offline"
    USER = "user"


class Status(str, Enum):
    ACTIVE = "active"
    ARCHIVED = "archived"


class Reason(str, Enum):
    """Why a memory event happened; governance rules add ``rule:<name>``."""

    NEW = "new"
    CONFLICT = "conflict"
    REFINEMENT = "refinement"
    DUPLICATE = "duplicate"
    SUPERSEDED = "superseded"
    DOCUMENT_UPDATED = "document_updated"
    DELETED = "deleted"
    NO_INFORMATION = "no_information"
    """A greeting, thank, laugh or acknowledgement: archived, its raw input stays in the log."""


@dataclass(frozen=True)
class Source:
    """One input message a memory version came from."""

    event_id: str
    message_id: str | None = None
    conversation_id: str | None = None
    chat_time: str | None = None
    role: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Cause:
    """What caused an event: the input ids, and the Kafka position it was consumed from."""

    event_ids: tuple[str, ...] = ()
    message_ids: tuple[str, ...] = ()
    topic: str | None = None
    partition: int | None = None
    offset: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        data = {
            "event_ids": list(self.event_ids),
            "message_ids": list(self.message_ids),
            "topic": self.topic,
            "partition": self.partition,
            "offset": self.offset,
        }
        if self.extra:
            data["extra"] = dict(self.extra)
        return data


def instant(stamp: str) -> datetime:
    """An ISO 8601 time as an aware datetime (naive ones are UTC), so that times in
    different zones compare by the moment they name, not by their text."""
    moment = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def latest(stamps: "list[str | None]") -> str | None:
    present = [s for s in stamps if s]
    return max(present, key=instant) if present else None


ID_NAMESPACE = uuid.UUID("6f0f1d5e-8c1a-4c53-9b0e-6d2b7a5f4e10")


def stable_id(*parts: str) -> uuid.UUID:
    """A deterministic id, so that re-processing the same input addresses the same aggregate."""
    return uuid.uuid5(ID_NAMESPACE, "\x1f".join(parts))
