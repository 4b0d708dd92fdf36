"""Search over a user's current memories.

Tenant isolation is part of the index query (the user filter runs inside the
engine), never a filter over a global top-k. Results are current versions only:
the index holds one point per Memory ID at its latest version and drops archived
memories.

Ranking (each step measured on LoCoMo, bench/results/REPORT.md):

* dense: cosine similarity of the query to each memory's embedding text;
* hybrid, when a lexical index is given: the dense and BM25 candidate lists
  (``DENSE_CANDIDATES``, ``CANDIDATES``) are fused by a weighted sum of
  normalised scores. The small multilingual model matches a question to other
  *questions* in a chat ("What did you paint?") more than to the answer; BM25
  keys on names and rare nouns. A weighted sum beat reciprocal-rank fusion here
  (R@10 ~70 vs ~62 over raw turns) because the two are unequal: BM25 alone was
  far stronger than dense alone, and RRF weighs them equally;
* speaker prior: when the query names exactly one of the speakers seen among the
  candidates ("When did Melanie ..."), episodes said by other speakers are scaled
  by ``SPEAKER_PRIOR``. In LoCoMo 97% of evidence turns for such questions are the
  named person's own turns. Fine memories carry no speaker and are left as they are;
* time prior: when the query names a calendar period ("in April 2022", "on 31
  October, 2022", "2023年5月"), memories whose time (their latest source's
  chat_time) lies outside it, padded by a week before and a month after (people
  plan ahead and tell afterwards), are scaled by ``TIME_PRIOR``. On the 194 LoCoMo
  questions naming a date it lifted R@10 from ~68 to ~74. Unlike the
  ``updated_from``/``updated_to`` filter it is soft: a strong match outside still wins.

* kind prior: episodes are scaled by ``EPISODE_PRIOR``, so a Fine memory (a
  third-person statement distilled from the turns) outranks the raw turns it came
  from when both match; episodes keep their order among themselves, which is why
  LoCoMo, answered mostly by episodes, barely moves (docs/benchmarks.md);
* direct questions about the user ("where do I live?", "住在哪里", "what do I do for
  a living?"): the user asks about their own current state, which is what Fine
  memories hold, so episodes are scaled by ``SELF_EPISODE_PRIOR`` instead, and the
  lexical query is expanded by the predicate family it asks about (residence, work,
  diet, ...: ``QUERY_TOPICS``). Why: the question and the fact share no word ("live"
  vs "居住", "for a living" vs "works as a nurse"), the small dense model matches
  questions to other questions, and Snowball stems "living" to "live". The cue
  phrase is replaced by the family's words, never added to a third-person question;
* distilled first: when an episode and a Fine memory among the first
  ``DISTILL_WINDOW`` candidates share a source message (the memory was extracted
  from, or revised by, that turn), the Fine memory is moved just above the episode
  and takes its score. The turn is the evidence and the memory is what it means now
  ("我开什么车": the revised car fact, not the turn that sold the old one). The
  window is fixed, so a top-5 is still the prefix of a top-25;
* no-information guard: an episode that carries no information (greetings, thanks,
  ``domain.information``) is never returned, even in the moment before the Fine
  stage archives it (on the Kafka path the stages run apart).

Superseded text never appears because the index holds only current versions:
a revised memory is re-indexed with its new content, an archived one is deleted.

``score`` is the fused relevance in (0, 1] (the cosine in dense-only mode).
"""

from __future__ import annotations

import calendar
import re
from datetime import datetime, timedelta, timezone
from typing import Any

from domain.information import carries_information
from domain.ports import Embedder, ScoredPoint, SearchFilter, VectorIndex

