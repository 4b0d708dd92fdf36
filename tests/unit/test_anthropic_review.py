"""The Offline stage's Claude review pass against recorded Messages API exchanges (never a live call).

Each ``tests/fixtures/anthropic/review_*.json`` holds what the reviewer must be shown
(``request.shown``), what the outgoing request must (not) contain and the recorded
responses, answered in order by a respx route (the SDK bridge is the extractor
tests' ``replay_client``). The store is a real SQLite one seeded directly: user ana
has a paraphrase the rules merge (jazz), one they miss (hiking / walking in the
mountains) and a memory to refine; user bob has one memory, whose id the model
must not be able to touch from ana's review.
"""

from __future__ import annotations

import json
import logging
from datetime import date

import pytest
import respx

from application.fine_stage import directory_entry
from application.offline_stage import OfflineStage
from application.settings import Settings
from domain.memory import Memory
from domain.reconciliation import MemoryState
from domain.review import ProposedChange, accept
from domain.values import stable_id
from extraction.anthropic_review import TOOL_NAME, AnthropicReviewer
from memstream.bootstrap import build_reviewer, build_runtime
from tests.unit.test_anthropic_extractor import MESSAGES_URL, UUID, load, recorded_responses, replay_client

pytestmark = pytest.mark.filterwarnings("ignore:The model .* is deprecated:DeprecationWarning")
REVIEWER = "review:anthropic:claude-sonnet-5-5"
SEED = {
    "ana": [("a", "The user likes hiking.", "note.a", "2025-01-01"),
            ("c", "The user lives in Berlin.", "residence", "2025-01-02"),
            ("d", "The user has a dog named Rex.", "note.d", "2025-01-03"),
            ("e", "The user likes jazz music.", "note.e", "2025-01-04"),
            ("f", "User really enjoys jazz music", "note.f", "2025-02-04"),
            ("b", "The user enjoys walking in the mountains.", "note.b", "2025-02-01")],
    "bob": [("x", "The user likes chess.", "note.x", "2025-01-01"),
            ("y", "The user plays the cello.", "note.y", "2025-01-02")],
}


def mid(user: str, tag: str) -> str:
    return str(stable_id("review", user, tag))


@pytest.fixture
def runtime(tmp_path):
    runtime = build_runtime(Settings(data_dir=tmp_path, extractor="rules"), with_vectors=False)
    for user, rows in SEED.items():
        memories = [Memory(id=stable_id("review", user, tag), user_id=user, kind="fact", key=key, content=text,
                           stage="fine", reason="new", cause={}, decided_by="minimal-extractor",
                           slots={key: text[9:]} if key == "residence" else {}, conversation_id=f"c-{tag}",
                           sources=[{"event_id": f"{user}-{tag}", "message_id": f"{user}-{tag}#0",
                                     "chat_time": f"{when}T10:00:00", "role": "user"}])
                    for tag, text, key, when in rows]
        directory = runtime.store.directory(user)
        directory.update(upserts={str(m.id): directory_entry(m) for m in memories}, removals=[],
                         conversation_id=None, event_id=None)
        runtime.store.save_tracked([*memories, directory], None)
    runtime.catch_up()
    yield runtime
    runtime.close()


@pytest.fixture
def replay():
    """``replay(name)`` -> (reviewer, route, sleeps) answering with that fixture."""
    with respx.mock(assert_all_called=False, assert_all_mocked=True) as router:

        def make(name: str):
            route = router.post(MESSAGES_URL).mock(side_effect=recorded_responses(load(name)))
            sleeps: list[float] = []
            reviewer = AnthropicReviewer(client=replay_client(router), sleep=sleeps.append, base_delay=0.01)
            return reviewer, route, sleeps

        yield make


def stage_of(runtime, reviewer=None) -> OfflineStage:
    return OfflineStage.for_runtime(runtime, today=lambda: date(2025, 6, 1), reviewer=reviewer)


def rule_based_plan(runtime) -> list[dict]:
    return [c.to_dict() for c in stage_of(runtime).sweep(dry_run=True).changes]


def test_the_request_shows_handles_the_rules_result_and_forces_the_tool(runtime, replay):
    reviewer, route, _ = replay("review_applied")
    stage_of(runtime, reviewer).sweep(["ana"], dry_run=True)
    body, expect = json.loads(route.calls[0].request.content), load("review_applied")["expect_request"]
    assert body["model"] == expect["model"]
    assert body["tool_choice"] == {"type": "tool", "name": TOOL_NAME}
    [tool] = body["tools"]
    item = tool["input_schema"]["properties"]["changes"]["items"]
    assert item["properties"]["action"]["enum"] == ["revise", "archive", "merge"]
    assert {"memory_id", "action", "reason"} <= set(item["required"])
    prompt = body["messages"][0]["content"]
    assert all(line in prompt for line in expect["contains"])  # the jazz paraphrase is already merged away
    assert not any(text in prompt for text in expect["absent"])
    assert not UUID.search(json.dumps(body, ensure_ascii=False))


