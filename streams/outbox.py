"""The memory-events outbox: domain events from the event store to a Kafka topic.

Events are read from the notification log after the outbox's tracked position,
sent keyed by Memory ID (so one memory's events stay in order on one partition),
and the position advances only after the broker acknowledged them: at least
once, in order per memory, resumable after a crash. Each record carries the
memory as of that version, taken from the timeline projection.
"""

from __future__ import annotations

import json
from typing import Any

from application.memory_app import MemoryApplication
from projections.catch_up import MEMORY_TOPICS
from projections.timeline_view import TimelineView

OUTBOX_NAME = "outbox:memory-events"


def outbox_position(timeline: TimelineView) -> int:
    """Kept with the projections' positions (not in the event store: the projection
    process then never writes to the file the Fast and Fine stages write to)."""
    return timeline.max_tracking_id(OUTBOX_NAME) or 0


def pending_records(store: MemoryApplication, timeline: TimelineView, limit: int = 500) -> list[tuple[int, bytes, bytes]]:
    """(notification_id, key, value) of the next events, stopping where the timeline is behind."""
    notifications = store.recorder.select_notifications(
        outbox_position(timeline) + 1, limit=limit, topics=MEMORY_TOPICS
    )
    events = [(n.id, store.mapper.to_domain_event(n)) for n in notifications]
    views = timeline.versions([(str(e.originator_id), e.originator_version) for _, e in events])
    records: list[tuple[int, bytes, bytes]] = []
    for notification_id, event in events:
        memory_id = str(event.originator_id)
        view = views.get((memory_id, event.originator_version))
        if view is None:
            break
        record: dict[str, Any] = {
            "event_id": f"{memory_id}:{event.originator_version}",
            "notification_id": notification_id,
            "event_type": type(event).__name__,
            "memory_id": memory_id,
            "version": event.originator_version,
            "timestamp": event.timestamp.isoformat(),
            "stage": event.stage,
            "reason": event.reason,
            "decided_by": event.decided_by,
            "cause": event.cause,
            "memory": view,
        }
        records.append((notification_id, memory_id.encode(), json.dumps(record, ensure_ascii=False).encode()))
    return records


def mark_published(timeline: TimelineView, notification_id: int) -> None:
    timeline.advance(OUTBOX_NAME, notification_id)
