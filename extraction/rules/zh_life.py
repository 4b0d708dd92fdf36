"""Chinese rules for family, pets, possessions and dietary limits."""

from __future__ import annotations

from extraction.rules import pattern_cache as re  # re, with a cache that holds all rule patterns

from extraction.rules.base import Found, Sentence, fact, statement_ok
from extraction.rules.lexicon import ANIMALS, animal_of, item_key, possession_of
from extraction.rules.numerals import cn_to_int
from extraction.rules.zh import STOP

_ANIMAL_ZH = "|".join(sorted({a for al in ANIMALS.values() for a in al if re.search(r"[\u4e00-\u9fff]", a)},
                             key=len, reverse=True))
_NAME = r"(?P<name>[\u4e00-\u9fffA-Za-z]{1,6}?)"
_KIDS = r"孩子|小孩|女儿|儿子|宝宝|闺女|娃"


def family_rules(s: Sentence) -> list[Found]:
    out: list[Found] = []
    t = s.text
    for m in re.finditer(r"(?:我)?(?:已经|刚刚?)?(?:结婚了|已婚|成家了|结婚(?=[，。！!]|$))|我有(?:老婆|老公|妻子|丈夫)(?:了)?", t):
        if statement_ok(s, m.start()) and s.date_near(m.start(), ("future",)) is None \
                and not re.search(r"(?:要|准备|打算|计划|想|将|会)$", t[:m.start()]):
            out.append(fact("family.spouse", "已婚", m.span(), value="married"))
    for m in re.finditer(r"(?:我)?(?:还是|目前|现在)?(?:单身)(?!狗的)", t):
        if statement_ok(s, m.start()) and not re.search(r"不是$", t[:m.start()]):
            out.append(fact("family.spouse", "单身", m.span(), value="single"))
    for m in re.finditer(r"(?:我)?(?:已经)?(?:离婚了|离异)", t):
        if statement_ok(s, m.start()):
            out.append(fact("family.spouse", "已离婚", m.span(), value="divorced"))
    for m in re.finditer(rf"我(?:的)?(?P<rel>老婆|妻子|太太|老公|丈夫|先生|爱人)(?:叫|的名字是|名叫){_NAME}{STOP}", t):
        rel = {"老婆": "妻子", "太太": "妻子", "老公": "丈夫", "先生": "丈夫", "爱人": "爱人"}.get(m.group("rel"), m.group("rel"))
        out.append(fact("family.spouse", f"已婚，{rel}叫{m.group('name')}", m.span(), value=m.group("name")))
    for m in re.finditer(rf"(?:我)?(?:家)?(?:有|生了|养了|有了)(?P<n>一|两|二|三|四|五|\d)?(?:个|位)(?P<c>{_KIDS})", t):
        if statement_ok(s, m.start()):
            n = m.group("n") or "一"
            n = "两" if n == "二" else n
            out.append(fact("family.children", f"有{n}个{m.group('c')}", m.span(), value=m.group("c")))
    for m in re.finditer(r"我(?:的)?(?P<c>女儿|儿子|孩子|闺女)(?:今年|现在)?(?P<n>\d{1,2}|[一二三四五六七八九十两]{1,3})岁(?:了)?", t):
        n = cn_to_int(m.group("n"))
        out.append(fact("family.children", f"有一个{n}岁的{m.group('c')}", m.span(), value=m.group("c")))
    for m in re.finditer(rf"我(?:的)?(?P<c>女儿|儿子|闺女)(?:叫|名叫|的名字是){_NAME}{STOP}", t):
        # "我儿子叫乐乐，今年八岁": the age after the name is the child's (never the user's)
        age = re.match(r"[，,]\s*(?:他|她)?(?:今年|现在|已经)?(?P<n>\d{1,2}|[一二三四五六七八九十两]{1,3})岁(?:了)?", t[m.end():])
        clause = f"有一个名叫{m.group('name')}的{m.group('c')}" + (f"，{age.group('n')}岁" if age else "")
        out.append(fact("family.children", clause, (m.start(), m.end() + (age.end() if age else 0)), value=m.group("c")))
    for m in re.finditer(r"我(?:当|做)(?:了)?(?:爸爸|妈妈|父亲|母亲)了", t):
        out.append(fact("family.children", "有孩子", m.span(), value="child"))
    return out


