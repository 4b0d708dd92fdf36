"""Chinese profile rules: name, age, gender, residence, hometown, work, education."""

from __future__ import annotations

from extraction.rules import pattern_cache as re  # re, with a cache that holds all rule patterns

from extraction.rules.base import Found, Sentence, fact, negated, statement_ok
from extraction.rules.lexicon import is_occupation
from extraction.rules.places import is_known_place, zh_place_at

STOP = r"(?=[，,。！？!?；;、\s~～…]|$|就|吧|啊|呀|哦|呢|啦|哈|嘛|了)"
_NAME = r"(?P<name>[\u4e00-\u9fff]{1,4}?|[A-Za-z][A-Za-z'-]{0,19})"
_NOT_NAME = re.compile(
    r"^(?:一|个|这|那|你|他|她|从|在|来|说|不|很|真|挺|想|要|去|做|新|老手|谁|什么|因为|所以|刚|也|还|都|就|已经|"
    r"男|女|学生|本地|外地|中国|问|用户|个人|自己|AI|ai)|(?:人|的|者|控|党|迷|粉|族|货|狗|宝|们|了)$")


def _place(text: str, pos: int) -> tuple[str, int] | None:
    if text[pos:pos + 1] == "了":
        pos += 1
    return zh_place_at(text, pos)


def name_rules(s: Sentence) -> list[Found]:
    out = []
    for m in re.finditer(rf"(?:我叫|我的名字(?:是|叫)|我名字叫|叫我){_NAME}{STOP}", s.text):
        if statement_ok(s, m.start()) and not _NOT_NAME.search(m.group("name")):
            out.append(fact("name", f"叫{m.group('name')}", m.span(), profile=True, value=m.group("name")))
    for m in re.finditer(rf"我是(?P<name>[\u4e00-\u9fff]{{2,3}}|[A-Z][a-z]{{1,15}}){STOP}", s.text):
        name = m.group("name")
        if _NOT_NAME.search(name) or is_occupation(name) or is_known_place(name):
            continue
        if statement_ok(s, m.start()):
            f = fact("name", f"叫{name}", m.span(), profile=True, value=name)
            f.confidence = 0.8
            out.append(f)
    return out


def age_rules(s: Sentence) -> list[Found]:
    from extraction.rules.numerals import cn_to_int

    out = []
    for m in re.finditer(r"(?:我)?(?:今年|现在|已经|快|刚满|刚|马上)?(?:满)?(?P<n>\d{1,3}|[一二三四五六七八九十两]{1,3})(?:周)?岁(?:了)?(?!的|左右的|大的|时|那年|的时候)", s.text):
        n = cn_to_int(m.group("n"))
        if n is None or not 1 <= n <= 120 or not statement_ok(s, m.start()):
            continue
        # "我今年28岁" needs the user as subject; a bare "28岁" needs 我 in the sentence
        if "我" not in s.text[:m.end()]:
            continue
        out.append(fact("age", f"{n}岁", m.span(), profile=True, value=str(n)))
    return out


_GENDER = {"女生": "女性", "女孩": "女性", "女孩子": "女性", "女的": "女性", "女性": "女性", "妹子": "女性",
           "男生": "男性", "男孩": "男性", "男孩子": "男性", "男的": "男性", "男性": "男性", "汉子": "男性"}


def gender_rules(s: Sentence) -> list[Found]:
    out = []
    for m in re.finditer(r"我是(?:一个|一名|个)?(?P<g>女孩子|男孩子|女生|男生|女孩|男孩|女的|男的|女性|男性|妹子|汉子)" + STOP, s.text):
        if statement_ok(s, m.start()):
            g = _GENDER[m.group("g")]
            out.append(fact("gender", f"是{g}", m.span(), profile=True, value=g))
    return out


_PREVIOUS = re.compile(r"(?:我)?(?:以前|之前|曾经|原来|过去|小时候)(?:也)?(?:一直)?[^，,。]{0,2}$")


