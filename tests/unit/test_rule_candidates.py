"""Table-driven tests of the offline rule candidate finder (zh + en).

Each case is a window of messages (role, text, is_new; chat_time 2025-05-10, a
Saturday, unless given) and the exact set of candidates expected from it, written
as (kind, slot, text, preference_type): ``text`` must occur in the candidate's
clause or content, or equal the clause when it starts with "=". A case passes
when the candidates match the expectations one to one (no misses, no extras).

``python -m tests.unit.test_rule_candidates`` prints precision / recall over the
table; ``test_precision_recall_report`` prints the same under pytest.
"""

from __future__ import annotations

from datetime import datetime

import pytest

from domain.extraction import Candidate, CandidateFinder, WindowMessage
from extraction.rules import RuleCandidateFinder

T = datetime(2025, 5, 10, 10, 0)  # Saturday


def U(text: str, new: bool = True, at: datetime = T) -> tuple:
    return ("user", text, new, at)


def A(text: str, new: bool = False, at: datetime = T) -> tuple:
    return ("assistant", text, new, at)


F, P = "fact", "preference"
EX, IM = "explicit", "implicit"

# (id, messages, expected candidates, expected covered message indices or None to skip the check)
CASES: list[tuple[str, list[tuple], set[tuple], set[int] | None]] = [
    # ---------------------------------------------------------------- Chinese
    ("zh-brief-v1", [U("我是小忆，现在在上海居住，不太能吃辣。")],
     {(F, "name", "=叫小忆", None), (F, "residence", "=在上海居住", None), (F, "diet.spicy", "=不能吃辣", None)}, {0}),
    ("zh-brief-v2", [U("最近我搬去成都了，突然爱上四川火锅，喜欢辣锅！")],
     {(F, "residence", "=在成都居住", None), (P, "food.like", "=喜欢四川火锅", EX), (F, "diet.spicy", "=喜欢吃辣", None)}, {0}),
    ("zh-name-age-job", [U("我叫王小明，今年28岁，是一名程序员，在腾讯工作。")],
     {(F, "name", "=叫王小明", None), (F, "age", "28岁", None), (F, "work.role", "程序员", None),
      (F, "work.employer", "在腾讯工作", None)}, {0}),
    ("zh-hometown-residence", [U("我老家是四川的，现在住在杭州。")],
     {(F, "hometown", "四川", None), (F, "residence", "=在杭州居住", None)}, {0}),
    ("zh-family-pet", [U("我女儿今年5岁了，我们家还养了一只猫叫咪咪。")],
     {(F, "family.children", "5岁的女儿", None), (F, "pet.cat", "咪咪", None)}, {0}),
    ("zh-allergy-vegetarian", [U("我对花生过敏，而且我吃素。")],
     {(F, "diet.allergy.peanut", "对花生过敏", None), (F, "diet.vegetarian", "吃素", None)}, {0}),
    ("zh-food-dislike", [U("我不喜欢吃香菜")], {(P, "food.dislike", "不喜欢吃香菜", EX)}, {0}),
    ("zh-hobby-habit", [U("我最近迷上了徒步，周末经常去爬山")], {(P, "preference.hiking", "徒步", EX)}, {0}),
    ("zh-travel-summer", [U("我计划今年暑假去广州旅游")],
     {(F, "travel.2025-summer", "=计划在2025年暑假期间前往广州旅游", None)}, {0}),
    ("zh-choice-budget-with-plan",
     [U("我计划今年暑假去广州旅游"), A("可以考虑七天、全季或希尔顿", new=True), U("那就七天吧")],
     {(F, "travel.2025-summer", "=计划在2025年暑假期间前往广州旅游，并选择了七天连锁酒店", None),
      (P, "preference.hotel.tier", "性价比较高的酒店", IM)}, {0, 1, 2}),
    ("zh-choice-plan-in-context",
     [U("我计划今年暑假去广州旅游", new=False), A("可以考虑七天、全季或希尔顿"), U("那就七天吧")],
     {(F, "travel.2025-summer", "前往广州旅游，并选择了七天连锁酒店", None),
      (P, "preference.hotel.tier", "性价比较高", IM)}, {2}),
    ("zh-choice-luxury", [A("推荐七天、全季或者希尔顿"), U("希尔顿吧")],
     {(F, "choice.hotel", "希尔顿酒店", EX), (P, "preference.hotel.tier", "高端酒店", IM)}, {1}),
    ("zh-choice-midscale-no-implicit", [A("推荐您住如家、亚朵或者万豪。"), U("亚朵吧")],
     {(F, "choice.hotel", "亚朵酒店", EX)}, {1}),
    ("zh-choice-unknown-options", [A("你可以考虑住民宿、青旅或者酒店"), U("那就民宿吧")],
     {(F, "choice.hotel", "民宿", EX)}, {1}),
    ("zh-plan-weekday", [U("我下周三要去面试")], {(F, "plan.2025-05-14", "2025年5月14日", None)}, {0}),
    ("zh-event-last-week", [U("我上周去了北京出差")], {(F, "event.2025-W18.beijing", "去了北京出差", None)}, {0}),
    ("zh-travel-family-next-month", [U("我打算下个月带家人去三亚度假")],
     {(F, "travel.2025-06", "=计划在2025年6月期间带家人前往三亚度假", None)}, {0}),
    ("zh-family-travel-preference", [U("我们家喜欢全家一起出游")], {(P, "preference.travel.family", "全家一起出游", EX)}, {0}),
    ("zh-plan-move", [U("我明年3月要搬到深圳")], {(F, "plan.move", "2026年3月", None)}, {0}),
    ("zh-national-day", [U("国庆打算去西安玩")], {(F, "travel.2025-national-day", "2025年国庆期间前往西安旅游", None)}, {0}),
    ("zh-style", [U("我喜欢简约风格的装修")], {(P, "preference.style.home", "简约风格", EX)}, {0}),
    ("zh-married-kids", [U("我结婚了，有两个孩子")],
     {(F, "family.spouse", "已婚", None), (F, "family.children", "两个孩子", None)}, {0}),
    ("zh-possession", [U("我刚买了一辆特斯拉")], {(F, "possession.car", "特斯拉", None)}, {0}),
    ("zh-education", [U("我毕业于清华大学，专业是计算机")],
     {(F, "education.school", "清华大学", None), (F, "education.major", "计算机", None)}, {0}),
    ("zh-hometown-spicy", [U("我是四川人，特别能吃辣")],
     {(F, "hometown", "四川", None), (F, "diet.spicy", "能吃辣", None)}, {0}),
    ("zh-tomorrow-plan", [U("明天我要去医院体检")], {(F, "plan.2025-05-11", "=2025年5月11日要去医院体检", None)}, {0}),
    ("zh-travel-plus-question", [U("我想去云南，有什么推荐吗？")], {(F, "travel.yunnan", "云南", None)}, {0}),
    ("zh-avoid-drink", [U("我平时不喝咖啡")], {(F, "diet.avoid.coffee", "不喝咖啡", None)}, {0}),
    ("zh-health-salt", [U("我有高血压，不能吃太咸")],
     {(F, "health.hypertension", "有高血压", None), (F, "diet.salt", "不能吃太咸", None)}, {0}),
    ("zh-learning", [U("我最近在学日语")], {(F, "learning.japanese", "学日语", None)}, {0}),
    ("zh-current-location-and-trip", [U("我现在在上海，下周去北京出差")],
     {(F, "location.current", "在上海", None), (F, "travel.2025-W20", "前往北京出差", None)}, {0}),
    ("zh-companion-spring-festival", [U("我和男朋友打算明年春节去日本玩")],
     {(F, "travel.2026-spring-festival", "=计划在2026年春节期间和男朋友一起前往日本旅游", None)}, {0}),
    ("zh-shiyi-sightseeing", [U("我打算十一去杭州看西湖")],
     {(F, "travel.2025-national-day", "前往杭州看西湖", None)}, {0}),
    ("zh-previous-residence", [U("我以前住在北京，现在住在上海")],
     {(F, "residence.previous", "以前在北京居住", None), (F, "residence", "=在上海居住", None)}, {0}),
    ("zh-cabin-choice", [A("可以选择经济舱、商务舱或者头等舱"), U("经济舱就行")],
     {(F, "choice.cabin", "经济舱", EX), (P, "preference.flight.cabin", "经济", IM)}, {1}),
    ("zh-future-wedding", [U("我下个月结婚")], {(F, "plan.2025-06", "2025年6月结婚", None)}, {0}),
    # Chinese no-ops
    ("zh-noop-agree", [U("我觉得你说得对")], set(), None),
    ("zh-noop-weather-request", [U("帮我查一下明天的天气")], set(), {0}),
    ("zh-family-wife-not-user", [U("我老婆喜欢吃甜的")], {(F, "family.老婆.diet", "用户的老婆喜欢吃甜的", None)}, {0}),
    ("zh-noop-greeting", [U("你好")], set(), {0}),
    ("zh-noop-thanks", [U("好的，谢谢！哈哈")], set(), {0}),
    ("zh-noop-weather", [U("今天天气不错")], set(), {0}),
    ("zh-noop-knowledge", [U("量子力学是什么？")], set(), {0}),
    ("zh-noop-ask-hotel", [U("有什么酒店推荐吗？")], set(), {0}),
    ("zh-family-friend-not-user", [U("我朋友喜欢爬山")], {(F, "family.朋友.hobby", "用户的朋友喜欢爬山", None)}, {0}),
    ("zh-noop-assistant-only", [A("我也很喜欢爬山！", new=True)], set(), {0}),
    ("zh-noop-old-message", [U("我住在上海", new=False)], set(), set()),
    ("zh-noop-hypothetical", [U("如果我住在上海会怎样？")], set(), {0}),
    # ---------------------------------------------------------------- English
    ("en-profile", [U("Hi! I'm Sam and I live in Berlin. I can't eat spicy food.")],
     {(F, "name", "=is called Sam", None), (F, "residence", "=lives in Berlin", None),
      (F, "diet.spicy", "=cannot eat spicy food", None)}, {0}),
    ("en-move-food", [U("I just moved to Chengdu and fell in love with Sichuan hotpot, I love spicy food now!")],
     {(F, "residence", "=lives in Chengdu", None), (P, "food.like", "=likes Sichuan hotpot", EX),
      (F, "diet.spicy", "=likes spicy food", None)}, {0}),
    ("en-name-age", [U("My name is Alice and I'm 32 years old.")],
     {(F, "name", "=is called Alice", None), (F, "age", "=is 32 years old", None)}, {0}),
    ("en-work", [U("I work at Google as a software engineer.")],
     {(F, "work.employer", "Google", None), (F, "work.role", "software engineer", None)}, {0}),
    ("en-role-org-location", [U("I'm a nurse at a hospital in Boston.")],
     {(F, "work.role", "nurse", None), (F, "work.employer", "a hospital", None), (F, "work.location", "Boston", None)}, {0}),
    ("en-hometown-move", [U("I grew up in Chicago but I moved to Seattle last year.")],
     {(F, "hometown", "Chicago", None), (F, "residence", "=lives in Seattle", None)}, {0}),
    ("en-allergy-vegetarian", [U("I'm allergic to peanuts and I'm vegetarian.")],
     {(F, "diet.allergy.peanut", "peanuts", None), (F, "diet.vegetarian", "vegetarian", None)}, {0}),
    ("en-like-dislike-food", [U("I love sushi but I hate cilantro.")],
     {(P, "food.like", "sushi", EX), (P, "food.dislike", "cilantro", EX)}, {0}),
    ("en-prefer-seat", [U("I prefer window seats over aisle seats.")], {(P, "preference.seat", "window seats", EX)}, {0}),
    ("en-plan-next-friday", [U("I have a dentist appointment next Friday.")],
     {(F, "plan.2025-05-16", "=has a dentist appointment on Friday, May 16, 2025", None)}, {0}),
    ("en-event-last-week", [U("I went to Paris last week.")], {(F, "event.2025-W18.paris", "went to Paris", None)}, {0}),
    ("en-event-date-first", [U("Last summer I went hiking in the Alps.")],
     {(F, "event.2024-summer", "=went hiking in the Alps in summer 2024", None)}, {0}),
    ("en-travel-next-summer", [U("I'm planning a trip to Tokyo next summer.")],
     {(F, "travel.2026-summer", "=is planning a trip to Tokyo in summer 2026", None)}, {0}),
    ("en-choice-budget-with-plan",
     [U("I'm planning a trip to Tokyo next summer"), A("You could stay at the Ibis, a Hilton or the Ritz-Carlton.", new=True),
      U("I'll take the Ibis")],
     {(F, "travel.2026-summer", "=is planning a trip to Tokyo in summer 2026 and chose Ibis", None),
      (P, "preference.hotel.tier", "budget-friendly hotels", IM)}, {0, 1, 2}),
    ("en-choice-luxury", [A("For your stay I'd suggest Motel 6, a Holiday Inn Express or the Ritz-Carlton."),
                          U("Let's go with the Ritz-Carlton.")],
     {(F, "choice.hotel", "Ritz-Carlton", EX), (P, "preference.hotel.tier", "high-end hotels", IM)}, {1}),
    ("en-choice-unknown-options", [A("For dinner, you could try Luigi's, Sakura House or Taco Loco."),
                                   U("Sakura House sounds good")],
     {(F, "choice.restaurant", "Sakura House", EX)}, {1}),
    ("en-choice-airline", [A("You can fly Ryanair, Lufthansa or Emirates."), U("Ryanair please")],
     {(F, "choice.airline", "Ryanair", EX), (P, "preference.airline.tier", "low-cost airlines", IM)}, {1}),
    ("en-travel-family-two-weeks", [U("We're going to Japan with my family in two weeks.")],
     {(F, "travel.2025-W21", "with their family during the week of May 19, 2025", None)}, {0}),
    ("en-two-hobbies", [U("I enjoy cooking and baking.")],
     {(P, "preference.cooking", "cooking", EX), (P, "preference.baking", "baking", EX)}, {0}),
    ("en-no-longer", [U("I don't like hiking anymore.")], {(P, "preference.hiking", "=no longer likes hiking", EX)}, {0}),
    ("en-kids-pet", [U("I have two kids. I also have a dog named Max.")],
     {(F, "family.children", "two kids", None), (F, "pet.dog", "=has a dog named Max", None)}, {0}),
    ("en-possession", [U("I just bought a new MacBook.")], {(F, "possession.laptop", "MacBook", None)}, {0}),
    ("en-education", [U("I'm studying computer science at MIT.")],
     {(F, "education.school", "MIT", None), (F, "education.major", "computer science", None)}, {0}),
    ("en-plan-move", [U("I'm moving to London next month.")], {(F, "plan.move", "London in June 2025", None)}, {0}),
    ("en-family-trips", [U("We love family trips")], {(P, "preference.travel.family", "family trips", EX)}, {0}),
    ("en-role-based-in", [U("Hey there! I'm Priya, I'm a data scientist based in Bangalore.")],
     {(F, "name", "Priya", None), (F, "work.role", "data scientist", None), (F, "residence", "=lives in Bangalore", None)}, {0}),
    ("en-hometown-region", [U("I'm originally from Manchester, England.")],
     {(F, "hometown", "=is originally from Manchester, England", None)}, {0}),
    ("en-learning", [U("I'm learning Spanish.")], {(F, "learning.spanish", "Spanish", None)}, {0}),
    ("en-current-location", [U("I'm in Tokyo right now.")], {(F, "location.current", "Tokyo", None)}, {0}),
    ("en-car-choice", [A("Would you prefer an economy car, a Toyota Camry or a BMW?"), U("The BMW, please.")],
     {(F, "choice.car", "BMW", EX), (P, "preference.car.tier", "luxury", IM)}, {1}),
    ("en-kids-and-cats", [U("We have three kids and two cats.")],
     {(F, "family.children", "three kids", None), (F, "pet.cat", "two cats", None)}, {0}),
    ("en-new-job-last-month", [U("Last month I started a new job at Amazon.")], {(F, "work.employer", "Amazon", None)}, {0}),
    ("en-business-trip", [U("I'll be in New York next Tuesday for a meeting.")],
     {(F, "travel.2025-05-13", "business trip to New York on Tuesday, May 13, 2025", None)}, {0}),
    ("en-prefer-over", [U("Honestly I prefer tea to coffee.")], {(P, "food.like", "=prefers tea over coffee", EX)}, {0}),
    # change markers carrying an object; names keeping their abbreviation; actions as options
    ("zh-switch-drink", [U("我不喝咖啡了，改喝绿茶。")],
     {(F, "diet.avoid.coffee", "=不喝咖啡", None), (P, "drink.绿茶", "=改喝绿茶", EX)}, {0}),
    ("en-switch-drink", [U("I switched to oat milk last year.")], {(P, "drink.oat-milk", "=now drinks oat milk", EX)}, None),
    ("en-no-more-food", [U("Also, I went vegan last month, so no more steak for me.")],
     {(F, "diet.vegetarian", "is vegan", None), (P, "food.dislike", "=no longer eats steak", EX)}, {0}),
    ("en-employer-abbreviation", [U("I work at St. Mary's Hospital.")],
     {(F, "work.employer", "=works at St. Mary's Hospital", None)}, {0}),
    ("en-choice-verb-phrases", [A("You could take the train, fly, or drive."), U("The train.")],
     {(F, "choice.transport", "=decided to take the train", EX)}, {1}),
    ("zh-favourite-changed", [U("现在我最喜欢的歌手换成了陈奕迅。")], {(P, "favourite.歌手", "=最喜欢的歌手是陈奕迅", EX)}, {0}),
    ("zh-favourite-it-became", [U("看完《流浪地球》之后，它成了我最喜欢的电影。")],
     {(P, "favourite.电影", "=最喜欢的电影是《流浪地球》", EX)}, None),
    ("en-favourite-replaced", [U("Dune Part Two replaced Alien as my favourite movie.")],
     {(P, "favourite.movie", "Dune Part Two", EX)}, {0}),
    ("en-favourite-now", [U("I'd say my favorite sport to watch is now ice hockey.")],
     {(P, "favourite.sport-to-watch", "ice hockey", EX)}, None),
    # English no-ops
    ("en-family-brother-not-user", [U("My brother lives in Toronto.")],
     {(F, "family.brother.residence", "The user's brother lives in Toronto", None)}, {0}),
    ("en-noop-time", [U("What time is it in London?")], set(), {0}),
    ("en-noop-lol", [U("lol ok")], set(), {0}),
    ("en-noop-greeting", [U("hello how are you")], set(), {0}),
    ("en-noop-weather", [U("What's the weather like today?")], set(), {0}),
    ("en-noop-thanks", [U("Thanks, that's helpful!")], set(), {0}),
    ("en-noop-knowledge", [U("Who wrote Hamlet?")], set(), {0}),
    ("en-noop-request", [U("Can you recommend a good hotel?")], set(), {0}),
    ("en-family-wife-not-user", [U("My wife loves hiking.")], {(F, "family.wife.hobby", "The user's wife loves hiking", None)}, {0}),
    ("en-noop-assistant", [A("I love hiking too!", new=True)], set(), {0}),
    ("en-noop-booking", [U("I'd like to book a table for two.")], set(), {0}),
    ("en-noop-hypothetical", [U("If I lived in Paris, what would I do?")], set(), {0}),
]

