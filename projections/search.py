"""Search over a user's current memories.

Tenant isolation is part of the index query (the user filter runs inside the
engine), never a filter over a global top-k. Results are current versions only:
the index holds one point per Memory ID at its latest version and drops archived
memories.
"""

from __future__ import annotations

from typing import Any

from domain.ports import Embedder, SearchFilter, VectorIndex


class MemorySearch:
    def __init__(self, embedder: Embedder, index: VectorIndex) -> None:
        self.embedder = embedder
        self.index = index

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
        vector = self.embedder.embed([query])[0]
        flt = SearchFilter(user_id=user_id, kinds=kinds, keys=keys, tags=tags,
                           updated_from=updated_from, updated_to=updated_to)
        results = []
        for hit in self.index.search(vector, flt, top_k):
            view = {k: v for k, v in hit.payload.items() if k != "updated_ts"}
            view["score"] = round(float(hit.score), 6)
            results.append(view)
        return results
