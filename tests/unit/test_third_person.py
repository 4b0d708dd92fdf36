"""First person rewritten as the user (extraction/rules/fallback.third_person_en): verbs agree."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from extraction.rules.base import Sentence
from extraction.rules.dates import find_dates
from extraction.rules.fallback import fallback, third_person_en


@pytest.mark.parametrize("said,written", [
    ("we did a dino-themed party", "the user did a dino-themed party"),
    ("we brought home a rescue greyhound", "the user brought home a rescue greyhound"),
    ("I thought about it for weeks", "the user thought about it for weeks"),
    ("I spoke to my manager", "the user spoke to the user's manager"),
    ("I could swim as a kid", "the user could swim as a kid"),
    ("I read a lot", "the user reads a lot"),
    ("I eat rice", "the user eats rice"),
    ("I watch films", "the user watches films"),
    ("I study law", "the user studies law"),
    ("I moved to Oslo", "the user moved to Oslo"),
    ("I used to run", "the user used to run"),
    ("I need a new car", "the user needs a new car"),
    ("I cant be without it", "the user cant be without it"),
    ("I dont eat meat", "the user doesnt eat meat"),
    ("im winded on the stairs", "the user is winded on the stairs"),
    ("ive got two cats", "the user has got two cats"),
])
def test_the_verb_agrees_with_the_user(said: str, written: str) -> None:
    assert third_person_en(said) == written


@pytest.mark.parametrize("clause,content", [
    ("Got the iPhone 15 on March 1, 2025", "The user got the iPhone 15 on March 1, 2025."),
    ("Moved to Lisbon", "The user moved to Lisbon."),
    ("Lily turned 7", "The user Lily turned 7."),  # a name: given to its relative in domain/relatives.py
    ("lives in Oslo", "The user lives in Oslo."),
])
def test_a_sentence_without_its_subject_reads_as_the_users(clause: str, content: str) -> None:
    from extraction.rules.base import content_of

    assert content_of(clause, "en") == content


@pytest.mark.parametrize("said, subject", [
    ("Mom finally sold her house and moved closer to my brother", "mom"),
    ("我妈上个月退休了，天天去跳广场舞", "妈妈"),
    ("我爸退休以后每天早上去公园打太极", "爸爸"),
    ("儿子这学期转到育才小学了，离家近多了", "儿子"),
])
def test_a_parent_called_as_one_calls_them_is_the_subject(said: str, subject: str) -> None:
    lang = "zh" if any("\u4e00" <= ch <= "\u9fff" for ch in said) else "en"
    found = fallback(Sentence(said, 0, lang, datetime(2025, 3, 1, tzinfo=timezone.utc), []))
    assert found is not None and found.attributes["subject"] == subject


@pytest.mark.parametrize("said, kept, lang", [
    ("周末我一般都去爬山", "周末", "zh"),
    ("I usually go climbing on Saturday", "on Saturday", "en"),
])
def test_a_habit_keeps_its_day_unresolved(said: str, kept: str, lang: str) -> None:
    at = datetime(2025, 3, 3, tzinfo=timezone.utc)
    found = fallback(Sentence(said, 0, lang, at, find_dates(said, at, lang)))
    assert found is not None and kept in found.content and "2025" not in found.content, found and found.content


def test_a_dated_plan_still_resolves() -> None:
    at = datetime(2025, 3, 3, tzinfo=timezone.utc)
    said = "I'm visiting my sister next Friday"
    found = fallback(Sentence(said, 0, "en", at, find_dates(said, at, "en")))
    assert found is not None and "Friday, March 14, 2025" in found.content  # next Friday from a Monday


@pytest.mark.parametrize("said, content", [
    ("Sold my cello, it just wasn't for me", "The user sold the user's cello, it just wasn't for the user."),
    ("Been doing watercolour painting on weekends", "The user has been doing watercolour painting on weekends."),
    ("Finally signed a lease in Jersey City", "The user finally signed a lease in Jersey City."),
])
def test_a_statement_that_drops_its_i_is_written_with_the_user(said: str, content: str) -> None:
    found = fallback(Sentence(said, 0, "en", datetime(2025, 3, 3, tzinfo=timezone.utc), []))
    assert found is not None and found.content == content
