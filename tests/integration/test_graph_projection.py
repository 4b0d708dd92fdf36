"""The graph projection on the real embedded engine (Kùzu): slot relations as edges,
revisions moving edges, replay equal to live, the version guard, exactly-once
positions and forgetting a user's subgraph."""

from __future__ import annotations

from pathlib import Path

import pytest

from application.settings import Settings
from domain.envelope import InputEnvelope
from memstream.bootstrap import build_runtime
from projections.catch_up import catch_up
from projections.graph import open_graph_store
from projections.graph.projector import GraphProjector

TURNS = [
    ("u1", "Hi! I'm Alice. I live in Berlin and I'm vegetarian.", "2025-02-10T18:00:00+01:00"),
    ("u1", "My sister Anna lives in Paris and works at Google.", "2025-03-01T10:00:00+00:00"),
    ("u1", "I work at Siemens as an engineer.", "2025-03-02T10:00:00+00:00"),
    ("u1", "Next month I'm going on a trip to Japan.", "2025-03-03T10:00:00+00:00"),
    ("u2", "我住在上海，我在阿里巴巴工作。", "2025-03-04T10:00:00+08:00"),
    ("u1", "Big news: I moved to Lisbon last month!", "2025-09-05T09:00:00+01:00"),
    ("u1", "I now work at Microsoft.", "2025-10-02T10:00:00+00:00"),
]


def envelope(i: int, user: str, text: str, when: str) -> InputEnvelope:
    return InputEnvelope.model_validate({
        "event_id": f"e{i}", "user_id": user, "conversation_id": f"c-{user}",
        "messages": [{"message_id": f"m{i}", "role": "user", "content": text, "chat_time": when}]})


@pytest.fixture
def runtime(tmp_path: Path):
    rt = build_runtime(Settings(data_dir=tmp_path / "data", extractor="rules"), with_vectors=False)
    yield rt
    rt.close()


def snapshot(store, users=("u1", "u2")) -> dict:
    """Everything the graph holds for the users, order-free (edge ids included)."""
    out = {}
    for u in users:
        hood = store.neighbourhood(u, hops=3, include_superseded=True)
        out[u] = {
            "nodes": sorted((n["id"], n["name"], n["type"]) for n in hood["nodes"]),
            "edges": sorted(tuple(sorted(e.items())) for e in hood["edges"]),
            "entities": sorted((e["id"], e["type"], e["degree"]) for e in store.entities(u)),
        }
    return out


def edges(store, user: str, relation: str, superseded: bool | None = None) -> list[dict]:
    hood = store.neighbourhood(user, hops=2, include_superseded=True)
    names = {n["id"]: n["name"] for n in hood["nodes"]}
    return [{**e, "target_name": names.get(e["target"])} for e in hood["edges"] if e["relation"] == relation
            and (superseded is None or bool(e["superseded"]) == superseded)]


def mirrored(store, user: str) -> tuple:
    m = store.mirror(user)
    return (sorted(store.entities(user), key=lambda e: e["id"]), dict(m.mem_entities),
            {k: dict(v) for k, v in m.related.items() if v})


def test_slot_relations_become_edges_and_a_revision_moves_the_edge(runtime, tmp_path):
    store = open_graph_store(tmp_path / "live")
    projector = GraphProjector(runtime.timeline, store)
    try:
        assert store.entities("u1") == []  # loads the (empty) mirror: later writes must update it
        for i, turn in enumerate(TURNS):
            runtime.service.ingest(envelope(i, *turn))
            runtime.catch_up()
            catch_up(runtime.store, projector, batch_size=1)  # one event per batch: the live path
        lives = edges(store, "u1", "lives_in")
        mine = [e for e in lives if e["source"] == "u1/@user"]
        assert {e["target_name"] for e in mine} == {"Berlin", "Lisbon"}
        berlin = next(e for e in mine if e["target_name"] == "Berlin")
        lisbon = next(e for e in mine if e["target_name"] == "Lisbon")
        assert berlin["superseded"] == lisbon["stated"], "the revision supersedes the old edge when it is stated"
        assert lisbon["superseded"] is None and lisbon["memory_id"] == berlin["memory_id"]
        assert lisbon["version"] > berlin["version"]
        current = {e["target_name"] for e in edges(store, "u1", "works_at", superseded=False)
                   if e["source"] == "u1/@user"}
        assert current == {"Microsoft"}
        anna = store.neighbourhood("u1", "Anna")
        relations = {(e["relation"], e["target"]) for e in anna["edges"]}
        assert {("sister_of", "u1/@user"), ("lives_in", "u1/paris"), ("works_at", "u1/google")} <= relations
        assert {n["type"] for n in anna["nodes"] if n["id"] == "u1/anna"} == {"person"}
        assert edges(store, "u1", "plans_trip_to")[0]["target_name"] == "Japan"
        zh = edges(store, "u2", "lives_in")
        assert [e["target_name"] for e in zh] == ["上海"]
        assert all(n["id"].startswith("u2/") for n in store.neighbourhood("u2", hops=3)["nodes"]), "tenants apart"
        assert store.position() == runtime.timeline.position()
        live_mirror = mirrored(store, "u1")
        store._mirrors.clear()  # the search path's in-memory mirror equals a fresh load from Kùzu
        assert mirrored(store, "u1") == live_mirror
    finally:
        store.close()


