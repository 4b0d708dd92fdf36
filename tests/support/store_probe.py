"""Read-only questions tests ask of an event store: how many events of each kind."""

from __future__ import annotations

from collections import Counter
from typing import Any

from eventsourcing.utils import get_topic

from adapters.event_store import open_application
from domain.memory import MemoryArchived, MemoryCreated, MemoryRevised
from domain.raw_input import RawInput

RECORDED = get_topic(RawInput.InputRecorded)  # type: ignore[attr-defined]
REFINED = get_topic(RawInput.InputRefined)  # type: ignore[attr-defined]
MEMORY = tuple(get_topic(c) for c in (MemoryCreated, MemoryRevised, MemoryArchived))


class StoreProbe:
    def __init__(self, url: str) -> None:
        self.store = open_application(url)

    def events(self, topics: tuple[str, ...]) -> list[Any]:
        out, start = [], 1
        while True:
            batch = self.store.recorder.select_notifications(start, limit=5000, topics=topics)
            if not batch:
                return out
            out += [self.store.mapper.to_domain_event(n) for n in batch]
            start = batch[-1].id + 1

    def count(self, topic: str) -> int:
        return len(self.events((topic,)))

    def recorded_event_ids(self) -> Counter:
        return Counter(e.event_id for e in self.events((RECORDED,)))

    def refined_count(self) -> int:
        return self.count(REFINED)

    def close(self) -> None:
        self.store.close()
