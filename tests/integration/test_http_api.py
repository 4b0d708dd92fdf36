"""The HTTP API through real HTTP: a uvicorn server on 127.0.0.1 and an httpx client.

Every MemOS-compatible endpoint, the native /v1 API, keys (401/403), the limits
(400 with field and reason, 413, 429) and the in-process paths (sync and async).
"""

from __future__ import annotations

import json
import socket
import threading
import time
from contextlib import contextmanager
from typing import Iterator

import httpx
import pytest

from application.settings import Settings

KEYS = "key-a=appA,key-b=appB,key-op=*"


@contextmanager
def live_server(settings: Settings) -> Iterator[tuple[str, object]]:
    """A uvicorn server in a thread on a free port; yields (base URL, the FastAPI app)."""
    import uvicorn

    from api.server import create_app

    app = create_app(settings)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                           access_log=False))
    thread = threading.Thread(target=server.run, name="test-uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 120
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}", app
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def client(base: str, key: str | None = "key-a", scheme: str = "Token") -> httpx.Client:
    headers = {"Authorization": f"{scheme} {key}"} if key is not None else {}
    return httpx.Client(base_url=base, headers=headers, timeout=30)


@pytest.fixture(scope="module")
def server(tmp_path_factory, model_dir):
    settings = Settings(data_dir=tmp_path_factory.mktemp("http") / "data", model_dir=model_dir,
                        extractor="rules", api_keys=KEYS, kafka_url="")
    with live_server(settings) as (base, app):
        yield base, app


@pytest.fixture(scope="module")
def base(server):
    return server[0]


def add(c: httpx.Client, user: str, text: str, *, async_mode: bool = False, when: str = "2025-01-01T10:00:00Z",
        **fields) -> dict:
    body = {"user_id": user, "messages": [{"role": "user", "content": text, "chat_time": when}],
            "async_mode": async_mode, **fields}
    r = c.post("/add/message", json=body)
    assert r.status_code == 200, r.text
    assert r.json()["code"] == 0
    return r.json()["data"]


def wait_completed(c: httpx.Client, task_id: str, seconds: float = 30) -> dict:
    deadline = time.monotonic() + seconds
    while True:
        data = c.post("/get/status", json={"task_id": task_id}).json()["data"]
        if data["status"] != "running" or time.monotonic() > deadline:
            return data
        time.sleep(0.05)


def test_add_message_sync_is_searchable_at_once(base):
    with client(base) as c:
        data = add(c, "xiaoyi", "我是小忆，现在在上海居住，不太能吃辣。", tags=["profile"], agent_id="bot",
                   conversation_id="c1")
        assert data["success"] is True and data["status"] == "completed" and data["task_id"]
        r = c.post("/search/memory", json={"user_id": "xiaoyi", "query": "住在哪里"})
        body = r.json()
        assert r.status_code == 200 and body["code"] == 0 and body["message"] == "ok"
        hits = body["data"]["memory_detail_list"]
        assert hits and "上海" in hits[0]["memory_value"]
        assert set(hits[0]) >= {"id", "memory_key", "memory_value", "memory_type", "create_time", "update_time",
                                "conversation_id", "status", "confidence", "tags", "relativity"}
        assert set(body["data"]) == {"memory_detail_list", "preference_detail_list", "tool_memory_detail_list",
                                     "skill_detail_list"}


def test_add_message_async_runs_then_completes(base):
    with client(base) as c:
        data = add(c, "async-user", "I moved to Lisbon last spring and I work as a nurse.", async_mode=True)
        assert data["status"] in ("running", "completed")
        assert wait_completed(c, data["task_id"])["status"] == "completed"
        assert c.post("/get/memory", json={"user_id": "async-user"}).json()["data"]["total"] >= 1


def test_status_of_an_unknown_or_foreign_task_is_404(base):
    with client(base) as c:
        task = add(c, "status-user", "My favourite colour is green.")["task_id"]
        assert c.post("/get/status", json={"task_id": task}).json()["data"]["status"] == "completed"
        assert c.post("/get/status", json={"task_id": "nope"}).status_code == 404
    with client(base, "key-b") as other:
        r = other.post("/get/status", json={"task_id": task})
        assert r.status_code == 404 and r.json()["code"] == 404


