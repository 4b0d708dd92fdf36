"""Ports the read side plugs into: embedding and the vector index.

The domain only describes them; adapters live in ``projections/``. Vectors are
plain ``list[float]`` or numpy arrays; the domain never imports an index client.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, Sequence


class Embedder(Protocol):
    """Turns texts into L2-normalised vectors of ``dim`` floats (a 2-D float32 array)."""

    name: str
    dim: int

    def embed(self, texts: Sequence[str]) -> Any: ...


@dataclass(frozen=True)
class IndexPoint:
    """The current version of one memory, as the vector index stores it."""

    memory_id: str
    version: int
    user_id: str
    kind: str
    key: str
    vector: Sequence[float]
    payload: dict[str, Any]
    """The full memory view (the fields of docs/design.md) plus ``updated_ts`` (epoch seconds)."""
    view_json: str | None = None
    """The view already encoded as JSON (the timeline encodes it anyway), or None."""


@dataclass(frozen=True)
class SearchFilter:
    """Search is always inside one user's memories: tenant isolation is in the query."""

    user_id: str
    kinds: tuple[str, ...] = ()
    keys: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    updated_from: float | None = None
    updated_to: float | None = None


@dataclass(frozen=True)
class ScoredPoint:
    memory_id: str
    score: float
    payload: dict[str, Any] = field(default_factory=dict)


class VectorIndex(Protocol):
    """Current-memory index. Writes are guarded by version so replays are harmless:
    ``upsert`` is ignored when the index already holds that memory at an equal or
    newer version (or has deleted it at a newer version); ``delete`` records the
    version it deleted at, so an older upsert arriving later cannot resurrect it.
    Both take a whole batch: a projection batch is one write (one commit) per index.
    """

    def upsert(self, points: Sequence[IndexPoint]) -> None: ...

    def delete(self, tombstones: Sequence[tuple[str, int]]) -> None:
        """(memory_id, version) pairs."""
        ...

    def search(self, vector: Sequence[float], flt: SearchFilter, top_k: int,
               with_payload: bool = True) -> list[ScoredPoint]:
        """Best first. ``with_payload=False``: only ``kind``, ``updated_ts`` and
        ``attributes.speaker`` per hit (what re-ranking reads); see ``views``."""
        ...

    def views(self, memory_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """Full payloads (as ``search`` returns them) of live memories, by id."""
        ...

    def count(self) -> int: ...

    def clear(self) -> None: ...

    def close(self) -> None: ...
