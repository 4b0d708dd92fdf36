"""Small talk and filler: what a message may contain besides its candidates and still
count as covered (greetings, thanks, acknowledgements, weather chat, questions and
requests to the assistant that say nothing about the user)."""

from __future__ import annotations

from extraction.rules import pattern_cache as re  # re, with a cache that holds all rule patterns

_FILLER_ZH = re.compile(
    r"顺便说一下|顺便说|对了|另外|话说|说起来|总之|反正|其实|真的|非常|特别|已经|刚刚|平时|一直|所以|而且|但是|不过|然后|"
    r"可能|好像|感觉|觉得|那就|那么|就是|这样|嗯嗯|好的|没问题|谢谢你|谢谢您|谢谢|谢啦|多谢|感谢|你好|您好|早上好|"
    r"晚上好|下午好|中午好|再见|拜拜|晚安|收到|明白了|明白|知道了|了解|还是|比较|有点|一下|目前|现在|最近|突然|"
    r"大家好|各位好|我们家|我家|家里|有帮助|有用|太棒了|不错|辛苦了|麻烦了|"
    r"哈哈+|呵呵+|嘿嘿+|嘻嘻+|我们|咱们|我|也|还|都|就|了|啊|呀|吧|呢|哦|噢|嗯|哇|啦|喔|诶|欸|耶|呐|咯|嘛|的|是|又|再|"
    r"很|挺|超|刚|好|行|嗨|哈|哎|唉|ok|OK|Ok|那|这|吗|呗")
_FILLER_EN_WORDS = (
    "by the way|btw|thank you|thanks|thx|ty|hello|hi|hey|heya|yo|ok|okay|sure|cool|great|nice|awesome|got it|good|"
    "morning|evening|afternoon|night|bye|goodbye|see you|cheers|perfect|alright|all right|right|yeah|yes|yep|yup|"
    "nope|no|oh|well|um|uh|hmm|wow|lol|haha|hahaha|hehe|anyway|anyways|i|i'm|im|me|my|we|and|but|so|also|really|"
    "actually|just|now|currently|recently|lately|too|as|very|much|a|an|the|of|it|that|this|that's|it's|sounds|"
    "then|please|again|for|your|help|you|there|guys|everyone|dear|sir|lovely|amazing|fantastic|excellent|"
    "wonderful|thanks a lot|much appreciated|appreciate it|noted|understood|indeed|totally|absolutely|definitely|"
    "exactly|true|interesting|hope|are|doing|how|is|to|be|all|in|at|on|kind|finally|still|though|helpful|useful|"
    "makes sense|good to know|will do|i'll|i'd|i've|we'll|we're|let's|i will|let me|that helps|super|so much|"
    "a lot|glad|happy|welcome|no problem|np|great help|thank you so much|thanks so much|honestly|personally|frankly|"
    "to be honest|tbh|hey there|hi there|hello there|basically|ah").split("|")
_FILLER_EN = re.compile(r"(?<![\w'])(?:" + "|".join(re.escape(w) for w in sorted(_FILLER_EN_WORDS, key=len, reverse=True))
                        + r")(?![\w'])", re.IGNORECASE)
_EMOJI = re.compile(r"[\U0001F300-\U0001FAFF\u2600-\u27BF\uFE0F]+")
_PUNCT = re.compile(r"[\s，,。.！!？?；;：:、~～…\-—\"'“”‘’()（）\[\]【】《》<>/\\|*#@^_+=`]+")

_QUESTION_ZH = re.compile(r"吗|呢|什么|怎么|如何|哪|为什么|多少|几|能不能|可不可以|可以帮|是否|有没有|推荐|建议|请问|帮我|帮忙|麻烦|"
                          r"请你|(?<![送交还借卖寄递传转])给我(?![的们家爸妈哥姐弟妹爷奶姥外叔舅姨姑老表朋同])|告诉我|查一下|查查|看看|介绍|解释|翻译|写一|算一下|记住|记一下|提醒我|请")