def test_search_preferences_limits_relativity_and_filter(base):
    with client(base) as c:
        add(c, "pref-user", "I love hiking in the mountains.", tags=["outdoor"])
        add(c, "pref-user", "I live in Berlin.", when="2025-03-01T10:00:00Z", agent_id="agent-7")
        search = lambda **kw: c.post("/search/memory", json={"user_id": "pref-user", **kw}).json()["data"]  # noqa: E731
        data = search(query="hiking")
        prefs = data["preference_detail_list"]
        assert prefs and prefs[0]["preference_type"] in ("explicit_preference", "implicit_preference")
        assert "hiking" in prefs[0]["preference"] and "reasoning" in prefs[0]
        assert search(query="hiking", include_preference=False)["preference_detail_list"] == []
        assert search(query="Berlin", memory_limit_number=0)["memory_detail_list"] == []
        assert search(query="Berlin", relativity=1e5)["memory_detail_list"] == []
        assert len(search(query="Berlin", memory_limit_number=1)["memory_detail_list"]) <= 1
        future = {"and": [{"create_time": {"gte": "2999-01-01T00:00:00Z"}}]}
        assert search(query="Berlin", filter=future)["memory_detail_list"] == []
        past = {"or": [{"create_time": {"lt": "2999-01-01"}}, {"agent_id": "none"}]}
        assert search(query="Berlin", filter=past)["memory_detail_list"]
        by_tag = search(query="hiking", filter={"tags": "outdoor"})
        assert all("outdoor" in m["tags"] for m in by_tag["preference_detail_list"] + by_tag["memory_detail_list"])
        assert by_tag["preference_detail_list"]
        by_agent = search(query="Berlin", filter={"agent_id": {"eq": "agent-7"}})["memory_detail_list"]
        assert by_agent and all(m["agent_id"] == "agent-7" for m in by_agent)
        assert search(query="x", include_tool_memory=True, include_skill=True)["tool_memory_detail_list"] == []
        bad = c.post("/search/memory", json={"user_id": "pref-user", "query": "x", "filter": {"colour": 1}})
        assert bad.status_code == 400 and "filter.colour" in bad.json()["message"]


def test_get_memory_pages_and_types(base):
    with client(base) as c:
        for i, text in enumerate(["I live in Oslo.", "I love jazz music.", "I work as a baker."]):
            add(c, "page-user", text, when=f"2025-0{i + 1}-01T10:00:00Z")
        everything = c.post("/get/memory", json={"user_id": "page-user", "size": 100}).json()["data"]
        assert everything["total"] == len(everything["memory_detail_list"]) >= 3
        first = c.post("/get/memory", json={"user_id": "page-user", "page": 1, "size": 2}).json()["data"]
        second = c.post("/get/memory", json={"user_id": "page-user", "page": 2, "size": 2}).json()["data"]
        assert len(first["memory_detail_list"]) == 2
        ids = [m["id"] for m in first["memory_detail_list"] + second["memory_detail_list"]]
        assert len(set(ids)) == len(ids)
        prefs = c.post("/get/memory", json={"user_id": "page-user", "memory_type": "pref_mem"}).json()["data"]
        assert prefs["memory_detail_list"] and all(m["memory_type"] == "preference"
                                                   for m in prefs["memory_detail_list"])
        assert c.post("/get/memory", json={"user_id": "page-user", "memory_type": "x"}).status_code == 400


