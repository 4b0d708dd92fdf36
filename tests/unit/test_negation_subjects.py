"""Negated moves and other people's ages (issue 16): what did not happen, and what is someone
else's, must not fill the user's slots."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from domain.extraction import WindowMessage
from extraction.rules import RuleCandidateFinder
from extraction.rules.base import negated

T = datetime(2024, 5, 8, 10, 0, tzinfo=timezone.utc)


def candidates(text: str) -> list:
    return list(RuleCandidateFinder().find([WindowMessage(message_id="m1", event_id="e1", role="user", text=text,
                                                          chat_time=T, is_new=True)]).candidates)


@pytest.mark.parametrize("text", [
    "I didn't move to Chicago after all.",
    "I never ended up moving to Seattle.",
    "I'm not planning to move to Denver.",
    "我没搬去上海，还是住老地方。",
    "后来我并没有搬到成都。",
    "我不打算搬去杭州了。",
])
def test_a_negated_move_fills_no_residence(text: str) -> None:
    found = candidates(text)
    assert not [c for c in found if c.slot.startswith("residence")], found


@pytest.mark.parametrize("text, slot, value", [
    ("I moved to Austin last year.", "residence", "Austin"),
    ("我搬到成都了。", "residence", "成都"),
    ("我不住在北京了。", "residence", "不再"),
    ("I don't live in Boston anymore.", "residence", "no longer"),
])
def test_moves_and_cessations_still_count(text: str, slot: str, value: str) -> None:
    found = [c for c in candidates(text) if c.slot == slot]
    assert found and value in found[0].content, candidates(text)


def test_negated_looks_at_the_verb_s_own_clause() -> None:
    text = "我不喜欢上海，搬到了杭州。"
    assert not negated(text, text.index("搬"), "zh")
    assert negated("我没搬去上海。", 2, "zh")


@pytest.mark.parametrize("text", [
    "我侄子也叫乐乐，今年十二岁。",
    "我的狗叫豆豆，今年三岁。",
    "我儿子叫乐乐，今年八岁。",
    "My nephew is 12 and loves chess.",
])
def test_a_relative_s_or_pet_s_age_is_not_the_user_s(text: str) -> None:
    found = candidates(text)
    assert not [c for c in found if c.slot == "age"], found


def test_the_named_child_keeps_its_age() -> None:
    found = [c for c in candidates("我儿子叫乐乐，今年八岁。") if c.slot == "family.children"]
    assert found and "乐乐" in found[0].content and "八岁" in found[0].content, found


def test_the_user_s_own_age_is_still_read() -> None:
    assert [c for c in candidates("我今年28岁。") if c.slot == "age"]
    assert [c for c in candidates("For the record, I'm 38.") if c.slot == "age"]


@pytest.mark.parametrize("text, lang, family", [
    ("I'm a barista at a café in Austin.", "en", "work"),
    ("我是一名护士。", "zh", "work"),
    ("I'm a big fan of jazz.", "en", None),
])
def test_a_role_puts_a_statement_in_the_work_family(text: str, lang: str, family: str | None) -> None:
    from extraction.rules.topics import family_of

    assert family_of(text, lang) == family
