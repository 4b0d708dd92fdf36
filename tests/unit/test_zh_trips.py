"""What 去 leads to in Chinese: a destination, an activity, or a habit (``zh_plans.travel_rules``)."""

from datetime import datetime, timezone

import pytest

from extraction.rules.base import Sentence
from extraction.rules.dates import find_dates
from extraction.rules.zh_plans import travel_rules

AT = datetime(2025, 3, 3, tzinfo=timezone.utc)


def trips(text):
    return [f.attributes.get("destination") for f in travel_rules(Sentence(text, 0, "zh", AT, find_dates(text, AT, "zh")))]


@pytest.mark.parametrize("text", ["周末我一般都去爬山", "下周末去钓鱼", "我平时周末去逛街", "每个周末都去打球"])
def test_an_activity_or_a_habit_is_no_trip(text):
    assert trips(text) == [], text


@pytest.mark.parametrize("text, place", [("下周末去爬泰山", "泰山"), ("五一打算去杭州玩", "杭州"), ("我下个月去青岛", "青岛")])
def test_a_destination_is_a_trip(text, place):
    assert trips(text) == [place], text


@pytest.mark.parametrize("text, place", [("订了去恩施的高铁票", "恩施"), ("我买好票了，下周去婺源", "婺源")])
def test_a_booked_ticket_makes_an_unknown_place_a_destination(text, place):
    assert trips(text) == [place], text


def test_an_unknown_word_after_qu_without_a_booking_is_no_trip():
    assert trips("等会去楼下拿快递") == []
