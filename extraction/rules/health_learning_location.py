"""Smaller zh + en rule families: health conditions, salt / sugar limits, what the user
is learning, and where the user is right now."""

from __future__ import annotations

from extraction.rules import pattern_cache as re  # re, with a cache that holds all rule patterns

from extraction.rules.base import Found, Sentence, fact, statement_ok
from extraction.rules.lexicon import slugify
from extraction.rules.places import en_place_at, zh_place_at

I = re.IGNORECASE

HEALTH: dict[str, tuple[str, ...]] = {
    "hypertension": ("高血压", "high blood pressure", "hypertension"),
    "diabetes": ("糖尿病", "diabetes"),
    "asthma": ("哮喘", "asthma"),
    "gout": ("痛风", "gout"),
    "high-cholesterol": ("高血脂", "高胆固醇", "high cholesterol"),
    "stomach": ("胃病", "肠胃不好", "胃不好", "a sensitive stomach", "stomach problems", "ibs"),
    "insomnia": ("失眠", "insomnia"),
    "back-pain": ("腰疼", "腰痛", "腰椎间盘突出", "back pain", "a bad back"),
    "migraine": ("偏头痛", "migraines", "migraine"),
    "pregnancy": ("怀孕了", "怀孕", "pregnant"),
}
TASTE = {"咸": "salt", "甜": "sugar", "油腻": "oily", "油": "oily", "凉": "cold", "冰": "cold",
         "salty": "salt", "sweet": "sugar", "sugary": "sugar", "oily": "oily", "greasy": "oily", "fried": "oily"}
LEARN: dict[str, tuple[str, ...]] = {
    "english": ("英语", "英文", "english"), "japanese": ("日语", "日文", "japanese"), "korean": ("韩语", "korean"),
    "french": ("法语", "french"), "german": ("德语", "german"), "spanish": ("西班牙语", "spanish"),
    "chinese": ("中文", "汉语", "普通话", "chinese", "mandarin"), "italian": ("意大利语", "italian"),
    "guitar": ("吉他", "guitar"), "piano": ("钢琴", "piano"), "programming": ("编程", "写代码", "programming", "coding"),
    "python": ("python",), "drawing": ("画画", "绘画", "drawing", "painting"), "swimming": ("游泳", "swimming", "to swim"),
    "driving": ("开车", "驾照", "driving", "to drive"), "cooking": ("做饭", "烹饪", "cooking", "to cook"),
    "photography": ("摄影", "photography"), "dancing": ("跳舞", "dancing", "to dance"), "yoga": ("瑜伽", "yoga"),
}


def _key(table: dict[str, tuple[str, ...]], text: str) -> str | None:
    low = text.strip().lower()
    for key, aliases in table.items():
        if low in aliases or any(len(a) >= 2 and a in low for a in aliases):
            return key
    return None


def zh_health(s: Sentence) -> list[Found]:
    out: list[Found] = []
    names = "|".join(sorted({a for al in HEALTH.values() for a in al if not a.isascii()}, key=len, reverse=True))
    for m in re.finditer(rf"(?:我)?(?:有|患有|得了|查出了?|一直有)?(?P<c>{names})", s.text):
        if statement_ok(s, m.start()):
            c = m.group("c")
            out.append(fact(f"health.{_key(HEALTH, c)}", f"有{c}" if not c.endswith("了") else c, m.span(), profile=True, value=c))
    for m in re.finditer(r"(?:我)?(?:不能|不敢|不可以|不宜|要少|得少|不太能|不)吃(?:太|很|过于|特别)?(?P<t>咸|甜|油腻|油|凉|冰)(?:的)?(?:东西|食物)?", s.text):
        if statement_ok(s, m.start()):
            out.append(fact(f"diet.{TASTE[m.group('t')]}", m.group(0).lstrip("我"), m.span(), profile=True, value="limit"))
    return out


def en_health(s: Sentence) -> list[Found]:
    out: list[Found] = []
    names = "|".join(sorted({re.escape(a) for al in HEALTH.values() for a in al if a.isascii()}, key=len, reverse=True))
    for m in re.finditer(rf"\bI(?:'m| am| have| have got|'ve got| was diagnosed with| suffer from| got)\s+(?P<c>{names})\b", s.text, I):
        if statement_ok(s, m.start()):
            c = m.group("c")
            clause = f"is {c}" if c.lower() == "pregnant" else f"has {c}"
            out.append(fact(f"health.{_key(HEALTH, c)}", clause, m.span(), profile=True, value=c))
    for m in re.finditer(r"\bI\s+(?:can't|cannot|shouldn't|should not|don't|do not|need to avoid|have to avoid|avoid)\s+"
                         r"(?:eat\s+|have\s+)?(?:too\s+much\s+|anything\s+too\s+|very\s+)?(?P<t>salty|sweet|sugary|oily|greasy|fried)"
                         r"(?:\s+(?:food|foods|things|stuff))?\b", s.text, I):
        if statement_ok(s, m.start()):
            out.append(fact(f"diet.{TASTE[m.group('t').lower()]}", f"avoids {m.group('t').lower()} food", m.span(),
                            profile=True, value="limit"))
    return out


