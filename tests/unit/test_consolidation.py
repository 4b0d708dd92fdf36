"""Consolidation and governance: which candidate becomes which decision."""

from datetime import datetime

import pytest

from domain.consolidation import Consolidator, render
from domain.extraction import Candidate, ExistingMemory, WindowMessage
from domain.governance import (ConfidencePriority, Incoming, RuleChain, SourcePriority, TimePriority,
                               policy_from_name)


def msg(mid, when="2026-01-01T00:00:00+00:00", role="user"):
    return WindowMessage(message_id=mid, event_id="e", role=role, text="t",
                         chat_time=datetime.fromisoformat(when))


def cand(slot, clause, mid="m1", group="profile", kind="fact", content=None, confidence=0.9):
    return Candidate(kind, slot, clause, content or "用户" + clause, "zh", (mid,), confidence=confidence,
                     group=group)


PROFILE = ExistingMemory(memory_id="p1", kind="fact", key="profile", content="用户叫小忆，在上海居住", version=1,
                         slots={"name": "叫小忆", "residence": "在上海居住"},
                         latest_chat_time="2025-03-15T01:30:00+00:00", source_roles=("user",),
                         attributes={"lang": "zh"})


def test_profile_slots_of_one_message_make_one_memory():
    decisions = Consolidator(TimePriority()).decide(
        [cand("name", "叫小忆"), cand("residence", "在上海居住"), cand("diet.spicy", "不能吃辣")], [], [msg("m1")])
    assert len(decisions) == 1
    d = decisions[0]
    assert (d.action, d.kind, d.key) == ("create", "fact", "profile")
    assert d.content == "用户叫小忆，在上海居住，不能吃辣"


def test_changed_slot_revises_the_existing_memory_and_keeps_the_others():
    [d] = Consolidator(TimePriority()).decide([cand("residence", "在成都居住")], [PROFILE], [msg("m1")])
    assert (d.action, d.memory_id, d.reason) == ("revise", "p1", "conflict")
    assert d.content == "用户叫小忆，在成都居住"


def test_new_slot_is_a_refinement():
    [d] = Consolidator(TimePriority()).decide([cand("food.like", "喜欢火锅")], [PROFILE], [msg("m1")])
    assert d.reason == "refinement" and d.content.endswith("喜欢火锅")


def test_repeating_a_known_fact_is_a_no_op():
    assert Consolidator(TimePriority()).decide([cand("residence", "在上海居住")], [PROFILE], [msg("m1")]) == []


def test_older_statement_loses_under_time_priority():
    old = msg("m1", when="2024-01-01T00:00:00+00:00")
    assert Consolidator(TimePriority()).decide([cand("residence", "在成都居住")], [PROFILE], [old]) == []


def test_standalone_memory_is_revised_by_slot():
    plan = ExistingMemory(memory_id="t1", kind="fact", key="travel.2025-summer", content="用户计划去广州",
                          version=1, slots={"travel.2025-summer": "计划去广州"})
    [d] = Consolidator(TimePriority()).decide(
        [cand("travel.2025-summer", "计划去深圳", group=None, content="用户计划去深圳")], [plan], [msg("m1")])
    assert (d.action, d.memory_id, d.content) == ("revise", "t1", "用户计划去深圳")


@pytest.mark.parametrize("policy,incoming,expected", [
    (TimePriority(), Incoming("2026-01-01", "user", 0.9), True),
    (TimePriority(), Incoming("2020-01-01", "user", 0.9), False),
    (SourcePriority(), Incoming("2026-01-01", "assistant", 0.9), False),
    (SourcePriority(), Incoming("2026-01-01", "user", 0.9), True),
    (ConfidencePriority(), Incoming("2026-01-01", "user", 0.5), False),
    (ConfidencePriority(), Incoming("2020-01-01", "user", 1.0), True),
])
def test_policies(policy, incoming, expected):
    existing = ExistingMemory(memory_id="x", kind="fact", key="k", content="c", version=1, confidence=0.9,
                              latest_chat_time="2025-01-01", source_roles=("user",))
    assert policy.new_wins(existing, incoming) is expected


def test_custom_rule_is_consulted_first_and_named():
    chain = RuleChain()
    chain.register("never-override-name", lambda e, i: False if "name" in e.slots else None)
    assert Consolidator(chain).decide([cand("name", "叫小明")], [PROFILE], [msg("m1")]) == []
    assert chain.name == "rule:never-override-name"


