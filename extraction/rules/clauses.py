"""Statements of different families in one sentence are read as separate statements.

Why: a chat line often carries two facts ("im in glasgow, just started at a design studio",
我搬到杭州了，在阿里上班). Read whole, it became one memory of the first family; when one of
the two facts later changed (a move), the revision replaced the memory and the other fact
(the job) was in no current memory any more. Split at its clause boundaries, each statement
is a memory of its own family, revised on its own.

A clause is split off only when it stands as a statement by itself (its own subject, or in
English a dropped "I" as chat drops it) and names a family the clause before it does not; a
clause that does neither stays with the one before it ("我在成都租房，离春熙路挺近的" is one
statement about the residence). Chinese drops the subject of a following clause: a clause with
no subject of its own after one about the user is the user's too.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable

from extraction.rules import pattern_cache as re
from extraction.rules.base import Sentence
from extraction.rules.fallback import about_relative
from extraction.rules.topics import family_of

_BOUNDARY_EN = re.compile(
    r"\s*[,;]\s+|\s+(?:and|but|plus|so)\s+(?=(?:i|i'm|im|i've|ive|we|we're|my|our|just|now|also|recently|finally|"
    r"currently|still|been)\b)", re.IGNORECASE)
_BOUNDARY_ZH = re.compile(r"[，,；;]\s*")
_SELF_EN = re.compile(r"^(?:(?:and|but|so|also|plus)\s+)?(?:i|i'm|im|i've|ive|i'll|we|we're|we've|my|our)\b",
                      re.IGNORECASE)
_ELIDED_EN = re.compile(r"^(?:just|now|also|recently|finally|currently|still|been)\s+\w+", re.IGNORECASE)
_OTHER_ZH = re.compile(r"^(?:他|她|它|你|您|大家|别人|有人|这|那|[\u4e00-\u9fff]{1,3}(?:说|觉得))")
_SELF_ZH = re.compile(r"^(?:我|咱)")
_ANAPHORA = re.compile(r"那儿|那里|那边|这儿|这里|那个|这个|它|\b(?:there|it|that|this|them|those)\b", re.IGNORECASE)
"""A clause that points back at the one before it ("…买了个小院子，平时就住那儿") is not a statement alone."""
_TRIP = re.compile(r"出差|旅游|旅行|度假|酒店|民宿|宾馆|住几天|住一晚|住两晚|\b(?:trip|vacation|holiday|hotel|airbnb|"
                   r"conference|staying)\b", re.IGNORECASE)
MIN_EN_WORDS, MIN_ZH_CHARS = 3, 3


@dataclass(frozen=True)
class Clause:
    """One statement of a sentence: its own ``Sentence`` (dates shifted to it), where it starts
    in the sentence, and whether it is the user's by a subject Chinese left out."""

    sentence: Sentence
    at: int
    inherits_user: bool


def _pieces(s: Sentence) -> list[tuple[int, int]]:
    pattern = _BOUNDARY_ZH if s.lang == "zh" else _BOUNDARY_EN
    out, pos = [], 0
    for m in pattern.finditer(s.text):
        out.append((pos, m.start()))
        pos = m.end()
    out.append((pos, len(s.text)))
    return [(a, b) for a, b in out if s.text[a:b].strip()]


def _stands_alone(text: str, lang: str) -> tuple[bool, bool]:
    """(a statement of its own, with no subject of its own: the user's by the one left out)."""
    if lang == "zh":
        han = len(re.findall(r"[\u4e00-\u9fffA-Za-z0-9]", text))
        if han < MIN_ZH_CHARS or _OTHER_ZH.match(text):
            return False, False
        return True, not _SELF_ZH.match(text)
    if len(text.split()) < MIN_EN_WORDS:
        return False, False
    return bool(_SELF_EN.match(text) or _ELIDED_EN.match(text)), not _SELF_EN.match(text)


def statement_clauses(s: Sentence, asserts: Callable[[Sentence], bool]) -> list[Clause]:
    """The sentence's statements of distinct families, or ``[]`` when it is one statement.

    ``asserts``: whether a clause, read alone, states something (a rule claims it, or it
    carries a change marker). A clause without a subject of its own must: one that only
    describes ("每天坐地铁上班要四十分钟" after 我在成都租房) stays with the statement before it."""
    pieces = _pieces(s)
    if len(pieces) < 2 or about_relative(s.text, s.lang):
        return []  # a relative's statements keep their subject together
    trip = bool(_TRIP.search(s.text))
    groups: list[list] = []  # [start, end, family, inherits]
    for a, b in pieces:
        text = s.text[a:b]
        family = family_of(text, s.lang)
        if trip and family == "residence":
            family = None  # 去西安出差三天，住钟楼附近: where a trip stays is no home
        alone, implied = _stands_alone(text, s.lang)
        if groups and groups[-1][2] is None and alone and family is not None:
            groups[-1][1:3] = [b, family]  # the opening named no family: the statement is this one
            continue
        if groups and (not alone or family is None or family == groups[-1][2] or _ANAPHORA.search(text)
                       or implied and not asserts(_sub(s, a, b))):
            groups[-1][1] = b
            continue
        groups.append([a, b, family, implied and s.lang == "zh" and bool(groups)])
    if len(groups) < 2 or groups[0][2] is None:
        return []
    return [Clause(_sub(s, a, b), a, inherits) for a, b, _, inherits in groups]


def _sub(s: Sentence, a: int, b: int) -> Sentence:
    dates = [replace(d, start=d.start - a, end=d.end - a) for d in s.dates if a <= d.start and d.end <= b]
    return Sentence(s.text[a:b], s.offset + a, s.lang, s.chat_time, dates)