# Different phrasings (and languages) of one thing must share a slot.
SAME_SLOT: list[tuple[str, list[str]]] = [
    ("preference.hiking", ["我喜欢徒步", "我不再喜欢爬山了", "I love hiking", "I don't like hiking anymore", "I'm really into hiking"]),
    ("diet.spicy", ["我不太能吃辣", "喜欢辣锅！", "我无辣不欢", "I can't eat spicy food", "I love spicy food"]),
    ("residence", ["我住在上海", "最近我搬去成都了", "我现在在北京生活", "I live in Berlin", "I just moved to Tokyo"]),
    ("diet.allergy.peanut", ["我对花生过敏", "I'm allergic to peanuts", "I have a peanut allergy"]),
    ("food.like", ["我爱吃火锅", "我最喜欢的食物是饺子", "I love sushi", "My favorite food is ramen"]),
    ("travel.2025-summer", ["我计划今年暑假去广州旅游", "今年夏天打算去青岛玩", "I'm planning a trip to Guangzhou this summer"]),
    ("preference.hotel.tier", ["我喜欢住经济型酒店", "I prefer budget hotels", "I prefer luxury hotels"]),
    ("name", ["我叫小忆", "我是小忆", "My name is Sam", "Call me Sam", "I'm Sam."]),
    ("preference.travel.family", ["我们家喜欢全家一起出游", "We love family trips"]),
    ("preference.cat", ["我喜欢猫", "我讨厌猫", "I love cats"]),
    ("favourite.band", ["my favorite band is the national", "big thief has officially taken over as my favourite band",
                        "Wilco has become my favourite band", "Low overtook Wilco as my favourite band"]),
]


