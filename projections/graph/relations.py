"""From a memory view to graph facts: the entities it names and the relations its slots state.

The Fine stage keeps a memory's facts as slot clauses (``slots``: ``residence`` ->
"lives in Lisbon", ``work.employer`` -> "works at Microsoft", ``family.spouse`` ->
"is married; their wife is Maria", ``travel.2026-summer`` -> "is planning a trip to
Norway ...") and some structure in ``attributes`` (``destination``, ``value``,
``polarity``, ``subject``). This module reads the object of each clause back out
(English and Chinese patterns, the attributes where they are exact) and names the
relation after the slot. Free text (episodes, knowledge chunks) only yields
*mentions*: capitalised names, which link memories that talk about the same
person, place or thing.

Everything here is a pure function of one view, so a replay derives exactly what the
live projection derived.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

USER = "user"
PERSON = "person"
PLACE = "place"
ORGANISATION = "organisation"
EVENT = "event"
TOPIC = "topic"
NAME = "name"  # a capitalised name found in free text, type unknown

TYPE_RANK = {USER: 0, PERSON: 1, PLACE: 2, ORGANISATION: 3, EVENT: 4, TOPIC: 5, NAME: 6}
"""When two memories type one name differently, the lower rank wins (order-independent)."""


@dataclass(frozen=True)
class Entity:
    user_id: str
    name: str
    type: str

    @property
    def id(self) -> str:
        return entity_id(self.user_id, self.name, self.type)


@dataclass(frozen=True)
class Relation:
    source: Entity
    relation: str
    target: Entity
    slot: str
    stated: str  # ISO time the statement was made


def normalise(name: str) -> str:
    return re.sub(r"\s+", " ", name.strip().strip(".,;:!?\"'“”‘’()[]").lower())


def entity_id(user_id: str, name: str, type_: str = NAME) -> str:
    """One node per user and name: the user node is ``user_id/@user``; ``type`` only matters for it."""
    if type_ == USER:
        return f"{user_id}/@user"
    return f"{user_id}/{normalise(name)}"


def user_entity(user_id: str) -> Entity:
    return Entity(user_id, user_id, USER)


def view_time(view: dict[str, Any]) -> str:
    """When the memory is about: its latest source's chat_time, else when it was recorded."""
    times = [s.get("chat_time") for s in view.get("sources") or [] if s.get("chat_time")]
    return _iso(max(times) if times else view["updated_at"])


def _iso(stamp: str) -> str:
    try:
        return datetime.fromisoformat(stamp).isoformat()
    except (TypeError, ValueError):
        return str(stamp)


# -- objects of clauses ----------------------------------------------------------------

_NAME_RE = re.compile(r"\b[A-Z][\w'’\-]*(?:\s+(?:of|de|da|van|von|the)?\s*[A-Z][\w'’\-]*)*")
_CAP_STOP = {
    "i", "i'm", "i've", "i'll", "i'd", "the", "a", "an", "my", "we", "you", "he", "she", "it", "they", "this",
    "that", "these", "those", "there", "here", "what", "when", "where", "who", "why", "how", "yes", "no",
    "oh", "hey", "hi", "hello", "thanks", "thank", "wow", "ok", "okay", "so", "and", "but", "or", "if", "in",
    "on", "at", "for", "to", "of", "with", "by", "from", "as", "is", "are", "was", "were", "do", "did",
    "does", "can", "could", "would", "should", "will", "just", "also", "well", "really", "sure", "great",
    "nice", "cool", "good", "awesome", "congrats", "congratulations", "sounds", "that's", "it's", "let's",
    "me", "our", "your", "his", "her", "their", "its", "not", "all", "any", "some", "one", "both", "user",
    "the user", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday", "january",
    "february", "march", "april", "may", "june", "july", "august", "september", "october", "november",
    "december", "today", "yesterday", "tomorrow", "last", "next", "big", "news", "absolutely", "definitely",
    "totally", "haha", "lol", "omg", "btw", "please", "sorry", "love", "glad", "happy", "maybe", "even",
    "tool", "any",
}


def names_in(text: str) -> list[str]:
    """Capitalised names in English text, minus sentence-initial function words ("The", "My")."""
    out: list[str] = []
    for m in _NAME_RE.finditer(text or ""):
        words = m.group(0).split()
        while words and words[0].lower().strip("'’") in _CAP_STOP:
            words = words[1:]
        while words and words[-1].lower() in {"of", "de", "da", "van", "von", "the", "and"}:
            words = words[:-1]
        name = " ".join(words).strip("'’-")
        if name.endswith(("'s", "’s")):
            name = name[:-2]
        if len(name) >= 2 and normalise(name) not in _CAP_STOP:
            out.append(name)
    return list(dict.fromkeys(out))


