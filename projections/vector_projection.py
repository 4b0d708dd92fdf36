"""The vector-index projection: one point per Memory ID holding its current version.

It follows the same notification log as the timeline and indexes each memory's
folded view: the views the timeline has just folded when both run in one pass
(``catch_up_together``), else read back from the timeline (so it must never run
ahead of it; ``Runtime.projectors`` orders them). The index write and the position
are not one transaction, so the index's version guard is what makes a re-applied
batch harmless.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Sequence

from domain.ports import Embedder, IndexPoint, VectorIndex
from projections.embedding import model_identity
from projections.timeline import Folded
from projections.timeline_view import TimelineView

TRACKING_NAME = "projection:vector"
MODEL_KEY = "projection:vector:model"
"""Timeline meta entry: which model made the index's vectors (``model_identity``)."""


def replaced_model(timeline: TimelineView, embedder: Embedder) -> str | None:
    """The model the vector index was built with when that is not ``embedder``'s, else None.

    Why: a query vector compared with vectors of another model (another model name,
    or other weights under the same name) ranks nonsense without any error, and a
    model of another dimension cannot even open the old index. Such an index is
    rebuilt from the event log. An index projected before the model was recorded
    counts as replaced ("unrecorded"): rebuilding it costs a cache lookup per memory
    when the model did not change.
    """
    made_by = timeline.meta(MODEL_KEY)
    if made_by == model_identity(embedder):
        return None
    if made_by is None and not timeline.max_tracking_id(TRACKING_NAME):
        return None  # nothing projected yet
    return made_by or "unrecorded"


class TimelineBehindError(RuntimeError):
    """The timeline has not yet folded an event this projection needs."""


def memory_time(view: dict[str, Any]) -> float:
    """When the memory is *about*: its latest source's chat_time, else when it was recorded."""
    times = [s.get("chat_time") for s in view.get("sources") or [] if s.get("chat_time")]
    stamp = max(times) if times else view["updated_at"]
    return datetime.fromisoformat(stamp).timestamp()


EMBED_CONTEXT_MESSAGES = 2
"""How many of an episode's context messages (``attributes["context"]``) are embedded."""


def embedding_text(view: dict[str, Any]) -> str:
    """Episodes keep who said it and the turns they answer; fine memories are already
    third-person statements.

    A Fast-stage episode carries the preceding messages of its envelope as context;
    embedding them with it lets a short reply ("Yes, last year!") match a question
    about what it replies to. Measured on LoCoMo: speaker names lift dense R@10 from
    ~20 to ~31, context from ~31 to ~47 (bench/results/REPORT.md).
    """
    if view["kind"] != "episode":
        return view["content"]
    attributes = view.get("attributes") or {}
    lines = [
        f"{c.get('speaker')}: {c.get('text')}" if c.get("speaker") else str(c.get("text"))
        for c in (attributes.get("context") or [])[-EMBED_CONTEXT_MESSAGES:] if EMBED_CONTEXT_MESSAGES
    ]
    speaker = attributes.get("speaker")
    own = f"{speaker}: {view['content']}" if speaker and speaker not in ("user", "assistant") else view["content"]
    return "\n".join([*lines, own])


class VectorProjector:
    name = "vector"

    def __init__(self, timeline: TimelineView, index: VectorIndex, embedder: Embedder) -> None:
        self.timeline = timeline
        self.index = index
        self.embedder = embedder

    def position(self) -> int:
        return self.timeline.max_tracking_id(TRACKING_NAME) or 0

    def process(self, batch: Sequence[tuple[int, Any]], folded: Folded | None = None) -> None:
        """Apply a batch. ``folded``: views the timeline has just recorded for it (see
        ``catch_up_together``); any view not among them is read from the timeline."""
        latest: dict[str, int] = {}
        for _, event in batch:
            latest[str(event.originator_id)] = event.originator_version
        views: dict[tuple[str, int], dict[str, Any]] = {}
        blobs: dict[tuple[str, int], str] = {}
        for pair in latest.items():
            if folded and pair in folded:
                views[pair], blobs[pair] = folded[pair]
        unread = [pair for pair in latest.items() if pair not in views]
        if unread:
            views.update(self.timeline.versions(unread))
        missing = [mid for mid, v in latest.items() if (mid, v) not in views]
        if missing:
            raise TimelineBehindError(f"timeline has not folded {len(missing)} memories yet, e.g. {missing[0]}")
        live = [(mid, v) for mid, v in latest.items() if views[(mid, v)]["status"] == "active"]
        gone = [(mid, v) for mid, v in latest.items() if views[(mid, v)]["status"] != "active"]
        if gone:
            self.index.delete(gone)
        if live:
            vectors = self.embedder.embed([embedding_text(views[pair]) for pair in live])
            points = []
            for pair, vector in zip(live, vectors):
                view = views[pair]
                points.append(IndexPoint(
                    memory_id=view["memory_id"], version=view["version"], user_id=view["user_id"],
                    kind=view["kind"], key=view["key"], vector=vector,
                    payload={**view, "updated_ts": memory_time(view)}, view_json=blobs.get(pair),
                ))
            self.index.upsert(points)
        self.timeline.advance(TRACKING_NAME, batch[-1][0])

    def clear(self) -> None:
        self.index.clear()
        self.timeline.reset_position(TRACKING_NAME)

    def record_model(self) -> None:
        """Note this projector's model as the index's (after any clear it needed)."""
        made_by = model_identity(self.embedder)
        if self.timeline.meta(MODEL_KEY) != made_by:
            self.timeline.set_meta(MODEL_KEY, made_by)
