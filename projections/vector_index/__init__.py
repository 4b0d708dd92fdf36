"""Current-memory vector index adapters (the ``VectorIndex`` port).

* ``EdgeVectorIndex``: embedded Qdrant Edge shard under a local directory, the
  default: no server to run, sub-millisecond tenant-filtered search.
* ``QdrantClientIndex``: a collection on a Qdrant server (``MEMSTREAM_QDRANT_URL``),
  or qdrant-client's local mode (``url="local"``), which is pure Python and slow but
  handy to check behaviour against the server code path without a server.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from domain.ports import VectorIndex
from projections.vector_index.edge import EdgeVectorIndex

if TYPE_CHECKING:
    from projections.vector_index.qdrant_server import QdrantClientIndex

__all__ = ["EdgeVectorIndex", "QdrantClientIndex", "open_vector_index"]


def __getattr__(name: str) -> Any:
    """``QdrantClientIndex`` on first use: qdrant-client costs 1.5 s of imports, and the
    default embedded index (every CLI search) never needs it."""
    if name == "QdrantClientIndex":
        from projections.vector_index.qdrant_server import QdrantClientIndex

        return QdrantClientIndex
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def open_vector_index(
    url: str | None, path: Path, dim: int, collection: str = "memories", fresh: bool = False
) -> VectorIndex:
    """Pick the adapter from configuration.

    ``url`` unset/empty -> ``EdgeVectorIndex`` in ``path``; ``"local"`` -> qdrant-client
    local mode persisted in ``path``; anything else -> ``QdrantClient(url=url)``.
    ``fresh``: drop what the index holds before opening it (vectors of another model,
    perhaps of another dimension, which could not be opened).
    """
    if not url:
        return EdgeVectorIndex(Path(path), dim, fresh=fresh)
    from qdrant_client import QdrantClient

    from projections.vector_index.qdrant_server import QdrantClientIndex

    if url == "local":
        Path(path).mkdir(parents=True, exist_ok=True)
        client = QdrantClient(path=str(path))
    else:
        client = QdrantClient(url=url)
    return QdrantClientIndex(client, collection, dim, fresh=fresh)
