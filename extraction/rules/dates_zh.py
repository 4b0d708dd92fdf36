"""Chinese relative-date expressions: 今年暑假, 下个月底, 下周三, 明天, 两周后, 国庆 ..."""

from __future__ import annotations

from extraction.rules import pattern_cache as re  # re, with a cache that holds all rule patterns
from datetime import date, timedelta

from extraction.rules import dates as D
from extraction.rules.date_rules import DateRules
from extraction.rules.numerals import cn_to_int

_N = r"(?:\d{1,2}|[一二三四五六七八九十两]{1,3})"
_YEAR_REL = {"今年": 0, "明年": 1, "去年": -1, "前年": -2, "后年": 2}
_SEASON_ZH = {"暑假": "summer", "夏天": "summer", "夏季": "summer", "春天": "spring", "春季": "spring",
              "秋天": "autumn", "秋季": "autumn", "冬天": "winter", "冬季": "winter"}
_HOLIDAY_ZH = {"国庆": "national-day", "十一": "national-day", "春节": "spring-festival", "过年": "spring-festival",
               "五一": "may-day", "劳动节": "may-day", "元旦": "new-year", "中秋": "mid-autumn",
               "圣诞": "christmas", "寒假": "winter-break"}
_PART = {"底": "late", "末": "late", "初": "early", "上旬": "early", "中旬": "mid", "下旬": "late"}
_WD = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6}
_HOLIDAY_RE = r"国庆(?:节)?(?:假期|长假)?|十一(?:黄金周|假期|长假)?(?=假期|长假|黄金周|期间|的时候|去|回|出|要|打算|准备|想|我|，|,)|春节|过年|五一(?:假期|长假)?|劳动节|元旦|中秋(?:节)?|圣诞(?:节)?|寒假"
_MONTH_RE = rf"(?P<m>{_N})月份?(?:(?P<d>{_N})[日号])?(?P<part>底|初|中旬|上旬|下旬)?"

RULES = DateRules(0)
rule = RULES.rule
scan = RULES.scan


def _season_or_holiday(word: str, y: int) -> D.Period | None:
    base = word.replace("节", "").replace("假期", "").replace("长假", "").replace("黄金周", "") if word != "劳动节" else word
    if word in _SEASON_ZH:
        return D.season(y, _SEASON_ZH[word], "暑假" if word == "暑假" else None)
    key = _HOLIDAY_ZH.get(base) or _HOLIDAY_ZH.get(word)
    if key is None:
        return None
    p = D.holiday(y, key)
    if base in ("五一", "国庆", "中秋", "春节", "元旦", "寒假", "十一"):
        label = "国庆" if base == "十一" else base
        return D.Period(p.granularity, p.first_day, p.last_day, p.token, f"{y}年{label}", p.en, p.en_prep)
    return p


def _month_part(m: re.Match, y: int) -> D.Period | None:
    mon = cn_to_int(m.group("m"))
    if mon is None or not 1 <= mon <= 12:
        return None
    if m.group("d"):
        d = cn_to_int(m.group("d"))
        return D.day(date(y, mon, d)) if d else None
    return D.month(y, mon, _PART.get(m.group("part") or ""))


@rule(rf"(?P<y>今年|明年|去年|前年|后年|(?P<abs>(?:19|20)\d\d)年)(?:(?P<sub>暑假|寒假|夏天|夏季|春天|春季|秋天|秋季|冬天|冬季|"
      rf"{_HOLIDAY_RE}|年底|年初|年末|底|初|上半年|下半年)|{_MONTH_RE})?")
def _year_based(m: re.Match, today: date) -> D.Period | None:
    y = int(m.group("abs")) if m.group("abs") else today.year + _YEAR_REL[m.group("y")]
    sub = m.group("sub")
    if m.group("m"):
        return _month_part(m, y)
    if not sub:
        return D.year(y)
    if sub == "寒假" and m.group("y") == "今年" and today.month >= 9:
        y += 1  # 今年寒假 said in autumn means the coming January
    if sub in ("年底", "年末", "底"):
        return D.month(y, 12, "late")
    if sub in ("年初", "初"):
        return D.month(y, 1, "early")
    if sub in ("上半年", "下半年"):
        return D.half(y, 1 if sub == "上半年" else 2)
    return _season_or_holiday(sub, y)


