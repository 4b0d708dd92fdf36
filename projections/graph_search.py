"""Graph-expanded retrieval around ``MemorySearch`` (``MEMSTREAM_RETRIEVAL=graph|hybrid``).

The dense + lexical search finds memories that *say similar things*; the graph finds
memories *about the same people, places and things*. A query is expanded from:

* the entities it names (any of the user's entity names found in the query), and
* the entities of the top ``seeds`` dense + lexical hits,

one hop (memories that mention those entities) or two (also memories of the entities
one current relation away: "my sister" -> Anna -> Paris). Each reached memory scores
the sum of its paths, each path weighted by the entity's rarity (``1/log2(2 + degree)``,
so a name in every turn counts little) and halved per extra hop; entities mentioned
by more than ``hub_degree`` memories (the user node, the two speakers of a chat) are
not expanded at all.

Modes:
* ``graph``: the seeds, then the graph ranking (what the graph alone adds to them);
* ``hybrid``: reciprocal rank fusion, ``1/(k + rank_vector) + graph_weight/(k + rank_graph)``,
  of the dense + lexical ranking and the graph ranking.

Filters (kinds, keys, tags, time range) apply to graph-reached memories as to the others.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Sequence

from domain.information import carries_information
from projections.graph.relations import normalise
from projections.graph.store import GraphStore
from projections.vector_projection import memory_time

MODES = ("vector", "graph", "hybrid")


@dataclass(frozen=True)
class GraphParams:
    seeds: int = 5
    hops: int = 1
    graph_weight: float = 0.5
    rrf_k: float = 60.0
    hub_degree: int = 40
    per_entity: int = 30
    pool: int = 50


_CJK = re.compile(r"[\u3400-\u9fff]")
_WORD = re.compile(r"[\w'’\-]+")


class EntityNames:
    """One user's entity names (cached per store write generation) and their lookup in a query."""

    def __init__(self, entities: list[dict[str, Any]]) -> None:
        self.by_name: dict[str, list[tuple[str, int]]] = {}
        self.cjk: list[tuple[str, str, int]] = []
        self.degree: dict[str, int] = {}
        self.user_node = ""
        for e in entities:
            self.degree[e["id"]] = e["degree"]
            if e["type"] == "user":
                self.user_node = e["id"]
                continue
            name = normalise(e["name"] or "")
            if not name:
                continue
            self.by_name.setdefault(name, []).append((e["id"], e["degree"]))
            if _CJK.search(name):
                self.cjk.append((name, e["id"], e["degree"]))
        self.longest = max((len(n.split()) for n in self.by_name), default=1)

    def in_query(self, query: str) -> list[str]:
        words = [w.lower().strip("'’") for w in _WORD.findall(query)]
        words = [w[:-2] if w.endswith(("'s", "’s")) else w for w in words]
        found: list[str] = []
        for n in range(min(self.longest, 4), 0, -1):
            for i in range(len(words) - n + 1):
                for eid, _ in self.by_name.get(" ".join(words[i:i + n]), ()):
                    found.append(eid)
        if _CJK.search(query):
            found += [eid for name, eid, _ in self.cjk if len(name) >= 2 and name in query]
        return list(dict.fromkeys(found))


def usable(view: dict[str, Any]) -> bool:
    """Small talk is never a result (as in ``MemorySearch``), however it was reached."""
    return view.get("kind") != "episode" or carries_information(str(view.get("content") or ""))


def rarity(degree: int) -> float:
    return 1.0 / math.log2(2 + max(degree, 0))


