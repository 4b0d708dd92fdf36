"""Time travel over the event log: what the assistant held at record time T, and what
was true at statement time T by the user's own account.

Two clocks, both from the log itself:
- **recorded time** is the event's own timestamp: version n of a memory exists from
  the moment its event was stored. ``as_of`` folds each memory's events recorded at or
  before T (``fold`` is the timeline's own fold, so a past view has exactly the shape
  of a live one).
- **stated time** is when the user said it: the latest ``chat_time`` among the
  version's sources (a version accumulates the sources of the versions before it, so
  its stated time is when the last thing it says was said; a memory with no chat_time
  at all, a knowledge chunk, is stated when it was recorded). ``valid_at`` takes, for
  each memory, its latest version stated at or before T; a memory first stated after
  T is left out.

Why over all sources: a version's text is built from all of them (a profile memory
reads "lives in Berlin and has a dog" once both were said), so a version stated at T
says nothing the user had not said by T. Statements can arrive out of order: a user
who tells in 2026 about 2022 adds a memory stated in 2022, recorded after memories
stated in 2024; ``as_of`` and ``valid_at`` then disagree, and each answers its own
question. Both options combine (bitemporal): ``valid_at`` over the versions recorded
by ``as_of``.

The memories a user ever had are listed by the timeline (every Memory ID with its
owner, archived ones included); their versions are read from the event store, never
from the timeline's rows, so time travel works on a timeline being rebuilt too.

A past-state search ranks the past views in memory with the same embedder and the
same dense + BM25 fusion as the live search; the live index only holds current
versions. It costs one embedding (cache lookup) per past memory, so it is slower.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timezone
from typing import Any, Iterable, Sequence
from uuid import UUID

import numpy as np

from application.memory_app import MemoryApplication
from domain.values import instant, latest
from domain.views import fold

RECORDED_AT = "recorded_at"
STATED_AT = "stated_at"


def parse_moment(value: datetime | str, *, end_of_day: bool = True) -> datetime:
    """An aware datetime (naive means UTC). A bare date ("2025-12-31") means the end of
    that day, so ``--valid-at 2025-12-31`` includes what was said on the 31st."""
    if isinstance(value, datetime):
        moment = value
    else:
        text = value.strip()
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        if end_of_day and len(text) == 10:  # YYYY-MM-DD
            moment = datetime.combine(moment.date(), time.max)
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def annotate(versions: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each version view (oldest first) with ``recorded_at`` and ``stated_at``."""
    out: list[dict[str, Any]] = []
    for view in versions:
        said = latest([s.get("chat_time") for s in view.get("sources") or [] if isinstance(s, dict)])
        out.append({**view, RECORDED_AT: view["updated_at"], STATED_AT: said or view["updated_at"]})
    return out


def version_views(store: MemoryApplication, memory_id: str | UUID,
                  as_of: datetime | None = None) -> list[dict[str, Any]]:
    """Every version of one memory folded from its events (recorded at or before
    ``as_of`` when given), oldest first, annotated with both times."""
    uuid = memory_id if isinstance(memory_id, UUID) else UUID(str(memory_id))
    views: list[dict[str, Any]] = []
    view: dict[str, Any] | None = None
    for event in store.events.get(uuid):
        if as_of is not None and event.timestamp > as_of:
            break  # an aggregate's events are stored in time order
        view = fold(view, event)
        views.append(view)
    return annotate(views)


def pick(versions: Sequence[dict[str, Any]], valid_at: datetime | None) -> dict[str, Any] | None:
    """The version to show: the last one, or at statement time ``valid_at`` the last
    one stated at or before it (None when none was stated by then)."""
    if valid_at is None:
        return versions[-1] if versions else None
    stated = [v for v in versions if instant(v[STATED_AT]) <= valid_at]
    return stated[-1] if stated else None


@dataclass
class TimeTravel:
    """The use case: a user's memories, or a search, at a past record or statement time."""

    store: MemoryApplication
    timeline: Any  # TimelineView: lists a user's Memory IDs

    def memories(self, user_id: str, *, as_of: datetime | str | None = None,
                 valid_at: datetime | str | None = None, include_archived: bool = False,
                 kinds: Iterable[str] = ()) -> list[dict[str, Any]]:
        recorded = parse_moment(as_of) if as_of not in (None, "") else None
        stated = parse_moment(valid_at) if valid_at not in (None, "") else None
        wanted = set(kinds)
        found: list[dict[str, Any]] = []
        for memory_id in self.timeline.memory_ids(user_id):
            view = pick(version_views(self.store, memory_id, recorded), stated)
            if view is None or (wanted and view["kind"] not in wanted):
                continue
            if view["status"] != "active" and not include_archived:
                continue
            found.append(view)
        found.sort(key=lambda v: (v["updated_at"], v["memory_id"]))
        return found

    def search(self, query: str, user_id: str, embedder: Any, *, top_k: int = 10,
               as_of: datetime | str | None = None, valid_at: datetime | str | None = None,
               kinds: Iterable[str] = (), keys: Iterable[str] = (), tags: Iterable[str] = (),
               since: float | None = None, until: float | None = None) -> list[dict[str, Any]]:
        """Dense + BM25 over the user's memories at that time, ranked like a live search."""
        from domain.ports import ScoredPoint
        from projections.lexical_index import BM25, lexical_tokens, tokenize
        from projections.search import fuse
        from projections.vector_projection import embedding_text, memory_time

        if not query.strip():
            raise ValueError("query must not be empty")
        views = self.memories(user_id, as_of=as_of, valid_at=valid_at, kinds=kinds)
        keys, tags = set(keys), set(tags)
        views = [v for v in views if (not keys or v["key"] in keys)
                 and (not tags or tags & set(v.get("tags") or []))
                 and (since is None or memory_time(v) >= since) and (until is None or memory_time(v) <= until)]
        if not views or top_k <= 0:
            return []
        vectors = np.asarray(embedder.embed([embedding_text(v) for v in views]), dtype=np.float32)
        question = np.asarray(getattr(embedder, "inner", embedder).embed([query])[0], dtype=np.float32)
        norms = np.linalg.norm(vectors, axis=1) * (np.linalg.norm(question) or 1.0)
        cosine = vectors @ question / np.where(norms == 0, 1.0, norms)
        by_id = {v["memory_id"]: v for v in views}
        dense = sorted((ScoredPoint(v["memory_id"], float(s), v) for v, s in zip(views, cosine)),
                       key=lambda h: -h.score)
        bm25 = BM25()
        for v in views:
            bm25.add(v["memory_id"], lexical_tokens(v))
        lexical = sorted((ScoredPoint(mid, s, by_id[mid]) for mid, s in bm25.scores(tokenize(query)).items() if s > 0),
                         key=lambda h: -h.score)
        scored = fuse(dense, lexical, max(top_k, 50))
        ranked = sorted(scored.items(), key=lambda item: (-item[1][0], item[0]))[:top_k]
        return [{**by_id[mid], "score": round(max(score, 1e-6), 6)} for mid, (score, _) in ranked]
