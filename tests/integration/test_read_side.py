"""The read side with the real embedding model and the embedded index:
current versions only, tenant isolation, replay equivalence, version guard, and
an index rebuilt when the embedding model changes."""

from __future__ import annotations

import zlib

import numpy as np
import pytest

from memstream.bootstrap import build_runtime
from application.settings import Settings
from extraction.rule_extractor import RuleBasedExtractor
from projections.embedding import model_identity
from projections.read_side import ReadSide
from projections.vector_projection import MODEL_KEY
from projections.catch_up import catch_up, catch_up_together
from tests.integration.service_contract import TABLE, V1, V2, envelope
from tests.support.fakes import TableFinder


@pytest.fixture
def runtime(tmp_path, model_dir):
    settings = Settings(data_dir=tmp_path / "data", model_dir=model_dir)
    rt = build_runtime(settings, extractor=RuleBasedExtractor(TableFinder(TABLE)))
    rt.service.ingest(envelope(*V1))
    rt.service.ingest(envelope(*V2))
    rt.service.ingest(envelope("o1", "我住在上海，很喜欢上海的生活", "2026-05-01T10:00:00+08:00", user="other"))
    yield rt
    rt.close()


def test_search_returns_the_current_version_only(runtime):
    results = runtime.read_side.memory_search.search("xiaoyi", "住在哪里", top_k=5)
    assert results, "the user's profile memory should be found"
    top = results[0]
    assert "成都" in top["content"] and top["version"] == 2
    assert all("上海" not in r["content"] for r in results), "V1 text must not be returned"
    assert {r["user_id"] for r in results} == {"xiaoyi"}
    assert all(0 < r["score"] <= 1.0 for r in results)


def test_other_users_never_see_each_others_memories(runtime):
    results = runtime.read_side.memory_search.search("other", "小忆 成都 火锅", top_k=50)
    assert results and {r["user_id"] for r in results} == {"other"}
    assert runtime.read_side.memory_search.search("nobody", "住在哪里") == []


def test_kind_filter(runtime):
    episodes = runtime.read_side.memory_search.search("other", "上海", kinds=("episode",))
    assert episodes and {r["kind"] for r in episodes} == {"episode"}
    assert runtime.read_side.memory_search.search("other", "上海", kinds=("skill",)) == []


def test_replay_gives_the_same_search_results(runtime):
    queries = ["住在哪里", "喜欢吃什么", "上海"]
    before = {(u, q): runtime.read_side.memory_search.search(u, q, top_k=10) for u in ("xiaoyi", "other") for q in queries}
    for projector in runtime.projectors():
        projector.clear()
    assert runtime.read_side.index.count() == 0
    for projector in runtime.projectors():
        catch_up(runtime.store, projector, batch_size=2)
    after = {(u, q): runtime.read_side.memory_search.search(u, q, top_k=10) for u in ("xiaoyi", "other") for q in queries}
    assert after == before


def test_replaying_old_events_cannot_roll_the_index_back(runtime):
    """Events applied again, out of order, leave the index at the newest version."""
    vector = runtime.read_side.projector
    notifications = runtime.store.recorder.select_notifications(1, limit=10_000)
    events = [(n.id, runtime.store.mapper.to_domain_event(n)) for n in notifications]
    memory_events = [(i, e) for i, e in events if type(e).__name__.startswith("Memory")]
    for pair in reversed(memory_events):  # newest first, then older ones
        vector.process([pair])
    top = runtime.read_side.memory_search.search("xiaoyi", "住在哪里", top_k=5)[0]
    assert top["version"] == 2 and "成都" in top["content"]
    archived = [v["memory_id"] for v in runtime.timeline.memories("xiaoyi", include_archived=True)
                if v["status"] == "archived"]
    found = {r["memory_id"] for r in runtime.read_side.memory_search.search("xiaoyi", "上海 成都", top_k=50)}
    assert archived and not (found & set(archived))


def _search_all(runtime):
    return {(u, q): runtime.read_side.memory_search.search(u, q, top_k=10)
            for u in ("xiaoyi", "other") for q in ("住在哪里", "喜欢吃什么", "上海")}