_EN = [
    ("lives_in", PLACE, re.compile(r"\b(?:lives|living|resides|based|moved|moving|relocated)\s+(?:in|to)\s+([^,;.]+)", re.I)),
    ("lived_in", PLACE, re.compile(r"\b(?:used to live|lived|previously lived)\s+in\s+([^,;.]+)", re.I)),
    ("works_at", ORGANISATION, re.compile(r"\bworks?\s+(?:at|for)\s+([^,;.]+)", re.I)),
    ("works_as", TOPIC, re.compile(r"\bworks?\s+as\s+(?:an?\s+)?([^,;.]+)", re.I)),
    ("works_in", PLACE, re.compile(r"\bworks?\s+in\s+([^,;.]+)", re.I)),
    ("trip_to", PLACE, re.compile(r"\btrip\s+to\s+([A-Z][^,;.]*?)(?:\s+(?:in|on|at|for|with|next|this|during)\b|[,;.]|$)")),
]
_ZH = [
    ("lives_in", PLACE, re.compile(r"(?:在|住在|搬到了?|搬去了?)([\u4e00-\u9fffA-Za-z]{1,12}?)(?:居住|生活|住|了)")),
    ("lives_in", PLACE, re.compile(r"住在([\u4e00-\u9fffA-Za-z]{1,12})")),
    ("works_at", ORGANISATION, re.compile(r"在([\u4e00-\u9fffA-Za-z]{1,16}?)(?:工作|上班|任职)")),
    ("works_as", TOPIC, re.compile(r"(?:担任|职业是|是一名|是一个)([\u4e00-\u9fffA-Za-z]{1,10})")),
]
_PERSON_EN = re.compile(r"\b(?:wife|husband|partner|spouse|son|daughter|sister|brother|mother|father|mom|dad|"
                        r"friend|colleague|boss|cousin|aunt|uncle|grandmother|grandfather|child)\s+(?:is\s+|named\s+|called\s+)?"
                        r"([A-Z][\w\-]+)")
_PERSON_ZH = re.compile(r"(?:名叫|叫做|叫)([\u4e00-\u9fff]{2,3}?)(?:的|，|,|。|$)")


def _clean(obj: str) -> str:
    obj = re.split(r"\s+(?:and|but|while|who|which|where|since|because)\s+|\s+(?:in|from|since|until)\s+\d", obj)[0]
    obj = re.sub(r"\s+(?:now|again|too|as well|recently|last month|last year|this year)$", "", obj.strip(), flags=re.I)
    obj = re.sub(r"^(?:the|a|an)\s+", "", obj, flags=re.I)
    return obj.strip(" .,;:!?'\"")


def clause_objects(clause: str) -> list[tuple[str, str, str]]:
    """(relation, entity type, object) stated by one clause."""
    found: list[tuple[str, str, str]] = []
    for rel, typ, pattern in _EN + _ZH:
        for m in pattern.finditer(clause or ""):
            obj = _clean(m.group(1))
            if obj and len(obj) <= 40 and (rel, obj) not in {(f[0], f[2]) for f in found}:
                if rel == "works_in" and any(f[0] in ("works_at", "works_as") for f in found):
                    continue
                found.append((rel, typ, obj))
    return found


def _person_name(text: str) -> str | None:
    m = _PERSON_EN.search(text or "") or _PERSON_ZH.search(text or "")
    return m.group(1) if m else None


_KIN = {"children": "child", "parents": "parent", "siblings": "sibling", "friends": "friend"}
_PLAIN_RELATION = {"residence": "lives_in", "residence.previous": "lived_in", "work.employer": "works_at",
                   "work.location": "works_in", "work.role": "works_as", "work.field": "works_in_field"}
_PLAIN_TYPE = {"lives_in": PLACE, "lived_in": PLACE, "works_at": ORGANISATION, "works_in": PLACE,
               "works_as": TOPIC, "works_in_field": TOPIC}


