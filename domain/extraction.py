"""The extraction port: what the Fine stage asks of an extractor, and what it gets back.

An extractor looks at a window of conversation (the new messages plus a little
earlier context, each with its chat_time) and at the user's existing memories, and
returns *decisions*: create a memory, revise an existing Memory ID, archive one,
or do nothing. Rule-based extractors find ``Candidate`` slots first and let the
consolidation policy turn them into decisions; an LLM extractor may decide directly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol, Sequence

Action = Literal["create", "revise", "archive", "noop"]
Lang = Literal["zh", "en"]


@dataclass(frozen=True)
class WindowMessage:
    """One message as the extractor sees it. ``is_new`` marks the input being refined."""

    message_id: str
    event_id: str
    role: str
    text: str
    chat_time: datetime | None = None
    name: str | None = None
    is_new: bool = True
    tool_name: str | None = None
    tool_input: Any = None
    tool_output: Any = None
    status: str | None = None
    latency_ms: float | None = None
    attachments: tuple[dict[str, Any], ...] = ()
    """Images and files of the message (``domain.attachments``); their words are in ``text``."""


@dataclass(frozen=True)
class ExistingMemory:
    """A user's active memory as shown to an extractor (current version only)."""

    memory_id: str
    kind: str
    key: str
    content: str
    version: int
    slots: dict[str, str] = field(default_factory=dict)
    preference_type: str | None = None
    reasoning: str | None = None
    confidence: float = 1.0
    latest_chat_time: str | None = None
    source_roles: tuple[str, ...] = ()
    attributes: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ExtractionRequest:
    user_id: str
    messages: tuple[WindowMessage, ...]
    existing: tuple[ExistingMemory, ...] = ()

    @property
    def new_messages(self) -> tuple[WindowMessage, ...]:
        return tuple(m for m in self.messages if m.is_new)


@dataclass(frozen=True)
class Candidate:
    """One piece of information a rule found in the new messages.

    ``slot`` is the normalised key (``residence``, ``diet.spicy``,
    ``travel.2025-summer``, ``preference.hotel``); two candidates with the same
    slot for one user are about the same thing, so the later one revises the
    earlier one. ``clause`` is the slot rendered as a predicate without subject
    ("在成都居住" / "lives in Chengdu") so several slots can be joined into one
    memory's content; ``content`` is the standalone third-person sentence.
    ``group`` = "profile" marks personal attributes (name, residence, diet, food
    likes, ...) that live together in the user's profile memory, as in the brief's
    V1/V2 example; ``None`` means the candidate is a memory of its own.
    """

    kind: str
    slot: str
    clause: str
    content: str
    lang: Lang
    source_message_ids: tuple[str, ...]
    confidence: float = 0.9
    preference_type: str | None = None
    reasoning: str | None = None
    group: str | None = None
    attributes: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class CandidateSet:
    candidates: tuple[Candidate, ...]
    covered_message_ids: frozenset[str] = frozenset()
    """New messages whose whole content is represented by the candidates (or is small talk)."""


@dataclass(frozen=True)
class Decision:
    """What to do with one memory. ``memory_id`` names the memory for revise / archive."""

    action: Action
    kind: str = ""
    key: str = ""
    content: str = ""
    reason: str = "new"
    memory_id: str | None = None
    slots: dict[str, str] = field(default_factory=dict)
    preference_type: str | None = None
    reasoning: str | None = None
    confidence: float = 0.9
    source_message_ids: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    attributes: dict[str, Any] = field(default_factory=dict)
    merge_into: str | None = None
    """For ``archive`` of a duplicate: the memory it was merged into."""


@dataclass(frozen=True)
class Extraction:
    decisions: tuple[Decision, ...]
    covered_message_ids: frozenset[str] = frozenset()
    decided_by: str = ""
    held_by: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """Message id -> existing memories that already held what it said (duplicates)."""


class CandidateFinder(Protocol):
    """Finds candidate slots in messages (the rule-based half of an extractor)."""

    def find(self, messages: Sequence[WindowMessage]) -> CandidateSet: ...


class Extractor(Protocol):
    """Turns a window of messages and existing memories into decisions."""

    name: str

    def extract(self, request: ExtractionRequest) -> Extraction: ...
