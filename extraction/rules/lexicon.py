"""Small bilingual lexicons that normalise what users talk about into slot keys.

Every table maps a canonical key (English, lower-case, hyphenated) to its aliases in
both languages, so "我喜欢徒步" and "I love hiking" both land on ``preference.hiking``.
Words that are not in a table still get a slot (their normalised surface form);
the tables only make different phrasings of common concepts agree.
"""

from __future__ import annotations

from extraction.rules import pattern_cache as re  # re, with a cache that holds all rule patterns

from extraction.rules.foods import (  # noqa: F401  (re-exported for the rule modules)
    ALLERGENS, FOODS_EN, FOODS_ZH, SPICY_EN, SPICY_ZH, is_food, is_spicy, item_key)

# ---------------------------------------------------------------- preference topics

TOPICS: dict[str, tuple[str, ...]] = {
    "hiking": ("徒步", "爬山", "登山", "远足", "hiking", "hike", "hikes", "trekking", "mountain climbing"),
    "running": ("跑步", "慢跑", "长跑", "跑马拉松", "马拉松", "running", "jogging", "marathons"),
    "swimming": ("游泳", "swimming", "swim"),
    "cycling": ("骑行", "骑自行车", "骑车", "cycling", "biking", "bike rides"),
    "reading": ("看书", "读书", "阅读", "看小说", "reading", "books", "novels"),
    "movies": ("看电影", "电影", "movies", "movie", "films", "film", "cinema"),
    "music": ("听音乐", "听歌", "音乐", "music", "listening to music"),
    "travel": ("旅游", "旅行", "出去玩", "traveling", "travelling", "travel", "trips"),
    "travel.family": ("全家出游", "全家一起出游", "全家一起旅行", "全家旅行", "全家旅游", "家庭旅行", "家庭出游",
                      "带家人旅行", "带家人出去玩", "和家人一起旅行", "和家人出游", "和家人一起出去玩",
                      "family trips", "family trip", "family travel", "family vacations", "family vacation",
                      "traveling with my family", "travelling with my family", "traveling with family",
                      "travelling with family", "traveling as a family", "travelling as a family"),
    "photography": ("摄影", "拍照", "photography", "taking photos", "taking pictures"),
    "cooking": ("做饭", "烹饪", "下厨", "做菜", "cooking"),
    "baking": ("烘焙", "做蛋糕", "baking"),
    "gaming": ("打游戏", "玩游戏", "电子游戏", "游戏", "video games", "gaming", "games"),
    "basketball": ("打篮球", "篮球", "basketball"),
    "soccer": ("踢足球", "足球", "soccer", "football"),
    "tennis": ("打网球", "网球", "tennis"),
    "badminton": ("打羽毛球", "羽毛球", "badminton"),
    "table-tennis": ("打乒乓球", "乒乓球", "table tennis", "ping pong"),
    "yoga": ("瑜伽", "练瑜伽", "yoga"),
    "guitar": ("弹吉他", "吉他", "guitar"),
    "piano": ("弹钢琴", "钢琴", "piano"),
    "violin": ("拉小提琴", "小提琴", "violin"),
    "fitness": ("健身", "撸铁", "working out", "the gym", "going to the gym", "gym", "fitness"),
    "skiing": ("滑雪", "skiing", "ski"),
    "camping": ("露营", "camping"),
    "fishing": ("钓鱼", "fishing"),
    "painting": ("画画", "绘画", "painting", "drawing"),
    "dancing": ("跳舞", "舞蹈", "dancing", "dance"),
    "singing": ("唱歌", "唱k", "k歌", "singing", "karaoke"),
    "anime": ("动漫", "二次元", "看动漫", "anime", "manga"),
    "jazz": ("爵士乐", "爵士", "jazz"),
    "classical-music": ("古典音乐", "classical music"),
    "rock-music": ("摇滚乐", "摇滚", "rock music", "rock"),
    "sci-fi": ("科幻小说", "科幻电影", "科幻", "science fiction", "sci-fi", "scifi"),
    "museums": ("逛博物馆", "博物馆", "museums", "museum"),
    "shopping": ("逛街", "购物", "shopping"),
    "gardening": ("养花", "园艺", "gardening"),
    "beach": ("海边", "海滩", "沙滩", "beach", "beaches", "the beach", "the sea", "the ocean"),
    "nature": ("大自然", "户外", "nature", "the outdoors", "outdoors"),
    "cat": ("猫咪", "小猫", "猫", "cats", "cat", "kittens"),
    "dog": ("狗狗", "小狗", "狗", "dogs", "dog", "puppies"),
    "summer": ("夏天", "summer"),
    "winter": ("冬天", "winter"),
    "rain": ("下雨天", "雨天", "rainy days", "rain"),
    "hotel.tier": ("经济型酒店", "快捷酒店", "便宜的酒店", "实惠的酒店", "性价比高的酒店", "豪华酒店", "高端酒店",
                   "五星级酒店", "奢华酒店", "budget hotels", "cheap hotels", "affordable hotels", "luxury hotels",
                   "five-star hotels", "5-star hotels", "high-end hotels", "upscale hotels"),
    "seat": ("靠窗的座位", "靠窗座位", "靠窗", "靠过道的座位", "靠过道", "window seats", "window seat",
             "aisle seats", "aisle seat"),
    "answer.style": ("简洁的回答", "简短的回答", "详细的回答", "简洁的回复", "详细的回复", "简洁一点的回答",
                     "concise answers", "short answers", "brief answers", "detailed answers", "long answers",
                     "concise responses", "short responses", "detailed responses", "bullet points"),
}
_LUXURY_WORDS = ("豪华", "高端", "五星", "奢华", "luxury", "five-star", "5-star", "high-end", "upscale")


