"""Two memories giving one single-valued family different values (``domain.value_conflicts``,
settled by the Offline stage's planner): the later home or employer is current."""

from datetime import date

from domain.governance import TimePriority
from domain.reconciliation import MemoryState, Reconciler
from domain.value_conflicts import Held, superseded, value_family
from extraction.rules.topics import family_values


def mem(mid, content, *, key, slots=None, when, subject=None):
    attributes = {"lang": "en", **({"subject": subject} if subject else {})}
    return MemoryState(memory_id=mid, kind="fact", key=key, content=content, version=1, slots=slots or {},
                       attributes=attributes,
                       sources=({"event_id": f"e-{mid}", "message_id": f"e-{mid}#0", "chat_time": when, "role": "user"},))


def plan(memories):
    reconciler = Reconciler(TimePriority(), today=date(2025, 6, 1), values=family_values)
    return {c.memory_id: c for c in reconciler.plan(memories)}


def test_an_earlier_home_of_another_memory_is_archived_for_the_later_one():
    changes = plan([mem("a", "The user lives in Austin.", key="residence.austin", when="2024-01-01"),
                    mem("b", "The user moved to Denver in May.", key="residence.denver", when="2024-06-01")])
    assert (changes["a"].action, changes["a"].rule, changes["a"].superseded_by) == ("archive", "offline.value_family", ["b"])
    assert "b" not in changes


def test_a_profile_loses_only_its_stale_home():
    profile = mem("p", "The user is called Ann and lives in Austin.", key="profile",
                  slots={"name": "is called Ann", "residence": "lives in Austin"}, when="2024-01-01")
    changes = plan([profile, mem("b", "The user moved to Denver.", key="residence.denver", when="2024-06-01")])
    assert changes["p"].action == "revise" and changes["p"].slots == {"name": "is called Ann"}
    assert changes["p"].content == "The user is called Ann."


def test_the_same_home_twice_or_another_persons_home_is_no_conflict():
    same = plan([mem("a", "The user lives in Austin.", key="residence.a", when="2024-01-01"),
                 mem("b", "The user still lives in Austin, near the lake.", key="residence.b", when="2024-06-01")])
    assert not any("offline.value_family" in c.rule for c in same.values()), same
    changes = plan([mem("a", "The user lives in Austin.", key="residence.a", when="2024-01-01"),
                    mem("s", "The user's sister lives in Denver.", key="family.sister.residence", when="2024-06-01",
                        subject="sister")])
    assert changes == {}


def test_a_role_beside_an_employer_is_no_conflict():
    assert value_family("work.role") is None and value_family("work.employer") == "work"
    assert value_family("family.sister.residence") == "residence" and value_family("pet.dog") is None
    a = Held(0, "work.employer", "work", "user", frozenset({"google"}), "2024-01-01")
    b = Held(1, "work.employer", "work", "user", frozenset({"stripe"}), "2024-06-01")
    same = Held(2, "work.x", "work", "user", frozenset({"stripe"}), "2024-07-01")
    assert superseded([a, b]) == [(a, b)]
    assert superseded([a, b, same]) == [(a, same)]
