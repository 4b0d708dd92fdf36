"""Place names: capture a place after 住在 / 去 / "live in" / "trip to", and give the
known ones a language-independent key (成都 and Chengdu -> "chengdu") for slots.

Unknown places are still captured by shape (a run of Chinese characters up to a stop
word, or a run of Capitalised words); the table only helps boundaries and keys.
"""

from __future__ import annotations

from extraction.rules import pattern_cache as re  # re, with a cache that holds all rule patterns

_PAIRS = """
北京 Beijing|上海 Shanghai|广州 Guangzhou|深圳 Shenzhen|成都 Chengdu|重庆 Chongqing|杭州 Hangzhou|南京 Nanjing|
武汉 Wuhan|西安 Xi'an|天津 Tianjin|苏州 Suzhou|长沙 Changsha|郑州 Zhengzhou|青岛 Qingdao|大连 Dalian|厦门 Xiamen|
昆明 Kunming|三亚 Sanya|丽江 Lijiang|大理 Dali|桂林 Guilin|哈尔滨 Harbin|沈阳 Shenyang|济南 Jinan|合肥 Hefei|
福州 Fuzhou|南昌 Nanchang|贵阳 Guiyang|南宁 Nanning|兰州 Lanzhou|乌鲁木齐 Urumqi|拉萨 Lhasa|海口 Haikou|
珠海 Zhuhai|佛山 Foshan|东莞 Dongguan|宁波 Ningbo|无锡 Wuxi|香港 Hong Kong|澳门 Macau|台北 Taipei|洛阳 Luoyang|
西藏 Tibet|新疆 Xinjiang|云南 Yunnan|四川 Sichuan|广东 Guangdong|浙江 Zhejiang|江苏 Jiangsu|湖南 Hunan|
湖北 Hubei|河南 Henan|河北 Hebei|山东 Shandong|山西 Shanxi|福建 Fujian|海南 Hainan|东北 Northeast China|
东京 Tokyo|大阪 Osaka|京都 Kyoto|北海道 Hokkaido|首尔 Seoul|济州岛 Jeju|曼谷 Bangkok|清迈 Chiang Mai|普吉岛 Phuket|
新加坡 Singapore|巴厘岛 Bali|巴黎 Paris|伦敦 London|纽约 New York|洛杉矶 Los Angeles|旧金山 San Francisco|
西雅图 Seattle|波士顿 Boston|芝加哥 Chicago|悉尼 Sydney|墨尔本 Melbourne|柏林 Berlin|慕尼黑 Munich|罗马 Rome|
米兰 Milan|威尼斯 Venice|巴塞罗那 Barcelona|马德里 Madrid|阿姆斯特丹 Amsterdam|里斯本 Lisbon|迪拜 Dubai|
多伦多 Toronto|温哥华 Vancouver|夏威夷 Hawaii|日本 Japan|韩国 Korea|泰国 Thailand|美国 USA|英国 UK|法国 France|
德国 Germany|意大利 Italy|西班牙 Spain|澳大利亚 Australia|澳洲 Australia|加拿大 Canada|新西兰 New Zealand|
马来西亚 Malaysia|越南 Vietnam|冰岛 Iceland|瑞士 Switzerland|欧洲 Europe|中国 China|印度 India|埃及 Egypt|
土耳其 Turkey|希腊 Greece|墨西哥 Mexico|巴西 Brazil|俄罗斯 Russia|荷兰 Netherlands|葡萄牙 Portugal|爱尔兰 Ireland|
苏格兰 Scotland|挪威 Norway|瑞典 Sweden|芬兰 Finland|丹麦 Denmark|奥地利 Austria|捷克 Czech Republic|布拉格 Prague|
维也纳 Vienna|都柏林 Dublin|爱丁堡 Edinburgh|奥斯汀 Austin|丹佛 Denver|迈阿密 Miami|拉斯维加斯 Las Vegas|
"""
ZH_TO_EN: dict[str, str] = {}
for _pair in _PAIRS.replace("\n", "").split("|"):
    if _pair.strip():
        _zh, _en = _pair.strip().split(" ", 1)
        ZH_TO_EN[_zh] = _en
