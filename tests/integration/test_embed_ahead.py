"""The Fine stage embeds its memories ahead of the projection (projections/embed_ahead.py)."""

from __future__ import annotations

from memstream.bootstrap import build_runtime
from application.settings import Settings
from extraction.rule_extractor import RuleBasedExtractor
from projections.embed_ahead import EmbedAhead
from projections.vector_projection import embedding_text
from tests.integration.service_contract import TABLE, V1, V2, envelope
from tests.support.fakes import TableFinder


class RecordingEmbedder:
    """Hand-written fake: remembers what it was asked to embed, or fails on demand."""

    def __init__(self, fail: bool = False) -> None:
        self.calls: list[list[str]] = []
        self.fail = fail

    def embed(self, texts):
        self.calls.append(list(texts))
        if self.fail:
            raise RuntimeError("model crashed")
        return [[0.0] for _ in texts]


def open_runtime(tmp_path, **kw):
    settings = Settings(data_dir=tmp_path / "data", event_store=f"sqlite:///{tmp_path / 'events.sqlite'}", **kw)
    return build_runtime(settings, extractor=RuleBasedExtractor(TableFinder(TABLE)), with_vectors=False,
                         sync_projections=False)


def test_refining_embeds_the_active_memories_it_saves_before_saving(tmp_path):
    rt = open_runtime(tmp_path)
    try:
        assert isinstance(rt.service.on_planned, EmbedAhead)
        fake = RecordingEmbedder()
        rt.service.on_planned = EmbedAhead(lambda: fake)
        for args in (V1, V2):
            rt.service.record_input(envelope(*args))
            rt.service.refine(args[0])
        rt.catch_up()
        fact = next(v for v in rt.timeline.memories("xiaoyi") if v["kind"] == "fact")
        texts = [t for call in fake.calls for t in call]
        # Both versions of the profile fact, exactly as the projection will embed them;
        # the archived episodes are not embedded again.
        assert texts == [embedding_text(v) for v in rt.timeline.history(fact["memory_id"])]
    finally:
        rt.close()


def test_a_failing_embedder_does_not_fail_the_fine_stage(tmp_path, caplog):
    rt = open_runtime(tmp_path)
    try:
        rt.service.on_planned = EmbedAhead(lambda: RecordingEmbedder(fail=True))
        rt.service.record_input(envelope(*V1))
        result = rt.service.refine(V1[0])
        assert len(result.created) == 1
        assert "the projection will embed them" in caplog.text
    finally:
        rt.close()


def test_off_when_projections_run_in_process_or_when_disabled(tmp_path):
    rt = open_runtime(tmp_path, embed_ahead=False)
    try:
        assert rt.service.on_planned is None
    finally:
        rt.close()
    settings = Settings(data_dir=tmp_path / "d2", event_store=f"sqlite:///{tmp_path / 'e2.sqlite'}")
    rt = build_runtime(settings, with_vectors=False, sync_projections=True)
    try:
        assert rt.service.on_planned is None
    finally:
        rt.close()


def test_the_projection_finds_them_in_the_shared_cache(tmp_path, model_dir):
    rt = open_runtime(tmp_path, model_dir=model_dir)
    try:
        rt.service.record_input(envelope(*V1))
        rt.service.refine(V1[0])
        rt.catch_up()
        fact = next(v for v in rt.timeline.memories("xiaoyi") if v["kind"] == "fact")
        cache = rt.embedder
        before = cache.hits
        cache.embed([embedding_text(fact)])
        assert cache.hits == before + 1
    finally:
        rt.close()