def test_replay_equals_live_and_reopening_keeps_the_position(runtime, tmp_path):
    live = open_graph_store(tmp_path / "live")
    live_projector = GraphProjector(runtime.timeline, live)
    for i, turn in enumerate(TURNS):
        runtime.service.ingest(envelope(i, *turn))
        runtime.catch_up()
        catch_up(runtime.store, live_projector, batch_size=1)
    expected = snapshot(live)
    head = live.position()
    live.close()

    replay = open_graph_store(tmp_path / "replay")
    try:
        assert catch_up(runtime.store, GraphProjector(runtime.timeline, replay), batch_size=500) > 0
        assert snapshot(replay) == expected
        projector = GraphProjector(runtime.timeline, replay)
        projector.clear()
        assert replay.position() == 0 and replay.entities("u1") == []
        catch_up(runtime.store, projector, batch_size=3)
        assert snapshot(replay) == expected
    finally:
        replay.close()

    reopened = open_graph_store(tmp_path / "live")  # the position was committed with the writes
    try:
        assert reopened.position() == head
        assert catch_up(runtime.store, GraphProjector(runtime.timeline, reopened)) == 0
        assert snapshot(reopened) == expected
    finally:
        reopened.close()


def test_a_graph_written_with_the_older_schema_is_rebuilt_from_the_log(runtime, tmp_path):
    """Stores from before ``Memory.entities`` (Mentions edges) are dropped on open and replayed."""
    import kuzu

    for i, turn in enumerate(TURNS[:3]):
        runtime.service.ingest(envelope(i, *turn))
    runtime.catch_up()
    (tmp_path / "old" / "graph").mkdir(parents=True)
    db = kuzu.Database(str(tmp_path / "old" / "graph" / "graph.kuzu"))
    conn = kuzu.Connection(db)
    for q in ("CREATE NODE TABLE Entity(id STRING PRIMARY KEY, user_id STRING, name STRING, type STRING)",
              "CREATE NODE TABLE Memory(id STRING PRIMARY KEY, user_id STRING, kind STRING, version INT64, "
              "status STRING, time STRING)",
              "CREATE NODE TABLE Position(name STRING PRIMARY KEY, position INT64)",
              "CREATE REL TABLE Mentions(FROM Memory TO Entity)",
              "CREATE (:Position {name: 'projection:graph', position: 99})"):
        conn.execute(q)
    conn.close()
    db.close()
    store = open_graph_store(tmp_path / "old")
    try:
        assert store.position() == 0, "the old graph is gone, so the projection starts from the log's start"
        assert catch_up(runtime.store, GraphProjector(runtime.timeline, store)) > 0
        assert "Siemens" in [e["target_name"] for e in edges(store, "u1", "works_at")]
    finally:
        store.close()


def test_an_older_event_replayed_cannot_roll_an_edge_back(runtime, tmp_path):
    store = open_graph_store(tmp_path / "g")
    projector = GraphProjector(runtime.timeline, store)
    try:
        for i, turn in enumerate(TURNS):
            runtime.service.ingest(envelope(i, *turn))
        runtime.catch_up()
        catch_up(runtime.store, projector)
        before = snapshot(store)
        # Every event again, from the first, as a crashed worker re-applying old batches would.
        from projections.catch_up import next_batch

        everything = next_batch(runtime.store, 1, 10_000, None)
        projector.process(everything)
        projector.process(everything[: len(everything) // 2])
        assert snapshot(store) == before
        current = [e["target_name"] for e in edges(store, "u1", "lives_in", superseded=False)
                   if e["source"] == "u1/@user"]
        assert current == ["Lisbon"]
    finally:
        store.close()


def test_an_archived_memory_supersedes_its_edges(runtime, tmp_path):
    from application.requests import archive_on_request

    store = open_graph_store(tmp_path / "g")
    projector = GraphProjector(runtime.timeline, store)
    try:
        runtime.service.ingest(envelope(0, "u1", "I work at Siemens as an engineer.", "2025-03-02T10:00:00+00:00"))
        runtime.catch_up()
        catch_up(runtime.store, projector)
        work = edges(store, "u1", "works_at", superseded=False)
        assert [e["target_name"] for e in work] == ["Siemens"]
        archive_on_request(runtime.store, "u1", [work[0]["memory_id"]])
        runtime.catch_up()
        catch_up(runtime.store, projector)
        assert edges(store, "u1", "works_at", superseded=False) == []
        assert edges(store, "u1", "works_at", superseded=True)[0]["target_name"] == "Siemens"
        assert work[0]["memory_id"] not in store.neighbourhood("u1", "Siemens")["mentioned_by"]
    finally:
        store.close()


def test_forget_user_removes_the_users_subgraph_only(runtime, tmp_path):
    store = open_graph_store(tmp_path / "g")
    projector = GraphProjector(runtime.timeline, store)
    try:
        for i, turn in enumerate(TURNS):
            runtime.service.ingest(envelope(i, *turn))
        runtime.catch_up()
        catch_up(runtime.store, projector)
        kept = snapshot(store, ("u2",))
        assert store.entities("u1")
        assert projector.forget_user("u1") > 0
        assert store.entities("u1") == []
        hood = store.neighbourhood("u1", hops=3, include_superseded=True)
        assert hood["nodes"] == [] and hood["edges"] == [] and hood["mentioned_by"] == []
        assert store.memory_entities("u1", [m["memory_id"] for m in runtime.timeline.memories("u1")]) == {}
        assert snapshot(store, ("u2",)) == kept
    finally:
        store.close()
