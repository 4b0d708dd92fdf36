"""What a statement is about: its predicate family, its object words, and whether it marks a change.

Why: a revision must find the memory it revises even when no slot rule fired. Two
statements about the same family (residence, work, drinks, ...) or sharing object words,
where the later one carries a change marker (now, no longer, switched, 现在, 不再, 改, 换),
are about the same thing. Words are compared after stop-word removal; Chinese, which has
no spaces, is compared by the character bigrams of its content runs. A few hypernyms
(拿铁 -> 咖啡, wine -> alcohol) let "I gave up coffee" find "I drink a latte".
"""

from __future__ import annotations

from extraction.rules import pattern_cache as re

FAMILIES_EN: list[tuple[str, str]] = [
    ("residence", r"\b(?:live|lives|living|lived|reside|resides|moved|move|moving|relocated|my home|new place|apartment|"
                  r"(?:my|our) (?:new )?(?:place|flat) in|rent(?:s|ing)? (?:an? |the |my )?(?:\w+ ){0,2}(?:apartment|studio|flat|room|place|\w*house|condo|loft|townhome)|"
                  r"lease|settled in|settling in)\b"),
    ("work", r"\b(?:(?<!outside )(?<!near )(?<!after )(?<!before )(?<!from )work(?!\s+(?:out|on)\b)|works|"
             r"working(?! on\b)|job|jobs|employed|employer|joined|hired|promoted|company|career|"
             r"started at|left \w+ and joined|occupation|teach|teaches|teaching|freelanc\w*|self-employed|"
             r"retire|retired|retiring|unemployed|laid off|fired|intern|internship|took over as|promoted to|"
             r"principal|shift|shifts|office)\b"),
    ("drink", r"\b(?:drink|drinks|drinking|coffee|tea|latte|espresso|wine|beer|alcohol|soda|juice|sparkling water|milk)\b"),
    ("diet", r"\b(?:eat|eats|eating|vegan|vegetarian|meat|dairy|gluten|gluten-free|steak|pescatarian|keto)\b"),
    ("pet", r"\b(?:dog|dogs|cat|cats|puppy|kitten|parrots?|hamsters?|rabbits?|pets?|beagle|shepherd|retriever|goldfish|betta|fish tank|aquarium)\b"),
    ("possession", r"\b(?:drive|drives|car|own|owns|bought|sold|laptop|\w*phone|bike|sailboat|boat|house|motorcycle|"
                   r"traded|trade-in|swapped|upgraded)\b"),
    ("plan", r"\b(?:trip|visit|visiting|travel|traveling|travelling|vacation|flight|flying|plans?|planning|going to|"
             r"booked|conference|getaway|honeymoon)\b"),
    ("health", r"\b(?:diabetes|allergic|allergy|asthma|colorblind|blood pressure|glasses|contacts|surgery|condition)\b"),
    ("language", r"\b(?:speak|speaks|fluent|language)\b"),
    ("hobby", r"\b(?:play|plays|playing|hobby|yoga|climbing|pottery|violin|piano|guitar|chess|games|running|"
              r"swimming|hiking|painting|lessons|took up|gotten into|birdwatching|volunteer)\b"),
]
FAMILIES_ZH: list[tuple[str, str]] = [
    ("residence", r"住|搬|定居|安家|租房|租了|买了房|落脚|安顿"),
    ("work", r"上班|工作|入职|跳槽|辞职|离职|退休|公司|职位|当.{0,4}(?:师|员|生)|做.{0,6}(?:师|员)|调到|开.{0,5}店|"
             r"教(?:书|英语|数学|语文|物理|化学|钢琴|.{1,3}课)|在.{1,10}(?:机构|学校|医院|银行|工厂|事务所)|转岗|岗位|"
             r"做.{0,4}(?:测试|开发|后端|前端|运维|数据|运营|设计|销售|产品|研发|财务|市场|行政|人事|客服|编辑|翻译|咨询|法务|审计|分析|算法|"
             r"采购|物流|项目|教研|策划)"),
    ("drink", r"喝|咖啡|(?<!沙)茶(?![面餐叶馆楼])|酒|可乐|拿铁|奶|豆浆|饮料"),
    ("diet", r"吃素|吃肉|素食|(?<![好难小])吃"),
    ("pet", r"狗|猫|宠物|仓鼠|兔子|鹦鹉|金鱼|柯基|泰迪|柴犬|布偶|英短|养了?(?:一|两|三)?(?:只|条)"),
    ("possession", r"车|房子|电脑|手机|买了|卖了|卖掉|入手"),
    ("plan", r"计划|打算|准备|旅游|旅行|出差|过年|推迟|提前|改到|取消"),
    ("health", r"病|高血压|糖尿病|过敏|近视|眼镜|手术|药"),
    ("hobby", r"打.{1,3}球|玩|游泳|泳|钓鱼|攀岩|爬山|跑步|书法|画画|动漫|追|练|(?<![转上放开大小中同留退升])学.{1,4}"),
]
HYPERNYMS = {
    "拿铁": "咖啡", "美式": "咖啡", "卡布奇诺": "咖啡", "啤酒": "酒", "红酒": "酒", "白酒": "酒", "葡萄酒": "酒",
    "latte": "coffee", "espresso": "coffee", "cappuccino": "coffee", "wine": "alcohol", "beer": "alcohol",
    "whiskey": "alcohol", "vodka": "alcohol", "cola": "soda", "coke": "soda", "steak": "meat", "beef": "meat",
    "chicken": "meat", "pork": "meat", "dairy": "milk", "牛排": "肉", "猪肉": "肉", "牛肉": "肉",
}
CHANGE_EN = re.compile(
    r"\b(?:now|these days|nowadays|no longer|not anymore|anymore|any more|moved|relocated|switched|gave up|given up|"
    r"(?:gave|given|give|giving) (?:it|that|them|this) up|"
    r"quit|quitted|stopped|started|start|took up|gotten into|joined|left|changed|change of plans|instead|replaced|replace|rather than|in place of|"
    r"since|new|sold|cancelled|canceled|postponed|pushed|went|became|become|turned|barely|got promoted|"
    r"traded|swapped|upgraded|took over|passed away|died|put down|ran away|rehomed|gave away|never came back|"
    r"(?:got|been|was|just) hired|got a job|landed a job|retired)\b", re.IGNORECASE)
