"""Current-memory index in a Qdrant collection, through ``qdrant-client``.

Used when ``MEMSTREAM_QDRANT_URL`` points at a Qdrant server, and also works with the
client's local mode (``QdrantClient(path=...)`` / ``":memory:"``), which the tests use.
Behaviour matches ``EdgeVectorIndex`` exactly, including where tombstones live: in the
collection, as vector-less points ``{"tombstone": true, "version": v}`` with the
memory's id. They have no vector (never scored) and no ``user_id`` (never match a
tenant filter), and a delete is a single point write, so there is no window between
removing the point and recording its tombstone; durability is the server's.

Unlike the embedded shard, a server may have several writers (one per consumer
process), so the Python-side version check is not enough on its own: the fresh points
are written with the engine's conditional upsert (``update_filter: version < v``),
grouped by version, so a concurrent newer write or delete always wins. The one batched
``retrieve`` beforehand keeps replays cheap (stale points are not sent at all).
Conditional upsert needs Qdrant >= 1.16 on the server.
"""

from __future__ import annotations

import threading
import warnings
from collections import defaultdict
from typing import Any, Sequence

from qdrant_client import QdrantClient
from qdrant_client import models as qm

from projections.vector_index.payload import (RANKING_FIELDS, checked_vector, has_current_layout, latest_per_id,
                                              loaded_payload, ranking_payload, stored_payload, tombstones_by_version)
from domain.ports import IndexPoint, ScoredPoint, SearchFilter

VECTOR = "dense"
_GUARD_FIELDS = ["version", "tombstone"]


def _index_schema() -> dict[str, Any]:
    """Tenant index on user_id; the others filter only, so they get no HNSW subgraphs."""
    kw = qm.KeywordIndexType.KEYWORD
    return {
        "user_id": qm.KeywordIndexParams(type=kw, is_tenant=True),
        "kind": qm.KeywordIndexParams(type=kw, enable_hnsw=False),
        "key": qm.KeywordIndexParams(type=kw, enable_hnsw=False),
        "tags": qm.KeywordIndexParams(type=kw, enable_hnsw=False),
        "updated_ts": qm.FloatIndexParams(type=qm.FloatIndexType.FLOAT, enable_hnsw=False),
        "version": qm.IntegerIndexParams(
            type=qm.IntegerIndexType.INTEGER, lookup=False, range=True, enable_hnsw=False
        ),
    }




def client_filter(flt: SearchFilter) -> qm.Filter:
    """Everything is a ``must`` inside the engine query: never post-filter a top-k."""
    must: list[Any] = [qm.FieldCondition(key="user_id", match=qm.MatchValue(value=flt.user_id))]
    for field_name, values in (("kind", flt.kinds), ("key", flt.keys), ("tags", flt.tags)):
        if values:
            must.append(qm.FieldCondition(key=field_name, match=qm.MatchAny(any=list(values))))
    if flt.updated_from is not None or flt.updated_to is not None:
        rng = qm.Range(
            gte=None if flt.updated_from is None else float(flt.updated_from),
            lte=None if flt.updated_to is None else float(flt.updated_to),
        )
        must.append(qm.FieldCondition(key="updated_ts", range=rng))
    return qm.Filter(must=must)


def _older_than(version: int, inclusive: bool = False) -> qm.Filter:
    rng = qm.Range(lte=float(version)) if inclusive else qm.Range(lt=float(version))
    return qm.Filter(must=[qm.FieldCondition(key="version", range=rng)])


