"""Merge & governance policies: who wins when two statements about one slot disagree.

The default is time priority (the newer statement wins; the losing content stays
in the memory's history). Alternatives rank by source (a user's own statement
outranks an assistant's inference, which outranks tool output and knowledge) or by
confidence. A *chain* (``chain:rule_a,rule_b,time``) consults rules in order: each
returns a verdict (True: the new statement wins) or abstains (None), and the first
verdict decides. Custom rules are plain callables ``(existing, incoming) -> bool |
None``; the application finds them (Python entry points in group ``memstream.rules``)
and hands them here by name, so this module stays free of I/O. The Fine and the
Offline stage share one policy object, so both settle conflicts the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Protocol

from domain.extraction import ExistingMemory
from domain.values import instant

SOURCE_RANK = {"user": 4, "system": 3, "assistant": 2, "tool": 1, "knowledge": 0}
CHAIN_PREFIX = "chain:"


@dataclass(frozen=True)
class Incoming:
    """What we know about the new statement when deciding a conflict."""

    chat_time: str | None
    role: str | None
    confidence: float


class GovernancePolicy(Protocol):
    name: str

    def new_wins(self, existing: ExistingMemory, incoming: Incoming) -> bool: ...


Rule = Callable[[ExistingMemory, Incoming], "bool | None"]
"""A governance rule: True (the new statement wins), False (the memory stays) or None (abstain)."""


class TimePriority:
    """Newer wins. A statement strictly older than the memory's latest source loses,
    so replaying history out of order cannot roll a memory back."""

    name = "time_priority"

    def verdict(self, existing: ExistingMemory, incoming: Incoming) -> bool | None:
        if incoming.chat_time and existing.latest_chat_time:
            return instant(incoming.chat_time) >= instant(existing.latest_chat_time)
        return None

    def new_wins(self, existing: ExistingMemory, incoming: Incoming) -> bool:
        verdict = self.verdict(existing, incoming)
        return True if verdict is None else verdict


class SourcePriority:
    """Higher-ranked source wins; equal rank abstains (alone: falls back to time priority)."""

    name = "source_priority"

    def __init__(self, ranks: dict[str, int] | None = None) -> None:
        self.ranks = dict(ranks or SOURCE_RANK)

    def verdict(self, existing: ExistingMemory, incoming: Incoming) -> bool | None:
        held = max((self.ranks.get(r, 0) for r in existing.source_roles), default=0)
        new = self.ranks.get(incoming.role or "", 0)
        return None if new == held else new > held

    def new_wins(self, existing: ExistingMemory, incoming: Incoming) -> bool:
        verdict = self.verdict(existing, incoming)
        return TimePriority().new_wins(existing, incoming) if verdict is None else verdict


class ConfidencePriority:
    """More confident wins; a tie abstains (alone: falls back to time priority)."""

    name = "confidence_priority"

    def verdict(self, existing: ExistingMemory, incoming: Incoming) -> bool | None:
        if abs(incoming.confidence - existing.confidence) > 1e-9:
            return incoming.confidence > existing.confidence
        return None

    def new_wins(self, existing: ExistingMemory, incoming: Incoming) -> bool:
        verdict = self.verdict(existing, incoming)
        return TimePriority().new_wins(existing, incoming) if verdict is None else verdict


@dataclass
class RuleChain:
    """Rules consulted in order (the first verdict decides) in front of a fallback policy.

    ``name`` names whatever decided the last conflict: ``rule:<name>`` for a custom
    rule, the built-in policy's name otherwise; the stages record it as ``decided_by``.
    """

    fallback: GovernancePolicy = field(default_factory=TimePriority)
    rules: list[tuple[str, Rule]] = field(default_factory=list)
    last_rule: str | None = None

    @property
    def name(self) -> str:
        return self.last_rule or self.fallback.name

    def register(self, name: str, rule: Rule) -> None:
        """A custom rule, named ``rule:<name>`` when it decides."""
        self.rules.append((f"rule:{name}", as_rule(rule)))

    def add_policy(self, policy: Any) -> None:
        """A built-in policy as a link of the chain: its abstaining form when it has one."""
        self.rules.append((policy.name, getattr(policy, "verdict", policy.new_wins)))

    def new_wins(self, existing: ExistingMemory, incoming: Incoming) -> bool:
        for name, rule in self.rules:
            verdict = rule(existing, incoming)
            if verdict is not None:
                self.last_rule = name
                return bool(verdict)
        self.last_rule = None
        return self.fallback.new_wins(existing, incoming)


POLICIES: dict[str, Callable[[], GovernancePolicy]] = {
    "time": TimePriority,
    "source": SourcePriority,
    "confidence": ConfidencePriority,
}


def as_rule(found: Any) -> Rule:
    """What an entry point may name: a rule function, a policy object or a class of either."""
    if isinstance(found, type):
        found = found()
    for method in ("verdict", "new_wins"):
        if hasattr(found, method):
            return getattr(found, method)
    if callable(found):
        return found
    raise ValueError(f"governance rule {found!r} is neither callable nor a policy")


def policy_from_name(name: str, rules: Mapping[str, Callable[[], Any]] | None = None) -> GovernancePolicy:
    """``time`` | ``source`` | ``confidence`` | a custom rule's name | ``chain:a,b,...``.

    ``rules`` maps custom rule names to loaders (called only for the names used).
    A custom rule alone, or a chain whose links all abstain, falls back to time priority.
    """
    rules = rules or {}
    spec = name.strip()
    if spec in POLICIES:
        return POLICIES[spec]()
    links = [p.strip() for p in spec[len(CHAIN_PREFIX):].split(",")] if spec.startswith(CHAIN_PREFIX) else [spec]
    links = [p for p in links if p]
    unknown = [p for p in links if p not in POLICIES and p not in rules]
    if unknown or not links:
        choices = sorted(POLICIES) + sorted(rules) + [f"{CHAIN_PREFIX}NAME,NAME,..."]
        raise ValueError(
            f"unknown governance policy {name!r}: {', '.join(unknown) or 'empty chain'}; "
            f"choose one of {', '.join(choices)}"
        )
    chain = RuleChain()
    for link in links:
        if link in POLICIES:
            chain.add_policy(POLICIES[link]())
        else:
            chain.register(link, rules[link]())
    return chain
