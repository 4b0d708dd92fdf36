"""A user's memories as of a moment, for the user page's time control.

Two clocks:

- ``said`` — when the statements were made: a version counts from the latest ``chat_time``
  of its sources (its recorded time when no source has one). "As of 2026-01-01" then shows
  what the user had told the assistant by that day, whenever it was ingested.
- ``recorded`` — when memstream recorded the version (``updated_at``).

When ``Memstream.memories`` takes ``valid_at=`` (said) or ``as_of=`` (recorded), the web view
asks it; until then it computes the answer here from each memory's version history: the
latest version, in version order, whose time is not after the moment (versions after one
that lies in the future are not reached either). This fallback lives in webui/ only.
"""

from __future__ import annotations

import inspect
from datetime import datetime, time, timezone
from typing import Any, Callable

CLOCKS = {"said": "valid_at", "recorded": "as_of"}


def parse_moment(text: str) -> datetime:
    """``YYYY-MM-DD`` means the end of that day (UTC); a full ISO 8601 time is taken as is
    (naive means UTC). ValueError for anything else."""
    text = text.strip()
    if len(text) == 10:
        day = datetime.strptime(text, "%Y-%m-%d").date()
        return datetime.combine(day, time(23, 59, 59, 999999), tzinfo=timezone.utc)
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _instant(stamp: Any) -> datetime | None:
    if not stamp:
        return None
    try:
        moment = datetime.fromisoformat(str(stamp).replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def said_at(version: dict[str, Any]) -> datetime | None:
    times = [t for t in (_instant(s.get("chat_time")) for s in version.get("sources") or []) if t]
    return max(times) if times else _instant(version.get("updated_at"))


def recorded_at(version: dict[str, Any]) -> datetime | None:
    return _instant(version.get("updated_at"))


def native_keyword(ms: Any, clock: str) -> str | None:
    """The keyword of ``ms.memories`` for this clock when its signature names it, ``"?"``
    when it takes ``**kwargs`` (a proxy: try it), None when it cannot take it."""
    keyword = CLOCKS[clock]
    try:
        parameters = inspect.signature(ms.memories).parameters
    except (TypeError, ValueError):
        return "?"
    if keyword in parameters:
        return keyword
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()):
        return "?"
    return None


def version_at(versions: list[dict[str, Any]], moment: datetime,
               clock: Callable[[dict[str, Any]], datetime | None]) -> dict[str, Any] | None:
    chosen = None
    for version in versions:
        at = clock(version)
        if at is None or at > moment:
            break
        chosen = version
    return chosen


def memories_as_of(ms: Any, user_id: str, moment: datetime, clock: str = "said", *,
                   include_archived: bool = False) -> tuple[list[dict[str, Any]], bool]:
    """The user's memories as they stood at ``moment`` on ``clock`` (``said``|``recorded``),
    and whether ``Memstream.memories`` answered (False: computed here from the histories)."""
    keyword = CLOCKS[clock]
    if native_keyword(ms, clock) is not None:
        try:
            return ms.memories(user_id=user_id, include_archived=include_archived, **{keyword: moment}), True
        except TypeError as exc:
            if keyword not in str(exc):
                raise
    pick = said_at if clock == "said" else recorded_at
    out = []
    for memory in ms.memories(user_id=user_id, include_archived=True):
        version = version_at(ms.history(memory["memory_id"]), moment, pick)
        if version is not None and (include_archived or version.get("status") == "active"):
            out.append(version)
    return out, False


def search_as_of(ms: Any, query: str, user_id: str, moment: datetime, clock: str) -> list[dict[str, Any]] | None:
    """``ms.search`` over the memories as of ``moment`` when it takes the clock's keyword;
    None when it does not (the page then searches the current memories and says so)."""
    keyword = CLOCKS[clock]
    try:
        parameters = inspect.signature(ms.search).parameters
    except (TypeError, ValueError):
        parameters = {}
    if parameters and keyword not in parameters and not any(
            p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()):
        return None
    try:
        return ms.search(query, user_id=user_id, top_k=20, **{keyword: moment})
    except TypeError as exc:
        if keyword not in str(exc):
            raise
        return None