def pet_rules(s: Sentence) -> list[Found]:
    out: list[Found] = []
    t = s.text
    pat = (rf"(?:我)?(?:家)?(?:里)?(?:养了|养着|有|养)(?P<n>一|两|二|三|四|\d)?(?P<cl>只|条|头|匹|个)?"
           rf"(?P<adj>[\u4e00-\u9fff]{{0,4}}?)(?P<a>{_ANIMAL_ZH})(?!毛|过敏|粮|的照片)"
           rf"(?:[，,]?(?:它|她|他)?(?:叫|名叫|名字叫){_NAME}{STOP})?")
    for m in re.finditer(pat, t):
        if not (m.group("n") or m.group("cl") or t[m.start():].startswith(("我养", "养", "我家"))):
            continue  # "有猫" without a measure word is too vague
        if not statement_ok(s, m.start()):
            continue
        key = animal_of(m.group("a")) or "pet"
        cl = m.group("cl") or ("条" if key == "fish" else "只")
        n = m.group("n") or "一"
        clause = f"养了{n}{cl}{m.group('adj')}{m.group('a')}"
        if m.group("name"):
            clause = f"养了{n}{cl}名叫{m.group('name')}的{m.group('adj')}{m.group('a')}"
        out.append(fact(f"pet.{key}", clause, m.span(), value=m.group("a"), name=m.group("name")))
    for m in re.finditer(rf"我(?:的|家)(?:的)?(?P<a>{_ANIMAL_ZH})(?:叫|名叫|的名字是){_NAME}{STOP}", t):
        key = animal_of(m.group("a")) or "pet"
        cl = "条" if key == "fish" else "只"
        out.append(fact(f"pet.{key}", f"养了一{cl}名叫{m.group('name')}的{m.group('a')}", m.span(),
                        value=m.group("a"), name=m.group("name")))
    return out


def possession_rules(s: Sentence) -> list[Found]:
    out: list[Found] = []
    pat = (r"(?:我)?(?:刚|最近|新)?(?P<v>买了|入手了|换了|提了|有)(?P<q>一辆|一台|一部|一套|一个|一把|一架|辆|台|部|套|把)?"
           r"(?P<item>(?:新的?)?(?:[\u4e00-\u9fffA-Za-z0-9]|\s(?=[A-Za-z0-9])){1,14}?)" + _NAME_STOP)
    for m in re.finditer(pat, s.text):
        item = m.group("item").strip()
        key = possession_of(item)
        if key is None or animal_of(item) or not statement_ok(s, m.start()):
            continue
        if key == "house" and _MOVED_IN.search(s.text, m.end()) and re.search(r"在[\u4e00-\u9fff]{2,8}$", s.text[:m.start()]):
            continue  # 在保定买了房，已经住进去了: the residence rule states the home; no second "买了房" memory
        model = _model_after(s.text, m.end(), key) if _generic(item, key) else None
        if model:  # "换了手机，现在用华为Mate 60": the category's clause names no model, the next one does
            out.append(fact(f"possession.{key}", f"{m.group('v')}{item}，现在{'开' if key == 'car' else '用'}{model.group('item')}",
                            (m.start(), model.end()), value=model.group("item")))
            continue
        out.append(fact(f"possession.{key}", f"{m.group('v')}{m.group('q') or ''}{item}", m.span(), value=item))
    for m in re.finditer(r"(?:我)?(?:现在|平时|目前)?开(?:的是|着)(?P<q>一辆|辆)?(?P<item>(?:[\u4e00-\u9fffA-Za-z0-9]|\s(?=[A-Za-z0-9])){2,14}?)"
                         + _NAME_STOP, s.text):
        if _PREDICATE.match(m.group("item")) or any(f.slot == "possession.car" for f in out):
            continue  # 电车开着是真省钱: how it drives, not what; or the car is already named (换了台比亚迪汉)
        if statement_ok(s, m.start()) and not any(f.spans[0][0] <= m.start() < f.spans[0][1] for f in out):
            out.append(fact("possession.car", f"开的是{m.group('q') or ''}{m.group('item')}", m.span(), value=m.group("item")))
    return out


_PREDICATE = re.compile(r"(?:是|很|挺|真|太|特别|非常|比较|还|也|就|都|不|有点|起来)")
"""What follows 开着 when it says how the car drives, not which car it is."""
_NAME_STOP = STOP.replace("、\\s", "、").replace("|$", "|\\s(?![A-Za-z0-9])|$", 1)
"""STOP, except a space inside a model name ("特斯拉Model 3")."""


_MOVED_IN = re.compile(r"住进去了|住进来了|住进了新家|搬进去了|搬进来了|搬进了新家|入住了")


def _generic(item: str, key: str) -> bool:
    """The item is only its category ("手机", "新手机", "一辆车"), no make or model."""
    return possession_of(item, whole=True) == key or possession_of(re.sub(r"^(?:新的?|一辆|一台|一部|辆|台|部)", "", item),
                                                                     whole=True) == key


