"""Following the event store's notification log.

A projector keeps its own position; ``catch_up`` reads the notifications after it
in batches, so one call brings a projection up to date in-process (embedded mode,
right after each write) and a loop of calls keeps it current in a worker process.
"""

from __future__ import annotations

from typing import Any, Callable, Protocol, Sequence

from eventsourcing.persistence import IntegrityError
from eventsourcing.utils import get_topic

from application.memory_app import MemoryApplication
from domain.memory import MemoryArchived, MemoryCreated, MemoryRevised

MEMORY_TOPICS = tuple(get_topic(c) for c in (MemoryCreated, MemoryRevised, MemoryArchived))

Progress = Callable[[int], None]


class Projector(Protocol):
    name: str

    def position(self) -> int: ...

    def process(self, batch: Sequence[tuple[int, Any]]) -> None:
        """Apply (notification_id, domain_event) pairs and record the last id as position."""

    def clear(self) -> None: ...


def head(store: MemoryApplication) -> int:
    return store.head()


def catch_up(
    store: MemoryApplication,
    projector: Projector,
    batch_size: int = 500,
    progress: Progress | None = None,
    until: int | None = None,
) -> int:
    """Process every memory event after the projector's position; returns how many."""
    done = 0
    start = projector.position() + 1
    while batch := next_batch(store, start, batch_size, until):
        try:
            projector.process(batch)
        except IntegrityError:
            # Another process (a worker's projection loop) recorded a position at or past
            # this batch first (single-row tracking only rejects positions not ahead of
            # the stored one): the batch is applied already, go on after it.
            start = max(projector.position(), batch[-1][0]) + 1
            continue
        done += len(batch)
        if progress is not None:
            progress(batch[-1][0] + 1 - start)  # how far the position moved
        start = batch[-1][0] + 1
    return done


def next_batch(store: MemoryApplication, start: int, batch_size: int, until: int | None) -> list[tuple[int, Any]]:
    """(notification id, decoded memory event) pairs from ``start`` on, at most ``batch_size``."""
    notifications = store.recorder.select_notifications(start, limit=batch_size, stop=until, topics=MEMORY_TOPICS)
    return [(n.id, store.mapper.to_domain_event(n)) for n in notifications]


def catch_up_together(
    store: MemoryApplication,
    leader: Any,
    followers: Sequence[Any],
    batch_size: int = 500,
    progress: Progress | None = None,
    until: int | None = None,
) -> dict[str, int]:
    """The timeline (``leader``) and the projections that read it, in one pass.

    Why: a replay otherwise reads and decodes every notification once per projection,
    and the vector projection then reads back from the timeline, and JSON-decodes,
    each view the timeline has just folded. Here each batch is decoded once, the
    leader folds it and hands its views (and their JSON) to the followers. Followers
    behind the leader are first brought up to it the separate way; a follower ahead
    of it (replayed alone earlier) skips what it has. If another process moves a
    position meanwhile (IntegrityError), the rest is done the separate way.
    Returns how many events each projection applied.
    """
    done = {p.name: 0 for p in (leader, *followers)}
    lead = leader.position()
    for f in followers:
        done[f.name] += catch_up(store, f, batch_size, until=lead)
    positions = {f.name: f.position() for f in followers}
    start = lead + 1
    try:
        while batch := next_batch(store, start, batch_size, until):
            folded = leader.process(batch)
            done[leader.name] += len(batch)
            for f in followers:
                part = [pair for pair in batch if pair[0] > positions[f.name]]
                if part:
                    f.process(part, folded)
                    done[f.name] += len(part)
                    positions[f.name] = part[-1][0]
            if progress is not None:
                progress(batch[-1][0] + 1 - start)
            start = batch[-1][0] + 1
        return done
    except IntegrityError:
        done[leader.name] += catch_up(store, leader, batch_size, until=until)
        lead = leader.position()
        for f in followers:
            done[f.name] += catch_up(store, f, batch_size, until=lead)
        return done
