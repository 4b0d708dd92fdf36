"""Chinese explicit preferences: 喜欢 / 爱 / 爱上 / 讨厌 / 不喜欢 / 偏好 / 更喜欢 / 对…感兴趣."""

from __future__ import annotations

from extraction.rules import pattern_cache as re  # re, with a cache that holds all rule patterns

from extraction.rules.base import Found, Sentence, pref, statement_ok, zh_third_person
from extraction.rules.lexicon import is_food, topic_of
from extraction.rules.objects import classify

_NEG = r"不太喜欢|不怎么喜欢|不是很喜欢|不再喜欢|不喜欢|不太爱|不爱|很讨厌|特别讨厌|讨厌|受不了|反感|厌倦了|烦透了"
_POS = (r"最喜欢|超级喜欢|超喜欢|特别喜欢|非常喜欢|很喜欢|挺喜欢|比较喜欢|更喜欢|更偏好|喜欢上了|喜欢上|喜欢|"
        r"爱上了|爱上|迷上了|迷上|热爱|偏爱|钟爱|喜爱|偏好|超爱|最爱|特别爱|很爱|(?<![可恋热亲挚宠偏钟喜])爱(?![人情心好护国惜])")
_OBJ = r"(?P<obj>[^，,。！？!?；;~～\n]{1,24})"
_CUT = re.compile(r"但是|但|不过|因为|所以|而且|可是|，|,|就是")


def _object(raw: str) -> tuple[str, int]:
    """The object up to the first conjunction, and its length in the raw text."""
    m = _CUT.search(raw)
    obj = raw[:m.start()] if m else raw
    return obj, len(obj)


def _polarity(verb: str) -> str:
    if verb == "不再喜欢":
        return "no_longer"
    if re.search(_NEG, verb):
        return "neg"
    if verb in ("更喜欢", "偏好", "更偏好", "偏爱"):
        return "prefer"
    return "pos"


def preference_rules(s: Sentence) -> list[Found]:
    out: list[Found] = []
    t = s.text
    for m in re.finditer(rf"(?P<verb>{_NEG}|{_POS})(?![吃喝看玩听]?的){_OBJ}", t):
        if not statement_ok(s, m.start()):
            continue
        verb = m.group("verb")
        obj, n = _object(m.group("obj"))
        over = None
        cmp = re.search(r"比起(?P<y>[^，,]{1,10})[，,]?(?:我)?$", t[:m.start()])
        if cmp and verb.startswith("更"):
            over = cmp.group("y")
        split = re.split(r"而不是|而非|多过|胜过|多于", obj, maxsplit=1)
        if len(split) == 2 and split[0] and split[1]:
            obj, over = split
        start = cmp.start() if cmp and over else m.start()
        found = classify(obj, "zh", _polarity(verb), (start, m.start("obj") + n), over)
        more = re.match(r"[，,]\s*(?P<w>尤其是|特别是|尤其|特别|比如|例如)(?P<x>[^，,。！？!?；;]{1,14})", t[m.start("obj") + n:])
        if len(found) == 1 and more:
            found[0].clause += f"，{more.group('w')}{more.group('x')}"
            found[0].spans.append((m.start("obj") + n, m.start("obj") + n + more.end()))
        out.extend(found)
    # 我的爱好是X / 我最喜欢的Y是X
    for m in re.finditer(rf"(?:我的)?(?:爱好|兴趣爱好|兴趣)是{_OBJ}|(?:我)?最(?:喜欢|爱)(?P<v2>[吃喝看玩听])?的(?P<cat>[\u4e00-\u9fff]{{1,4}}?)?是{_OBJ.replace('obj', 'obj2')}", t):
        if not statement_ok(s, m.start()):
            continue
        raw = m.group("obj") or m.group("obj2")
        obj, n = _object(raw)
        cat = m.group("cat") or ""
        if m.group("v2") in ("吃", "喝"):
            cat = "食物"
        if cat in ("食物", "菜", "吃的", "美食", "零食", "饮料", "水果", "甜品") and not obj.startswith(("吃", "喝")) \
                and not is_food(obj):
            obj = "吃" + obj
        start_obj = m.start("obj") if m.group("obj") else m.start("obj2")
        out.extend(classify(obj, "zh", "pos", (m.start(), start_obj + n)))
    # 对X(很)感兴趣 / 对X不感兴趣
    for m in re.finditer(r"对(?P<obj>[^，,。！？!?]{1,12}?)(?P<neg>不|没)?(?:太|很|特别|非常|比较|挺)?(?:感兴趣|有兴趣)", t):
        if statement_ok(s, m.start()):
            out.extend(classify(m.group("obj"), "zh", "neg" if m.group("neg") else "pos", m.span()))
    # habits: 周末经常去爬山 / 每天都跑步 -- only for known topics
    for m in re.finditer(r"(?:经常|常常|总是|老是|每天都?|每周都?|每个周末都?|平时都?|一有空就|有空就|空闲时)(?:会)?(?:去)?"
                         r"(?P<obj>[\u4e00-\u9fff]{2,6}?)" + r"(?=[，,。！？!?；;~～\s]|$|了|呢|啊)", t):
        topic = topic_of(m.group("obj"))
        if topic is None or not statement_ok(s, m.start()):
            continue
        a = m.start()
        for d in s.dates:
            if d.end <= m.start() and m.start() - d.end <= 2:
                a = d.start
        clause = zh_third_person(t[a:m.end()])
        out.append(pref(f"preference.{topic}", clause, (a, m.end()), value=m.group("obj"), habit=True))
    return out


RULES = [preference_rules]
