"""The timeline projection: folds memory events into the version timeline view."""

from __future__ import annotations

from typing import Any, Sequence

from eventsourcing.persistence import Tracking

from domain.views import fold
from projections.timeline_view import TRACKING_NAME, TimelineView


class TimelineProjector:
    name = "timeline"

    def __init__(self, view: TimelineView) -> None:
        self.view = view

    def position(self) -> int:
        return self.view.position()

    def process(self, batch: Sequence[tuple[int, Any]]) -> None:
        ids = [str(event.originator_id) for _, event in batch]
        state = self.view.current(ids)
        rows: list[dict[str, Any]] = []
        for _, event in batch:
            memory_id = str(event.originator_id)
            previous = state.get(memory_id)
            if previous is not None and previous["version"] >= event.originator_version:
                continue  # already applied (the position guards this too)
            state[memory_id] = fold(previous, event)
            rows.append(state[memory_id])
        self.view.apply(rows, Tracking(TRACKING_NAME, batch[-1][0]))

    def clear(self) -> None:
        self.view.clear()