def _alias_index() -> list[tuple[str, str]]:
    pairs = [(alias.lower(), key) for key, aliases in TOPICS.items() for alias in aliases]
    return sorted(pairs, key=lambda p: -len(p[0]))


_TOPIC_ALIASES = _alias_index()


def topic_match(obj: str) -> tuple[str, str] | None:
    """(canonical topic, matched alias) for an object phrase, by its longest known alias."""
    low = obj.lower()
    best: tuple[int, int, str, str] | None = None  # leftmost, then longest
    for alias, key in _TOPIC_ALIASES:
        if re.search(r"[\u4e00-\u9fff]", alias):
            idx = low.find(alias)
        else:
            m = re.search(rf"(?<![a-z]){re.escape(alias)}(?![a-z])", low)
            idx = m.start() if m else -1
        if idx >= 0 and (best is None or (idx, -len(alias)) < (best[0], best[1])):
            best = (idx, -len(alias), key, alias)
    if best is None:
        stem = re.sub(r"片子?$", "", low)
        if stem != low and any(stem.endswith(a) for al in GENRES.values() for a in al if not a.isascii()):
            return "movies", "片"
        return None
    return best[2], best[3]


def topic_of(obj: str) -> str | None:
    hit = topic_match(obj)
    return hit[0] if hit else None


GENRES: dict[str, tuple[str, ...]] = {
    "horror": ("恐怖", "horror"), "action": ("动作", "action"), "comedy": ("喜剧", "搞笑", "comedy", "comedies"),
    "romance": ("爱情", "romance", "romantic"), "documentary": ("纪录", "documentary", "documentaries"),
    "animation": ("动画", "animated", "animation", "cartoon"), "thriller": ("惊悚", "悬疑", "thriller", "mystery"),
}


def _genre(modifier: str) -> str | None:
    m = modifier.strip().lower()
    return next((g for g, al in GENRES.items() if m in al), None)


_LEAD_VERBS = re.compile(r"^(?:(?:watching|playing|going|listening to|reading|doing)\s+(?:the\s+)?|[看玩听去打踢做读弹拉])",
                         re.IGNORECASE)


