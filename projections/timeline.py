"""The timeline projection: folds memory events into the version timeline view."""

from __future__ import annotations

from typing import Any, Sequence

from eventsourcing.persistence import Tracking

from domain.views import fold
from projections.timeline_view import TRACKING_NAME, TimelineView

Folded = dict[tuple[str, int], tuple[dict[str, Any], str]]
"""(memory_id, version) -> (the view at that version, the view as JSON)."""


class TimelineProjector:
    name = "timeline"

    def __init__(self, view: TimelineView) -> None:
        self.view = view

    def position(self) -> int:
        return self.view.position()

    def process(self, batch: Sequence[tuple[int, Any]]) -> Folded:
        """Fold and record the batch; returns the views it recorded, with their JSON
        (what the projections that read the timeline would otherwise read back)."""
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
        blobs = self.view.apply(rows, Tracking(TRACKING_NAME, batch[-1][0]))
        return {(row["memory_id"], row["version"]): (row, blob) for row, blob in zip(rows, blobs)}

    def clear(self) -> None:
        self.view.clear()
