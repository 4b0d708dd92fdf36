"""Contract tests for the qdrant-client index, run against the client's local mode."""

from __future__ import annotations

from pathlib import Path

from qdrant_client import QdrantClient

from projections.vector_index import QdrantClientIndex, open_vector_index

try:
    from tests.integration.vector_index_contract import DIM, VectorIndexContract
except ImportError:  # pytest put tests/integration itself on sys.path
    from vector_index_contract import DIM, VectorIndexContract


class TestQdrantClientIndex(VectorIndexContract):
    def make_index(self, tmp_path: Path) -> QdrantClientIndex:
        return QdrantClientIndex(QdrantClient(path=str(tmp_path / "qdrant")), "memories", DIM)

    def open_fresh(self, tmp_path: Path, dim: int) -> QdrantClientIndex:
        return QdrantClientIndex(QdrantClient(path=str(tmp_path / "qdrant")), "memories", dim, fresh=True)

    def write_raw(self, index, memory_id, vector, payload):
        from qdrant_client import models as qm

        index.client.upsert(index.collection, [qm.PointStruct(id=memory_id, vector={"dense": vector},
                                                              payload=payload)], wait=True)

    def test_in_memory_client(self, rng):
        idx = QdrantClientIndex(QdrantClient(":memory:"), "mem", DIM)
        try:
            idx.upsert([self.point(rng)])
            assert idx.count() == 1
        finally:
            idx.close()

    def test_factory_local_mode(self, tmp_path):
        idx = open_vector_index("local", tmp_path / "idx", DIM, collection="c")
        try:
            assert isinstance(idx, QdrantClientIndex)
            assert idx.collection == "c"
        finally:
            idx.close()
