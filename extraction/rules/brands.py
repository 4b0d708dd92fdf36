"""Brand tiers for the options an assistant offers (hotels, airlines, cabins, cars).

A user who picks the cheapest tier among the offered options may prefer value for
money; one who picks the most expensive may prefer high-end ones. That inference
is only drawn for options found in these tables.
"""

from __future__ import annotations

from extraction.rules import pattern_cache as re  # re, with a cache that holds all rule patterns
from dataclasses import dataclass


@dataclass(frozen=True)
class Brand:
    key: str
    category: str  # hotel | airline | cabin | car
    tier: int  # 1 = budget ... 4 = luxury
    zh: str  # display name in Chinese
    en: str  # display name in English
    aliases: tuple[str, ...]


def _b(category: str, tier: int, zh: str, en: str, *aliases: str) -> Brand:
    key = re.sub(r"[^a-z0-9]+", "-", en.lower()).strip("-")
    return Brand(key, category, tier, zh, en, tuple(a.lower() for a in (zh, en) + aliases))


BRANDS: tuple[Brand, ...] = (
    # hotels: 1 budget, 2 midscale, 3 upscale, 4 luxury
    _b("hotel", 1, "七天连锁酒店", "7 Days Inn", "七天", "7天", "7天酒店", "七天酒店", "7 days"),
    _b("hotel", 1, "如家酒店", "Home Inn", "如家"),
    _b("hotel", 1, "汉庭酒店", "Hanting Hotel", "汉庭", "hanting"),
    _b("hotel", 1, "锦江之星", "Jinjiang Inn"),
    _b("hotel", 1, "格林豪泰", "GreenTree Inn", "greentree"),
    _b("hotel", 1, "宜必思酒店", "Ibis", "宜必思", "ibis hotel"),
    _b("hotel", 1, "6号汽车旅馆", "Motel 6"),
    _b("hotel", 1, "普瑞米尔酒店", "Premier Inn"),
    _b("hotel", 1, "旅客之家", "Travelodge"),
    _b("hotel", 1, "速8酒店", "Super 8", "速8"),
    _b("hotel", 1, "红屋顶酒店", "Red Roof Inn", "red roof"),
    _b("hotel", 1, "戴斯酒店", "Days Inn"),
    _b("hotel", 2, "全季酒店", "JI Hotel", "全季", "ji hotels"),
    _b("hotel", 2, "亚朵酒店", "Atour Hotel", "亚朵", "atour"),
    _b("hotel", 2, "桔子酒店", "Orange Hotel", "桔子"),
    _b("hotel", 2, "维也纳酒店", "Vienna Hotel", "维也纳"),
    _b("hotel", 2, "智选假日酒店", "Holiday Inn Express", "智选假日"),
    _b("hotel", 2, "假日酒店", "Holiday Inn"),
    _b("hotel", 2, "汉普顿酒店", "Hampton Inn", "希尔顿欢朋", "hampton", "hampton by hilton"),
    _b("hotel", 2, "万怡酒店", "Courtyard by Marriott", "万怡", "courtyard"),
    _b("hotel", 2, "诺富特酒店", "Novotel", "诺富特"),
    _b("hotel", 3, "希尔顿酒店", "Hilton", "希尔顿", "hilton hotel"),
    _b("hotel", 3, "万豪酒店", "Marriott", "万豪", "jw marriott", "jw万豪"),
    _b("hotel", 3, "喜来登酒店", "Sheraton", "喜来登"),
    _b("hotel", 3, "洲际酒店", "InterContinental", "洲际"),
    _b("hotel", 3, "凯悦酒店", "Hyatt", "凯悦", "grand hyatt", "君悦"),
    _b("hotel", 3, "香格里拉酒店", "Shangri-La", "香格里拉"),
    _b("hotel", 3, "威斯汀酒店", "Westin", "威斯汀"),
    _b("hotel", 3, "皇冠假日酒店", "Crowne Plaza", "皇冠假日"),
    _b("hotel", 4, "丽思卡尔顿酒店", "Ritz-Carlton", "丽思卡尔顿", "ritz carlton", "the ritz"),
    _b("hotel", 4, "四季酒店", "Four Seasons", "四季酒店"),
    _b("hotel", 4, "半岛酒店", "The Peninsula", "半岛酒店", "peninsula"),
    _b("hotel", 4, "文华东方酒店", "Mandarin Oriental", "文华东方"),
    _b("hotel", 4, "安缦酒店", "Aman", "安缦"),
    _b("hotel", 4, "宝格丽酒店", "Bulgari Hotel", "宝格丽"),
    _b("hotel", 4, "瑞吉酒店", "St. Regis", "瑞吉", "st regis"),
    _b("hotel", 4, "华尔道夫酒店", "Waldorf Astoria", "华尔道夫", "waldorf"),
    _b("hotel", 4, "柏悦酒店", "Park Hyatt", "柏悦"),
    _b("hotel", 4, "康莱德酒店", "Conrad", "康莱德"),
    # airlines: 1 low-cost, 2 full-service, 3 premium
    _b("airline", 1, "春秋航空", "Spring Airlines", "春秋"),
    _b("airline", 1, "九元航空", "9 Air"),
    _b("airline", 1, "亚洲航空", "AirAsia", "亚航", "air asia"),
    _b("airline", 1, "酷航", "Scoot"),
    _b("airline", 1, "捷星航空", "Jetstar", "捷星"),
    _b("airline", 1, "乐桃航空", "Peach Aviation", "乐桃", "peach"),
    _b("airline", 1, "瑞安航空", "Ryanair"),
    _b("airline", 1, "易捷航空", "easyJet"),
    _b("airline", 1, "精神航空", "Spirit Airlines", "spirit"),
    _b("airline", 1, "边疆航空", "Frontier Airlines", "frontier"),
    _b("airline", 1, "威兹航空", "Wizz Air", "wizz"),
    _b("airline", 2, "中国国航", "Air China", "国航", "中国国际航空"),
    _b("airline", 2, "东方航空", "China Eastern", "东航"),
    _b("airline", 2, "南方航空", "China Southern", "南航"),
    _b("airline", 2, "海南航空", "Hainan Airlines", "海航"),
    _b("airline", 2, "厦门航空", "Xiamen Airlines", "厦航"),
    _b("airline", 2, "达美航空", "Delta", "达美", "delta air lines"),
    _b("airline", 2, "美联航", "United Airlines", "united"),
    _b("airline", 2, "美国航空", "American Airlines"),
    _b("airline", 2, "汉莎航空", "Lufthansa", "汉莎"),
    _b("airline", 2, "英国航空", "British Airways", "英航"),
    _b("airline", 2, "法国航空", "Air France", "法航"),
    _b("airline", 2, "全日空", "ANA", "all nippon airways"),
    _b("airline", 2, "日本航空", "Japan Airlines", "日航", "jal"),
    _b("airline", 3, "新加坡航空", "Singapore Airlines", "新航"),
    _b("airline", 3, "阿联酋航空", "Emirates", "阿联酋"),
    _b("airline", 3, "卡塔尔航空", "Qatar Airways", "卡航"),
    _b("airline", 3, "国泰航空", "Cathay Pacific", "国泰"),
    _b("airline", 3, "阿提哈德航空", "Etihad"),
    # cabins
    _b("cabin", 1, "经济舱", "economy class", "economy"),
    _b("cabin", 2, "超级经济舱", "premium economy"),
    _b("cabin", 3, "商务舱", "business class"),
    _b("cabin", 4, "头等舱", "first class"),
    # cars (rental classes and brands)
    _b("car", 1, "经济型轿车", "economy car", "经济型", "compact car", "compact"),
    _b("car", 1, "五菱", "Wuling"),
    _b("car", 1, "起亚", "Kia"),
    _b("car", 2, "丰田", "Toyota", "凯美瑞", "camry"),
    _b("car", 2, "本田", "Honda", "雅阁", "accord"),
    _b("car", 2, "大众", "Volkswagen", "vw"),
    _b("car", 2, "SUV", "SUV", "suv"),
    _b("car", 3, "特斯拉", "Tesla"),
    _b("car", 4, "奔驰", "Mercedes-Benz", "mercedes", "benz"),
    _b("car", 4, "宝马", "BMW"),
    _b("car", 4, "奥迪", "Audi"),
    _b("car", 4, "保时捷", "Porsche"),
    _b("car", 4, "雷克萨斯", "Lexus"),
    _b("car", 4, "豪华车", "luxury car", "豪华型"),
)

