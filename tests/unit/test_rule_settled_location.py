"""Where the user is now versus where they live (issue 16): "I'm in X now" is a whereabouts,
unless the same sentence says they set up home there (an apartment, a lease, a new city,
租了房, 安家), which makes it the user's residence and lets it revise the old one."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from domain.extraction import WindowMessage
from extraction.rules import RuleCandidateFinder

T = datetime(2025, 3, 12, 9, 0, tzinfo=timezone.utc)


def slots(text: str) -> dict[str, str]:
    found = RuleCandidateFinder().find([WindowMessage(message_id="m1", event_id="e1", role="user", text=text,
                                                      chat_time=T, is_new=True)]).candidates
    return {c.slot: c.content for c in found}


@pytest.mark.parametrize("text, place", [
    ("I'm in Leeds now, signed a lease on a flat last week.", "Leeds"),
    ("I'm now in Valencia, we bought a house near the beach.", "Valencia"),
    ("我现在在厦门了，已经在这边安家。", "厦门"),
    ("我现在在西安，租了一间房。", "西安"),
])
def test_settling_where_one_is_now_is_a_residence(text: str, place: str) -> None:
    found = slots(text)
    assert place in found.get("residence", ""), found
    assert "location.current" not in found


@pytest.mark.parametrize("text, place", [
    ("I'm in Leeds right now.", "Leeds"),
    ("I'm visiting Valencia now, the hotel has a pool.", "Valencia"),
    ("我现在在厦门。", "厦门"),
])
def test_being_somewhere_without_settling_is_a_whereabouts(text: str, place: str) -> None:
    found = slots(text)
    assert place in found.get("location.current", ""), found
    assert "residence" not in found


@pytest.mark.parametrize("text, place", [
    ("我在无锡买了套公寓，上周搬进去了。", "无锡"),
    ("我在佛山买了房子，已经入住了。", "佛山"),
])
def test_a_home_bought_and_moved_into_is_one_residence(text: str, place: str) -> None:
    found = slots(text)
    assert place in found.get("residence", ""), found
    assert not any(slot.startswith("possession.") for slot in found), found


def test_a_home_bought_elsewhere_stays_a_possession() -> None:
    found = slots("我在大理买了套房子，打算退休后再去。")
    assert "possession.house" in found and "residence" not in found, found


@pytest.mark.parametrize("text, place, length", [
    ("I've lived in Lyon for 2.5 years now.", "Lyon", "2.5 years"),
    ("I have lived in Porto for almost six months.", "Porto", "almost six months"),
])
def test_how_long_the_user_has_lived_somewhere_is_kept(text: str, place: str, length: str) -> None:
    residence = slots(text).get("residence", "")
    assert place in residence and length in residence, residence
