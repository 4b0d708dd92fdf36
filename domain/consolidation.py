"""Consolidation: turn candidate slots into decisions about the user's memories.

The rule that keeps memories consistent: a candidate whose slot is already held by
an active memory of the user revises *that* Memory ID (when the governance policy
lets the new statement win) instead of creating a second, conflicting memory.
Profile slots (name, residence, diet, ...) live together in one ``profile``
memory, so the brief's V1 "用户叫小忆，在上海居住，不能吃辣" becomes V2
"用户叫小忆，在成都居住，喜欢吃辣，喜欢四川火锅" on the same Memory ID.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Sequence

from domain.extraction import Candidate, Decision, ExistingMemory, WindowMessage
from domain.governance import GovernancePolicy, Incoming
from domain.relatives import resolve as resolve_relative
from domain.tool_usage import describe, merge_usage
from domain.values import MemoryKind, Reason, latest

PROFILE_KEY = "profile"
PARAPHRASE_KINDS = (MemoryKind.FACT.value, MemoryKind.PREFERENCE.value)

Similar = Callable[[str, list[str]], "int | None"]
"""(text, pool) -> index of the pool entry that says the same thing, or None."""
Words = Callable[[str], "set[str]"]
"""text -> its object words (stop words removed), to tell whether two statements share a topic."""
Values = Callable[[str, str], "frozenset[str]"]
"""(text, family) -> the values the text gives that family."""
Categories = Callable[[str], "dict[str, frozenset[str]]"]
"""text -> the object categories it names (a sport, an instrument, a phone), each with the
objects of that category it names ("iphone 15"); none for a category named only by its own word."""
POSSESSION = "possession."
MEDIA = "media."
"""Key prefixes: what the user owns, and a shared image or file (its caption names objects the
user neither owns nor does)."""
WORK_KEY = "work"
GROUPS = (PROFILE_KEY, WORK_KEY)
"""Candidate groups whose slots live together in one memory, rendered from the current slots."""
POLARITY_FAMILIES = ("food", "diet", "drink")
VALUE_FAMILIES = ("residence", "work")
"""Families with one current value (where the user lives, who the user works for): a statement
naming another value than the memory holds revises it, change marker or not."""
DEPENDENTS = {"work.employer": ("work.location",), "residence": ("work.location",)}
"""Slots whose value depends on another: a new employer, or a move, makes the old work place
stale unless the same batch restates it ("我搬到深圳了，现在在腾讯上班" after "我在北京工作")."""
"""Slot families where one object has one polarity: a new statement on the object replaces the old."""


SWITCH_MARKERS = {
    "drink": re.compile(r"喝|\bdrinks?\b|coffee|tea\b|latte|wine|beer|juice|milk|soda", re.IGNORECASE),
    "food": re.compile(r"吃|\beats?\b", re.IGNORECASE),
}
"""How a liked-food clause says which family its object is in, for a switch to replace it."""


def render(slots: dict[str, str], lang: str, alternatives: dict[str, dict[str, str]] | None = None) -> str:
    """Join slot clauses into one third-person sentence, in ``lang`` where a slot has that rendering."""
    alternatives = alternatives or {}
    clauses = [alternatives.get(k, {}).get(lang) or c for k, c in slots.items() if c]
    if not clauses:
        return ""
    if lang == "zh":
        return "用户" + "，".join(clauses)
    if len(clauses) == 1:
        body = clauses[0]
    else:
        body = ", ".join(clauses[:-1]) + " and " + clauses[-1]
    return f"The user {body}" + ("" if body.endswith(".") else ".")  # "works at Acme Corp." ends already


@dataclass
class _Working:
    """A memory as it will be after this batch: an existing one or one to create."""

    existing: ExistingMemory | None
    kind: str
    key: str
    slots: dict[str, str]
    lang: str
    content: str
    reason: str = Reason.NEW.value
    preference_type: str | None = None
    reasoning: str | None = None
    confidence: float = 0.9
    sources: list[str] = field(default_factory=list)
    attributes: dict = field(default_factory=dict)
    changed: bool = False
    batch_slots: set[str] = field(default_factory=set)
    archived: bool = False

    def to_decision(self) -> Decision:
        common = dict(
            kind=self.kind,
            key=self.key,
            content=self.content,
            slots=dict(self.slots),
            preference_type=self.preference_type,
            reasoning=self.reasoning,
            confidence=self.confidence,
            source_message_ids=tuple(dict.fromkeys(self.sources)),
            attributes={**self.attributes, "lang": self.lang},
        )
        if self.existing is None:
            return Decision(action="create", reason=Reason.NEW.value, **common)
        if self.archived:
            return Decision(action="archive", memory_id=self.existing.memory_id, reason=Reason.SUPERSEDED.value,
                            kind=self.kind, key=self.key, source_message_ids=common["source_message_ids"])
        return Decision(
            action="revise", memory_id=self.existing.memory_id, reason=self.reason, **common
        )


def _add(index: dict[Any, set[int]], key: Any, pos: int) -> None:
    index.setdefault(key, set()).add(pos)


class _Memories(list):
    """The working memories of one decision call, with lookups by slot, by key family and by
    topic word, so that a candidate no longer scans every memory of the user three times
    (a slot match, a topic match, a paraphrase pool): that made a decision's cost grow with
    the user's history.

    Each index is built on its first lookup in the call and only ever grows: a slot or word a
    memory has lost stays listed under it. A lookup therefore returns a superset of the
    memories that can match, in working order, and the callers apply the same tests to it as
    to the whole list: the decisions are the same as a full scan's. ``touch`` must follow
    every change to a memory's slots, content, kind or attributes."""

    def __init__(self, items: Sequence[_Working], words: Words | None) -> None:
        super().__init__(items)
        self._words = words
        self._pos = {id(w): i for i, w in enumerate(self)}
        self._slots: dict[str, set[int]] | None = None  # slot or key -> positions
        self._segments: dict[str, set[int]] | None = None  # first segment of a slot or key -> positions
        self._topic: dict[Any, set[int]] | None = None  # content or topic word -> positions

    def append(self, w: _Working) -> None:  # type: ignore[override]
        self._pos[id(w)] = len(self)
        super().append(w)
        self.touch(w)

    def touch(self, w: _Working) -> None:
        """Index what ``w`` holds now, in the indexes built so far."""
        pos = self._pos[id(w)]
        if self._slots is not None:
            self._index_slots(w, pos)
        if self._topic is not None:
            self._index_topic(w, pos)

    def position(self, w: _Working) -> int:
        return self._pos[id(w)]

    def at(self, positions: set[int]) -> list[_Working]:
        return [self[p] for p in sorted(positions)]

    def holding(self, slot: str) -> list[_Working]:
        """Memories that have (or had, in this call) ``slot`` as a slot or as their key."""
        self._build_slots()
        assert self._slots is not None
        return self.at(self._slots.get(slot, set()))

    def in_families(self, prefixes: Sequence[str]) -> list[_Working] | None:
        """Memories with a slot (or key) that may start with one of ``prefixes``; None when a
        prefix names no whole first segment ("work." does, "wor" does not): scan them all."""
        if any("." not in p or p.startswith(".") for p in prefixes):
            return None
        return self.at(set().union(*(self._segment(p.split(".")[0]) for p in prefixes)))

    def in_segment(self, segment: str) -> list[_Working]:
        """Memories with a slot or key whose first segment (before the first dot) is ``segment``."""
        return self.at(self._segment(segment))

    def _segment(self, segment: str) -> set[int]:
        self._build_slots()
        assert self._segments is not None
        return self._segments.get(segment, set())

    def sharing(self, words: set[Any]) -> list[_Working]:
        """Fact and preference memories a clause (or topic) of which has one of ``words``."""
        if self._topic is None:
            self._topic = {}
            for pos, w in enumerate(self):
                self._index_topic(w, pos)
        return self.at(set().union(*(self._topic.get(word, set()) for word in words)))

    def _build_slots(self) -> None:
        if self._slots is None:
            self._slots, self._segments = {}, {}
            for pos, w in enumerate(self):
                self._index_slots(w, pos)

    def _index_slots(self, w: _Working, pos: int) -> None:
        assert self._slots is not None and self._segments is not None
        for slot in (w.key, *w.slots):
            _add(self._slots, slot, pos)
            _add(self._segments, slot.split(".")[0], pos)

    def _index_topic(self, w: _Working, pos: int) -> None:
        assert self._topic is not None and self._words is not None
        if w.kind not in PARAPHRASE_KINDS:
            return  # a later change of kind is touched
        for word in w.attributes.get("topic") or ():
            _add(self._topic, word, pos)
        for clause in (w.slots or {w.key: w.content}).values():
            for word in self._words(clause):
                _add(self._topic, word, pos)


