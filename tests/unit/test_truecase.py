"""Lower-case chat gets its capitals back before the rules read it (``extraction/rules/truecase.py``)."""

import pytest

from extraction.rules.finder import RuleCandidateFinder
from extraction.rules.truecase import ORDINARY, truecase, world_places


@pytest.mark.parametrize("text, expected", [
    ("i moved to rotterdam in june", "I moved to Rotterdam in june"),
    ("i'm in sao paulo till friday", "I'm in Sao Paulo till friday"),
    ("flying to new york, then hong kong", "flying to New York, then Hong Kong"),
    ("we had turkey and a nice day", "we had turkey and a nice day"),
    ("I live in Paris", "I live in Paris"),
    ("visiting my aunt in leeds", "visiting my aunt in Leeds"),
    ("my sister maya is a nurse", "my sister Maya is a nurse"),
    ("we adopted a kitten named pickle from the shelter", "we adopted a kitten named Pickle from the shelter"),
    ("my dog biscuit eats socks", "my dog Biscuit eats socks"),
    ("my dog loves walks", "my dog loves walks"),
    ("my sister lives in boston", "my sister lives in Boston"),
])
def test_truecase(text, expected):
    assert truecase(text) == expected
    assert len(truecase(text)) == len(text)


def test_ordinary_words_are_never_places():
    assert not ORDINARY & set(world_places())
    assert {"nice", "reading", "mobile"}.isdisjoint(world_places())


def test_a_lower_case_move_is_read():
    from datetime import datetime, timezone

    from domain.extraction import WindowMessage

    found = RuleCandidateFinder().find([WindowMessage("m1", "e1", "user", "just moved to rotterdam for a new job",
                                                      chat_time=datetime(2025, 3, 1, tzinfo=timezone.utc))])
    assert any("Rotterdam" in c.content for c in found.candidates), [c.content for c in found.candidates]


@pytest.mark.parametrize("text, lang, present", [
    ("I'm in Sacramento", "en", True),
    ("the rent here in Atlanta keeps going up", "en", True),
    ("I'm in Paris for a conference", "en", False),
    ("I'm in a meeting", "en", False),
    ("厦门这边冬天一点都不冷", "zh", True),
    ("我这边没问题", "zh", False),
])
def test_where_the_speaker_is_now_is_their_residence_family(text, lang, present):
    from extraction.rules.topics import family_of, present_in

    assert present_in(text, lang) is present
    if present:
        assert family_of(text, lang) == "residence"
