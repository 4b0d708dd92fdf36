"""Offline rule-based candidate finding (Chinese and English): regexes and small lexicons.

``RuleCandidateFinder().find(messages)`` returns the ``CandidateSet`` the consolidation
step turns into memory decisions; ``find_dates`` / ``rewrite_dates`` resolve relative
dates against a message's chat_time.
"""

from extraction.rules.dates import DateMention, Period, find_dates, resolve, rewrite_dates
from extraction.rules.finder import RuleCandidateFinder

__all__ = ["RuleCandidateFinder", "DateMention", "Period", "find_dates", "rewrite_dates", "resolve"]
