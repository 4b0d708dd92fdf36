"""The command line as a user runs it: real processes, real stores, real model."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from domain.envelope import MAX_CONTENT_CHARS
from tests.conftest import EXAMPLES, REPO

pytestmark = pytest.mark.slow

MEMSTREAM = Path(sys.executable).parent / "memstream"
"""The console script ``pip install`` made (pyproject.toml's [project.scripts]), as a user runs it."""


def memstream(*args: str, data_dir, model_dir=None, check: bool = True, timeout: int = 240):
    env = {**os.environ, "MEMSTREAM_DATA_DIR": str(data_dir)}
    env.pop("MEMSTREAM_KAFKA_URL", None)
    if model_dir:
        env["MEMSTREAM_MODEL_DIR"] = str(model_dir)
    proc = subprocess.run([str(MEMSTREAM), *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"memstream {' '.join(args)} exited {proc.returncode}\n{proc.stderr}")
    return proc


def as_json(proc) -> dict:
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def ingested(tmp_path_factory, model_dir):
    data = tmp_path_factory.mktemp("cli")
    report = as_json(memstream("ingest", str(EXAMPLES / "brief.jsonl"), "--json", data_dir=data, model_dir=model_dir))
    return data, report


def xiaoyi_profile(data, model_dir):
    views = as_json(memstream("memories", "--user", "xiaoyi", "--json", data_dir=data, model_dir=model_dir))
    return next(v for v in views["memories"] if v["key"] == "profile")


def test_ingest_reports_what_it_did(ingested):
    _, report = ingested
    assert report["accepted"] == 4 and report["rejected"] == []
    assert report["created"] >= 3 and report["revised"] >= 2


def test_history_shows_the_version_chain(ingested, model_dir):
    data, _ = ingested
    memory = xiaoyi_profile(data, model_dir)
    history = as_json(memstream("history", memory["memory_id"], "--json", data_dir=data, model_dir=model_dir))
    versions = history["versions"]
    assert [v["version"] for v in versions] == [1, 2]
    assert "上海" in versions[0]["content"] and "成都" in versions[1]["content"]
    assert versions[1]["reason"] == "conflict" and versions[1]["stage"] == "fine"
    assert {s["message_id"] for s in versions[1]["sources"]} == {"x1", "x2"}
    human = memstream("history", memory["memory_id"][:8], data_dir=data, model_dir=model_dir).stdout
    assert "V1" in human and "V2" in human and "成都" in human


def test_search_returns_v2_and_isolates_users(ingested, model_dir, tmp_path):
    data, _ = ingested
    hits = as_json(memstream("search", "--user", "xiaoyi", "住在哪里", "--json", data_dir=data, model_dir=model_dir))
    assert hits["results"][0]["version"] == 2 and "成都" in hits["results"][0]["content"]
    assert all("上海" not in r["content"] for r in hits["results"])
    queries = tmp_path / "q.jsonl"
    queries.write_text('{"id": "a", "query": "住在哪里"}\n{"id": "b", "query": ""}\n{"id": "c", "query": "酒店"}\n')
    batch = memstream("search", "--user", "xiaoming", "--queries", str(queries), data_dir=data,
                      model_dir=model_dir, check=False)
    assert batch.returncode == 2 and "line 2" in batch.stderr
    lines = [json.loads(line) for line in batch.stdout.splitlines()]
    assert [line["id"] for line in lines] == ["a", "c"]
    assert all(r["user_id"] == "xiaoming" for line in lines for r in line["results"])


def test_reingest_changes_nothing(ingested, model_dir):
    data, _ = ingested
    before = memstream("memories", "--user", "xiaoyi", "--all", "--json", data_dir=data, model_dir=model_dir).stdout
    again = as_json(memstream("ingest", str(EXAMPLES / "brief.jsonl"), "--json", data_dir=data, model_dir=model_dir))
    assert again["duplicates"] == 4 and again["created"] == again["revised"] == again["archived"] == 0
    after = memstream("memories", "--user", "xiaoyi", "--all", "--json", data_dir=data, model_dir=model_dir).stdout
    assert after == before


def test_replay_rebuilds_the_same_read_side(ingested, model_dir):
    data, _ = ingested
    query = ("search", "--user", "xiaoyi", "住在哪里", "--json")
    before = as_json(memstream(*query, data_dir=data, model_dir=model_dir))["results"]
    report = as_json(memstream("replay", "--json", data_dir=data, model_dir=model_dir))
    assert report["replayed"]["timeline"]["events"] > 0 and report["replayed"]["vector"]["events"] > 0
    assert as_json(memstream(*query, data_dir=data, model_dir=model_dir))["results"] == before


def test_bad_lines_are_reported_and_the_rest_is_processed(tmp_path, model_dir):
    good = '{"event_id": "g%d", "user_id": "u", "messages": [{"role": "user", "content": "我住在杭州"}]}'
    lines = [good % 1, '{"user_id": "u", "messages": [', '{"messages": [{"role": "user", "content": "x"}]}',
             '{"user_id": "u", "messages": []}',
             json.dumps({"user_id": "u", "messages": [{"role": "user", "content": "x" * 200_001}]}), good % 2]
    path = tmp_path / "mixed.jsonl"
    path.write_text("\n".join(lines) + "\n")
    proc = memstream("ingest", str(path), "--json", data_dir=tmp_path / "d", model_dir=model_dir, check=False)
    assert proc.returncode == 2
    report = as_json(proc)
    assert report["accepted"] == 2
    assert [r["line"] for r in report["rejected"]] == [2, 3, 4, 5]
    reasons = [r["reason"] for r in report["rejected"]]
    assert "invalid JSON" in reasons[0] and "user_id" in reasons[1]
    assert "at least 1 item" in reasons[2]
    assert f"String should have at most {MAX_CONTENT_CHARS} characters" in reasons[3]
    human = memstream("ingest", str(path), data_dir=tmp_path / "d", model_dir=model_dir, check=False)
    assert "line 2: invalid JSON" in human.stderr and "2 envelopes accepted (2 already ingested)" in human.stdout


def test_clear_errors(tmp_path, model_dir):
    missing = memstream("ingest", str(tmp_path / "nope.jsonl"), data_dir=tmp_path, check=False)
    assert missing.returncode == 1 and "no such file" in missing.stderr
    nothing = memstream("history", "does-not-exist", data_dir=tmp_path / "typo", check=False)
    assert nothing.returncode == 1 and "no memstream data in" in nothing.stderr
    assert not (tmp_path / "typo").exists(), "a read never creates a data dir"
    worker = memstream("worker", data_dir=tmp_path, check=False)
    assert worker.returncode == 1 and "MEMSTREAM_KAFKA_URL" in worker.stderr


def test_demo_runs_end_to_end_through_the_broker(tmp_path, model_dir):
    proc = memstream("demo", "--json", data_dir=tmp_path / "demo", model_dir=model_dir, timeout=300)
    result = as_json(proc)
    chain = result["xiaoyi_history"]
    assert [v["version"] for v in chain] == [1, 2]
    assert "上海" in chain[0]["content"] and "成都" in chain[1]["content"]
    assert chain[1]["cause"]["topic"].endswith(".messages") and chain[1]["cause"]["offset"] is not None
    assert result["search"][0]["memory_id"] == chain[0]["memory_id"]
    assert len(result["dead_letters"]) == 1 and "valid list" in result["dead_letters"][0]["reason"]
    assert any(v["kind"] == "preference" for v in result["memories"]["xiaoming"])
