"""Tool memories name the user request that led to the call, in clean text."""

from __future__ import annotations

from domain.extraction import WindowMessage
from domain.tool_usage import clean_phrase, describe, merge_usage, request_before, tool_candidates, usage_of


def msg(i: int, role: str, text: str = "", new: bool = True, **tool) -> WindowMessage:
    return WindowMessage(message_id=f"m{i}", event_id="e", role=role, text=text, chat_time=None, name=None,
                         is_new=new, **tool)


def call(i: int, name: str = "restaurant_search", status: str = "ok") -> WindowMessage:
    return msg(i, "tool", f"tool {name}", tool_name=name, tool_input={}, tool_output={}, status=status,
               latency_ms=200.0)


def scenario_of(messages: list[WindowMessage]) -> list[str]:
    found, _ = tool_candidates(messages)
    return [c.attributes["usage"]["scenarios"] for c in found][0]


def test_the_request_not_a_later_remark() -> None:
    messages = [
        msg(0, "user", "Find me a restaurant in Seattle for tonight."),
        msg(1, "assistant", "Any cuisine in mind?"),
        msg(2, "user", "Also, I went vegan last month, so no more steak for me."),
        call(3),
    ]
    assert scenario_of(messages) == ["Find me a restaurant in Seattle for tonight"]


def test_never_an_assistant_message() -> None:
    messages = [
        msg(0, "user", "What's the weather in Hamburg tomorrow?", new=False),
        msg(1, "assistant", "Let me check the forecast for you."),
        call(2, "weather_forecast"),
    ]
    assert scenario_of(messages) == ["What's the weather in Hamburg tomorrow"]


def test_acknowledgements_are_skipped_and_the_nearest_statement_is_the_fallback() -> None:
    messages = [msg(0, "user", "My flight lands at 9 pm in Denver."), msg(1, "user", "ok thanks!"), call(2)]
    assert scenario_of(messages) == ["My flight lands at 9 pm in Denver"]


def test_a_request_before_an_earlier_call_is_not_reused() -> None:
    messages = [
        msg(0, "user", "Book a flight to Denver."), call(1, "flight_book"),
        msg(2, "user", "and a rental car for the weekend too"), call(3, "car_rental"),
    ]
    found, _ = tool_candidates(messages)
    assert [c.attributes["usage"]["scenarios"] for c in found] == [
        ["Book a flight to Denver"], ["and a rental car for the weekend too"]]


def test_chinese_request() -> None:
    messages = [msg(0, "user", "帮我查一下明天上海的天气。"), msg(1, "user", "对了，我最近开始吃素了。"), call(2, "weather")]
    assert scenario_of(messages) == ["帮我查一下明天上海的天气"]


def test_no_user_message_no_scenario() -> None:
    assert request_before([msg(0, "assistant", "Searching."), call(1)], 1) is None


def test_describe_has_one_final_period() -> None:
    usage = usage_of(call(0), "Also, I went vegan last month, so no more steak for me.")
    text = describe("restaurant_search", usage)
    assert ".." not in text and text.endswith("no more steak for me.")
    # scenarios held by an older version keep their period: describe cleans them too
    held = merge_usage({"calls": 1, "successes": 1, "latency_ms_total": 1.0, "latency_samples": 1,
                        "errors": {}, "scenarios": ["Find vegan food nearby."]}, usage)
    assert ".." not in describe("restaurant_search", held) and ". |" not in describe("restaurant_search", held)


def test_clean_phrase() -> None:
    assert clean_phrase("  Find   flights!!  ") == "Find flights"
    assert clean_phrase("订一张去南京的高铁票。") == "订一张去南京的高铁票"
    long = clean_phrase("word " * 60)
    assert len(long) <= 121 and long.endswith("…")