class QdrantClientIndex:
    """``VectorIndex`` on one Qdrant collection (named dense vector ``dense``, cosine).

    ``close_client``: whether ``close()`` also closes the client (the factory hands
    the index a client of its own; local mode holds a file lock until closed).
    ``fresh``: drop the collection first (its vectors came from another model).
    """

    def __init__(
        self, client: QdrantClient, collection: str, dim: int, *, close_client: bool = True,
        fresh: bool = False,
    ) -> None:
        self.client = client
        self.collection = collection
        self.dim = int(dim)
        self._close_client = close_client
        self._closed = False
        self._lock = threading.RLock()
        if fresh and self.client.collection_exists(self.collection):
            self.client.delete_collection(self.collection)
        self._ensure_collection()
        self.reset_on_open = False
        """True when the collection held points of an older payload layout and was
        recreated: its projection must be rebuilt from the event log."""
        if not has_current_layout(self._some_live_payload()):
            self.clear()
            self.reset_on_open = True

    def _some_live_payload(self) -> dict[str, Any] | None:
        live = qm.Filter(must=[qm.HasVectorCondition(has_vector=VECTOR)])
        records, _ = self.client.scroll(self.collection, scroll_filter=live, limit=1, with_payload=True)
        return dict(records[0].payload or {}) if records else None

    # -- lifecycle ---------------------------------------------------------------

    def _ensure_collection(self) -> None:
        if not self.client.collection_exists(self.collection):
            self.client.create_collection(
                self.collection,
                vectors_config={VECTOR: qm.VectorParams(size=self.dim, distance=qm.Distance.COSINE)},
                # Every query is tenant-scoped: per-tenant graphs instead of a global one.
                hnsw_config=qm.HnswConfigDiff(m=0, payload_m=16),
            )
        else:
            self._check_dim()
        info = self.client.get_collection(self.collection)
        existing = set((info.payload_schema or {}).keys())
        with warnings.catch_warnings():
            # Local mode warns that payload indexes have no effect there: expected.
            warnings.simplefilter("ignore", UserWarning)
            for field_name, params in _index_schema().items():
                if field_name not in existing:
                    self.client.create_payload_index(self.collection, field_name, params)

    def _check_dim(self) -> None:
        vectors = self.client.get_collection(self.collection).config.params.vectors
        params = vectors.get(VECTOR) if isinstance(vectors, dict) else None
        if params is None or params.size != self.dim:
            found = getattr(params, "size", None)
            raise ValueError(
                f"collection {self.collection!r} has dense vector {found!r}, expected {self.dim}"
            )

    def close(self) -> None:
        with self._lock:
            if not self._closed:
                self._closed = True
                if self._close_client:
                    self.client.close()

    def clear(self) -> None:
        """Drop points and tombstones by recreating the collection."""
        with self._lock:
            self.client.delete_collection(self.collection)
            self._ensure_collection()

    # -- writes ------------------------------------------------------------------

    def upsert(self, points: Sequence[IndexPoint]) -> None:
        latest = latest_per_id(points)
        if not latest:
            return
        with self._lock:
            known = {
                str(r.id): int((r.payload or {}).get("version", -1))
                for r in self.client.retrieve(
                    self.collection, list(latest), with_payload=_GUARD_FIELDS, with_vectors=False
                )
            }
            by_version: dict[int, list[qm.PointStruct]] = defaultdict(list)
            for mid, p in latest.items():
                if known.get(mid, -1) < p.version:
                    by_version[int(p.version)].append(
                        qm.PointStruct(
                            id=mid, vector={VECTOR: checked_vector(self.dim, p.vector)},
                            payload=stored_payload(p),
                        )
                    )
            for version, group in sorted(by_version.items()):
                self.client.upsert(
                    self.collection, group, wait=True, update_filter=_older_than(version)
                )

    def delete(self, tombstones: Sequence[tuple[str, int]]) -> None:
        """Tombstones unless the collection holds a newer version (engine-side check);
        one request per distinct version."""
        with self._lock:
            for version, ids in tombstones_by_version(tombstones):
                tombs = [qm.PointStruct(id=mid, vector={}, payload={"tombstone": True, "version": version})
                         for mid in ids]
                self.client.upsert(
                    self.collection, tombs, wait=True,
                    update_filter=_older_than(version, inclusive=True),
                )

    # -- reads -------------------------------------------------------------------

    def purge(self, memory_ids: Sequence[str]) -> int:
        """Delete these memories' points (the server owns its storage and compaction)."""
        ids = [str(m) for m in memory_ids]
        if ids:
            self.client.delete(self.collection, points_selector=qm.PointIdsList(points=ids))
        return len(ids)

    def search(self, vector: Sequence[float], flt: SearchFilter, top_k: int,
               with_payload: bool = True) -> list[ScoredPoint]:
        if top_k <= 0:
            return []
        res = self.client.query_points(
            self.collection,
            query=checked_vector(self.dim, vector),
            using=VECTOR,
            query_filter=client_filter(flt),
            limit=int(top_k),
            with_payload=True if with_payload else RANKING_FIELDS,
            with_vectors=False,
        )
        shape = loaded_payload if with_payload else ranking_payload
        return [
            ScoredPoint(memory_id=str(r.id), score=float(r.score), payload=shape(r.payload or {}))
            for r in res.points
        ]

    def views(self, memory_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        if not memory_ids:
            return {}
        records = self.client.retrieve(self.collection, list(memory_ids), with_payload=True, with_vectors=False)
        return {str(r.id): loaded_payload(r.payload) for r in records
                if r.payload and not r.payload.get("tombstone")}

    def count(self) -> int:
        """Live points are exactly the ones that still carry a vector."""
        live = qm.Filter(must=[qm.HasVectorCondition(has_vector=VECTOR)])
        return int(self.client.count(self.collection, count_filter=live, exact=True).count)

    def __enter__(self) -> "QdrantClientIndex":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
