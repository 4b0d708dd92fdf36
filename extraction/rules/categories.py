"""Object categories by embedding: which kind of thing a statement is about.

Why: a change often shares no word with what it replaces. "these days I'm mostly into trail
running" replaces "I go bouldering", 改弹尤克里里 replaces 自学吉他, "Got the iPhone 15" replaces
"my phone's a Pixel 6". What they share is the *kind* of object: a sport, an instrument, a
phone. A word list of every sport, instrument and phone model would never be complete; the
embedding model already knows that a ukulele is an instrument. So each object phrase of a
statement is compared with a few typical members of each category (``MEMBERS``) and takes the
category it is clearly nearest to; generic words ("lunch", "weekend", "dog") fall to the
``OTHER`` anchors and name no category.

Consolidation uses the answer (``domain.consolidation.Categories``): a statement with a change
marker revises a memory of the same category, and in a category that holds one value at a
time (``SINGLE_VALUED``) a different object revises it without a marker.
"""

from __future__ import annotations

import re
from typing import Callable, Sequence

import numpy as np

from extraction.rules.topics import _STOP_EN

MEMBERS: dict[str, tuple[str, ...]] = {
    "phone": ("phone", "mobile phone", "smartphone", "iPhone", "Android phone", "手机"),
    "car": ("car", "汽车", "轿车"),
    "computer": ("laptop", "computer", "笔记本电脑", "电脑"),
    "instrument": ("musical instrument", "乐器", "piano", "guitar", "钢琴", "吉他"),
    "sport": ("sport", "exercise", "运动", "健身", "running", "跑步"),
    "art": ("painting", "drawing", "handicraft", "画画", "手工"),
    "game": ("video game", "电子游戏", "游戏"),
    "language": ("foreign language", "外语", "语言"),
}
"""Typical members of each category, in both languages: the anchors a phrase is compared with."""
OTHER = ("thing", "东西", "time", "时间", "work", "工作", "food", "食物", "city", "城市", "person", "人",
         "friend", "朋友", "family", "家人", "animal", "动物", "body", "身体", "place", "地方")
"""Anchors of no category: a phrase nearest to one of these is not an object of a category."""
SINGLE_VALUED = frozenset({"phone", "car", "computer"})
"""Categories a person usually has one of at a time: a different one replaces it."""
MIN_SCORE = 0.40
MIN_MARGIN = 0.08
"""A phrase takes a category when its best anchor cosine is at least MIN_SCORE and beats the
best anchor of every other category (``OTHER`` included) by MIN_MARGIN. Measured on single
words: members such as cello, 二胡, 卡罗拉, MacBook, watercolour clear it; finger, wall, commute,
lunch do not."""
MEMO = 50_000

_EN_PHRASE = re.compile(r"[A-Za-z][A-Za-z0-9'-]+(?:\s+\d+[A-Za-z]*)?")
_ZH_SPLIT = re.compile("|".join(sorted(map(re.escape, (
    "用户", "我们", "我", "自己", "他们", "他", "她", "现在", "最近", "已经", "开始", "以前", "每天", "平时", "一直",
    "喜欢", "打算", "准备", "觉得", "还是", "就是", "的", "了", "是", "在", "也", "都", "还", "又", "很", "就", "不",
    "没", "有", "把", "被", "让", "给", "这", "那", "吧", "呢", "啊", "吗", "嘛", "哦", "着", "过", "和", "跟", "去",
    "要", "会", "想", "学", "练", "弹", "打", "玩", "开", "买", "换", "改", "卖", "用", "一", "两", "个", "台", "辆",
    "部", "只", "款", "次", "每周", "周末")), key=len, reverse=True)))
"""Where a Chinese run breaks into object phrases: pronouns, particles, measure words and the
verbs that take a hobby's or a possession's object (弹, 打, 开, 买, 换 …), so that 改弹尤克里里
gives 尤克里里 and 换了台比亚迪汉 gives 比亚迪汉."""
_CATEGORY_WORDS = {m: c for c, members in MEMBERS.items() for m in members}

Embed = Callable[[Sequence[str]], "np.ndarray"]