def test_one_pass_replay_equals_the_live_projections(runtime):
    """catch_up_together hands the timeline's folded views to the vector projection;
    the result must be what the projections built live (and what separate passes build)."""
    before, history = _search_all(runtime), runtime.timeline.memories("xiaoyi", include_archived=True)
    timeline, vector = runtime.projectors()
    timeline.clear()
    vector.clear()
    done = catch_up_together(runtime.store, timeline, [vector], batch_size=2)
    assert done["timeline"] == done["vector"] > 0
    assert runtime.timeline.memories("xiaoyi", include_archived=True) == history
    assert _search_all(runtime) == before


@pytest.mark.parametrize("cleared", ["timeline", "vector"])
def test_one_pass_with_a_projection_ahead_or_behind(runtime, cleared):
    """Only one projection rebuilt: the vector one behind is caught up to the timeline
    first; ahead of a rebuilt timeline, it skips what it has applied."""
    before = _search_all(runtime)
    timeline, vector = runtime.projectors()
    head = timeline.position()
    {"timeline": timeline, "vector": vector}[cleared].clear()
    done = catch_up_together(runtime.store, timeline, [vector], batch_size=3)
    assert timeline.position() == vector.position() == head
    assert (done["timeline"] > 0, done["vector"] > 0) == ((cleared == "timeline"), (cleared == "vector"))
    assert _search_all(runtime) == before


class OtherModel:
    """A stand-in for another embedding model: its own name and a dimension the real
    model's index could not even open (deterministic vectors, L2-normalised)."""

    name = "other-model"
    dim = 8

    def embed(self, texts):
        rows = [[float((zlib.crc32(t.encode()) >> (4 * i)) % 7 + 1) for i in range(self.dim)] for t in texts]
        vectors = np.asarray(rows, dtype=np.float32)
        return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def _reopen(runtime, embedder) -> ReadSide:
    runtime.read_side.close()
    runtime.read_side_part.provide(ReadSide.open(runtime.settings, runtime.timeline, embedder))
    return runtime.read_side


def test_reopening_with_the_same_model_keeps_the_index(runtime):
    head, count = runtime.read_side.projector.position(), runtime.read_side.index.count()
    assert head > 0 and runtime.timeline.meta(MODEL_KEY) == model_identity(runtime.embedder)
    reopened = _reopen(runtime, runtime.embedder)
    assert (reopened.projector.position(), reopened.index.count()) == (head, count)


def test_another_model_rebuilds_the_index_with_its_own_vectors(runtime):
    before, real = _search_all(runtime), runtime.embedder
    count = runtime.read_side.index.count()
    other = _reopen(runtime, OtherModel())
    assert (other.projector.position(), other.index.count()) == (0, 0)  # no vectors of the old model left
    catch_up(runtime.store, other.projector)
    assert other.index.count() == count
    assert runtime.timeline.meta(MODEL_KEY) == "other-model"
    back = _reopen(runtime, real)  # and back again: rebuilt once more, same answers as before
    assert back.projector.position() == 0
    catch_up(runtime.store, back.projector)
    assert _search_all(runtime) == before
    assert runtime.timeline.meta(MODEL_KEY) == model_identity(real)


def test_an_index_projected_before_models_were_recorded_is_rebuilt(runtime):
    before = _search_all(runtime)
    runtime.timeline._write([("DELETE FROM timeline_meta", ())], None)
    reopened = _reopen(runtime, runtime.embedder)
    assert reopened.projector.position() == 0
    catch_up(runtime.store, reopened.projector)
    assert _search_all(runtime) == before


def test_an_index_on_qdrant_is_rebuilt_for_another_model_too(tmp_path, model_dir):
    """The dense-only branch (``MEMSTREAM_QDRANT_URL``), in qdrant-client's local mode."""
    settings = Settings(data_dir=tmp_path / "data", model_dir=model_dir, qdrant_url="local")
    rt = build_runtime(settings, extractor=RuleBasedExtractor(TableFinder(TABLE)))
    try:
        rt.service.ingest(envelope(*V1))
        count = rt.read_side.index.count()
        assert count > 0 and rt.timeline.meta(MODEL_KEY) == model_identity(rt.embedder)
        other = _reopen(rt, OtherModel())
        assert (other.projector.position(), other.index.count()) == (0, 0)
        catch_up(rt.store, other.projector)
        assert other.index.count() == count
    finally:
        rt.close()
