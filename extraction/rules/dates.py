"""Relative-date resolution for Chinese and English chat messages.

``find_dates(text, chat_time)`` finds expressions such as 今年暑假 / 下周三 / 明天 /
"next summer" / "in two weeks" and resolves each against the message's chat_time
into a :class:`DateMention`: the absolute phrase to write into memories
("2025年暑假", "summer 2026") and a language-independent period token for slots
("2025-summer", "2025-05-14", "2025-W21", "2025-06", "2026"), so that the same
period said in either language, or in different words, gives the same slot.

``rewrite_dates(text, chat_time)`` returns the text with every mention replaced by
its absolute phrase, plus the mentions.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from extraction.rules.numerals import has_cjk

MONTHS_EN = [calendar.month_name[i] for i in range(1, 13)]
WEEKDAYS_EN = [calendar.day_name[i] for i in range(7)]
WEEKDAYS_ZH = ["周一", "周二", "周三", "周四", "周五", "周六", "周日"]

# Lunar holidays as Gregorian first days (Spring Festival = 正月初一, Mid-Autumn = 八月十五).
SPRING_FESTIVAL = {
    2020: (1, 25), 2021: (2, 12), 2022: (2, 1), 2023: (1, 22), 2024: (2, 10), 2025: (1, 29),
    2026: (2, 17), 2027: (2, 6), 2028: (1, 26), 2029: (2, 13), 2030: (2, 3), 2031: (1, 23),
    2032: (2, 11), 2033: (1, 31), 2034: (2, 19), 2035: (2, 8),
}
MID_AUTUMN = {
    2020: (10, 1), 2021: (9, 21), 2022: (9, 10), 2023: (9, 29), 2024: (9, 17), 2025: (10, 6),
    2026: (9, 25), 2027: (9, 15), 2028: (10, 3), 2029: (9, 22), 2030: (9, 12),
}

# season name -> (zh label, first (month, day), last (month, day), spans into next year)
SEASONS = {
    "spring": ("春天", (3, 1), (5, 31), False),
    "summer": ("夏天", (6, 1), (8, 31), False),
    "autumn": ("秋天", (9, 1), (11, 30), False),
    "winter": ("冬天", (12, 1), (2, 28), True),
}
# holiday key -> (zh label, en label, days long)
HOLIDAYS = {
    "national-day": ("国庆", "National Day", 7),
    "spring-festival": ("春节", "Spring Festival", 7),
    "may-day": ("五一", "May Day holiday", 5),
    "new-year": ("元旦", "New Year's Day", 1),
    "mid-autumn": ("中秋", "Mid-Autumn Festival", 1),
    "christmas": ("圣诞节", "Christmas", 1),
    "thanksgiving": ("感恩节", "Thanksgiving", 1),
    "winter-break": ("寒假", "winter break", 45),
}


@dataclass(frozen=True)
class Period:
    granularity: str  # day | week | weekend | month | season | holiday | half | year
    first_day: date
    last_day: date
    token: str
    zh: str
    en: str
    en_prep: str = "in"


@dataclass(frozen=True)
class DateMention:
    """One resolved date expression; ``start``/``end`` are offsets into the searched text."""

    start: int
    end: int
    surface: str
    period: Period
    tense: str  # "past" | "present" | "future"
    lang: str

    @property
    def token(self) -> str:
        return self.period.token

    @property
    def text(self) -> str:
        """The absolute phrase in the mention's language ("2025年暑假" / "summer 2026")."""
        return self.period.zh if self.lang == "zh" else self.period.en

    def phrase(self, lang: str | None = None) -> str:
        """The phrase to put in a sentence: zh as is, en with its preposition."""
        lang = lang or self.lang
        return self.period.zh if lang == "zh" else f"{self.period.en_prep} {self.period.en}"


# ---------------------------------------------------------------- period builders


def _zh_day(d: date) -> str:
    return f"{d.year}年{d.month}月{d.day}日"