CHANGE_ZH = re.compile(r"现在|最近|不再|开始|搬|换|改|戒|辞职|跳槽|入职|调到|转岗|转到|转去|转学|转校|后来|变成|成了|推迟|提前|取消|卖|送人|送给|放弃|停了|退休|落脚|"
                       r"去世|死了|走丢|丢了|"
                       r"不.{1,4}了|没再|已经|重新|又")
ADDITIVE_EN = re.compile(r"\b(?:also|too|as well|another|in addition)\b", re.IGNORECASE)
ADDITIVE_ZH = re.compile(r"还(?!不错|行|好|是|没|可以|挺|算|在|要|有点)|也|另外|又养|再养")
"""还 adds ("我还开始学书法") unless it grades or persists (还不错, 还行, 还是, 还没, 还在)."""

_STOP_EN = frozenset("""
a an the i i'm i've i'll i'd me my mine myself we we're we've our us you your he she they them their it its is am are
was were be been being have has had do does did doing will would can could should to of in on at for with from by about
as into over after before and or but so than then that this these those there here just really very also too now
these days now nowadays since still again anymore any more no not never every each some all most much many lot lots
user user's like likes liked love loves loved enjoy enjoys live lives living lived work works working worked
started start starts stopped stop quit quitted gave give up took gotten into get got go goes going went moved move
switched left joined new little bit kind sort thing things same day days week weeks month months year years time
morning night evening today yesterday tomorrow last next first one two three honestly big news well oh hey
say i'd barely drink drinks eat eats play plays plan plans planning trip january february march april may
june july august september october november december monday tuesday wednesday thursday friday saturday sunday
spring summer fall autumn winter weekend completely finally just recently lately usually always often sometimes anymore
hasn't haven't didn't doesn't don't isn't aren't wasn't won't can't
""".split())
_STOP_ZH = ("用户", "我们", "我", "自己", "现在", "最近", "已经", "喜欢", "不再", "开始", "每天", "平时", "一般", "一直",
            "以前", "后来", "重新", "还是", "就是", "非常", "特别", "比较", "觉得", "打算", "计划", "准备", "的", "了",
            "在", "是", "也", "都", "还", "又", "很", "就", "不", "没", "有", "去", "要", "会", "想", "吃", "喝", "玩",
            "住", "搬", "换", "改", "戒", "和", "跟", "把", "被", "让", "给", "这", "那", "个", "些", "吧", "呢", "啊",
            "吗", "嘛", "哦", "上", "下", "里", "到", "过", "着", "再", "爱", "太", "挺", "最", "能", "可以", "成",
            "变", "家", "一", "两", "三", "早上", "晚上", "周末")