_QUESTION_EN = re.compile(r"^\s*(?:what|what's|how|how's|why|where|when|who|which|can you|could you|would you|will you|"
                          r"do you|does|did you|is there|are there|is it|are you|any|please|help me|tell me|show me|"
                          r"recommend|suggest|give me|find me|let me know|remind me|remember|explain|translate|write|"
                          r"summarize|book|check|look up|search|i'd like|i would like|i'm looking for|i am looking for|"
                          r"can i|could i|may i|let me|let's see|is that|are these|should i)\b", re.IGNORECASE)
_WEATHER = re.compile(r"天气|下雨|下雪|晴天|阴天|好热|好冷|太热|太冷|weather|sunny|rainy|raining|snowing|cloudy|"
                      r"hot today|cold today|nice day|beautiful day", re.IGNORECASE)
_REQUEST = re.compile(r"^\s*(?:我)?(?:还)?有(?:一个|个|几个|两个)?(?:问题|疑问)|^\s*(?:I\s+)?(?:have|got)\s+(?:a|another|one more|some)\s+"
                      r"questions?\b|^\s*(?:I\s+)?(?:really\s+)?(?:like|love)\s+(?:it|that|this|how|the way|your)\b|"
                      r"^\s*(?:我)?(?:很|挺|真|还是)?(?:喜欢|爱)(?:这个|那个|你的|这样)", re.IGNORECASE)
_SELF = re.compile(r"我|\bI\b|\bmy\b|\bme\b|\bwe\b", re.IGNORECASE)


def is_filler(fragment: str, question: bool = False) -> bool:
    """True when a leftover fragment of a user message carries nothing about the user."""
    f = _EMOJI.sub(" ", fragment)
    if not _PUNCT.sub("", f):
        return True
    if question or _QUESTION_ZH.search(f) and not re.search(r"我(?:是|有|在|住|叫|喜欢|不)", f) or _QUESTION_EN.match(f):
        return True
    if _REQUEST.search(f):
        return True
    if _WEATHER.search(f) and not _SELF.search(f):
        # small talk about the weather, unless another clause says something ("现在在成都落脚了，天气太热")
        parts = [p for p in re.split(r"[，,;；]", f) if _PUNCT.sub("", p)]
        if len(parts) <= 1 or all(_WEATHER.search(p) or is_filler(p) for p in parts):
            return True
    rest = _FILLER_EN.sub(" ", _FILLER_ZH.sub(" ", f))
    return not _PUNCT.sub("", rest)


def residual_fragments(text: str, consumed: list[tuple[int, int]]) -> list[tuple[str, bool]]:
    """The parts of ``text`` no candidate explains, each with whether it ends a question."""
    mask = [False] * len(text)
    for a, b in consumed:
        for i in range(max(0, a), min(len(text), b)):
            mask[i] = True
    frags: list[tuple[str, bool]] = []
    buf: list[str] = []

    def flush(end: int) -> None:
        if buf:
            tail = text[end:end + 1]
            nxt = re.search(r"[。.！!？?\n]", text[end:])
            question = tail in ("？", "?") or bool(nxt and nxt.group(0) in ("？", "?") and
                                                 not any(mask[end:end + nxt.start()]))
            frags.append(("".join(buf), question))
            buf.clear()

    for i, ch in enumerate(text):
        if mask[i] or ch in "，,。！!？?；;\n":
            flush(i)
            continue
        buf.append(ch)
    flush(len(text))
    return [(f, q) for f, q in frags if f.strip()]


_ABOUT_USER = re.compile(
    r"(?<!如果)(?<!要是)你(?:住在|叫|的名字|喜欢|不喜欢|爱吃|不能吃|不吃|对.{1,6}过敏|老家|家在|在.{1,8}(?:工作|上学|读书|居住)|"
    r"有(?:一个|两个|孩子|女儿|儿子|猫|狗)|是.{1,6}(?:人|的学生)|之前说过|提到过|计划)|用户|"
    r"(?<!if )(?<!do )(?<!would )(?<!did )\byou(?:'re| are)? (?:live|lives|living|work|prefer|love|like|enjoy|hate|allergic|vegetarian|mentioned|"
    r"said|told|planning|plan)\b|\byour (?:name|wife|husband|kids|children|job|birthday|hometown|son|daughter|dog|cat|"
    r"allergy|trip|plan)\b|\bthe user\b", re.IGNORECASE)


def assistant_says_nothing_about_user(text: str) -> bool:
    return not _ABOUT_USER.search(text or "")
