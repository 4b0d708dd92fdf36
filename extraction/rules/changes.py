"""Change markers that carry an object: "switch to X" and "no more X".

Why: a like / diet rule reads "我不喝咖啡了" but not the "改喝绿茶" beside it, and no rule
reads "no more steak for me", so the new drink is lost and the old liked food stays in
the profile. Two markers, each on the object that follows it:

- a *switch* (改喝 / 改吃 / 换成 / switched to / now drink X instead) adds the new object
  and marks it ``switch``: consolidation drops the old object of the same family (drinks
  for 喝 / drink, foods for 吃 / eat) from the memory it lands in;
- a *negated continuation* (no more / no longer / not ... anymore / 不再 / 戒了) on an object
  of a liked family (food, drink, a hobby topic) is a polarity flip of that object: the
  like is replaced, not kept beside the new statement.
"""

from __future__ import annotations

from extraction.rules import pattern_cache as re
from extraction.rules.base import Found, Sentence, pref, statement_ok
from extraction.rules.lexicon import is_food, slugify, topic_of
from extraction.rules.objects import classify, clean_en, clean_zh

I = re.IGNORECASE
DRINKS_EN = re.compile(r"\b(?:coffee|tea|latte|espresso|cappuccino|americano|wine|beer|alcohol|soda|juice|milk|"
                       r"oat milk|water|kombucha|matcha|cola|coke|smoothies?|whiskey|vodka|booze|drinks?)\b", I)
DRINKS_ZH = re.compile(r"咖啡|茶|酒|可乐|拿铁|美式|奶|豆浆|饮料|果汁|汽水|水")
_ZH_OBJ = r"(?P<obj>[^，,。！？!?；;~～\s了吧啊呀]{1,10})"
_EN_OBJ = r"(?P<obj>[A-Za-z][\w' -]{1,30}?)"
_EN_END = r"(?=\s*(?:[,.!;)]|$|\s+(?:instead|now|these days|nowadays|anymore|for me|and|but|because|since|so)\b))"


def _before_date(s: Sentence, m: "re.Match[str]", group: str) -> str:
    """The object up to the first date mention inside it ("oat milk last year" -> "oat milk")."""
    start, end = m.span(group)
    cut = min((d.start for d in s.dates if start <= d.start < end), default=end)
    return s.text[start:cut]


def _zh_kind(verb: str, obj: str) -> str | None:
    if verb == "喝" or DRINKS_ZH.search(obj):
        return "drink"
    if verb == "吃" or is_food(obj):
        return "food"
    return None


def _en_kind(verb: str, obj: str) -> str | None:
    if verb.lower().startswith("drink") or DRINKS_EN.search(obj):
        return "drink"
    if verb.lower().startswith("eat") or is_food(obj):
        return "food"
    return None


def _switch(slot_kind: str, obj: str, clause: str, span: tuple[int, int]) -> Found:
    f = pref(f"{slot_kind}.{slugify(obj)}", clause, span, value=obj, polarity="pos", switch=slot_kind)
    f.group = "profile"
    return f


def switch_rules(s: Sentence) -> list[Found]:
    out: list[Found] = []
    t = s.text
    if s.lang == "zh":
        for m in re.finditer(rf"(?:改|换|转)(?:成|为)?(?P<v>喝|吃)" + _ZH_OBJ, t):
            obj = clean_zh(m.group("obj"))
            kind = _zh_kind(m.group("v"), obj)
            if not obj or kind is None or not statement_ok(s, m.start()):
                continue
            out.append(_switch(kind, obj, f"改{m.group('v')}{obj}", m.span()))
        return out
    for m in re.finditer(r"\b(?:I(?:'ve| have)?\s+)?(?:switched|switching|changed|moved|gone|went)\s+(?:over\s+)?"
                         r"(?:from\s+[\w' -]{1,25}?\s+)?to\s+" + _EN_OBJ + _EN_END, t, I):
        obj, _ = clean_en(_before_date(s, m, "obj"))
        kind = _en_kind("", obj)
        if not obj or kind is None or not statement_ok(s, m.start()):
            continue
        verb = "drinks" if kind == "drink" else "eats"
        out.append(_switch(kind, obj, f"now {verb} {obj}", m.span()))
    for m in re.finditer(r"\bI\s+(?:now\s+)?(?P<v>drink|eat|have)\s+" + _EN_OBJ + r"\s+instead\b|"
                         r"\bnow\s+I\s+(?P<v2>drink|eat)\s+" + _EN_OBJ.replace("obj", "obj2") + _EN_END, t, I):
        obj, _ = clean_en(_before_date(s, m, "obj" if m.group("obj") else "obj2"))
        verb = m.group("v") or m.group("v2")
        kind = _en_kind(verb, obj)
        if not obj or kind is None or not statement_ok(s, m.start()):
            continue
        out.append(_switch(kind, obj, f"now {'drinks' if kind == 'drink' else 'eats'} {obj}", m.span()))
    return out