def test_delete_memory_archives_with_reason_user_request(base):
    with client(base) as c:
        add(c, "del-user", "I live in Madrid.")
        memory = c.post("/get/memory", json={"user_id": "del-user"}).json()["data"]["memory_detail_list"][0]
        r = c.post("/delete/memory", json={"user_id": "del-user", "memory_ids": [memory["id"], "missing"]})
        assert r.json()["data"] == {"deleted": [memory["id"]], "not_found": ["missing"]}
        ids = [m["id"] for m in c.post("/get/memory", json={"user_id": "del-user"}).json()["data"]["memory_detail_list"]]
        assert memory["id"] not in ids
        last = c.get(f"/v1/memories/{memory['id']}/history").json()["data"][-1]
        assert last["status"] == "archived" and last["reason"] == "user_request" and last["decided_by"] == "user"
        assert last["stage"] == "user"  # what made it: the user asked, not the Fine stage
        again = c.post("/delete/memory", json={"user_id": "del-user", "memory_ids": [memory["id"]]}).json()["data"]
        assert again == {"deleted": [], "not_found": [memory["id"]]}
        add(c, "del-user", "I am allergic to peanuts and my locker code is 4471.")
        secret = [m for m in c.post("/get/memory", json={"user_id": "del-user"}).json()["data"]["memory_detail_list"]
                  if "4471" in m["memory_value"]]
        assert secret
        gone = c.post("/delete/memory", json={"user_id": "del-user", "memory_ids": [secret[0]["id"], "missing"],
                                              "forget": True}).json()["data"]
        assert gone["forgotten"] == [secret[0]["id"]] and gone["not_found"] == ["missing"]
        history = c.get(f"/v1/memories/{secret[0]['id']}/history").json()["data"]
        assert history and not any("4471" in (v.get("content") or "") for v in history)
        hits = c.post("/search/memory", json={"user_id": "del-user", "query": "locker code 4471"}).json()["data"]
        assert not any("4471" in (m["memory_value"] or "") for lst in hits.values() for m in lst)


def test_feedback_revises_a_memory_or_is_ingested_as_words(base):
    with client(base) as c:
        add(c, "fb-user", "I live in Paris.")
        memory = c.post("/get/memory", json={"user_id": "fb-user"}).json()["data"]["memory_detail_list"][0]
        r = c.post("/add/feedback", json={"user_id": "fb-user", "memory_id": memory["id"],
                                          "feedback_content": "The user lives in Lyon."})
        assert r.status_code == 200 and r.json()["data"]["memory_id"] == memory["id"]
        current = c.get(f"/v1/memories/{memory['id']}").json()["data"]
        assert current["content"] == "The user lives in Lyon." and current["reason"] == "feedback"
        assert current["stage"] == "user" and current["decided_by"] == "user"
        assert current["version"] == memory["version"] + 1
        hits = c.post("/search/memory", json={"user_id": "fb-user", "query": "Lyon"}).json()["data"]
        assert any("Lyon" in m["memory_value"] for m in hits["memory_detail_list"])
        words = c.post("/add/feedback", json={"user_id": "fb-user", "feedback_content": "I also speak Italian."})
        task = words.json()["data"]["task_id"]
        assert words.json()["data"]["status"] == "completed"
        assert "feedback" in c.get(f"/v1/inputs/{task}").json()["data"]["payload"]["tags"]
        assert c.post("/add/feedback", json={"user_id": "fb-user", "memory_id": "00000000-0000-0000-0000-000000000000",
                                             "feedback_content": "x"}).status_code == 404


def test_native_v1(base):
    with client(base) as c:
        task = add(c, "v1-user", "I live in Rome and I love pizza.")["task_id"]
        memories = c.get("/v1/memories", params={"user_id": "v1-user"}).json()["data"]
        assert memories and all(m["user_id"] == "v1-user" and m["app_id"] == "appA" for m in memories)
        mid = memories[0]["memory_id"]
        assert c.get(f"/v1/memories/{mid}").json()["data"]["memory_id"] == mid
        assert c.get(f"/v1/memories/{mid}/history").json()["data"][0]["version"] == 1
        hits = c.post("/v1/search", json={"user_id": "v1-user", "query": "Rome", "top_k": 3}).json()["data"]
        assert hits and all("score" in h for h in hits) and len(hits) <= 3
        assert c.post("/v1/search", json={"user_id": "v1-user", "query": "Rome", "since": "nope"}).status_code == 400
        raw = c.get(f"/v1/inputs/{task}").json()["data"]
        assert raw["user_id"] == "v1-user" and raw["payload"]["messages"][0]["content"].startswith("I live in Rome")
        assert c.get("/v1/memories/not-a-memory").status_code == 404
        assert c.get("/v1/inputs/not-an-input").status_code == 404
        doc = c.get("/openapi.json").json()
        assert {"/add/message", "/get/status", "/search/memory", "/get/memory", "/delete/memory", "/add/feedback",
                "/v1/memories", "/v1/memories/{memory_id}", "/v1/memories/{memory_id}/history", "/v1/search",
                "/v1/inputs/{event_id}"} <= set(doc["paths"])


