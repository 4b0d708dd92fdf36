"""Sentence splitting that keeps abbreviations and decimals inside their sentence.

Why: a split after "St." or inside "3.5" cuts a fact in half ("The user works at St.").
A full stop ends a sentence only when it is not part of a known abbreviation (St., Dr.,
Mr., Inc., U.S., e.g., ...), an initialism (D.C.), or a number (3.5, 1.78米).
"""

from __future__ import annotations

from extraction.rules import pattern_cache as re

ABBREVIATIONS = frozenset(
    "st dr mr mrs ms prof inc corp ltd co jr sr mt ft vs etc e.g i.e approx dept univ ave blvd no "
    "jan feb mar apr jun jul aug sep sept oct nov dec".split())
NAME_ABBREVIATIONS = frozenset("st dr mr mrs ms prof mt ft jr sr inc corp ltd co univ dept ave blvd".split())
"""Abbreviations that occur inside proper names ("St. Mary's Hospital", "Acme Corp.")."""
NAME_TOKEN = (r"(?-i:(?:" + "|".join(sorted((a.capitalize() for a in NAME_ABBREVIATIONS), key=len, reverse=True))
              + r")\.|(?:[A-Z]\.){2,}|[A-Z][\w&'-]*)")
"""One capitalised word of a proper name, an abbreviation with its full stop, or an initialism (U.S.):
name patterns use it so they do not stop at the abbreviation the sentence splitter kept."""
_SUFFIXES = frozenset("inc corp ltd co etc jr sr".split())
_STARTER = re.compile(r"\s+(?:I|It|We|We're|I'm|The|She|He|They|My|Our|This|That|But|And|So)\b")
_TOKEN_BEFORE = re.compile(r"([A-Za-z][A-Za-z.]*)\.$")
_ZH_END = re.compile(r"[。！？!?；;\n]+|(?<![0-9A-Za-z])\.(?![0-9A-Za-z])|(?<=[\u4e00-\u9fff])\.(?=\s|$)")
_EN_END = re.compile(r"[.!?]+(?=\s|$)|[;\n]+")


def _abbreviation_ends(text: str, dot: int) -> bool:
    """True when the full stop at ``dot`` closes an abbreviation or initialism, not a sentence."""
    m = _TOKEN_BEFORE.search(text, 0, dot + 1)
    if m is None:
        return False
    word = m.group(1).lower().rstrip(".")
    if word in ABBREVIATIONS:
        # "Acme Corp. It pays well": a company suffix before a sentence starter still ends it
        return not (word in _SUFFIXES and _STARTER.match(text, dot + 1))
    if re.fullmatch(r"(?:[a-z]\.)+[a-z]", word):  # U.S, D.C, e.g
        return True
    return len(word) == 1 and word.isalpha() and m.group(1).isupper()  # an initial: "J. Smith"


def split_sentences(text: str, lang: str) -> list[tuple[int, int]]:
    """(start, end) spans of the sentences of ``text``; the end includes the punctuation."""
    spans, pos = [], 0
    pattern = _ZH_END if lang == "zh" else _EN_END
    for m in pattern.finditer(text):
        if m.group(0).startswith(".") and m.group(0) == "." and _abbreviation_ends(text, m.start()):
            continue
        end = m.end() if m.group(0).strip() and m.group(0)[0] not in ";\n" else m.start()
        if end > pos:
            spans.append((pos, end))
        pos = m.end()
    if pos < len(text):
        spans.append((pos, len(text)))
    out = []
    for a, b in spans:
        while a < b and text[a].isspace():
            a += 1
        if text[a:b].strip():
            out.append((a, b))
    return out


QUESTION_EN = re.compile(r"^\s*(?:what|what's|whats|hows|wheres|whos|whys|how|why|where|when|who|which|do|does|did|are|is|can|could|would|will|"
                         r"should|shall|may|have|has|am|any\s+(?:tips|ideas|recs?|recommendations|suggestions|advice|"
                         r"thoughts|good))\b", re.IGNORECASE)
QUESTION_ZH = re.compile(r"[吗呢么][～~]?$|什么|啥|怎么|哪里|哪儿|哪个|为什么|多少|几[点个岁天种]|是不是|有没有|好不好|行不行|"
                         r"要不要|能不能|可不可以")
"""A clause that asks: opening on a question word (en), or a question particle or word (zh)."""
_CLAUSE_BREAK = re.compile(r"[，,]\s*")


def asks(clause: str, lang: str) -> bool:
    """Whether ``clause`` is a question: its mark, or ``QUESTION_EN`` / ``QUESTION_ZH``."""
    clause = clause.strip()
    if clause.endswith(("?", "？")):
        return True
    if lang == "zh":
        return bool(QUESTION_ZH.search(clause.rstrip("。！!~～ ")))
    return bool(QUESTION_EN.match(clause))


def detach_questions(text: str, spans: list[tuple[int, int]], lang: str) -> list[tuple[int, int]]:
    """Split a statement from the question it runs into: "my pixel 7 battery barely makes it to
    lunch, worth replacing it?", 我现在住成都，胃有点扛不住了，有啥养胃的办法吗.

    Why: chat users state a fact and ask about it in one comma-joined sentence. Whole, the
    sentence is a question and every rule and the fallback skip it, so the fact is lost. The
    final clause, when it asks, becomes a sentence of its own; what comes before stays a
    statement (a hedge or a hypothetical in it is still caught by the rules)."""
    out: list[tuple[int, int]] = []
    for a, b in spans:
        sentence = text[a:b]
        breaks = list(_CLAUSE_BREAK.finditer(sentence))
        if breaks and asks(sentence[breaks[-1].end():], lang):
            last = breaks[-1]
            head = sentence[:last.start()].strip()
            if (len(head.split()) >= 3 or lang == "zh" and len(head) >= 4) and not asks(head, lang):
                out.extend([(a, a + last.start()), (a + last.end(), b)])
                continue
        out.append((a, b))
    return out
