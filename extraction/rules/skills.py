"""Finding skills in a conversation (zh and en): a procedure the user describes, a plan the
assistant proposed and the user accepted, an addition to a known procedure, and a request to
do something "the way I usually do".

Generalised, not phrase-matched: steps are found by *step markers* (numbered lines "1." "2)"
"①" "第一步" "Step 1:", or bullets under a header that names a procedure) or by *sequencing
words* (先/首先/第一 … 然后/再/接着/之后/最后; first/start by … then/next/after that/finally),
and need at least two of them. A user's own steps count only when the message also says the
steps are a habit or a procedure (我一般/通常/习惯/每次/流程/步骤, usually/always/every time/my
process/routine/how I …), so a story told in order ("first we went to the beach, then …") is
not a skill. The task that names the skill comes from the same sentence ("出差的时候我一般先…",
"When I deploy a release, I first …", "我做周报的流程："), or, for an accepted plan, from the
plan's header or the user's request before it. See ``domain/skill.py`` for what is stored.
"""

from __future__ import annotations

import re
from typing import Sequence

from domain.extraction import WindowMessage
from domain.skill import FoundSkill, Skill

_CJK = re.compile(r"[\u4e00-\u9fff]")
_NUMBERED = re.compile(
    r"^\s*(?:(?:step\s*)?\d{1,2}\s*[.)、．:：]|[（(]\d{1,2}[)）]|[①②③④⑤⑥⑦⑧⑨⑩]|第[一二三四五六七八九十\d]{1,2}步[:：,，、]?)\s*(?P<step>.+)$",
    re.I | re.M)
_BULLET = re.compile(r"^\s*[-*•·]\s+(?P<step>.+)$", re.M)
_ZH_FIRST = r"(?:首先|第一步|一开始|先)"
_ZH_NEXT = r"(?:然后再|然后|接着|接下来|之后再|之后|随后|其次|再然后|最后再|最后|再|第[二三四五六七八九十]步)"
_EN_FIRST = r"\b(?:first(?:ly)?(?!\s+(?:time|place|day|week|year|thing|one|of|in|name)\b)|to start|start(?:ing)? (?:by|with)|begin (?:by|with)|step (?:1|one):?)\b"
_EN_NEXT = r"(?:[,;.]\s*(?:and\s+)?|\s+and\s+|\s+)(?:then|next|after that|afterwards|finally|lastly|step (?:[2-9]|two|three|four|five):?)\b"
"""A sequencing word after a clause break (", then", ". Next", "and finally", or a bare " then ")."""
_STRONG_NEXT = {"zh": r"然后|接着|之后|随后|最后", "en": _EN_NEXT}
"""What lets a habit start the first step without a "first" word (not 再: 再说, 再见 …)."""
_NOT_A_STEP_EN = re.compile(r"^(?:if|when|because|that|so|but|it|it's|its|they|we|you|he|she|the|a|an|my|our|this|there|these|those|what|year|week|month|night|day|time|i|i'm|is|was|are|than|more|less)\b", re.I)
"""An English step starts with a verb; these words start a clause or a noun phrase instead."""
_HABIT_ZH = re.compile(r"一般|通常|习惯|每次|每回|平时|总是|都会|都是|向来|流程|步骤|做法|方法|套路|规矩|清单")
_HABIT_EN = re.compile(r"\b(?:usually|always|typically|normally|generally|every time|whenever|routine|workflow|"
                       r"process|procedure|checklist|my (?:approach|method|steps|way)|how i|the way i|i tend to|"
                       r"i like to|my rule)\b", re.I)
_ACCEPT_ZH = re.compile(r"^(?:好的?|好啊|可以|行|没问题|就这么办|就这样|就按|按这个|照这个|照你说的|同意|不错|很好|完美|听你的|就用这个)"
                        r"|(?:按|照)(?:你说的|这个方案|这个计划|你的方案)(?:做了|来了|办了|弄好了)")
