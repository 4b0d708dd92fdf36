"""A relative known by name is the subject of a later statement that opens with the name
(domain/relatives.py), through the public API with the rule extractor and the real model."""

from __future__ import annotations

import pytest

import memstream


def current(ms, user: str) -> list[tuple[str, int, str]]:
    return [(m["key"], m["version"], m["content"]) for m in ms.memories(user_id=user) if m["kind"] != "episode"]


@pytest.fixture(scope="module")
def ms(tmp_path_factory, model_dir):
    api = memstream.open(data_dir=tmp_path_factory.mktemp("relatives"), extractor="rules", model_dir=model_dir)
    yield api
    api.close()


def say(ms, user: str, *texts: str) -> None:
    for year, text in enumerate(texts, start=2024):
        ms.add([{"role": "user", "content": text, "chat_time": f"{year}-08-20T08:00:00+00:00"}], user_id=user)


@pytest.mark.parametrize("user,texts,now,gone", [
    ("leo", ("My son Leo starts kindergarten this fall.", "Leo is in first grade now."), "first grade", "kindergarten"),
    ("anna", ("My wife Anna works as a dentist.", "Anna is a teacher now."), "teacher", "dentist"),
    ("xm", ("我儿子小明今年上幼儿园。", "小明现在上一年级了。"), "一年级", "幼儿园"),
])
def test_a_change_stated_by_name_revises_the_relative(ms, user, texts, now, gone):
    say(ms, user, *texts)
    facts = current(ms, user)
    assert len(facts) == 1, facts
    key, version, content = facts[0]
    assert key.startswith("family.") and version == 2 and now in content and gone not in content, facts


def test_a_name_without_a_change_adds_to_what_is_known_and_revises_nothing(ms):
    say(ms, "dino", "My son Leo starts kindergarten this fall.", "Leo loves dinosaurs.")
    facts = dict((c, v) for _, v, c in current(ms, "dino"))
    assert facts == {"The user's son Leo starts kindergarten in autumn 2024.": 1,
                     "The user's son Leo loves dinosaurs.": 1}, facts


def test_a_name_the_user_never_gave_a_relative_revises_nothing(ms):
    say(ms, "other", "My son Leo starts kindergarten this fall.", "Max is in first grade now.")
    facts = current(ms, "other")
    assert len(facts) == 1 and facts[0][1] == 1 and "kindergarten" in facts[0][2], facts


@pytest.mark.parametrize("user,texts,now", [
    ("rex", ("We got a collie puppy, her name is Nala!", "Nala passed away last winter."), "passed away"),
    ("pair", ("I have two rabbits, Pip and Moss, they live on the balcony.", "Moss ran away in June."), "ran away"),
    ("mimi", ("我养了一只橘猫，叫咪咪。", "咪咪送给我表妹养了。"), "表妹"),
])
def test_a_pet_known_by_name_is_revised_by_what_happens_to_it(ms, user, texts, now):
    say(ms, user, *texts)
    facts = current(ms, user)
    assert len(facts) == 1, facts
    key, version, content = facts[0]
    assert key.startswith("pet.") and version == 2 and now in content, facts


def test_a_name_glued_to_the_user_is_the_relatives_event(ms):
    say(ms, "lily", "my daughter Lily is 6 and loves horses", "Lily turned 7 last week!")
    facts = current(ms, "lily")
    assert not any(c.startswith("The user Lily") for _, _, c in facts), facts
    assert any("The user's daughter Lily turned 7" in c for _, _, c in facts), facts


def test_a_child_named_when_counted_is_known_by_that_name(ms):
    say(ms, "mia", "I have a daughter named Mia.", "Mia is in college now.")
    contents = [c for _, _, c in current(ms, "mia")]
    assert "The user has a daughter named Mia." in contents, contents
    assert "The user's daughter Mia is in college now." in contents, contents


def test_a_named_speakers_own_statement_is_not_taken_for_the_relative_of_that_name(ms):
    """One conversation, two named speakers (LoCoMo's shape): Melanie's friend Caroline speaks too."""
    ms.add([{"role": "user", "name": "Melanie", "content": "My friend Caroline lives in Boston.",
             "chat_time": "2024-05-01T10:00:00+00:00"},
            {"role": "user", "name": "Caroline", "content": "I just started painting watercolors now.",
             "chat_time": "2024-05-01T10:01:00+00:00"}], user_id="duo")
    contents = [c for _, _, c in current(ms, "duo")]
    assert any(c.startswith("Caroline") and "painting" in c for c in contents), contents
    assert not any("friend Caroline" in c and "painting" in c for c in contents), contents


@pytest.mark.parametrize("user,texts,now,gone", [
    ("jake", ("my brother jake works nights at the costco in tacoma", "jake's shifts at boeing start at 5:30am"),
     "boeing", "costco"),
    ("sis", ("My sister works at Deloitte in Chicago.", "My sister works at Google, she loves the campus."),
     "Google", "Deloitte"),
])
def test_a_relatives_other_employer_revises_the_relatives_job_without_a_marker(ms, user, texts, now, gone):
    say(ms, user, *texts)
    facts = current(ms, user)
    assert any(now in c for _, _, c in facts), facts
    assert not any(gone in c for _, _, c in facts), facts
