"""The Offline stage's planning: look at one user's whole active memory, list the fixes.

The Fine stage organises locally (one input against the user's directory); what it
misses shows up only across conversations: the same statement recorded twice in
other words, two memories that disagree about one slot, episodes that Fine memories
now cover, a profile whose text no longer matches its slots, a plan whose date has
passed. ``Reconciler.plan`` is a pure function from the user's active memories to
the changes that fix those; applying them (as Memory events) is the application's
job. Merging two different memories is worse than keeping a near-duplicate, so the
paraphrase test is strict (token overlap with a high threshold, equal numbers,
equal negation) and a plan applied once plans nothing the second time.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Callable, Mapping, Sequence

from domain.consolidation import GROUPS, PROFILE_KEY, render
from domain.extraction import ExistingMemory
from domain.governance import GovernancePolicy, Incoming
from domain.value_conflicts import VALUE_RULE, Held, Values, superseded, value_family

MERGE_KINDS = ("fact", "preference")
DUPLICATE_RULE, PROFILE_RULE, COVERED_RULE = "offline.duplicate", "offline.profile", "offline.covered"
NO_INFO_RULE, PAST_RULE = "offline.no_information", "offline.past_plan"
PARAPHRASE_THRESHOLD = 0.8

Similar = Callable[[str, str], float]
"""Optional second opinion for near-paraphrases: (text, text) -> cosine similarity."""


@dataclass(frozen=True)
class MemoryState:
    """One active memory as the planner sees it (from the timeline view or the aggregate)."""

    memory_id: str
    kind: str
    key: str
    content: str
    version: int
    slots: Mapping[str, str] = field(default_factory=dict)
    attributes: Mapping[str, Any] = field(default_factory=dict)
    tags: tuple[str, ...] = ()
    sources: tuple[Mapping[str, Any], ...] = ()
    confidence: float = 1.0
    created_at: str = ""

    @classmethod
    def from_view(cls, view: Mapping[str, Any]) -> "MemoryState":
        return cls(memory_id=str(view["memory_id"]), kind=view["kind"], key=view.get("key") or "",
                   content=view.get("content") or "", version=int(view["version"]),
                   slots=dict(view.get("slots") or {}), attributes=dict(view.get("attributes") or {}),
                   tags=tuple(view.get("tags") or ()), sources=tuple(dict(s) for s in view.get("sources") or ()),
                   confidence=float(view.get("confidence", 1.0)), created_at=str(view.get("created_at") or ""))

    def chat_times(self) -> list[str]:
        return sorted(s["chat_time"] for s in self.sources if s.get("chat_time"))

    def age(self) -> tuple[str, str, str]:
        """Order of seniority: the first statement, then creation, then id (deterministic)."""
        times = self.chat_times()
        return (times[0] if times else "9999", self.created_at, self.memory_id)


@dataclass
class Change:
    """One planned event: ``revise`` the survivor/holder, ``merge`` a duplicate into
    ``survivor`` (archived, linked), or ``archive`` (conflict loser, covered episode, ...)."""

    memory_id: str
    action: str
    reason: str
    rule: str
    version: int
    survivor: str | None = None
    content: str | None = None
    slots: dict[str, str] | None = None
    attributes: dict[str, Any] | None = None
    tags: list[str] | None = None
    new_sources: list[dict[str, Any]] = field(default_factory=list)
    superseded_by: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        data = {"memory_id": self.memory_id, "action": self.action, "reason": self.reason, "rule": self.rule}
        if self.survivor:
            data["survivor"] = self.survivor
        return data


# ------------------------------------------------------------------ text similarity

_EN_STOP = set("""a an the user user's users is are was were be been am to of in on at for with and or
that this it its their his her my i me we our they them he she s really very much quite also too just so
currently now""".split())
_EN_SYNONYMS = {"love": "like", "loves": "like", "enjoy": "like", "enjoys": "like", "likes": "like",
                "adore": "like", "adores": "like", "fond": "like", "prefers": "prefer", "hates": "dislike",
                "dislikes": "dislike", "lives": "live", "resides": "live", "reside": "live", "living": "live"}
_NEGATIONS = {"not", "no", "never", "don't", "doesn't", "dont", "doesnt", "isn't", "can't", "cannot", "won't"}
_ZH_NEG = re.compile(r"不|没|别|未|无")
_ZH_STOP = re.compile(r"用户|非常|特别|比较|很|的|了|也|都|就|还|呢|吧|啊")
_WORD = re.compile(r"[a-z][a-z']*|\d+")
_CJK = re.compile(r"[\u4e00-\u9fff]+")


def _en_token(word: str) -> str:
    word = _EN_SYNONYMS.get(word, word)
    return word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word


def signature(text: str) -> tuple[frozenset[str], frozenset[str], frozenset[str]]:
    """(content tokens, numbers, negation markers): English content words, Chinese
    character bigrams, digits apart so that 2025 and 2026 never match."""
    lowered = text.lower()
    words = _WORD.findall(lowered)
    numbers = frozenset(w for w in words if w.isdigit())
    negations = {w for w in words if w in _NEGATIONS} | set(_ZH_NEG.findall(text))
    tokens = {_en_token(w) for w in words if not w.isdigit() and w not in _EN_STOP and w not in _NEGATIONS}
    for run in _CJK.findall(_ZH_STOP.sub(" ", text)):
        tokens |= {run[i:i + 2] for i in range(len(run) - 1)} if len(run) > 1 else {run}
    return frozenset(tokens), numbers, frozenset(negations)


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    return len(a & b) / len(a | b) if a or b else 1.0


def same_statement(a: str, b: str, similar: Similar | None = None, threshold: float = PARAPHRASE_THRESHOLD) -> bool:
    """The same statement in other words? Strict: merging two facts loses one."""
    return same_signature(signature(a), signature(b), a, b, similar, threshold)


def same_signature(sa: Any, sb: Any, a: str, b: str, similar: Similar | None = None,
                   threshold: float = PARAPHRASE_THRESHOLD) -> bool:
    (ta, na, ga), (tb, nb, gb) = sa, sb
    if na != nb or ga != gb or not ta or not tb:
        return False
    score = jaccard(ta, tb)
    if score >= threshold:
        return True
    return similar is not None and score >= 0.6 and similar(a, b) >= 0.93


# ------------------------------------------------------------------ dates of plans

_SEASON_END = {"spring": (5, 31), "summer": (8, 31), "autumn": (11, 30), "fall": (11, 30)}


def period_end(token: str) -> date | None:
    """The last day of a period token (``2025-summer``, ``2025-05-14``, ``2025-W21``,
    ``2025-06``, ``2025-H1``, ``2026``); unknown holidays count to the year's end."""
    m = re.fullmatch(r"(\d{4})(?:-(.+))?", token or "")
    if not m:
        return None
    year, rest = int(m.group(1)), m.group(2) or ""
    try:
        if not rest:
            return date(year, 12, 31)
        if re.fullmatch(r"\d{2}-\d{2}", rest):
            return date.fromisoformat(token)
        if re.fullmatch(r"\d{2}", rest):
            month = int(rest)
            return date(year + month // 12, month % 12 + 1, 1) - timedelta(days=1)
        if w := re.fullmatch(r"W(\d{2})(?:-weekend)?", rest):
            return date.fromisocalendar(year, int(w.group(1)), 7)
        if h := re.fullmatch(r"H([12])", rest):
            return date(year, 6, 30) if h.group(1) == "1" else date(year, 12, 31)
    except ValueError:
        return None
    if rest in _SEASON_END:
        return date(year, *_SEASON_END[rest])
    if rest.startswith("winter"):
        return date(year + 1, 2, 28)
    return date(year, 12, 31)


def past_tense(content: str) -> str:
    """The plan's sentence, told as past."""
    rewritten = re.sub(r"\bis planning\b", "was planning", content)
    rewritten = re.sub(r"\b(plans|intends|is going|wants) to\b",
                       lambda m: {"plans": "planned", "intends": "intended", "is going": "was going",
                                  "wants": "wanted"}[m.group(1)] + " to", rewritten)
    rewritten = re.sub(r"(?<!曾)(计划|打算|准备|想)", r"曾\1", rewritten, count=1)
    if rewritten != content:
        return rewritten
    return content + ("（已过去）" if _CJK.search(content) else " (now past)")


# ------------------------------------------------------------------ the planner


@dataclass
class _Work:
    state: MemoryState
    content: str
    slots: dict[str, str]
    attributes: dict[str, Any]
    tags: list[str]
    new_sources: list[dict[str, Any]] = field(default_factory=list)
    reasons: list[tuple[str, str]] = field(default_factory=list)
    archived: Change | None = None

    @property
    def sources(self) -> list[Mapping[str, Any]]:
        return list(self.state.sources) + self.new_sources

    def absorb_sources(self, other: "_Work") -> None:
        held = {(s.get("event_id"), s.get("message_id")) for s in self.sources}
        for s in other.sources:
            if (s.get("event_id"), s.get("message_id")) not in held:
                self.new_sources.append(dict(s))
                held.add((s.get("event_id"), s.get("message_id")))

    def changed(self, reason: str, rule: str) -> None:
        if (reason, rule) not in self.reasons:
            self.reasons.append((reason, rule))


def _lang(work: _Work) -> str:
    return work.attributes.get("lang") or ("zh" if _CJK.search(work.content) else "en")


class Reconciler:
    """Plans one user's fixes. ``no_information`` (text -> bool) marks episodes worth
    nothing; without it only covered episodes are archived. ``today`` dates past plans."""

    def __init__(self, policy: GovernancePolicy, *, today: date | None = None,
                 no_information: Callable[[str], bool] | None = None, similar: Similar | None = None,
                 values: Values | None = None) -> None:
        self.policy, self.today, self.no_information, self.similar = policy, today, no_information, similar
        self.values = values
        """The extractor's values of a family (``domain.value_conflicts``); none: no value settling."""

    def plan(self, memories: Sequence[MemoryState]) -> list[Change]:
        work = {m.memory_id: _Work(m, m.content, dict(m.slots), dict(m.attributes), list(m.tags))
                for m in sorted(memories, key=MemoryState.age)}
        mergeable = [w for w in work.values() if w.state.kind in MERGE_KINDS]
        self._settle_slot_families(mergeable)
        self._settle_values(mergeable)
        self._merge_duplicates([w for w in mergeable if w.archived is None and w.state.key != PROFILE_KEY])
        for w in mergeable:
            if w.archived is None:
                self._rerender_profile(w)
                self._mark_past_plan(w)
        self._archive_episodes(list(work.values()))
        return self._changes(work.values())

    # -- two memories holding one slot: governance decides, one Memory ID survives
    def _settle_slot_families(self, memories: list[_Work]) -> None:
        holders: dict[str, list[_Work]] = {}
        for w in memories:
            for slot in set(w.slots) | ({w.state.key} if w.state.key and w.state.key != PROFILE_KEY else set()):
                holders.setdefault(slot, []).append(w)
        for slot, group in holders.items():
            group = [w for w in group if w.archived is None]
            if len(group) < 2:
                continue
            winner, rule, contested = self._slot_winner(slot, group)
            profiles = [w for w in group if w.state.key == PROFILE_KEY]
            survivor = profiles[0] if profiles else winner
            if survivor.slots.get(slot) != winner.slots.get(slot) and slot in winner.slots:
                survivor.slots[slot] = winner.slots[slot]
                times = dict(survivor.attributes.get("slot_times") or {})
                times[slot] = _slot_time(winner, slot) or times.get(slot)
                survivor.attributes["slot_times"] = {k: v for k, v in times.items() if v}
                if survivor.state.key != PROFILE_KEY:
                    survivor.content = winner.content
                survivor.changed("conflict", rule)
            for other in group:
                if other is survivor:
                    continue
                agrees = not contested or self._agree(other, winner, slot)
                if agrees:
                    survivor.absorb_sources(other)
                    survivor.changed("duplicate", DUPLICATE_RULE)
                    for extra, clause in other.slots.items():  # a second profile's other slots
                        survivor.slots.setdefault(extra, clause)
                other.archived = Change(
                    other.state.memory_id, "merge" if agrees else "archive",
                    "duplicate" if agrees else "conflict", DUPLICATE_RULE if agrees else rule,
                    other.state.version, survivor=survivor.state.memory_id,
                    superseded_by=[survivor.state.memory_id])

    # -- two memories giving one single-valued family different values (two homes)
    def _settle_values(self, memories: list[_Work]) -> None:
        if self.values is None:
            return
        held = []
        for i, w in enumerate(memories):
            if w.archived is not None or w.state.kind != "fact":
                continue
            for slot, clause in (w.slots or {w.state.key: w.content}).items():
                family = value_family(slot)
                values = self.values(clause, family) if family else frozenset()
                if values:
                    held.append(Held(i, slot, family, str(w.attributes.get("subject", "user")), values,
                                     _slot_time(w, slot) or w.state.created_at))
        for stale, current in superseded(held):
            loser, winner = memories[stale.memory], memories[current.memory]
            if loser.archived is not None or winner.archived is not None or \
                    not self.policy.new_wins(_existing(loser, stale.slot), _incoming(winner, current.slot)):
                continue
            if len(loser.slots) > 1:  # a profile (or the work memory) loses that slot only
                loser.slots.pop(stale.slot, None)
                loser.changed("conflict", VALUE_RULE)
            else:
                loser.archived = Change(loser.state.memory_id, "archive", "conflict", VALUE_RULE,
                                        loser.state.version, superseded_by=[winner.state.memory_id])

    def _agree(self, a: _Work, b: _Work, slot: str) -> bool:
        return same_statement(_clause(a, slot), _clause(b, slot))

    def _slot_winner(self, slot: str, group: list[_Work]) -> tuple[_Work, str, bool]:
        """Fold the holders in time order through the policy; (winner, rule, disagreed)."""
        ordered = sorted(group, key=lambda w: (_slot_time(w, slot) or "", w.state.age()))
        current, rule, contested = ordered[0], DUPLICATE_RULE, False
        for other in ordered[1:]:
            if self._agree(current, other, slot):
                continue
            contested = True
            if self.policy.new_wins(_existing(current, slot), _incoming(other, slot)):
                current = other
            rule = self.policy.name
        return current, rule, contested

    # -- the same statement twice, in other words
    def _merge_duplicates(self, memories: list[_Work]) -> None:
        # Only memories of one kind with equal numbers and negations can say the same thing.
        buckets: dict[tuple, list[tuple[_Work, Any]]] = {}
        for w in memories:
            sig = signature(w.content)
            buckets.setdefault((w.state.kind, sig[1], sig[2]), []).append((w, sig))
        for bucket in buckets.values():
            self._merge_bucket(bucket)

    def _candidates(self, bucket: list[tuple[_Work, Any]]) -> dict[int, set[int]]:
        """Pairs that can reach the lowest Jaccard score acted on (prefix filtering: two
        token sets with Jaccard >= t share a token among each one's |x| - ceil(t|x|) + 1
        rarest tokens), so a user's distinct memories are not compared all with all."""
        floor = 0.6 if self.similar is not None else PARAPHRASE_THRESHOLD
        frequency: dict[str, int] = {}
        for _, (tokens, _, _) in bucket:
            for token in tokens:
                frequency[token] = frequency.get(token, 0) + 1
        postings: dict[str, list[int]] = {}
        pairs: dict[int, set[int]] = {}
        for i, (_, (tokens, _, _)) in enumerate(bucket):
            ranked = sorted(tokens, key=lambda t: (frequency[t], t))
            for token in ranked[: len(ranked) - math.ceil(floor * len(ranked)) + 1]:
                for j in postings.setdefault(token, []):
                    pairs.setdefault(j, set()).add(i)
                postings[token].append(i)
        return pairs

    def _merge_bucket(self, bucket: list[tuple[_Work, Any]]) -> None:
        pairs = self._candidates(bucket) if len(bucket) > 2 else {0: {1}} if len(bucket) == 2 else {}
        for i, (survivor, sa) in enumerate(bucket):
            if survivor.archived is not None:
                continue
            for j in sorted(pairs.get(i, ())):
                other, sb = bucket[j]
                if other.archived is not None:
                    continue
                if not same_signature(sa, sb, survivor.content, other.content, self.similar):
                    continue
                survivor.absorb_sources(other)
                survivor.tags = sorted(set(survivor.tags) | set(other.tags))
                survivor.changed("duplicate", DUPLICATE_RULE)
                other.archived = Change(other.state.memory_id, "merge", "duplicate", DUPLICATE_RULE,
                                        other.state.version, survivor=survivor.state.memory_id,
                                        superseded_by=[survivor.state.memory_id])

    def _rerender_profile(self, w: _Work) -> None:
        if w.state.key not in GROUPS or not w.slots or w.state.key != PROFILE_KEY and not w.reasons:
            return  # a profile always; the work memory when a slot of it changed here
        rendered = render(w.slots, _lang(w))
        if rendered and rendered != w.content:
            w.content = rendered
            w.changed("refinement", PROFILE_RULE)

    def _mark_past_plan(self, w: _Work) -> None:
        period = w.attributes.get("period")
        if self.today is None or not period or w.attributes.get("past") or w.state.kind != "fact":
            return
        end = period_end(str(period))
        if end is not None and end < self.today:
            w.attributes["past"] = True
            w.tags = sorted(set(w.tags) | {"past"})
            w.content = past_tense(w.content)
            w.changed("refinement", PAST_RULE)

    # -- episodes: covered by Fine memories, or carrying nothing
    def _archive_episodes(self, memories: list[_Work]) -> None:
        held: dict[tuple[Any, Any], list[str]] = {}
        for w in memories:
            if w.state.kind != "episode" and w.archived is None:
                for s in w.sources:
                    held.setdefault((s.get("event_id"), s.get("message_id")), []).append(w.state.memory_id)
        for w in memories:
            if w.state.kind != "episode" or not w.state.sources:
                continue
            keys = [(s.get("event_id"), s.get("message_id")) for s in w.state.sources]
            if all(k in held for k in keys):
                successors = sorted({mid for k in keys for mid in held[k]})
                w.archived = Change(w.state.memory_id, "archive", "superseded", COVERED_RULE, w.state.version,
                                    superseded_by=successors)
            elif self.no_information is not None and self.no_information(w.content):
                w.archived = Change(w.state.memory_id, "archive", "no_information", NO_INFO_RULE, w.state.version)

    @staticmethod
    def _changes(memories: Any) -> list[Change]:
        changes: list[Change] = []
        for w in memories:
            if w.archived is not None:
                changes.append(w.archived)
            elif w.reasons:
                changes.append(Change(
                    w.state.memory_id, "revise", w.reasons[0][0], "+".join(dict.fromkeys(r for _, r in w.reasons)),
                    w.state.version, content=w.content, slots=w.slots, attributes=w.attributes, tags=w.tags,
                    new_sources=w.new_sources))
        return changes


def _clause(w: _Work, slot: str) -> str:
    return w.slots.get(slot) or w.content


def _slot_time(w: _Work, slot: str) -> str | None:
    times = w.attributes.get("slot_times") or {}
    chat = w.state.chat_times()
    return times.get(slot) or (chat[-1] if chat else None)


def _existing(w: _Work, slot: str) -> ExistingMemory:
    return ExistingMemory(memory_id=w.state.memory_id, kind=w.state.kind, key=w.state.key, content=w.content,
                          version=w.state.version, slots=dict(w.slots), confidence=w.state.confidence,
                          latest_chat_time=_slot_time(w, slot),
                          source_roles=tuple(sorted({s.get("role") or "" for s in w.sources})),
                          attributes=dict(w.attributes))


def _incoming(w: _Work, slot: str) -> Incoming:
    roles = [s.get("role") for s in sorted(w.sources, key=lambda s: s.get("chat_time") or "") if s.get("role")]
    return Incoming(chat_time=_slot_time(w, slot), role=roles[-1] if roles else None, confidence=w.state.confidence)
