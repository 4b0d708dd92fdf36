"""Named speakers and partly represented messages (issue 16, the LoCoMo regression).

Why: several speakers can share one user id (LoCoMo's pairs of friends). Their standalone
facts must carry the speaker's name, not "the user", and keep apart; and a message part of
which became no memory must keep its episode (it is not covered).
"""

from __future__ import annotations

from datetime import datetime, timezone

from domain.extraction import ExistingMemory, ExtractionRequest, WindowMessage
from extraction.rule_extractor import RuleBasedExtractor
from extraction.rules import RuleCandidateFinder

T = datetime(2023, 5, 8, 13, 0, tzinfo=timezone.utc)


def said(text: str, name: str | None = None, message_id: str = "m1") -> WindowMessage:
    return WindowMessage(message_id=message_id, event_id="e1", role="user", text=text, chat_time=T,
                         name=name, is_new=True)


def test_a_named_speakers_fact_has_the_name_as_subject() -> None:
    found = RuleCandidateFinder().find([said("I went to a pottery class yesterday and loved it.", "Melanie")])
    contents = [c.content for c in found.candidates]
    assert contents and all("Melanie" in c and "the user" not in c.lower() for c in contents), contents
    assert all(c.slot.endswith(".melanie") for c in found.candidates)


def test_without_a_name_the_fact_is_about_the_user() -> None:
    found = RuleCandidateFinder().find([said("I went to a pottery class yesterday and loved it.")])
    assert [c for c in found.candidates if c.content.startswith("The user")], found.candidates


def test_two_speakers_same_day_keep_two_facts() -> None:
    extractor = RuleBasedExtractor()
    out = extractor.extract(ExtractionRequest(user_id="u", messages=(
        said("I went to a support group yesterday.", "Caroline", "m1"),
        said("I went to the beach with my kids yesterday.", "Melanie", "m2")), existing=()))
    creates = [d for d in out.decisions if d.action == "create"]
    assert len(creates) == 2, out.decisions
    assert {("Caroline" in d.content, "Melanie" in d.content) for d in creates} == {(True, False), (False, True)}


def test_a_statement_that_revises_nothing_leaves_its_message_uncovered() -> None:
    """The first sentence makes a memory; the second (no first person) may only revise and finds
    nothing: the message is only partly represented, so its episode must stay."""
    message = said("I live in Denver. The ski trip is going to Banff instead.", message_id="m1")
    extractor = RuleBasedExtractor()
    found = extractor.finder.find([message])
    assert "m1" in found.covered_message_ids  # the finder alone reads both sentences as claimed
    out = extractor.extract(ExtractionRequest(user_id="u", messages=(message,), existing=()))
    assert any("Denver" in d.content for d in out.decisions)
    assert "m1" not in out.covered_message_ids


def test_the_same_statement_is_covered_when_it_revises() -> None:
    existing = ExistingMemory(memory_id="t1", kind="fact", key="travel.ski", content="The user's ski trip is going to Whistler.",
                              version=1, slots={"travel.ski": "ski trip is going to Whistler"},
                              attributes={"topic": ["ski", "trip", "whistler"]})
    message = said("Change of plans, the ski trip is going to Banff now.")
    out = RuleBasedExtractor().extract(ExtractionRequest(user_id="u", messages=(message,), existing=(existing,)))
    revised = [d for d in out.decisions if d.action == "revise"]
    assert revised and "Banff" in revised[0].content, out.decisions
    assert "m1" in out.covered_message_ids


def test_the_question_an_offer_answered_is_covered_by_the_choice() -> None:
    """"Where should we eat?" / options / "Ramen, please.": the choice cites the question, so the
    question's episode is superseded by it instead of outranking it."""
    msgs = [said("Where should we eat tonight?", message_id="q"),
            WindowMessage(message_id="o", event_id="e1", role="assistant", chat_time=T, is_new=True,
                          text="Options: Nando's, Olive Garden, or a local ramen shop."),
            said("Ramen, please.", message_id="p")]
    found = RuleCandidateFinder().find(msgs)
    choices = [c for c in found.candidates if c.slot.startswith("choice.")]
    assert choices and "q" in choices[0].source_message_ids, found.candidates
    assert "q" in found.covered_message_ids


def test_a_question_that_says_something_is_not_taken_as_the_request() -> None:
    msgs = [said("I live in Denver, where should we eat tonight?", message_id="q"),
            WindowMessage(message_id="o", event_id="e1", role="assistant", chat_time=T, is_new=True,
                          text="Options: Nando's, Olive Garden, or a local ramen shop."),
            said("Ramen, please.", message_id="p")]
    found = RuleCandidateFinder().find(msgs)
    choices = [c for c in found.candidates if c.slot.startswith("choice.")]
    assert choices and "q" not in choices[0].source_message_ids, found.candidates


def test_a_long_message_whose_memories_keep_little_of_it_is_not_covered() -> None:
    from domain.extraction import Decision
    from extraction.rule_extractor import partly_represented

    long = said("Last week I visited my grandmother in Sweden, we baked cinnamon buns, walked along the "
                "frozen lake, talked about her childhood farm and watched old family films together.")
    thin = [Decision("create", kind="fact", key="k", content="The user visited Sweden.", source_message_ids=("m1",))]
    full = [Decision("create", kind="fact", key="k", content=long.text.replace("I ", "the user "),
                     source_message_ids=("m1",))]
    assert partly_represented([long], thin, {}, frozenset({"m1"})) == {"m1"}
    assert partly_represented([long], full, {}, frozenset({"m1"})) == frozenset()
    short = said("I live in Denver now.")
    assert partly_represented([short], thin, {}, frozenset({"m1"})) == frozenset()