_ZH_STOP_RE = re.compile("|".join(sorted(map(re.escape, _STOP_ZH), key=len, reverse=True)))


try:  # ships with fastembed; "commuting" / "commutes", "knitted" / "knits" share one stem
    from py_rust_stemmers import SnowballStemmer

    _snowball = SnowballStemmer("english").stem_word
except ImportError:  # pragma: no cover - a crude plural rule otherwise
    _snowball = None


def _stem(word: str) -> str:
    """The word's stem, so that inflections of one object word are one topic word."""
    if _snowball is not None and word.isalpha():
        return _snowball(word)
    return word[:-1] if word.endswith("s") and len(word) > 4 and not word.endswith("ss") else word


_ROLE_EN = re.compile(r"\b(?:I'm|I am|I work as|the user is|works as)\s+an?\s+((?:[\w-]+\s+){0,2}[\w-]+)", re.IGNORECASE)
_ROLE_ZH = re.compile(r"我是(?:一名|一个|个|名)?([\u4e00-\u9fff]{2,6})")


_PRESENT_EN = re.compile(r"\b(?:I'm|I am|im|we're|we are)\s+(?:now\s+|currently\s+|still\s+|back\s+)?"
                         r"(?:in|based in|out in|over in)\s+|\b(?:here|over here|out here) in\s+", re.IGNORECASE)
_VISIT_EN = re.compile(r"\s+(?:for|on|this|until|till|visiting|to see)\b|\s+(?:right now|at the moment)\b",
                       re.IGNORECASE)
"""A stay, not a home: "I'm in Paris for a conference", "here in Rome on holiday", "till Friday"."""
_PRESENT_ZH = re.compile(r"(这边|这里|这儿)")
_PRESENT_ZH_AT = re.compile(r"^(?:我|我们)(?:现在|目前|如今)?在")


def present_in(text: str, lang: str) -> bool:
    """The speaker says where they are now, by a known place: "I'm in Sacramento", "here in
    Atlanta", 厦门这边冬天不冷, 我现在在成都. Where a person is, day to day, is their residence
    family: a later statement of another place there revises it (``VALUE_FAMILIES``)."""
    from extraction.rules.places import en_place_at, is_known_place, zh_place_at

    if lang == "zh":
        for m in _PRESENT_ZH.finditer(text):
            for start in range(max(0, m.start() - 4), m.start() - 1):
                hit = zh_place_at(text, start)
                if hit and start + len(hit[0]) == m.start() and is_known_place(hit[0]):
                    return True
        at = _PRESENT_ZH_AT.match(text)
        hit = zh_place_at(text, at.end()) if at else None
        return bool(hit and is_known_place(hit[0]) and re.match(r"[，。,！!]|$", text[at.end() + len(hit[0]):]))
    for m in _PRESENT_EN.finditer(text):
        hit = en_place_at(text, m.end())
        if hit and is_known_place(hit[0]) and not _VISIT_EN.match(text, m.end() + len(hit[0])):
            return True
    return False


def family_of(text: str, lang: str) -> str | None:
    """The predicate family a statement belongs to, or None.

    Besides the families' words, a role the statement gives its subject ("I'm a barista at a
    café", 我是一名护士) puts it in the work family, by the occupation lexicon."""
    if present_in(text, lang):
        return "residence"  # before the families' words: 厦门这边…沙茶面 is not a drink
    for name, pattern in FAMILIES_ZH if lang == "zh" else FAMILIES_EN:
        if re.search(pattern, text, flags=0 if lang == "zh" else re.IGNORECASE):
            return name
    from extraction.rules.lexicon import is_occupation  # the lexicon imports this module's neighbours

    role = (_ROLE_ZH if lang == "zh" else _ROLE_EN).search(text)
    if role is None:
        return None
    if lang == "zh":
        return "work" if is_occupation(role.group(1)) else None
    words = role.group(1).split()  # "barista at a": the role is a prefix of the words after the article
    return "work" if any(is_occupation(" ".join(words[:k])) for k in range(1, len(words) + 1)) else None


