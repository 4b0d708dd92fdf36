"""What every candidate carries for consolidation besides its slot: subject, predicate family,
object words, change and additive markers, and its clause in both languages where a template
exists.

Why: a rule knows its slot but not whether the sentence announced a change ("now", 改, 不再),
and consolidation needs that to revise a memory on another slot of the same family
(``work.employer`` after "I started at Netflix", a fallback fact after "I went vegan").
Clauses in both languages let a profile be rendered in one language, the latest statement's.
"""

from __future__ import annotations

from extraction.rules import pattern_cache as re
from extraction.rules.base import Found, Sentence
from extraction.rules.places import ZH_TO_EN
from extraction.rules.topics import FAMILY_SLOTS, content_words, family_of, family_of_slot, has_change, is_additive

GROUPED_PREFIXES = {"work.": "work"}
_EN_TO_ZH = {v: k for k, v in ZH_TO_EN.items()}

TEMPLATES = {
    "name": ("叫{v}", "is called {v}"),
    "age": ("{v}岁", "is {v} years old"),
    "residence": ("在{v}居住", "lives in {v}"),
    "hometown": ("来自{v}", "is originally from {v}"),
    "work.employer": ("在{v}工作", "works at {v}"),
}


def group_of(slot: str) -> str | None:
    for prefix, group in GROUPED_PREFIXES.items():
        if slot.startswith(prefix):
            return group
    return None


def _both(slot: str, value: str) -> dict[str, str] | None:
    t = TEMPLATES.get(slot)
    if t is None or not value:
        return None
    zh_v = _EN_TO_ZH.get(value, value)
    en_v = ZH_TO_EN.get(value, value)
    return {"zh": t[0].format(v=zh_v), "en": t[1].format(v=en_v)}


def annotate(s: Sentence, fs: list[Found]) -> None:
    """Fill in what consolidation reads (never overriding what a rule set itself)."""
    change = has_change(s.text, s.lang)
    additive = is_additive(s.text, s.lang)
    family = family_of(s.text, s.lang)
    for f in fs:
        a = f.attributes
        if a.get("fallback"):
            continue
        m = re.match(r"family\.([^.]+)\.", f.slot)
        a.setdefault("subject", m.group(1) if m else "user")
        a.setdefault("change", change or a.get("polarity") == "no_longer")
        a.setdefault("additive", additive)
        fam = family if a["subject"] == "user" else None
        if fam and f.slot.split(".")[0] != "event" and not any(f.slot.startswith(p) for p in FAMILY_SLOTS.get(fam, ())):
            fam = None  # the sentence's family is not this finding's (a name beside a move)
        if fam is None and a["subject"] == "user":
            fam = family_of_slot(f.slot)  # 这学期…调去教务处: the sentence reads as study, the slot is the job
        a.setdefault("family", fam)
        a.setdefault("family_slots", list(FAMILY_SLOTS.get(fam or "", ())))
        a.setdefault("topic", sorted(content_words(f.clause)))
        both = _both(f.slot, str(a.get("value") or ""))
        if both:
            a.setdefault("clauses", both)