def test_keys_401_and_403(base):
    body = {"user_id": "u", "query": "x"}
    with client(base, None) as c:
        r = c.post("/search/memory", json=body)
        assert r.status_code == 401 and r.json()["code"] == 401 and r.json()["data"] is None
    with client(base, "wrong") as c:
        assert c.post("/search/memory", json=body).status_code == 401
        assert c.get("/v1/memories", params={"user_id": "u"}).status_code == 401
    with client(base, "key-a", scheme="Basic") as c:
        assert c.post("/search/memory", json=body).status_code == 401
    with client(base, "key-a", scheme="Bearer") as c:
        assert c.post("/search/memory", json=body).status_code == 200
        r = c.post("/search/memory", json={**body, "app_id": "appB"})
        assert r.status_code == 403 and r.json()["code"] == 403
        assert c.post("/search/memory", json={**body, "app_id": "appA"}).status_code == 200
        assert c.get("/v1/memories", params={"user_id": "u", "app_id": "appB"}).status_code == 403


def test_operator_key_acts_for_the_app_it_names(base):
    with client(base) as a:
        add(a, "shared-name", "I live in Vienna.")
    with client(base, "key-op") as op:
        as_a = op.post("/get/memory", json={"user_id": "shared-name", "app_id": "appA"}).json()["data"]
        assert as_a["total"] >= 1 and as_a["memory_detail_list"][0]["user_id"] == "shared-name"
        as_b = op.post("/get/memory", json={"user_id": "shared-name", "app_id": "appB"}).json()["data"]
        assert as_b["total"] == 0
        raw = op.get("/v1/memories", params={"user_id": "appA/shared-name"}).json()["data"]
        assert raw, "without app_id the operator reads the stores' own user ids"
        assert op.post("/get/memory", json={"user_id": "x", "app_id": "a/b"}).status_code == 400


def test_contract_errors_are_400_with_field_and_reason(base):
    with client(base) as c:
        r = c.post("/add/message", json={"user_id": "u", "messages": []})
        assert r.status_code == 400 and "messages" in r.json()["message"]
        r = c.post("/add/message", json={"user_id": "u", "messages": [{"role": "user", "content": ""}]})
        assert r.status_code == 400 and "messages.0" in r.json()["message"] and "no text" in r.json()["message"]
        r = c.post("/add/message", json={"user_id": "kb:docs", "messages": [{"role": "user", "content": "hi"}]})
        assert r.status_code == 400 and "user_id" in r.json()["message"]
        r = c.post("/add/message", json={"user_id": "u", "messages": [{"role": "user", "content": "hi",
                                                                       "chat_time": 5}]})
        assert r.status_code == 400 and "chat_time" in r.json()["message"]
        r = c.post("/add/message", content=b"{not json", headers={"content-type": "application/json"})
        assert r.status_code == 400
        r = c.post("/add/message", content=b"x" * (2 * 1024 * 1024), headers={"content-type": "application/json"})
        assert r.status_code == 413 and r.json()["code"] == 413


def test_full_queue_answers_429(server):
    base, app = server
    engine = app.state.backend
    with client(base) as c:
        with engine.lock:  # the ingest worker blocks: the queue fills up
            engine._queue.maxsize = 2
            try:
                codes = [c.post("/add/message", json={"user_id": "q-user", "messages": [
                    {"role": "user", "content": f"I have {i} cats."}]}).status_code for i in range(6)]
            finally:
                engine._queue.maxsize = 1024
        assert 429 in codes and codes[0] == 200


def test_web_view_is_mounted_behind_the_key_check(base):
    import importlib.util

    if importlib.util.find_spec("webui") is None:
        pytest.skip("the webui package is not installed")
    with httpx.Client(base_url=base, timeout=30) as anonymous:
        assert anonymous.get("/ui/users/xiaoyi", follow_redirects=False).status_code in (302, 303, 401)
    with client(base) as c:
        assert c.get("/ui/users/xiaoyi").status_code == 200


