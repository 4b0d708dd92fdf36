"""The graph projection: follows the notification log after the timeline, like the
vector projection, and writes each memory version's entities and relations.

Every version in a batch is applied in order (not only the latest, as the vector
index does): a revision *moves* an edge, the old one keeping its validity interval
(stated .. superseded), so skipping an intermediate version would lose history and
a replay in big batches would differ from the live projection's small ones.
"""

from __future__ import annotations

from typing import Any, Sequence

from projections.graph.relations import mentions_of, relations_of, user_names, view_time
from projections.graph.store import GraphStore, MemoryGraph
from projections.timeline import Folded
from projections.timeline_view import TimelineView
from projections.vector_projection import TimelineBehindError


def memory_graph(view: dict[str, Any]) -> MemoryGraph:
    relations = relations_of(view)
    archived = view["status"] != "active"
    return MemoryGraph(
        memory_id=view["memory_id"], user_id=view["user_id"], kind=view["kind"], version=view["version"],
        status=view["status"], time=view.get("updated_at") if archived else view_time(view),
        relations=relations, mentions=mentions_of(view, relations), user_names=user_names(view))


class GraphProjector:
    name = "graph"

    def __init__(self, timeline: TimelineView, store: GraphStore) -> None:
        self.timeline = timeline
        self.store = store

    def position(self) -> int:
        return self.store.position()

    def process(self, batch: Sequence[tuple[int, Any]], folded: Folded | None = None) -> None:
        pairs = [(str(event.originator_id), event.originator_version) for _, event in batch]
        views: dict[tuple[str, int], dict[str, Any]] = {}
        for pair in pairs:
            if folded and pair in folded:
                views[pair] = folded[pair][0]
        unread = [pair for pair in pairs if pair not in views]
        if unread:
            views.update(self.timeline.versions(unread))
        missing = [pair for pair in pairs if pair not in views]
        if missing:
            raise TimelineBehindError(f"timeline has not folded {len(missing)} versions yet, e.g. {missing[0]}")
        self.store.apply([memory_graph(views[pair]) for pair in pairs], batch[-1][0])

    def clear(self) -> None:
        self.store.clear()

    def forget_user(self, user_id: str) -> int:
        return self.store.forget_user(user_id)
