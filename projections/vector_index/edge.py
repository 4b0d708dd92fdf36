"""Embedded current-memory index on ``qdrant-edge-py`` (Qdrant's engine, in-process).

Layout under ``path`` (a directory the index owns)::

    path/shard/          the Edge shard: segments, WAL, edge_config.json

Tombstones live *in the shard itself*, as vector-less points: deleting memory M at
version v overwrites point M with ``{"tombstone": true, "version": v}`` and no vector.
Why there and not in a side file:

* the replacement is one engine operation, so there is no crash window in which the
  point is gone but its tombstone is not written (or the reverse);
* the version guard needs one ``retrieve`` per batch for live versions *and*
  tombstones alike, and the engine's conditional upsert can check both;
* a vector-less point can never be returned by a vector search, and it has no
  ``user_id``, so it never matches a tenant filter either;
* it is persisted by the same WAL, and ``clear()`` wipes both at once.

Index shape: every query is scoped to one ``user_id`` (keyword index, ``is_tenant``),
so there is no global HNSW graph (``m=0``); the payload index narrows a query to the
user's points, which are scored exactly (tens of microseconds for hundreds of points).
``optimize()`` builds per-tenant graphs (``payload_m``) only for users large enough to
need them and vacuums superseded versions; the other payload indexes have
``enable_hnsw=False`` so it does not also build graphs per kind/tag/time block.
The engine holds the GIL while optimizing, so that is never done in the write path:
call ``optimize()`` from maintenance (it blocks reads and writes for seconds at 100k).
Payload is kept in RAM (``Memory.Cached``): handing payloads back is most of a search's
time, and the cold (mmap) default made it 2-3x slower once segments were optimized.
"""

from __future__ import annotations

import shutil
import threading
from pathlib import Path
from typing import Any, Sequence

import qdrant_edge as qe

from projections.vector_index.payload import (RANKING_FIELDS, checked_vector, has_current_layout, latest_per_id,
                                              loaded_payload, ranking_payload, stored_payload, tombstones_by_version)
from domain.ports import IndexPoint, ScoredPoint, SearchFilter

VECTOR = "dense"
_GUARD_FIELDS = ["version", "tombstone"]


def _index_schema() -> dict[str, Any]:
    """Payload indexes: tenant first; the rest only filter, they get no HNSW subgraphs."""
    return {
        "user_id": qe.KeywordIndexParams(is_tenant=True),
        "kind": qe.KeywordIndexParams(enable_hnsw=False),
        "key": qe.KeywordIndexParams(enable_hnsw=False),
        "tags": qe.KeywordIndexParams(enable_hnsw=False),
        "updated_ts": qe.FloatIndexParams(enable_hnsw=False),
        "version": qe.IntegerIndexParams(lookup=False, range=True, enable_hnsw=False),
    }




