"""The fallback: an informative first-person statement no rule claimed becomes a third-person fact.

Why: slot rules only know the phrasings they were written for; the next user says it
differently. Rather than leave such a statement only as an episode, it is rewritten in the
third person (I/my/我 -> the user/用户), its relative dates resolved against chat_time, and
tagged with its predicate family, object words and change marker so consolidation can
revise the memory it is about. A statement about a relative ("my sister lives in Austin")
becomes a fact about that relative, never about the user. Questions, hypotheticals and
small talk yield nothing; a statement with no first person at all may only revise a memory
it clearly shares a topic with (``revise_only``), never create one.
"""

from __future__ import annotations

from extraction.rules import pattern_cache as re
from extraction.rules.base import HABITUAL, Found, Sentence, hedged, is_past_verb, negated
from extraction.rules.filler import is_filler
from extraction.rules.lexicon import slugify
from extraction.rules.sentences import QUESTION_EN, QUESTION_ZH
from extraction.rules.topics import FAMILIES_EN, FAMILIES_ZH, FAMILY_SLOTS, content_words, family_of, has_change, is_additive, weak_change_only

RELATIONS_EN = ("sister", "brother", "mom", "mother", "dad", "father", "wife", "husband", "partner", "son", "daughter",
                "grandma", "grandmother", "grandpa", "grandfather", "aunt", "uncle", "cousin", "niece", "nephew",
                "friend", "boyfriend", "girlfriend", "boss", "roommate", "kids", "parents", "dog", "cat")
ACQUAINTANCES_EN = ("friends", "neighbours", "neighbour", "neighbors", "neighbor", "colleagues", "colleague", "coworkers",
                    "coworker", "co-workers", "co-worker", "manager", "roommates", "flatmates", "flatmate", "housemates",
                    "housemate", "classmates", "classmate", "teammates", "teammate", "landlord", "landlady", "bosses")
"""Third parties outside the family: what they do or have is theirs, never the user's (the user's
pet, residence or diet slots stay untouched by "my neighbour has a dog")."""
RELATIONS_ZH = ("爷爷", "奶奶", "外公", "外婆", "姥姥", "姥爷", "爸爸", "妈妈", "父母", "爸妈", "老婆", "老公", "妻子", "丈夫",
                "儿子", "女儿", "哥哥", "姐姐", "弟弟", "妹妹", "表哥", "表姐", "表弟", "表妹", "堂哥", "堂姐", "侄子", "侄女",
                "外甥", "朋友", "男朋友", "女朋友", "同事", "室友", "孩子", "闺蜜", "大姐", "二姐", "大哥", "二哥",
                "小妹", "小弟", "姐夫", "嫂子", "叔叔", "阿姨", "舅舅", "姑姑")
ACQUAINTANCES_ZH = ("朋友们", "同事们", "同学们", "邻居", "老板", "领导", "上司", "舍友", "同学", "同桌", "队友", "房东",
                    "合租的室友", "好朋友", "好友", "发小", "老同学", "前同事", "客户")
_REL_EN = re.compile(r"^(?:(?:my|our)\s+(?:(?:older|younger|little|big|best|eldest|youngest|old|new|former|next-door)\s+)?("
                     + "|".join(sorted(RELATIONS_EN + ACQUAINTANCES_EN, key=len, reverse=True))
                     + r")|(mom|mum|dad|grandma|grandpa|nana))\b"
                     r"(?:\s+(?-i:[A-Z][a-z]+)(?=\s+(?:is|has|was|just|lives|works|starts|loves|likes)))?",
                     re.IGNORECASE)
"""A statement about a relative or an acquaintance: "my sister Maya is …", or a parent called as
one calls them ("Mom finally sold her house")."""
_REL_ZH = re.compile(r"^(?:我(?:的|们)?(" + "|".join(sorted(RELATIONS_ZH + ACQUAINTANCES_ZH + ("爸", "妈", "哥", "姐", "弟", "妹"),
                                                            key=len, reverse=True))
                     + ")|(" + "|".join(sorted(RELATIONS_ZH, key=len, reverse=True)) + "))")
"""我弟弟…, 我妈…, or a relative named without 我 as chat drops it (儿子这学期转到育才小学了)."""
_KIN_FORMS = {"爸": "爸爸", "妈": "妈妈", "哥": "哥哥", "姐": "姐姐", "弟": "弟弟", "妹": "妹妹", "mum": "mom", "nana": "grandma"}
"""One relative, one subject: 我妈 and 我妈妈 (mum and mom) are the same person."""
_LEAD_EN = re.compile(r"^(?:(?:honestly|so|oh|well|also|anyway|actually|btw|by the way|big news|update|fun fact|"
                      r"change of plans?|plans? changed|small change|"
                      r"news|guess what|ok|okay|yeah|yes|hey|hi|hello)\b[\s,:!.-]*)+", re.IGNORECASE)
