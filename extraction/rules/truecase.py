"""Capitals for text typed in lower case: "i moved to rotterdam" reads "I moved to Rotterdam".

Why: many chat users never press shift. The English rules find names by their capitals (a
place, an employer, a person), so a lower-case message gave nothing, or a memory that kept the
old city beside the new one ("my new place in denver" did not revise "I rent in Baltimore").
Here the pronoun I, the world's larger cities and countries
(``extraction/rules/data/world_places.txt``, from GeoNames) and the name given right after a
relative or a pet get their capitals back before the rules read the message. The change keeps
every character where it was, so the rules' spans still index the message."""

from __future__ import annotations

import functools
from pathlib import Path

from extraction.rules import pattern_cache as re
from extraction.rules.fallback import RELATIONS_EN
from extraction.rules.lexicon import ANIMALS
from extraction.rules.topics import _STOP_EN

ORDINARY = frozenset({"turkey", "china", "chad", "derby", "mesa", "jersey"})
"""Place names that are ordinary words too often to be read as places in lower case ("we had
turkey", "fine china"); the list generator (``tools/make_world_places``) leaves them out too."""
PLACES_FILE = Path(__file__).resolve().parent / "data" / "world_places.txt"
_WORD = re.compile(r"[A-Za-z][A-Za-z'-]*")
_PRONOUN = re.compile(r"(?<![\w'-])i(?=(?:'m|'ve|'ll|'d)?(?![\w'-]))")


@functools.cache
def world_places() -> dict[str, str]:
    """Lower-cased name -> its spelling, for every name of ``PLACES_FILE`` and of the rules' own
    gazetteer (``places.EN_PLACES``: New York before York)."""
    from extraction.rules.places import EN_PLACES

    names = (line.strip() for line in PLACES_FILE.read_text(encoding="utf-8").splitlines())
    found = {n.lower(): n for n in names if n and not n.startswith("#")}
    found.update({k: v for k, v in EN_PLACES.items() if k[:1].isalpha() and v[:1].isupper()})
    return {k: v for k, v in found.items() if k not in ORDINARY}


_KIN = "|".join(sorted({*RELATIONS_EN, "mum", *(a for al in ANIMALS.values() for a in al if a.isascii())},
                       key=len, reverse=True))
"""The relatives (``fallback.RELATIONS_EN``) and animals (``lexicon.ANIMALS``) a name may follow."""
_NAMED = re.compile(r"\b(?:(?:my|our)\s+(?:(?:little|big|older|younger|baby|best|new|old)\s+)?(?:" + _KIN + r")\s+"
                    r"([a-z]{3,15})(?=(?:'s)?\b(?:\s+(?:is|was|has|had|just|and|passed|died|turned|got|started|"
                    r"moved|said|went|who|ran|[a-z]+s)\b|\s*[,.!;]|\s*$|'s))|\b(?:named|called)\s+([a-z]{3,15})\b)")
"""A name typed in lower case right after the relative or pet it names ("my sister maya is a nurse",
"a kitten named pickle"), followed by what a name is followed by (a verb, a comma, 's)."""


def _names(text: str, out: list[str]) -> None:
    for m in _NAMED.finditer(text):
        group = 1 if m.group(1) else 2
        name = m.group(group)
        if name not in _STOP_EN and name not in world_places():
            out[m.start(group)] = name[0].upper()


def truecase(text: str) -> str:
    """``text`` with "i" capitalised, lower-cased known places spelt as names, and a lower-cased
    name after the relative or pet it names capitalised (same length)."""
    if not text or not re.search(r"[a-z]", text):
        return text
    out = list(_PRONOUN.sub("I", text))
    _names(text, out)
    places = world_places()
    words = list(_WORD.finditer(text))
    i = 0
    while i < len(words):
        for n in (3, 2, 1):
            group = words[i:i + n]
            if len(group) < n:
                continue
            start, end = group[0].start(), group[-1].end()
            span = text[start:end]
            if not span.islower() or "  " in span:
                continue
            proper = places.get(span)
            if proper is not None and len(proper) == len(span):
                out[start:end] = proper
                i += n
                break
        else:
            i += 1
    return "".join(out)