def topic_slot(obj: str) -> str | None:
    """``<topic>`` or, when a modifier narrows a known head ("horror movies", "恐怖电影"),
    ``<topic>.<modifier>`` so that liking one kind does not overwrite the whole topic."""
    hit = topic_match(obj)
    if hit is None:
        return None
    key, alias = hit
    if key in ("hotel.tier", "seat", "answer.style", "travel.family"):
        return key
    core = _LEAD_VERBS.sub("", obj.strip().lower())
    idx = core.rfind(alias) if alias == "片" else core.find(alias)
    if idx <= 0:
        return key
    modifier = core[:idx].strip(" 的-")
    if not modifier or (modifier.isascii() and len(modifier.split()) > 2) or (not modifier.isascii() and len(modifier) > 4):
        return key
    if modifier in ("my", "the", "some", "all", "good", "great", "new", "old", "long", "short", "a", "喜欢", "一些"):
        return key
    if key == "movies" and _genre(modifier):
        return f"movies.{_genre(modifier)}"
    return f"{key}.{slugify(modifier)}"


def hotel_tier_value(obj: str) -> str:
    return "luxury" if any(w in obj.lower() for w in _LUXURY_WORDS) else "budget"


def style_topic(obj: str) -> str | None:
    """``style.<domain>`` for "简约风格" / "minimalist style" objects, else None."""
    low = obj.lower()
    if not re.search(r"风格|风$|style|aesthetic", low):
        return None
    if re.search(r"装修|家居|家具|房间|interior|furniture|home|decor", low):
        return "style.home"
    if re.search(r"穿搭|衣服|穿衣|服装|clothes|clothing|fashion|outfit", low):
        return "style.clothing"
    if re.search(r"回答|回复|写作|文字|answer|response|writing", low):
        return "answer.style"
    return "style"


# ---------------------------------------------------------------- animals, possessions, occupations

ANIMALS: dict[str, tuple[str, ...]] = {  # a breed names its animal: 柯基 is a dog
    "cat": ("猫咪", "小猫", "猫", "cats", "cat", "kittens", "kitten", "kitty",
            *("布偶猫", "布偶", "英短", "美短", "橘猫", "狸花猫", "暹罗猫", "ragdoll", "siamese", "maine coon")),
    "dog": ("狗狗", "小狗", "狗", "dogs", "dog", "puppies", "puppy",
            *("柯基", "柴犬", "金毛", "泰迪", "哈士奇", "边牧", "拉布拉多", "比熊", "博美", "法斗", "corgi", "beagle",
              "labrador", "poodle", "husky", "golden retriever", "dachshund", "shih tzu", "pug", "border collie")),
    "rabbit": ("兔子", "兔", "rabbits", "rabbit", "bunny"),
    "hamster": ("仓鼠", "hamsters", "hamster"),
    "parrot": ("鹦鹉", "parrots", "parrot"),
    "bird": ("小鸟", "鸟", "birds", "bird"),
    "fish": ("金鱼", "鱼", "goldfish", "fish"),
    "turtle": ("乌龟", "turtles", "turtle", "tortoise"),
    "guinea-pig": ("豚鼠", "guinea pigs", "guinea pig"),
}
POSSESSIONS: dict[str, tuple[str, ...]] = {
    "car": ("汽车", "私家车", "小车", "车", "特斯拉", "比亚迪", "宝马", "奔驰", "奥迪", "丰田", "本田", "car", "tesla",
            "bmw", "toyota", "honda", "audi", "mercedes", "suv", "volkswagen", "ford"),
    "phone": ("手机", "iphone", "苹果手机", "安卓手机", "phone", "smartphone", "pixel", "galaxy"),
    "laptop": ("笔记本电脑", "笔记本", "电脑", "macbook", "laptop", "computer", "pc"),
    "house": ("房子", "公寓", "别墅", "房", "house", "apartment", "flat", "condo"),
    "bike": ("自行车", "单车", "bike", "bicycle"),
    "motorcycle": ("摩托车", "摩托", "motorcycle", "motorbike"),
    "camera": ("相机", "单反", "camera"),
    "piano": ("钢琴", "piano"),
    "guitar": ("吉他", "guitar"),
    "tablet": ("ipad", "平板电脑", "平板", "tablet"),
    "game-console": ("游戏机", "switch", "ps5", "playstation", "xbox"),
}