def test_unknown_policy_name_is_a_clear_error():
    with pytest.raises(ValueError, match="choose one of"):
        policy_from_name("loudest")


def test_render_english():
    assert render({"a": "lives in Berlin", "b": "likes tea"}, "en") == "The user lives in Berlin and likes tea."


def test_tool_traces_accumulate_into_one_tool_memory():
    from domain.tool_usage import tool_candidates

    def trace(mid, status, latency, when):
        return WindowMessage(message_id=mid, event_id="e", role="tool", text="", tool_name="flight_search",
                             status=status, latency_ms=latency, tool_output="upstream timeout",
                             chat_time=datetime.fromisoformat(when))

    ask = WindowMessage(message_id="u1", event_id="e", role="user", text="find flights to Oslo")
    first, covered = tool_candidates([ask, trace("t1", "success", 800, "2025-01-01T00:00:00+00:00")])
    assert covered == {"t1"}
    [created] = Consolidator(TimePriority()).decide(first, [], [])
    assert (created.action, created.kind, created.key) == ("create", "tool", "tool.flight_search")
    held = ExistingMemory(memory_id="tool1", kind="tool", key=created.key, content=created.content, version=1,
                          slots=created.slots, attributes=created.attributes)
    second, _ = tool_candidates([trace("t2", "timeout", 1200, "2025-01-02T00:00:00+00:00")])
    [revised] = Consolidator(TimePriority()).decide(second, [held], [])
    usage = revised.attributes["usage"]
    assert (revised.action, revised.memory_id, revised.reason) == ("revise", "tool1", "refinement")
    assert (usage["calls"], usage["successes"], usage["latency_ms_total"]) == (2, 1, 2000.0)
    assert "50% successful" in revised.content and "mean latency 1000 ms" in revised.content
    assert "timeout" in revised.content and "find flights to Oslo" in revised.content


def _words(text):
    from extraction.rules.topics import content_words
    return content_words(text)


def test_switch_replaces_the_old_drink_and_keeps_the_rest():
    c = Consolidator(TimePriority(), words=_words)
    first = c.decide([cand("food.like", "喜欢喝美式咖啡", "m1"), cand("name", "叫李伟", "m1")], [], [msg("m1")])[0]
    existing = ExistingMemory(memory_id="p1", kind="fact", key="profile", content=first.content, version=1,
                              slots=first.slots)
    switched = Candidate(kind="preference", slot="drink.绿茶", clause="改喝绿茶", content="用户改喝绿茶", lang="zh",
                         source_message_ids=("m2",), group="profile", attributes={"switch": "drink", "change": True})
    [d] = c.decide([switched], [existing], [msg("m2", "2026-02-01T00:00:00+00:00")])
    assert d.action == "revise" and d.content == "用户叫李伟，改喝绿茶"


def test_new_employer_with_a_move_supersedes_the_old_work_place():
    c = Consolidator(TimePriority(), words=_words)
    work = ExistingMemory(memory_id="w1", kind="fact", key="work", content="用户在北京工作", version=1,
                          slots={"work.location": "在北京工作"})
    moved = Candidate(kind="fact", slot="residence", clause="在深圳居住", content="用户在深圳居住", lang="zh",
                      source_message_ids=("m2",), group="profile", attributes={"moved": True, "change": True})
    employer = Candidate(kind="fact", slot="work.employer", clause="在腾讯上班", content="用户在腾讯上班", lang="zh",
                         source_message_ids=("m2",), group="work", attributes={"change": True})
    decisions = c.decide([moved, employer], [work], [msg("m2", "2026-02-01T00:00:00+00:00")])
    revised = [d for d in decisions if d.memory_id == "w1"]
    assert [d.action for d in revised] == ["revise"] and revised[0].content == "用户在腾讯上班"


def test_a_move_alone_archives_a_work_place_memory_it_made_stale():
    c = Consolidator(TimePriority(), words=_words)
    work = ExistingMemory(memory_id="w1", kind="fact", key="work", content="The user works in Boston.", version=1,
                          slots={"work.location": "works in Boston"}, attributes={"lang": "en"})
    moved = Candidate(kind="fact", slot="residence", clause="lives in Denver", content="The user lives in Denver.",
                      lang="en", source_message_ids=("m2",), group="profile", attributes={"moved": True})
    decisions = c.decide([moved], [work], [msg("m2", "2026-02-01T00:00:00+00:00")])
    assert [(d.action, d.memory_id) for d in decisions if d.memory_id] == [("archive", "w1")]


