"""Capitals for text typed in lower case: "i moved to rotterdam" reads "I moved to Rotterdam".

Why: many chat users never press shift. The English rules find names by their capitals (a
place, an employer, a person), so a lower-case message gave nothing, or a memory that kept the
old city beside the new one ("my new place in denver" did not revise "I rent in Baltimore").
Here the pronoun I and the world's larger cities and countries
(``extraction/rules/data/world_places.txt``, from GeoNames) get their capitals back before the
rules read the message. The change keeps every character where it was, so the rules' spans
still index the message."""

from __future__ import annotations

import functools
from pathlib import Path

from extraction.rules import pattern_cache as re

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


def truecase(text: str) -> str:
    """``text`` with "i" capitalised and lower-cased known places spelt as names (same length)."""
    if not text or not re.search(r"[a-z]", text):
        return text
    out = list(_PRONOUN.sub("I", text))
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
