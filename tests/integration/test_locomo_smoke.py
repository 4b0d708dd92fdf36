"""The LoCoMo evaluation end to end on a short slice of one conversation (< 30 s).

Runs the real pipeline (Fast + Fine stages, vector + lexical projection) and the
baselines, and checks what the full run's numbers rely on: recall is a fraction,
top-5 is the prefix of top-25 (the evaluation searches once at k=25), and a
replay of the hybrid projection gives the same results.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.locomo.convert import LOCOMO_FILE
from bench.locomo.evaluate import (FINAL, KS, Pipeline, WriteConfig, evaluate_memstream, load_conversations,
                                   open_embedder, questions_of, run_baselines, summarise)

pytestmark = pytest.mark.skipif(not LOCOMO_FILE.exists(), reason="LoCoMo data not present")


@pytest.fixture(scope="module")
def slice_and_embedder(model_dir):
    conversations = load_conversations("session", "user", limit=1, turns=120)
    embedder = open_embedder()
    yield conversations, embedder


def test_recall_on_a_slice(slice_and_embedder):
    conversations, embedder = slice_and_embedder
    assert questions_of(conversations[0]), "the slice should keep some answerable questions"
    base = run_baselines(conversations, embedder)
    ours = evaluate_memstream(conversations, embedder, WriteConfig(), [FINAL], log=lambda s: None)
    memstream = summarise(ours["records"][FINAL.name])["overall"]
    dense = summarise(base["dense-raw"])["overall"]
    for k in KS:
        assert 0 <= memstream[f"R@{k}"] <= 100
    assert memstream["R@5"] <= memstream["R@10"] <= memstream["R@25"]
    assert memstream["R@10"] >= dense["R@10"]
    assert memstream["R@10"] >= 50
    # Turns stay searchable as episodes, or as the Fine facts that cover (and archive) them.
    assert ours["memories"].get("episode", 0) > 50
    assert ours["memories"].get("episode", 0) + ours["memories"].get("fact", 0) > 150


def test_prefix_consistency_and_replay(slice_and_embedder, tmp_path: Path):
    conversations, embedder = slice_and_embedder
    conv = conversations[0]
    pipe = Pipeline(tmp_path / "data", embedder, WriteConfig())
    try:
        pipe.ingest(conv)
        search = pipe.searcher(FINAL)
        queries = [q.question for q in questions_of(conv)[:8]]
        before = {q: search(conv.sample_id, q, 25) for q in queries}
        for q in queries:
            top5 = search(conv.sample_id, q, 5)
            assert [r["memory_id"] for r in top5] == [r["memory_id"] for r in before[q][:5]]
            assert all(0 < r["score"] <= 1 for r in top5)
        projector = pipe.runtime.read_side.projector
        projector.clear()
        assert pipe.index.lexical.count() == 0 and pipe.index.count() == 0
        pipe.runtime.catch_up()
        # Replayed vectors are computed in other batches than the live ones, which moves a score in
        # its sixth decimal; the ranking and every other field must be the same.
        after = {q: search(conv.sample_id, q, 25) for q in queries}
        for q in queries:
            assert [r["memory_id"] for r in after[q]] == [r["memory_id"] for r in before[q]]
            for a, b in zip(after[q], before[q]):
                assert a["score"] == pytest.approx(b["score"], abs=1e-5)
                assert {k: v for k, v in a.items() if k != "score"} == {k: v for k, v in b.items() if k != "score"}
        assert search("somebody-else", queries[0], 5) == []
    finally:
        pipe.close()
