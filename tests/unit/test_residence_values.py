"""Where the user lives, told apart from another home when the place lists do not know the
place (``topics.family_values``): "living in somerville" and "our place in medford" differ."""

import pytest

from extraction.rules.topics import family_of, family_values


@pytest.mark.parametrize("text,place", [
    ("The user is living in somerville w two roommates.", "somerville"),
    ("The commute from the user's place in medford is honestly fine.", "medford"),
    ("we just moved to ruzafa, loving it", "ruzafa"),
    ("I live in Austin", "austin"),
])
def test_the_home_is_read(text, place):
    assert family_values(text, "residence") == {place}


@pytest.mark.parametrize("text", ["I live in a small flat", "we moved to the suburbs", "living in sin lol",
                                  "I live here with my partner", "we live together now"])
def test_no_place_is_no_value(text):
    assert family_values(text, "residence") == frozenset()


def test_a_flat_in_a_place_is_a_residence_statement():
    assert family_of("our flat in ruzafa has zero closet space", "en") == "residence"


@pytest.mark.parametrize("text,place", [("住宝安", "宝安"), ("我搬到龙华了", "龙华"), ("我住在北京", "beijing")])
def test_a_chinese_home_the_lists_do_not_know_is_read(text, place):
    assert family_values(text, "residence") == {place}


@pytest.mark.parametrize("text", ["平时住公司宿舍", "我住楼下", "搬去那边了"])
def test_a_building_or_a_relative_place_is_no_home(text):
    assert family_values(text, "residence") == frozenset()
