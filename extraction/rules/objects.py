"""Turn the object of a like / dislike statement into slot + clause.

"喜欢辣锅" and "love spicy food" -> ``diet.spicy``; "爱上四川火锅" and "like sushi" ->
``food.like``; "爱徒步" and "don't like hiking anymore" -> ``preference.hiking``;
"喜欢简约风格的装修" -> ``preference.style.home``.
"""

from __future__ import annotations

from extraction.rules import pattern_cache as re  # re, with a cache that holds all rule patterns

from extraction.rules.base import Found, fact, pref
from extraction.rules.lexicon import hotel_tier_value, is_food, is_spicy, slugify, style_topic, topic_of, topic_slot

_ZH_PRONOUN = re.compile(r"^(?:第[一二三四五六七八九十\d]+个|这个方案|那个方案|这个建议|你的建议|你的|你们|你|您|它们|它|他们|他|她们|她|这个|那个|这些|那些|这样|那样|这里|那里|这|那|自己|上你|大家|人家|别人)")
_EN_PRONOUN = re.compile(r"^(?:it|this|that|these|those|you|your|them|him|her|how|what|when|where|why|which|who|"
                         r"the idea|the way|to know|to ask|to see|to book|to get|to have a|to make|to go with|"
                         r"a lot|so much|him|everything|nothing|anything|something|more|less|one|"
                         r"the (?:first|second|third|last|other|latter|former|next|previous) (?:one|option|choice)|"
                         r"(?:your|the|this|that) (?:suggestion|idea|plan|answer|option|recommendation)s?)\b", re.IGNORECASE)
_EN_TRAIL = re.compile(r"\s+(?:anymore|any more|these days|a lot|so much|very much|too|as well|though|lately|now|"
                       r"again|nowadays|best|the most|more and more|recently)\s*$", re.IGNORECASE)
_EN_EAT = re.compile(r"^(?:eating|to eat|having|to have|drinking|to drink|trying|to try)\s+", re.IGNORECASE)
_SPLIT = re.compile(r"\s*(?:、|和|跟|以及|还有|及|,\s*and\s+|,\s*or\s+|,|\band\b|\bor\b|&)\s*")


def clean_zh(obj: str) -> str:
    o = obj.strip()
    o = re.sub(r"[了的啊呀哦呢吧啦嘛！!~～。.\s]+$", "", o)
    o = re.sub(r"^(?:上了|上)", "", o)
    o = re.sub(r"(?:了|的)$", "", o)
    return o.strip()


def clean_en(obj: str) -> tuple[str, bool]:
    """The object without trailing adverbs; the flag says whether "anymore" was there."""
    o = obj.strip().rstrip(".!~ ")
    no_longer = False
    while True:
        m = _EN_TRAIL.search(o)
        if not m:
            break
        if "any" in m.group(0).lower():
            no_longer = True
        o = o[:m.start()]
    o = re.sub(r"^(?:(?:really|also|just)\s+)+", "", o, flags=re.IGNORECASE)
    return o.strip(), no_longer


def _verb(lang: str, polarity: str, food: bool) -> str:
    if lang == "zh":
        return {"pos": "喜欢", "neg": "不喜欢", "no_longer": "不再喜欢", "prefer": "更喜欢"}[polarity]
    return {"pos": "likes", "neg": "does not like", "no_longer": "no longer likes", "prefer": "prefers"}[polarity]


def _en_possessive(o: str) -> str:
    return re.sub(r"\bmy\b", "their", re.sub(r"\bour\b", "their", o, flags=re.IGNORECASE), flags=re.IGNORECASE)


def classify(obj: str, lang: str, polarity: str, span: tuple[int, int], over: str | None = None) -> list[Found]:
    """Candidates for "user <polarity> <obj>"; polarity is pos / neg / no_longer / prefer."""
    if lang == "zh":
        o = clean_zh(obj)
        if not o or _ZH_PRONOUN.match(o) or len(o) > 14:
            return []
        eat = bool(re.match(r"^(?:吃|喝)", o))
        core = re.sub(r"^(?:吃|喝)", "", o) if eat else o
    else:
        o, anymore = clean_en(obj)
        if anymore and polarity in ("neg", "pos"):
            polarity = "no_longer" if polarity == "neg" else polarity
        if not o or _EN_PRONOUN.match(o) or len(o.split()) > 6:
            return []
        eat = bool(_EN_EAT.match(o))
        core = _EN_EAT.sub("", o)
        o = _en_possessive(o)
        if o.lower().startswith("to "):
            o = o[3:]
    verb = _verb(lang, polarity, eat)
    negative = polarity in ("neg", "no_longer")
    suffix = (f"胜过{over}" if lang == "zh" else f" over {over}") if over else ""

    if is_spicy(core) or (lang == "zh" and re.fullmatch(r"(?:吃)?(?:辣|辣的|辣锅|麻辣|重辣|辣味|辣菜)", o)):
        clause = (verb + "吃辣") if lang == "zh" else f"{verb} spicy food"
        if lang == "zh" and not negative:
            clause = "喜欢吃辣"
        return [fact("diet.spicy", clause, span, profile=True, value="no" if negative else "yes")]

    style = style_topic(core)
    if style:
        return [pref(f"preference.{style}", f"{verb}{o}{suffix}" if lang == "zh" else f"{verb} {o}{suffix}", span,
                     value=o, polarity=polarity)]

    parts = [p for p in _SPLIT.split(core) if p]
    topics = [topic_of(p) for p in parts]
    short = all(len(p) <= 8 if lang == "zh" else len(p.split()) <= 3 for p in parts)
    known = [bool(t) or is_food(p) for p, t in zip(parts, topics)]
    if len(parts) >= 2 and short and any(known) and len(set(topics) - {None}) == len([t for t in topics if t]):
        if all(is_food(p) and not t for p, t in zip(parts, topics)):
            pass  # "sushi and ramen" stays one food.like
        else:
            found: list[Found] = []
            for p in parts:
                found.extend(classify(p, lang, polarity, span))
            return found
    topic = topic_slot(core)
    if topic is not None and not (eat and is_food(core)):
        attrs = {"value": o, "polarity": polarity, "topic": topic}
        if topic == "hotel.tier":
            attrs["tier"] = hotel_tier_value(core)
        clause = f"{verb}{o}{suffix}" if lang == "zh" else f"{verb} {o}{suffix}"
        return [pref(f"preference.{topic}", clause, span, **attrs)]

    if eat or is_food(core):
        slot = "food.dislike" if negative else "food.like"
        clause = f"{verb}{o}{suffix}" if lang == "zh" else f"{verb} {o}{suffix}"
        f = pref(slot, clause, span, value=core, polarity=polarity)
        f.group = "profile"
        return [f]

    if (lang == "zh" and len(o) > 10) or (lang == "en" and len(o.split()) > 4):
        return []
    if re.search(r"酒店|宾馆|民宿|\bhotels?\b", core, re.IGNORECASE):
        clause = f"{verb}{o}{suffix}" if lang == "zh" else f"{verb} {o}{suffix}"
        return [pref("preference.hotel", clause, span, value=o, polarity=polarity)]
    key = slugify(re.sub(r"^(?:看|玩|听|去|打|做|读)(?=[\u4e00-\u9fff]{2})", "", core)) if lang == "zh" else slugify(core)
    clause = f"{verb}{o}{suffix}" if lang == "zh" else f"{verb} {o}{suffix}"
    return [pref(f"preference.{key}", clause, span, value=o, polarity=polarity)]
