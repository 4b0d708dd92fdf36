"""Choices among options the assistant offered: "可以考虑七天、全季或希尔顿" -> "那就七天吧".

The options come from the assistant message before the user's reply: known brands
(with tiers, see ``brands``) and, failing that, the items of a list after a cue
("考虑", "推荐", "consider", "such as", a numbered list). The user's reply picks one
when it names exactly one option with a choice cue ("就…吧", "选", "I'll take"), or
when it is short and names exactly one option.
"""

from __future__ import annotations

from extraction.rules import pattern_cache as re  # re, with a cache that holds all rule patterns
from dataclasses import dataclass, field

from extraction.rules.brands import Brand, brands_in
from extraction.rules.filler import is_filler

_LIST_CUE = re.compile(r"(?:可以(?!考虑|选择|选|试试|推荐|去|坐)|考虑|推荐|建议|选择|比如|例如|包括|有|试试|可选的?有|不错的有|consider|recommend|suggest|"
                       r"options are|options include|options|choices|such as|like|try|either|choose between|choose from|pick from|prefer|"
                       r"would you like|do you want|"
                       r"there's|there are|you could go with|how about)\s*[:：]?\s*", re.IGNORECASE)
_LIST_SPLIT = re.compile(r"\s*(?:、|，|,|/|或者|或是|或|还是|以及|和|及|\bor\b|\band\b)\s*", re.IGNORECASE)
_NUMBERED = re.compile(r"^\s*(?:\d+[.)、．]|[-*•])\s*(?:\*\*)?(?P<item>[^:：\-—（(\n*]{1,30})", re.MULTILINE)
_SUFFIX = re.compile(r"(?:连锁酒店|酒店|宾馆|民宿|航空公司|航空|hotels?|inn|airlines?|airways)$", re.IGNORECASE)


@dataclass
class Option:
    surface: str
    brand: Brand | None = None
    verb: bool = False
    """A verb phrase ("take the train", "fly"): the assistant offered actions, not things."""

    @property
    def core(self) -> str:
        c = _SUFFIX.sub("", self.surface.strip()).strip()
        return c if len(c) >= 2 else self.surface.strip()

    def display(self, lang: str) -> str:
        if self.brand is not None:
            return self.brand.zh if lang == "zh" else self.brand.en
        return self.surface.strip()


@dataclass
class Choice:
    chosen: Option
    options: list[Option]
    span: tuple[int, int]  # in the user message
    offer_message_id: str
    category: str | None = None
    extra: dict = field(default_factory=dict)


def offered_options(text: str) -> list[Option]:
    """The options an assistant message offers: brands first, else a cue list."""
    seen: dict[str, Option] = {}
    for _, _, b in brands_in(text):
        seen.setdefault(b.key, Option(b.zh if re.search(r"[\u4e00-\u9fff]", text) else b.en, b))
    if len(seen) >= 2:
        return list(seen.values())
    items: list[str] = []
    numbered = [m.group("item").strip(" *") for m in _NUMBERED.finditer(text)]
    if len(numbered) < 2:
        inline = re.split(r"(?:^|[\s,;，；:：])\(?\d[).、]\s*", text)  # "可以考虑：1. A 2. B", "picks: 1) A, 2) B"
        if len(inline) >= 3:
            numbered = [re.split(r"[.。!！?？]$", p.strip(" ,;，；."))[0] for p in inline[1:] if p.strip()]
    if len(numbered) >= 2:
        items = numbered
    else:
        for m in _LIST_CUE.finditer(text):
            rest = re.split(r"[。.!！?？;；\n:：]|(?:这几|这些|等|都是|都很|which|that|they)", text[m.end():])[0]
            parts = [p.strip(" 的吧呢啊'\"“”") for p in _LIST_SPLIT.split(rest) if p.strip()]
            parts = [re.sub(r"(?:[两三四五几]种|等)$", "", p) for p in parts]
            parts = [re.sub(r"^(?:(?:the|an|a)\b|stay at|go to|try|住|去|选|选择|用|坐|乘坐|吃|试试)\s*", "", p, flags=re.IGNORECASE)
                     for p in parts]
            if len(parts) >= 2 and all(1 <= len(p) <= 24 for p in parts):
                items = parts
                break
    if not items:
        verbs = verb_phrase_options(text)
        if verbs:
            return verbs
        items = _bare_list(text)
    options = list(seen.values())
    for it in items:
        if not any(o.core.lower() in it.lower() or it.lower() in o.core.lower() for o in options):
            options.append(Option(it))
    return options if len(options) >= 2 else []


