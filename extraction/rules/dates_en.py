"""English relative-date expressions: next summer, this month, last week, tomorrow,
next Friday, in two weeks, three days ago, in July, Christmas ..."""

from __future__ import annotations

from extraction.rules import pattern_cache as re  # re, with a cache that holds all rule patterns
from datetime import date, timedelta

from extraction.rules import dates as D
from extraction.rules.date_rules import DateRules
from extraction.rules.numerals import EN_NUM, to_int

_WD = {d.lower(): i for i, d in enumerate(D.WEEKDAYS_EN)}
_WD_RE = "|".join(_WD)
_MON = {m.lower(): i + 1 for i, m in enumerate(D.MONTHS_EN)}
_MON.update({m.lower()[:3]: i + 1 for i, m in enumerate(D.MONTHS_EN)})
_MON["sept"] = 9
_MON_RE = r"january|february|march|april|may|june|july|august|september|october|november|december|" \
          r"jan|feb|mar|apr|jun|jul|aug|sept|sep|oct|nov|dec"
_SEASON = {"summer": "summer", "winter": "winter", "spring": "spring", "fall": "autumn", "autumn": "autumn"}
_HOL = {"christmas": "christmas", "thanksgiving": "thanksgiving", "new year": "new-year",
        "new year's": "new-year", "new years": "new-year", "new year's day": "new-year",
        "national day": "national-day", "chinese new year": "spring-festival",
        "spring festival": "spring-festival", "lunar new year": "spring-festival"}
_HOL_RE = r"chinese new year|lunar new year|spring festival|national day|christmas|thanksgiving|new year'?s?(?: day)?"
_PREP = r"(?:(?P<prep>in|during|over|for|on|at|by|around)\s+)?"
_REL = {"this": 0, "coming": 1, "the coming": 1, "next": 1, "the next": 1, "the following": 1,
        "last": -1, "the past": -1, "past": -1, "previous": -1, "the last": -1}

RULES = DateRules(re.IGNORECASE)
rule = RULES.rule
scan = RULES.scan


def _season(today: date, name: str, n: int | None) -> D.Period:
    """``n`` None = the coming one; 0 = this year's; +-1 = next / last."""
    key = _SEASON[name]
    if n is None:
        return D.upcoming(today, D.season, key, None)
    base = today.year
    if key == "winter" and today.month <= 2:
        base -= 1  # in January "this winter" is the one that started last December
    return D.season(base + n, key, None)


def _holiday(today: date, key: str, n: int | None) -> D.Period:
    if n is None or n == 1:  # "next Christmas" is the coming one
        return D.upcoming(today, D.holiday, key)
    if n < 0:
        p = D.holiday(today.year, key)
        return p if p.last_day < today else D.holiday(today.year - 1, key)
    return D.holiday(today.year + n, key)


@rule(rf"\b{_PREP}(?P<rel>the coming|coming|this|next|the next|the following|last|the last|the past|previous)\s+"
      rf"(?P<unit>year|month|week|weekend|summer|winter|spring|fall|autumn|{_HOL_RE}|{_WD_RE})"
      r"(?:\s+(?:vacation|break|holidays?))?\b")
def _rel_unit(m: re.Match, today: date) -> D.Period | None:
    n = _REL[m.group("rel").lower()]
    unit = m.group("unit").lower()
    if unit == "year":
        return D.year(today.year + n)
    if unit == "month":
        y, mon = D.add_months(today, n)
        return D.month(y, mon)
    if unit == "week":
        return D.week(today + timedelta(weeks=n))
    if unit == "weekend":
        return D.weekend(today + timedelta(weeks=n))
    if unit in _SEASON:
        return _season(today, unit, n)
    if unit in _WD:
        wd = _WD[unit]
        if n < 0:
            return D.day(D.last_weekday(today, wd), weekday=True)
        if m.group("rel").lower() == "this":
            return D.day(D.next_weekday(today, wd), weekday=True)
        return D.day(D.weekday_in_week(today, 1, wd), weekday=True)
    key = _HOL.get(unit.replace("’", "'"))
    return _holiday(today, key, n) if key else None


@rule(r"\b(?:the\s+)?(?P<w>(?:day\s+after\s+tomorrow|day\s+before\s+yesterday))\b|"
      r"\b(?P<d>tomorrow|yesterday|today|tonight)(?:\s+(?:morning|afternoon|evening|night))?\b|"
      r"\bthis\s+(?:morning|afternoon|evening)\b|\blast\s+night\b")