_UNPLACED: Any = object()
"""``_apply``'s answer for a candidate that became no memory and revised none."""


def _same_voice(w: _Working, attributes: dict) -> bool:
    """Whether a memory and a candidate speak of the same subject, by the same named speaker
    when both name one: a relative's facts, or another speaker's, are not the user's."""
    if w.attributes.get("subject", "user") != attributes.get("subject", "user"):
        return False
    mine, theirs = attributes.get("speaker"), w.attributes.get("speaker")
    return None in (mine, theirs) or mine == theirs


def _tokens(objects: frozenset[str]) -> set[str]:
    out: set[str] = set()
    for phrase in objects:
        out.update(t for t in phrase.split() if not t.isdigit())
        han = re.sub(r"[^\u4e00-\u9fff]", "", phrase)
        out.update(han[i:i + 2] for i in range(len(han) - 1))
    return out


_OWNER_EN = re.compile(r"(?:the user's|the user (?:has|owns|drives|rides|uses|got|bought|just got|just bought))\s+"
                       r"(?:[\w'-]+\s+){0,2}$")
_OWNER_ZH = re.compile(r"用户[^，。,.!?！？；;]{0,10}$")
_OWNER_CUE = re.compile(r"the user's|the user (?:has|owns|drives|rides|uses|got|bought|just)\b|用户", re.IGNORECASE)
"""A cheap test that a text may say the user has something (``possessed`` is the exact one)."""


