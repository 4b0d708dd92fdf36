"""Offline rule-based candidate finding (Chinese and English): regexes and small lexicons.

``RuleCandidateFinder().find(messages)`` returns the ``CandidateSet`` the consolidation
step turns into memory decisions; ``find_dates`` / ``rewrite_dates`` resolve relative
dates against a message's chat_time.
"""

import re

# The rules build about 1,000 distinct patterns per message, more than the 512 that
# ``re`` caches, so with the default every call recompiled them (61% of the Fine
# stage's CPU; 5.2 -> 0.9 ms per envelope measured by bench/bench_broker what-ifs).
re._MAXCACHE = max(getattr(re, "_MAXCACHE", 512), 8192)  # type: ignore[attr-defined]

from extraction.rules.dates import DateMention  # noqa: E402 (after the cache size), Period, find_dates, resolve, rewrite_dates
from extraction.rules.finder import RuleCandidateFinder  # noqa: E402

__all__ = ["RuleCandidateFinder", "DateMention", "Period", "find_dates", "rewrite_dates", "resolve"]
