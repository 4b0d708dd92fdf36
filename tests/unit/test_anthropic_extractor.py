"""The Anthropic extractor against recorded Messages API exchanges (never a live call).

Each ``tests/fixtures/anthropic/*.json`` holds the extraction window a test feeds in,
what the outgoing request must (not) contain, and the recorded responses, answered
in order by a respx route. The SDK speaks ``httpx2`` while respx patches ``httpx``, so
``replay_client`` bridges the two with an ``httpx2.MockTransport`` that hands each
request to the respx router; that keeps respx's call recording and side effects.
The fallback is the real ``RuleBasedExtractor`` on a hand-written table finder, so
these tests do not depend on the rules' vocabulary.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path
from typing import Any

import anthropic
import httpx
import httpx2
import pytest
import respx

from domain.extraction import ExistingMemory, ExtractionRequest, WindowMessage
from domain.governance import TimePriority
from extraction.anthropic_extractor import TOOL_NAME, AnthropicExtractor
from extraction.rule_extractor import RuleBasedExtractor
from tests.support.fakes import TableFinder

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "anthropic"
MESSAGES_URL = "https://api.anthropic.com/v1/messages"
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
pytestmark = pytest.mark.filterwarnings("ignore:The model .* is deprecated:DeprecationWarning")
TABLE = {"我是小忆，现在在上海居住，不太能吃辣。": [("name", "叫小忆"), ("residence", "在上海居住")]}


def load(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))


def recorded_responses(fixture: dict[str, Any]) -> list[Any]:
    """The fixture's exchanges as respx side effects: responses, or exceptions to raise."""
    out: list[Any] = []
    for ex in fixture["exchanges"]:
        if "raise" in ex:
            out.append(getattr(httpx, ex["raise"])("recorded: " + ex["raise"]))
        else:
            out.append(httpx.Response(ex["status"], headers=ex["headers"], json=ex["body"]))
    return out


def replay_client(router: respx.MockRouter) -> anthropic.Anthropic:
    """An SDK client whose every request is answered by ``router``; httpx transport
    errors from side effects are re-raised as their httpx2 twins so the SDK sees a
    real timeout (``APITimeoutError``) rather than an unknown exception."""

    def handle(request: httpx2.Request) -> httpx2.Response:
        mirrored = httpx.Request(request.method, str(request.url), headers=request.headers.multi_items(),
                                 content=request.content, extensions={"timeout": request.extensions.get("timeout")})
        try:
            answer = router.handler(mirrored)
        except httpx.TransportError as error:
            raise getattr(httpx2, type(error).__name__, httpx2.TransportError)(str(error), request=request) from error
        return httpx2.Response(answer.status_code, headers=answer.headers.multi_items(), content=answer.content,
                               request=request)

    http_client = httpx2.Client(transport=httpx2.MockTransport(handle))
    return anthropic.Anthropic(api_key="sk-ant-test", max_retries=0, http_client=http_client)


def window(fixture: dict[str, Any]) -> ExtractionRequest:
    spec = fixture["request"]
    messages = tuple(
        WindowMessage(**{**m, "chat_time": datetime.fromisoformat(m["chat_time"])}) for m in spec["messages"]
    )
    existing = tuple(
        ExistingMemory(**{**e, "source_roles": tuple(e.get("source_roles", ()))}) for e in spec["existing"]
    )
    return ExtractionRequest(user_id=spec["user_id"], messages=messages, existing=existing)


def fallback() -> RuleBasedExtractor:
    return RuleBasedExtractor(finder=TableFinder(TABLE), policy=TimePriority())


@pytest.fixture
def replay():
    """``replay(name)`` → (extractor, route, sleeps) answering with that fixture."""
    with respx.mock(assert_all_called=False, assert_all_mocked=True) as router:

        def make(name: str, **options: Any):
            route = router.post(MESSAGES_URL).mock(side_effect=recorded_responses(load(name)))
            sleeps: list[float] = []
            extractor = AnthropicExtractor(
                client=replay_client(router), fallback=fallback(), sleep=sleeps.append, base_delay=0.01, **options
            )
            return extractor, route, sleeps

        yield make


def sent(route: respx.Route, index: int = -1) -> dict[str, Any]:
    return json.loads(route.calls[index].request.content)


def run(replay, name: str, **options: Any):
    extractor, route, sleeps = replay(name, **options)
    return extractor.extract(window(load(name))), extractor, route, sleeps


