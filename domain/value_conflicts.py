"""Two memories that give one single-valued family different values: two homes, two employers.

Why: the Fine stage revises the memory a new statement is about when it finds it, by slot, by
topic or by the family's value; when it misses (a phrasing it did not read as a change, a
statement it recorded apart), the user ends with "lives in Austin" and "moved to Denver" both
current. Across the user's whole memory the Offline stage sees both: for each subject and
family, the latest statement's values are current, and an earlier memory naming none of them
is stale (governance still decides, ``domain.reconciliation``). A family has one current value
only where one at a time is the rule: where a person lives, whom they work for.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

VALUE_RULE = "offline.value_family"
Values = Callable[[str, str], "frozenset[str]"]
"""(text, family) -> the values the text gives that family (the extractor's reading)."""
_NOT_VALUED = ("work.location", "work.role")
"""Work slots that say where or as what, not for whom: a role beside an employer is no conflict."""


def value_family(slot: str) -> str | None:
    """The single-valued family a slot belongs to ("residence", "work"), for the user or a relative
    ("family.sister.residence"), or None."""
    tail = slot.split(".", 2)[2] if slot.startswith("family.") and slot.count(".") >= 2 else slot
    if tail == "residence" or tail.startswith("residence."):
        return "residence"
    if (tail == "work" or tail.startswith("work.")) and not tail.startswith(_NOT_VALUED):
        return "work"
    return None


@dataclass(frozen=True)
class Held:
    """One value-giving statement: which memory (its position in the caller's list) and slot."""

    memory: int
    slot: str
    family: str
    subject: str
    values: frozenset[str]
    time: str


def superseded(held: Sequence[Held]) -> list[tuple[Held, Held]]:
    """(stale, current) pairs: per subject and family, each earlier statement of another memory
    that names none of the latest statement's values, with that latest statement."""
    groups: dict[tuple[str, str], list[Held]] = {}
    for h in held:
        groups.setdefault((h.subject, h.family), []).append(h)
    out: list[tuple[Held, Held]] = []
    for group in groups.values():
        latest = max(group, key=lambda h: h.time)
        out += [(h, latest) for h in group
                if h.memory != latest.memory and h.time < latest.time and not h.values & latest.values]
    return out
