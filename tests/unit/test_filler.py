"""What a leftover fragment of a user message may be and still say nothing about the user
(extraction/rules/filler.is_filler)."""

from __future__ import annotations

import pytest

from extraction.rules.filler import is_filler


@pytest.mark.parametrize("fragment", [
    "给我推荐一家餐厅", "你给我讲讲", "能给我一个建议", "请给我发一份", "今天天气太热了", "好热啊，天气真糟糕",
    "谢谢", "哈哈好的", "what's the weather like", "thanks!",
])
def test_requests_weather_and_thanks_are_filler(fragment: str) -> None:
    assert is_filler(fragment)


@pytest.mark.parametrize("fragment", [
    "雪球送给我表姐养了", "把钱转给我妈了", "现在在成都落脚了，天气太热", "我在杭州，天气很好",
])
def test_giving_to_a_relative_and_a_clause_beside_the_weather_are_not(fragment: str) -> None:
    assert not is_filler(fragment)