@pytest.mark.kafka
@pytest.mark.slow
def test_with_a_broker_input_is_published_and_followed_through_the_event_store(tansu_broker, tmp_path, processes,
                                                                              model_dir):
    """/add/message publishes to the messages topic; a ``worker --role agents`` records and refines it;
    the server projects it, and /get/status goes running → completed."""
    import os
    import sys

    from streams.topics import ensure_topics, topic_specs_for
    from tests.integration.kafka_fixtures import run, wait_until

    prefix = f"http{os.getpid()}x{int(time.time() * 1000) % 100000}"
    settings = Settings(data_dir=tmp_path / "data", model_dir=model_dir, extractor="rules", api_keys=KEYS,
                        kafka_url=tansu_broker, topic_prefix=prefix, partitions=2,
                        consumer_group=f"{prefix}-group", session_timeout=2.0)
    run(ensure_topics(tansu_broker, topic_specs_for(settings)))
    env = {"MEMSTREAM_KAFKA_URL": tansu_broker, "MEMSTREAM_DATA_DIR": str(settings.data_dir),
           "MEMSTREAM_TOPIC_PREFIX": prefix, "MEMSTREAM_CONSUMER_GROUP": settings.consumer_group,
           "MEMSTREAM_SESSION_TIMEOUT": "2", "MEMSTREAM_PARTITIONS": "2", "MEMSTREAM_EXTRACTOR": "rules"}
    with live_server(settings) as (url, _):
        with client(url) as c:
            first = add(c, "kafka-user", "I live in Porto and I work as a pilot.", async_mode=True)
            assert first["status"] == "running"
            status = c.post("/get/status", json={"task_id": first["task_id"]}).json()["data"]["status"]
            assert status == "running", "nothing consumes the topic yet"
            memstream = os.path.join(os.path.dirname(sys.executable), "memstream")
            worker = processes([memstream, "worker", "--role", "agents"], env=env, name="w-agents")
            wait_until(lambda: c.post("/get/status", json={"task_id": first["task_id"]}).json()["data"]["status"]
                       == "completed", 120, "the published input to be refined and projected", worker.log_tail)
            hits = c.post("/search/memory", json={"user_id": "kafka-user", "query": "Porto"}).json()["data"]
            assert any("Porto" in m["memory_value"] for m in hits["memory_detail_list"])
            second = add(c, "kafka-user", "I love jazz music.", async_mode=False)
            assert second["status"] == "completed"
            with client(url, "key-b") as other:
                assert other.post("/get/status", json={"task_id": second["task_id"]}).status_code == 404
            # the server owns the projections, so it publishes memory-events, tombstones included
            mine = c.post("/get/memory", json={"user_id": "kafka-user"}).json()["data"]["memory_detail_list"]
            gone = mine[0]["id"]
            assert c.post("/delete/memory", json={"user_id": "kafka-user", "memory_ids": [gone],
                                                  "forget": True}).json()["data"]["forgotten"] == [gone]

            def published() -> list:
                return run(everything_on(tansu_broker, settings.topic("memory-events")), timeout=30)

            def tombstone() -> list:
                return [r for r in published() if r.value is None]

            wait_until(tombstone, 60, "the forgotten memory's tombstone on memory-events", worker.log_tail)
            records = published()
            events = [json.loads(r.value) for r in records if r.value is not None]
            # forgetting one memory also forgets the episodes of the messages it came from
            kinds = {e["memory_id"]: e["memory"]["kind"] for e in events}
            keys = [r.key.decode() for r in records if r.value is None]
            assert gone in keys and len(keys) == len(set(keys))
            assert all(kinds[k] == "episode" for k in keys if k != gone)
            assert {e["memory_id"] for e in events} >= {m["id"] for m in mine}


async def everything_on(bootstrap: str, topic: str, quiet: float = 1.0) -> list:
    """Every record on ``topic`` from the start of each partition, read until ``quiet`` seconds
    pass without a new one (no group; see kafka_fixtures.read_topic)."""
    from aiokafka import AIOKafkaConsumer, TopicPartition

    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        await consumer.topics()
        tps = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        records: list = []
        last = time.monotonic()
        while time.monotonic() - last < quiet:
            batch = await consumer.getmany(timeout_ms=200)
            for rows in batch.values():
                records.extend(rows)
                last = time.monotonic()
        return records
    finally:
        await consumer.stop()