def _en_day(d: date) -> str:
    return f"{MONTHS_EN[d.month - 1]} {d.day}, {d.year}"


def day(d: date, weekday: bool = False) -> Period:
    zh = _zh_day(d) + (f"（{WEEKDAYS_ZH[d.weekday()]}）" if weekday else "")
    en = (f"{WEEKDAYS_EN[d.weekday()]}, " if weekday else "") + _en_day(d)
    return Period("day", d, d, d.isoformat(), zh, en, "on")


def week(any_day: date) -> Period:
    mon = any_day - timedelta(days=any_day.weekday())
    sun = mon + timedelta(days=6)
    iso = mon.isocalendar()
    end_zh = f"{sun.month}月{sun.day}日" if sun.year == mon.year else _zh_day(sun)
    return Period("week", mon, sun, f"{iso[0]}-W{iso[1]:02d}", f"{_zh_day(mon)}至{end_zh}这一周",
                  f"the week of {_en_day(mon)}", "during")


def weekend(any_day: date) -> Period:
    sat = any_day - timedelta(days=any_day.weekday()) + timedelta(days=5)
    sun = sat + timedelta(days=1)
    iso = sat.isocalendar()
    return Period("weekend", sat, sun, f"{iso[0]}-W{iso[1]:02d}-weekend",
                  f"{_zh_day(sat)}至{sun.month}月{sun.day}日的周末", f"the weekend of {_en_day(sat)}", "over")


_PARTS = {"early": ("初", "early "), "mid": ("中旬", "mid-"), "late": ("底", "late ")}


def month(y: int, m: int, part: str | None = None) -> Period:
    last = calendar.monthrange(y, m)[1]
    first_day, last_day = date(y, m, 1), date(y, m, last)
    zh_part, en_part = _PARTS.get(part or "", ("", ""))
    if part == "early":
        last_day = date(y, m, 10)
    elif part == "mid":
        first_day, last_day = date(y, m, 11), date(y, m, 20)
    elif part == "late":
        first_day = date(y, m, 21)
    return Period("month", first_day, last_day, f"{y}-{m:02d}", f"{y}年{m}月{zh_part}",
                  f"{en_part}{MONTHS_EN[m - 1]} {y}", "in")


def season(y: int, name: str, zh_label: str | None = None) -> Period:
    label, (m1, d1), (m2, d2), wraps = SEASONS[name]
    if zh_label == "暑假":
        m1, d1 = 7, 1
    last_year = y + 1 if wraps else y
    d2 = min(d2, calendar.monthrange(last_year, m2)[1])
    return Period("season", date(y, m1, d1), date(last_year, m2, d2), f"{y}-{name}",
                  f"{y}年{zh_label or label}", f"{name} {y}", "in")


def holiday(y: int, key: str) -> Period:
    zh, en, length = HOLIDAYS[key]
    if key == "national-day":
        first = date(y, 10, 1)
    elif key == "spring-festival":
        first = date(y, *SPRING_FESTIVAL.get(y, (2, 1)))
    elif key == "mid-autumn":
        first = date(y, *MID_AUTUMN.get(y, (9, 20)))
    elif key == "may-day":
        first = date(y, 5, 1)
    elif key == "new-year":
        first = date(y, 1, 1)
    elif key == "christmas":
        first = date(y, 12, 25)
    elif key == "thanksgiving":
        nov1 = date(y, 11, 1)
        first = nov1 + timedelta(days=(3 - nov1.weekday()) % 7 + 21)
    else:  # winter-break: mid January to the end of February
        first = date(y, 1, 15)
    return Period("holiday", first, first + timedelta(days=length - 1), f"{y}-{key}",
                  f"{y}年{zh}", f"{en} {y}", "during")


def year(y: int) -> Period:
    return Period("year", date(y, 1, 1), date(y, 12, 31), str(y), f"{y}年", str(y), "in")


