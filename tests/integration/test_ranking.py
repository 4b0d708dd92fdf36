"""Ranking with the real embedding model and index: facts before chatter for questions about the
user, Fine memories before the episodes they came from, never small talk or superseded text."""

from __future__ import annotations

from typing import Any

import pytest

import memstream
from domain.information import carries_information
from domain.ports import ScoredPoint
from projections.search import MemorySearch, expand_query, is_self_question

SMALL_TALK = ["hi", "haha", "lol ok", "thanks!", "ok 👍", "哈哈", "好的", "谢谢", "嗯", "Sure, happy to help!"]


def turns(at: str, *pairs: tuple[str, str]) -> list[dict[str, Any]]:
    return [{"role": role, "content": text, "chat_time": at} for role, text in pairs]


@pytest.fixture(scope="module")
def ms(tmp_path_factory, model_dir):
    api = memstream.open(data_dir=tmp_path_factory.mktemp("ranking"), extractor="rules", model_dir=model_dir)
    api.add(turns("2025-02-01T10:00:00+00:00", ("system", "You are a helpful assistant."), ("user", "hi"),
                  ("assistant", "Hello! How can I help you today?"),
                  ("user", "I work as a nurse at Northwestern."), ("assistant", "Sure, happy to help!"),
                  ("user", "lol ok"), ("user", "thanks!"), ("user", "haha")),
            user_id="sam", conversation_id="s1")
    api.add(turns("2025-02-02T10:00:00+00:00", ("user", "I live in Seattle."), ("assistant", "Got it."),
                  ("user", "ok 👍"), ("user", "My sister Anna is visiting Seattle next week, lol")),
            user_id="sam", conversation_id="s1")
    api.add(turns("2025-01-10T09:00:00+08:00", ("user", "你好"), ("user", "我叫李伟，今年28岁，住在北京。"),
                  ("assistant", "好的，记住了。"), ("user", "哈哈，谢谢")), user_id="wei", conversation_id="w1")
    api.add(turns("2026-03-01T09:00:00+08:00", ("user", "我搬家了，现在住深圳。"), ("user", "好的"),
                  ("user", "嗯"), ("assistant", "不客气！")), user_id="wei", conversation_id="w2")
    yield api
    api.close()


def first_fine(results: list[dict[str, Any]]) -> int:
    return next(i for i, r in enumerate(results) if r["kind"] != "episode")


@pytest.mark.parametrize("query", ["where do I live?", "which city do I live in?", "住在哪里", "我住在哪里？"])
def test_where_do_i_live_returns_the_current_residence_first(ms, query):
    results = ms.search(query, user_id="wei", top_k=5)
    assert results[0]["kind"] != "episode" and "深圳" in results[0]["content"], results[0]
    assert all("北京" not in r["content"] for r in results), "superseded residence must not appear"


def test_where_do_i_live_english(ms):
    results = ms.search("where do I live?", user_id="sam", top_k=5)
    assert results[0]["kind"] != "episode" and "Seattle" in results[0]["content"], results[0]


def test_what_do_i_do_for_a_living_returns_the_work_fact_first(ms):
    for query in ("what do I do for a living?", "what is my job?", "where do I work?"):
        top = ms.search(query, user_id="sam", top_k=5)[0]
        assert top["kind"] != "episode" and "nurse" in top["content"].lower() or "Northwestern" in top["content"], \
            (query, top)


def test_fine_memories_outrank_the_episodes_they_came_from(ms):
    for query in ("Seattle", "nurse", "sister Anna"):
        results = ms.search(query, user_id="sam", top_k=10)
        for i, r in enumerate(results):
            if r["kind"] == "episode":
                cited = {s["message_id"] for s in r["sources"]}
                above = [f for f in results[i + 1:] if f["kind"] != "episode"
                         and cited & {s["message_id"] for s in f["sources"]}]
                assert not above, (query, r["content"], above[0]["content"])


@pytest.mark.parametrize("user", ["sam", "wei"])
@pytest.mark.parametrize("query", ["hello", "thanks", "haha lol", "ok", "谢谢", "哈哈", "what did I say?"])
def test_no_information_episodes_never_appear(ms, user, query):
    for r in ms.search(query, user_id=user, top_k=25):
        assert r["kind"] != "episode" or carries_information(r["content"]), r["content"]
        assert "helpful assistant" not in r["content"], "a system prompt is no user memory"


def test_results_are_current_versions_of_active_memories(ms):
    current = {m["memory_id"]: m["version"] for m in ms.memories(user_id="wei")}
    for r in ms.search("住在哪里", user_id="wei", top_k=25):
        assert current.get(r["memory_id"]) == r["version"]


def test_self_questions_and_their_expansion():
    assert is_self_question("where do I live?") and is_self_question("住在哪里") and is_self_question("我开什么车")
    assert not is_self_question("When did Melanie paint a sunrise?") and not is_self_question("他住在哪里")
    assert "works" in expand_query("what do I do for a living?") and "living" not in expand_query(
        "what do I do for a living?")
    assert "居住" in expand_query("where do I live?") and "live" in expand_query("住在哪里")


