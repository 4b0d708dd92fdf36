"""The memory-events outbox: domain events from the event store to a Kafka topic.

Events are read from the notification log after the outbox's tracked position,
sent keyed by Memory ID (so one memory's events stay in order on one partition),
and the position advances only after the broker acknowledged them: at least
once, in order per memory, resumable after a crash. Each record carries the
memory as of that version, taken from the timeline projection.

Forgetting: when the outbox reaches a forgetting's audit record (``ForgettingRecorded``,
application/forgetting.py), it sends a **tombstone** for each forgotten memory: key =
Memory ID, value null (Kafka's convention: a compacted topic then drops the key's
earlier records, and a consumer drops its copy of the memory). Earlier events of those
memories that were still unsent go out as the log now folds them: without content.
"""

from __future__ import annotations

import json
from typing import Any

from eventsourcing.utils import get_topic

from application.forgetting import Forgetting
from application.memory_app import MemoryApplication
from projections.catch_up import MEMORY_TOPICS
from projections.timeline_view import TimelineView

OUTBOX_NAME = "outbox:memory-events"
FORGETTING_TOPIC = get_topic(Forgetting.ForgettingRecorded)  # type: ignore[attr-defined]
TOMBSTONE = None
"""The value of a forgotten memory's record on the memory-events topic."""


def outbox_position(timeline: TimelineView) -> int:
    """Kept with the projections' positions (not in the event store: the projection
    process then never writes to the file the Fast and Fine stages write to)."""
    return timeline.max_tracking_id(OUTBOX_NAME) or 0


def pending_records(store: MemoryApplication, timeline: TimelineView,
                    limit: int = 500) -> list[tuple[int, bytes, bytes | None]]:
    """(notification_id, key, value) of the next events, stopping where the timeline is behind;
    value None is a forgotten memory's tombstone."""
    notifications = store.recorder.select_notifications(
        outbox_position(timeline) + 1, limit=limit, topics=(*MEMORY_TOPICS, FORGETTING_TOPIC)
    )
    events = [(n.id, store.mapper.to_domain_event(n)) for n in notifications]
    views = timeline.versions([(str(e.originator_id), e.originator_version) for _, e in events
                               if not isinstance(e, Forgetting.ForgettingRecorded)])  # type: ignore[attr-defined]
    records: list[tuple[int, bytes, bytes | None]] = []
    for notification_id, event in events:
        if isinstance(event, Forgetting.ForgettingRecorded):  # type: ignore[attr-defined]
            records.extend((notification_id, str(m).encode(), TOMBSTONE) for m in dict.fromkeys(event.memory_ids))
            continue
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