EN_PLACES = {en.lower(): en for en in ZH_TO_EN.values()}
EN_PLACES.update({p.lower(): p for p in (
    "New Jersey", "California", "Texas", "Florida", "Oregon", "Portland", "Atlanta", "Philadelphia",
    "Washington", "Washington DC", "San Diego", "Manchester", "Bristol", "Glasgow", "Hamburg", "Frankfurt",
    "Zurich", "Geneva", "Brussels", "Copenhagen", "Stockholm", "Oslo", "Helsinki", "Warsaw", "Budapest",
    "Athens", "Istanbul", "Cairo", "Nairobi", "Cape Town", "Auckland", "Montreal", "Mexico City",
    "Buenos Aires", "Rio", "Lima", "Santiago", "Hanoi", "Ho Chi Minh City", "Kuala Lumpur", "Jakarta",
    "Manila", "Mumbai", "Delhi", "Bangalore", "the US", "the UK", "the States", "Bay Area", "the Bay Area",
    "Silicon Valley", "Brooklyn", "Queens", "Nashville", "Phoenix", "Dallas", "Houston", "Minneapolis",
    "Pittsburgh", "Detroit", "Cleveland", "Tuscany", "Provence", "Kyoto", "Okinawa", "Cancun", "Iceland")})
_EN_KEYS = {en.lower(): en.lower() for en in EN_PLACES}
_EN_KEYS.update({"the us": "usa", "us": "usa", "the states": "usa", "america": "usa", "the uk": "uk",
                 "britain": "uk", "england": "uk", "the bay area": "bay area", "nyc": "new york"})

_ZH_BY_LENGTH = sorted(ZH_TO_EN, key=len, reverse=True)
_ZH_ADMIN = re.compile(r"^(?:市|省|区|县|州)")
# characters / words that end a Chinese place name
_ZH_STOP = re.compile(
    r"了|啦|呢|吧|啊|呀|的|居住|住|生活|工作|上班|上学|读书|念书|旅游|旅行|玩|度假|出差|定居|发展|已经|很|好|多|几|快|有|"
    r"这|那|一|两|三|半|年|个|去|和|跟|及|与|或|看|待|呆|过|还|也|都|就|吃|买|当|做|长大|出生|读|学|的|附近|一带|这边|那边")
_NOT_PLACE = re.compile(r"^(?:[在去到从了的是和跟我你他她它这那哪每各某年月日天周]|老家|家里|家|新家|那里|这里|那儿|这儿|那边|这边|哪里|哪儿|外地|国外|公司|学校|附近|市区|郊区|"
                        r"一个|一家|一所|我们|他们|朋友|父母|这个|那个|别的|其他)")


def zh_place_at(text: str, pos: int) -> tuple[str, int] | None:
    """The Chinese place name starting at ``pos`` and where it ends, or None."""
    rest = text[pos:]
    for name in _ZH_BY_LENGTH:
        if rest.startswith(name):
            end = pos + len(name)
            adm = _ZH_ADMIN.match(text[end:])
            if adm:
                end += adm.end()
            inner = zh_place_at(text, end) if end < len(text) and text[end] not in "，,。" else None
            if inner is not None and is_known_place(inner[0]):
                return text[pos:inner[1]], inner[1]  # 湖南长沙, 四川成都
            return text[pos:end], end
    latin = re.match(r"[A-Z][A-Za-z'.-]+(?:\s+[A-Z][A-Za-z'.-]+)*", rest)
    if latin:
        return latin.group(0), pos + latin.end()
    m = re.match(r"[\u4e00-\u9fff]{2,10}", rest)
    if not m:
        return None
    run = m.group(0)
    stop = _ZH_STOP.search(run, 1)
    if stop is not None:
        run = run[:stop.start()]
    if len(run) > 6 or len(run) < 2 or _NOT_PLACE.match(run):
        return None
    if re.match(r"附近|旁边|对面|边上|楼下|一带|那边|这边", text[pos + len(run):]):
        return None  # 住在希尔顿附近: near something, not a place name
    return run, pos + len(run)


