"""Chinese plans and events: 计划今年暑假去广州旅游 / 下周三要去面试 / 上周去了北京."""

from __future__ import annotations

from extraction.rules import pattern_cache as re  # re, with a cache that holds all rule patterns

from extraction.rules.base import (HABITUAL, Found, Sentence, clause_end, clause_start, fact, hedged, is_question_clause,
                                   subject_is_user, zh_third_person)
from extraction.rules.dates import DateMention
from extraction.rules.places import is_known_place, place_key, zh_place_at

_PURPOSE = re.compile(r"旅游|旅行|度假|游玩|出差|自驾游|自驾|看看|逛逛|转转|避暑|过年|过暑假|探亲|度蜜月|玩|"
                      r"(?:参加|出席|看望|拜访|探望|参观|见)[\u4e00-\u9fff]{1,10}?(?=[，,。！？!?；;]|$)|"
                      r"看(?!病)[\u4e00-\u9fff]{1,6}?(?=[，,。！？!?；;]|$)|爬[\u4e00-\u9fff]{1,4}?(?=[，,。！？!?；;]|$)")
_KEEP_PURPOSE = {"旅游", "旅行", "度假", "出差", "自驾游", "避暑", "过年", "探亲", "度蜜月"}
_NOT_DESTINATION = re.compile(r"^(?:医院|超市|公司|学校|银行|商场|健身房|机场|火车站|面试|上班|开会|看病|体检|吃饭|买|看电影|"
                              r"上学|加班|出差|参加|见|接|送|办|拿|取|找|做|报到|剪头发|理发|图书馆|食堂|办公室|单位)")
"""Not a destination: errands."""
_ACTIVITY = re.compile(r"^[爬逛玩吃打跑骑钓游滑健](?![州江])")
"""An activity after 去 (去爬山, 去逛街, 去钓鱼): a place only when one follows it (去爬泰山)."""
_BOOKED = re.compile(r"机票|车票|高铁票|火车票|船票|订好了|订了|预订|买好了?票")
"""A booked ticket or stay makes the place after 去 a destination, known or not (去西双版纳的机票)."""
_PLACE_SUFFIX = re.compile(r"(?:市|省|县|岛|山|湖|镇|村|古城)$")
_VERB = re.compile(r"计划|打算|准备|想要|想|要|将要|将|会|安排")
_REL = (r"家人|全家|一家人|家里人|爸妈|父母|爸爸|妈妈|孩子们|孩子|小孩|老婆|老公|妻子|丈夫|太太|爱人|女朋友|男朋友|女友|男友|"
        r"对象|朋友们|朋友|同事们|同事|同学们|同学|闺蜜|兄弟|室友|儿子|女儿|宝宝|爷爷奶奶|外公外婆|老人")
_COMPANION = re.compile(rf"(?P<m>带|和|跟|陪|同)(?:着)?(?:我的|我)?(?P<c>{_REL})(?:一起)?")


def when_zh(d: DateMention | None) -> str:
    if d is None:
        return ""
    return f"于{d.period.zh}" if d.period.granularity == "day" else f"在{d.period.zh}期间"


def travel_clause(verb: str, d: DateMention | None, companion: str, place: str, purpose: str) -> str:
    return f"{verb}{when_zh(d)}{companion}前往{place}{purpose}"


def travel_rules(s: Sentence) -> list[Found]:
    out: list[Found] = []
    t = s.text
    for m in re.finditer(r"(?:(?<![过回出下上进失除死离来搬])去|(?<![想感收找遇看听得做达说提来回受碰见迟搬])到|前往|飞往|飞去|飞到|回)(?!了|过|年)", t):
        p = zh_place_at(t, m.end())
        if p is None or _NOT_DESTINATION.match(p[0]):
            continue
        place, end = p
        if _ACTIVITY.match(place):
            place = place[1:]
            if len(place) < 2 or not (is_known_place(place) or _PLACE_SUFFIX.search(place)):
                continue
        pm = _PURPOSE.match(t, end)
        booked = _BOOKED.search(t)
        if not (is_known_place(place) or pm or booked or _PLACE_SUFFIX.search(place)):
            continue  # an unknown word after 去 is only a place when a travel purpose follows
        cs = clause_start(t, m.start())
        before = t[cs:m.start()]
        verb = None
        for v in _VERB.finditer(before):
            verb = v
        date = s.date_near(m.start(), ("future", "present"))
        past = s.date_near(m.start(), ("past",))
        if past is not None and (date is None or abs(past.start - m.start()) < abs(date.start - m.start())):
            continue
        if not (verb or pm or booked or (date is not None and date.tense == "future")):
            continue
        if HABITUAL.search(before) and not verb:
            continue
        if m.group(0) == "回" and not (pm or date):
            continue
        comps = list(_COMPANION.finditer(before))
        comp = comps[-1] if comps else None
        subject_pos = cs + comp.start() if comp else m.start()
        if not subject_is_user(t, subject_pos, "zh") or is_question_clause(t, m.start(), "zh"):
            continue
        if hedged(t, subject_pos, "zh") and not (verb and verb.group(0) in ("计划", "打算", "准备")):
            continue
        companion = ""
        if comp:
            companion = f"带{comp.group('c')}" if comp.group("m") == "带" else f"和{comp.group('c')}一起"
        elif re.search(r"全家|一家人|我们家", before):
            companion = "和家人一起"
        purpose = pm.group(0) if pm else ""
        purpose_out = purpose if purpose in _KEEP_PURPOSE or (len(purpose) > 2 and purpose[0] in "看爬") \
            or re.match(r"参加|出席|看望|拜访|探望|参观|见", purpose) else "旅游"  # 参加朋友婚礼: the reason itself
        verb_out = "想" if verb and verb.group(0) in ("想", "想要") else "计划"
        start = cs + (verb.start() if verb else m.start() - cs)
        if date is not None:
            start = min(start, date.start)
        span_end = end + (pm.end() - end if pm else 0)
        slot = f"travel.{date.token}" if date else f"travel.{place_key(place)}"
        clause = travel_clause(verb_out, date, companion, place, purpose_out)
        f = fact(slot, clause, (start, span_end), destination=place, period=date.token if date else None,
                 when=date.period.zh if date else None, companions=comp.group("c") if comp else None,
                 purpose=purpose_out)
        f.spans.append((cs, m.start()))
        if date is not None:
            f.spans.append((date.start, date.end))
        out.append(f)
    return out


