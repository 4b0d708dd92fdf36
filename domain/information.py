"""Does a message carry information? Greetings, thanks, laughter and acknowledgements do not.

Why a classifier over tokens rather than a list of sentences: people say "thx!!", "Thanks a
lot :)", "okkk", "哈哈哈哈", "好的好的，谢谢啦" and "Sure, happy to help!" in endless variants.
What they share is that every token left after removing punctuation, emoji and symbols is a
*filler* word: a greeting, a thank, an acknowledgement, laughter, an interjection, a pronoun
or function word, or an assistant pleasantry ("let me know if you need anything else"). So a
message carries information exactly when at least one *content token* remains:

* Latin script: words (after folding case, contractions and elongations "sooo" -> "so");
  a word outside the filler vocabulary, any digit, or a negation ("no", "not", "never")
  counts as content. Laughter is recognised by shape ("hahaha", "lolol", "lmaooo", "xD").
* CJK script: there are no spaces, so the text is segmented greedily against filler
  morphemes (longest first: 不客气, 好的, 谢谢, 哈, 嗯, 啦, ...); one character no filler
  morpheme covers is content.

The vocabulary is generous with function words (I, you, the, can, 我, 你, 了) because one
content word is enough: "I can swim" keeps "swim", "我有高血压" keeps "有高血压". Negations
are never filler: "no" / "not really" answer a question. A bare "yes"/"ok"/"好的" is treated
as an acknowledgement; where it accepts an offer, the Fine stage's extractor still reads it
in its window and any memory it yields supersedes the episode.
"""

from __future__ import annotations

import re
import unicodedata

FILLER_PHRASES = (
    "no problem", "no problemo", "no prob", "no worries", "no worry", "not at all", "of course",
    "you're welcome", "you are welcome", "no need to thank",
)
PERSONA = re.compile(
    r"^\s*(?:you are|you're|act as|你是|你现在是)\s*(?:a|an|一个|一位|一名)?\s*"
    r"(?:[\w\s,'-]{0,40}?)(?:assistant|chatbot|ai|bot|助手|助理|机器人)[\s.!。！]*$",
    re.IGNORECASE)
"""A bare persona line of a system prompt ("You are a helpful assistant.", 你是一个乐于助人的
助手): it describes the assistant, never the user. A persona with instructions after it
("…assistant. The user is vegetarian") does not match and is read as usual."""
"""Multi-word fillers that contain a negation word (checked before tokenising)."""

FILLER_WORDS = frozenset("""
hi hello hey heya hiya howdy yo sup greetings morning afternoon evening night good gm gn bye goodbye
byebye cya later see soon take care welcome
thanks thank thx thnx tks ty tysm tyvm cheers appreciate appreciated grateful
ok okay okey okie k kk alright aight right sure yes yeah yea yep yup ya yah ye aye indeed
fine great good nice cool awesome perfect excellent wonderful lovely amazing fantastic neat sweet
got gotcha understood understand noted roger copy makes sense sounds seems fair enough agreed
lol lmao lmfao rofl haha hehe hihi lul xd omg wow whoa woah oh ooh ah ahh aha uh um umm hmm hm
mm mhm huh eh er yay oops welp meh
i me my mine myself you your yours yourself we us our it its this that these those there here
a an the and or so to too also as well then just really very much many lot lots all any
is am are was were be been being do does did doing done have has had can could will would shall
should may might must let lets know if else anything something everything need needs want wants
with for of on in at by from about up out again still
happy glad pleased help helped helping helpful assist assistance pleasure anytime time ask
what how why going doing today hope slept nvm nevermind mind
please pls plz
np ttyl brb gtg thing things obliged day have nice new year holidays merry christmas congrats
congratulations bless wishes talk chat tips tip advice suggestion suggestions catch
funny hilarious interesting fun cute exactly absolutely totally true indeed
""".split())
"""Latin-script filler: greetings, thanks, acknowledgements, interjections, function words,
assistant pleasantries. Never put a content noun or a negation here."""

