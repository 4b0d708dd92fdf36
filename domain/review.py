"""A second opinion on one user's whole memory: the port, and the checks its proposals pass.

The Offline stage's rules are strict on purpose (merging two different memories is
worse than keeping a near-duplicate), so what they leave is reviewed by a
``MemoryReviewer`` (a model, when one is configured) that proposes changes. A
reviewer is an adviser, never an authority: ``accept`` turns into ``Change``s only
the proposals that name memories of this user that are still active after the
rule-based plan, whose merges keep a survivor among them and whose revisions carry
content; everything else is rejected with the reason why. A reviewer that fails
raises ``ReviewUnavailable`` (or anything else): the stage logs it and the
rule-based plan stands.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Protocol, Sequence

from domain.reconciliation import Change, MemoryState

REVIEW_ACTIONS = ("revise", "archive", "merge")
REVIEW_REASONS = ("duplicate", "conflict", "refinement", "superseded", "no_information")


@dataclass(frozen=True)
class ProposedChange:
    """One change a reviewer proposes; ``survivor`` for a merge, ``content`` for a revision."""

    memory_id: str
    action: str
    reason: str
    survivor: str | None = None
    content: str | None = None
    note: str | None = None


class ReviewUnavailable(Exception):
    """The reviewer could not answer (API down after retries, malformed output, ...)."""


class MemoryReviewer(Protocol):
    name: str

    def review(self, user_id: str, memories: Sequence[MemoryState]) -> list[ProposedChange]: ...


@dataclass
class Review:
    """What ``accept`` made of a reviewer's proposals."""

    changes: list[Change] = field(default_factory=list)
    rejected: list[tuple[ProposedChange, str]] = field(default_factory=list)


def after_plan(memories: Sequence[MemoryState], planned: Sequence[Change]) -> list[MemoryState]:
    """The user's memories as the rule-based plan leaves them: what it archives or merges
    is gone, what it revises shows its new content (the reviewer sees the result)."""
    changed = {c.memory_id: c for c in planned}
    out: list[MemoryState] = []
    for m in memories:
        c = changed.get(m.memory_id)
        if c is None:
            out.append(m)
        elif c.action == "revise":
            out.append(MemoryState(**{**vars(m), "content": c.content or m.content,
                                      "attributes": dict(c.attributes if c.attributes is not None else m.attributes),
                                      "tags": tuple(c.tags if c.tags is not None else m.tags)}))
    return out


def accept(proposals: Sequence[ProposedChange], memories: Sequence[MemoryState], planned: Sequence[Change],
           rule: str) -> Review:
    """Validate ``proposals`` against the user's active ``memories`` and the rule-based
    ``planned`` changes; the accepted ones become Changes decided by ``rule``.

    A proposal is rejected when its memory (or merge survivor) is not one of the user's
    active memories, when the rules already change that memory in this sweep (the next
    sweep reviews the result), when a merge names no survivor or itself, when a revision
    has no content, or when an earlier proposal already took the memory.
    """
    review = Review()
    active: Mapping[str, MemoryState] = {m.memory_id: m for m in memories}
    by_rules = {c.memory_id for c in planned}
    taken: dict[str, ProposedChange] = {}  # memory -> the proposal that archives/merges/revises it
    survivors: dict[str, list[MemoryState]] = {}  # survivor -> memories merged into it
    revisions: dict[str, str] = {}

    def reject(p: ProposedChange, why: str) -> None:
        review.rejected.append((p, why))

    for p in proposals:
        if p.action not in REVIEW_ACTIONS:
            reject(p, f"unknown action {p.action!r}")
        elif p.memory_id not in active:
            reject(p, "not an active memory of this user")
        elif p.memory_id in by_rules:
            reject(p, "already changed by the rules in this sweep")
        elif p.memory_id in taken or (p.action != "revise" and p.memory_id in survivors):
            reject(p, "memory already taken by another proposal")
        elif p.action == "merge" and not p.survivor:
            reject(p, "merge without a survivor")
        elif p.action == "merge" and (p.survivor == p.memory_id or p.survivor not in active):
            reject(p, "merge survivor is not another active memory of this user")
        elif p.action == "merge" and (p.survivor in by_rules or p.survivor in taken and taken[p.survivor].action != "revise"):
            reject(p, "merge survivor is changed elsewhere in this sweep")
        elif p.action == "revise" and not (p.content or "").strip():
            reject(p, "revision without content")
        else:
            taken[p.memory_id] = p
            if p.action == "merge":
                survivors.setdefault(str(p.survivor), []).append(active[p.memory_id])
            elif p.action == "revise":
                revisions[p.memory_id] = (p.content or "").strip()

    reason_of = {mid: p.reason if p.reason in REVIEW_REASONS else "refinement" for mid, p in taken.items()}
    for mid, p in taken.items():
        m = active[mid]
        if p.action == "archive":
            review.changes.append(Change(mid, "archive", _reason(p, "superseded"), rule, m.version))
        elif p.action == "merge":
            review.changes.append(Change(mid, "merge", _reason(p, "duplicate"), rule, m.version,
                                         survivor=p.survivor, superseded_by=[str(p.survivor)]))
    for mid in dict.fromkeys([*revisions, *survivors]):
        m = active[mid]
        new_sources = _absorbed(m, survivors.get(mid, []))
        content = revisions.get(mid, m.content)
        if content == m.content and not new_sources:
            continue
        reason = reason_of.get(mid) or "duplicate"
        review.changes.append(Change(mid, "revise", reason, rule, m.version, content=content,
                                     new_sources=new_sources))
    return review


def _reason(p: ProposedChange, default: str) -> str:
    return p.reason if p.reason in REVIEW_REASONS else default


def _absorbed(survivor: MemoryState, merged: list[MemoryState]) -> list[dict]:
    held = {(s.get("event_id"), s.get("message_id")) for s in survivor.sources}
    out: list[dict] = []
    for m in merged:
        for s in m.sources:
            key = (s.get("event_id"), s.get("message_id"))
            if key not in held:
                held.add(key)
                out.append(dict(s))
    return out