def _member_of(phrase: str) -> str | None:
    """The category a phrase names by its own word ("phone", "my phone's", 手机): no object."""
    lowered = phrase.lower()
    if lowered in _CATEGORY_WORDS:
        return _CATEGORY_WORDS[lowered]
    return next((_CATEGORY_WORDS[t] for t in (w.removesuffix("'s") for w in lowered.split())
                 if t in _CATEGORY_WORDS), None)


def object_phrases(text: str) -> list[str]:
    """The phrases of ``text`` that may name an object: English content words (with a model
    number: "iPhone 15") and pairs of adjacent ones ("trail running"); Chinese runs between
    stop words, two to six characters long ("尤克里里", "比亚迪汉")."""
    out: list[str] = []
    words = _EN_PHRASE.findall(text)
    kept = [w if w.lower().removesuffix("'s") not in _STOP_EN and len(w) >= 3 else None for w in words]
    for i, w in enumerate(kept):
        if w is None:
            continue
        out.append(w.removesuffix("'s"))
        if i + 1 < len(kept) and kept[i + 1] is not None:
            out.append(f"{w} {kept[i + 1]}")
    for run in re.findall(r"[\u4e00-\u9fff][\u4e00-\u9fffA-Za-z0-9 ]*", text):
        for part in _ZH_SPLIT.split(run):
            part = part.strip()
            if 2 <= len(part) <= 6 and re.search(r"[\u4e00-\u9fff]", part):
                out.append(part)
    return list(dict.fromkeys(out))


class ObjectCategories:
    """text -> {category: the phrases of it that name that category}; see the module docstring.

    Phrases are embedded once each (in one batch per call) and kept, so a user's memories are
    categorised once however often they are compared."""

    def __init__(self, embed: Embed) -> None:
        self._embed = embed
        self._anchors: np.ndarray | None = None
        self._labels: list[str] = []
        self._memo: dict[str, str | None] = {}

    def _anchor_matrix(self) -> np.ndarray:
        if self._anchors is None:
            texts = [m for members in MEMBERS.values() for m in members] + list(OTHER)
            self._labels = [c for c, members in MEMBERS.items() for _ in members] + [""] * len(OTHER)
            self._anchors = np.asarray(self._embed(texts), dtype=np.float32)
        return self._anchors

    def _classify(self, phrases: list[str]) -> None:
        new = [p for p in phrases if p not in self._memo]
        if not new:
            return
        if len(self._memo) + len(new) > MEMO:
            self._memo.clear()
        anchors = self._anchor_matrix()
        scores = np.asarray(self._embed(new), dtype=np.float32) @ anchors.T
        labels = self._labels
        for phrase, row in zip(new, scores):
            best: dict[str, float] = {}
            for label, score in zip(labels, row):
                if score > best.get(label, -1.0):
                    best[label] = float(score)
            ranked = sorted(best.items(), key=lambda kv: -kv[1])
            (top, score), second = ranked[0], ranked[1][1]
            self._memo[phrase] = top if top and score >= MIN_SCORE and score - second >= MIN_MARGIN else None

    def __call__(self, text: str) -> dict[str, frozenset[str]]:
        """The categories ``text`` names, each with the objects of it the text names (lower
        case; a category named only by its own word, "my phone", 手机, has none)."""
        phrases = object_phrases(text)
        members = {p: _member_of(p) for p in phrases}
        self._classify([p for p in phrases if not members[p]])
        out: dict[str, set[str]] = {}
        for p in phrases:
            member = members[p]
            category = member or self._memo.get(p)
            if category:
                objects = out.setdefault(category, set())
                if not member:
                    objects.add(p.lower())
        return {c: frozenset(ps) for c, ps in out.items()}

    def prefetch(self, texts: list[str]) -> None:
        """Classify the phrases of many texts in one model batch (consolidation's pool)."""
        phrases = [p for t in dict.fromkeys(texts) for p in object_phrases(t)]
        self._classify([p for p in dict.fromkeys(phrases) if not _member_of(p)])

    def forget_all(self) -> None:
        """Drop the kept phrases (after a forget, no forgotten text lives on in memory)."""
        self._memo.clear()