def half(y: int, h: int) -> Period:
    first = date(y, 1, 1) if h == 1 else date(y, 7, 1)
    last = date(y, 6, 30) if h == 1 else date(y, 12, 31)
    zh = f"{y}年{'上' if h == 1 else '下'}半年"
    en = f"the {'first' if h == 1 else 'second'} half of {y}"
    return Period("half", first, last, f"{y}-H{h}", zh, en, "in")


def add_months(d: date, n: int) -> tuple[int, int]:
    total = d.year * 12 + (d.month - 1) + n
    return total // 12, total % 12 + 1


def upcoming(today: date, build, *args) -> Period:
    """The period of this calendar year, or next year's when this year's is over."""
    p = build(today.year, *args)
    return p if p.last_day >= today else build(today.year + 1, *args)


def weekday_in_week(today: date, weeks: int, wd: int) -> date:
    """Weekday ``wd`` (0=Monday) of the week ``weeks`` away from today's (0 = this week)."""
    return today - timedelta(days=today.weekday()) + timedelta(weeks=weeks, days=wd)


def next_weekday(today: date, wd: int) -> date:
    """The next day that is weekday ``wd`` (today counts)."""
    return today + timedelta(days=(wd - today.weekday()) % 7)


def last_weekday(today: date, wd: int) -> date:
    """The most recent day before today that is weekday ``wd``."""
    return today - timedelta(days=(today.weekday() - wd - 1) % 7 + 1)


def offset(today: date, n: int, unit: str) -> Period:
    """``n`` units from today (negative = ago); unit is day / week / month / year."""
    if unit == "day":
        return day(today + timedelta(days=n))
    if unit == "week":
        return week(today + timedelta(weeks=n))
    if unit == "month":
        y, m = add_months(today, n)
        return month(y, m)
    return year(today.year + n)


# ---------------------------------------------------------------- finding


def _tense(p: Period, today: date) -> str:
    if p.last_day < today:
        return "past"
    if p.first_day > today:
        return "future"
    return "present"


def find_dates(text: str, chat_time: datetime | date | None, lang: str | None = None) -> list[DateMention]:
    """All resolvable date expressions in ``text``, left to right, non-overlapping.

    Without a chat_time nothing can be resolved and the list is empty.
    """
    if chat_time is None or not text:
        return []
    today = chat_time.date() if isinstance(chat_time, datetime) else chat_time
    lang = lang or ("zh" if has_cjk(text) else "en")
    from extraction.rules import dates_en, dates_zh

    raw: list[tuple[int, int, Period]] = []
    for module in (dates_zh, dates_en):
        raw.extend(module.scan(text, today))
    raw.sort(key=lambda r: (r[0], -(r[1] - r[0])))
    out: list[DateMention] = []
    pos = 0
    for start, end, period in raw:
        if start < pos:
            continue
        m_lang = "zh" if has_cjk(text[start:end]) else lang
        out.append(DateMention(start, end, text[start:end], period, _tense(period, today), m_lang))
        pos = end
    return out


def rewrite_dates(
    text: str, chat_time: datetime | date | None, lang: str | None = None
) -> tuple[str, list[DateMention]]:
    """``text`` with each relative date replaced by its absolute phrase."""
    mentions = find_dates(text, chat_time, lang)
    parts: list[str] = []
    pos = 0
    for m in mentions:
        parts.append(text[pos:m.start])
        parts.append(m.phrase())
        pos = m.end
    parts.append(text[pos:])
    return "".join(parts), mentions


def resolve(expression: str, chat_time: datetime | date, lang: str | None = None) -> DateMention | None:
    """Resolve one expression; None when it is not a (whole) date expression."""
    found = find_dates(expression.strip(), chat_time, lang)
    if len(found) == 1 and found[0].surface == expression.strip():
        return found[0]
    return None


__all__ = ["DateMention", "Period", "find_dates", "rewrite_dates", "resolve"]