def relations_of(view: dict[str, Any]) -> list[Relation]:
    """The relations a memory version states, one list per version (empty for episodes)."""
    if view.get("kind") == "episode":
        return []
    user_id = view["user_id"]
    me = user_entity(user_id)
    attrs = view.get("attributes") or {}
    times = attrs.get("slot_times") or {}
    when = view_time(view)
    out: list[Relation] = []

    def add(source: Entity, rel: str, target_name: str, typ: str, slot: str) -> None:
        name = _clean(str(target_name))
        if not name or normalise(name) in ("user", "the user", normalise(user_id)):
            return
        out.append(Relation(source, rel, Entity(user_id, name, typ), slot, _iso(times.get(slot) or when)))

    slots = dict(view.get("slots") or {}) or {view.get("key") or "": view.get("content") or ""}
    for slot, clause in slots.items():
        clause = clause or ""
        head, _, rest = slot.partition(".")
        if view.get("kind") == "tool":
            add(me, "uses_tool", attrs.get("tool") or rest or slot, TOPIC, slot)
        elif slot == "name":
            continue  # the user's own name: an alias of the user node (see ``user_names``)
        elif slot in _PLAIN_RELATION:
            rel = _PLAIN_RELATION[slot]
            objs = [o for r, _, o in clause_objects(clause) if r == rel] or [o for _, _, o in clause_objects(clause)]
            if not objs and len(slots) == 1 and attrs.get("value"):
                objs = [attrs["value"]]
            for obj in objs[:1]:
                add(me, rel, obj, _PLAIN_TYPE[rel], slot)
        elif head == "family":
            kin, _, aspect = rest.partition(".")
            kin = kin or "relative"
            who = _person_name(clause) or _person_name(view.get("content") or "")
            if who is None and kin in ("spouse", "children") and attrs.get("value") not in (None, "女儿", "儿子"):
                who = attrs.get("value") if len(slots) == 1 else None
            person = Entity(user_id, who or f"{user_id}'s {kin}", PERSON)
            out.append(Relation(person, f"{_KIN.get(kin, kin)}_of", me, slot,
                                _iso(times.get(slot) or when)))
            for rel, typ, obj in clause_objects(clause):
                add(person, rel, obj, typ, slot)
        elif head in ("travel", "plan"):
            dest = attrs.get("destination") if len(slots) == 1 else None
            dests = [dest] if dest else [o for r, _, o in clause_objects(clause) if r == "trip_to"]
            for d in dests[:1]:
                period = attrs.get("when") or rest or ""
                trip = Entity(user_id, f"trip to {d} {period}".strip(), EVENT)
                out.append(Relation(me, "plans", trip, slot, _iso(times.get(slot) or when)))
                add(trip, "trip_to", d, PLACE, slot)
                add(me, "plans_trip_to", d, PLACE, slot)
        elif head in ("preference", "food", "diet", "likes", "dislikes", "hobby"):
            polarity = attrs.get("polarity")
            negative = polarity == "neg" or rest in ("dislike",) or head == "dislikes" or \
                bool(re.search(r"\b(?:dislikes?|hates?|not|doesn't|don't)\b|不喜欢|讨厌|不能|不吃", clause))
            generic = rest in ("", "like", "likes", "dislike", "love", "hate", "favourite", "favorite")
            obj = (attrs.get("value") if len(slots) == 1 else None) or (_strip_verb(clause) if generic else rest)
            if head == "diet":
                add(me, "diet", rest or obj, TOPIC, slot)
            else:
                add(me, "dislikes" if negative else "likes", obj, TOPIC, slot)
        else:
            for rel, typ, obj in clause_objects(clause):
                add(me, rel, obj, typ, slot)
    return list(dict.fromkeys(out))


def _strip_verb(clause: str) -> str:
    return re.sub(r"^(?:likes?|loves?|enjoys?|prefers?|dislikes?|hates?|不喜欢|讨厌|喜欢吃|喜欢|爱吃|爱上了?|爱)\s*", "",
                  clause.strip(), flags=re.I)


def user_names(view: dict[str, Any]) -> list[str]:
    """Names the user goes by in this memory (the ``name`` slot)."""
    clause = (view.get("slots") or {}).get("name")
    if not clause:
        return []
    m = re.search(r"(?:is called|name is|called)\s+(.+)|叫(.+)", clause)
    name = _clean((m.group(1) or m.group(2)) if m else "")
    return [name] if name else []


def mentions_of(view: dict[str, Any], relations: list[Relation]) -> list[Entity]:
    """Every entity a memory version touches: its relations' ends and the names in its text."""
    user_id = view["user_id"]
    found: dict[str, Entity] = {}
    for r in relations:
        for e in (r.source, r.target):
            found.setdefault(e.id, e)
    text = view.get("content") or ""
    for name in names_in(text):
        e = Entity(user_id, name, NAME)
        found.setdefault(e.id, e)
    return list(found.values())
