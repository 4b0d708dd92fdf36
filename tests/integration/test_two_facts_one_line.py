"""Two facts in one chat line are two memories: when one of them changes later, the other is
still in a current memory. Public API, rule extractor, real model."""

from __future__ import annotations

import pytest

from tests.support.rule_api import facts_after, open_rules_api


@pytest.fixture(scope="module")
def ms(tmp_path_factory, model_dir):
    yield from open_rules_api(tmp_path_factory, model_dir, "two-facts")


@pytest.mark.parametrize("user,texts,kept,now,gone", [
    ("en-move", ("im in glasgow, just started at a design studio", "moved to edinburgh in june"),
     "design studio", "Edinburgh", "Glasgow"),
    ("en-job", ("we live in Leeds and I just joined the BBC as a producer", "We moved to York in March."),
     "BBC", "York", "Leeds"),
    ("zh-move", ("我在杭州住了三年了，在一家做跨境电商的公司上班", "上个月搬到苏州了"), "跨境电商", "苏州", "杭州"),
    ("zh-pet", ("我现在住在青岛，养了一只柯基叫豆豆", "上个月搬到济南了"), "豆豆", "济南", "青岛"),
    ("en-pet", ("i live in austin, my dog is a corgi named waffles", "we moved to denver last week"),
     "Waffles", "Denver", "Austin"),
])
def test_the_unchanged_fact_stays_current(ms, user, texts, kept, now, gone):
    facts = facts_after(ms, user, *texts)
    assert any(kept in f for f in facts), facts
    assert any(now in f for f in facts), facts
    assert not any(gone in f for f in facts), facts


def test_a_clause_that_only_describes_stays_with_its_statement(ms):
    facts = facts_after(ms, "zh-commute", "我在成都租房，每天坐地铁上班要四十分钟")
    assert len(facts) == 1 and "成都" in facts[0], facts


def test_a_split_clause_keeps_its_resolved_date(ms):
    ms.add([{"role": "user", "content": "im in glasgow, just started at a design studio last monday",
             "chat_time": "2024-05-08T08:00:00+00:00"}], user_id="en-date")  # a Wednesday
    facts = [m["content"] for m in ms.memories(user_id="en-date") if m["kind"] != "episode"]
    assert "The user is in Glasgow." in facts, facts
    assert any("design studio" in f and "May 6, 2024" in f for f in facts), facts


def test_a_relatives_statement_beside_the_users_is_the_relatives(ms):
    facts = facts_after(ms, "zh-wife", "我住在上海，我老婆喜欢吃甜的")
    assert "用户在上海居住" in facts, facts
    assert any(f.startswith("用户的老婆") and "甜" in f for f in facts), facts
