"""Search over a user's current memories.

Tenant isolation is part of the index query (the user filter runs inside the
engine), never a filter over a global top-k. Results are current versions only:
the index holds one point per Memory ID at its latest version and drops archived
memories.

Ranking (each step measured on LoCoMo, bench/results/REPORT.md):

* dense: cosine similarity of the query to each memory's embedding text;
* hybrid, when a lexical index is given: the dense and BM25 candidate lists
  (``CANDIDATES`` each) are fused by a weighted sum of normalised scores. The small
  multilingual model matches a question to other *questions* in a chat ("What did
  you paint?") more than to the answer; BM25 keys on names and rare nouns. A
  weighted sum beat reciprocal-rank fusion here because the two are unequal
  (BM25 alone was far stronger than dense alone, and RRF weighs them equally);
* speaker prior: when the query names exactly one of the speakers seen among the
  candidates ("When did Melanie ..."), episodes said by other speakers are scaled
  by ``SPEAKER_PRIOR``. In LoCoMo 97% of evidence turns for such questions are the
  named person's own turns. Fine memories carry no speaker and are left as they are.

``score`` is the fused relevance in (0, 1] (the cosine in dense-only mode).
"""

from __future__ import annotations

import re
from typing import Any

from domain.ports import Embedder, ScoredPoint, SearchFilter, VectorIndex

CANDIDATES = 100
"""Candidates taken from each ranker before fusion/re-ranking (fixed, so a top-5 is
the prefix of a top-25 for the same query)."""
DENSE_WEIGHT = 0.35
"""Weight of the min-max-normalised cosine in the fused score; BM25 / its max gets the rest."""
SPEAKER_PRIOR = 0.6
"""Factor for episodes by another speaker than the one the query names (1.0 = off)."""
ROLE_NAMES = frozenset({"user", "assistant", "system", "tool"})


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


class MemorySearch:
    def __init__(self, embedder: Embedder, index: VectorIndex, lexical: Any = None, *,
                 candidates: int = CANDIDATES, dense_weight: float = DENSE_WEIGHT,
                 speaker_prior: float = SPEAKER_PRIOR) -> None:
        self.embedder = embedder
        self.index = index
        self.lexical = lexical
        self.candidates = candidates
        self.dense_weight = dense_weight
        self.speaker_prior = speaker_prior

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
        vector = self.embedder.embed([query])[0]
        flt = SearchFilter(user_id=user_id, kinds=kinds, keys=keys, tags=tags,
                           updated_from=updated_from, updated_to=updated_to)
        rerank = self.lexical is not None or self.speaker_prior != 1.0
        pool = max(top_k, self.candidates) if rerank else top_k
        dense = self.index.search(vector, flt, pool)
        if self.lexical is not None:
            scored = fuse(dense, self.lexical.search(query, flt, pool), pool, self.dense_weight)
        else:
            scored = {h.memory_id: (float(h.score), h.payload) for h in dense}
        if self.speaker_prior != 1.0:
            scored = self._speaker_prior(query, scored)
        ranked = sorted(scored.items(), key=lambda item: (-item[1][0], item[0]))[:top_k]
        results = []
        for _, (score, payload) in ranked:
            view = {k: v for k, v in payload.items() if k not in ("updated_ts", "tombstone")}
            view["score"] = round(max(float(score), 1e-6) if self.lexical is not None else float(score), 6)
            results.append(view)
        return results

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
