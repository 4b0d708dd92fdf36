"""Shared pieces of the rule finder: what a rule returns, the sentence it looks at,
and the checks every rule needs (who is the subject, is it hedged, is it a question)."""

from __future__ import annotations

import logging
from extraction.rules import pattern_cache as re  # re, with a cache that holds all rule patterns
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable

from extraction.rules.dates import DateMention

log = logging.getLogger(__name__)

PROFILE = "profile"
EXPLICIT_CONFIDENCE = 0.9
IMPLICIT_CONFIDENCE = 0.6


@dataclass
class Sentence:
    """One sentence of a message; ``offset`` is where it starts in the message text."""

    text: str
    offset: int
    lang: str
    chat_time: datetime | None
    dates: list[DateMention] = field(default_factory=list)

    def date_near(self, pos: int, tenses: tuple[str, ...] = ("future", "present", "past")) -> DateMention | None:
        """The date mention of the given tenses closest to ``pos`` in the same sentence."""
        best = None
        for d in self.dates:
            if d.tense not in tenses:
                continue
            dist = 0 if d.start <= pos <= d.end else min(abs(d.start - pos), abs(d.end - pos))
            if best is None or dist < best[0]:
                best = (dist, d)
        return best[1] if best else None


@dataclass
class Found:
    """A candidate as a rule finds it, with the spans of the sentence it explains."""

    kind: str
    slot: str
    clause: str
    spans: list[tuple[int, int]]
    content: str | None = None
    preference_type: str | None = None
    group: str | None = None
    confidence: float = EXPLICIT_CONFIDENCE
    reasoning: str | None = None
    attributes: dict[str, Any] = field(default_factory=dict)
    extra_sources: tuple[str, ...] = ()
    message_id: str = ""
    order: tuple[int, int] = (0, 0)
    lang: str = ""

    def shifted(self, offset: int) -> "Found":
        self.spans = [(s + offset, e + offset) for s, e in self.spans]
        return self


def fact(slot: str, clause: str, span: tuple[int, int], *, profile: bool = False, **attrs: Any) -> Found:
    return Found("fact", slot, clause, [span], group=PROFILE if profile else None, attributes=attrs)


def pref(slot: str, clause: str, span: tuple[int, int], **attrs: Any) -> Found:
    return Found("preference", slot, clause, [span], preference_type="explicit", attributes=attrs)


def content_of(clause: str, lang: str) -> str:
    """The standalone third-person sentence for a clause. A clause that is a sentence whose
    subject was left out ("Got the iPhone 15 on March 1") starts with a capitalised verb; it is
    lower-cased after "The user"."""
    if lang == "zh":
        return "用户" + clause
    first = clause.split(" ", 1)[0]
    if first[:1].isupper() and first[1:].islower() and is_past_verb(first.lower()):
        clause = first.lower() + clause[len(first):]
    return f"The user {clause}" + ("" if clause.endswith(".") else ".")


PAST_EN = frozenset("""
arose awoke was were bore beat became began bent bit bled blew broke bred brought built burnt bought caught
chose clung came crept dealt dug did drew dreamt drank drove dwelt ate fell fed felt fought found fled flung
flew forbade forgot forgave froze got gave went ground grew hung had heard hid held kept knelt knew laid led
leapt learnt left lent lay lit lost made meant met paid rode rang rose ran said saw sought sold sent shook shone
shot showed shrank sang sank sat slept slid spoke sped spent spun spat sprang stood stole stuck stung stank
struck swore swept swam swung took taught tore told thought threw understood woke wore wove wept won wound wrote
""".split())
"""Irregular past forms: a past verb takes no -s after "the user" ("the user did", not "dids"). Forms
that are also the present (read, put, cut, set …) are left out: "the user reads a lot"."""


def is_past_verb(word: str) -> bool:
    """A lower-cased past form: irregular (``PAST_EN``) or -ed ("moved", "used"; not "red", "need")."""
    return word in PAST_EN or (word.endswith("ed") and not word.endswith("eed") and len(word) > 3)


