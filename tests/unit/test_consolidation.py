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