def window(messages: list[tuple]) -> list[WindowMessage]:
    return [WindowMessage(message_id=f"m{i}", event_id=f"e{i}", role=role, text=text, chat_time=at, is_new=new)
            for i, (role, text, new, at) in enumerate(messages)]


def _matches(c: Candidate, exp: tuple) -> bool:
    kind, slot, text, ptype = exp
    if (c.kind, c.slot, c.preference_type) != (kind, slot, ptype):
        return False
    if text.startswith("="):
        return c.clause == text[1:]
    return text in c.clause or text in c.content


def score(candidates: tuple[Candidate, ...], expected: set[tuple]) -> tuple[int, int, int]:
    """(true positives, false positives, false negatives) with a one-to-one matching."""
    left = list(candidates)
    tp = 0
    for exp in sorted(expected):
        hit = next((c for c in left if _matches(c, exp)), None)
        if hit is not None:
            left.remove(hit)
            tp += 1
    return tp, len(left), len(expected) - tp


FINDER = RuleCandidateFinder()


def test_finder_satisfies_protocol() -> None:
    finder: CandidateFinder = FINDER
    assert finder.find([]).candidates == ()


def test_table_is_large_and_mixed() -> None:
    zh = [c for c in CASES if c[0].startswith("zh")]
    en = [c for c in CASES if c[0].startswith("en")]
    noops = [c for c in CASES if not c[2]]
    assert len(CASES) >= 40 and len(zh) >= 15 and len(en) >= 15 and len(noops) >= 8