def _lookup(table: dict[str, tuple[str, ...]], text: str, whole: bool = False) -> str | None:
    low = text.strip().lower()
    best: tuple[int, str] | None = None
    for key, aliases in table.items():
        for a in aliases:
            if whole:
                hit = low == a
            elif re.search(r"[\u4e00-\u9fff]", a):
                hit = a in low
            else:
                hit = re.search(rf"(?<![a-z]){re.escape(a)}(?![a-z])", low) is not None
            if hit and (best is None or len(a) > best[0]):
                best = (len(a), key)
    return best[1] if best else None


def animal_of(text: str) -> str | None:
    return _lookup(ANIMALS, text)


def possession_of(text: str, whole: bool = False) -> str | None:
    """The possession category ``text`` names (``whole``: only when it is the bare category word)."""
    return _lookup(POSSESSIONS, text, whole=whole)


OCCUPATIONS_ZH = re.compile(
    r"(程序员|工程师|设计师|老师|教师|医生|护士|律师|会计|产品经理|经理|学生|大学生|研究生|博士生|记者|作家|厨师|司机|公务员|"
    r"警察|演员|歌手|摄影师|建筑师|研究员|科学家|分析师|运营|创业者|自由职业者|教授|咨询师|顾问|翻译|主播|博主|店主|"
    r"农民|工人|快递员|外卖员|模特|画家|音乐家|开发者|全职妈妈|全职太太|家庭主妇|总监|主管|老板|销售|助理|专员|"
    r"飞行员|空姐|药剂师|兽医|护工|保安|技术员|实习生|退休人员|销售员|营业员|客服|HR|hr|UI设计师)$")
OCCUPATIONS_EN = re.compile(
    r"\b(engineer|developer|programmer|coder|designer|teacher|nurse|doctor|physician|surgeon|dentist|lawyer|"
    r"attorney|accountant|manager|analyst|scientist|researcher|writer|author|journalist|reporter|chef|cook|"
    r"driver|student|professor|lecturer|consultant|architect|artist|musician|photographer|pharmacist|"
    r"therapist|psychologist|salesperson|marketer|entrepreneur|freelancer|firefighter|officer|pilot|"
    r"mechanic|electrician|plumber|carpenter|farmer|barista|waiter|waitress|cashier|secretary|assistant|"
    r"librarian|veterinarian|vet|paramedic|intern|translator|editor|producer|director|ceo|cto|cfo|founder|"
    r"co-founder|retiree|housewife|homemaker|stay-at-home (?:mom|dad)|student|banker|trader|economist|"
    r"technician|clerk|recruiter|administrator|coach|trainer|tutor|soldier|actor|actress|singer|streamer|"
    r"blogger|youtuber|investor|realtor|agent|tester|specialist|supervisor|planner|strategist|inspector)s?$", re.IGNORECASE)


def is_occupation(text: str) -> bool:
    t = text.strip()
    if re.search(r"[\u4e00-\u9fff]", t):
        return bool(OCCUPATIONS_ZH.search(t))
    return bool(OCCUPATIONS_EN.search(t))


# ---------------------------------------------------------------- slugs


def singular(word: str) -> str:
    w = word.lower()
    if len(w) <= 3 or w.endswith(("ss", "us", "is", "ing")):
        return w
    if w.endswith("ies") and len(w) > 4:
        return w[:-3] + "y"
    if w.endswith(("ches", "shes", "xes", "sses", "oes")):
        return w[:-2]
    if w.endswith("s"):
        return w[:-1]
    return w


def slugify(text: str) -> str:
    """A slot-safe key: English lower-case singular words joined by '-', Chinese kept as is."""
    t = text.strip().lower()
    t = re.sub(r"^(?:playing|watching|listening to|doing)\s+", "", t)
    t = re.sub(r"^(?:the|a|an|my|some|any|all|this|that|these|those)\s+", "", t)
    t = re.sub(r"[\s_/]+", "-", t)
    t = re.sub(r"[^\w\u4e00-\u9fff-]", "", t)
    parts = [singular(p) if p.isascii() else p for p in t.split("-") if p]
    return "-".join(parts) or "unknown"