def _day_rel(m: re.Match, today: date) -> D.Period:
    word = (m.group("w") or m.group("d") or m.group(0)).lower()
    if "after" in word:
        n = 2
    elif "before" in word:
        n = -2
    elif word.startswith("tomorrow"):
        n = 1
    elif word.startswith("yesterday") or word == "last night":
        n = -1
    else:
        n = 0
    return D.day(today + timedelta(days=n))


_UNIT = r"(?P<u>days?|weeks?|months?|years?)"


@rule(rf"\b(?:in|within)\s+(?P<n>{EN_NUM})\s+{_UNIT}(?:'?\s*time)?\b|"
      rf"\b(?P<n2>{EN_NUM})\s+(?P<u2>days?|weeks?|months?|years?)\s+(?P<dir>ago|from now|later)\b")
def _n_units(m: re.Match, today: date) -> D.Period | None:
    n = to_int(m.group("n") or m.group("n2"))
    unit = (m.group("u") or m.group("u2")).lower().rstrip("s")
    if not n:
        return None
    if (m.group("dir") or "").lower() == "ago":
        n = -n
    return D.offset(today, n, unit)


@rule(rf"\b(?:on\s+)?(?P<wd>{_WD_RE})\b(?!s)")
def _weekday(m: re.Match, today: date) -> D.Period:
    return D.day(D.next_weekday(today, _WD[m.group("wd").lower()]), weekday=True)


@rule(rf"\b{_PREP}(?:(?P<part>early|mid|late|the end of|the beginning of|the start of|the middle of)[-\s]+)?"
      rf"(?P<mon>{_MON_RE})\.?(?:\s+(?P<d>\d{{1,2}})(?:st|nd|rd|th)?)?(?:,?\s+(?P<y>(?:19|20)\d\d))?\b")
def _month(m: re.Match, today: date) -> D.Period | None:
    word = m.group("mon")
    if word.lower() in ("may", "mar") and not (m.group("d") or m.group("y") or m.group("prep") or m.group("part")):
        return None  # "I may go", "mar" as a verb
    if word.lower() == "may" and word[0] != "M" and not m.group("d"):
        return None
    if len(word) <= 4 and word[0].islower() and not m.group("d"):
        return None
    mon = _MON[word.lower()]
    y = int(m.group("y")) if m.group("y") else today.year
    if m.group("d"):
        return D.day(date(y, mon, int(m.group("d"))))
    part = (m.group("part") or "").lower()
    part_key = "early" if part in ("early", "the beginning of", "the start of") else \
        "late" if part in ("late", "the end of") else "mid" if part else None
    return D.month(y, mon, part_key)


@rule(rf"\b{_PREP}(?:the\s+)?(?P<s>summer|winter|spring|fall|autumn)(?:\s+(?:vacation|break|holidays?))?"
      r"(?:\s+(?:of\s+)?(?P<y>(?:19|20)\d\d))?\b")
def _bare_season(m: re.Match, today: date) -> D.Period | None:
    if m.group("y"):
        return D.season(int(m.group("y")), _SEASON[m.group("s").lower()], None)
    if not m.group("prep") and "the" not in m.group(0).lower():
        return None  # "I love summer" is not a date
    return _season(today, m.group("s").lower(), None)


@rule(rf"\b{_PREP}(?P<h>{_HOL_RE})(?:\s+(?P<y>(?:19|20)\d\d))?\b")
def _bare_holiday(m: re.Match, today: date) -> D.Period | None:
    key = _HOL.get(m.group("h").lower())
    if key is None:
        return None
    if m.group("y"):
        return D.holiday(int(m.group("y")), key)
    return _holiday(today, key, None)


@rule(r"\b(?P<prep>in|during|by)\s+(?P<y>(?:19|20)\d\d)\b")
def _year(m: re.Match, today: date) -> D.Period:
    return D.year(int(m.group("y")))


@rule(r"\b(?:at\s+)?the\s+(?P<part>end|beginning|start)\s+of\s+(?P<rel>this|next|the)\s+(?P<u>month|year)\b")
def _end_of(m: re.Match, today: date) -> D.Period:
    n = 1 if m.group("rel").lower() == "next" else 0
    part = "late" if m.group("part").lower() == "end" else "early"
    if m.group("u").lower() == "month":
        y, mon = D.add_months(today, n)
        return D.month(y, mon, part)
    return D.month(today.year + n, 12 if part == "late" else 1, part)
