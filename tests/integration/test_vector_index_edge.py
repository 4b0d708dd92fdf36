"""Contract tests for the embedded Qdrant Edge index."""

from __future__ import annotations

from pathlib import Path

import pytest

from projections.vector_index import EdgeVectorIndex, open_vector_index

try:
    from tests.integration.vector_index_contract import DIM, VectorIndexContract
except ImportError:  # pytest put tests/integration itself on sys.path
    from vector_index_contract import DIM, VectorIndexContract


class TestEdgeVectorIndex(VectorIndexContract):
    def make_index(self, tmp_path: Path) -> EdgeVectorIndex:
        return EdgeVectorIndex(tmp_path / "edge", DIM)

    def open_fresh(self, tmp_path: Path, dim: int) -> EdgeVectorIndex:
        return EdgeVectorIndex(tmp_path / "edge", dim, fresh=True)

    def write_raw(self, index, memory_id, vector, payload):
        import qdrant_edge as qe

        index.shard.update(qe.UpdateOperation.upsert_points([qe.Point(memory_id, {"dense": vector}, payload)]))

    def test_factory_defaults_to_edge(self, tmp_path):
        idx = open_vector_index(None, tmp_path / "idx", DIM)
        try:
            assert isinstance(idx, EdgeVectorIndex)
        finally:
            idx.close()

    def test_reopen_with_other_dim_fails(self, tmp_path):
        self.make_index(tmp_path).close()
        with pytest.raises(Exception, match="size"):
            EdgeVectorIndex(tmp_path / "edge", DIM * 2)

    def test_optimize_keeps_results(self, index, rng):
        pts = [self.point(rng, user=f"u{i % 4}") for i in range(200)]
        index.upsert(pts)
        index.delete([(pts[0].memory_id, 5)])
        index.optimize()
        assert index.count() == 199
        from domain.ports import SearchFilter

        res = index.search(pts[5].vector, SearchFilter(pts[5].user_id), top_k=3)
        assert res[0].memory_id == pts[5].memory_id