_MODAL_LEAD = re.compile(r"^.*?\b(?:you|we|u)\s+(?:could|can|might|may|should|could also|can also|might want to)\s+"
                         r"(?:(?:either|just|also|always)\s+)?|^\s*(?:maybe|perhaps|why not|try to|I'd suggest you|"
                         r"I suggest you|you'd better)\s+", re.IGNORECASE)
"""What leads into a list of actions: after a modal the items are verb phrases in parallel."""


def verb_phrase_options(text: str) -> list[Option]:
    """"You could take the train, fly, or drive": the items after a modal are actions."""
    for sentence in re.split(r"[.!?;\n]", text):
        lead = _MODAL_LEAD.match(sentence)
        if lead is None or not re.search(r",|\bor\b", sentence[lead.end():], re.IGNORECASE):
            continue
        parts = [p.strip(" '\"") for p in _LIST_SPLIT.split(sentence[lead.end():]) if p.strip()]
        if len(parts) >= 2 and all(1 <= len(p.split()) <= 4 and re.match(r"[a-z]", p) for p in parts):
            return [Option(p, verb=True) for p in parts]
    return []


def _bare_list(text: str) -> list[str]:
    """A sentence that is itself the list: "Oppenheimer, Barbie, or Past Lives." / "包子豆浆、三明治咖啡、或者煎饼果子"."""
    for sentence in re.split(r"[。.!！?？;；\n]", text):
        if not re.search(r"、|或者|或是|还是|\bor\b|，", sentence, re.IGNORECASE):
            continue
        parts = [p.strip(" 的吧呢啊'\"“”") for p in _LIST_SPLIT.split(sentence) if p.strip()]
        parts = [re.sub(r"^(?:(?:the|an|a)\b|去|坐|吃)\s*", "", p, flags=re.IGNORECASE) for p in parts]
        parts = [re.sub(r"(?:[两三四五几]种|等)$", "", p) for p in parts]
        if len(parts) >= 2 and all(1 <= len(p) <= 24 and len(p.split()) <= 4 for p in parts):
            return parts
    return []


_ORDINALS = [
    (r"第一个|第一家|第一种|头一个|\bthe first\b|\bfirst one\b|\boption (?:1|one)\b", 0),
    (r"第二个|第二家|第二种|\bthe second\b|\bsecond one\b|\boption (?:2|two)\b", 1),
    (r"第三个|第三家|第三种|\bthe third\b|\bthird one\b|\boption (?:3|three)\b", 2),
    (r"最后一个|最后一家|最后那个|\bthe last\b|\blast one\b", -1),
]


def _ordinal_pick(user_text: str, options: list[Option]) -> tuple[int, int, Option] | None:
    """"第二个" / "I'll take the first one": the option at that position of the offered list."""
    for pattern, index in _ORDINALS:
        m = re.search(pattern, user_text, re.IGNORECASE)
        if m and -len(options) <= index < len(options):
            return m.start(), m.end(), options[index]
    return None


def _partial_hits(text: str, options: list[Option]) -> list[tuple[int, int, Option]]:
    """A distinctive part of one option's name ("Thai" for "a Thai place", 香格里拉 for 厦门香格里拉)."""
    low = text.lower()
    found = []
    for o in options:
        name = o.core.lower()
        if re.search(r"[\u4e00-\u9fff]", name):
            parts = [name[i:j] for i in range(len(name)) for j in range(len(name), i + 1, -1) if j - i >= 2]
        else:
            parts = [w for w in re.findall(r"[a-z0-9][a-z0-9'-]+", name)
                     if len(w) >= 3 and w not in ("the", "place", "and", "with", "restaurant", "hotel", "one")]
        for part in sorted(parts, key=len, reverse=True):
            others = [x for x in options if x is not o and part in x.core.lower()]
            m = re.search(re.escape(part) if not part.isascii() else rf"(?<![a-z0-9]){re.escape(part)}(?![a-z0-9])", low)
            if m and not others:
                found.append((m.start(), m.end(), o))
                break
    return sorted(found, key=lambda f: f[0])


_CUE_ZH = r"(?:就|选|订|要|住|定|预订|预定|挑|坐|乘)(?:了)?(?:那个|这个)?"
_CUE_EN = (r"(?:take|go with|going with|choose|chose|pick|picked|book|booking|want|prefer|get|go for|reserve|stay at|"
           r"stick with|opt for|do|try|settle on|let's do|let's go with|switch(?: it)? to|change(?: it)? to|make it|"
           r"swap(?: it)? for)\s+(?:the\s+)?")