def zh_learning(s: Sentence) -> list[Found]:
    out: list[Found] = []
    for m in re.finditer(r"(?:我)?(?:最近|现在|目前)?(?:在|正在|开始|刚开始|一直在)(?:学习|学|练)(?P<x>[\u4e00-\u9fffA-Za-z]{2,6}?)"
                         r"(?=[，,。！？!?；;~～\s]|$|了|呢)", s.text):
        if statement_ok(s, m.start()):
            x = m.group("x")
            out.append(fact(f"learning.{_key(LEARN, x) or slugify(x)}", f"正在学{x}", m.span(), value=x))
    return out


def en_learning(s: Sentence) -> list[Found]:
    out: list[Found] = []
    for m in re.finditer(r"\bI(?:'m| am|'ve been| have been|\s+started|\s+just started|\s+recently started)\s+"
                         r"(?:learning|studying|taking|practicing|practising)\s+(?:how\s+)?(?P<x>(?:to\s+)?[\w +#-]{2,25}?)"
                         r"(?:\s+(?:lessons|classes|courses?))?(?=\s*(?:[,.!;]|$|\s+and\b|\s+but\b|\s+at\b|\s+online\b|\s+now\b))",
                         s.text, I):
        x = m.group("x").strip()
        if re.match(r"(?:for|at|in|about|the|a|an)\b", x, I) or not statement_ok(s, m.start()):
            continue
        if re.match(r"\s+at\s+[A-Z]", s.text[m.end():]):
            continue  # "studying X at MIT" is education
        out.append(fact(f"learning.{_key(LEARN, x) or slugify(x)}", f"is learning {x}", m.span(), value=x))
    return out


_SETTLED_ZH = re.compile(r"租了?(?:一套|套|间|一间)?房|买了?(?:一套|套)?房|新家|新房子|新城市|定居|安家|落户|扎根|搬家|搬过来|搬来|长住|住下")
_SETTLED_EN = re.compile(r"\b(?:apartment|flat|condo|house|lease|rent(?:ing|ed)?|new (?:city|town|home|place)|settled|"
                         r"moved|relocated|for good|home now)\b", re.IGNORECASE)
"""A sentence that says the user set up home where they now are: a residence, not a whereabouts."""


def zh_current_location(s: Sentence) -> list[Found]:
    out: list[Found] = []
    for m in re.finditer(r"(?:我)?(?:现在|目前|此刻|这几天|这会儿)(?:人)?在", s.text):
        p = zh_place_at(s.text, m.end())
        if p is None or s.chat_time is None or not statement_ok(s, m.start()):
            continue
        if not re.match(r"\s*(?:[，,。！？!?；;~～]|$|呢|啊|哦|了)", s.text[p[1]:]):
            continue  # 现在在上海工作 / 居住 belongs to the work / residence rules
        if _SETTLED_ZH.search(s.text):  # 现在在苏州了，租了套房子: living there, not passing through
            out.append(fact("residence", f"在{p[0]}居住", (m.start(), p[1]), profile=True, value=p[0]))
            continue
        d = s.chat_time.date()
        out.append(fact("location.current", f"{d.year}年{d.month}月{d.day}日时在{p[0]}", (m.start(), p[1]),
                        value=p[0], as_of=d.isoformat()))
    return out


def en_current_location(s: Sentence) -> list[Found]:
    out: list[Found] = []
    for m in re.finditer(r"\bI(?:'m| am)\s+(?:currently|now|right now|at the moment)?\s*(?:in|visiting)\s+", s.text, I):
        p = en_place_at(s.text, m.end())
        if p is None or s.chat_time is None or not statement_ok(s, m.start()):
            continue
        tail = re.match(r"\s*(?:right now|at the moment|currently|now|this week|for (?:work|a conference|a meeting))?\s*(?=[,.!;?]|$)",
                        s.text[p[1]:], I)
        if tail is None or not re.search(r"currently|now|moment|visiting|this week|for", m.group(0) + tail.group(0), I):
            continue
        if _SETTLED_EN.search(s.text) and not re.search(r"visiting|this week|for (?:work|a conference|a meeting)",
                                                          m.group(0) + tail.group(0), I):
            out.append(fact("residence", f"lives in {p[0]}", (m.start(), p[1] + tail.end()), profile=True, value=p[0]))
            continue  # "I'm in Boulder now, got an apartment downtown": a new home, not a trip
        d = s.chat_time.date()
        out.append(fact("location.current", f"was in {p[0]} as of {d.isoformat()}", (m.start(), p[1] + tail.end()),
                        value=p[0], as_of=d.isoformat()))
    return out


ZH_RULES = [zh_health, zh_learning, zh_current_location]
EN_RULES = [en_health, en_learning, en_current_location]
