"""Pydantic models of the payloads memstream itself writes to Kafka.

With the input contracts in ``domain/envelope.py`` these are every topic's
payload; ``schemas/`` holds their generated JSON Schemas.
"""

from __future__ import annotations

from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, field_validator

from domain.views import MemoryView


class KafkaPosition(BaseModel):
    topic: str
    partition: int
    offset: int


class FineRequest(BaseModel):
    """Fast → Fine hand-off on the internal fine topic, keyed by user_id."""

    event_id: str
    user_id: str
    source: KafkaPosition


class MemoryEventRecord(BaseModel):
    """One domain event of a memory, published from the event store (the outbox), keyed by
    memory_id. A forgotten memory gets a tombstone instead: a record with key = memory_id and
    a null value, after which a consumer drops its copy of that memory (streams/outbox.py)."""

    event_id: str = Field(description="stable id of this event, `MEMORY_ID:VERSION`: the same on a "
                          "re-send after a crash, so a consumer drops duplicates by it")
    notification_id: int = Field(description="position in the event store's notification log")
    event_type: Literal["MemoryCreated", "MemoryRevised", "MemoryArchived"]
    memory_id: str
    version: int
    timestamp: str
    stage: str
    reason: str
    decided_by: str
    cause: dict[str, Any]
    memory: MemoryView = Field(description="the memory as of this version")


class DeadLetterRecord(BaseModel):
    """An input record that could not be processed, with where it came from and why."""

    id: str
    topic: str
    partition: int
    offset: int
    key: str | None
    stage: Literal["fast", "fine", "knowledge", "control"]
    error_type: Literal["invalid_record", "processing_error"]
    reason: str
    size: int
    preview: str = Field(description="the first 200 bytes, decoded leniently")
    value_b64: str = Field(description="the original record value, base64 (first 256 KiB on the topic)")
    value_truncated: bool = Field(
        description="true when value_b64 holds only the first 256 KiB; `memstream deadletters` has it all"
    )
    resubmissions: int
    recorded_at: str
    failed_at: str


class ForgetCommand(BaseModel):
    """Forget a user, or one memory of the user (every version), as ``memstream forget`` does."""

    model_config = ConfigDict(extra="forbid")

    command: Literal["forget"]
    user_id: str = Field(min_length=1, max_length=256)
    memory_id: str | None = Field(default=None, description="a full Memory ID (no prefix); null: the whole user")
    reason: str = Field(default="erasure request", max_length=500,
                        description="kept in the audit trail; must not contain the content being forgotten")
    request_id: str | None = Field(default=None, max_length=256, description="the caller's reference, logged")

    @field_validator("memory_id")
    @classmethod
    def _full_uuid(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                return str(UUID(value))
            except ValueError:
                raise ValueError("must be a full Memory ID (a UUID)") from None
        return value