_ACCEPT_EN = re.compile(r"^(?:ok(?:ay)?|sounds (?:good|great|perfect)|let'?s do (?:it|that|this)|go ahead|perfect|"
                        r"great|that works|works for me|yes|yep|sure|agreed|i'?ll (?:do|follow) (?:that|this|it)|"
                        r"do that|love it)\b|\b(?:i (?:followed|did) (?:your|the|that) (?:plan|steps|advice)|"
                        r"did (?:exactly )?what you (?:said|suggested))\b", re.I)
"""Accepting a plan, or reporting having followed it ("按你说的做了", "I followed your plan")."""
_REJECT = re.compile(r"不要|不行|不好|算了|换一个|\b(?:no|not|but|instead|don't|rather)\b", re.I)
_USUAL_ZH = re.compile(r"按(?:照)?我?(?:平时|以前|往常|老|一贯|一直|惯常)的?(?:习惯|方式|流程|套路|方法|做法|步骤)|像往常一样|照旧|老样子")
_USUAL_EN = re.compile(r"\b(?:the way i (?:usually|always|normally) do|like i (?:usually|always) do|as usual|"
                       r"my usual (?:way|process|routine|steps))\b", re.I)
_ADD_ZH = re.compile(r"(?:^|[。！？!?，,]\s*)(?:另外|还有|补充(?:一下|一点)?|对了)[，,：:]?")
_ADD_EN = re.compile(r"(?:^|[.!?]\s+)(?:also|one more thing|i forgot to (?:say|mention))\b[,:]?", re.I)
"""An addition opens its sentence ("另外，…", "Also, …"): a mid-sentence "also" adds nothing to a skill."""
_CONSTRAINT_ZH = re.compile(r"不要|别|不能|不可以|一定要|务必|必须|千万|记得|注意|避免|绝不")
_CONSTRAINT_EN = re.compile(r"\b(?:never|don't|do not|must|make sure|avoid|remember to|always)\b", re.I)
_EXAMPLE = re.compile(r"(?:比如|例如|像上次|for example|e\.g\.|for instance|like last time)", re.I)
_TOOLS_ZH = re.compile(r"(?:用|使用|通过|在)(?P<tool>[A-Za-z][A-Za-z0-9.+-]{1,20}|[\u4e00-\u9fff]{2,6}(?:表格|文档|软件|系统|平台|App|app))")
_TOOLS_EN = re.compile(r"\b(?:with|using|in|via|on)\s+(?P<tool>[A-Z][\w+-]*(?:\s[A-Z][\w+-]*)?)")
_NOT_TOOLS = re.compile(r"^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun|Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec|I\b|The\b)")
_SCHEDULE_ZH = re.compile(r"每(?:周|星期)[一二三四五六日天]|每天(?:早上|晚上|上午|下午)?|每月\d{0,2}号?|周[一二三四五六日]|\d{1,2}点")
_SCHEDULE_EN = re.compile(r"\bevery (?:monday|tuesday|wednesday|thursday|friday|saturday|sunday|day|week|month|"
                          r"morning|evening)\b|\bon (?:mondays|tuesdays|wednesdays|thursdays|fridays|weekends)\b|"
                          r"\bat \d{1,2}(?::\d\d)?\s?(?:am|pm)\b", re.I)