_EN_BY_LENGTH = sorted(EN_PLACES, key=len, reverse=True)
_EN_PLACE = re.compile(
    r"(?:the\s+)?(?:[A-Z][\w'’.-]*)(?:\s+(?:(?:de|del|la|of|upon|on|am)\s+)?[A-Z][\w'’.-]*)*")
_EN_NOT_PLACE = re.compile(r"^(?:I|I'm|My|The|A|An|It|This|That|We|You|He|She|They|And|But|So|Next|Last|This)$")


def en_place_at(text: str, pos: int) -> tuple[str, int] | None:
    """The English place name starting at ``pos`` (Capitalised words, or a known
    lower-cased name), and where it ends."""
    rest = text[pos:]
    low = rest.lower()
    for name in _EN_BY_LENGTH:
        if low.startswith(name) and not re.match(r"[a-z]", low[len(name):len(name) + 1]):
            return _with_region(text, EN_PLACES[name], pos + len(name))
    m = _EN_PLACE.match(rest)
    if not m:
        return None
    words = m.group(0).split()
    while words and _EN_NOT_PLACE.match(words[-1]):
        words.pop()
    while words and words[-1].lower() in _DATE_WORDS:
        words.pop()
    if not words or _EN_NOT_PLACE.match(words[0]) and len(words) == 1:
        return None
    last = words[-1]
    if last.endswith(".") and not re.fullmatch(r"(?:[A-Z]\.)+|St\.|Mt\.|Ft\.", last):
        words[-1] = last.rstrip(".")  # the sentence's full stop, not part of the name
    name = " ".join(words)
    return _with_region(text, name, pos + rest.index(last) + len(words[-1]))


def _with_region(text: str, name: str, end: int) -> tuple[str, int]:
    """"Manchester, England" / "Austin, Texas": keep a known region after a comma."""
    m = re.match(r",\s*(D\.C\.|[A-Z][\w'-]*(?:\s+[A-Z][\w'-]*)?)(?=\s*(?:[,.!;?]|$|\s+(?:and|but|for|in|with|next|last|this)\b))",
                 text[end:])
    if m and (m.group(1).lower() in EN_PLACES or m.group(1).lower() in _EN_KEYS or m.group(1) in _REGIONS):
        return f"{name}, {m.group(1)}", end + m.end()
    return name, end


_REGIONS = {"England", "Scotland", "Wales", "Ireland", "Texas", "California", "Florida", "Ohio", "Oregon", "Germany",
            "France", "Italy", "Spain", "Japan", "China", "Canada", "Australia", "USA", "UK", "US", "Massachusetts",
            "Washington", "D.C.", "Colorado", "Illinois", "Georgia", "New York", "Ontario", "Quebec", "Bavaria"}


_DATE_WORDS = {m.lower() for m in (
    "January February March April May June July August September October November December "
    "Monday Tuesday Wednesday Thursday Friday Saturday Sunday Christmas Thanksgiving").split()}


def place_key(name: str) -> str:
    """A language-independent key: 成都 / Chengdu -> "chengdu"; unknown places as written."""
    n = name.strip()
    for known in _ZH_BY_LENGTH:  # "四川成都" -> the most specific known part
        if len(n) > len(known) and n.endswith(known):
            n = known
            break
    n = re.sub(r"(?:市|省)$", "", n) if n not in ZH_TO_EN else n
    if n in ZH_TO_EN:
        return _EN_KEYS.get(ZH_TO_EN[n].lower(), ZH_TO_EN[n].lower()).replace(" ", "-")
    n = n.split(",")[0].strip()
    low = n.lower()
    if low in _EN_KEYS:
        return _EN_KEYS[low].replace(" ", "-")
    return re.sub(r"\s+", "-", low)


def is_known_place(name: str) -> bool:
    n = re.sub(r"(?:市|省)$", "", name.strip())
    from extraction.rules.truecase import world_places

    return n in ZH_TO_EN or n.lower() in EN_PLACES or n.lower() in _EN_KEYS or n.lower() in world_places()