HABITUAL = re.compile(r"一般|平时|通常|经常|常常|每个?|每到|总是|\b(?:usually|every|each|most|on)\s+(?:weekends?|"
                      r"mornings?|evenings?|nights?|mondays?|tuesdays?|wednesdays?|thursdays?|fridays?|saturdays?|"
                      r"sundays?)\b|\b(?:weekends|mornings|evenings|usually|always|often)\b", re.IGNORECASE)
"""What the user usually does: 周末我一般都去爬山 is no planned trip, and "every Friday" or "on
weekends" names no one date."""

Rule = Callable[[Sentence], list[Found]]

# ---------------------------------------------------------------- subject / hedge / question checks

_OTHER_ZH = re.compile(
    r"他们|她们|他|她|它|你们|你|您|大家|别人|有人|朋友|好友|发小|同事|同学|同桌|室友|舍友|队友|邻居|房东|老板|领导|上级|"
    r"妈妈|爸爸|爸妈|父母|妈|爸|爷爷|奶奶|"
    r"外公|外婆|姥姥|姥爷|老婆|老公|妻子|丈夫|太太|爱人|女儿|儿子|孩子|小孩|宝宝|哥哥|姐姐|弟弟|妹妹|男朋友|女朋友|"
    r"男友|女友|对象|家人|亲戚|闺蜜|兄弟|侄子|侄女|外甥女|外甥|孙子|孙女|外孙|表哥|表姐|表弟|表妹|堂哥|堂姐|堂弟|堂妹|"
    r"叔叔|阿姨|舅舅|姑姑|婶婶|公公|婆婆|岳父|岳母|宠物|狗狗|狗|猫咪|猫|兔子|仓鼠|鹦鹉|"
    r"[大二三四小](?:姐|哥|弟|妹|姑|姨|舅|叔)|姐夫|嫂子|弟媳|妹夫|老板|上司|师傅"
    r"|(?<=我的)[\u4e00-\u9fff]{1,3}(?=叫|名叫|名字叫)|(?<=我)[\u4e00-\u9fff]{1,3}(?=也叫|名叫|叫(?!我))")
"""Subjects other than the user: relatives, pets, and any named being ("我的N叫X": N is someone)."""
_SELF_ZH = re.compile(r"我们|我|咱们|咱|本人")
_NOT_SUBJECT_ZH = re.compile(r"大家好|各位好|大家|你好|您好|谢谢你|谢谢您|告诉你|跟你说|问你|麻烦你|请你|帮我|你知道|你猜|和你|跟你")
_OTHER_EN = re.compile(
    r"\b(?:he|she|they|you|his|her|their|someone|everyone|people|nobody|somebody|"
    r"my (?:(?:best|old|close|good|new|former|next-door|older|younger|little|big)\s+)?"
    r"(?:wife|husband|partner|friends?|mom|mother|dad|father|parents|sons?|daughters?|kids|children|"
    r"brother|sister|boss|manager|colleagues?|co-?workers?|roommates?|flatmates?|housemates?|classmates?|teammates?|"
    r"landlord|landlady|girlfriend|boyfriend|family|dog|cat|team|"
    r"nephews?|nieces?|cousins?|aunts?|uncles?|grand(?:ma|pa|mother|father|son|daughter|kids|children)s?|"
    r"in-laws|neighbou?rs?|puppy|kitten|pets?|(?-i:[a-z]+)\s+(?:named|called)\s+(?-i:[A-Z])))\b",
    re.IGNORECASE)
_SELF_EN = re.compile(r"\b(?:I|I'm|I've|I'd|I'll|me|we|we're|we've|my (?:wife|husband|partner|family) and I)\b",
                      re.IGNORECASE)
_NOT_SUBJECT_EN = re.compile(r"\b(?:thank you|thanks|you know|can you|could you|would you|will you|do you|did you|"
                             r"are you|tell you|ask you|help me|for you|to you|with you)\b", re.IGNORECASE)
