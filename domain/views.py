"""The memory as the outside world sees it, and the fold from events to that view.

``MemoryView`` is the public JSON shape of a memory (docs/design.md's field list plus
the audit fields); ``fold`` builds it from the aggregate's events one at a time so
projections can maintain it without loading aggregates.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from domain.memory import MemoryArchived, MemoryCreated, MemoryRevised
from domain.values import Status


class SourceView(BaseModel):
    event_id: str
    message_id: str | None = None
    conversation_id: str | None = None
    chat_time: str | None = None
    role: str | None = None
    attachments: list[dict[str, Any]] | None = Field(
        default=None, description="the message's images ({type: image, url, caption, alt}) and files ({type: file, "
        "file_id, url, name}), empty fields left out (domain/attachments.py); absent when it had none")


class MemoryView(BaseModel):
    memory_id: str
    version: int
    user_id: str
    conversation_id: str | None = None
    agent_id: str | None = None
    app_id: str | None = None
    kind: Literal["fact", "preference", "tool", "skill", "knowledge", "episode"]
    key: str
    content: str
    preference_type: Literal["explicit", "implicit"] | None = None
    reasoning: str | None = None
    confidence: float = 1.0
    tags: list[str] = Field(default_factory=list)
    sources: list[SourceView] = Field(default_factory=list)
    stage: Literal["fast", "fine", "offline", "user"]
    status: Literal["active", "archived"]
    created_at: datetime
    updated_at: datetime
    reason: str = Field(description="why this version exists: new, conflict, refinement, ...")
    decided_by: str = Field(description="the extractor or policy that decided")
    cause: dict[str, Any] = Field(default_factory=dict)
    slots: dict[str, str] = Field(default_factory=dict)
    attributes: dict[str, Any] = Field(default_factory=dict)
    superseded_by: list[str] = Field(default_factory=list)
    score: float | None = Field(default=None, description="search results only")


_MUTABLE = ("content", "key", "preference_type", "reasoning", "confidence", "tags", "slots", "attributes")
_AUDIT = ("stage", "reason", "cause", "decided_by")


def fold(view: dict[str, Any] | None, event: Any) -> dict[str, Any]:
    """Apply one Memory event to the JSON view of the previous version."""
    stamp = event.timestamp.isoformat()
    if isinstance(event, MemoryCreated):
        view = {
            "memory_id": str(event.originator_id),
            "user_id": event.user_id,
            "conversation_id": event.conversation_id,
            "agent_id": event.agent_id,
            "app_id": event.app_id,
            "kind": event.kind,
            "sources": list(event.sources or []),
            "status": Status.ACTIVE.value,
            "created_at": stamp,
            "superseded_by": [],
        }
        for name in _MUTABLE:
            view[name] = getattr(event, name)
        view["tags"] = list(view["tags"] or [])
        view["slots"] = dict(view["slots"] or {})
        view["attributes"] = dict(view["attributes"] or {})
    elif view is None:
        raise ValueError(f"{type(event).__qualname__} for {event.originator_id} before its creation")
    else:
        view = dict(view)
        if isinstance(event, MemoryRevised):
            for name in _MUTABLE:
                view[name] = getattr(event, name)
            view["sources"] = list(view["sources"]) + list(event.new_sources)
        elif isinstance(event, MemoryArchived):
            view["status"] = Status.ARCHIVED.value
            view["superseded_by"] = list(event.superseded_by)
        else:
            raise TypeError(f"not a memory event: {type(event).__qualname__}")
    for name in _AUDIT:
        view[name] = getattr(event, name)
    view["version"] = event.originator_version
    view["updated_at"] = stamp
    return view