_LEAD_ZH = re.compile(r"^(?:对了|另外|说来奇怪|顺便说一下|顺便说|话说|其实|告诉你|跟你说|计划有变|计划变了|嗯|哦|哈哈)[，,、\s]*")
_SUPERSEDED_EN = re.compile(r",?\s*\b(?:instead of|rather than|in place of)\s+[^,.;:!?]+|\s+to replace\s+[^,.;:!?]+",
                            re.IGNORECASE)
_SUPERSEDED_ZH = re.compile(r"[，,]?(?:而不是|而非|不再是|取代了?|代替了?)[^，,。！？!?；;]+"
                            r"|从[\u4e00-\u9fffA-Za-z0-9]{1,12}?(?=(?:改成|换成|改到|改为|换到|变成)了?)")
"""The value a change statement replaces ("Banff instead of Whistler"): a memory states the current value only."""
_SELF_EN = re.compile(r"\b(?:I|I'm|I've|I'll|me|my|mine|myself|we|we're|we've|our|us)\b|(?-i:\b[Ii]m\b|\b[Ii]ve\b)",
                      re.IGNORECASE)
_HYPO_EN = re.compile(r"\b(?:if|whether|maybe|might|would|could|wish|wonder|suppose|imagine|thinking about|"
                      r"considering|not sure|hypothetically)\b", re.IGNORECASE)
_HYPO_ZH = re.compile(r"如果|假如|要是|万一|假设|想象|不知道|考虑|纠结|犹豫|是否|要不要|该不该")
_OTHER_START_EN = re.compile(r"^(?:he|she|they|it|you|your|his|her|their|this|that|there|people|everyone)\b", re.IGNORECASE)
_ADDRESSEE = re.compile(r"你|您|\byou\b|\byour\b", re.IGNORECASE)
"""A remark to or about the assistant ("我觉得你说得对") says nothing lasting about the user."""
_OTHER_START_ZH = re.compile(r"^(?:他|她|它|你|您|大家|别人|有人|这|那)")
_IRREGULAR = {"haven't": "hasn't", "aren't": "isn't", "have": "has", "do": "does", "go": "goes", "am": "is", "'m": "is", "was": "was", "can": "can",
              "will": "will", "must": "must", "may": "may", "might": "might", "should": "should", "had": "had",
              "could": "could", "would": "would", "shall": "shall"}
MIN_ZH, MIN_EN = 5, 3


_BARE_CONTRACTIONS = frozenset({"dont", "didnt", "cant", "wont", "wasnt", "isnt", "havent", "couldnt", "wouldnt",
                                "shouldnt"})
"""Contractions typed without the apostrophe ("i cant", "i dont"): not verbs to put an -s on."""


def _en_verb(word: str) -> str:
    low = word.lower()
    if low in _IRREGULAR:
        return _IRREGULAR[low]
    if is_past_verb(low) or low in {"quit", "just", "also", "still", "never", "always", "really", "finally", "barely",
                                    "recently", "now", "currently", "usually", "often", "only", "already", "don't",
                                    "didn't", "can't", *_BARE_CONTRACTIONS}:
        return {"don't": "doesn't", "dont": "doesnt", "havent": "hasnt"}.get(low, word)
    if re.search(r"(?:s|sh|ch|x|z|o)$", low):
        return word + "es"
    if re.search(r"[^aeiou]y$", low):
        return word[:-1] + "ies"
    return word + "s"


def third_person_en(text: str) -> str:
    """"I drink coffee, my sister ..." -> "the user drinks coffee, the user's sister ..."."""
    t = re.sub(r"\bI'm\b|\bI am\b|(?-i:\b[Ii]m\b)", "the user is", text)
    t = re.sub(r"\bI've\b|(?-i:\b[Ii]ve\b)", "the user has", t)
    t = re.sub(r"\bI'll\b", "the user will", t)
    t = re.sub(r"\bI'd\b", "the user would", t)
    t = re.sub(r"\bwe're\b|\bwe are\b", "the user is", t, flags=re.IGNORECASE)
    t = re.sub(r"\bwe've\b", "the user has", t, flags=re.IGNORECASE)
    t = re.sub(r"\bI (?:(just|also|still|now|really|finally|barely|recently|usually|often|already|never|always|"
               r"currently|only) )?([A-Za-z']+)",
               lambda m: "the user " + (m.group(1) + " " if m.group(1) else "") + _en_verb(m.group(2)), t)
    t = re.sub(r"\bwe (?:(just|also|still|now|really|finally|recently|usually|already|never|always) )?([A-Za-z']+)",
               lambda m: "the user " + (m.group(1) + " " if m.group(1) else "") + _en_verb(m.group(2)), t,
               flags=re.IGNORECASE)
    t = re.sub(r"\b(?:my|our)\b", "the user's", t, flags=re.IGNORECASE)
    t = re.sub(r"\bmyself\b", "themselves", t)
    t = re.sub(r"\b(?:me|us)\b", "the user", t)
    t = re.sub(r"\bmine\b", "the user's", t)
    return t


