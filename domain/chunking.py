"""Sentence-aware chunking of knowledge documents (zh and en), and matching a new chunking
against the chunks a document already has.

Why sentence-aware: a chunk that ends mid-sentence embeds and reads badly, and a search hit
should be quotable. Why paragraph-local: when one paragraph of a long document is edited,
only the chunks around it should change. A chunk therefore never starts or ends inside a
sentence, a heading always starts a chunk, and short paragraphs are packed together, but a
paragraph joins a chunk only when it fits whole (a long one is never split because of what
came before it), and an *anchor* paragraph (one in three, chosen by a hash of its first sentence)
starts a new chunk once the current one holds a quarter of the size. Boundaries therefore
depend on the text around them, not on everything before: after an edit, insertion or
removal, the chunking is back in step at the next anchor and the rest of the document's
chunks stay untouched.

Units are sentences: a Chinese sentence ends at 。！？；… (and any closing quote), an English
one at . ! ? followed by white space; a line break always ends a unit. A unit longer than the
chunk size is cut at a comma (，、,：:), then at white space, then hard. Overlap repeats the
last whole sentences (at most ``overlap`` characters) of a chunk at the start of the next one,
only inside a paragraph that had to be split: across a paragraph break there is nothing to
continue.

``align`` pairs old and new chunk texts: a new chunk whose text an old chunk has is unchanged,
wherever either sits (a paragraph moved or text inserted before it changes nothing about it);
the others are paired most similar first (a revision of that old chunk's Memory ID); new
chunks without a partner are created, old ones without a partner archived. Pure functions,
no I/O.
"""

from __future__ import annotations

import difflib
import hashlib
import re
from dataclasses import dataclass, field

_PARAGRAPH = re.compile(r"\n[ \t]*\n")
_HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.+?)\s*#*\s*$")
_SENTENCE_END = re.compile(r"[。！？；…]+[”’」』）)\"']*|[.!?]+[”’)\"']*(?=\s)|[!?！？]+")
_SOFT_BREAK = re.compile(r"[，、,：:；;]\s*")
_SPACE = re.compile(r"\s+")
PAIR_SIMILARITY = 0.3
"""An old chunk at least this similar (difflib ratio) to a new one is revised into it; a less
similar one is archived and the new chunk created."""
ANCHOR_EVERY = 3
"""One paragraph in this many (by a hash of its text) is an anchor; see ``_is_anchor``."""
MAX_COMPARISONS = 20_000
"""Above this many (old, new) pairs left to compare, the leftovers are paired in order."""


@dataclass(frozen=True)
class Chunk:
    """One chunk: its text (a slice of the document), and the heading it sits under."""

    text: str
    section: str = ""
    start: int = 0
    end: int = 0


@dataclass(frozen=True)
class _Unit:
    start: int
    end: int
    paragraph: int
    heading: str | None = None
    """The heading's text when the unit is a markdown heading line."""


