"""Merge & governance policies: who wins when a new statement conflicts with a memory.

The default is time priority (the newer statement wins; the losing content stays
in the memory's history). Alternatives rank by source (a user's own statement
outranks an assistant's inference, which outranks tool output and knowledge) or by
confidence. Users can register custom rules that are consulted first.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Protocol

from domain.extraction import ExistingMemory
from domain.values import instant

SOURCE_RANK = {"user": 4, "system": 3, "assistant": 2, "tool": 1, "knowledge": 0}


@dataclass(frozen=True)
class Incoming:
    """What we know about the new statement when deciding a conflict."""

    chat_time: str | None
    role: str | None
    confidence: float


class GovernancePolicy(Protocol):
    name: str

    def new_wins(self, existing: ExistingMemory, incoming: Incoming) -> bool: ...


class TimePriority:
    """Newer wins. A statement strictly older than the memory's latest source loses,
    so replaying history out of order cannot roll a memory back."""

    name = "time_priority"

    def new_wins(self, existing: ExistingMemory, incoming: Incoming) -> bool:
        if incoming.chat_time and existing.latest_chat_time:
            return instant(incoming.chat_time) >= instant(existing.latest_chat_time)
        return True


class SourcePriority:
    """Higher-ranked source wins; equal rank falls back to time priority."""

    name = "source_priority"

    def __init__(self, ranks: dict[str, int] | None = None) -> None:
        self.ranks = dict(ranks or SOURCE_RANK)

    def new_wins(self, existing: ExistingMemory, incoming: Incoming) -> bool:
        held = max((self.ranks.get(r, 0) for r in existing.source_roles), default=0)
        new = self.ranks.get(incoming.role or "", 0)
        if new != held:
            return new > held
        return TimePriority().new_wins(existing, incoming)


class ConfidencePriority:
    """More confident wins; a tie falls back to time priority."""

    name = "confidence_priority"

    def new_wins(self, existing: ExistingMemory, incoming: Incoming) -> bool:
        if abs(incoming.confidence - existing.confidence) > 1e-9:
            return incoming.confidence > existing.confidence
        return TimePriority().new_wins(existing, incoming)


Rule = Callable[[ExistingMemory, Incoming], "bool | None"]


@dataclass
class RuleChain:
    """Custom rules (first non-None answer decides) in front of a fallback policy."""

    fallback: GovernancePolicy = field(default_factory=TimePriority)
    rules: list[tuple[str, Rule]] = field(default_factory=list)
    last_rule: str | None = None

    @property
    def name(self) -> str:
        return self.last_rule or self.fallback.name

    def register(self, name: str, rule: Rule) -> None:
        self.rules.append((name, rule))

    def new_wins(self, existing: ExistingMemory, incoming: Incoming) -> bool:
        for name, rule in self.rules:
            verdict = rule(existing, incoming)
            if verdict is not None:
                self.last_rule = f"rule:{name}"
                return verdict
        self.last_rule = None
        return self.fallback.new_wins(existing, incoming)


POLICIES: dict[str, Callable[[], GovernancePolicy]] = {
    "time": TimePriority,
    "source": SourcePriority,
    "confidence": ConfidencePriority,
}


def policy_from_name(name: str) -> GovernancePolicy:
    try:
        return POLICIES[name]()
    except KeyError:
        raise ValueError(
            f"unknown governance policy {name!r}; choose one of {', '.join(sorted(POLICIES))}"
        ) from None