_TASK_ZH = [
    re.compile(r"(?:我|自己)?(?P<task>[^，,。：:！？!?\s]{2,16}?)的?(?:固定)?(?:流程|步骤|做法|方法|习惯|套路|清单)"),
    re.compile(r"(?P<task>[^，,。：:！？!?\s我]{2,16}?)的?(?:时候|时|之前|前)[，,]?\s*我?(?:一般|通常|习惯|每次|都|总是|会)"),
    re.compile(r"我(?P<task>[^，,。：:！？!?\s]{2,12}?)(?:一般|通常|习惯|每次|都会|总是)"),
    re.compile(r"(?P<task>[^，,。：:！？!?\s我]{2,12}?)[，,]?\s*我(?:一般|通常|习惯|每次|都|总是)"),
    re.compile(r"(?:帮我|给我|我想|我要|怎么|如何)(?P<task>[^，,。：:！？!?\s]{2,16}?)(?:吧|呢|吗|？|\?|。|，|,|$)"),
    re.compile(r"(?P<task>[^，,。：:！？!?\s我]{2,16}?)的?(?:时候|时)"),
    re.compile(r"(?P<task>[^，,。：:！？!?\s]{2,16}?)(?:的)?(?:计划|方案|安排)(?:如下|是)?[：:]"),
]
_TASK_EN = [
    re.compile(r"\b(?:my|our) (?:usual )?(?:process|routine|workflow|approach|method|steps|procedure|checklist) "
               r"(?:for|when|to|of) (?P<task>[^:.,;!?\n]{3,60})", re.I),
    re.compile(r"\b(?:when|whenever|before|every time) (?:i|we) (?P<task>[^,:.;!?\n]{3,60})", re.I),
    re.compile(r"\b(?:here'?s|this is) how (?:i|we|to|you can) (?P<task>[^:.,;!?\n]{3,60})", re.I),
    re.compile(r"\b(?:to|for) (?P<task>[^,:.;!?\n]{3,60}),? (?:i|we) (?:usually|always|typically|normally|first)\b", re.I),
    re.compile(r"\b(?:plan|steps|checklist) (?:for|to) (?P<task>[^:.,;!?\n]{3,60})", re.I),
    re.compile(r"\b(?:help me|how (?:do|should|can) i|i need to|i want to) (?P<task>[^,:.;!?\n]{3,60})", re.I),
]
_TASK_TRIM_EN = re.compile(r"^(?:usually|always|typically|normally|first|go about|do)\s+|\s+(?:is|are|goes|looks like)$", re.I)
_LEAD_EN = re.compile(r"^(?:and\s+)?(?:i|we)\s+(?:usually\s+|always\s+|then\s+)?|^(?:you\s+)", re.I)
_LEAD_ZH = re.compile(r"^(?:我们?|你)?(?:一般|通常|都|会|就|再|先)*")


def _lang(text: str) -> str:
    return "zh" if _CJK.search(text) else "en"


def _clean_step(step: str, lang: str) -> str:
    step = step.strip().strip("，,。.;；:：、 ")
    if lang == "zh":
        step = _LEAD_ZH.sub("", step)
    else:
        step = re.sub(r"[,\s]+(?:and|or)$", "", _LEAD_EN.sub("", step))
    return step.strip().strip("，,。.;；:：、 ")


def numbered_steps(text: str, lang: str, allow_bullets: bool = False) -> list[str]:
    steps = [m.group("step") for m in _NUMBERED.finditer(text)]
    if len(steps) < 2 and allow_bullets:
        steps = [m.group("step") for m in _BULLET.finditer(text)]
    steps = [_clean_step(s, lang) for s in steps]
    return [s for s in steps if s] if len(steps) >= 2 else []


def sequenced_steps(text: str, lang: str, habit_end: int | None = None) -> tuple[list[str], int]:
    """Steps split at sequencing words, and where the first marker starts (-1: none). Without a
    "first" word, a habit ("I always run the tests, then tag it") starts the first step."""
    first, after = (_ZH_FIRST, _ZH_NEXT) if lang == "zh" else (_EN_FIRST, _EN_NEXT)
    start = re.search(first, text, re.I)
    sentence_end = re.compile(r"[.!?](?:\s|$)|[。！？]").search(text, habit_end or 0)
    habit_sentence = text[habit_end:sentence_end.start() if sentence_end else len(text)] if habit_end else ""
    if start is None and habit_end is not None and re.search(_STRONG_NEXT[lang], habit_sentence, re.I):
        start = re.compile(r"").match(text, habit_end)
    if start is None:
        return [], -1
    body = text[start.end():]
    pieces = re.split(rf"[，,；;。.]?\s*{after}[，,]?\s*" if lang == "zh" else rf"{after},?\s*", body, flags=re.I)
    pieces = [re.split(r"[。！？!?]|(?<=[a-z])\.\s", p)[0] if i == len(pieces) - 1 else p
              for i, p in enumerate(pieces)]
    steps = [_clean_step(p, lang) for p in pieces]
    steps = [s for s in steps if len(s) >= 2]
    if lang == "en" and any(_NOT_A_STEP_EN.match(s) for s in steps):
        return [], -1  # "more then if I were …", "last year when we …": clauses, not steps
    if any(re.search(r"[.!?]\s|[。！？]", s) for s in steps):
        return [], -1  # a step is one clause; one that runs over sentences is a story
    return (steps, start.start()) if len(steps) >= 2 else ([], -1)