def _split_long(text: str, start: int, end: int, size: int) -> list[tuple[int, int]]:
    """A unit longer than ``size``: cut at commas, then white space, then every ``size`` characters."""
    pieces: list[tuple[int, int]] = []
    cursor = start
    while end - cursor > size:
        window = text[cursor:cursor + size]
        cut = -1
        for pattern in (_SOFT_BREAK, _SPACE):
            found = [m.end() for m in pattern.finditer(window) if m.end() > size // 3]
            if found:
                cut = found[-1]
                break
        cut = cut if cut > 0 else size
        pieces.append((cursor, cursor + cut))
        cursor += cut
    if cursor < end:
        pieces.append((cursor, end))
    return pieces


def _units(text: str, size: int) -> list[_Unit]:
    units: list[_Unit] = []
    paragraph_starts = [0] + [m.end() for m in _PARAGRAPH.finditer(text)]
    paragraph_ends = [m.start() for m in _PARAGRAPH.finditer(text)] + [len(text)]
    for number, (p_start, p_end) in enumerate(zip(paragraph_starts, paragraph_ends)):
        line_start = p_start
        for line in text[p_start:p_end].split("\n"):
            line_end = line_start + len(line)
            stripped = line.strip()
            if stripped:
                heading = _HEADING.match(line)
                if heading:
                    units.append(_Unit(line_start, line_end, number, heading.group(2)))
                else:
                    cursor = line_start
                    bounds = [m.end() for m in _SENTENCE_END.finditer(line)] + [len(line)]
                    for bound in bounds:
                        s_end = line_start + bound
                        if text[cursor:s_end].strip():
                            for a, b in _split_long(text, cursor, s_end, size):
                                if text[a:b].strip():
                                    units.append(_Unit(a, b, number))
                        cursor = max(cursor, s_end)
            line_start = line_end + 1
    return units


def _is_anchor(first_sentence: str) -> bool:
    """About one paragraph in ``ANCHOR_EVERY`` starts a chunk by its content alone (once the chunk
    before it holds a quarter of the size): content-defined boundaries, so after an edit the
    chunking falls back into step at the next anchor instead of shifting to the end. Decided by
    the paragraph's first sentence, so editing the rest of a paragraph keeps its role."""
    digest = hashlib.blake2b(first_sentence.strip().encode("utf-8"), digest_size=2).digest()
    return int.from_bytes(digest, "big") % ANCHOR_EVERY == 0


def chunk_document(text: str, size: int = 800, overlap: int = 100) -> list[Chunk]:
    """``text`` in chunks of at most ``size`` characters (a chunk's overlap included), each
    made of whole sentences; see the module docstring for where chunks break."""
    if size < 1:
        raise ValueError("chunk size must be positive")
    overlap = max(0, min(overlap, size // 2))
    units = _units(text, size)
    chunks: list[Chunk] = []
    current: list[_Unit] = []
    section = ""
    chunk_section = ""

    def length(items: list[_Unit]) -> int:
        return items[-1].end - items[0].start if items else 0

    def flush(carry: bool) -> list[_Unit]:
        if not current:
            return []
        body = text[current[0].start:current[-1].end].strip()
        if body:
            chunks.append(Chunk(body, chunk_section, current[0].start, current[-1].end))
        if not carry or overlap == 0:
            return []
        tail: list[_Unit] = []
        for unit in reversed(current[1:]):  # never the whole chunk again
            if unit.heading is not None or length([unit, *tail]) > overlap:
                break
            tail.insert(0, unit)
        return tail

    paragraph_end: dict[int, int] = {}
    paragraph_start: dict[int, int] = {}
    first_sentence: dict[int, str] = {}
    for unit in units:
        paragraph_end[unit.paragraph] = unit.end
        paragraph_start.setdefault(unit.paragraph, unit.start)
        first_sentence.setdefault(unit.paragraph, text[unit.start:unit.end])
    anchors = {n for n, sentence in first_sentence.items() if _is_anchor(sentence)}
    for unit in units:
        new_paragraph = bool(current) and unit.paragraph != current[-1].paragraph
        only_headings = all(u.heading is not None for u in current)
        if current and unit.heading is not None and not only_headings:
            current = flush(carry=False)
        elif current and new_paragraph and (length(current) >= size // 4 and unit.paragraph in anchors
                                            or paragraph_end[unit.paragraph] - current[0].start > size):
            current = flush(carry=False)  # a paragraph joins a chunk only when it fits whole
        elif current and unit.end - current[0].start > size:
            carried = flush(carry=not new_paragraph)
            current = carried if carried and unit.end - carried[0].start <= size else []
        if unit.heading is not None:
            section = unit.heading
        if not current:
            chunk_section = section
        current.append(unit)
    flush(carry=False)
    return chunks


@dataclass(frozen=True)
class Alignment:
    """How a document's new chunks map onto its old ones (indexes into the two lists)."""

    unchanged: list[tuple[int, int]] = field(default_factory=list)
    """(old, new) pairs with equal text."""
    revised: list[tuple[int, int]] = field(default_factory=list)
    """(old, new) pairs: the old chunk's memory takes the new text."""
    created: list[int] = field(default_factory=list)
    """New chunks with no old partner."""
    archived: list[int] = field(default_factory=list)
    """Old chunks with no new partner."""


def align(old: list[str], new: list[str]) -> Alignment:
    """Pair ``new`` chunk texts with ``old`` ones (see the module docstring)."""
    result = Alignment()
    waiting: dict[str, list[int]] = {}
    for i, text in enumerate(old):
        waiting.setdefault(text, []).append(i)
    fresh: list[int] = []
    for j, text in enumerate(new):
        if waiting.get(text):
            result.unchanged.append((waiting[text].pop(0), j))
        else:
            fresh.append(j)
    paired = {i for i, _ in result.unchanged}
    gone = [i for i in range(len(old)) if i not in paired]
    if len(gone) * len(fresh) <= MAX_COMPARISONS:
        scored = sorted(((difflib.SequenceMatcher(a=old[i], b=new[j], autojunk=False).ratio(), -j, -i)
                         for i in gone for j in fresh), reverse=True)
        taken_old: set[int] = set()
        taken_new: set[int] = set()
        for ratio, neg_j, neg_i in scored:
            if ratio < PAIR_SIMILARITY:
                break
            if -neg_i in taken_old or -neg_j in taken_new:
                continue
            taken_old.add(-neg_i)
            taken_new.add(-neg_j)
            result.revised.append((-neg_i, -neg_j))
    else:  # too many to compare: pair in order
        result.revised.extend(zip(gone, fresh))
    result.revised.sort(key=lambda pair: pair[1])
    revised_old = {i for i, _ in result.revised}
    revised_new = {j for _, j in result.revised}
    result.created.extend(j for j in fresh if j not in revised_new)
    result.archived.extend(i for i in gone if i not in revised_old)
    return result