CANDIDATES = 200
"""Lexical candidates before fusion (fixed, so a top-5 is the prefix of a top-25)."""
DENSE_CANDIDATES = 50
"""Dense candidates before fusion/re-ranking (on LoCoMo 200 gave R@10 76.5, 50 gave
76.0). Candidates carry only the fields ranking reads; the full views are fetched
for the final top-k alone."""
DENSE_WEIGHT = 0.25
"""Weight of the min-max-normalised cosine in the fused score; BM25 / its max gets
the rest. LoCoMo R@10 moved within ~1.5 points for 0.15-0.45 (0.25 best)."""
SPEAKER_PRIOR = 0.6
"""Factor for episodes by another speaker than the one the query names (1.0 = off)."""
TIME_PRIOR = 0.6
"""Factor for memories outside the calendar period the query names (1.0 = off)."""
TIME_PAD = (timedelta(days=7), timedelta(days=31))
"""The period is widened by this much before and after."""
ROLE_NAMES = frozenset({"user", "assistant", "system", "tool"})
EPISODE_PRIOR = 0.8
"""Factor for episodes against Fine memories (1.0 = off)."""
SELF_EPISODE_PRIOR = 0.3
"""Factor for episodes when the query is a direct question about the user."""
ASSISTANT_PRIOR = 0.5
"""Further factor for the assistant's own turns when the query is a direct question about the
user: "what phone do I use?" is answered by what the user said, not by the assistant's advice."""
GUARD_EXTRA = 5
"""Extra candidates whose views are read so that dropped no-information episodes are back-filled."""
DISTILL_WINDOW = 10
"""Candidates, best first, whose sources are read to place Fine memories above their turns
(the views a top-5 reads anyway). On LoCoMo's first 3 conversations 10 gave R@5/10/25
63.9/73.0/82.4 and 50 gave 63.7/71.8/82.1; the labelled conversations score the same."""

_SELF_EN = re.compile(r"\b(?:i|i'm|i've|i'd|im|me|my|mine|myself)\b", re.I)
_OTHER_ZH = re.compile(r"[他她它你您]|[\u4e00-\u9fff]们")
_TOPIC = [  # (cue in the question, words of the family's memories) - zh and en
    (r"for a living|\b(?:work|job|occupation|profession|career|employer|employed|company)\b|工作|上班|职业|公司|雇主|做什么的",
     "work works worked job employed employer company occupation 工作 上班 公司 职业"),
    (r"\b(?:live|living|reside|resides|home|address|city|hometown)\b|居住|住|家在|城市",
     "live lives living reside resides home city moved 居住 住在 搬到"),
    (r"\b(?:eat|eats|food|diet|vegan|vegetarian|allerg\w*|spicy)\b|吃|饮食|素|辣",
     "eat eats diet vegan vegetarian food 吃 饮食 素食 吃辣"),
    (r"\b(?:drink|drinks|coffee|tea|beverage|alcohol)\b|喝|饮料|咖啡|茶|酒",
     "drink drinks coffee tea 喝 饮料 咖啡"),
    (r"\b(?:hobby|hobbies|free time|weekends?|sports?|pastime)\b|爱好|运动|周末|业余",
     "hobby hobbies enjoys likes plays sport 爱好 喜欢 运动"),
    (r"\b(?:pet|pets|dog|cat)\b|宠物|狗|猫",
     "pet pets dog cat 宠物 养了"),
    (r"\b(?:name|called|how old|age)\b|名字|叫什么|几岁|多大|年龄",
     "name named called age years old 名字 叫 岁"),
]
QUERY_TOPICS = [(re.compile(cue, re.I), words) for cue, words in _TOPIC]
"""Predicate families a direct question may ask about; their words expand the lexical query."""


def is_self_question(query: str) -> bool:
    """A question about the user: first person ("I", "my", 我), or Chinese with no other person."""
    if _SELF_EN.search(query) or "我" in query:
        return True
    has_cjk = re.search(r"[\u4e00-\u9fff]", query) is not None
    return has_cjk and not _OTHER_ZH.search(query) and len(query.strip()) <= 12