_HEDGE_ZH = re.compile(r"如果|假如|要是|万一|是否|是不是|应不应该|应该|要不要|该不该|会不会|能不能|可不可以|不知道|假设|想象")
_HEDGE_EN = re.compile(r"\b(?:if|whether|should|would|could|might|wish|wonder|suppose|imagine|pretend|do i|am i|"
                       r"did i|can i|hypothetically)\b", re.IGNORECASE)
_CLAUSE_BREAK = re.compile(r"[，,；;：:]|但是|不过|可是|\bbut\b|\band\b|\bso\b|\bbecause\b")


def clause_start(text: str, pos: int) -> int:
    """Where the comma-delimited clause containing ``pos`` begins."""
    last = 0
    for m in _CLAUSE_BREAK.finditer(text, 0, pos):
        last = m.end()
    return last


def clause_end(text: str, pos: int) -> int:
    m = re.compile(r"[，,；;：:。！？!?]|但是|不过|可是").search(text, pos)
    return m.start() if m else len(text)


def subject_is_user(text: str, pos: int, lang: str) -> bool:
    """True when the last subject mentioned before ``pos`` in the sentence is the
    user (or there is none: Chinese and chat English drop the subject)."""
    prefix = text[:pos]
    if lang == "zh" and text.startswith("我", pos) and not text.startswith(("我的", "我们的"), pos) \
            and not _OTHER_ZH.match(text, pos + 1):
        return True  # the match itself starts with the user as subject
    if lang == "en" and re.match(r"(?:I|we)\b", text[pos:]):
        return True
    if lang == "zh":
        prefix = _NOT_SUBJECT_ZH.sub(lambda m: "　" * len(m.group(0)), prefix)
        if re.search(r"我(?:和|跟|与)[^，,。]{1,6}$", prefix) or re.search(r"我们(?:全家|一家|家)", prefix):
            return True
        others, selves = _OTHER_ZH, _SELF_ZH
    else:
        prefix = _NOT_SUBJECT_EN.sub(lambda m: " " * len(m.group(0)), prefix)
        if re.search(r"\band I\b|\bI and\b", prefix):
            return True
        others, selves = _OTHER_EN, _SELF_EN
    last_other = max((m.start() for m in others.finditer(prefix)), default=-1)
    last_self = max((m.start() for m in selves.finditer(prefix)), default=-1)
    return last_other < 0 or last_self > last_other


_NEGATED_ZH = re.compile(r"(?:没有?|未曾?|并没有?|还没有?|从来?没有?|不(?:会|打算|准备|想|用)?)(?:再去|去|再)?$")
_NEGATED_EN = re.compile(r"\b(?:didn't|did not|never|not|haven't|have not|hasn't|has not|won't|will not|"
                         r"wasn't|weren't|don't|do not|doesn't)\s+(?:(?:end up|ended up|actually|really|yet|"
                         r"planning to|going to|gonna|get to|get|be)\s+)*$", re.IGNORECASE)
_INTENT_NEGATED = re.compile(r"不(?:会|打算|准备|想)|没打算|\b(?:planning|going) to\b|\bgonna\b", re.IGNORECASE)
_CESSATION = re.compile(r"不再|没再|了$|\bno longer\b|\banymore\b|\bany more\b", re.IGNORECASE)


def negated(text: str, pos: int, lang: str) -> bool:
    """A plain negation governs the verb at ``pos`` ("没搬去", "didn't move to", "not moving to").

    Why: a negated move, job or trip states what did not happen; it must neither fill nor
    revise a slot. Cessation is not this: "不再住在X" / "no longer live in X" is a change
    the rules read as such, so a clause that marks one (不再, 了 at its end, no longer,
    anymore) is not reported as negated."""
    seg = text[clause_start(text, pos):pos]
    neg = (_NEGATED_ZH if lang == "zh" else _NEGATED_EN).search(seg[-12:] if lang == "zh" else seg)
    if not neg:
        return False
    if _INTENT_NEGATED.search(neg.group(0)):
        return True  # "不打算搬去杭州了": a dropped plan, still no move
    clause = text[clause_start(text, pos):clause_end(text, pos)]
    return not _CESSATION.search(clause.rstrip("。.!！ "))


