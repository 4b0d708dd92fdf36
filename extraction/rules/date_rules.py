"""A small registry of date patterns, one per language module (dates_en, dates_zh)."""

from __future__ import annotations

from extraction.rules import pattern_cache as re  # re, with a cache that holds all rule patterns
from datetime import date
from typing import Any, Callable, Iterator

Handler = Callable[[re.Match, date], Any]


class DateRules:
    """``@rules.rule(pattern)`` registers a handler; ``scan`` yields (start, end, period)."""

    def __init__(self, flags: int = 0) -> None:
        self.flags = flags
        self._rules: list[tuple[re.Pattern, Handler]] = []

    def rule(self, pattern: str) -> Callable[[Handler], Handler]:
        def deco(fn: Handler) -> Handler:
            self._rules.append((re.compile(pattern, self.flags), fn))
            return fn
        return deco

    def scan(self, text: str, today: date) -> Iterator[tuple[int, int, Any]]:
        for pattern, handler in self._rules:
            for m in pattern.finditer(text):
                try:
                    period = handler(m, today)
                except (ValueError, KeyError):
                    period = None
                if period is not None:
                    yield m.start(), m.end(), period