def _liked_family(obj: str, verb: str, lang: str) -> str | None:
    """food / drink / a hobby topic: the families a like can be held in."""
    kind = _zh_kind(verb, obj) if lang == "zh" else _en_kind(verb, obj)
    if kind is not None:
        return kind
    return "topic" if topic_of(obj) else None


def no_more_rules(s: Sentence) -> list[Found]:
    out: list[Found] = []
    t = s.text
    if s.lang == "zh":
        for m in re.finditer(r"(?:不再|戒了|再也不)(?P<v>吃|喝|玩|打|看|练)?" + _ZH_OBJ + r"|"
                             r"(?P<obj2>[\u4e00-\u9fff]{1,6}?)(?:我)?(?:也|都|还)?(?:已经|早就|基本|几乎|再也)?(?P<how>戒了|不碰)", t):
            raw = m.group("obj") or m.group("obj2")
            verb = m.group("v") or ""
            obj = clean_zh(raw)
            if not obj or obj in ("吃", "喝", "了") or obj.startswith(("喜欢", "爱", "吃素")) or not statement_ok(s, m.start()):
                continue
            fam = _liked_family(obj, verb, "zh")
            if fam is None and verb in ("玩", "打", "看", "练"):
                fam = "topic"  # 不再玩王者荣耀: an activity, whatever its name
            if fam is None or (m.group("obj2") and fam == "topic"):
                continue  # "游戏我已经戒了": a category given up; the specific object, if named, follows
            if fam == "topic":
                out.extend(classify(verb + obj if verb in ("玩", "打", "练") else obj, "zh", "no_longer", m.span()))
                continue
            v = verb or ("喝" if fam == "drink" else "吃")
            if m.group("how") == "不碰":  # 蛋奶也不碰: what the user never has, not a change
                f = pref("food.dislike", f"不碰{obj}", m.span(), value=obj, polarity="neg")
                f.group = "profile"
                out.append(f)
                continue
            f = pref("food.dislike", f"不再{v}{obj}", m.span(), value=obj, polarity="no_longer")
            f.group = "profile"
            out.append(f)
        # 戒酒了 (the verb before its object) and 啤酒也不喝了 (the object put first)
        for m in re.finditer(r"(?<![不没])戒(?P<obj>[\u4e00-\u9fff]{1,2}?)了|"
                             r"(?P<obj2>[\u4e00-\u9fff]{1,8}?)(?:也|都|就)?(?:已经|再也|早就)?不(?P<v>喝|吃)了", t):
            if any(f.spans[0][0] <= m.start() < f.spans[0][1] for f in out):
                continue
            obj = re.sub(r"^(?:我|平时|现在|已经|最近|其实|连)+", "", m.group("obj") or m.group("obj2") or "")
            fam = _liked_family(obj, m.group("v") or "", "zh")
            if not obj or fam not in ("drink", "food") or obj in ("烟", "饭") or not statement_ok(s, m.start()):
                continue
            clause = f"已戒{obj}" if m.group("obj") else f"不{m.group('v')}{obj}"
            f = pref("food.dislike", clause, m.span(), value=obj, polarity="no_longer")
            f.group = "profile"
            out.append(f)
        return out
    for m in re.finditer(r"\bno more\s+" + _EN_OBJ + _EN_END + r"|"
                         r"\bI\s+(?:no longer|don't|do not|won't|can't)\s+(?P<v>eat|drink|play|do)\s+"
                         + _EN_OBJ.replace("obj", "obj2") + r"\s+(?:anymore|any more)\b", t, I):
        obj, _ = clean_en(_before_date(s, m, "obj" if m.group("obj") else "obj2"))
        verb = m.group("v") or ""
        if not obj or not statement_ok(s, m.start()):
            continue
        fam = _liked_family(obj, verb, "en")
        if fam is None:
            continue
        if fam == "topic":
            out.extend(classify(obj, "en", "no_longer", m.span()))
            continue
        v = verb.lower() if verb.lower() in ("eat", "drink") else ("drink" if fam == "drink" else "eat")
        f = pref("food.dislike", f"no longer {v}s {obj}", m.span(), value=obj, polarity="no_longer")
        f.group = "profile"
        out.append(f)
    return out


RULES = [switch_rules, no_more_rules]
