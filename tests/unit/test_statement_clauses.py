"""A sentence joining statements of different families is read as separate statements; one
that only describes, points back, or is about a relative stays whole."""

from __future__ import annotations

import pytest

from extraction.rules.base import Sentence
from extraction.rules.clauses import statement_clauses


def clauses(text: str, lang: str, asserts=lambda s: True) -> list[str]:
    return [c.sentence.text for c in statement_clauses(Sentence(text, 0, lang, None, []), asserts)]


@pytest.mark.parametrize("text,lang,parts", [
    ("im in glasgow, just started at a design studio", "en", ["im in glasgow", "just started at a design studio"]),
    ("we live in Leeds and I just joined the BBC as a producer", "en",
     ["we live in Leeds", "I just joined the BBC as a producer"]),
    ("我现在住在青岛，养了一只柯基叫豆豆", "zh", ["我现在住在青岛", "养了一只柯基叫豆豆"]),
    ("honestly, i moved to denver, i work at a bakery now", "en", ["honestly, i moved to denver", "i work at a bakery now"]),
])
def test_statements_of_two_families_are_split(text, lang, parts):
    assert clauses(text, lang) == parts


@pytest.mark.parametrize("text,lang", [
    ("我在成都租房，离春熙路挺近的", "zh"),                      # the second clause names no family
    ("我们在大理古城边上买了个小院子，平时就住那儿", "zh"),          # it points back (那儿)
    ("my sister lives in austin, works at dell", "en"),            # a relative's statements keep their subject
    ("i moved to denver, we moved again in may", "en"),            # one family
    ("i live in austin, and it rains a lot", "en"),                # no subject of its own
])
def test_one_statement_stays_whole(text, lang):
    assert clauses(text, lang) == []


def test_a_clause_without_its_own_subject_must_state_something():
    text = "我在成都租房，每天坐地铁上班要四十分钟"
    assert clauses(text, "zh", asserts=lambda s: False) == []
    assert clauses(text, "zh", asserts=lambda s: True) == ["我在成都租房", "每天坐地铁上班要四十分钟"]


def test_a_chinese_clause_without_a_subject_is_the_users():
    parts = statement_clauses(Sentence("我住在北京，现在在字节上班", 10, "zh", None, []), lambda s: True)
    assert [(c.at, c.inherits_user, c.sentence.offset) for c in parts] == [(0, False, 10), (6, True, 16)]


def test_a_short_chinese_clause_naming_a_home_is_a_statement():
    from extraction.rules.finder import RuleCandidateFinder

    text = "我在深圳南山上班，住宝安，每天通勤一个半小时"
    parts = statement_clauses(Sentence(text, 0, "zh", None, []), RuleCandidateFinder._asserts)
    assert [c.sentence.text for c in parts] == ["我在深圳南山上班", "住宝安，每天通勤一个半小时"]


def test_where_a_trip_stays_is_no_home():
    assert clauses("后天去西安出差三天，住钟楼附近", "zh") == []
    assert clauses("im in lisbon for a conference, staying near the river", "en") == []