def test_a_valid_proposal_is_applied_as_offline_events_decided_by_the_reviewer(runtime, replay):
    reviewer, _, _ = replay("review_applied")
    report = stage_of(runtime, reviewer).sweep()
    store = runtime.store
    merged, survivor, dog = store.memory(mid("ana", "b")), store.memory(mid("ana", "a")), store.memory(mid("ana", "d"))
    assert not merged.is_active and merged.superseded_by == [mid("ana", "a")]
    assert (merged.stage, merged.reason, merged.decided_by) == ("offline", "duplicate", REVIEWER)
    assert {s["event_id"] for s in survivor.sources} == {"ana-a", "ana-b"} and survivor.decided_by == REVIEWER
    assert (dog.content, dog.reason, dog.decided_by, dog.stage) == (
        "The user has a beagle named Rex.", "refinement", REVIEWER, "offline")
    # the rules' own change is still there, decided by its rule
    assert store.memory(mid("ana", "f")).decided_by == "offline.duplicate"
    by_reviewer = [c.to_dict() for c in report.changes if c.rule == REVIEWER]
    assert {(c["memory_id"], c["action"]) for c in by_reviewer} == {
        (mid("ana", "b"), "merge"), (mid("ana", "a"), "revise"), (mid("ana", "d"), "revise")}
    assert all(m.is_active for m in (store.memory(mid("bob", "x")), store.memory(mid("bob", "y"))))
    assert mid("ana", "b") not in store.directory("ana").entries
    assert reviewer.calls == 2  # ana, then bob (who gets an empty list)
    runtime.catch_up()
    assert stage_of(runtime, reviewer).sweep().changes == []  # nothing new: not even reviewed again
    assert reviewer.calls == 2


def test_invalid_proposals_are_rejected_and_only_the_valid_one_applies(runtime, replay, caplog):
    reviewer, _, _ = replay("review_invalid")
    caplog.set_level(logging.WARNING, logger="application.offline_stage")
    report = stage_of(runtime, reviewer).sweep(["ana"])
    by_reviewer = {(c.memory_id, c.action) for c in report.changes if c.rule == REVIEWER}
    assert by_reviewer == {(mid("ana", "b"), "merge"), (mid("ana", "a"), "revise")}
    store = runtime.store
    assert store.memory(mid("bob", "x")).is_active and store.memory(mid("bob", "x")).version == 1
    assert store.memory(mid("ana", "c")).version == 1 and store.memory(mid("ana", "d")).version == 1
    assert store.memory(mid("ana", "e")).decided_by == "offline.duplicate"  # the rules' revision, not the review's
    rejected = [r.getMessage() for r in caplog.records if "rejected" in r.getMessage()]
    assert len(rejected) == 6
    assert any("e0d6d685" in line and "not an active memory of this user" in line for line in rejected)
    assert any(" of M9 " in line for line in rejected)
    assert any("already changed by the rules" in line for line in rejected)


@pytest.mark.parametrize("name, why", [("review_server_errors", "api unavailable: HTTP 500"),
                                       ("review_rate_limited", "api unavailable: HTTP 429"),
                                       ("review_timeout", "api unavailable: timeout"),
                                       ("review_malformed", "malformed output")])
def test_an_api_failure_leaves_the_rule_based_result(runtime, replay, caplog, name, why):
    expected = rule_based_plan(runtime)
    reviewer, route, sleeps = replay(name)
    caplog.set_level(logging.WARNING)
    report = stage_of(runtime, reviewer).sweep(["ana"])
    assert [c.to_dict() for c in report.changes] == [c for c in expected if c["memory_id"].startswith(
        tuple(mid("ana", t)[:8] for t, *_ in SEED["ana"]))]
    assert report.changes and all(c.rule != REVIEWER for c in report.changes)
    assert runtime.store.memory(mid("ana", "b")).is_active
    assert reviewer.failure_reasons == {why: 1}
    assert len(route.calls) == (1 if name == "review_malformed" else 3) and len(sleeps) == len(route.calls) - 1
    assert any("rule-based plan stands" in r.getMessage() for r in caplog.records)


def test_accept_checks_each_proposal():
    def state(tag: str) -> MemoryState:
        return MemoryState(memory_id=tag, kind="fact", key=f"k.{tag}", content=f"text {tag}", version=1,
                           sources=({"event_id": tag, "message_id": f"{tag}#0"},))

    memories = [state("a"), state("b"), state("c")]
    review = accept([ProposedChange("b", "merge", "duplicate", survivor="a"),
                     ProposedChange("c", "archive", "superseded"),
                     ProposedChange("a", "merge", "duplicate", survivor="c"),  # a is a survivor, c archived
                     ProposedChange("zz", "archive", "conflict"),
                     ProposedChange("a", "revise", "refinement", content="text a, revised")],
                    memories, [], "review:test")
    assert [(c.memory_id, c.action) for c in review.changes] == [("b", "merge"), ("c", "archive"), ("a", "revise")]
    revised = review.changes[-1]
    assert revised.content == "text a, revised" and revised.new_sources == [{"event_id": "b", "message_id": "b#0"}]
    assert [why for _, why in review.rejected] == ["memory already taken by another proposal",
                                                    "not an active memory of this user"]


def test_the_reviewer_is_wired_only_with_the_claude_extractor(runtime, replay):
    reviewer, _, _ = replay("review_applied")

    class Claude:
        name, client, model = "anthropic:claude-sonnet-5-5", reviewer.client, "claude-sonnet-5-5"

    assert build_reviewer(runtime.settings, runtime.service.fine_stage.extractor) is None
    assert runtime.reviewer is None and stage_of(runtime).reviewer is None
    built = build_reviewer(runtime.settings, Claude())
    assert isinstance(built, AnthropicReviewer) and built.name == REVIEWER
