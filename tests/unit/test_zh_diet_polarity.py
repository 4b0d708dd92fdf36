"""The vegetarian polarity in Chinese: giving it up however it is phrased (``zh_life.diet_rules``)."""

import pytest

from extraction.rules.base import Sentence
from extraction.rules.zh_life import diet_rules


@pytest.mark.parametrize("text", ["我现在不再坚持吃素了", "不再吃素了", "开始吃点鸡肉和鱼", "又吃肉了", "我重新吃荤了"])
def test_giving_up_vegetarian(text):
    found = [f for f in diet_rules(Sentence(text, 0, "zh", None, [])) if f.slot == "diet.vegetarian"]
    assert found and found[0].clause == "不再吃素", text


def test_still_vegetarian():
    found = [f for f in diet_rules(Sentence("我吃素三年了", 0, "zh", None, [])) if f.slot == "diet.vegetarian"]
    assert found and found[0].clause == "吃素"


@pytest.mark.parametrize("text, clause", [("我吃素三年了，蛋奶也不碰", "不碰蛋奶"), ("咖啡我已经戒了", "不再喝咖啡")])
def test_never_touching_is_not_giving_up(text, clause):
    from extraction.rules.changes import no_more_rules

    assert clause in [f.clause for f in no_more_rules(Sentence(text, 0, "zh", None, []))], text