def _model_after(text: str, pos: int, key: str):
    """The make or model a following clause names for a category just mentioned
    ("换了车，新车是比亚迪汉", "换了手机，现在用华为Mate 60"): a name with Latin letters or digits,
    or one the lexicon files under the same category."""
    pat = (r"[，,]\s*(?:我)?(?:现在|目前|如今|新的?|这次)?(?:[\u4e00-\u9fff]{0,2})?(?:用的是|用|使用|开的是|开|是|换成了?|买的是)"
           r"(?:一辆|一台|一部|辆|台|部)?(?P<item>(?:[\u4e00-\u9fffA-Za-z0-9]|\s(?=[A-Za-z0-9])){2,16}?)" + _NAME_STOP)
    m = re.compile(pat).match(text, pos)
    if m and (re.search(r"[A-Za-z0-9]", m.group("item")) or possession_of(m.group("item")) == key):
        return m
    return None

_ITEM = r"(?P<i>[\u4e00-\u9fffA-Za-z]{1,8}?)"


def diet_rules(s: Sentence) -> list[Found]:
    out: list[Found] = []
    t = s.text
    for m in re.finditer(r"(?:不太能|不怎么能|不能|没法|不敢|不太会|不会|不太|不怎么|不)吃辣|吃不了辣|吃不得辣|(?<!不)怕辣|受不了辣", t):
        if statement_ok(s, m.start()):
            out.append(fact("diet.spicy", "不能吃辣", m.span(), profile=True, value="no"))
    for m in re.finditer(r"(?P<v>很能|特别能|超能|能|爱|喜欢|超爱|特别爱|很爱|超喜欢|特别喜欢)吃辣|无辣不欢|嗜辣", t):
        if statement_ok(s, m.start()):
            clause = "能吃辣" if (m.group("v") or "").endswith("能") else "喜欢吃辣"
            out.append(fact("diet.spicy", clause, m.span(), profile=True, value="yes"))
    for m in re.finditer(r"(?:我)?(?:不再|不)(?:坚持|继续)?吃素(?:了)?|(?:开始|又|重新)吃(?:点|些)?(?:肉|荤|鸡肉|牛肉|猪肉|鱼肉|鱼)", t):
        if statement_ok(s, m.start()):
            out.append(fact("diet.vegetarian", "不再吃素", m.span(), profile=True, value="no"))
    for m in re.finditer(r"(?:我)?(?:是)?(?:一[个名位])?(?:素食主义者|素食者|纯素食者|吃素|吃全素|不吃肉(?:类)?)(?:的)?", t):
        if statement_ok(s, m.start()):
            clause = "吃纯素" if ("纯素" in m.group(0) or "全素" in m.group(0)) else "吃素"
            out.append(fact("diet.vegetarian", clause, m.span(), profile=True, value="yes"))
    for m in re.finditer(r"(?:我)?(?:已经)?(?P<v>戒烟了?|不抽烟|不吸烟|抽烟|吸烟)", t):
        if statement_ok(s, m.start()) and not re.search(r"(?:想|要|准备|打算|讨厌|不喜欢)$", t[:m.start()]):
            v = m.group("v")
            clause = "已戒烟" if v.startswith("戒") else "不抽烟" if v.startswith("不") else "抽烟"
            out.append(fact("habit.smoking", clause, m.span(), profile=True, value=clause))
    for m in re.finditer(r"(?:我)?乳糖不耐受?", t):
        if statement_ok(s, m.start()):
            out.append(fact("diet.allergy.lactose", "乳糖不耐受", m.span(), profile=True, value="乳糖"))
    for m in re.finditer(rf"(?:我)?(?:有)?(?:对)?{_ITEM}(?:严重)?过敏", t):
        item = re.sub(r"^(?:我|有点|有些|有|会|对|也|还|都|很|比较|一点)+", "", m.group("i"))
        if not item or item in ("有点", "容易", "经常") or not statement_ok(s, m.start()):
            continue
        out.append(fact(f"diet.allergy.{item_key(item)}", f"对{item}过敏", m.span(), profile=True, value=item))
    for m in re.finditer(rf"(?:我)?(?:平时|从来|一直|从|基本)?(?P<v>不吃|不能吃|不碰|戒了|不喝|不能喝){_ITEM}(?:了)?{STOP}", t):
        item = m.group("i")
        verb = "不喝" if "喝" in m.group("v") else "不吃"
        if item.startswith("辣") or item in ("了", "东西", "饭", "早饭", "晚饭", "午饭", "早餐", "晚餐") or not statement_ok(s, m.start()):
            continue
        if item in ("肉", "荤", "肉类"):
            out.append(fact("diet.vegetarian", "吃素", m.span(), profile=True, value="yes"))
            continue
        out.append(fact(f"diet.avoid.{item_key(item)}", f"{verb}{item}", m.span(), profile=True, value=item))
    return out


RULES = [diet_rules, family_rules, pet_rules, possession_rules]