class EdgeVectorIndex:
    """``VectorIndex`` on an in-process Qdrant Edge shard; cosine similarity.

    One process owns the shard; a lock makes "look up versions, then write" atomic
    for the threads of that process, so the batch needs no conditional write.
    """

    def __init__(self, path: Path, dim: int, *, fresh: bool = False) -> None:
        self.path = Path(path)
        self.dim = int(dim)
        self._shard_dir = self.path / "shard"
        if fresh:
            shutil.rmtree(self._shard_dir, ignore_errors=True)
        self._lock = threading.RLock()
        self._shard: qe.EdgeShard | None = self._open()
        self.reset_on_open = False
        """True when the shard held points of an older payload layout and was emptied:
        its projection must be rebuilt from the event log."""
        if not has_current_layout(self._some_live_payload()):
            self.clear()
            self.reset_on_open = True

    # -- lifecycle ---------------------------------------------------------------

    def _config(self) -> qe.EdgeConfig:
        return qe.EdgeConfig(
            vectors={VECTOR: qe.EdgeVectorParams(size=self.dim, distance=qe.Distance.Cosine)},
            payload_memory=qe.Memory.Cached,
            hnsw_config=qe.HnswIndexConfig(
                m=0, ef_construct=100, full_scan_threshold=10_000, payload_m=16
            ),
        )

    def _open(self) -> qe.EdgeShard:
        if (self._shard_dir / "edge_config.json").exists():
            # Passing the config makes the engine refuse a shard of another dimension.
            shard = qe.EdgeShard.load(str(self._shard_dir), self._config())
        else:
            self._shard_dir.mkdir(parents=True, exist_ok=True)
            shard = qe.EdgeShard.create(str(self._shard_dir), self._config())
        existing = set(shard.info().payload_schema)
        for field_name, params in _index_schema().items():
            if field_name not in existing:
                shard.update(qe.UpdateOperation.create_field_index(field_name, params))
        return shard

    def _some_live_payload(self) -> dict[str, Any] | None:
        live = qe.Filter(must=[qe.HasVectorCondition(VECTOR)])
        records, _ = self.shard.scroll(qe.ScrollRequest(limit=1, filter=live, with_payload=True))
        return dict(records[0].payload or {}) if records else None

    @property
    def shard(self) -> qe.EdgeShard:
        if self._shard is None:
            raise RuntimeError("vector index is closed")
        return self._shard

    def close(self) -> None:
        with self._lock:
            if self._shard is not None:
                self._shard.flush()
                self._shard.close()
                self._shard = None

    def clear(self) -> None:
        """Drop points and tombstones by recreating the shard (also drops garbage)."""
        with self._lock:
            if self._shard is not None:
                self._shard.close()
                self._shard = None
            shutil.rmtree(self._shard_dir, ignore_errors=True)
            self._shard = self._open()

    def flush(self) -> None:
        with self._lock:
            self.shard.flush()

    def optimize(self) -> bool:
        """Vacuum superseded/deleted versions and build per-tenant graphs (blocking)."""
        with self._lock:
            return self.shard.optimize()

    # -- writes ------------------------------------------------------------------

    def upsert(self, points: Sequence[IndexPoint]) -> None:
        latest = latest_per_id(points)
        if not latest:
            return
        with self._lock:
            shard = self.shard
            known = {
                str(r.id): int((r.payload or {}).get("version", -1))
                for r in shard.retrieve(
                    list(latest), qe.PayloadSelector.Include(_GUARD_FIELDS), False
                )
            }
            fresh = [
                qe.Point(mid, {VECTOR: checked_vector(self.dim, p.vector)}, stored_payload(p))
                for mid, p in latest.items()
                if known.get(mid, -1) < p.version
            ]
            if fresh:
                shard.update(qe.UpdateOperation.upsert_points(fresh))

    def delete(self, tombstones: Sequence[tuple[str, int]]) -> None:
        """Replace each point by a tombstone unless the index holds a newer version.

        The engine's conditional upsert does the comparison: an existing point (live or
        tombstone) is overwritten only if its version <= the delete's; a missing one is
        inserted, so a delete that arrives first still blocks the older upsert. One
        update per distinct version (the condition is per update).
        """
        with self._lock:
            for version, ids in tombstones_by_version(tombstones):
                condition = qe.Filter(
                    must=[qe.FieldCondition("version", range=qe.RangeFloat(lte=float(version)))]
                )
                tombs = [qe.Point(mid, {}, {"tombstone": True, "version": version}) for mid in ids]
                self.shard.update(qe.UpdateOperation.upsert_points(tombs, condition=condition))

    def purge(self, memory_ids: Sequence[str]) -> int:
        """Remove these memories' points so that no byte of them stays on disk.

        Why a rewrite: the engine keeps a deleted or overwritten point's payload in its
        WAL and in the segment's payload pages (measured: a tombstoned payload stays
        readable in ``wal/`` and ``payload_storage/`` after flush and optimize). So the
        shard is copied without those points (vectors and payloads as stored, nothing
        is embedded again; their tombstones are kept, without content), the copy
        replaces the shard and the old files are deleted. Cost: one pass over the
        index's points (docs/lifecycle.md). Returns how many points were removed.
        """
        gone = {str(m) for m in memory_ids}
        if not gone:
            return 0
        with self._lock:
            shard = self.shard
            kept: list[qe.Point] = []
            removed = 0
            offset = None
            while True:
                records, offset = shard.scroll(qe.ScrollRequest(limit=1000, offset=offset, with_payload=True,
                                                                with_vector=True))
                for r in records:
                    payload = dict(r.payload or {})
                    if str(r.id) in gone:
                        removed += 1
                        payload = {"tombstone": True, "version": int(payload.get("version", 0))}
                        kept.append(qe.Point(r.id, {}, payload))
                    else:
                        kept.append(qe.Point(r.id, dict(r.vector or {}), payload))
                if offset is None:
                    break
            fresh_dir = self.path / "shard.purging"
            shutil.rmtree(fresh_dir, ignore_errors=True)
            fresh_dir.mkdir(parents=True)
            fresh = qe.EdgeShard.create(str(fresh_dir), self._config())
            for field_name, params in _index_schema().items():
                fresh.update(qe.UpdateOperation.create_field_index(field_name, params))
            for start in range(0, len(kept), 1000):
                fresh.update(qe.UpdateOperation.upsert_points(kept[start:start + 1000]))
            fresh.flush()
            fresh.close()
            shard.close()
            self._shard = None
            old_dir = self.path / "shard.old"
            shutil.rmtree(old_dir, ignore_errors=True)
            self._shard_dir.rename(old_dir)
            fresh_dir.rename(self._shard_dir)
            shutil.rmtree(old_dir, ignore_errors=True)
            self._shard = self._open()
            return removed

    # -- reads -------------------------------------------------------------------

    def search(self, vector: Sequence[float], flt: SearchFilter, top_k: int,
               with_payload: bool = True) -> list[ScoredPoint]:
        if top_k <= 0:
            return []
        request = qe.QueryRequest(
            limit=int(top_k),
            query=qe.Query.Nearest(checked_vector(self.dim, vector), using=VECTOR),
            filter=edge_filter(flt),
            with_payload=True if with_payload else qe.PayloadSelector.Include(RANKING_FIELDS),
            with_vector=False,
        )
        shape = loaded_payload if with_payload else ranking_payload
        return [
            ScoredPoint(memory_id=str(r.id), score=float(r.score), payload=shape(r.payload or {}))
            for r in self.shard.query(request)
        ]

    def views(self, memory_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        if not memory_ids:
            return {}
        records = self.shard.retrieve(list(memory_ids), True, False)
        return {str(r.id): loaded_payload(r.payload) for r in records
                if r.payload and not r.payload.get("tombstone")}

    def count(self) -> int:
        """Live points are exactly the ones that still carry a vector."""
        live = qe.Filter(must=[qe.HasVectorCondition(VECTOR)])
        return int(self.shard.count(qe.CountRequest(exact=True, filter=live)))

    def __enter__(self) -> "EdgeVectorIndex":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def edge_filter(flt: SearchFilter) -> qe.Filter:
    """Everything is a ``must`` inside the engine query: never post-filter a top-k."""
    must: list[Any] = [qe.FieldCondition("user_id", match=qe.MatchValue(flt.user_id))]
    for field_name, values in (("kind", flt.kinds), ("key", flt.keys), ("tags", flt.tags)):
        if values:
            must.append(qe.FieldCondition(field_name, match=qe.MatchAny(list(values))))
    if flt.updated_from is not None or flt.updated_to is not None:
        rng = qe.RangeFloat(
            gte=None if flt.updated_from is None else float(flt.updated_from),
            lte=None if flt.updated_to is None else float(flt.updated_to),
        )
        must.append(qe.FieldCondition("updated_ts", range=rng))
    return qe.Filter(must=must)