def expand_query(query: str) -> str:
    """The lexical query of a direct question: each family cue replaced by the family's words."""
    expanded = query
    extra: list[str] = []
    for cue, words in QUERY_TOPICS:
        if cue.search(expanded):
            expanded = cue.sub(" ", expanded)
            extra.append(words)
    return " ".join([expanded, *extra]) if extra else query

_MONTHS = "jan feb mar apr may jun jul aug sep oct nov dec".split()
_MON = r"(jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
_YEAR = r"((?:19|20)\d\d)"
_PERIODS = [  # most specific first: (pattern, groups -> (year, month, day))
    (re.compile(rf"\b(\d{{1,2}})(?:st|nd|rd|th)?\s+{_MON}\.?,?\s+{_YEAR}\b", re.I), lambda g: (g[2], g[1], g[0])),
    (re.compile(rf"\b{_MON}\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?,?\s+{_YEAR}\b", re.I), lambda g: (g[2], g[0], g[1])),
    (re.compile(rf"{_YEAR}\s*年\s*(\d{{1,2}})\s*月\s*(\d{{1,2}})\s*[日号]"), lambda g: (g[0], g[1], g[2])),
    (re.compile(rf"\b{_MON}\.?,?\s+(?:of\s+)?{_YEAR}\b", re.I), lambda g: (g[1], g[0], None)),
    (re.compile(rf"{_YEAR}\s*年\s*(\d{{1,2}})\s*月"), lambda g: (g[0], g[1], None)),
    (re.compile(rf"(?<!\d){_YEAR}(?:\s*年|\b)"), lambda g: (g[0], None, None)),
]


def query_period(query: str) -> tuple[float, float] | None:
    """The calendar period (epoch seconds, [start, end)) a query names, if any."""
    for pattern, parts in _PERIODS:
        m = pattern.search(query)
        if not m:
            continue
        year, month, day = parts(m.groups())
        try:
            y = int(year)
            mo = int(month) if month and month.isdigit() else (_MONTHS.index(month.lower()[:3]) + 1 if month else None)
            if mo is None:
                start, end = datetime(y, 1, 1, tzinfo=timezone.utc), datetime(y + 1, 1, 1, tzinfo=timezone.utc)
            elif day is None:
                start = datetime(y, mo, 1, tzinfo=timezone.utc)
                end = start + timedelta(days=calendar.monthrange(y, mo)[1])
            else:
                start = datetime(y, mo, int(day), tzinfo=timezone.utc)
                end = start + timedelta(days=1)
        except ValueError:  # 31 February and the like
            continue
        return start.timestamp(), end.timestamp()
    return None


def mentioned_speakers(query: str, speakers: set[str]) -> set[str]:
    """Speakers named in the query: any word of the name (>= 3 letters) as a whole
    word, case-insensitively; names in CJK scripts as a substring."""
    lowered = query.lower()
    found = set()
    for speaker in speakers:
        words = [w for w in re.findall(r"[^\W_]+", speaker.lower()) if len(w) >= 3 or not w.isascii()]
        for word in words:
            hit = word in lowered if not word.isascii() else re.search(rf"\b{re.escape(word)}\b", lowered)
            if hit:
                found.add(speaker)
                break
    return found


def fuse(dense: list[ScoredPoint], lexical: list[ScoredPoint], candidates: int,
         dense_weight: float = DENSE_WEIGHT) -> dict[str, tuple[float, dict[str, Any]]]:
    """memory_id -> (fused score, payload). Scores outside a list count as that list's floor."""
    out: dict[str, tuple[float, dict[str, Any]]] = {}
    d_scores = [h.score for h in dense]
    d_hi, d_lo = (max(d_scores), min(d_scores)) if d_scores else (1.0, 0.0)
    l_hi = max((h.score for h in lexical), default=0.0) or 1.0
    # a memory the lexical list lacks scored at most its last entry (0 if the list was not full)
    l_floor = (lexical[-1].score / l_hi) if len(lexical) >= candidates else 0.0
    d_norm = {h.memory_id: ((h.score - d_lo) / (d_hi - d_lo) if d_hi > d_lo else 1.0) for h in dense}
    l_norm = {h.memory_id: h.score / l_hi for h in lexical}
    payloads = {h.memory_id: h.payload for h in lexical}
    payloads.update({h.memory_id: h.payload for h in dense})
    for mid, payload in payloads.items():
        score = dense_weight * d_norm.get(mid, 0.0) + (1 - dense_weight) * l_norm.get(mid, l_floor)
        out[mid] = (score, payload)
    return out


