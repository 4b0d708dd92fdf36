"""The public input contracts: the message envelope and the knowledge document.

These pydantic models are the single source of truth for what may arrive on the
messages and knowledge topics (and per line of an ``ingest`` file); the JSON
Schemas in ``schemas/`` are generated from them. Validation is strict enough that
a record which passes can always be processed: bad input must be rejected here,
with a reason, rather than crash a worker later.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timezone
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

MAX_CONTENT_CHARS = 100_000
"""Largest text a single message may carry; larger input is rejected, not truncated."""

MAX_MESSAGES = 500


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)


class TextPart(_Model):
    type: Literal["text"]
    text: str = Field(max_length=MAX_CONTENT_CHARS)


class ImageURL(_Model):
    url: str = Field(max_length=8_192)


class ImagePart(_Model):
    type: Literal["image_url"]
    image_url: ImageURL
    caption: str | None = Field(default=None, max_length=MAX_CONTENT_CHARS)


class FileRef(_Model):
    file_id: str | None = None
    url: str | None = None
    name: str | None = None

    @model_validator(mode="after")
    def _one_reference(self) -> "FileRef":
        if not (self.file_id or self.url or self.name):
            raise ValueError("a file part needs one of file_id, url or name")
        return self


class FilePart(_Model):
    type: Literal["file"]
    file: FileRef


ContentPart = Annotated[Union[TextPart, ImagePart, FilePart], Field(discriminator="type")]

Role = Literal["user", "assistant", "system", "tool"]


class Message(_Model):
    """One turn. Tool traces use role ``tool`` with the ``tool_*`` fields."""

    message_id: str | None = Field(default=None, max_length=256)
    role: Role
    name: str | None = Field(default=None, max_length=256)
    content: str | list[ContentPart] = ""
    chat_time: datetime | None = None
    tool_name: str | None = Field(default=None, max_length=256)
    tool_input: Any = None
    tool_output: Any = None
    status: str | None = Field(default=None, max_length=64)
    latency_ms: float | None = Field(default=None, ge=0)

    @field_validator("content")
    @classmethod
    def _bounded_content(cls, value: str | list[ContentPart]) -> str | list[ContentPart]:
        if isinstance(value, str) and len(value) > MAX_CONTENT_CHARS:
            raise ValueError(
                f"content has {len(value)} characters; the limit is {MAX_CONTENT_CHARS}"
            )
        return value

    @field_validator("chat_time")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value

    @model_validator(mode="after")
    def _tool_fields(self) -> "Message":
        if self.role == "tool" and not self.tool_name:
            raise ValueError("a message with role 'tool' needs tool_name")
        if self.role != "tool" and not self.text():
            raise ValueError("message has no text content")
        return self

    def text(self) -> str:
        """The message's readable text: plain content, text parts and image captions."""
        if isinstance(self.content, str):
            return self.content
        pieces: list[str] = []
        for part in self.content:
            if isinstance(part, TextPart):
                pieces.append(part.text)
            elif isinstance(part, ImagePart) and part.caption:
                pieces.append(part.caption)
            elif isinstance(part, FilePart) and part.file.name:
                pieces.append(f"[file: {part.file.name}]")
        return "\n".join(p for p in pieces if p)


class InputEnvelope(_Model):
    """One add-message request: a batch of turns from one user's conversation."""

    event_id: str = Field(default_factory=lambda: str(uuid.uuid4()), min_length=1, max_length=256)
    user_id: str = Field(min_length=1, max_length=256)
    conversation_id: str | None = Field(default=None, max_length=256)
    agent_id: str | None = Field(default=None, max_length=256)
    app_id: str | None = Field(default=None, max_length=256)
    messages: list[Message] = Field(min_length=1, max_length=MAX_MESSAGES)
    tags: list[str] = Field(default_factory=list, max_length=64)
    info: dict[str, Any] = Field(default_factory=dict)

    @field_validator("user_id")
    @classmethod
    def _non_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("user_id must not be blank")
        return value


class KnowledgeDocument(_Model):
    """A knowledge-base document; a later one with the same (kb_id, doc_id) replaces it."""

    kb_id: str = Field(min_length=1, max_length=256)
    doc_id: str = Field(min_length=1, max_length=256)
    title: str = Field(default="", max_length=1_000)
    text: str = Field(min_length=1, max_length=5_000_000)
    updated_at: datetime | None = None
    user_id: str | None = Field(
        default=None,
        max_length=256,
        description="owner of the knowledge memories; the kb_id's shared space when absent",
    )
