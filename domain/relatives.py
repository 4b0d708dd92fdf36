"""A relative known by name is the subject of a statement that opens with that name.

"My son Leo starts kindergarten" makes a memory about the user's son that names him;
a year later the user writes "Leo is in first grade now", with no "my son" and no
first person. Without this the statement has no subject the user owns, so it may only
revise what it shares two topic words with, finds nothing, and the kindergarten fact
stays current. The name is read from the memory's own text (the word after the
relation: "The user's son Leo …", 用户的儿子小明…), so memories stored before this rule
resolve too. Only a statement that marks a change is resolved: "Leo loves dinosaurs"
adds to what is known about Leo, and the rules keep one note per relative and family.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Iterable, Protocol

from domain.extraction import Candidate

_NAME_EN = re.compile(r"[A-Z][a-z]{1,20}")
_HAN = re.compile(r"[\u4e00-\u9fff]")


class Known(Protocol):
    """What is read of a memory: its text, its subject, whether it is still current."""

    content: str
    attributes: dict
    archived: bool


def names_in(content: str, relation: str, lang: str) -> list[str]:
    """The names a memory may give its relative, right after the relation word (for zh,
    whose names have no spaces around them, the 3- and 2-character readings)."""
    at = content.find(relation)
    if at < 0:
        return []
    rest = content[at + len(relation):]
    if lang == "zh":
        rest = rest.lstrip("叫")
        han = ""
        for ch in rest[:3]:
            if not _HAN.match(ch):
                break
            han += ch
        return [han[:n] for n in (3, 2) if len(han) >= n]
    m = _NAME_EN.match(rest.lstrip())
    return [m.group(0)] if m and rest[:1] == " " else []


def opens_with(cand: Candidate, name: str) -> bool:
    if cand.lang == "zh":
        return re.sub(r"^用户", "", cand.content).startswith(name)
    return re.match(rf"{re.escape(name)}\b", cand.content) is not None


def resolve(cand: Candidate, memories: Iterable[Known]) -> Candidate:
    """``cand`` about the relative whose name it opens with, or ``cand`` unchanged.

    Applies to a third-person fallback statement with a change marker ("now", 现在, 已经…了
    count as the Fine stage marks them) and no subject of its own."""
    a = cand.attributes
    if not (a.get("fallback") and a.get("revise_only") and a.get("change") and not a.get("weak_change")
            and a.get("subject", "user") == "user"):
        return cand
    for memory in memories:
        relation = memory.attributes.get("subject", "user")
        if memory.archived or relation == "user":
            continue
        lang = str(memory.attributes.get("lang", cand.lang))
        if lang != cand.lang or not any(opens_with(cand, name) for name in names_in(memory.content, relation, lang)):
            continue
        if cand.lang == "zh":
            content = f"用户的{relation}{re.sub(r'^用户', '', cand.content)}"
        else:
            content = f"The user's {relation} {cand.content}"
        return replace(cand, content=content, clause=content.rstrip("."),
                       slot=f"family.{relation}.{a.get('family') or 'note'}",
                       attributes={**a, "subject": relation, "revise_only": False, "family_slots": []})
    return cand