def possessed(text: str, categories: dict[str, frozenset[str]], kinds: frozenset[str]) -> bool:
    """The text says the user has an object of one of ``kinds``: "the user's pixel 7 battery…",
    "The user got the iPhone 15", 用户的iPhone 16充电口有点松, 用户手上就一台MacBook Air. A phone
    that is only mentioned ("reviews of the iPhone 16") is not the user's."""
    low = text.lower()
    for kind in kinds & categories.keys():
        for obj in categories[kind]:
            at = low.find(obj)
            if at >= 0 and (_OWNER_EN.search(low[max(0, at - 60):at]) or _OWNER_ZH.search(low[max(0, at - 12):at])):
                return True
    return False


def other_objects(new: frozenset[str], held: frozenset[str]) -> bool:
    """Two statements name different objects of a category: both name one, and they share no
    word (Pixel 6 / iPhone 15) nor, in Chinese, two characters (卡罗拉 / 比亚迪汉)."""
    return bool(new) and bool(held) and not _tokens(new) & _tokens(held)


class Consolidator:
    """Applies candidates in order to a working copy of the user's memories."""

    def __init__(self, policy: GovernancePolicy, similar: Similar | None = None, words: Words | None = None,
                 values: Values | None = None, categories: Categories | None = None,
                 single_valued: frozenset[str] = frozenset()) -> None:
        self.policy = policy
        self.similar = similar
        self.words = words
        self.values = values
        """The values a text gives a family (the known places of a residence, the employer of a
        job); ``VALUE_FAMILIES``."""
        self.categories = categories
        self.single_valued = single_valued
        """Categories a person has one of at a time (a phone, a car): another object of one
        revises the memory that holds the old one, change marker or not."""

    def decide(
        self,
        candidates: Sequence[Candidate],
        existing: Sequence[ExistingMemory],
        messages: Sequence[WindowMessage],
    ) -> list[Decision]:
        return self.decide_with_links(candidates, existing, messages)[0]

    def decide_with_links(
        self,
        candidates: Sequence[Candidate],
        existing: Sequence[ExistingMemory],
        messages: Sequence[WindowMessage],
    ) -> tuple[list[Decision], dict[str, tuple[str, ...]]]:
        """Decisions, plus which existing memories already hold what a message said
        (a duplicate, or a statement governance let lose): that message's episode is
        superseded by those memories even though they did not change."""
        decisions, links, _ = self.decide_with_coverage(candidates, existing, messages)
        return decisions, links

    def decide_with_coverage(
        self,
        candidates: Sequence[Candidate],
        existing: Sequence[ExistingMemory],
        messages: Sequence[WindowMessage],
    ) -> tuple[list[Decision], dict[str, tuple[str, ...]], frozenset[str]]:
        """As ``decide_with_links``, plus the messages part of which became no memory at all
        (a statement that may only revise found nothing to revise): their episodes are only
        partly represented and must stay searchable."""
        by_id = {m.message_id: m for m in messages}
        working = _Memories(self._working(existing), self.words)
        links: dict[str, set[str]] = {}
        unplaced: set[str] = set()
        for cand in candidates:
            holder = self._apply(cand, working, self._incoming(cand, by_id))
            if holder is _UNPLACED:
                unplaced.update(cand.source_message_ids[:1])
                continue
            if holder is not None and holder.existing is not None:
                for message_id in cand.source_message_ids:
                    links.setdefault(message_id, set()).add(holder.existing.memory_id)
        decisions = [w.to_decision() for w in working if w.changed and not (w.archived and w.existing is None)]
        return decisions, {m: tuple(sorted(ids)) for m, ids in links.items()}, frozenset(unplaced)

    @staticmethod
    def _working(existing: Sequence[ExistingMemory]) -> list[_Working]:
        return [
            _Working(
                existing=e,
                kind=e.kind,
                key=e.key,
                slots=dict(e.slots),
                lang=str(e.attributes.get("lang", "zh")),
                content=e.content,
                preference_type=e.preference_type,
                reasoning=e.reasoning,
                confidence=e.confidence,
                attributes=dict(e.attributes),
            )
            for e in existing
            if e.kind != MemoryKind.EPISODE.value
        ]

    @staticmethod
    def _incoming(cand: Candidate, by_id: dict[str, WindowMessage]) -> Incoming:
        msgs = [by_id[i] for i in cand.source_message_ids if i in by_id]
        times = [m.chat_time.isoformat() for m in msgs if m.chat_time]
        roles = [m.role for m in msgs if m.is_new] or [m.role for m in msgs]
        return Incoming(
            chat_time=latest(times),
            role=roles[-1] if roles else None,
            confidence=cand.confidence,
        )

    def _target(self, cand: Candidate, working: _Memories) -> tuple[_Working | None, str | None]:
        """The memory a candidate belongs to, and the slot of it the candidate replaces (if another)."""
        for w in working.holding(cand.slot):
            if cand.slot in w.slots or (w.key == cand.slot and w.kind == cand.kind):
                return w, None
        topical = self._topic_of(cand, working)
        if topical[0] is not None:
            return topical
        categorical = self._category_of(cand, working)
        if categorical[0] is not None:
            return categorical
        if cand.group in GROUPS:
            for w in working.holding(cand.group):
                if w.key == cand.group and w.kind == MemoryKind.FACT.value:
                    return w, None
        return self._paraphrase_of(cand, working), None

    def _topic_of(self, cand: Candidate, working: _Memories) -> tuple[_Working | None, str | None]:
        """A memory about the same topic that a changed statement revises, even with no shared slot.

        Same subject, and either the same predicate family with a change marker ("I now
        live in…", 改喝…) or shared object words with a change marker or a polarity flip
        (不再吃素 after 不吃素, "I quit pottery" after "I took up pottery")."""
        if self.words is None or cand.kind not in PARAPHRASE_KINDS:
            return None, None
        a = cand.attributes
        change, additive = bool(a.get("change")), bool(a.get("additive"))
        polarity_slot = cand.slot.split(".")[0] in POLARITY_FAMILIES
        family = a.get("family")
        values = self.values(cand.content, family) if self.values and family in VALUE_FAMILIES else frozenset()
        if not (change or polarity_slot or a.get("revise_only") or values):
            return None, None
        mine = self.words(cand.content) | set(a.get("topic") or ())
        if a.get("replaced"):  # "从云南改成贵州", "Banff instead of Whistler": the old value names the topic
            mine = mine | self.words(str(a["replaced"]))
        family_slots = tuple(a.get("family_slots") or ())
        best: tuple[float, _Working | None, str | None] = (0.0, None, None)
        for w in self._topic_pool(working, mine, family_slots if (change or values) and not additive else ()):
            if w.kind not in PARAPHRASE_KINDS or not _same_voice(w, a):
                continue  # another person's statement (a relative, or another named speaker)
            for slot, clause in (w.slots or {w.key: w.content}).items():
                if slot in w.batch_slots:
                    continue  # said in this same batch: statements of one message do not revise each other
                shared = mine & (self.words(clause) | set(w.attributes.get("topic") or ()))
                same_family = bool(family_slots) and slot.startswith(family_slots)
                if same_family and change and not additive:
                    score = 2.0 + len(shared)
                elif shared and polarity_slot and slot.split(".")[0] in POLARITY_FAMILIES:
                    score = 1.0 + len(shared)
                elif shared and change and not a.get("weak_change") and not a.get("revise_only"):
                    score = 1.0 + len(shared)
                elif len(shared) >= 2 and a.get("revise_only") and change and not a.get("weak_change"):
                    score = 0.5 + len(shared)  # no first person: only what it clearly shares a topic with
                elif same_family and values and not additive and self._other_value(values, clause, family):
                    score = 2.0 + len(shared)  # "我在大理买了个小院子，平时就住那儿" after 住在昆明
                else:
                    continue
                if score > best[0]:
                    best = (score, w, slot)
        return best[1], best[2]

    def _category_of(self, cand: Candidate, working: _Memories) -> tuple[_Working | None, str | None]:
        """A memory about another object of the same category, when no word is shared.

        "these days I'm mostly into trail running" after "I go bouldering" (a sport, with a
        change marker), 现在改弹尤克里里了 after 自学吉他 (an instrument), "Got the iPhone 15"
        after "my phone's a Pixel 6" (a phone: one at a time, so no marker is needed). An
        additive statement ("I also took up tennis") or a narrating marker alone ("since",
        "started") keeps both."""
        a = cand.attributes
        if self.categories is None or cand.kind not in PARAPHRASE_KINDS or cand.group in GROUPS \
                or a.get("additive"):
            return None, None
        change = bool(a.get("change")) and not a.get("weak_change")
        by_rule = a.get("family") == "possession" or cand.slot.startswith(POSSESSION)
        if not (change or by_rule or not a.get("revise_only") and _OWNER_CUE.search(cand.content)):
            return None, None  # nothing that can revise by category: no model call
        mine = self.categories(cand.content)
        # the object itself must be the user's: "the camera on my phone" names a camera, owns none
        owned = not a.get("revise_only") and possessed(cand.content, mine, self.single_valued)
        if not change:
            mine = {c: objects for c, objects in mine.items() if c in self.single_valued and objects and owned}
        if not mine:
            return None, None
        pool = [w for w in working if not (w.archived or w.kind not in PARAPHRASE_KINDS or w.key in GROUPS
                                           or w.key.startswith(MEDIA) or not _same_voice(w, a))]
        prefetch = getattr(self.categories, "prefetch", None)
        if prefetch is not None:  # the pool's texts in one model batch, not one call per clause
            prefetch([clause for w in pool for clause in (w.slots or {w.key: w.content}).values()])
        best: tuple[int, _Working | None, str | None] = (0, None, None)
        for w in pool:
            for slot, clause in (w.slots or {w.key: w.content}).items():
                if slot in w.batch_slots:
                    continue
                held = self.categories(clause)
                replaces = owned and (slot.startswith(POSSESSION) or possessed(clause, held, self.single_valued))
                score = max((2 if replaces and c in self.single_valued and other_objects(objects, held[c])
                             else int(change) for c, objects in mine.items() if c in held), default=0)
                if score > best[0]:
                    best = (score, w, slot)
        return best[1], best[2]

    def _other_value(self, values: frozenset[str], clause: str, family: str) -> bool:
        held = self.values(clause, family) if self.values else frozenset()
        return bool(held) and not held & values

    @staticmethod
    def _topic_pool(working: _Memories, mine: set[Any], family_slots: tuple[str, ...]) -> list[_Working]:
        """The memories that can score in ``_topic_of``: those sharing a word with ``mine``, and
        (for a change of the same family) those with a slot of ``family_slots``; in working order."""
        pool = working.sharing(mine)
        if not family_slots:
            return pool
        family = working.in_families(family_slots)
        if family is None:
            return list(working)
        return working.at({working.position(w) for w in (*pool, *family)})

    def _paraphrase_of(self, cand: Candidate, working: _Memories) -> _Working | None:
        """Slots missed it; a memory of the same kind and slot family that says nearly the
        same thing (by embedding similarity) is still the same memory."""
        if self.similar is None or cand.group in GROUPS or cand.kind not in PARAPHRASE_KINDS:
            return None
        family = cand.slot.split(".")[0]
        pool = [w for w in working.in_segment(family)
                if w.kind == cand.kind and w.key != PROFILE_KEY and w.key.split(".")[0] == family]
        if not pool:
            return None
        best = self.similar(cand.content, [w.content for w in pool])
        return pool[best] if best is not None else None

    def _apply(self, cand: Candidate, working: _Memories, incoming: Incoming) -> _Working | None:
        """Apply one candidate; returns the memory that already held it when nothing changed."""
        cand = resolve_relative(cand, working.in_segment("family") + working.in_segment("pet"))  # the named ones
        target, replaced = self._target(cand, working)
        if target is None and cand.attributes.get("revise_only"):
            return _UNPLACED  # a statement without the user as subject only revises what it is clearly about
        if target is None:
            created = self._new(cand)
            if incoming.chat_time and cand.kind != MemoryKind.TOOL.value:
                created.attributes["slot_times"] = {cand.slot: incoming.chat_time}
            working.append(created)
            if cand.slot in DEPENDENTS and (cand.attributes.get("change") or cand.attributes.get("moved")):
                self._drop_dependents(cand, working)
            return
        if cand.kind == MemoryKind.TOOL.value:
            self._accumulate(cand, target)
            working.touch(target)
            return
        target.archived = False  # a dependent slot was dropped earlier in this batch; a new one arrives
        held = target.slots.get(cand.slot)
        if held == cand.clause:
            return target  # a duplicate statement: nothing new to record
        if replaced is not None and replaced != cand.slot:
            held = target.slots.get(replaced)
        if held is not None and target.existing is not None and cand.slot not in target.batch_slots:
            slot_time = (target.attributes.get("slot_times") or {}).get(cand.slot)
            existing = replace(target.existing, latest_chat_time=slot_time or target.existing.latest_chat_time)
            if not self.policy.new_wins(existing, incoming):
                return target  # governance kept the existing value
        grouped = target.key in GROUPS
        if replaced is not None and replaced != cand.slot:
            target.slots.pop(replaced, None)
        if not grouped and replaced is not None:
            target.slots = {}  # a standalone memory now states the new thing only
        elif target.key == WORK_KEY and replaced is not None and cand.attributes.get("fallback") \
                and cand.attributes.get("change"):
            target.slots = {}  # "I now teach chemistry at a high school": a new job, the old one's slots go
        if grouped:
            self._drop_flipped(cand, target)
            self._drop_switched(cand, target)
        target.slots[cand.slot] = cand.clause
        target.batch_slots.add(cand.slot)
        clauses = cand.attributes.get("clauses")
        alts = {k: v for k, v in (target.attributes.get("slot_clauses") or {}).items() if k in target.slots}
        if clauses:
            alts[cand.slot] = clauses
        else:
            alts.pop(cand.slot, None)
        target.attributes = {**target.attributes, "slot_clauses": alts}
        target.lang = cand.lang
        if incoming.chat_time:  # when each slot was last stated: time priority is per fact
            target.attributes = {**target.attributes,
                                 "slot_times": {**(target.attributes.get("slot_times") or {}), cand.slot: incoming.chat_time}}
        if grouped:
            target.content = render(target.slots, target.lang, alts)
        else:
            target.content = cand.content
            target.kind = cand.kind
            target.preference_type = cand.preference_type
            target.reasoning = cand.reasoning
        target.confidence = max(target.confidence, cand.confidence) if held is None else cand.confidence
        target.sources.extend(cand.source_message_ids)
        if target.existing is not None and target.reason != Reason.CONFLICT.value:
            target.reason = Reason.CONFLICT.value if held is not None else Reason.REFINEMENT.value
        target.changed = True
        working.touch(target)
        if cand.slot in DEPENDENTS and (cand.attributes.get("change") or cand.attributes.get("moved")
                                        or held is not None and held != cand.clause):
            self._drop_dependents(cand, working)

    @staticmethod
    def _drop_dependents(cand: Candidate, working: _Memories) -> None:
        """A changed slot makes the slots that depend on it stale (see ``DEPENDENTS``)."""
        subject = cand.attributes.get("subject", "user")
        for w in working:
            if w.archived or w.attributes.get("subject", "user") != subject:
                continue
            dropped = [d for d in DEPENDENTS[cand.slot] if d in w.slots and d not in w.batch_slots]
            if not dropped:
                continue
            for d in dropped:
                del w.slots[d]
            w.changed = True
            w.sources.extend(cand.source_message_ids)
            if w.existing is not None:
                w.reason = Reason.CONFLICT.value
            if not w.slots:
                w.archived = True
            elif w.key in GROUPS:
                alts = {k: v for k, v in (w.attributes.get("slot_clauses") or {}).items() if k in w.slots}
                w.attributes = {**w.attributes, "slot_clauses": alts}
                w.content = render(w.slots, w.lang, alts)
            working.touch(w)

    def _drop_flipped(self, cand: Candidate, target: _Working) -> None:
        """One object, one polarity: 不吃素 then 不再吃素, "likes coffee" then "no longer drinks coffee"."""
        if self.words is None or cand.slot.split(".")[0] not in POLARITY_FAMILIES:
            return
        mine = self.words(cand.clause)
        for slot, clause in list(target.slots.items()):
            if slot != cand.slot and slot.split(".")[0] in POLARITY_FAMILIES and mine & self.words(clause):
                del target.slots[slot]

    @staticmethod
    def _drop_switched(cand: Candidate, target: _Working) -> None:
        """"改喝绿茶" / "switched to oat milk": the new object replaces the old one of its family
        (a drink replaces the drink held, a food the food), unless the old one was said in this
        same batch ("我不喝咖啡了，改喝绿茶" keeps 不喝咖啡 beside 改喝绿茶)."""
        family = cand.attributes.get("switch")
        if not family:
            return
        marker = SWITCH_MARKERS.get(str(family))
        for slot, clause in list(target.slots.items()):
            if slot == cand.slot or slot in target.batch_slots:
                continue
            if slot.startswith(f"{family}.") or (
                    slot in ("food.like", "food.dislike") and marker is not None and marker.search(clause)):
                del target.slots[slot]

    @staticmethod
    def _accumulate(cand: Candidate, target: _Working) -> None:
        """A tool's usage profile adds up; every trace is a refinement of the same memory."""
        usage = merge_usage(target.attributes.get("usage"), cand.attributes["usage"])
        target.attributes = {**target.attributes, **cand.attributes, "usage": usage}
        target.content = describe(cand.attributes["tool"], usage)
        target.sources.extend(cand.source_message_ids)
        if target.existing is not None:
            target.reason = Reason.REFINEMENT.value
        target.changed = True

    @staticmethod
    def _new(cand: Candidate) -> _Working:
        profile = cand.group in GROUPS
        slots = {cand.slot: cand.clause}
        attributes = dict(cand.attributes)
        if cand.attributes.get("clauses"):
            attributes["slot_clauses"] = {cand.slot: cand.attributes["clauses"]}
        return _Working(
            existing=None,
            kind=MemoryKind.FACT.value if profile else cand.kind,
            key=cand.group if profile else cand.slot,
            slots=slots,
            lang=cand.lang,
            content=render(slots, cand.lang) if profile else cand.content,
            preference_type=None if profile else cand.preference_type,
            reasoning=None if profile else cand.reasoning,
            confidence=cand.confidence,
            sources=list(cand.source_message_ids),
            attributes=attributes,
            changed=True,
            batch_slots={cand.slot},
        )
