"""A relative known by name is the subject of a statement that opens with that name.

"My son Leo starts kindergarten" makes a memory about the user's son that names him;
a year later the user writes "Leo is in first grade now", with no "my son" and no
first person. Without this the statement has no subject the user owns, so it may only
revise what it shares two topic words with, finds nothing, and the kindergarten fact
stays current. The name is read from the memory's own text (the word after the
relation: "The user's son Leo …", 用户的儿子小明…), so memories stored before this rule
resolve too. A statement that marks a change revises the relative's note of its family; one
that does not ("Leo loves dinosaurs") becomes a memory of its own about Leo, beside the others.
Pets known by name (their rule's ``name``, or "named Rex" / 名叫雪球的 in their text) are resolved
the same way, as the user's pet: "Biscuit passed away" revises the memory of Biscuit.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Iterable, Protocol

from domain.extraction import Candidate

_NAME_EN = re.compile(r"[A-Z][a-z]{1,20}")
_HAN = re.compile(r"[\u4e00-\u9fff]")


class Known(Protocol):
    """What is read of a memory: its key and text, its subject, whether it is still current."""

    key: str
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


_PET_NAME_EN = re.compile(r"\b(?:named|called)\s+([A-Z][a-z]{1,20})(?:\s+and\s+([A-Z][a-z]{1,20}))?")
_PET_NAME_ZH = re.compile(r"名叫([\u4e00-\u9fff]{1,3}?)的|叫([\u4e00-\u9fff]{2,3})")
_GLUED = {"en": re.compile(r"^The user (?=[A-Z])"), "zh": re.compile(r"^用户")}
"""A rule that put "the user" before a statement whose subject is someone named ("The user Lily
turned 7", 用户豆豆老死了)."""


def given_names(memory: Known) -> list[str]:
    """The names a pet's or a child's memory gives: those its rule recorded, or "named X" /
    名叫X的 in its text."""
    if memory.attributes.get("name"):
        return re.split(r"\s+and\s+|、|和", str(memory.attributes["name"]))
    pattern = _PET_NAME_ZH if str(memory.attributes.get("lang")) == "zh" else _PET_NAME_EN
    return [g for m in pattern.finditer(memory.content) for g in m.groups() if g]


def opening(cand: Candidate) -> str:
    """The statement's text without a "the user" glued before its own subject."""
    return _GLUED["zh" if cand.lang == "zh" else "en"].sub("", cand.content)


def opens_with(cand: Candidate, name: str) -> bool:
    text = opening(cand)
    if cand.lang == "zh":
        return text.startswith(name)
    return re.match(rf"{re.escape(name)}\b", text) is not None


def resolve(cand: Candidate, memories: Iterable[Known]) -> Candidate:
    """``cand`` about the relative or pet whose name it opens with, or ``cand`` unchanged.

    A statement with a change marker ("now", 现在, "passed away", 送给 …, as the Fine stage marks
    them) revises that relative's or pet's memory. Without a marker only its wording and subject
    are put right: "The user Lily turned 7" is the user's daughter's event, kept apart from the
    user's own. A named speaker's own statement ("Caroline went hiking") stays theirs."""
    a = cand.attributes
    if a.get("subject", "user") != "user":
        return cand
    marked = bool(a.get("fallback") and a.get("change") and not a.get("weak_change"))
    if cand.lang == "en" and not cand.content[:1].isupper():
        return cand  # an English name is capitalised
    speaker = a.get("speaker")
    for memory in memories:
        if memory.archived or str(memory.attributes.get("lang", cand.lang)) != cand.lang:
            continue
        relation = memory.attributes.get("subject", "user")
        if relation != "user":
            names, whose = names_in(memory.content, relation, cand.lang), relation
        elif memory.key.startswith("pet."):
            names, whose = given_names(memory), "宠物" if cand.lang == "zh" else "pet"
        elif memory.key == "family.children" and memory.attributes.get("name") and cand.lang == "en":
            noun = str(memory.attributes.get("value") or "child")
            names, whose = given_names(memory), {"children": "child", "kids": "child"}.get(noun, noun.rstrip("s"))
            relation = whose  # "I have a daughter named Mia": Mia is the user's daughter
        else:
            continue
        if not any(opens_with(cand, name) for name in names if name != speaker):
            continue
        said = opening(cand)
        content = f"用户的{whose}{said}" if cand.lang == "zh" else f"The user's {whose} {said}"
        if relation != "user":
            slot = f"family.{relation}.{a.get('family') or 'note'}" if marked else f"family.{relation}.{cand.slot}"
            subject = relation
        else:
            slot, subject = (memory.key if marked else f"{memory.key}.{cand.slot}"), "user"
        # a relative's statement revises that relative's memory of its family (a new employer,
        # a move) as the user's own do; a pet's only by a marker
        family_slots = [f"family.{relation}.{a['family']}"] if relation != "user" and a.get("family") else []
        return replace(cand, content=content, clause=content.rstrip("."), slot=slot,
                       attributes={**a, "subject": subject, "revise_only": False, "family_slots": family_slots})
    return cand
