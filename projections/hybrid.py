"""``HybridIndex``: the vector index and the lexical index written as one projection.

Why a decorator on the ``VectorIndex`` port rather than a second projector: the
vector projection already turns the event log into "upsert this current version /
delete that memory at version v / clear everything", with a tracked position. By
forwarding exactly those calls to the lexical index too, both indexes see the same
writes in the same order, are cleared together for a replay, and share the version
guard semantics, so a batch re-applied after a crash (the position is advanced
only after both writes) changes nothing. Search goes to the dense index
(``search``) or the lexical one (``lexical.search``); ``MemorySearch`` fuses them.

Wiring (``projections/read_side.py``, embedded mode, i.e. no Qdrant server)::

    index = HybridIndex(open_vector_index(...), LexicalIndex(settings.data_dir / "lexical.sqlite"))
    projector = VectorProjector(timeline, index, embedder)
    if not index.in_step():   # e.g. a data dir projected before the lexical index existed
        projector.clear()     # the next catch-up rebuilds both from the event log
    ... MemorySearch(embedder, index, lexical=index.lexical)

Caveat: the lexical index is an embedded SQLite file, like the default Edge vector
index; with a Qdrant server shared by several processes it is per process. The
server-grade equivalent is a sparse (BM25/IDF) vector on the same Qdrant point.
"""

from __future__ import annotations

from typing import Any, Sequence

from domain.ports import IndexPoint, ScoredPoint, SearchFilter, VectorIndex
from projections.lexical_index import LexicalIndex


class HybridIndex:
    """A ``VectorIndex`` whose writes also maintain a ``LexicalIndex``."""

    def __init__(self, dense: VectorIndex, lexical: LexicalIndex) -> None:
        self.dense = dense
        self.lexical = lexical

    def upsert(self, points: Sequence[IndexPoint]) -> None:
        self.dense.upsert(points)
        self.lexical.upsert(points)

    def delete(self, tombstones: Sequence[tuple[str, int]]) -> None:
        self.dense.delete(tombstones)
        self.lexical.delete(tombstones)

    def search(self, vector: Sequence[float], flt: SearchFilter, top_k: int,
               with_payload: bool = True) -> list[ScoredPoint]:
        return self.dense.search(vector, flt, top_k, with_payload=with_payload)

    def views(self, memory_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        return self.dense.views(memory_ids)

    def count(self) -> int:
        return self.dense.count()

    def in_step(self) -> bool:
        """Both hold the same number of live memories and neither was emptied on open
        (false after losing one of them, or after a layout upgrade of either)."""
        if getattr(self.dense, "reset_on_open", False) or getattr(self.lexical, "reset_on_open", False):
            return False
        return self.lexical.count() == self.dense.count()

    def clear(self) -> None:
        self.dense.clear()
        self.lexical.clear()

    def close(self) -> None:
        self.dense.close()
        self.lexical.close()

    def __getattr__(self, name: str):  # optimize(), flush(), ... of the dense adapter
        if name in ("dense", "lexical"):
            raise AttributeError(name)
        return getattr(self.dense, name)
