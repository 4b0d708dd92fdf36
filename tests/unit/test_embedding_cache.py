"""CachedEmbedder against a tiny deterministic fake: no model, no network, fast."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from projections.embedding.cache import CachedEmbedder


class FakeEmbedder:
    """Unit vectors derived from the text's hash; records every text it embeds."""

    def __init__(self, name: str = "fake-v1", dim: int = 8) -> None:
        self.name = name
        self.dim = dim
        self.calls: list[list[str]] = []

    def embed(self, texts):
        self.calls.append(list(texts))
        rows = []
        for t in texts:
            seed = int.from_bytes(hashlib.sha256(f"{self.name}|{t}".encode()).digest()[:8], "little")
            v = np.random.default_rng(seed).standard_normal(self.dim).astype(np.float32)
            rows.append(v / np.linalg.norm(v))
        return np.array(rows, dtype=np.float32).reshape(len(texts), self.dim)

    @property
    def embedded(self) -> list[str]:
        return [t for call in self.calls for t in call]


@pytest.fixture
def fake() -> FakeEmbedder:
    return FakeEmbedder()


def test_second_call_hits_and_returns_identical_vectors(tmp_path, fake):
    with CachedEmbedder(fake, tmp_path / "emb.sqlite") as cache:
        first = cache.embed(["我住在上海", "I live in Shanghai"])
        second = cache.embed(["我住在上海", "I live in Shanghai"])
        assert first.dtype == np.float32 and first.shape == (2, 8)
        assert np.array_equal(first, second)
        assert len(fake.calls) == 1
        assert (cache.hits, cache.misses, cache.embedded) == (2, 2, 2)
        assert cache.name == fake.name and cache.dim == fake.dim


def test_different_text_misses_and_only_misses_are_embedded(tmp_path, fake):
    with CachedEmbedder(fake, tmp_path / "emb.sqlite") as cache:
        cache.embed(["a", "b"])
        out = cache.embed(["a", "c", "b"])
        assert fake.calls[-1] == ["c"]
        assert (cache.hits, cache.misses) == (2, 3)
        assert np.array_equal(out, fake.embed(["a", "c", "b"]))


def test_second_instance_on_same_file_reuses_entries(tmp_path, fake):
    path = tmp_path / "emb.sqlite"
    with CachedEmbedder(fake, path) as cache:
        want = cache.embed(["喜欢吃火锅", "plans a trip to Kyoto"])
    other_inner = FakeEmbedder()
    with CachedEmbedder(other_inner, path) as again:
        got = again.embed(["喜欢吃火锅", "plans a trip to Kyoto"])
        assert other_inner.calls == []
        assert np.array_equal(got, want)
        assert again.stats() == {"hits": 2, "misses": 0, "embedded": 0, "stored": 2}


def test_duplicates_within_a_call_are_embedded_once(tmp_path, fake):
    with CachedEmbedder(fake, tmp_path / "emb.sqlite") as cache:
        out = cache.embed(["x", "x", "y", "x"])
        assert fake.embedded == ["x", "y"]
        assert np.array_equal(out[0], out[1]) and np.array_equal(out[0], out[3])
        assert (cache.misses, cache.embedded) == (4, 2)


def test_entries_are_namespaced_by_model_name(tmp_path):
    path = tmp_path / "emb.sqlite"
    with CachedEmbedder(FakeEmbedder("model-a"), path) as a:
        va = a.embed(["same text"])
    inner_b = FakeEmbedder("model-b")
    with CachedEmbedder(inner_b, path) as b:
        vb = b.embed(["same text"])
        assert inner_b.embedded == ["same text"]
        assert not np.array_equal(va, vb)


def test_entries_are_namespaced_by_weights_revision(tmp_path):
    path = tmp_path / "emb.sqlite"
    old = FakeEmbedder()
    old.revision = "aaaa"
    with CachedEmbedder(old, path) as a:
        a.embed(["t"])
    new = FakeEmbedder()
    new.revision = "bbbb"
    with CachedEmbedder(new, path) as b:
        b.embed(["t"])
        assert new.embedded == ["t"]


def test_dimension_mismatch_is_a_miss(tmp_path):
    path = tmp_path / "emb.sqlite"
    with CachedEmbedder(FakeEmbedder(dim=8), path) as small:
        small.embed(["t"])
    big_inner = FakeEmbedder(dim=16)
    with CachedEmbedder(big_inner, path) as big:
        assert big.embed(["t"]).shape == (1, 16)
        assert big_inner.embedded == ["t"]


def test_large_batches_are_chunked(tmp_path, fake):
    texts = [f"memory number {i}" for i in range(1234)]
    with CachedEmbedder(fake, tmp_path / "emb.sqlite") as cache:
        first = cache.embed(texts)
        second = cache.embed(list(reversed(texts)))
        assert np.array_equal(first[::-1], second)
        assert len(fake.calls) == 1 and cache.hits == 1234


def test_empty_input(tmp_path, fake):
    with CachedEmbedder(fake, tmp_path / "emb.sqlite") as cache:
        out = cache.embed([])
        assert out.shape == (0, 8) and out.dtype == np.float32
        assert fake.calls == []