CJK_FILLERS = sorted(set("""
哈 呵 嘿 嘻 嗯 恩 哦 噢 喔 啊 呀 吧 呢 啦 嘛 哇 诶 欸 哎 唉 嗨 喽 咯 哟 呐 耶 滴 嘞
好的 好滴 好嘞 好吧 好呀 好啊 好 行 行吧 可以 没问题 收到 明白 了解 知道 懂 懂了 对 对的 对啊 是的 是啊 嗯嗯
谢谢 谢 谢啦 多谢 感谢 感恩 辛苦 辛苦了 麻烦 麻烦你 不客气 没事 没关系 不用谢 客气
你好 您好 大家好 早 早上好 早安 午安 下午好 晚上好 晚安 再见 拜拜 回头见 下次见 明天见 待会见 一会见 周末见 下周见 明儿见
太好了 太棒了 棒 厉害 赞 牛 不错 挺好 真好 好棒 完美 酷 哇塞
很 真 非常 太 超 特别 了 的 得 也 都 就 还 又 这样 那 那就 这 这个 那个
我 你 您 他 她 我们 你们 咱们
原来如此 原来 有道理 笑死 笑死我了 绝了 牛啊 厉害了 再聊 回聊 回头聊 改天聊 有意思 有趣 好笑 好玩 真的吗 是吗 新年快乐 节日快乐 生日快乐 快乐 建议 意见 的建议
在 在的 说 请说 帮 祝 愉快 记住 记下 记住了 恭喜 祝贺 今天 好梦 梦 很高兴 高兴 乐意 为您服务 为你服务 服务 帮助 帮忙 帮到 能 可以 随时 有什么 什么 需要 请 告诉 问 吗 呗 哦哦
""".split()), key=len, reverse=True)
"""CJK filler morphemes, longest first for greedy segmentation."""

NEGATIONS = frozenset({"no", "not", "never", "nope", "nah", "nothing", "none", "nobody", "neither", "nor"})
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]+")
_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)*")
_LAUGHTER = re.compile(r"^(?:(?:ha|he|hi|ah|ja|ka)+h?|a?ha+|h{3,}|(?:lo)+l+|lmf?a+o+|ro+fl+|x+d+|w+)$")
_NUMBER_SLANG = re.compile(r"[\W_]*(?:2333*|666+|88+)[\W_]*")
"""Numbers that are laughter or praise in Chinese chat (233, 666) or a goodbye (88), when
they are the whole message ("I'm 88" is an age)."""
_CONTRACTIONS = {"n't": " not", "'re": "", "'m": "", "'s": "", "'ll": "", "'ve": "", "'d": ""}
_MAX_FILLER = max(len(f) for f in CJK_FILLERS)


def _normalise(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).lower().replace("\u2019", "'").replace("`", "'")
    for phrase in FILLER_PHRASES:
        text = re.sub(rf"(?<![^\W_]){re.escape(phrase)}(?![^\W_])", " ", text)
    for suffix, repl in _CONTRACTIONS.items():
        text = text.replace(suffix, repl)
    # keep letters, digits and apostrophes; punctuation, emoji and symbols become spaces
    return "".join(c if unicodedata.category(c)[0] in "LN" or c == "'" else " " for c in text)


def _latin_content(word: str) -> bool:
    word = word.strip("'")
    if not word:
        return False
    if any(c.isdigit() for c in word) or word in NEGATIONS:
        return True
    squeezed = re.sub(r"(.)\1{2,}", r"\1", word)  # "sooo" -> "so", "thanksss" -> "thanks"
    doubled = re.sub(r"(.)\1{2,}", r"\1\1", word)  # "okkk" -> "okk"
    plain = word[:-1] if len(word) > 3 and word.endswith("s") else word  # "helps", "chats"
    for form in (word, squeezed, doubled, re.sub(r"(.)\1+", r"\1", word), plain):
        if form in FILLER_WORDS or _LAUGHTER.match(form):
            return False
    return True


def _cjk_content(run: str) -> list[str]:
    """Characters of a CJK run that no filler morpheme covers (greedy, longest match first)."""
    left: list[str] = []
    i = 0
    while i < len(run):
        for size in range(min(_MAX_FILLER, len(run) - i), 0, -1):
            if run[i:i + size] in CJK_FILLERS:
                i += size
                break
        else:
            left.append(run[i])
            i += 1
    return left


def content_tokens(text: str) -> list[str]:
    """The tokens of ``text`` that carry information (empty for pure small talk)."""
    cleaned = _normalise(text)
    found: list[str] = []
    for run in _CJK.findall(cleaned):
        found.extend(_cjk_content(run))
    for word in _WORD.findall(_CJK.sub(" ", cleaned)):
        if _latin_content(word):
            found.append(word)
    return found


def carries_information(text: str) -> bool:
    """True when the message says something beyond greeting, thanking, laughing or acknowledging."""
    if PERSONA.match(unicodedata.normalize("NFKC", text)):
        return False
    if _NUMBER_SLANG.fullmatch(text):
        return False
    return bool(content_tokens(text))