@pytest.mark.parametrize("case_id,messages,expected,covered", CASES, ids=[c[0] for c in CASES])
def test_case(case_id: str, messages: list[tuple], expected: set[tuple], covered: set[int] | None) -> None:
    msgs = window(messages)
    found = FINDER.find(msgs)
    tp, fp, fn = score(found.candidates, expected)
    got = [(c.kind, c.slot, c.clause, c.preference_type) for c in found.candidates]
    assert (fp, fn) == (0, 0), f"{case_id}: got {got}"
    if covered is not None:
        assert found.covered_message_ids == frozenset(f"m{i}" for i in covered), case_id
    for c in found.candidates:
        assert c.lang == ("zh" if case_id.startswith("zh") else "en")
        assert set(c.source_message_ids) <= {m.message_id for m in msgs}
        assert c.content and c.clause
        if c.preference_type == "implicit":
            assert c.reasoning and c.confidence <= 0.7
        else:
            assert c.confidence >= 0.8


@pytest.mark.parametrize("slot,phrasings", SAME_SLOT, ids=[s for s, _ in SAME_SLOT])
def test_same_slot_across_phrasings(slot: str, phrasings: list[str]) -> None:
    slots = []
    for text in phrasings:
        found = FINDER.find(window([U(text)]))
        slots.append({c.slot for c in found.candidates})
    assert all(slot in s for s in slots), list(zip(phrasings, slots))


