"""Reprocessing into a parallel memory set: compare, switch, drop, resume."""

from __future__ import annotations

import dataclasses
import json

import pytest

import memstream
from application.reprocessing import SetError
from extraction.rule_extractor import RuleBasedExtractor
from tests.conftest import EXAMPLES

INPUTS = [
    ([{"role": "user", "content": "我是小忆，现在在上海居住，不太能吃辣。", "chat_time": "2025-03-15T09:30:00+08:00"}],
     "xiaoyi", "x1"),
    ([{"role": "user", "content": "最近我搬去成都了，突然爱上四川火锅，喜欢辣锅！", "chat_time": "2026-04-20T19:00:00+08:00"}],
     "xiaoyi", "x2"),
    ([{"role": "user", "content": "I have a dog named Rex. I work as a nurse.", "chat_time": "2024-05-01T10:00:00+00:00"}],
     "erin", "e1"),
    ([{"role": "user", "content": "I play the guitar every weekend.", "chat_time": "2024-05-02T10:00:00+00:00"}],
     "erin", "e2"),
]


class LoudExtractor:
    """A test double that decides like the rules but writes differently (and drops hobbies)."""

    name = "loud-v1"

    def __init__(self) -> None:
        self.rules = RuleBasedExtractor()

    def extract(self, request):
        extraction = self.rules.extract(request)
        decisions = tuple(dataclasses.replace(d, content="[loud] " + d.content.upper()) if d.content else d
                          for d in extraction.decisions if not d.key.startswith("hobby"))
        return dataclasses.replace(extraction, decisions=decisions, decided_by="loud-v1")


def _ingest(ms, inputs=INPUTS) -> None:
    for messages, user, event_id in inputs:
        ms.add(messages, user_id=user, event_id=event_id)


def test_same_extractor_gives_the_same_memories(tmp_path):
    with memstream.open(tmp_path / "data", extractor="rules", with_vectors=False) as ms:
        _ingest(ms)
        for line in (EXAMPLES / "brief.jsonl").read_text(encoding="utf-8").splitlines():
            ms.add(json.loads(line))
        live = {u: ms.memories(user_id=u, include_archived=True) for u in ("xiaoyi", "erin", "xiaoming")}
        report = ms.reprocess("same", extractor_name="rules")
        assert report["inputs"] == len(INPUTS) + 4 and report["skipped_forgotten"] == 0
        assert ms.compare("same") == []
        # the live set is untouched, and a second run resumes after the last input: nothing to do
        assert {u: ms.memories(user_id=u, include_archived=True) for u in live} == live
        assert ms.reprocess("same", extractor_name="rules")["inputs"] == 0
        assert ms.memory_sets() == {"live": "live", "sets": ["same"]}


def test_another_extractor_shows_differences_and_switch_makes_them_live(tmp_path):
    data = tmp_path / "data"
    with memstream.open(data, extractor="rules", with_vectors=False) as ms:
        _ingest(ms)
        ms.reprocess("loud", extractor=LoudExtractor())
        diffs = {d["user_id"]: d for d in ms.compare("loud")}
        assert set(diffs) == {"xiaoyi", "erin"}
        assert any(m["key"].startswith("hobby") for m in diffs["erin"]["missing"])
        revised = {m["key"]: m for m in diffs["erin"]["revised"]}
        assert revised["pet.dog"]["content"] == "[loud] " + revised["pet.dog"]["live"][0].upper()
        assert "成都" in diffs["xiaoyi"]["revised"][0]["content"]
        with pytest.raises(SetError):
            ms.drop("loud-typo")
        ms.switch("loud")
        with pytest.raises(SetError):
            ms.drop("loud")  # live
    with memstream.open(data, extractor="rules", with_vectors=False) as ms:
        dog = [m for m in ms.memories(user_id="erin") if m["key"] == "pet.dog"][0]
        assert dog["content"].startswith("[loud] ") and dog["decided_by"].startswith("loud-v1")
        ms.switch("live")
    with memstream.open(data, extractor="rules", with_vectors=False) as ms:
        assert any(m["key"].startswith("hobby") for m in ms.memories(user_id="erin"))
        ms.drop("loud")
        assert ms.memory_sets()["sets"] == []
    assert not (data / "sets" / "loud").exists()


def test_an_interrupted_run_resumes(tmp_path):
    with memstream.open(tmp_path / "data", extractor="rules", with_vectors=False) as ms:
        _ingest(ms)
        calls = {"n": 0}

        def stop_after_two(step: int) -> None:
            calls["n"] += step
            if calls["n"] == 2:
                raise KeyboardInterrupt

        with pytest.raises(KeyboardInterrupt):
            ms.reprocess("resumed", extractor_name="rules", progress=stop_after_two)
        rest = ms.reprocess("resumed", extractor_name="rules")
        assert rest["inputs"] == len(INPUTS) - 2
        assert ms.compare("resumed") == []


def test_reprocess_skips_forgotten_users(tmp_path):
    with memstream.open(tmp_path / "data", extractor="rules", with_vectors=False) as ms:
        _ingest(ms)
        ms.forget(user_id="erin")
        report = ms.reprocess("after", extractor_name="rules")
        assert report["skipped_forgotten"] == 2
        assert all(d["user_id"] != "erin" for d in ms.compare("after"))


def test_cli_reprocess_compare_switch_drop(tmp_path, model_dir):
    import os
    import subprocess
    import sys
    from pathlib import Path

    data = tmp_path / "data"
    with memstream.open(data, extractor="rules", with_vectors=False) as ms:
        _ingest(ms, INPUTS[:2])
    exe = Path(sys.executable).parent / "memstream"
    env = {**os.environ, "MEMSTREAM_DATA_DIR": str(data), "MEMSTREAM_EXTRACTOR": "rules",
           "MEMSTREAM_MODEL_DIR": str(model_dir)}

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([str(exe), *args], env=env, capture_output=True, text=True, timeout=240)

    done = run("reprocess", "--into", "cli", "--extractor", "rules")
    assert done.returncode == 0, done.stderr
    assert "2 inputs" in done.stdout and "reprocess into cli" in done.stderr  # the progress bar
    assert "no differences" in run("compare", "cli").stdout
    assert run("switch", "cli").returncode == 0
    assert run("drop", "cli").returncode == 1  # live
    assert run("switch", "live").returncode == 0
    assert run("drop", "cli").returncode == 0
    assert run("compare", "cli").returncode == 1