@pytest.mark.parametrize("name", ["brief_xiaoyi_v1", "brief_xiaoyi_v2", "brief_travel_hotel"])
def test_request_shows_handles_schema_tool_choice_and_model(replay, name):
    _, _, route, _ = run(replay, name)
    body, expect = sent(route), load(name)["expect_request"]
    assert body["model"] == expect["model"]
    assert body["tool_choice"] == {"type": "tool", "name": TOOL_NAME}
    [tool] = body["tools"]
    assert tool["name"] == TOOL_NAME
    decision = tool["input_schema"]["properties"]["decisions"]["items"]
    assert decision["properties"]["action"]["enum"] == ["create", "revise", "archive", "noop"]
    assert decision["properties"]["kind"]["enum"] == ["fact", "preference", "tool", "skill"]
    assert {"action", "kind", "key", "content", "confidence", "sources", "reason"} <= set(decision["required"])
    assert "$ref" not in json.dumps(tool["input_schema"])
    assert "REVISE" in body["system"] and "implicit" in body["system"]
    prompt = body["messages"][0]["content"]
    assert all(text in prompt for text in expect["contains"])
    assert not any(text in prompt for text in expect["absent"])
    assert not UUID.search(json.dumps(body, ensure_ascii=False))
    assert route.calls[-1].request.headers["authorization"] == "Bearer sk-ant-test"  # SDK 2.x: not x-api-key


def test_first_message_creates_the_profile_fact(replay):
    extraction, extractor, route, _ = run(replay, "brief_xiaoyi_v1")
    [d] = extraction.decisions
    assert (d.action, d.kind, d.key, d.reason) == ("create", "fact", "profile", "new")
    assert d.content == "用户叫小忆，在上海居住，不能吃辣"
    assert d.source_message_ids == ("x1",) and d.attributes == {"lang": "zh"}
    assert d.slots == {"profile": "叫小忆，在上海居住，不能吃辣"}
    assert extraction.covered_message_ids == {"x1"}
    assert extraction.decided_by == extractor.name == "anthropic:claude-sonnet-5-5"
    assert (extractor.calls, extractor.retries, extractor.fallbacks) == (1, 0, 0)


def test_conflict_revises_the_existing_memory_id(replay):
    extraction, _, _, _ = run(replay, "brief_xiaoyi_v2")
    [d] = extraction.decisions
    existing_id = load("brief_xiaoyi_v2")["request"]["existing"][0]["memory_id"]
    assert (d.action, d.memory_id, d.reason) == ("revise", existing_id, "conflict")
    assert d.content == "用户叫小忆，在成都居住，喜欢吃辣，喜欢四川火锅"
    assert d.source_message_ids == ("x2",)


def test_hotel_choice_gives_a_fact_and_an_implicit_preference_with_reasoning(replay):
    extraction, _, _, _ = run(replay, "brief_travel_hotel")
    fact, pref = extraction.decisions
    assert (fact.kind, fact.key, fact.preference_type) == ("fact", "travel.2025-summer", None)
    assert fact.content == "用户计划在2025年暑假期间前往广州旅游，并选择了七天连锁酒店"
    assert fact.source_message_ids == ("t1", "t3")
    assert (pref.kind, pref.preference_type, pref.content) == ("preference", "implicit", "用户可能偏好性价比较高的酒店")
    assert "七天" in pref.reasoning and pref.confidence < fact.confidence
    assert pref.source_message_ids == ("t2", "t3")
    assert extraction.covered_message_ids == {"t3"}  # only new messages can be covered


def test_unknown_handles_drop_the_decision_not_the_batch(replay):
    extraction, extractor, _, _ = run(replay, "unknown_handles")
    [d] = extraction.decisions
    assert (d.action, d.key, d.preference_type) == ("create", "preference.food.hotpot", "explicit")
    assert d.source_message_ids == ("x2",)  # "#9" ignored
    assert extraction.covered_message_ids == {"x2"}
    assert extractor.dropped_decisions == 1 and extractor.fallbacks == 0


@pytest.mark.parametrize("name,reason", [
    ("malformed_output", "malformed output"),
    ("text_only", "no tool call"),
])
def test_unusable_answers_fall_back_to_the_rules(replay, name, reason):
    extraction, extractor, route, _ = run(replay, name)
    assert extraction.decided_by == f"rules-v1+time_priority (fallback: {reason})"
    [d] = extraction.decisions  # the rules' profile memory, so the Fine stage still runs
    assert (d.action, d.key, d.content) == ("create", "profile", "用户叫小忆，在上海居住")
    assert route.call_count == 1 and extractor.fallbacks == 1
    assert extractor.fallback_reasons == {reason: 1}