def content_words(text: str) -> set[str]:
    """Object words of a statement (either language), with hypernyms added."""
    out: set[str] = set()
    text = re.sub(r"\d{4}年(?:\d{1,2}月)?(?:\d{1,2}日)?|\d{1,2}月\d{1,2}日", " ", text)
    for w in re.findall(r"[A-Za-z][A-Za-z'-]+|\d+\.\d+", text):
        lw = w.lower().removesuffix("'s")
        if lw in _STOP_EN or len(lw) < 3:
            continue
        out.add(_stem(lw))
        if lw in HYPERNYMS:
            out.add(HYPERNYMS[lw])
    for run in re.findall(r"[\u4e00-\u9fff]+", text):
        for part in _ZH_STOP_RE.split(run):
            if len(part) == 1 and part in "酒茶肉素":
                out.add(part)
            for i in range(len(part) - 1):
                out.add(part[i:i + 2])
        for hypo, hyper in HYPERNYMS.items():
            if hypo in run and re.search(r"[\u4e00-\u9fff]", hypo):
                out.add(hyper)
                if len(hyper) == 1:
                    out.add(hyper)
    return out


WEAK_CHANGE_EN = frozenset({"since", "new", "went", "became", "become", "turned", "start", "started", "joined", "left",
                            "barely"})
WEAK_CHANGE_ZH = frozenset({"后来", "又", "已经", "开始", "成了"})
"""Markers that narrate more often than they revise ("since we last talked", "a new friend",
"went to the park"): they count for a change within a predicate family or an object's
polarity, but a statement whose only markers are these does not revise by shared words alone."""


def has_change(text: str, lang: str) -> bool:
    return bool((CHANGE_ZH if lang == "zh" else CHANGE_EN).search(text))


def weak_change_only(text: str, lang: str) -> bool:
    """Every change marker of ``text`` is a weak one (see ``WEAK_CHANGE_EN``)."""
    weak = WEAK_CHANGE_ZH if lang == "zh" else WEAK_CHANGE_EN
    found = [m.group(0).lower() for m in (CHANGE_ZH if lang == "zh" else CHANGE_EN).finditer(text)]
    return bool(found) and all(w in weak for w in found)


def is_additive(text: str, lang: str) -> bool:
    return bool((ADDITIVE_ZH if lang == "zh" else ADDITIVE_EN).search(text))


FAMILY_SLOTS = {
    "residence": ("residence",), "work": ("work.",), "drink": ("drink.", "food.like", "food.dislike"),
    "diet": ("diet.", "food.like", "food.dislike"), "pet": ("pet.",), "possession": ("possession.",),
    "plan": ("travel.", "plan."), "health": ("health.",), "hobby": ("preference.", "hobby.", "learning."),
    "language": ("language.",),
}
"""Which rule slots a predicate family covers: a change in the family revises the memory holding one."""


def family_of_slot(slot: str) -> str | None:
    """The one family whose slots include ``slot`` (None for a slot two families share, food.like)."""
    families = [name for name, prefixes in FAMILY_SLOTS.items() if slot.startswith(prefixes)]
    return families[0] if len(families) == 1 else None


def known_places(text: str) -> frozenset[str]:
    """The known places a text names (``places.place_key``: 成都 and Chengdu are one), for
    telling a new residence from a restated one when no change marker says so."""
    from extraction.rules.places import en_place_at, is_known_place, place_key, zh_place_at

    found: set[str] = set()
    for m in re.finditer(r"[\u4e00-\u9fff]", text):
        hit = zh_place_at(text, m.start())
        if hit and is_known_place(hit[0]):
            found.add(place_key(hit[0]))
    for m in re.finditer(r"(?<![\w'])[A-Z][a-z]", text):
        hit = en_place_at(text, m.start())
        if hit and is_known_place(hit[0]):
            found.add(place_key(hit[0]))
    return frozenset(found)


_NOT_ORG = (r"the|work|home|night|nights|noon|midnight|dawn|least|most|all|first|last|once|times|the moment|moment|end|"
            r"start|weekends?|a|an|my|our|his|her|their|this|that|it|him|them|me|us|you|free|fun|hours?|minutes?|"
            r"years?|months?|weeks?|days?|\d\w*|about|around|least|like|now|uni|school|college|university|office|"
            r"place|company|job|shop|store|hospital|clinic")