def _segment(s: Sentence, d: DateMention) -> tuple[int, int]:
    return clause_start(s.text, d.start), clause_end(s.text, d.end)


def _rewrite(s: Sentence, a: int, b: int) -> str:
    seg = s.text[a:b]
    for d in sorted(s.dates, key=lambda d: -d.start):
        if a <= d.start and d.end <= b:
            seg = seg[:d.start - a] + d.period.zh + seg[d.end - a:]
    return zh_third_person(re.sub(r"[了啊呀哦呢吧啦～~！!。]+$", lambda m: "了" if "了" in m.group(0) else "", seg))


def event_rules(s: Sentence) -> list[Found]:
    out: list[Found] = []
    for d in s.dates:
        if d.tense != "past":
            continue
        a, b = _segment(s, d)
        seg = s.text[a:b]
        if not re.search(r"[\u4e00-\u9fff](?:了|过)", seg[d.end - a:]):
            continue
        if not subject_is_user(s.text, d.start, "zh") or hedged(s.text, d.start, "zh") or is_question_clause(s.text, d.start, "zh"):
            continue
        place = None
        pm = re.search(r"(?:去|到|回)(?:了|过)", seg)
        if pm:
            p = zh_place_at(s.text, a + pm.end())
            place = p[0] if p else None
        slot = f"event.{d.token}" + (f".{place_key(place)}" if place else "")
        out.append(fact(slot, _rewrite(s, a, b), (a, b), period=d.token, when=d.period.zh, place=place))
    return out


def back_from_rules(s: Sentence) -> list[Found]:
    """刚从日本回来: a recent trip, dated by the message itself."""
    out: list[Found] = []
    for m in re.finditer(r"(?:我)?(?:刚刚?|才|前几天|最近)从", s.text):
        p = zh_place_at(s.text, m.end())
        if p is None or not re.match(r"(?:旅游|旅行|出差)?回来", s.text[p[1]:]) or s.chat_time is None:
            continue
        back = re.match(r"(?:旅游|旅行|出差)?回来(?:了)?", s.text[p[1]:])
        if not subject_is_user(s.text, m.start(), "zh"):
            continue
        day = s.chat_time.date()
        clause = f"刚从{p[0]}{back.group(0).rstrip('了')}（截至{day.year}年{day.month}月{day.day}日）"
        out.append(fact(f"event.{day.isoformat()}.{place_key(p[0])}", clause, (m.start(), p[1] + back.end()),
                        place=p[0], period=day.isoformat()))
    return out


def plan_rules(s: Sentence) -> list[Found]:
    out: list[Found] = []
    for d in s.dates:
        if d.tense == "past":
            continue
        a, b = _segment(s, d)
        seg = s.text[a:b]
        if not re.search(r"要|会|准备|打算|计划|将|得|需要|安排|约了|预约了|报名了|订了|想|结婚|搬家|毕业|入职|出发|考试|"
                         r"面试|开学|生日|婚礼|手术|体检|生孩子|预产期", seg):
            continue
        if not subject_is_user(s.text, d.start, "zh") or is_question_clause(s.text, d.start, "zh"):
            continue
        if len(seg) < len(d.surface) + 2:
            continue
        slot = "plan.move" if "搬" in seg else f"plan.{d.token}"
        out.append(fact(slot, _rewrite(s, a, b), (a, b), period=d.token, when=d.period.zh))
    return out


RULES = [travel_rules, back_from_rules, event_rules, plan_rules]
