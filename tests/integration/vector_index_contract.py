"""Behaviour every ``VectorIndex`` adapter must share (subclassed per adapter).

Subclasses implement ``make_index(tmp_path)``; calling it again with the same path
after ``close()`` must reopen the same persisted index.
"""

from __future__ import annotations

from dataclasses import replace
import uuid
from pathlib import Path

import numpy as np
import pytest

from domain.ports import IndexPoint, SearchFilter, VectorIndex

DIM = 16


def unit(v: np.ndarray) -> np.ndarray:
    return (v / np.linalg.norm(v)).astype(np.float32)


class VectorIndexContract:
    """Plain class (not collected by itself); ``Test*`` subclasses run it."""

    def make_index(self, tmp_path: Path) -> VectorIndex:  # pragma: no cover - abstract
        raise NotImplementedError

    def open_fresh(self, tmp_path: Path, dim: int) -> VectorIndex:  # pragma: no cover - abstract
        """Open the index ``make_index`` persisted with ``fresh=True`` and this dimension."""
        raise NotImplementedError

    def write_raw(self, index: VectorIndex, memory_id: str, vector: list[float],
                  payload: dict) -> None:  # pragma: no cover - abstract
        """Store a point with exactly this payload, bypassing the adapter's layout."""
        raise NotImplementedError

    @pytest.fixture
    def rng(self) -> np.random.Generator:
        return np.random.default_rng(1234)

    @pytest.fixture
    def index(self, tmp_path: Path):
        idx = self.make_index(tmp_path)
        yield idx
        idx.close()

    def test_a_fresh_open_drops_the_old_vectors_even_of_another_dimension(self, tmp_path, rng):
        """What a change of embedding model needs (projections/read_side.py)."""
        old = self.make_index(tmp_path)
        old.upsert([self.point(rng), self.point(rng)])
        old.close()
        new = self.open_fresh(tmp_path, DIM * 2)
        try:
            assert new.count() == 0
            new.upsert([self.point(rng, vector=unit(rng.normal(size=DIM * 2)))])
            assert new.count() == 1
        finally:
            new.close()

    # -- helpers -----------------------------------------------------------------

    @staticmethod
    def point(
        rng: np.random.Generator,
        user: str = "alice",
        *,
        vector: np.ndarray | None = None,
        kind: str = "fact",
        key: str = "",
        tags: tuple[str, ...] = (),
        ts: float = 1_000.0,
        version: int = 1,
        memory_id: str | None = None,
        text: str = "",
    ) -> IndexPoint:
        vec = unit(rng.standard_normal(DIM)) if vector is None else unit(vector)
        return IndexPoint(
            memory_id=memory_id or str(uuid.uuid4()),
            version=version,
            user_id=user,
            kind=kind,
            key=key,
            vector=vec.tolist(),
            payload={"text": text, "tags": list(tags), "updated_ts": ts, "status": "active"},
        )

    @staticmethod
    def ids(results) -> list[str]:
        return [r.memory_id for r in results]

    # -- upsert / search ---------------------------------------------------------

    def test_upsert_and_search_best_first(self, index, rng):
        pts = [self.point(rng, text=f"m{i}") for i in range(30)]
        index.upsert(pts)
        assert index.count() == 30
        target = pts[7]
        res = index.search(target.vector, SearchFilter(user_id="alice"), top_k=5)
        assert len(res) == 5
        assert res[0].memory_id == target.memory_id
        assert res[0].score == pytest.approx(1.0, abs=1e-4)
        scores = [r.score for r in res]
        assert scores == sorted(scores, reverse=True)
        expected = np.array([p.vector for p in pts]) @ np.array(target.vector)
        assert scores == pytest.approx(sorted(expected, reverse=True)[:5], abs=1e-4)
        payload = res[0].payload
        assert payload["text"] == "m7" and payload["user_id"] == "alice"
        assert payload["kind"] == "fact" and payload["version"] == 1
        assert payload["updated_ts"] == pytest.approx(1_000.0)

    def test_candidates_without_payload_carry_ranking_fields_only(self, index, rng):
        p = self.point(rng, kind="episode", ts=5.0, text="hello")
        speaking = IndexPoint(**{**p.__dict__, "payload": {**p.payload, "attributes": {"speaker": "Ana"}}})
        index.upsert([speaking])
        [hit] = index.search(p.vector, SearchFilter(user_id="alice"), top_k=3, with_payload=False)
        assert hit.memory_id == p.memory_id and hit.score == pytest.approx(1.0, abs=1e-4)
        assert hit.payload == {"kind": "episode", "updated_ts": 5.0, "attributes": {"speaker": "Ana"}}

    def test_views_of_live_memories_only(self, index, rng):
        live, gone = self.point(rng, text="live"), self.point(rng, text="gone")
        index.upsert([live, gone])
        index.delete([(gone.memory_id, 2)])
        views = index.views([live.memory_id, gone.memory_id, str(uuid.uuid4())])
        assert list(views) == [live.memory_id]
        assert views[live.memory_id]["text"] == "live" and views[live.memory_id]["version"] == 1
        assert views[live.memory_id]["updated_ts"] == pytest.approx(1_000.0)
        assert index.views([]) == {}

    def test_a_point_of_an_older_payload_layout_empties_the_index_on_open(self, tmp_path, rng):
        idx = self.make_index(tmp_path)
        try:
            assert not idx.reset_on_open
            p = self.point(rng)
            self.write_raw(idx, p.memory_id, list(p.vector), {"user_id": "alice", "kind": "fact", "version": 1,
                                                              "content": "a nested view of the old layout"})
        finally:
            idx.close()
        idx = self.make_index(tmp_path)
        try:
            assert idx.reset_on_open and idx.count() == 0
            idx.upsert([p])
        finally:
            idx.close()
        idx = self.make_index(tmp_path)
        try:
            assert not idx.reset_on_open and idx.count() == 1
        finally:
            idx.close()

    def test_accepts_numpy_vectors_and_rejects_wrong_dim(self, index, rng):
        p = self.point(rng)
        index.upsert([IndexPoint(**{**p.__dict__, "vector": np.asarray(p.vector)})])
        res = index.search(np.asarray(p.vector), SearchFilter(user_id="alice"), top_k=1)
        assert self.ids(res) == [p.memory_id]
        with pytest.raises(ValueError):
            index.search([0.1] * (DIM + 1), SearchFilter(user_id="alice"), top_k=1)

    def test_tenant_isolation(self, index, rng):
        query = unit(rng.standard_normal(DIM))
        near = [self.point(rng, "alice", vector=query + 0.01 * rng.standard_normal(DIM))
                for _ in range(50)]
        bob = [self.point(rng, "bob", vector=-query + rng.standard_normal(DIM)) for _ in range(3)]
        index.upsert(near + bob)
        res = index.search(query, SearchFilter(user_id="bob"), top_k=10)
        assert sorted(self.ids(res)) == sorted(p.memory_id for p in bob)
        assert all(r.payload["user_id"] == "bob" for r in res)
        assert index.search(query, SearchFilter(user_id="carol"), top_k=10) == []
        assert len(index.search(query, SearchFilter(user_id="alice"), top_k=10)) == 10

    # -- filters -----------------------------------------------------------------

    def test_kind_filter_is_inside_the_query(self, index, rng):
        query = unit(rng.standard_normal(DIM))
        facts = [self.point(rng, vector=query + 0.01 * rng.standard_normal(DIM)) for _ in range(100)]
        prefs = [self.point(rng, kind="preference", vector=-query) for _ in range(2)]
        index.upsert(facts + prefs)
        res = index.search(query, SearchFilter(user_id="alice", kinds=("preference",)), top_k=2)
        assert sorted(self.ids(res)) == sorted(p.memory_id for p in prefs)
        both = index.search(query, SearchFilter("alice", kinds=("preference", "fact")), top_k=200)
        assert len(both) == 102

    def test_key_filter(self, index, rng):
        a = self.point(rng, key="user.name")
        b = self.point(rng, key="user.city")
        c = self.point(rng, key="")
        index.upsert([a, b, c])
        res = index.search(a.vector, SearchFilter("alice", keys=("user.city", "nope")), top_k=5)
        assert self.ids(res) == [b.memory_id]

    def test_tags_filter_matches_any(self, index, rng):
        a = self.point(rng, tags=("work", "travel"))
        b = self.point(rng, tags=("health",))
        c = self.point(rng)
        index.upsert([a, b, c])
        res = index.search(c.vector, SearchFilter("alice", tags=("travel", "health")), top_k=5)
        assert sorted(self.ids(res)) == sorted([a.memory_id, b.memory_id])
        res = index.search(c.vector, SearchFilter("alice", tags=("work",)), top_k=5)
        assert self.ids(res) == [a.memory_id]

    def test_time_range_filter_is_inclusive(self, index, rng):
        pts = {ts: self.point(rng, ts=ts) for ts in (100.0, 200.0, 300.0, 400.0)}
        index.upsert(list(pts.values()))
        q = pts[100.0].vector

        def found(**kw) -> set[float]:
            res = index.search(q, SearchFilter("alice", **kw), top_k=10)
            return {r.payload["updated_ts"] for r in res}

        assert found(updated_from=200.0) == {200.0, 300.0, 400.0}
        assert found(updated_to=200.0) == {100.0, 200.0}
        assert found(updated_from=150.0, updated_to=300.0) == {200.0, 300.0}
        assert found(updated_from=150.0, updated_to=300.0, kinds=("other",)) == set()

    # -- version guard -----------------------------------------------------------

    def test_older_upsert_is_ignored_and_same_version_is_idempotent(self, index, rng):
        mid = str(uuid.uuid4())
        index.upsert([self.point(rng, memory_id=mid, version=2, text="v2")])
        index.upsert([self.point(rng, memory_id=mid, version=1, text="v1")])
        index.upsert([self.point(rng, memory_id=mid, version=2, text="v2 replay")])
        res = index.search(rng.standard_normal(DIM), SearchFilter("alice"), top_k=5)
        assert [(r.memory_id, r.payload["text"]) for r in res] == [(mid, "v2")]
        index.upsert([self.point(rng, memory_id=mid, version=3, text="v3")])
        res = index.search(rng.standard_normal(DIM), SearchFilter("alice"), top_k=5)
        assert [(r.payload["text"], r.payload["version"]) for r in res] == [("v3", 3)]
        assert index.count() == 1

    def test_batch_keeps_highest_version_and_skips_stale(self, index, rng):
        mid, other = str(uuid.uuid4()), str(uuid.uuid4())
        index.upsert([self.point(rng, memory_id=other, version=5, text="o5")])
        index.upsert([
            self.point(rng, memory_id=mid, version=1, text="v1"),
            self.point(rng, memory_id=mid, version=3, text="v3"),
            self.point(rng, memory_id=mid, version=2, text="v2"),
            self.point(rng, memory_id=other, version=4, text="o4"),
        ])
        res = index.search(rng.standard_normal(DIM), SearchFilter("alice"), top_k=5)
        assert {r.memory_id: r.payload["text"] for r in res} == {mid: "v3", other: "o5"}

    def test_delete_then_older_upsert_does_not_resurrect(self, index, rng):
        p1 = self.point(rng, version=1)
        index.upsert([p1])
        index.delete([(p1.memory_id, 2)])
        assert index.count() == 0
        assert index.search(p1.vector, SearchFilter("alice"), top_k=5) == []
        index.upsert([p1])
        index.upsert([self.point(rng, memory_id=p1.memory_id, version=2)])
        assert index.count() == 0
        assert index.search(p1.vector, SearchFilter("alice"), top_k=5) == []
        index.upsert([self.point(rng, memory_id=p1.memory_id, version=3, text="back")])
        res = index.search(p1.vector, SearchFilter("alice"), top_k=5)
        assert [(r.memory_id, r.payload["text"]) for r in res] == [(p1.memory_id, "back")]

    def test_delete_before_upsert_blocks_older_versions(self, index, rng):
        p = self.point(rng, version=3)
        index.delete([(p.memory_id, 4)])
        index.upsert([p])
        assert index.count() == 0
        index.delete([(p.memory_id, 2)])  # older delete replayed: tombstone stays at 4
        index.upsert([self.point(rng, memory_id=p.memory_id, version=4)])
        assert index.count() == 0

    def test_delete_with_lower_version_is_ignored(self, index, rng):
        p = self.point(rng, version=5)
        index.upsert([p])
        index.delete([(p.memory_id, 3)])
        assert index.count() == 1
        res = index.search(p.vector, SearchFilter("alice"), top_k=1)
        assert self.ids(res) == [p.memory_id] and res[0].payload["version"] == 5
        index.delete([(p.memory_id, 5)])  # same version: the delete of that version wins
        assert index.count() == 0

    def test_delete_batch_guards_each_point_by_its_own_version(self, index, rng):
        a, b, c = (self.point(rng, version=3) for _ in range(3))
        index.upsert([a, b, c])
        # a: older delete (kept); b: newer (gone); c: named twice, the higher version wins.
        index.delete([(a.memory_id, 2), (b.memory_id, 4), (c.memory_id, 1), (c.memory_id, 6)])
        assert index.count() == 1
        hits = index.search(a.vector, SearchFilter("alice"), top_k=5)
        assert self.ids(hits) == [a.memory_id]
        index.upsert([replace(c, version=5)])  # replayed upsert older than c's tombstone
        assert index.count() == 1

    # -- lifecycle ---------------------------------------------------------------

    def test_clear_and_count(self, index, rng):
        pts = [self.point(rng, user=f"u{i % 3}") for i in range(10)]
        index.upsert(pts)
        index.delete([(pts[0].memory_id, 9)])
        index.delete([(pts[1].memory_id, 9)])
        index.delete([(str(uuid.uuid4()), 1)])  # tombstone for an unknown id is not a point
        index.delete([])
        assert index.count() == 8
        index.clear()
        assert index.count() == 0
        assert index.search(pts[2].vector, SearchFilter("u2"), top_k=5) == []
        index.upsert([pts[0]])  # tombstones went with clear()
        assert index.count() == 1

    def test_persists_across_reopen(self, tmp_path, rng):
        idx = self.make_index(tmp_path)
        pts = [self.point(rng) for _ in range(5)]
        try:
            idx.upsert(pts)
            idx.delete([(pts[0].memory_id, 7)])
        finally:
            idx.close()
        idx = self.make_index(tmp_path)
        try:
            assert idx.count() == 4
            res = idx.search(pts[3].vector, SearchFilter("alice"), top_k=1)
            assert self.ids(res) == [pts[3].memory_id]
            idx.upsert([self.point(rng, memory_id=pts[0].memory_id, version=6)])
            assert idx.count() == 4  # the tombstone survived the restart
        finally:
            idx.close()