_EMPLOYER_ZH = re.compile(r"在([\u4e00-\u9fffA-Za-z0-9]{2,8}?)(?:做|当|上班|工作|实习|任职|干)")
_ORG_EN = r"((?:the\s+)?[A-Z][\w&.'-]*(?:\s+[A-Z][\w&.'-]*){0,3})"
_EMPLOYER_EN = re.compile(r"\b(?:work|works|working|worked|job|hired|intern(?:ing)?|employed|teach|teaches|teaching)\b"
                          r"(?! out)[^.;]{0,30}?\b(?:at|for|by)\s+" + _ORG_EN + r"|\bjoined\s+" + _ORG_EN)
_NOT_EMPLOYER_ZH = re.compile(r"^(?:家|家里|这里|那里|这边|那边|公司|单位|外面|本地|当地|附近)$")


_ORG_LOWER = re.compile(r"\b(?:work|works|working|worked|job|shifts?|hired|intern(?:ing)?|employed)\b(?! out)"
                        r"[^.;,]{0,20}?\b(?:at|for)\s+(?:the\s+)?(?!(?:" + _NOT_ORG + r")\b)([a-z][\w&'-]+)")
_ROLE_AT = re.compile(r"\b(?:a|an)\s+((?:[a-z-]+\s+){0,2}?[a-z-]+)\s+(?:at|for)\s+(?:the\s+)?(?!(?:" + _NOT_ORG
                      + r")\b)([a-z][\w&'-]+)")
"""An employer typed in lower case ("works nights at the costco", "shifts at boeing"): the word
after at/for, unless it is a time, a place of no one's or a quantity (``_NOT_ORG``)."""


def employers(text: str) -> frozenset[str]:
    """Who a work statement says the user works for ("在小米做测试", "joined Stripe", "work at
    Lincoln Middle School", "works at the costco"), lower-cased; empty when it names nobody."""
    found = {m.group(1) for m in _EMPLOYER_ZH.finditer(text) if not _NOT_EMPLOYER_ZH.match(m.group(1))}
    found |= {re.sub(r"^the\s+", "", m.group(1) or m.group(2), flags=re.IGNORECASE) for m in _EMPLOYER_EN.finditer(text)}
    if not found:
        from extraction.rules.lexicon import is_occupation  # the lexicon imports this module's neighbours

        found = {m.group(1) for m in _ORG_LOWER.finditer(text)}
        found |= {m.group(2) for m in _ROLE_AT.finditer(text) if is_occupation(m.group(1).strip())}
    return frozenset(f.lower() for f in found)


_HOME_IN = re.compile(r"\b(?:live|lives|living|lived|moved|moving|relocated|settled)\s+(?:in|to)\s+(?!(?:" + _NOT_ORG
                      + r"|here|there|town|city|the|a|an|with|together|alone|sin|hope|fear|denial)\b)([a-z][\w'-]+)"
                      r"|(?:\bmy|\bour|\bthe user's)\s+(?:new\s+)?(?:place|flat|apartment|house|home)\s+in\s+(?!(?:" + _NOT_ORG
                      + r")\b)([a-z][\w'-]+)", re.IGNORECASE)
"""Where the user lives when the place is none the place lists know ("living in somerville",
"our place in medford"): the word after the residence verb, for telling one home from another."""


_HOME_ZH = re.compile(r"(?:住在|住|搬到了?|搬去了?|搬来了?|定居在?|落脚在?)([\u4e00-\u9fff]{2,4}?)"
                      r"(?=这边|那边|那儿|一带|附近|了|[，,。！!？?]|$)")
_NOT_HOME_ZH = re.compile(r"^(?:这|那|哪|一|公司|学校|单位|家|老家|城里|市区|郊区|外面|附近|楼上|楼下|隔壁|对面)"
                          r"|(?:宿舍|小区|公寓|房子|家|里|附近|酒店|宾馆)$")
"""The Chinese counterpart: 住宝安, 搬到龙华了 (a district the place lists do not know), never a
building or a relative place (住公司宿舍, 住楼下)."""


def family_values(text: str, family: str) -> frozenset[str]:
    """The values ``text`` gives a single-valued family (domain.consolidation.VALUE_FAMILIES)."""
    if family == "residence":
        return known_places(text) or frozenset((m.group(1) or m.group(2)).lower() for m in _HOME_IN.finditer(text)) \
            or frozenset(m.group(1) for m in _HOME_ZH.finditer(text) if not _NOT_HOME_ZH.search(m.group(1)))
    if family == "work":
        return employers(text)
    return frozenset()
