"""Issue #16, "What was seen", through the installed ``memstream`` console script: small talk and
system prompts are no active memories, questions about the user find the current fact first, a
tool memory names the request that led to the call, and a file without event_ids ingests once.

All users go into one ingest file and one data dir: every process loads the embedding model.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.slow

MEMSTREAM = Path(sys.executable).parent / "memstream"
SYSTEM = "You are a helpful assistant."
SMALL_TALK = {"你好", "哈哈，谢谢", "嗯", "👍", "好的", "哈哈哈", "hi", "lol ok", "thanks!", "haha", "ok 👍",
              "Sure, happy to help!", "不客气！", "Hello! How can I help you today?"}


def envelope(user: str, conversation: str, at: str, *turns: Any) -> dict[str, Any]:
    messages = []
    for turn in turns:
        message = dict(turn) if isinstance(turn, dict) else {"role": turn[0], "content": turn[1]}
        messages.append({**message, "chat_time": at})
    return {"user_id": user, "conversation_id": conversation, "messages": messages}  # no event_id


ENVELOPES = [
    envelope("wei", "w1", "2025-01-10T09:00:00+08:00", ("system", SYSTEM), ("user", "你好"),
             ("user", "我叫李伟，今年28岁，在北京工作，住在北京。"), ("assistant", "好的，记住了。"), ("user", "哈哈，谢谢")),
    envelope("wei", "w1", "2025-01-11T09:00:00+08:00", ("user", "我喜欢喝美式咖啡。"), ("assistant", "不客气！"),
             ("user", "嗯"), ("user", "👍")),
    envelope("wei", "w2", "2026-03-01T09:00:00+08:00", ("system", SYSTEM), ("user", "我搬到深圳了，现在在腾讯上班。"),
             ("user", "好的"), ("user", "哈哈哈")),
    envelope("sam", "s1", "2025-02-01T10:00:00+00:00", ("system", SYSTEM), ("user", "hi"),
             ("assistant", "Hello! How can I help you today?"), ("user", "I work as a nurse at Northwestern."),
             ("assistant", "Sure, happy to help!"), ("user", "lol ok"), ("user", "thanks!"), ("user", "haha")),
    envelope("sam", "s1", "2025-02-02T10:00:00+00:00", ("user", "I live in Seattle."), ("user", "ok 👍")),
    envelope("tom", "t1", "2025-03-01T10:00:00+00:00", ("user", "Find me a steakhouse in Seattle for tonight."),
             ("assistant", "Any budget in mind?"), ("user", "Also, I went vegan last month, so no more steak for me."),
             {"role": "tool", "tool_name": "restaurant_search", "tool_input": {"city": "Seattle", "q": "steakhouse"},
              "tool_output": {"results": 3}, "status": "ok", "latency_ms": 250},
             ("assistant", "Here are three vegan-friendly places.")),
]


_ENV: dict[str, str] = {"MEMSTREAM_KAFKA_URL": "", "MEMSTREAM_EXTRACTOR": "rules"}


def run(*args: str, data_dir: Path) -> dict[str, Any]:
    env = {**os.environ, **_ENV}
    proc = subprocess.run([str(MEMSTREAM), *args[:1], "--json", "--data-dir", str(data_dir), *args[1:]],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, f"memstream {' '.join(args)} exited {proc.returncode}\n{proc.stderr}"
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def store(tmp_path_factory, model_dir) -> Path:
    data = tmp_path_factory.mktemp("seen")
    path = data / "seen.jsonl"
    path.write_text("".join(json.dumps(e, ensure_ascii=False) + "\n" for e in ENVELOPES), encoding="utf-8")
    _ENV["MEMSTREAM_MODEL_DIR"] = str(model_dir)
    run("ingest", str(path), data_dir=data / "store")
    run("ingest", str(path), data_dir=data / "store")  # the same file again: a no-op
    return data / "store"


def memories(store: Path, user: str, *extra: str) -> list[dict[str, Any]]:
    return run("memories", "--user", user, *extra, data_dir=store)["memories"]


def search(store: Path, user: str, query: str, *extra: str) -> list[dict[str, Any]]:
    return run("search", "--user", user, *extra, query, data_dir=store)["results"]


def test_small_talk_and_system_prompts_are_not_active(store):
    for user in ("wei", "sam"):
        active = memories(store, user)
        assert active, user
        chatter = [m["content"] for m in active if m["content"] in SMALL_TALK or SYSTEM in m["content"]]
        assert not chatter, (user, chatter)


def test_small_talk_is_archived_with_reason_no_information(store):
    archived = [m for m in memories(store, "sam", "--all") if m["status"] == "archived" and m["kind"] == "episode"]
    assert {"hi", "lol ok", "thanks!", "haha"} <= {m["content"] for m in archived}
    assert all(SYSTEM not in m["content"] for m in memories(store, "sam", "--all")), "no episode of a system prompt"


def test_where_do_i_live_ranks_the_profile_first(store):
    top = search(store, "wei", "住在哪里")[0]
    assert top["kind"] != "episode" and "深圳" in top["content"], top


def test_kind_fact_does_not_return_a_stale_fact_first(store):
    top = search(store, "wei", "住在哪里", "--kind", "fact")[0]
    assert "深圳" in top["content"] and "北京" not in top["content"], top


def test_what_do_i_do_for_a_living_does_not_return_lol_ok(store):
    results = search(store, "sam", "what do I do for a living?")
    assert results[0]["content"] != "lol ok" and "nurse" in results[0]["content"].lower(), results[0]
    assert all(r["content"] not in SMALL_TALK for r in results)


def test_the_tool_memory_names_the_request_with_one_period(store):
    tools = [m for m in memories(store, "tom", "--kind", "tool")]
    assert len(tools) == 1
    content = tools[0]["content"]
    assert "Find me a steakhouse in Seattle for tonight" in content, content
    assert "vegan" not in content and ".." not in content and content.endswith("."), content


def test_ingesting_a_file_without_event_ids_twice_stores_every_episode_once(store):
    for user in ("wei", "sam", "tom"):
        episodes = [m for m in memories(store, user, "--all") if m["kind"] == "episode"]
        keys = [(m["content"], tuple(s["message_id"] for s in m["sources"])) for m in episodes]
        assert len(keys) == len(set(keys)), (user, sorted(keys))
        contents = [m["content"] for m in episodes]
        assert len(contents) == len(set(contents)), (user, sorted(contents))
