"""Food lexicons: spicy words, common foods (to tell "food.like" from other likes), and
allergen / avoided-item keys shared by both languages ("花生" and "peanuts" -> "peanut")."""

from __future__ import annotations

from extraction.rules import pattern_cache as re  # re, with a cache that holds all rule patterns


SPICY_ZH = ("吃辣", "辣的", "辣锅", "麻辣", "重辣", "辣味", "辣菜", "辣椒", "辣", "特辣", "变态辣", "香辣", "川味")
SPICY_EN = ("spicy food", "spicy foods", "spicy dishes", "spicy stuff", "spicy things", "spicy", "spice",
            "hot food", "hot and spicy food", "chili", "chilli", "chilies", "chillies", "hot peppers")

FOODS_ZH = ("火锅", "烧烤", "串串", "麻辣烫", "寿司", "拉面", "面条", "米饭", "饺子", "包子", "小笼包", "烤鸭", "披萨",
            "汉堡", "炸鸡", "牛排", "海鲜", "日料", "日本料理", "韩料", "西餐", "中餐", "川菜", "湘菜", "粤菜", "东北菜",
            "甜食", "甜品", "蛋糕", "巧克力", "冰淇淋", "水果", "榴莲", "芒果", "咖啡", "奶茶", "茶", "可乐", "啤酒",
            "红酒", "螺蛳粉", "臭豆腐", "豆腐", "牛肉", "猪肉", "鸡肉", "羊肉", "香菜", "辣条", "炒饭", "粥", "早茶",
            "点心", "零食", "小吃", "面包", "酸奶", "奶酪", "沙拉", "卤味", "烤肉", "麻辣香锅", "酸菜鱼", "米线", "饭团",
            "蘑菇", "洋葱", "大蒜", "蒜", "葱", "姜", "茄子", "西兰花", "胡萝卜", "土豆", "番茄", "西红柿", "青椒", "苦瓜",
            "内脏", "肥肉", "鸡蛋", "牛奶", "海带", "韭菜", "芹菜", "豆浆", "油条", "生蚝", "三文鱼", "鸭血", "毛肚")
_FOOD_SUFFIX_ZH = re.compile(r"(菜|饭|面|粉|锅|汤|肉|鱼|虾|蟹|饼|糕|包|饺|粥|茶|酒|奶|汁|串|鸭|鸡|料理|甜品|小吃|零食|火锅)$")
FOODS_EN = ("pizza", "sushi", "ramen", "noodles", "pasta", "burgers", "burger", "hamburgers", "tacos", "curry",
            "dumplings", "hotpot", "hot pot", "bbq", "barbecue", "steak", "seafood", "chocolate", "ice cream",
            "cake", "desserts", "dessert", "sweets", "coffee", "tea", "beer", "wine", "fruit", "mango", "mangoes",
            "durian", "kimchi", "dim sum", "fried chicken", "salad", "cheese", "bread", "pho", "bubble tea", "boba",
            "matcha", "cilantro", "chicken", "beef", "pork", "lamb", "fish", "shrimp", "rice", "soup", "tofu",
            "bagels", "croissants", "donuts", "cookies", "smoothies", "juice", "snacks", "barbecue", "kebabs",
            "mushrooms", "mushroom", "onions", "onion", "garlic", "olives", "tomatoes", "eggplant", "broccoli", "spinach",
            "carrots", "potatoes", "eggs", "milk", "oysters", "lobster", "crab", "salmon", "tuna", "bacon", "sausage",
            "duck", "yogurt", "peanuts", "nuts", "avocado", "avocados", "bananas", "apples", "strawberries", "peppers",
            "celery", "cucumber", "coconut", "liver", "anchovies", "sardines", "oatmeal", "cereal", "pancakes")
_FOOD_SUFFIX_EN = re.compile(r"\b(food|foods|cuisine|dishes|dish|soup|noodles|cake|pie|tea|coffee|juice|hotpot|"
                             r"hot pot|bbq|curry|chicken|beef|pork|fries|sandwich(?:es)?|pizza|sushi)$")


def is_spicy(obj: str) -> bool:
    o = obj.strip().lower()
    return o in SPICY_ZH or o in SPICY_EN


def is_food(obj: str) -> bool:
    o = obj.strip().lower()
    if not o:
        return False
    if re.search(r"[\u4e00-\u9fff]", o):
        return o in FOODS_ZH or (len(o) <= 8 and bool(_FOOD_SUFFIX_ZH.search(o))) or any(f in o for f in FOODS_ZH if len(f) >= 2)
    return o in FOODS_EN or bool(_FOOD_SUFFIX_EN.search(o)) or any(
        re.search(rf"\b{re.escape(f)}\b", o) for f in FOODS_EN)


ALLERGENS: dict[str, tuple[str, ...]] = {
    "peanut": ("花生", "peanuts", "peanut"),
    "seafood": ("海鲜", "seafood"),
    "shellfish": ("贝类", "甲壳类", "shellfish"),
    "shrimp": ("虾", "shrimp", "prawns"),
    "egg": ("鸡蛋", "蛋", "eggs", "egg"),
    "dairy": ("牛奶", "奶制品", "乳制品", "milk", "dairy"),
    "lactose": ("乳糖", "lactose"),
    "gluten": ("麸质", "小麦", "gluten", "wheat"),
    "nuts": ("坚果", "tree nuts", "nuts"),
    "mango": ("芒果", "mangoes", "mango"),
    "pollen": ("花粉", "pollen"),
    "cat": ("猫毛", "猫", "cats", "cat hair", "cat"),
    "dog": ("狗毛", "狗", "dogs", "dog"),
    "penicillin": ("青霉素", "penicillin"),
    "soy": ("大豆", "黄豆", "soy"),
    "fish": ("鱼", "fish"),
    "sesame": ("芝麻", "sesame"),
    "alcohol": ("酒精", "酒", "alcohol"),
    "beef": ("牛肉", "beef"),
    "pork": ("猪肉", "pork"),
    "lamb": ("羊肉", "lamb", "mutton"),
    "cilantro": ("香菜", "cilantro", "coriander"),
    "dust": ("尘螨", "灰尘", "dust mites", "dust"),
    "coffee": ("咖啡", "coffee"),
    "caffeine": ("咖啡因", "caffeine"),
    "tea": ("浓茶", "茶", "tea"),
    "sugar": ("甜食", "糖", "sugar", "sweets"),
}


def item_key(item: str) -> str:
    """Canonical key of a food / allergen ("花生" and "peanuts" -> "peanut")."""
    low = item.strip().lower()
    for key, aliases in ALLERGENS.items():
        if low in aliases:
            return key
    for key, aliases in sorted(ALLERGENS.items(), key=lambda kv: -max(len(a) for a in kv[1])):
        if any(len(a) >= 2 and a in low for a in aliases):
            return key
    from extraction.rules.lexicon import slugify

    return slugify(item)
