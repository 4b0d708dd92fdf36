"""Relative-date resolution against a message's chat_time (zh + en)."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from extraction.rules.dates import find_dates, resolve, rewrite_dates

SAT = datetime(2025, 5, 10, 12, 0)  # Saturday 2025-05-10
WED = datetime(2025, 12, 17, 9, 0)  # Wednesday, near the year end

# (expression, chat_time, period token, absolute phrase, tense)
CASES = [
    ("今年暑假", SAT, "2025-summer", "2025年暑假", "future"),
    ("暑假", SAT, "2025-summer", "2025年暑假", "future"),
    ("今年夏天", SAT, "2025-summer", "2025年夏天", "future"),
    ("明年", SAT, "2026", "2026年", "future"),
    ("去年", SAT, "2024", "2024年", "past"),
    ("下个月", SAT, "2025-06", "2025年6月", "future"),
    ("下个月底", SAT, "2025-06", "2025年6月底", "future"),
    ("上个月", SAT, "2025-04", "2025年4月", "past"),
    ("下周", SAT, "2025-W20", "2025年5月12日至5月18日这一周", "future"),
    ("上周", SAT, "2025-W18", "2025年4月28日至5月4日这一周", "past"),
    ("下周三", SAT, "2025-05-14", "2025年5月14日（周三）", "future"),
    ("上周五", SAT, "2025-05-02", "2025年5月2日（周五）", "past"),
    ("周三", SAT, "2025-05-14", "2025年5月14日（周三）", "future"),
    ("下周末", SAT, "2025-W20-weekend", "2025年5月17日至5月18日的周末", "future"),
    ("明天", SAT, "2025-05-11", "2025年5月11日", "future"),
    ("后天", SAT, "2025-05-12", "2025年5月12日", "future"),
    ("昨天", SAT, "2025-05-09", "2025年5月9日", "past"),
    ("两周后", SAT, "2025-W21", "2025年5月19日至5月25日这一周", "future"),
    ("三天前", SAT, "2025-05-07", "2025年5月7日", "past"),
    ("半年后", SAT, "2025-11", "2025年11月", "future"),
    ("国庆", SAT, "2025-national-day", "2025年国庆", "future"),
    ("春节", SAT, "2026-spring-festival", "2026年春节", "future"),
    ("明年春节", SAT, "2026-spring-festival", "2026年春节", "future"),
    ("今年寒假", WED, "2026-winter-break", "2026年寒假", "future"),
    ("7月15日", SAT, "2025-07-15", "2025年7月15日", "future"),
    ("明年3月", SAT, "2026-03", "2026年3月", "future"),
    ("下个月", WED, "2026-01", "2026年1月", "future"),
    ("next summer", SAT, "2026-summer", "summer 2026", "future"),
    ("this summer", SAT, "2025-summer", "summer 2025", "future"),
    ("last year", SAT, "2024", "2024", "past"),
    ("next month", SAT, "2025-06", "June 2025", "future"),
    ("next month", WED, "2026-01", "January 2026", "future"),
    ("last week", SAT, "2025-W18", "the week of April 28, 2025", "past"),
    ("next week", WED, "2025-W52", "the week of December 22, 2025", "future"),
    ("tomorrow", SAT, "2025-05-11", "May 11, 2025", "future"),
    ("yesterday", SAT, "2025-05-09", "May 9, 2025", "past"),
    ("the day after tomorrow", SAT, "2025-05-12", "May 12, 2025", "future"),
    ("next Friday", SAT, "2025-05-16", "Friday, May 16, 2025", "future"),
    ("last Friday", SAT, "2025-05-09", "Friday, May 9, 2025", "past"),
    ("in two weeks", SAT, "2025-W21", "the week of May 19, 2025", "future"),
    ("three days ago", SAT, "2025-05-07", "May 7, 2025", "past"),
    ("in July", SAT, "2025-07", "July 2025", "future"),
    ("this weekend", SAT, "2025-W19-weekend", "the weekend of May 10, 2025", "present"),
    ("Christmas", SAT, "2025-christmas", "Christmas 2025", "future"),
    ("next Christmas", SAT, "2025-christmas", "Christmas 2025", "future"),
    ("at the end of next month", SAT, "2025-06", "late June 2025", "future"),
]


@pytest.mark.parametrize("expr,now,token,text,tense", CASES, ids=[f"{c[0]}@{c[1]:%m-%d}" for c in CASES])
def test_resolve(expr: str, now: datetime, token: str, text: str, tense: str) -> None:
    m = resolve(expr, now)
    assert m is not None, expr
    assert (m.token, m.text, m.tense) == (token, text, tense)


def test_same_period_same_token_across_languages() -> None:
    assert resolve("今年暑假", SAT).token == resolve("this summer", SAT).token == "2025-summer"
    assert resolve("下个月", SAT).token == resolve("next month", SAT).token
    assert resolve("明天", SAT).token == resolve("tomorrow", SAT).token
    assert resolve("下周三", SAT).token == resolve("next Wednesday", SAT).token


def test_rewrite_zh() -> None:
    text, mentions = rewrite_dates("我计划今年暑假去广州旅游，下周三出发", SAT)
    assert text == "我计划2025年暑假去广州旅游，2025年5月14日（周三）出发"
    assert [m.token for m in mentions] == ["2025-summer", "2025-05-14"]


def test_rewrite_en_keeps_prepositions() -> None:
    text, _ = rewrite_dates("I'm planning a trip to Tokyo next summer and leave on Friday", SAT)
    assert text == "I'm planning a trip to Tokyo in summer 2026 and leave on Friday, May 16, 2025"


def test_mention_offsets_and_bounds() -> None:
    [m] = find_dates("我们下个月底见", SAT)
    assert (m.start, m.end, m.surface) == (2, 6, "下个月底")
    assert (m.period.first_day, m.period.last_day) == (date(2025, 6, 21), date(2025, 6, 30))


@pytest.mark.parametrize("text", ["我喜欢夏天", "I love summer", "I may go", "三个月", "今天的事", "Mondays are hard"])
def test_not_dates_or_harmless(text: str) -> None:
    tokens = [m.token for m in find_dates(text, SAT)]
    assert tokens in ([], ["2025-05-10"])  # 今天 is a date, seasons and "may" alone are not


def test_no_chat_time_no_resolution() -> None:
    assert find_dates("明天见", None) == []
    assert rewrite_dates("明天见", None) == ("明天见", [])
