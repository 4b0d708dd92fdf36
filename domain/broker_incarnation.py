"""Which incarnation of the broker the recorded Kafka positions belong to.

Why: exactly-once effect rests on tracked (topic, partition, offset) positions. A
broker replaced by a fresh one (a new cluster, an in-memory broker restarted) numbers
its offsets from 0 again, and every new record at an offset already tracked looked
done and was skipped. When a worker meets a record at a tracked position that the
store has never seen, the broker is another incarnation: the count goes up, and from
then on positions are tracked under names that carry it. Inputs that really are
repeats are still recognised by their event_id.
"""

from __future__ import annotations

from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.values import stable_id

INCARNATION_ID: UUID = stable_id("broker-incarnation")


class BrokerIncarnation(Aggregate):
    """A counter, one per event store: 0 for the first broker, +1 for each replacement."""

    @event("BrokerFirstSeen")
    def __init__(self) -> None:
        self.number = 0
        self.evidence: list[str] = []

    @classmethod
    def create_id(cls) -> UUID:
        return INCARNATION_ID

    @event("BrokerReplaced")
    def replaced(self, *, evidence: str) -> None:
        """``evidence``: the record that showed it (topic, partition, offset)."""
        self.number += 1
        self.evidence.append(evidence)


def position_name(topic: str, partition: int, incarnation: int) -> str:
    """The tracking name of one partition. The first broker's names carry no number, so
    positions recorded before incarnations were counted keep their meaning."""
    base = f"kafka:{topic}:{partition}"
    return base if incarnation == 0 else f"{base}@{incarnation}"