def _noise(n):
    """Memories of other families that no candidate below shares a slot, a family or a word with."""
    return [ExistingMemory(memory_id=f"n{i}", kind="fact", key=f"note.n{i}", content=f"The user saw town{i}.",
                           version=1, slots={f"note.n{i}": f"saw town{i}"}, attributes={"lang": "en"})
            for i in range(n)]


def _en(mid, kind, key, clause, **attributes):
    return ExistingMemory(memory_id=mid, kind=kind, key=key, content=f"The user {clause}.", version=1,
                          slots={key: clause}, attributes={"lang": "en", **attributes})


def test_a_change_revises_the_memory_of_its_family_sharing_most_words_whatever_the_history():
    pottery = _en("h1", "fact", "hobby.pottery", "took up pottery")
    chess = _en("h2", "fact", "hobby.chess", "plays chess")
    quit_ = Candidate(kind="fact", slot="hobby.pottery-quit", clause="quit pottery", content="The user quit pottery.",
                      lang="en", source_message_ids=("m2",), group=None,
                      attributes={"change": True, "family_slots": ["hobby."]})
    when = [msg("m2", "2026-02-01T00:00:00+00:00")]
    c = Consolidator(TimePriority(), words=_words)
    for history in ([chess, pottery], [*_noise(300), chess, *_noise(50), pottery]):
        [d] = c.decide([quit_], history, when)
        assert (d.action, d.memory_id, d.content) == ("revise", "h1", "The user quit pottery.")
    # same family, no shared word: still the family's memory (found by slot family, not by word)
    swim = Candidate(kind="fact", slot="hobby.swim", clause="now swims", content="The user now swims.", lang="en",
                     source_message_ids=("m2",), group=None, attributes={"change": True, "family_slots": ["hobby."]})
    [d] = c.decide([swim], [*_noise(200), chess], when)
    assert (d.action, d.memory_id) == ("revise", "h2")


def test_a_slot_stated_twice_in_one_batch_is_one_memory_among_a_long_history():
    first = cand("travel.2026-spring", "计划去广州", "m1", group=None, content="用户计划去广州")
    again = cand("travel.2026-spring", "计划去成都", "m1", group=None, content="用户计划去成都")
    decisions = Consolidator(TimePriority(), words=_words).decide([first, again], _noise(300), [msg("m1")])
    assert [(d.action, d.key, d.content) for d in decisions] == [("create", "travel.2026-spring", "用户计划去成都")]


def test_the_paraphrase_pool_is_the_memories_of_the_candidates_kind_and_family_in_order():
    pools = []

    def similar(text, pool):
        pools.append(list(pool))
        return 0

    quiet = _en("p1", "preference", "preference.hotel-quiet", "prefers quiet hotels")
    other_kind = _en("p2", "fact", "preference.hotel-old", "stayed at old hotels")
    other_family = _en("p3", "preference", "travel.hotel", "books hotels early")
    rooftop = _en("p4", "preference", "preference.rooftop", "likes rooftop bars")
    hotel = Candidate(kind="preference", slot="preference.hotel-calm", clause="prefers calm hotels",
                      content="The user prefers calm hotels.", lang="en", source_message_ids=("m1",), group=None)
    history = [*_noise(100), quiet, other_kind, other_family, *_noise(100)[::-1], rooftop]
    [d] = Consolidator(TimePriority(), similar=similar, words=_words).decide([hotel], history, [msg("m1")])
    assert pools == [["The user prefers quiet hotels.", "The user likes rooftop bars."]]
    assert (d.action, d.memory_id, d.content) == ("revise", "p1", "The user prefers calm hotels.")


def test_a_slot_a_memory_took_earlier_in_the_batch_finds_that_memory():
    rome = _en("t1", "fact", "travel.trip-a", "plans a trip to Oslo")
    oslo = Candidate(kind="fact", slot="travel.trip-b", clause="now plans a trip to Oslo",
                     content="The user now plans a trip to Oslo.", lang="en", source_message_ids=("m2",), group=None,
                     attributes={"change": True})
    may = Candidate(kind="fact", slot="travel.trip-b", clause="plans a trip to Oslo in May",
                    content="The user plans a trip to Oslo in May.", lang="en", source_message_ids=("m2",), group=None)
    decisions = Consolidator(TimePriority(), words=_words).decide(
        [oslo, may], [*_noise(100), rome], [msg("m2", "2026-02-01T00:00:00+00:00")])
    assert [(d.action, d.memory_id, d.content) for d in decisions] == [
        ("revise", "t1", "The user plans a trip to Oslo in May.")]
