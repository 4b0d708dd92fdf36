"""The ``re`` module's API with a large least-recently-used cache of compiled patterns.

Why: the rule finder builds about a thousand distinct patterns (f-strings over its
lexicons) and passes them to ``re.search``/``re.finditer``/... as strings. ``re``
keeps only 512 compiled patterns and evicts the oldest first, so every message
recompiled most of them: the extractor spent 6.0 ms per envelope on the broker
benchmark's messages, 0.8 ms once all patterns stayed compiled
(``python -m bench.bench_extractor``). Rule modules import this as ``re``; the
bound keeps a pattern built from message text (none today) from growing the
cache without limit.
"""

from __future__ import annotations

import re as _re
from functools import lru_cache
from re import IGNORECASE, MULTILINE, Match, Pattern, error, escape  # noqa: F401 - re-exported

I = IGNORECASE  # noqa: E741 - the name re uses

CACHE_SIZE = 8192


@lru_cache(maxsize=CACHE_SIZE)
def compile(pattern: str | Pattern[str], flags: int = 0) -> Pattern[str]:  # noqa: A001 - re's name
    return _re.compile(pattern, flags)


def search(pattern: str | Pattern[str], string: str, flags: int = 0) -> Match[str] | None:
    return compile(pattern, flags).search(string)


def match(pattern: str | Pattern[str], string: str, flags: int = 0) -> Match[str] | None:
    return compile(pattern, flags).match(string)


def fullmatch(pattern: str | Pattern[str], string: str, flags: int = 0) -> Match[str] | None:
    return compile(pattern, flags).fullmatch(string)


def finditer(pattern: str | Pattern[str], string: str, flags: int = 0):
    return compile(pattern, flags).finditer(string)


def findall(pattern: str | Pattern[str], string: str, flags: int = 0) -> list:
    return compile(pattern, flags).findall(string)


def sub(pattern: str | Pattern[str], repl, string: str, count: int = 0, flags: int = 0) -> str:
    return compile(pattern, flags).sub(repl, string, count)


def split(pattern: str | Pattern[str], string: str, maxsplit: int = 0, flags: int = 0) -> list:
    return compile(pattern, flags).split(string, maxsplit)
