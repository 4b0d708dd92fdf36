"""Hybrid retrieval (MEMSTREAM_RETRIEVAL=graph|hybrid) with the real model, index and graph,
and the ``memstream graph`` command."""

from __future__ import annotations

import json

import pytest

from application.settings import Settings
from memstream.bootstrap import build_runtime
from projections.graph_search import EntityNames, GraphSearch
from tests.integration.test_graph_projection import TURNS, envelope

EXTRA = [
    ("u1", "Anna sent me a postcard of the Eiffel Tower yesterday.", "2025-04-01T10:00:00+00:00"),
    ("u1", "The weather is lovely today, we had a picnic by the lake.", "2025-04-02T10:00:00+00:00"),
]


@pytest.fixture
def runtime(tmp_path, model_dir):
    rt = build_runtime(Settings(data_dir=tmp_path / "data", model_dir=model_dir, extractor="rules",
                                retrieval="hybrid"))
    for i, turn in enumerate(TURNS + EXTRA):
        rt.service.ingest(envelope(i, *turn))
    yield rt
    rt.close()


def test_hybrid_mode_keeps_the_graph_projection_in_step(runtime):
    names = [p.name for p in runtime.projectors()]
    assert names == ["timeline", "vector", "graph"]
    graph = runtime.read_side.graph
    assert graph.position() == runtime.timeline.position()
    assert isinstance(runtime.read_side.memory_search, GraphSearch)
    assert (runtime.settings.data_dir / "graph").is_dir()


def test_entities_named_in_a_query_are_found():
    names = EntityNames([{"id": "u/anna", "name": "Anna", "type": "person", "degree": 2},
                         {"id": "u/new york", "name": "New York", "type": "place", "degree": 1},
                         {"id": "u/成都", "name": "成都", "type": "place", "degree": 1},
                         {"id": "u/@user", "name": "Alice", "type": "user", "degree": 9}])
    assert names.in_query("Where does Anna's family in New York live?") == ["u/new york", "u/anna"]
    assert names.in_query("我在成都吃什么") == ["u/成都"]
    assert names.in_query("what about annabelle") == []


def test_graph_expansion_reaches_memories_about_the_named_entity(runtime):
    search = runtime.read_side.memory_search
    postcard = next(m for m in runtime.timeline.memories("u1") if "postcard" in m["content"])
    reached = [m for m, _ in search.expand("u1", "What did Anna send?", [])]
    assert postcard["memory_id"] in reached
    results = search.search("u1", "Where does Anna live?", top_k=5)
    assert results and {r["user_id"] for r in results} == {"u1"}
    assert any("Paris" in r["content"] for r in results)
    assert all(0 < r["score"] <= 1 for r in results)
    assert [r["score"] for r in results] == sorted((r["score"] for r in results), reverse=True)


def test_filters_and_tenants_hold_for_graph_reached_memories(runtime):
    search = runtime.read_side.memory_search
    facts = search.search("u1", "Anna", top_k=10, kinds=("fact",))
    assert facts and {r["kind"] for r in facts} == {"fact"}
    assert search.search("u2", "Anna Paris Google", top_k=10) == [] or \
        {r["user_id"] for r in search.search("u2", "Anna Paris Google", top_k=10)} == {"u2"}
    assert search.search("nobody", "Anna") == []


@pytest.mark.parametrize("mode", ["vector", "graph", "hybrid"])
def test_every_mode_answers(runtime, mode):
    search = runtime.read_side.memory_search
    search.mode = mode
    results = search.search("u1", "Where does my sister live?", top_k=3)
    assert 0 < len(results) <= 3 and len({r["memory_id"] for r in results}) == len(results)


def test_an_unknown_mode_is_refused(runtime):
    with pytest.raises(ValueError, match="vector, graph or hybrid"):
        GraphSearch(None, None, None, "graphs")


def test_memstream_graph_shows_the_neighbourhood(tmp_path, capsys):
    from cli.main import main

    data = tmp_path / "cli"
    rt = build_runtime(Settings(data_dir=data, extractor="rules"), with_vectors=False)
    for i, turn in enumerate(TURNS):
        rt.service.ingest(envelope(i, *turn))
    rt.close()
    assert main(["graph", "--data-dir", str(data), "--user", "u1", "--all"]) == 0
    out = capsys.readouterr().out
    assert "-[lives_in]-> Berlin (place)" in out and "until 2025-09-05" in out
    assert main(["graph", "--data-dir", str(data), "--user", "u1", "--entity", "anna", "--json"]) == 0
    hood = json.loads(capsys.readouterr().out)
    assert hood["centre"] == ["u1/anna"]
    assert {("sister_of", "u1/@user"), ("lives_in", "u1/paris")} <= {(e["relation"], e["target"])
                                                                       for e in hood["edges"]}
    assert main(["graph", "--data-dir", str(data), "--user", "u1", "--entity", "Atlantis"]) == 1
