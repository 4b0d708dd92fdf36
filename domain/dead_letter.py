"""Dead letters: input records that could not be processed, kept with the reason.

Recorded in the event store (with the Kafka position, atomically) as well as on
the dead-letter topic, so nothing rejected is silently dropped and listing or
re-submitting them does not depend on topic retention.
"""

from __future__ import annotations

from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.values import stable_id


def dead_letter_id(topic: str, partition: int, offset: int) -> UUID:
    return stable_id("dead-letter", topic, str(partition), str(offset))


class DeadLetter(Aggregate):
    dropped = False
    """True once an operator dropped it (``DeadLetterDropped``): it stays in the log, but is
    no longer listed or re-submitted. A class default, so letters recorded before the event
    existed read as not dropped."""
    drop_reason: str | None = None

    @event("DeadLettered")
    def __init__(
        self,
        topic: str,
        partition: int,
        offset: int,
        key: str | None,
        value_b64: str,
        reason: str,
        error_type: str,
        stage: str,
    ) -> None:
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.key = key
        self.value_b64 = value_b64
        self.reason = reason
        self.error_type = error_type
        self.stage = stage
        self.resubmissions = 0

    @classmethod
    def create_id(cls, topic: str, partition: int, offset: int) -> UUID:
        return dead_letter_id(topic, partition, offset)

    @event("DeadLetterResubmitted")
    def resubmitted(self, to_topic: str) -> None:
        self.resubmissions += 1
        self.last_resubmitted_to = to_topic

    @event("DeadLetterDropped")
    def drop(self, reason: str) -> None:
        self.dropped = True
        self.drop_reason = reason
