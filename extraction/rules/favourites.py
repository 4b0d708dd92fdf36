"""Favourites per category: one current favourite band, film, colour, writer, ... per user.

Why: "my favourite band is Radiohead" read as "likes Radiohead" makes the next favourite a
second, unrelated like ("likes Arctic Monkeys") and the old one stays current. A favourite is
a value of its category: the slot is ``favourite.<category>``, so any later statement of a
favourite in that category revises it, however it is phrased: "X is my favourite C",
"my favourite C these days is X", "X replaced Y as my favourite C", 我最喜欢的C换成了X,
《X》成了我最喜欢的C. Food categories (food, dish, 食物, 菜 ...) stay with the profile's
liked foods.
"""

from __future__ import annotations

from extraction.rules import pattern_cache as re
from extraction.rules.base import Found, Sentence, pref, statement_ok
from extraction.rules.lexicon import slugify

I = re.IGNORECASE
FOOD_CATEGORIES_EN = frozenset("food foods dish dishes meal meals cuisine snack snacks".split())
FOOD_CATEGORIES_ZH = frozenset(("食物", "菜", "美食", "吃的", "零食", "饭", "东西"))
_EN_NOT_CATEGORY = re.compile(r"^(?:thing|things|part|one|ones|way|place to be)$", I)
_EN_OBJ_END = r"(?=\s*(?:[,.;!?]|$|\s+now\b|\s+these days\b|\s+nowadays\b|\s+but\b|\s+and\s+I\b|\s+by far\b))"
_EN_LEAD_OBJ = re.compile(r"^(?:(?:honestly|so|well|also|now|and|but|actually|these days|nowadays)[\s,]+)+", I)
_ZH_OBJ = r"(?P<obj>《[^》]+》|[^，,。！？!?；;~～\s]{1,14}?)"
_ZH_END = r"(?=[，,。！？!?；;~～\s]|$|了|啦|吧|呢)"


def _en(s: Sentence, obj: str, cat: str, fav: str, span: tuple[int, int]) -> Found | None:
    obj = _EN_LEAD_OBJ.sub("", obj.strip()).strip(" \"'")
    cat = cat.strip().lower()
    if not obj or not cat or cat in FOOD_CATEGORIES_EN or _EN_NOT_CATEGORY.match(cat) or len(obj.split()) > 6:
        return None
    if re.match(r"(?:it|this|that|mine|what|which|who)\b", obj, I):
        return None
    f = pref(f"favourite.{slugify(cat)}", f"has {obj} as their {fav.lower()} {cat}", span, value=obj, category=cat)
    f.content = f"The user's {fav.lower()} {cat} is {obj}."
    return f


def _zh(obj: str, cat: str, span: tuple[int, int]) -> Found | None:
    obj = re.sub(r"^(?:现在|目前|最近|其实|已经|就是|是)+", "", obj.strip())
    obj = re.sub(r"(?:了|啦|吧|呢)+$", "", obj)
    if not obj or not cat or cat in FOOD_CATEGORIES_ZH or re.match(r"^(?:什么|哪|谁|这|那|它)", obj):
        return None
    f = pref(f"favourite.{slugify(cat)}", f"最喜欢的{cat}是{obj}", span, value=obj, category=cat)
    return f


def favourite_rules(s: Sentence) -> list[Found]:
    out: list[Found] = []
    t = s.text
    if s.lang == "zh":
        for m in re.finditer(r"(?:现在|目前|最近)?(?:我)?(?:现在|目前|最近)?最(?:喜欢|爱)(?P<v>[吃喝看玩听读])?的"
                             r"(?P<cat>[\u4e00-\u9fff]{1,4}?)(?:现在|目前|已经|也)?"
                             r"(?:换成了|换成|变成了|变成|改成了|成了|是)" + _ZH_OBJ + _ZH_END, t):
            if not statement_ok(s, m.start()) or (m.group("v") in ("吃", "喝")):
                continue
            f = _zh(m.group("obj"), m.group("cat"), m.span())
            if f:
                out.append(f)
        for m in re.finditer(r"(?P<obj>《[^》]+》|它|[\u4e00-\u9fffA-Za-z0-9]{1,10}?)(?:已经|现在|也)?"
                             r"(?:成了|成为了|成为|变成了|变成|就是|是)(?:我)?(?:现在|目前|新的)?最(?:喜欢|爱)的"
                             r"(?P<cat>[\u4e00-\u9fff]{1,4}?)" + _ZH_END, t):
            obj = m.group("obj")
            start = m.start()
            if obj == "它":  # "看完《流浪地球》之后，它成了我最喜欢的电影": the title it refers to
                titles = list(re.finditer(r"《[^》]+》", t[:m.start()]))
                if not titles:
                    continue
                obj, start = titles[-1].group(0), titles[-1].start()
            if not statement_ok(s, m.start("cat")) or any(f.spans[0][0] <= m.start() < f.spans[0][1] for f in out):
                continue
            f = _zh(obj, m.group("cat"), (start, m.end()))
            if f:
                out.append(f)
        return out
    for m in re.finditer(r"\bmy\s+(?:(?:all-time|current|new|absolute)\s+)?(?P<fav>favou?rite)\s+(?P<cat>[a-z]+(?:\s+[a-z]+){0,3}?)"
                         r"\s+(?:(?:these days|right now|now|nowadays|lately|at the moment)\s+)?(?:is|are)\s+"
                         r"(?:(?:now|probably|definitely|still|actually|easily)\s+)?(?P<obj>[^,.;!?]{1,40}?)" + _EN_OBJ_END, t, I):
        if not statement_ok(s, m.start()):
            continue
        f = _en(s, m.group("obj"), m.group("cat"), m.group("fav"), m.span())
        if f:
            out.append(f)
    for m in re.finditer(r"(?:^|(?<=[,;:]\s)|(?<=\band\s))(?P<obj>[\w'&-]+(?:\s+[\w'&-]+){0,4}?)\s+"
                         r"(?:(?:has|have)\s+)?(?:(?:officially|definitely|now|just|finally|totally|basically)\s+)?"
                         r"(?:is|are|become|became|is now|(?:taken|took) over as|"
                         r"(?:replaced|overtook|overtaken|dethroned)\s+(?P<old>[^,.;!?]{1,30}?)\s+as)\s+my\s+"
                         r"(?:(?:new|all-time|current|absolute)\s+)?(?P<fav>favou?rite)\s+(?P<cat>[a-z]+(?:\s+[a-z]+){0,2}?)"
                         r"(?=\s*(?:[,.;!?]|$|\s+now\b|\s+these days\b|\s+and\b|\s+but\b|\s+by far\b))", t, I):
        if not statement_ok(s, m.start("fav")):
            continue
        f = _en(s, m.group("obj"), m.group("cat"), m.group("fav"), m.span())
        if f:
            if m.group("old"):
                f.attributes["replaced"] = m.group("old")
            out.append(f)
    return out


RULES = [favourite_rules]