def _mentions(text: str, options: list[Option]) -> list[tuple[int, int, Option]]:
    low = text.lower()
    found: list[tuple[int, int, Option]] = []
    brand_hits = {b.key: (a, z) for a, z, b in brands_in(text)}
    for o in options:
        if o.brand is not None and o.brand.key in brand_hits:
            a, z = brand_hits[o.brand.key]
            found.append((a, z, o))
            continue
        for needle in {o.surface.lower().strip(), o.core.lower()}:
            if not needle:
                continue
            pat = re.escape(needle) if not needle.isascii() else rf"(?<![a-z0-9]){re.escape(needle)}(?![a-z0-9])"
            m = re.search(pat, low)
            if m:
                found.append((m.start(), m.end(), o))
                break
    return sorted(found, key=lambda f: f[0])


def detect_choice(user_text: str, lang: str, offer_text: str, offer_id: str) -> Choice | None:
    options = offered_options(offer_text)
    if not options:
        return None
    hits = _mentions(user_text, options) or _partial_hits(user_text, options)
    if not hits:
        ordinal = _ordinal_pick(user_text, options)
        if ordinal is None or re.search(r"[吗？?]|不要|不想|don't|\bnot\b", user_text):
            return None
        a, z, chosen = ordinal
        category = chosen.brand.category if chosen.brand else _category_from_text(offer_text)
        return Choice(chosen, options, (0, len(user_text.rstrip("。.!！ "))), offer_id, category)
    picked: list[tuple[int, int, Option]] = []
    for a, z, o in hits:
        before = user_text[max(0, a - 24):a]
        after = user_text[z:z + 30]
        negated = re.search(r"(?:不要|不选|不住|别|不想|不考虑|不订|不是|don't want|not|no|rather than|instead of)\s*(?:the\s+)?$",
                            before, re.IGNORECASE)
        if negated:
            continue
        cue = re.search(rf"{_CUE_ZH}$", before) if lang == "zh" else re.search(rf"{_CUE_EN}$", before, re.IGNORECASE)
        cue_after = re.match(r"(?:\s+(?-i:[A-Z][\w'-]*))*[\s,，]*(?:吧|就行|就好|好了|可以|不错|挺好|吧。|it is|sounds good|sounds great|please|works|"
                             r"is fine|is good|is perfect|then|for me|for sure|definitely|of course|sounds good|吧|呗)", after, re.IGNORECASE)
        if cue or cue_after:
            picked.append((a, z, o))
    if not picked:
        compact = re.sub(r"[\s，,。.！!？?~～]+", "", user_text)
        short = len(compact) <= 14 if lang == "zh" else len(user_text.split()) <= 8
        distinct = {id(o) for _, _, o in hits}
        rest = user_text[:hits[0][0]] + user_text[hits[0][1]:]
        if short and len(distinct) == 1 and not re.search(r"[吗？?]|不要|不想|don't|not", user_text) \
                and (is_filler(rest) or re.fullmatch(r"[\s,.!，。！]*(?:the|那个|这个|就这个吧?|就它吧?|就选它|that one|this one)?[\s,.!，。！]*",
                                                     rest, re.IGNORECASE)):
            picked = hits[:1]
    distinct_opts = {id(o): (a, z, o) for a, z, o in picked}
    if len(distinct_opts) != 1:
        return None
    a, z, chosen = next(iter(distinct_opts.values()))
    start = a
    pre = re.search(r"(?:(?:那我们|我们|那|我)?(?:就|选|要|订|住|定)+(?:了)?|那|"
                    rf"(?:(?:I'll|I will|we'll|we will|let's|I'd like to|I want to|I think I'll)\s+)?(?:{_CUE_EN})?)$",
                    user_text[:a], re.IGNORECASE)
    if pre:
        start = pre.start()
    post = re.match(r"(?:连锁酒店|酒店|吧|就行|就好|好了|了)*", user_text[z:])
    end = z + (post.end() if post else 0)
    category = chosen.brand.category if chosen.brand else _category_from_text(offer_text)
    return Choice(chosen, options, (start, end), offer_id, category)


def _category_from_text(text: str) -> str | None:
    for pat, cat in ((r"酒店|宾馆|民宿|\bhotels?\b|\binns?\b|\bhostels?\b|\bstay\b", "hotel"),
                     (r"高铁|火车|动车|自驾|开车|大巴|\btrains?\b|\bdrive\b|\bbus\b", "transport"),
                     (r"航空|航班|机票|\bairlines?\b|\bflights?\b|\bfly\b", "airline"),
                     (r"餐厅|饭店|馆子|\brestaurants?\b|\bdinner\b|\blunch\b|\beat\b", "restaurant"),
                     (r"租车|车型|\bcars?\b|\brental\b", "car"), (r"景点|\battractions?\b|\bsights?\b", "attraction")):
        if re.search(pat, text, re.IGNORECASE):
            return cat
    return None