_INDEX = sorted(((a, b) for b in BRANDS for a in b.aliases), key=lambda p: -len(p[0]))


def brands_in(text: str) -> list[tuple[int, int, Brand]]:
    """Brand mentions in ``text`` (longest alias first, non-overlapping), in order."""
    low = text.lower()
    taken = [False] * len(low)
    found: list[tuple[int, int, Brand]] = []
    for alias, brand in _INDEX:
        ascii_alias = alias.isascii()
        pattern = rf"(?<![a-z0-9]){re.escape(alias)}(?![a-z0-9])" if ascii_alias else re.escape(alias)
        for m in re.finditer(pattern, low):
            if any(taken[m.start():m.end()]):
                continue
            for i in range(m.start(), m.end()):
                taken[i] = True
            found.append((m.start(), m.end(), brand))
    return sorted(found, key=lambda f: f[0])


# implicit preference sentences: category -> (low zh, high zh, low en, high en)
TIER_PREFERENCE = {
    "hotel": ("可能偏好性价比较高的酒店", "可能偏好高端酒店",
              "may prefer budget-friendly hotels", "may prefer high-end hotels"),
    "airline": ("可能偏好价格实惠的廉价航空", "可能偏好服务更好的高端航空公司",
                "may prefer low-cost airlines", "may prefer premium airlines"),
    "cabin": ("可能偏好经济实惠的舱位", "可能偏好更舒适的高等级舱位",
              "may prefer economical cabin classes", "may prefer premium cabin classes"),
    "car": ("可能偏好经济实惠的车型", "可能偏好豪华车型",
            "may prefer economical cars", "may prefer luxury cars"),
}
CATEGORY_ZH = {"hotel": "酒店", "airline": "航空公司", "cabin": "舱位", "car": "车型"}
CATEGORY_EN = {"hotel": "hotel", "airline": "airline", "cabin": "cabin class", "car": "car"}
PREFERENCE_SLOT = {"hotel": "preference.hotel.tier", "airline": "preference.airline.tier",
                   "cabin": "preference.flight.cabin", "car": "preference.car.tier"}