def residence_rules(s: Sentence) -> list[Found]:
    out: list[Found] = []
    t = s.text
    plan_like = re.compile(r"(?:要|准备|打算|计划|将|想|会)(?:在[^，,]{0,10})?$")
    # 住在X / 生活在X / 定居在X
    for m in re.finditer(r"(?:不再|不)?(?:住在|居住在|生活在|定居在|定居于|常住在|安家在|扎根在)", t):
        p = _place(t, m.end())
        if p is None or not statement_ok(s, m.start()):
            continue
        end = p[1] + (1 if t[p[1]:p[1] + 1] == "了" else 0)
        before = _PREVIOUS.search(t[:m.start()])
        if before:
            out.append(fact("residence.previous", f"以前在{p[0]}居住", (before.start(), end), profile=True, value=p[0]))
        elif m.group(0).startswith("不"):
            out.append(fact("residence", f"不再在{p[0]}居住", (m.start(), end), profile=True, value=""))
        else:
            out.append(fact("residence", f"在{p[0]}居住", (m.start(), end), profile=True, value=p[0]))
    # 在X居住 / 在X生活
    for m in re.finditer(r"在", t):
        p = _place(t, m.end())
        if p is None:
            continue
        v = re.match(r"(?:居住|住着|住|生活|定居|安家)(?!的)(?:过|了)?(?:(?:\d+|[一二三四五六七八九十两几半]+|好几)(?:年|个月)多?(?:了)?)?", t[p[1]:])
        if v and statement_ok(s, m.start()) and not negated(t, m.start(), "zh"):
            before = _PREVIOUS.search(t[:m.start()])
            if before or "过" in v.group(0):
                start = before.start() if before else m.start()
                out.append(fact("residence.previous", f"以前在{p[0]}居住", (start, p[1] + v.end()), profile=True, value=p[0]))
                continue
            out.append(fact("residence", f"在{p[0]}居住", (m.start(), p[1] + v.end()), profile=True, value=p[0]))
    # 搬去X / 搬到X
    for m in re.finditer(r"(?:搬家到|搬家去|搬去|搬到|搬来|搬回|迁居到?|移居到?|迁到|定居到)(?:了)?", t):
        p = _place(t, m.end())
        if p is None or not statement_ok(s, m.start()) or negated(t, m.start(), "zh"):
            continue  # "没搬去上海": a move that did not happen
        end = p[1] + (1 if t[p[1]:p[1] + 1] == "了" else 0)
        future = plan_like.search(t[:m.start()]) or (s.date_near(m.start(), ("future",)) is not None)
        if future:
            continue  # a planned move is handled as a plan
        start = m.start()
        origin = re.search(r"从(?P<o>[\u4e00-\u9fffA-Za-z]{2,8})$", t[:m.start()])
        if origin:
            start = origin.start()
        out.append(fact("residence", f"在{p[0]}居住", (start, end), profile=True, value=p[0], moved=True,
                        moved_from=origin.group("o") if origin else None))
    # 我家在X
    for m in re.finditer(r"(?<!老)我家(?:在|住在)", t):
        p = _place(t, m.end())
        if p and statement_ok(s, m.start()):
            out.append(fact("residence", f"在{p[0]}居住", (m.start(), p[1]), profile=True, value=p[0]))
    # "我在保定买了房，已经住进去了": moving in makes the place of the home the residence
    moved_in = re.search(r"(?:已经|刚|刚刚)?(?:住进去了|住进来了|住进了新家|搬进去了|搬进来了|搬进了新家|入住了)", t)
    if moved_in and not out and statement_ok(s, moved_in.start()):
        for m in re.finditer(r"在", t[:moved_in.start()]):
            p = _place(t, m.end())
            if p and re.match(r"(?:买|租|有|置)", t[p[1]:p[1] + 1]) and statement_ok(s, m.start()):
                f = fact("residence", f"在{p[0]}居住", (m.start(), p[1]), profile=True, value=p[0], moved=True)
                f.spans.append(moved_in.span())
                out.append(f)
                break
    # "我搬家了，现在住在南京": the move explains itself through the new residence
    moved = re.search(r"(?:我)?(?:最近|刚刚?|已经)?搬家了", t)
    if moved and out:
        out[0].spans.append(moved.span())
        out[0].attributes["moved"] = True
    return out


def hometown_rules(s: Sentence) -> list[Found]:
    out: list[Found] = []
    t = s.text
    for m in re.finditer(r"(?:我的?)?老家(?:是|在)|(?:我)?来自|(?:我)?(?:出生在|出生于|生在)", t):
        p = _place(t, m.end())
        if p and statement_ok(s, m.start()):
            end = p[1]
            tail = re.match(r"(?:出生|长大|的)?", t[end:])
            out.append(fact("hometown", f"老家在{p[0]}", (m.start(), end + tail.end()), profile=True, value=p[0]))
    for m in re.finditer(r"(?:我)?在", t):
        p = _place(t, m.end())
        if p and t.startswith("长大", p[1]) and statement_ok(s, m.start()):
            out.append(fact("hometown", f"老家在{p[0]}", (m.start(), p[1] + 2), profile=True, value=p[0]))
    for m in re.finditer(r"我是(?P<p>[\u4e00-\u9fff]{2,5}?)人(?![员士家生])", t):
        place = m.group("p")
        if re.match(r"^(?:一|个|好|坏|这|那|什么|哪|外地|本地|男|女|年轻|老实|大|小)", place):
            continue
        if statement_ok(s, m.start()):
            out.append(fact("hometown", f"老家在{place}", m.span(), profile=True, value=place))
    return out


