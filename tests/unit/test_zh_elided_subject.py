"""A Chinese chat statement that leaves out its 我 is the user's; one that opens on a noun is
about that noun. And a rule's slot says its family when the sentence's words suggest another."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from extraction.rules.base import Sentence
from extraction.rules.fallback import elided_subject_zh, fallback
from extraction.rules.topics import family_of_slot

WHEN = datetime(2024, 5, 8, tzinfo=timezone.utc)


@pytest.mark.parametrize("text", ["戴小米手环8跑步，心率老飘到190多", "在减脂，每天早上一杯黑咖啡", "刚搬来深圳，住南山科技园附近",
                                  "每天骑电动车上班", "在美团做产品经理"])
def test_a_statement_without_its_subject_is_the_users(text):
    assert elided_subject_zh(text)
    found = fallback(Sentence(text, 0, "zh", WHEN, []))
    assert found is not None and not found.attributes["revise_only"]
    assert found.content.startswith("用户")


@pytest.mark.parametrize("text", ["大黄现在14斤了，医生说超重", "公司楼下新开了一家面包店", "他们家的火锅很好吃",
                                  "吃的东西都挺贵"])
def test_a_statement_opening_on_a_noun_is_not_the_users(text):
    assert not elided_subject_zh(text)
    found = fallback(Sentence(text, 0, "zh", WHEN, []))
    assert found is None or found.attributes["revise_only"]


@pytest.mark.parametrize("slot,family", [("work.employer", "work"), ("residence", "residence"), ("pet.dog", "pet"),
                                         ("travel.2024-07", "plan"), ("food.like", None), ("note.x", None)])
def test_a_slot_names_its_family(slot, family):
    assert family_of_slot(slot) == family