Ranked = list[tuple[str, tuple[float, dict[str, Any]]]]


def source_turns(view: dict[str, Any] | None) -> set[tuple[str, str]]:
    """The (event_id, message_id) of each turn a memory cites."""
    return {(str(s.get("event_id")), str(s.get("message_id"))) for s in (view or {}).get("sources") or []
            if isinstance(s, dict) and s.get("message_id")}


def distilled_first(ranked: Ranked, views: dict[str, dict[str, Any]] | None = None) -> Ranked:
    """Within the first ``DISTILL_WINDOW`` candidates, each Fine memory placed just above the
    first episode it shares a source turn with, at that episode's score if it is higher.
    Sources come from ``views`` when given (candidates then carry only ranking fields)."""
    head, tail = ranked[:DISTILL_WINDOW], ranked[DISTILL_WINDOW:]
    turns = [source_turns(views.get(mid) if views is not None else payload) for mid, (_, payload) in head]
    out: Ranked = []
    moved: set[int] = set()
    for i, (mid, (score, payload)) in enumerate(head):
        if i in moved:
            continue
        if payload.get("kind") == "episode" and turns[i]:
            for j in range(i + 1, len(head)):
                if j not in moved and head[j][1][1].get("kind") != "episode" and turns[i] & turns[j]:
                    j_mid, (j_score, j_payload) = head[j]
                    out.append((j_mid, (max(j_score, score), j_payload)))
                    moved.add(j)
        out.append((mid, (score, payload)))
    return out + tail


