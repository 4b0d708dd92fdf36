"""Which car a Chinese statement says the user has (``zh_life.possession_rules``)."""

import pytest

from extraction.rules.base import Sentence
from extraction.rules.zh_life import possession_rules


def cars(text):
    return [f.clause for f in possession_rules(Sentence(text, 0, "zh", None, [])) if f.slot == "possession.car"]


@pytest.mark.parametrize("text, clause", [
    ("卡罗拉卖了，换了台比亚迪汉，电车开着是真省钱", "换了台比亚迪汉"),
    ("我开的是一辆白色的卡罗拉", "开的是一辆白色的卡罗拉"),
])
def test_the_car_not_how_it_drives(text, clause):
    assert cars(text) == [clause]


def test_how_it_drives_alone_is_no_car():
    assert cars("这车开着挺舒服的") == []
