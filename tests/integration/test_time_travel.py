"""Time travel from the event log: ``as_of`` (record time) and ``valid_at`` (statement time)."""

from __future__ import annotations

import json
import time
from datetime import datetime, timezone

import pytest

import memstream
from tests.conftest import EXAMPLES


def _brief(ms) -> None:
    for line in (EXAMPLES / "brief.jsonl").read_text(encoding="utf-8").splitlines():
        if line.strip():
            item = json.loads(line)
            if item.get("user_id") == "xiaoyi":
                ms.add(item)


def _profile(views):
    return [v for v in views if v["kind"] != "episode"]


@pytest.fixture
def ms(tmp_path):
    with memstream.open(tmp_path / "data", extractor="rules", with_vectors=False) as handle:
        yield handle


def test_valid_at_shows_what_the_user_had_said_by_then(ms):
    _brief(ms)
    live = _profile(ms.memories(user_id="xiaoyi"))
    assert len(live) == 1 and "成都" in live[0]["content"] and live[0]["version"] == 2
    then = _profile(ms.memories(user_id="xiaoyi", valid_at="2025-12-31"))
    assert len(then) == 1 and then[0]["memory_id"] == live[0]["memory_id"]
    assert "上海" in then[0]["content"] and then[0]["version"] == 1
    assert ms.memories(user_id="xiaoyi", valid_at="2024-01-01") == []  # nothing stated yet


def test_as_of_shows_what_was_recorded_by_then(ms):
    ms.add([{"role": "user", "content": "我是小忆，现在在上海居住，不太能吃辣。",
             "chat_time": "2025-03-15T09:30:00+08:00"}], user_id="xiaoyi", event_id="x1")
    between = datetime.now(timezone.utc)
    time.sleep(0.02)
    ms.add([{"role": "user", "content": "最近我搬去成都了，突然爱上四川火锅，喜欢辣锅！",
             "chat_time": "2026-04-20T19:00:00+08:00"}], user_id="xiaoyi", event_id="x2")
    before = _profile(ms.memories(user_id="xiaoyi", as_of=between))
    assert len(before) == 1 and "上海" in before[0]["content"] and before[0]["version"] == 1
    assert "成都" in _profile(ms.memories(user_id="xiaoyi", as_of=datetime.now(timezone.utc)))[0]["content"]
    assert ms.memories(user_id="xiaoyi", as_of="2000-01-01T00:00:00+00:00") == []
    # the history carries both clocks for every version
    versions = ms.history_times(before[0]["memory_id"])
    assert [v["stated_at"] for v in versions] == ["2025-03-15T09:30:00+08:00", "2026-04-20T19:00:00+08:00"]
    assert versions[0]["recorded_at"] <= between.isoformat() < versions[1]["recorded_at"]


def test_statements_arriving_out_of_order(ms):
    """Recorded later but stated earlier: the two clocks disagree, each answers its own question."""
    ms.add([{"role": "user", "content": "I live in Berlin.", "chat_time": "2024-05-01T10:00:00+00:00"}],
           user_id="ooo", event_id="o1")
    after_first = datetime.now(timezone.utc)
    time.sleep(0.02)
    ms.add([{"role": "user", "content": "I have a dog named Rex.", "chat_time": "2022-02-01T10:00:00+00:00"}],
           user_id="ooo", event_id="o2")
    live = {v["content"] for v in _profile(ms.memories(user_id="ooo"))}
    assert any("Berlin" in c for c in live) and any("Rex" in c for c in live)
    # record time: only Berlin had been recorded
    recorded = {v["content"] for v in _profile(ms.memories(user_id="ooo", as_of=after_first))}
    assert any("Berlin" in c for c in recorded) and not any("Rex" in c for c in recorded)
    # statement time 2023: only the dog had been said (Berlin was said in 2024)
    stated = {v["content"] for v in _profile(ms.memories(user_id="ooo", valid_at="2023-06-01"))}
    assert any("Rex" in c for c in stated) and not any("Berlin" in c for c in stated)
    # both at once (bitemporal): at record time after_first nothing had been stated by 2023
    assert _profile(ms.memories(user_id="ooo", as_of=after_first, valid_at="2023-06-01")) == []
    # an earlier-stated contradiction recorded later does not make a later time say it
    ms.add([{"role": "user", "content": "I live in Paris.", "chat_time": "2023-01-10T10:00:00+00:00"}],
           user_id="ooo", event_id="o3")
    at_2024 = {v["content"] for v in _profile(ms.memories(user_id="ooo", valid_at="2024-06-01"))}
    assert any("Berlin" in c for c in at_2024)
    assert not any("Berlin" in c for c in
                   (v["content"] for v in ms.memories(user_id="ooo", valid_at="2023-06-01")))


def test_search_at_a_past_time(tmp_path, model_dir):
    with memstream.open(tmp_path / "data", extractor="rules", model_dir=model_dir) as handle:
        _brief(handle)
        live = handle.search("住在哪里", user_id="xiaoyi", top_k=1)
        assert "成都" in live[0]["content"]
        then = handle.search("住在哪里", user_id="xiaoyi", top_k=1, valid_at="2025-12-31")
        assert "上海" in then[0]["content"] and then[0]["score"] > 0
        assert handle.search("住在哪里", user_id="xiaoyi", valid_at="2024-01-01") == []
        recorded = handle.search("住在哪里", user_id="xiaoyi", top_k=3, as_of=datetime.now(timezone.utc))
        assert "成都" in recorded[0]["content"]
