"""The Offline stage's planner on planted cases: what it must fix, and what it must leave."""

from datetime import date

import pytest

from domain.governance import RuleChain, SourcePriority, TimePriority
from domain.reconciliation import MemoryState, Reconciler, period_end, same_statement


def mem(mid, content, *, kind="fact", key="", slots=None, when="2025-01-01T00:00:00", role="user", event=None,
        attributes=None, confidence=0.9, version=1):
    return MemoryState(memory_id=mid, kind=kind, key=key or f"k.{mid}", content=content, version=version,
                       slots=slots or {}, attributes=attributes or {}, confidence=confidence,
                       sources=({"event_id": event or f"e-{mid}", "message_id": f"{event or 'e-' + mid}#0",
                                 "chat_time": when, "role": role},))


def plan(memories, policy=None, today=date(2025, 6, 1)):
    return {c.memory_id: c for c in Reconciler(policy or TimePriority(), today=today).plan(memories)}


def test_paraphrases_across_conversations_merge_into_the_oldest():
    changes = plan([mem("a", "The user likes tennis.", kind="preference", when="2025-01-01"),
                    mem("b", "User really loves tennis", kind="preference", when="2025-03-01")])
    assert (changes["b"].action, changes["b"].survivor, changes["b"].rule) == ("merge", "a", "offline.duplicate")
    assert changes["a"].action == "revise"
    assert [s["event_id"] for s in changes["a"].new_sources] == ["e-b"]


def test_chinese_duplicates_merge():
    changes = plan([mem("a", "用户喜欢打乒乓球"), mem("b", "用户非常喜欢打乒乓球。")])
    assert changes["b"].action == "merge"


@pytest.mark.parametrize("a,b", [
    ("The user likes tennis.", "The user likes table tennis."),
    ("The user's sister Anna is a doctor.", "The user's sister Beth is a teacher."),
    ("The user is planning a trip to Paris in summer 2025.", "The user is planning a trip to Paris in summer 2026."),
    ("The user likes coffee.", "The user does not like coffee."),
    ("用户喜欢打网球", "用户喜欢打乒乓球"),
    ("用户有两个孩子", "用户有三个孩子"),
    ("用户2024年去过成都", "用户2025年去过成都"),
])
def test_similar_but_distinct_statements_do_not_merge(a, b):
    assert not same_statement(a, b)
    assert plan([mem("a", a), mem("b", b)]) == {}


def test_slot_conflict_is_settled_by_the_policy_and_named():
    older = mem("a", "The user lives in Berlin.", key="residence", slots={"residence": "lives in Berlin"},
                when="2025-01-01")
    newer = mem("b", "The user lives in Munich.", key="residence", slots={"residence": "lives in Munich"},
                when="2025-05-01", role="assistant")
    by_time = plan([older, newer])
    assert (by_time["a"].action, by_time["a"].survivor, by_time["a"].rule) == ("archive", "b", "time_priority")
    by_source = plan([older, newer], SourcePriority())
    assert (by_source["b"].action, by_source["b"].survivor) == ("archive", "a")


def test_profile_absorbs_a_newer_single_slot_memory_and_is_rerendered():
    profile = mem("p", "The user lives in Berlin and likes spicy food.", key="profile",
                  slots={"residence": "lives in Berlin", "diet.spicy": "likes spicy food"},
                  attributes={"lang": "en"}, when="2025-01-01")
    moved = mem("r", "The user lives in Munich.", key="residence", slots={"residence": "lives in Munich"},
                when="2025-04-01")
    changes = plan([profile, moved])
    assert changes["r"].action == "merge" and changes["r"].survivor == "p"  # its statement now lives in p
    assert changes["p"].content == "The user lives in Munich and likes spicy food."


def test_stale_profile_text_is_rerendered_from_its_slots():
    profile = mem("p", "The user lives in Berlin.", key="profile",
                  slots={"residence": "lives in Berlin", "work.role": "works as a nurse"}, attributes={"lang": "en"})
    assert plan([profile])["p"].content == "The user lives in Berlin and works as a nurse."


def test_a_past_plan_is_marked_past_once():
    trip = mem("t", "The user is planning a trip to Paris in summer 2024.", key="travel.2024-summer",
               attributes={"period": "2024-summer"})
    change = plan([trip])["t"]
    assert change.attributes["past"] is True and "past" in change.tags
    assert change.content == "The user was planning a trip to Paris in summer 2024."
    future = mem("f", "The user is planning a trip to Rome in winter 2025.", attributes={"period": "2025-winter"})
    assert plan([future]) == {}


def test_covered_episode_is_archived_and_linked():
    episode = mem("ep", "I like tennis and live in Berlin", kind="episode", key="episode.user", event="x")
    fine = mem("f", "The user likes tennis.", kind="preference", event="x")
    changes = plan([episode, fine])
    assert (changes["ep"].action, changes["ep"].superseded_by) == ("archive", ["f"])
    assert plan([episode]) == {}


def test_no_information_classifier_archives_empty_episodes():
    episode = mem("ep", "ok thanks!", kind="episode", key="episode.user")
    changes = Reconciler(TimePriority(), no_information=lambda text: "thanks" in text).plan([episode])
    assert [(c.action, c.reason) for c in changes] == [("archive", "no_information")]


def test_custom_rule_in_a_chain_decides_first():
    chain = RuleChain()
    chain.register("keep-oldest", lambda existing, incoming: False)
    older = mem("a", "x", key="residence", slots={"residence": "lives in Berlin"}, when="2025-01-01")
    newer = mem("b", "y", key="residence", slots={"residence": "lives in Munich"}, when="2025-05-01")
    changes = plan([older, newer], chain)
    assert (changes["b"].survivor, changes["b"].rule) == ("a", "rule:keep-oldest")


@pytest.mark.parametrize("token,end", [("2025-summer", date(2025, 8, 31)), ("2025-06", date(2025, 6, 30)),
                                       ("2025-12", date(2025, 12, 31)), ("2025-05-14", date(2025, 5, 14)),
                                       ("2026", date(2026, 12, 31)), ("2025-W21", date(2025, 5, 25))])
def test_period_end(token, end):
    assert period_end(token) == end