class GraphSearch:
    """``MemorySearch.search``'s signature, with graph expansion fused in."""

    def __init__(self, base: Any, graph: GraphStore, index: Any, mode: str = "hybrid",
                 params: GraphParams | None = None) -> None:
        if mode not in MODES:
            raise ValueError(f"MEMSTREAM_RETRIEVAL={mode!r}: choose vector, graph or hybrid")
        self.base = base
        self.graph = graph
        self.index = index
        self.mode = mode
        self.params = params or GraphParams()
        self._names: dict[str, tuple[int, EntityNames]] = {}

    # -- the graph side ----------------------------------------------------------------

    def names(self, user_id: str) -> EntityNames:
        generation = getattr(self.graph, "user_generation", {}).get(user_id, 0)
        cached = self._names.get(user_id)
        if cached is None or cached[0] != generation:
            cached = (generation, EntityNames(self.graph.entities(user_id)))
            if len(self._names) > 256:
                self._names.clear()
            self._names[user_id] = cached
        return cached[1]

    def expand(self, user_id: str, query: str, seed_ids: Sequence[str],
               params: GraphParams | None = None) -> list[tuple[str, float]]:
        """Memories reached from the query's entities and the seeds, best first (seeds excluded)."""
        p = params or self.params
        names = self.names(user_id)
        weights: dict[str, float] = {}  # entity -> path weight

        def reach(eid: str, w: float) -> None:
            degree = names.degree.get(eid, 0)
            if eid == names.user_node or degree > p.hub_degree:
                return
            weights[eid] = weights.get(eid, 0.0) + w * rarity(degree)

        for eid in names.in_query(query):
            reach(eid, 1.0)
        seeds = list(seed_ids[: p.seeds])
        if seeds:
            of_seed = self.graph.memory_entities(user_id, seeds)
            for rank, mid in enumerate(seeds):
                for eid in of_seed.get(mid, ()):
                    reach(eid, 1.0 / (1 + rank))
        if not weights:
            return []
        if p.hops >= 2:
            for a, bs in self.graph.related(user_id, list(weights)).items():
                for b in bs:
                    reach(b, 0.5 * weights[a])
        scores: dict[str, float] = {}
        for eid, mids in self.graph.entity_memories(user_id, list(weights), p.per_entity).items():
            for mid in mids:
                scores[mid] = scores.get(mid, 0.0) + weights[eid]
        seeded = set(seeds)
        return sorted(((m, s) for m, s in scores.items() if m not in seeded), key=lambda x: (-x[1], x[0]))

    # -- fusion ------------------------------------------------------------------------

    @staticmethod
    def fuse(vector: Sequence[str], graph: Sequence[str], graph_weight: float, k: float) -> list[str]:
        score: dict[str, float] = {}
        for rank, mid in enumerate(vector):
            score[mid] = score.get(mid, 0.0) + 1.0 / (k + rank + 1)
        for rank, mid in enumerate(graph):
            score[mid] = score.get(mid, 0.0) + graph_weight / (k + rank + 1)
        return sorted(score, key=lambda m: (-score[m], m))

    @staticmethod
    def graph_order(vector: Sequence[str], graph: Sequence[str], seeds: int) -> list[str]:
        return list(dict.fromkeys([*vector[:seeds], *graph, *vector[seeds:]]))

    @classmethod
    def rank(cls, mode: str, vector: Sequence[str], graph: Sequence[str], params: GraphParams) -> list[str]:
        if mode == "vector":
            return list(vector)
        if mode == "graph":
            return cls.graph_order(vector, graph, params.seeds)
        return cls.fuse(vector, graph, params.graph_weight, params.rrf_k)

    # -- the search port ---------------------------------------------------------------

    def search(self, user_id: str, query: str, top_k: int = 5, kinds: tuple[str, ...] = (),
               keys: tuple[str, ...] = (), tags: tuple[str, ...] = (), updated_from: float | None = None,
               updated_to: float | None = None) -> list[dict[str, Any]]:
        p = self.params
        filters = dict(kinds=kinds, keys=keys, tags=tags, updated_from=updated_from, updated_to=updated_to)
        if self.mode == "vector" or top_k <= 0:
            return self.base.search(user_id, query, top_k, **filters)
        base = self.base.search(user_id, query, max(top_k, p.pool), **filters)
        by_id = {r["memory_id"]: r for r in base}
        vector = [r["memory_id"] for r in base]
        graph = [m for m, _ in self.expand(user_id, query, vector, p)]
        ranked = self.rank(self.mode, vector, graph, p)
        wanted = [m for m in ranked[: top_k + 20] if m not in by_id]
        if wanted:
            views = self.index.views(wanted)
            for mid, view in views.items():
                if view.get("user_id") == user_id and view.get("status", "active") == "active" \
                        and self._passes(view, **filters) and usable(view):
                    by_id[mid] = {k: v for k, v in view.items() if k not in ("updated_ts", "tombstone")}
        results = []
        for position, mid in enumerate(m for m in ranked if m in by_id):
            if position >= top_k:
                break
            result = dict(by_id[mid])
            result["score"] = round(1.0 / (1 + position), 6)  # fused ranks have no common scale: 1/(1+rank)
            results.append(result)
        return results

    @staticmethod
    def _passes(view: dict[str, Any], kinds: tuple[str, ...], keys: tuple[str, ...], tags: tuple[str, ...],
                updated_from: float | None, updated_to: float | None) -> bool:
        if kinds and view.get("kind") not in kinds:
            return False
        if keys and view.get("key") not in keys:
            return False
        if tags and not set(tags) & set(view.get("tags") or ()):
            return False
        if updated_from is not None or updated_to is not None:
            t = memory_time(view)
            if updated_from is not None and t < updated_from:
                return False
            if updated_to is not None and t > updated_to:
                return False
        return True