@rule(rf"(?P<rel>下下个月|下个月|下月|上个月|上月|这个月|本月|这月)(?:(?P<d>{_N})[日号]|(?P<part>底|初|中旬|上旬|下旬|末))?")
def _month_rel(m: re.Match, today: date) -> D.Period:
    n = {"下下个月": 2, "下个月": 1, "下月": 1, "上个月": -1, "上月": -1}.get(m.group("rel"), 0)
    y, mon = D.add_months(today, n)
    if m.group("d"):
        return D.day(date(y, mon, cn_to_int(m.group("d")) or 1))
    return D.month(y, mon, _PART.get(m.group("part") or ""))


@rule(r"(?P<rel>下下周|下下个?星期|下周|下个?星期|下个?礼拜|上上周|上周|上个?星期|上个?礼拜|这周|本周|这个?星期|这个?礼拜)"
      r"(?P<wd>[一二三四五六日天](?!气)|末)?")
def _week_rel(m: re.Match, today: date) -> D.Period:
    rel = m.group("rel")
    n = 2 if rel.startswith("下下") else -2 if rel.startswith("上上") else 1 if rel[0] == "下" else -1 if rel[0] == "上" else 0
    wd = m.group("wd")
    if wd == "末":
        return D.weekend(today + timedelta(weeks=n))
    if wd:
        return D.day(D.weekday_in_week(today, n, _WD[wd]), weekday=True)
    return D.week(today + timedelta(weeks=n))


@rule(r"(?<![上下这本每个])(?:周|星期|礼拜)(?P<wd>[一二三四五六日天])(?![气])|(?<![上下这本每])周末")
def _weekday(m: re.Match, today: date) -> D.Period:
    if m.group(0) == "周末":
        return D.weekend(today)
    return D.day(D.next_weekday(today, _WD[m.group("wd")]), weekday=True)


_DAYS = {"大后天": 3, "后天": 2, "明天": 1, "明早": 1, "明晚": 1, "明儿": 1, "今天": 0, "今晚": 0, "今早": 0,
         "今儿": 0, "昨天": -1, "昨晚": -1, "昨儿": -1, "前天": -2, "大前天": -3}


@rule(r"大后天|(?<![先])后天|明天|明早|明晚|明儿|今天|今晚|今早|今儿|昨天|昨晚|昨儿|大前天|(?<![大])前天")
def _day_rel(m: re.Match, today: date) -> D.Period:
    return D.day(today + timedelta(days=_DAYS[m.group(0)]))


_UNITS = {"天": "day", "日": "day", "周": "week", "个星期": "week", "个礼拜": "week", "星期": "week",
          "个月": "month", "年": "year"}


@rule(rf"(?P<n>{_N}|半)(?P<u>天|个?星期|个?礼拜|周|个月|年)(?P<dir>以后|之后|过后|后|以前|之前|前)")
def _n_units(m: re.Match, today: date) -> D.Period | None:
    unit = _UNITS.get(m.group("u"), _UNITS.get(m.group("u").lstrip("个"), "week"))
    back = m.group("dir").endswith("前")
    if m.group("n") == "半":
        if unit == "year":
            unit, n = "month", 6
        elif unit == "month":
            unit, n = "week", 2
        else:
            return None
    else:
        n = cn_to_int(m.group("n"))
        if not n:
            return None
    return D.offset(today, -n if back else n, unit)


@rule(rf"(?<![个几])过(?P<n>{_N}|两)(?P<u>天|个?星期|周|个月)")
def _after(m: re.Match, today: date) -> D.Period | None:
    n = cn_to_int(m.group("n"))
    unit = _UNITS.get(m.group("u"), "week")
    return D.offset(today, n, unit) if n else None


@rule(rf"(?<![年\d一二三四五六七八九十个]){_MONTH_RE}")
def _month_abs(m: re.Match, today: date) -> D.Period | None:
    return _month_part(m, today.year)


@rule(rf"(?<![年今明去前后])(?:{_HOLIDAY_RE}|暑假)|这个(?:夏天|冬天|春天|秋天)")
def _holiday(m: re.Match, today: date) -> D.Period | None:
    word = m.group(0).replace("这个", "")
    if word in _SEASON_ZH:
        name = _SEASON_ZH[word]
        return D.upcoming(today, D.season, name, "暑假" if word == "暑假" else None)
    if word == "寒假":
        y = today.year + 1 if today.month >= 3 else today.year
        return _season_or_holiday(word, y)
    p = _season_or_holiday(word, today.year)
    if p is not None and p.last_day < today:
        p = _season_or_holiday(word, today.year + 1)
    return p


@rule(r"(?<![今明去前后\d年])(?:年底|年末|年初)")
def _year_end(m: re.Match, today: date) -> D.Period:
    return D.month(today.year, 1, "early") if m.group(0) == "年初" else D.month(today.year, 12, "late")
