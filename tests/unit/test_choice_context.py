"""A choice says what it was for, and an inline numbered list after a colon keeps its first item."""

from datetime import datetime, timezone

from domain.extraction import WindowMessage
from extraction.rules.choices import detect_choice
from extraction.rules.finder import RuleCandidateFinder, request_topic

AT = datetime(2025, 3, 1, tzinfo=timezone.utc)


def test_an_inline_numbered_list_after_a_colon_keeps_its_first_option():
    choice = detect_choice("第一个吧", "zh", "可以考虑：1. 普拉提小班课 2. 拳击有氧 3. 动感单车", "o1")
    assert choice is not None and choice.chosen.display("zh") == "普拉提小班课"
    choice = detect_choice("the first one", "en", "Picks: 1) Osprey Exos, 2) Gregory Focal, 3) REI Flash", "o1")
    assert choice is not None and choice.chosen.display("en") == "Osprey Exos"


def test_request_topic():
    assert request_topic("need a new daypack under $150, what are my options?", "en") == "need a new daypack under $150"
    assert request_topic("想换个健身房，你帮我列几个选择", "zh") == "想换个健身房"
    assert request_topic("就住七天", "zh") == ""  # a statement, not a request


def test_the_choice_memory_names_the_request_it_answered():
    msgs = [WindowMessage("m1", "e1", "user", "help me pick a name for my pottery studio", chat_time=AT),
            WindowMessage("m2", "e1", "assistant", "How about: 1) Kiln & Co, 2) Slow Clay, 3) Mudroom", chat_time=AT),
            WindowMessage("m3", "e1", "user", "the second one for sure", chat_time=AT)]
    [choice] = [c for c in RuleCandidateFinder().find(msgs).candidates if c.slot.startswith("choice.")]
    assert "Slow Clay" in choice.content and "pottery studio" in choice.content, choice.content