class MemorySearch:
    def __init__(self, embedder: Embedder, index: VectorIndex, lexical: Any = None, *,
                 candidates: int = CANDIDATES, dense_candidates: int = DENSE_CANDIDATES,
                 dense_weight: float = DENSE_WEIGHT, speaker_prior: float = SPEAKER_PRIOR,
                 time_prior: float = TIME_PRIOR, episode_prior: float | None = None,
                 self_episode_prior: float | None = None) -> None:
        self.embedder = embedder
        self.index = index
        self.lexical = lexical
        self.candidates = candidates
        self.dense_candidates = dense_candidates
        self.dense_weight = dense_weight
        self.speaker_prior = speaker_prior
        self.time_prior = time_prior
        # read at call time when not given, so a benchmark can set the module constants
        self._episode_prior = episode_prior
        self._self_episode_prior = self_episode_prior

    def search(
        self,
        user_id: str,
        query: str,
        top_k: int = 5,
        kinds: tuple[str, ...] = (),
        keys: tuple[str, ...] = (),
        tags: tuple[str, ...] = (),
        updated_from: float | None = None,
        updated_to: float | None = None,
    ) -> list[dict[str, Any]]:
        if not query.strip():
            raise ValueError("query must not be empty")
        if top_k <= 0:
            return []
        about_user = is_self_question(query)
        episode_prior = self._prior(about_user)
        vector = self.embedder.embed([query])[0]
        flt = SearchFilter(user_id=user_id, kinds=kinds, keys=keys, tags=tags,
                           updated_from=updated_from, updated_to=updated_to)
        rerank = (self.lexical is not None or self.speaker_prior != 1.0 or self.time_prior != 1.0
                  or episode_prior != 1.0)
        if rerank:  # candidates carry only what ranking reads; views are fetched for the winners
            dense = self.index.search(vector, flt, max(top_k, self.dense_candidates), with_payload=False)
        else:
            dense = self.index.search(vector, flt, top_k)
        if self.lexical is not None:
            pool = max(top_k, self.candidates)
            lexical = self.lexical.search(expand_query(query) if about_user else query, flt, pool)
            scored = fuse(dense, lexical, pool, self.dense_weight)
        else:
            scored = {h.memory_id: (float(h.score), h.payload) for h in dense}
        if self.speaker_prior != 1.0:
            scored = self._speaker_prior(query, scored)
        if self.time_prior != 1.0:
            scored = self._time_prior(query, scored)
        if episode_prior != 1.0:
            scored = {mid: (score * self._episode_factor(payload, episode_prior, about_user), payload)
                      for mid, (score, payload) in scored.items()}
        ranked = sorted(scored.items(), key=lambda item: (-item[1][0], item[0]))
        views: dict[str, dict[str, Any]] = {}
        if rerank:  # candidates carry no sources: read the window's views once, reused below
            views = self.index.views([mid for mid, _ in ranked[:DISTILL_WINDOW]])
        ranked = distilled_first(ranked, views if rerank else None)
        read = min(len(ranked), DISTILL_WINDOW) if rerank else len(ranked)
        results: list[dict[str, Any]] = []
        start = 0
        while len(results) < top_k and start < len(ranked):
            batch = ranked[start:start + top_k - len(results) + GUARD_EXTRA]
            start += len(batch)
            if rerank and start > read:
                views.update(self.index.views([mid for mid, _ in ranked[read:start]]))
                read = start
            for mid, (score, payload) in batch:
                if rerank:
                    if mid not in views:
                        continue  # archived between the two reads: never return a stale view
                    payload = views[mid]
                if payload.get("kind") == "episode" and not carries_information(str(payload.get("content") or "")):
                    continue  # small talk: never a result, even before the Fine stage archives it
                view = {k: v for k, v in payload.items() if k not in ("updated_ts", "tombstone")}
                view["score"] = round(max(float(score), 1e-6) if self.lexical is not None else float(score), 6)
                results.append(view)
                if len(results) == top_k:
                    break
        return results

    @staticmethod
    def _episode_factor(payload: dict[str, Any], episode_prior: float, about_user: bool) -> float:
        if payload.get("kind") != "episode":
            return 1.0
        if about_user and (payload.get("attributes") or {}).get("speaker") == "assistant":
            return episode_prior * ASSISTANT_PRIOR  # the assistant's words are no account of the user
        return episode_prior

    def _prior(self, about_user: bool) -> float:
        if about_user:
            return SELF_EPISODE_PRIOR if self._self_episode_prior is None else self._self_episode_prior
        return EPISODE_PRIOR if self._episode_prior is None else self._episode_prior

    def _speaker_prior(self, query: str, scored: dict[str, tuple[float, dict[str, Any]]]
                       ) -> dict[str, tuple[float, dict[str, Any]]]:
        def speaker(payload: dict[str, Any]) -> str | None:
            if payload.get("kind") != "episode":
                return None
            name = (payload.get("attributes") or {}).get("speaker")
            return name if name and name not in ROLE_NAMES else None

        known = {s for _, p in scored.values() if (s := speaker(p))}
        named = mentioned_speakers(query, known) if len(known) > 1 else set()
        if len(named) != 1:
            return scored
        out = {}
        for mid, (score, payload) in scored.items():
            s = speaker(payload)
            out[mid] = (score * self.speaker_prior if s and s not in named else score, payload)
        return out

    def _time_prior(self, query: str, scored: dict[str, tuple[float, dict[str, Any]]]
                    ) -> dict[str, tuple[float, dict[str, Any]]]:
        period = query_period(query)
        if period is None:
            return scored
        lo, hi = period[0] - TIME_PAD[0].total_seconds(), period[1] + TIME_PAD[1].total_seconds()
        out = {}
        for mid, (score, payload) in scored.items():
            ts = payload.get("updated_ts")
            outside = ts is not None and not lo <= float(ts) < hi
            out[mid] = (score * self.time_prior if outside else score, payload)
        return out