def third_person_zh(text: str) -> str:
    t = re.sub(r"我(?:的|们)?(?=" + "|".join(RELATIONS_ZH + ACQUAINTANCES_ZH) + ")", "用户的", text)
    t = t.replace("我们家", "用户家").replace("我们", "用户一家").replace("咱们", "用户一家")
    return t.replace("我的", "用户的").replace("我", "用户")


def _resolve_dates(s: Sentence, text: str, start: int) -> str:
    """Replace relative date phrases by their absolute period (against chat_time)."""
    out, pos = [], 0
    for d in sorted(s.dates, key=lambda d: d.start):
        a, b = d.start - start, d.end - start
        if a < pos or a < 0:
            continue
        if HABITUAL.search(text[max(0, a - 6):b + 6]):
            continue  # 周末我一般都去爬山, "every weekend": a habit, no one date
        phrase = d.period.zh if s.lang == "zh" else f"{d.period.en_prep} {d.period.en}"
        if s.lang == "en" and re.match(r"\s*(?:in|on|at|during|over|for)\s*$", text[max(0, a - 8):a][-8:]):
            phrase = d.period.en
        out.append(text[pos:a] + phrase)
        pos = b
    return "".join(out) + text[pos:]


_SPEAKER = re.compile(r"^[^\W\d_][\w .'-]{0,40}$")


def speaker_name(name: str | None) -> str | None:
    """A message's speaker name fit to stand as a sentence's subject (else None)."""
    name = (name or "").strip()
    return name if name and _SPEAKER.match(name) else None


def named(content: str, speaker: str, lang: str) -> str:
    """"The user went hiking" -> "Caroline went hiking" when the message names its speaker.

    Why: one conversation can hold several speakers under one user id (LoCoMo's two
    friends, a family account); "the user" would make their facts indistinguishable and
    lose the name a question asks about ("What did Melanie paint?")."""
    if lang == "zh":
        return content.replace("用户的", f"{speaker}的").replace("用户一家", f"{speaker}一家").replace("用户", speaker)
    content = re.sub(r"\b[Tt]he user's\b", f"{speaker}'s", content)
    return re.sub(r"\b[Tt]he user\b", speaker, content)


STANDALONE = "standalone"
"""The group of fallback facts: none of ``domain.consolidation.GROUPS``."""
UNNEGATABLE = ("residence", "work", "plan")
"""Families a plain negation says nothing positive about (diet and drinks keep theirs as polarity)."""


def _family_negated(core: str, lang: str, family: str) -> bool:
    """A plain negation (not a cessation) governs a word of the statement's family
    ("didn't *move*", "没*搬*去", "not *going to*"), not merely sits somewhere in it."""
    for name, pattern in FAMILIES_ZH if lang == "zh" else FAMILIES_EN:
        if name == family:
            flags = 0 if lang == "zh" else re.IGNORECASE
            return any(negated(core, m.start(), lang) for m in re.finditer(pattern, core, flags=flags))
    return False


_ELIDED_EN = re.compile(r"(?:been|just|finally|recently|currently|still|also)\s+\w+", re.IGNORECASE)


def elided_subject(core: str) -> bool:
    """A chat statement that drops its "I": it opens on a past verb or participle ("Sold my
    cello", "Been doing watercolour painting", "Finally signed a lease"). Said by the user, it
    is about the user. (A gerund opening, "learning japanese on duolingo", was tried too: it
    gained one dev case and lost two held-out ones, "Charging takes some getting used to" being
    the kind it misreads.)"""
    first = core.split(maxsplit=1)[0].lower().strip(",") if core.split() else ""
    return is_past_verb(first) or bool(_ELIDED_EN.match(core))


def about_relative(text: str, lang: str) -> bool:
    """The statement opens on a relative or an acquaintance as its subject ("my sister …", 我妈…)."""
    lead = (_LEAD_ZH if lang == "zh" else _LEAD_EN).match(text)
    core = text[lead.end() if lead else 0:].strip()
    return bool((_REL_ZH if lang == "zh" else _REL_EN).match(core))


_ELIDED_ZH = re.compile(
    r"^(?:(?:刚刚?|最近|现在|目前|每天|天天|平时|一直|已经|今天|昨天|前天|上周|上个月|去年|今年|这周|这两天|这阵子|"
    r"前段时间|周末|早上|晚上|下班后?|还|又|也|都|正|终于|总算|打算|准备)"
    r"|(?:在|住|搬|戴|开|骑|用|养|做|当|买|换|卖|学|练|报|考|辞|入职|跳槽|离职|退休|去|回|跑|吃|喝|戒|减|带|租|种|追|玩|打)"
    r"(?![人们家的]))")