@pytest.mark.parametrize("name,sleeps", [
    ("rate_limited_then_ok", [2.0]),  # retry-after honoured
    ("overloaded_then_ok", [0.01]),  # base delay
])
def test_retryable_status_is_retried_then_succeeds(replay, name, sleeps):
    extraction, extractor, route, slept = run(replay, name)
    assert route.call_count == 2 and slept == sleeps
    assert (extractor.retries, extractor.fallbacks) == (1, 0)
    assert extraction.decided_by == "anthropic:claude-sonnet-5-5"
    assert extraction.decisions[0].content == "用户叫小忆，在上海居住，不能吃辣"


def test_retry_after_is_capped(replay):
    _, _, _, slept = run(replay, "rate_limited_then_ok", max_delay=0.5)
    assert slept == [0.5]


@pytest.mark.parametrize("name,reason", [
    ("timeout", "api unavailable: timeout"),
    ("server_errors", "api unavailable: HTTP 500"),
])
def test_api_that_stays_unavailable_falls_back_after_backoff(replay, name, reason):
    extraction, extractor, route, slept = run(replay, name)
    assert route.call_count == 3 and slept == [0.01, 0.02]  # exponential
    assert extraction.decided_by == f"rules-v1+time_priority (fallback: {reason})"
    assert len(extraction.decisions) == 1 and extraction.covered_message_ids == {"x1"}
    assert (extractor.calls, extractor.retries, extractor.fallbacks) == (3, 2, 1)


def test_attempts_are_configurable(replay):
    _, _, route, slept = run(replay, "timeout", max_attempts=1)
    assert route.call_count == 1 and slept == []


def test_rejected_key_is_not_retried(replay):
    extraction, extractor, route, slept = run(replay, "unauthorized")
    assert route.call_count == 1 and slept == []
    assert extraction.decided_by == "rules-v1+time_priority (fallback: authentication failed)"
    assert extractor.fallback_reasons == {"authentication failed": 1}


def test_per_call_timeout_reaches_the_transport(replay):
    extractor, route, _ = replay("brief_xiaoyi_v1", timeout=7.5)
    extractor.extract(window(load("brief_xiaoyi_v1")))
    timeout = route.calls[0].request.extensions["timeout"]
    assert timeout["read"] == 7.5 and timeout["connect"] <= 7.5


def test_governance_vetoes_a_revision_older_than_the_memory(replay):
    fixture = load("brief_xiaoyi_v2")
    extractor, _, _ = replay("brief_xiaoyi_v2", policy=TimePriority())
    request = window(fixture)
    newer = ExistingMemory(**{**fixture["request"]["existing"][0], "latest_chat_time": "2027-01-01T00:00:00+08:00"})
    extraction = extractor.extract(ExtractionRequest(request.user_id, request.messages, (newer,)))
    assert extraction.decisions == () and extractor.dropped_decisions == 1


def test_no_new_messages_means_no_call(replay):
    extractor, route, _ = replay("brief_xiaoyi_v1")
    request = window(load("brief_travel_hotel"))
    old_only = ExtractionRequest(request.user_id, request.messages[:2])
    assert extractor.extract(old_only).decisions == () and route.call_count == 0


def test_config_requires_the_api_key(monkeypatch):
    from application.settings import Settings
    from extraction.anthropic_config import build_anthropic_extractor

    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    with pytest.raises(ValueError, match="ANTHROPIC_API_KEY"):
        build_anthropic_extractor(Settings(), fallback=fallback())
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test")
    built = build_anthropic_extractor(Settings(anthropic_model="claude-x", anthropic_timeout=9), fallback=fallback())
    assert (built.name, built.timeout, built.client.max_retries) == ("anthropic:claude-x", 9, 0)
    assert built.policy is built.fallback.policy


def test_x_should_retry_false_is_obeyed(replay):
    extractor, route, slept = replay("server_errors")
    route.side_effect = [httpx.Response(503, headers={"x-should-retry": "false"},
                                        json={"type": "error", "error": {"type": "api_error", "message": "down"}})]
    extraction = extractor.extract(window(load("brief_xiaoyi_v1")))
    assert route.call_count == 1 and slept == []
    assert extraction.decided_by.endswith("(fallback: api error: HTTP 503)")


def test_loosely_written_handles_are_understood(replay):
    fixture = load("brief_xiaoyi_v2")
    body = fixture["exchanges"][0]["body"]
    body["content"][0]["input"]["decisions"][0].update(memory=" m1", sources=["1"])
    extractor, route, _ = replay("brief_xiaoyi_v2")
    route.side_effect = [httpx.Response(200, json=body)]
    [d] = extractor.extract(window(fixture)).decisions
    assert d.memory_id == fixture["request"]["existing"][0]["memory_id"] and d.source_message_ids == ("x2",)
