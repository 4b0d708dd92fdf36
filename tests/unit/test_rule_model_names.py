"""A change of possession whose make or model comes in the next clause (issue 16):
"换了电脑，现在用ThinkPad X1" must keep "ThinkPad X1", not shrink to "换了电脑"."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from domain.extraction import WindowMessage
from extraction.rules import RuleCandidateFinder

T = datetime(2025, 3, 12, 9, 0, tzinfo=timezone.utc)


def candidates(text: str) -> list:
    return list(RuleCandidateFinder().find([WindowMessage(message_id="m1", event_id="e1", role="user", text=text,
                                                          chat_time=T, is_new=True)]).candidates)


@pytest.mark.parametrize("text, slot, model", [
    ("我最近换了电脑，现在用ThinkPad X1。", "possession.laptop", "ThinkPad X1"),
    ("我换了车，新车是比亚迪汉。", "possession.car", "比亚迪汉"),
    ("我刚换了手机，用的是小米14。", "possession.phone", "小米14"),
    ("I swapped my laptop, now I use a Dell XPS 13.", "possession.laptop", "Dell XPS 13"),
    ("I changed phones and I have a Galaxy S24 now.", "possession.phone", "Galaxy S24"),
    ("I got a new phone, it's an iPhone 16.", "possession.phone", "iPhone 16"),
])
def test_the_model_named_after_a_change_is_kept(text: str, slot: str, model: str) -> None:
    found = [c for c in candidates(text) if c.slot == slot]
    assert len(found) == 1, [(c.slot, c.content) for c in candidates(text)]
    assert model in found[0].content


@pytest.mark.parametrize("text, slot", [
    ("我换了手机，用着挺顺手。", "possession.phone"),
    ("I bought a car, and it is red.", "possession.car"),
])
def test_without_a_model_name_the_category_alone_is_kept(text: str, slot: str) -> None:
    found = [c for c in candidates(text) if c.slot == slot]
    assert len(found) == 1 and not any(w in found[0].content for w in ("顺手", "red")), [c.content for c in found]
