"""Friends, colleagues, neighbours and other acquaintances (issue 16): what they do, have or
eat is theirs. A statement about one of them never fills the user's own residence, work,
diet, pet or possession slots; where it is kept at all it is a fact about that person."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from domain.extraction import WindowMessage
from extraction.rules import RuleCandidateFinder

T = datetime(2025, 3, 12, 9, 0, tzinfo=timezone.utc)
USER_SLOTS = ("residence", "work", "diet", "food", "pet", "possession", "hobby", "name", "age")


def candidates(text: str) -> list:
    return list(RuleCandidateFinder().find([WindowMessage(message_id="m1", event_id="e1", role="user", text=text,
                                                          chat_time=T, is_new=True)]).candidates)


@pytest.mark.parametrize("text, who", [
    ("My coworker keeps two parrots at home.", "coworker"),
    ("My next-door neighbor just adopted a beagle.", "neighbor"),
    ("My flatmate is allergic to shellfish.", "flatmate"),
    ("My best friend relocated to Lisbon in January.", "friend"),
    ("My manager drives an old Volvo.", "manager"),
    ("My teammate Oskar works at Spotify now.", "teammate"),
    ("我舍友养了两只仓鼠。", "舍友"),
    ("我房东住在青岛。", "房东"),
    ("我队友在京东上班。", "队友"),
    ("我好友不吃香菜。", "好友"),
    ("我们老板上周买了一辆保时捷。", "老板"),
    ("我邻居最近搬去厦门了。", "邻居"),
])
def test_an_acquaintance_never_fills_the_users_slots(text: str, who: str) -> None:
    found = candidates(text)
    assert not [c.slot for c in found if c.slot.split(".")[0] in USER_SLOTS], [(c.slot, c.content) for c in found]
    for c in found:  # whatever is kept names the acquaintance as its subject
        assert c.slot.startswith(f"family.{who}."), (c.slot, c.content)
        assert (f"用户的{who}" in c.content) if "\u4e00" <= who[0] <= "\u9fff" else (who in c.content.lower())


@pytest.mark.parametrize("text, slot", [
    ("I have a beagle named Rufus.", "pet."),
    ("我养了两只仓鼠。", "pet."),
    ("我住在青岛。", "residence"),
    ("I'm a manager and I live in Porto.", "residence"),
])
def test_the_users_own_statement_still_fills_the_users_slot(text: str, slot: str) -> None:
    assert any(c.slot.startswith(slot) for c in candidates(text)), [(c.slot, c.content) for c in candidates(text)]