def test_implicit_choice_shares_slot_with_explicit_hotel_preference() -> None:
    implicit = FINDER.find(window([A("推荐七天、全季或者希尔顿"), U("七天吧")])).candidates
    explicit = FINDER.find(window([U("I prefer budget hotels")])).candidates
    assert {c.slot for c in implicit if c.preference_type == "implicit"} == {c.slot for c in explicit}


def test_brief_profile_clauses_and_groups() -> None:
    v1 = FINDER.find(window([U("我是小忆，现在在上海居住，不太能吃辣。")])).candidates
    v2 = FINDER.find(window([U("最近我搬去成都了，突然爱上四川火锅，喜欢辣锅！")])).candidates
    assert [(c.slot, c.clause) for c in v1] == [("name", "叫小忆"), ("residence", "在上海居住"), ("diet.spicy", "不能吃辣")]
    assert [(c.slot, c.clause) for c in v2] == [("residence", "在成都居住"), ("food.like", "喜欢四川火锅"),
                                               ("diet.spicy", "喜欢吃辣")]
    assert all(c.group == "profile" for c in v1 + v2)
    assert v1[1].content == "用户在上海居住"


def test_choice_sources_include_the_offer() -> None:
    msgs = window([U("我计划今年暑假去广州旅游"), A("可以考虑七天、全季或希尔顿", new=True), U("那就七天吧")])
    found = FINDER.find(msgs).candidates
    plan = next(c for c in found if c.slot == "travel.2025-summer")
    assert plan.content == "用户计划在2025年暑假期间前往广州旅游，并选择了七天连锁酒店"
    assert set(plan.source_message_ids) == {"m0", "m1", "m2"}
    implicit = next(c for c in found if c.preference_type == "implicit")
    assert "m1" in implicit.source_message_ids and "七天" in implicit.reasoning