_VERB_PATTERNS = (1, 2, 3, 5)
"""Indexes of the English task patterns whose task is a verb phrase ("when I deploy a release")."""
_DOUBLED = re.compile(r"^(?:[^aeiou]*[aeiou][bdgmnprt])$")


def gerund(phrase: str) -> str:
    """"deploy a release" -> "deploying a release", so a name reads as a task: "procedure for …"."""
    first, _, rest = phrase.partition(" ")
    word = first.lower()
    if word.endswith("ing") or len(word) < 2:
        return phrase
    if word.endswith("e") and not word.endswith(("ee", "ye", "oe")):
        word = word[:-1] + "ing"
    elif _DOUBLED.match(word) and len(word) <= 4:
        word = word + word[-1] + "ing"
    else:
        word += "ing"
    return f"{word} {rest}".strip()


def task_name(text: str, lang: str) -> str:
    for number, pattern in enumerate(_TASK_ZH if lang == "zh" else _TASK_EN):
        m = pattern.search(text)
        if m:
            task = m.group("task").strip()
            if lang == "en":
                task = _TASK_TRIM_EN.sub("", task).strip()
                task = re.sub(r",.*$", "", task)
                task = re.split(r"\s+(?:i|we)\s+|\s+(?:first|then|now)\b", task, flags=re.I)[0]
                task = gerund(task) if number in _VERB_PATTERNS else task
            else:
                task = re.sub(r"^(?:现在|最近|以后|今后|平时|目前|如今)?(?:在|对于|关于|每次|一般|通常)?", "", task)
                task = re.sub(r"(?:一般|通常|的话|这件事)$", "", task)
            if len(task) >= 2 and not re.search(_ZH_FIRST if lang == "zh" else _EN_FIRST, task, re.I):
                return task
    return ""


def _extras(text: str, steps: Sequence[str], lang: str) -> tuple[tuple[str, ...], dict, tuple[str, ...]]:
    """Constraints (sentences outside the steps, or steps, that say must/never), parameters
    (tools, schedule) and examples of a procedure message."""
    sentences = [s.strip() for s in re.split(r"(?<=[。！？!?\n])|(?<=[.;])\s+", text) if s.strip()]
    pattern = _CONSTRAINT_ZH if lang == "zh" else _CONSTRAINT_EN
    constraints = [_clean_step(s, lang) for s in sentences if pattern.search(s) and not any(st in s for st in steps)
                   and not _NUMBERED.match(s)]
    constraints += [s for s in steps if pattern.search(s) and lang == "zh" and re.search(r"不要|别|千万|务必|一定要", s)]
    tools_pattern = _TOOLS_ZH if lang == "zh" else _TOOLS_EN
    tools = list(dict.fromkeys(m.group("tool") for m in tools_pattern.finditer(text)
                               if not _NOT_TOOLS.match(m.group("tool"))))
    plain = " ".join(s for s in sentences if not pattern.search(s))  # "never on Fridays" is no schedule
    schedule = (_SCHEDULE_ZH if lang == "zh" else _SCHEDULE_EN).search(plain)
    parameters: dict = {}
    if tools:
        parameters["tools"] = tools
    if schedule:
        parameters["schedule"] = schedule.group(0)
    examples = tuple(_clean_step(s, lang) for s in sentences if _EXAMPLE.search(s))
    constraints = [re.sub(r"^(?:注意|记得|请)[：:，,]?", "", c) for c in constraints]
    return tuple(dict.fromkeys(c for c in constraints if c)), parameters, examples