_ORG = r"(?P<org>(?:一家|一个|一所)?[\u4e00-\u9fffA-Za-z0-9&·]{2,14}?)"


def work_rules(s: Sentence) -> list[Found]:
    out: list[Found] = []
    t = s.text
    for m in re.finditer(rf"(?:我)?(?:现在|目前)?在{_ORG}(?P<v>工作|上班|任职|实习|教书|任教|打工|当|做)(?P<role>[\u4e00-\u9fffA-Za-z]{{2,8}}?)?{STOP}", t):
        org, v, role = m.group("org"), m.group("v"), m.group("role")
        if not statement_ok(s, m.start()):
            continue
        if v in ("当", "做"):
            if not role or not is_occupation(role):
                continue
            out.append(fact("work.employer", f"在{org}工作", m.span(), value=org))
            out.append(fact("work.role", f"是一名{role}", m.span(), value=role))
            continue
        if role:
            continue
        if is_known_place(org) or re.search(r"(?:市|省|区|县)$", org):
            out.append(fact("work.location", f"在{org}{v}", m.span(), value=org))
        else:
            out.append(fact("work.employer", f"在{org}{v}", m.span(), value=org))
    for m in re.finditer(r"(?:我是|我现在是|我目前是|我的职业是|我的工作是|职业是|我当|我做|(?:(?<=[，,])|^)(?:现在|目前)?是)"
                         r"(?:一名|一个|个|一位|名)?"
                         r"(?P<role>[\u4e00-\u9fffA-Za-z]{2,10}?)" + STOP, t):
        role = m.group("role")
        if is_occupation(role) and statement_ok(s, m.start()):
            out.append(fact("work.role", f"是一名{role}", m.span(), value=role))
    for m in re.finditer(rf"(?:我)?(?:入职了?|跳槽到了?|加入了|调到了?|调去了?|调职到了?)(?P<org>[\u4e00-\u9fffA-Za-z0-9&·]{{2,12}}?)(?:公司)?{STOP}", t):
        if statement_ok(s, m.start()) and not is_known_place(m.group("org")):
            out.append(fact("work.employer", f"在{m.group('org')}工作", m.span(), value=m.group("org")))
    for m in re.finditer(r"(?:我)?(?:已经)?(?:辞职了|离职了|失业了|被裁了|被裁员了|丢了工作)", t):
        if statement_ok(s, m.start()):
            out.append(fact("work.employer", "已离职", m.span(), value=""))
    for m in re.finditer(r"(?:我)?(?:已经)?退休了", t):
        if statement_ok(s, m.start()):
            out.append(fact("work.role", "已退休", m.span(), value="retired"))
    return out


def education_rules(s: Sentence) -> list[Found]:
    out: list[Found] = []
    t = s.text
    for m in re.finditer(rf"(?:我)?(?:现在|目前)?在{_ORG}(?P<v>读书|上学|读研|读博|读大学|念书|就读|上大学|读本科|读硕士|读博士|读高中|上高中|读初中)", t):
        if statement_ok(s, m.start()):
            out.append(fact("education.school", f"在{m.group('org')}{m.group('v')}", m.span(), value=m.group("org")))
    for m in re.finditer(r"(?:我)?毕业于(?P<org>[\u4e00-\u9fffA-Za-z0-9]{2,14}?)" + STOP, t):
        if statement_ok(s, m.start()):
            out.append(fact("education.school", f"毕业于{m.group('org')}", m.span(), value=m.group("org")))
    for m in re.finditer(r"我是(?P<org>[\u4e00-\u9fffA-Za-z0-9]{2,12}?)(?P<v>毕业的|的学生|的研究生|的博士生|的本科生)", t):
        if statement_ok(s, m.start()):
            clause = f"毕业于{m.group('org')}" if m.group("v") == "毕业的" else f"在{m.group('org')}就读"
            out.append(fact("education.school", clause, m.span(), value=m.group("org")))
    for m in re.finditer(r"(?:我的)?专业是(?P<m>[\u4e00-\u9fffA-Za-z]{2,12}?)" + STOP
                         + r"|(?:我)?(?:学|读|念)的是(?P<m2>[\u4e00-\u9fffA-Za-z]{2,12}?)(?:专业)?" + STOP
                         + r"|(?:我)?(?:是)?(?:学|读)(?P<m3>[\u4e00-\u9fffA-Za-z]{2,10}?)专业的?", t):
        major = m.group("m") or m.group("m2") or m.group("m3")
        if statement_ok(s, m.start()):
            out.append(fact("education.major", f"专业是{major}", m.span(), value=major))
    return out


RULES = [name_rules, gender_rules, age_rules, hometown_rules, education_rules, work_rules, residence_rules]