def hedged(text: str, pos: int, lang: str) -> bool:
    """A condition / question / modal governs the clause before ``pos``."""
    seg = text[clause_start(text, pos):pos]
    return bool((_HEDGE_ZH if lang == "zh" else _HEDGE_EN).search(seg))


def is_question_clause(text: str, pos: int, lang: str) -> bool:
    """The clause containing ``pos`` asks something rather than states it."""
    end = clause_end(text, pos)
    seg = text[clause_start(text, pos):end]
    tail = text[end:end + 1]
    if tail in ("？", "?"):
        return True
    if lang == "zh":
        return bool(re.search(r"吗$|吗[～~]?$|呢$|么$", seg.strip()))
    return bool(re.match(r"\s*(?:do|does|did|are|is|can|could|would|will|should|have|has|what|where|when|why|how|which)\b",
                         seg, re.IGNORECASE)) and end == len(text)


def statement_ok(s: Sentence, pos: int, subject_pos: int | None = None) -> bool:
    """The usual gate for facts and preferences: about the user, asserted, not asked."""
    sp = pos if subject_pos is None else subject_pos
    return (subject_is_user(s.text, sp, s.lang) and not hedged(s.text, pos, s.lang)
            and not is_question_clause(s.text, pos, s.lang))


def overlaps(spans: list[tuple[int, int]], start: int, end: int) -> bool:
    return any(s < end and start < e for s, e in spans)


def run_rules(rules: list[Rule], s: Sentence) -> list[Found]:
    """Apply rules in order; a finding that overlaps an earlier one is dropped, unless it
    shares its exact span with a finding of the same rule (two slots from one match)."""
    out: list[Found] = []
    taken: list[tuple[int, int]] = []
    for rule in rules:
        mine: list[tuple[int, int]] = []  # spans this rule produced: a pair from one match shares its span
        try:
            produced = rule(s)
        except Exception:  # a broken rule must not take the whole extractor down
            log.warning("rule %s failed on %r", getattr(rule, "__name__", rule), s.text[:80], exc_info=True)
            continue
        for f in produced:
            first = f.spans[0]
            if overlaps(taken, *first) and first not in mine:
                continue
            out.append(f)
            taken.extend(f.spans)
            mine.append(first)
    return out


def en_third_person(phrase: str) -> str:
    """Turn a first-person English verb phrase into third person ("have a" -> "has a")."""
    words = phrase.strip().split(" ")
    first = {"have": "has", "am": "is", "'m": "is", "do": "does", "go": "goes", "plan": "plans", "want": "wants",
             "need": "needs", "like": "likes", "love": "loves", "hope": "hopes", "will": "will", "'ll": "will",
             "live": "lives", "work": "works", "study": "studies", "was": "was", "'ve": "has"}
    if words and words[0].lower() in first:
        words[0] = first[words[0].lower()]
    out = " ".join(words)
    out = re.sub(r"\bmy\b", "their", out, flags=re.IGNORECASE)
    out = re.sub(r"\bmyself\b", "themselves", out, flags=re.IGNORECASE)
    out = re.sub(r"\bme\b", "them", out)
    out = re.sub(r"\bI'm\b", "they are", out)
    out = re.sub(r"\bI\b", "they", out)
    out = re.sub(r"\bour\b", "their", out, flags=re.IGNORECASE)
    return out


def zh_third_person(phrase: str) -> str:
    """Rewrite a first-person Chinese phrase for a "用户..." sentence."""
    p = re.sub(r"^([^我，,]{0,16}?)(?:我们|我)(?![的们])", r"\1", phrase.strip(), count=1)
    p = p.replace("我们", "用户一家").replace("我的", "自己的").replace("我", "自己")
    return p