"""How a Chinese chat statement opens when it leaves out its 我: on a time word or adverb (刚搬来深圳,
每天早上一杯黑咖啡) or on the verb itself (戴小米手环跑步, 在美团做产品). Said by the user, it is about
the user; one that opens on a noun (大黄现在14斤了, 公司楼下…) is about that."""


def elided_subject_zh(core: str) -> bool:
    return bool(_ELIDED_ZH.match(core))


def fallback(s: Sentence, user_subject: bool = False) -> Found | None:
    """The third-person fact for sentence ``s``, or None when it should stay an episode.

    ``user_subject``: the sentence is a clause whose subject Chinese left out after a clause
    about the user (``clauses.statement_clauses``), so it is the user's."""
    raw = s.text.strip()
    body = raw.rstrip("。.！!~～ ")
    if not body or raw.endswith(("?", "？")) or is_filler(body):
        return None
    lead = (_LEAD_ZH if s.lang == "zh" else _LEAD_EN).match(body)
    start = lead.end() if lead else 0
    core = body[start:].strip()
    if not core:
        return None
    if _ADDRESSEE.search(core) or re.match(r"(?:let me|let's|let us|hmm+|um+|uh+)\b", core, re.IGNORECASE):
        return None
    offset = s.text.index(core[:8]) if core[:8] in s.text else 0
    lang = s.lang
    if lang == "zh":
        if core.endswith("吧") or len(re.sub(r"[^\u4e00-\u9fffA-Za-z0-9]", "", core)) < (3 if user_subject else MIN_ZH) \
                or QUESTION_ZH.search(core) \
                or _HYPO_ZH.search(core):
            return None
        rel = _REL_ZH.match(core)
        first_person = "我" in core or "咱" in core or user_subject or elided_subject_zh(core)
        other_start = bool(_OTHER_START_ZH.match(core))
    else:
        if len(core.split()) < MIN_EN or QUESTION_EN.match(core) or _HYPO_EN.search(core) or hedged(core, len(core), "en"):
            return None
        rel = _REL_EN.match(core)
        first_person = bool(_SELF_EN.search(core)) or elided_subject(core)
        other_start = bool(_OTHER_START_EN.match(core))
    subject = None
    if rel:
        subject = next(g for g in rel.groups() if g).lower()
        subject = _KIN_FORMS.get(subject, subject)
    revise_only = (other_start or not first_person) and subject is None
    if lang == "en" and not first_person and not revise_only:
        revise_only = True
    text = _resolve_dates(s, core, offset)
    replaced = (_SUPERSEDED_ZH if lang == "zh" else _SUPERSEDED_EN).search(text)
    if replaced and (replaced.start() > 0 or replaced.group(0).startswith("从")):
        text = (text[:replaced.start()] + text[replaced.end():]).strip()
    if lang == "zh":
        clause = third_person_zh(text)
        content = clause if "用户" in clause[:12] else "用户" + clause
        content = content.rstrip("，,、 ")
    else:
        if elided_subject(core) and text[:1].isalpha():  # "Sold my cello": the user's "I" given back
            text = ("I've " if text.split(maxsplit=1)[0].lower() == "been" else "I ") + text[0].lower() + text[1:]
        clause = third_person_en(text)
        content = clause[0].upper() + clause[1:]
        content = content.rstrip(".,; ") + "."
    family = family_of(core, lang)
    if family in UNNEGATABLE and _family_negated(core, lang, family):
        return None  # "I didn't move to Chicago", "没去成都": what did not happen fills no slot
    predicate = re.sub(r"^(?:The user |用户)", "", content) if subject is None else content
    words = sorted(content_words(content))
    subject_key = "user" if subject is None else subject
    head = family or "note"
    obj = slugify(" ".join(words[:3])) if words else "x"
    slot = (f"family.{subject}.{head}" if subject else f"{head}.{obj}")
    # group STANDALONE: a free statement is a memory of its own; it revises a grouped memory (the
    # work memory) only through a change on its topic, never joins it by its family's slot prefix
    f = Found("fact", slot, predicate.rstrip("."), [(0, len(s.text))], content=content, group=STANDALONE,
              attributes={"fallback": True, "family": family, "topic": words, "subject": subject_key,
                          "change": has_change(core, lang), "additive": is_additive(core, lang),
                          "weak_change": weak_change_only(core, lang),
                          "revise_only": revise_only, "replaced": replaced.group(0).strip(" ,，") if replaced else None,
                          "family_slots": list(FAMILY_SLOTS.get(family or "", ())) if subject is None
                          else [f"family.{subject}.{family}"] if family else []})
    f.confidence = 0.8
    return f