class _Embedder:
    def embed(self, texts):
        return [[1.0, 0.0] for _ in texts]


class _Index:
    """Dense candidates with full payloads; ``views`` as the real index returns them."""

    def __init__(self, payloads: list[dict[str, Any]]) -> None:
        self.payloads = {p["memory_id"]: p for p in payloads}

    def search(self, vector, flt, top_k, with_payload=True):
        ranked = sorted(self.payloads.values(), key=lambda p: -p["s"])[:top_k]
        return [ScoredPoint(p["memory_id"], p["s"], p if with_payload else {"kind": p["kind"]}) for p in ranked]

    def views(self, ids):
        return {i: self.payloads[i] for i in ids if i in self.payloads}


def test_an_active_no_information_episode_is_skipped_and_back_filled():
    """Before the Fine stage has archived it (the Kafka path), small talk is still never a result."""
    payloads = [{"memory_id": f"e{i}", "kind": "episode", "content": text, "s": 1.0 - i / 100}
                for i, text in enumerate(SMALL_TALK)]
    payloads += [{"memory_id": "f1", "kind": "fact", "content": "The user lives in Seattle.", "s": 0.5},
                 {"memory_id": "e99", "kind": "episode", "content": "I live in Seattle.", "s": 0.4}]
    results = MemorySearch(_Embedder(), _Index(payloads), speaker_prior=1.0, time_prior=1.0).search(
        "u", "where do I live?", top_k=3)
    assert [r["memory_id"] for r in results] == ["f1", "e99"]


def test_a_fine_memory_moves_above_the_episode_of_its_source_turn():
    """The turn outscores what it means now; the memory takes its place and score, nothing else moves."""
    turn = [{"event_id": "ev1", "message_id": "m3"}]
    payloads = [{"memory_id": "e1", "kind": "episode", "content": "我把朗逸卖了，换了一辆特斯拉Model 3。",
                 "sources": turn, "s": 0.9},
                {"memory_id": "e2", "kind": "episode", "content": "想买辆车，理想汽车怎么样？",
                 "sources": [{"event_id": "ev1", "message_id": "m1"}], "s": 0.8},
                {"memory_id": "f1", "kind": "fact", "content": "用户开特斯拉Model 3",
                 "sources": [{"event_id": "ev0", "message_id": "m0"}, *turn], "s": 0.7},
                {"memory_id": "f2", "kind": "fact", "content": "用户住在深圳",
                 "sources": [{"event_id": "ev0", "message_id": "m9"}], "s": 0.6}]
    search = MemorySearch(_Embedder(), _Index(payloads), speaker_prior=1.0, time_prior=1.0, episode_prior=1.0,
                          self_episode_prior=1.0)
    results = search.search("u", "我开什么车", top_k=4)
    assert [r["memory_id"] for r in results] == ["f1", "e1", "e2", "f2"]
    assert results[0]["score"] == results[1]["score"] == 0.9
    unrelated = [dict(p, sources=[{"event_id": "evX", "message_id": p["memory_id"]}]) for p in payloads]
    plain = MemorySearch(_Embedder(), _Index(unrelated), speaker_prior=1.0, time_prior=1.0, episode_prior=1.0,
                         self_episode_prior=1.0).search("u", "我开什么车", top_k=4)
    assert [r["memory_id"] for r in plain] == ["e1", "e2", "f1", "f2"]


def test_the_move_is_the_same_for_every_top_k_when_candidates_carry_only_ranking_fields():
    """Sources are read from the views of a fixed window, so a top-1 is the prefix of a top-4."""
    payloads = [{"memory_id": f"e{i}", "kind": "episode", "content": f"I played match {i} today.",
                 "sources": [{"event_id": "ev", "message_id": f"m{i}"}], "s": 0.9 - i / 100} for i in range(3)]
    payloads.append({"memory_id": "f1", "kind": "event", "content": "The user played match 0.",
                     "sources": [{"event_id": "ev", "message_id": "m0"}], "s": 0.2})
    search = MemorySearch(_Embedder(), _Index(payloads), speaker_prior=0.6, time_prior=1.0, episode_prior=1.0,
                          self_episode_prior=1.0)
    four = [r["memory_id"] for r in search.search("u", "which match did they play", top_k=4)]
    assert four == ["f1", "e0", "e1", "e2"]
    assert [r["memory_id"] for r in search.search("u", "which match did they play", top_k=1)] == four[:1]



def test_the_assistants_turns_weigh_less_for_a_question_about_the_user():
    assistant = {"kind": "episode", "attributes": {"speaker": "assistant"}}
    user = {"kind": "episode", "attributes": {"speaker": "user"}}
    fact = {"kind": "fact", "attributes": {}}
    factor = MemorySearch._episode_factor
    assert factor(assistant, 0.3, True) < factor(user, 0.3, True) < factor(fact, 0.3, True) == 1.0
    assert factor(assistant, 0.8, False) == factor(user, 0.8, False) == 0.8  # not about the user: no extra