def test_deterministic() -> None:
    msgs = window([U("我计划今年暑假去广州旅游"), A("可以考虑七天、全季或希尔顿", new=True), U("那就七天吧")])
    assert FINDER.find(msgs) == FINDER.find(msgs)


def test_without_chat_time_plans_fall_back_to_destination_slots() -> None:
    found = FINDER.find([WindowMessage("m0", "e0", "user", "我计划今年暑假去广州旅游", None)]).candidates
    assert [c.slot for c in found] == ["travel.guangzhou"]


def precision_recall() -> tuple[float, float, int, int, int]:
    tp = fp = fn = 0
    for _, messages, expected, _ in CASES:
        a, b, c = score(FINDER.find(window(messages)).candidates, expected)
        tp, fp, fn = tp + a, fp + b, fn + c
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    return precision, recall, tp, fp, fn


def test_precision_recall_report(capsys: pytest.CaptureFixture[str]) -> None:
    precision, recall, tp, fp, fn = precision_recall()
    with capsys.disabled():
        print(f"\nrule finder over {len(CASES)} cases: precision={precision:.3f} recall={recall:.3f} "
              f"(tp={tp} fp={fp} fn={fn})")
    assert precision >= 0.95 and recall >= 0.95


if __name__ == "__main__":
    p, r, tp, fp, fn = precision_recall()
    print(f"{len(CASES)} cases: precision={p:.3f} recall={r:.3f} (tp={tp} fp={fp} fn={fn})")