def _procedure(message: WindowMessage, habitual_needed: bool) -> Skill | None:
    text, lang = message.text, _lang(message.text)
    habit = (_HABIT_ZH if lang == "zh" else _HABIT_EN).search(text)
    steps = numbered_steps(text, lang, allow_bullets=bool(habit) or not habitual_needed)
    if not steps:
        steps, _ = sequenced_steps(text, lang, habit.end() if habit else None)
    if len(steps) < 2 or (habitual_needed and not habit):
        return None
    name = task_name(text, lang)
    constraints, parameters, examples = _extras(text, steps, lang)
    return Skill(name=name or steps[0][:24], steps=tuple(steps), lang=lang, parameters=parameters,
                 constraints=constraints, examples=examples)


def _accepts(message: WindowMessage) -> bool:
    text = message.text.strip()
    return (len(text) <= 60 and not _REJECT.search(text)
            and bool(_ACCEPT_ZH.search(text) or _ACCEPT_EN.search(text)))


def find_skills(messages: Sequence[WindowMessage]) -> tuple[list[FoundSkill], set[str]]:
    """Skills stated, accepted, added to or used in the new messages, and the messages they cover."""
    found: list[FoundSkill] = []
    covered: set[str] = set()
    for index, message in enumerate(messages):
        if not message.is_new or not message.text.strip():
            continue
        text, lang = message.text, _lang(message.text)
        if message.role == "user":
            usual = (_USUAL_ZH if lang == "zh" else _USUAL_EN).search(text)
            if usual:
                name = task_name(text[:usual.start()] + text[usual.end():], lang)
                found.append(FoundSkill(Skill(name=name, steps=(), lang=lang, examples=(text.strip()[:200],)),
                                        (message.message_id,), mode="use", confidence=0.7))
                continue
            skill = _procedure(message, habitual_needed=True)
            if skill is not None:
                found.append(FoundSkill(skill, (message.message_id,)))
                covered.add(message.message_id)
                continue
            addition = (_ADD_ZH if lang == "zh" else _ADD_EN).search(text)
            name = task_name(text, lang) if addition else ""
            if addition and name:  # only ever applied to a skill of that name (domain.skill)
                rest = text[addition.end():]
                step = re.split(r"[。！？!?]", rest)[0]
                step = re.sub(r"^.*?(?:的时候|时候|\bwhen\b[^,]*,)[，,]?\s*", "", step, flags=re.I)
                step = _clean_step(re.sub(r"^(?:最后|还要|也要|还得|再|另外)+", "", step), lang)
                constraints, parameters, _ = _extras(rest, [], lang)
                if step:
                    found.append(FoundSkill(Skill(name=name, steps=() if constraints else (step,), lang=lang,
                                                  constraints=constraints, parameters=parameters),
                                            (message.message_id,), mode="addition", confidence=0.7))
            if _accepts(message):
                plan = _accepted_plan(messages, index)
                if plan is not None:
                    found.append(plan)
                    covered.update(plan.source_message_ids)
    return found, covered


def _accepted_plan(messages: Sequence[WindowMessage], index: int) -> FoundSkill | None:
    """The assistant's plan just before the accepting message ``index``, as a skill."""
    for back in range(index - 1, max(-1, index - 3), -1):
        proposal = messages[back]
        if proposal.role == "user":
            return None
        if proposal.role != "assistant":
            continue
        lang = _lang(proposal.text)
        steps = numbered_steps(proposal.text, lang, allow_bullets=True) or sequenced_steps(proposal.text, lang)[0]
        if len(steps) < 2:
            return None
        name = task_name(proposal.text.split("\n", 1)[0], lang)
        if not name:
            request = next((m for m in reversed(messages[:back]) if m.role == "user"), None)
            name = task_name(request.text, _lang(request.text)) if request is not None else ""
        constraints, parameters, examples = _extras(proposal.text, steps, lang)
        skill = Skill(name=name or steps[0][:24], steps=tuple(steps), lang=lang, parameters=parameters,
                      constraints=constraints, examples=examples, origin="accepted_plan")
        return FoundSkill(skill, (proposal.message_id, messages[index].message_id), confidence=0.75)
    return None
