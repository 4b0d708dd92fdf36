"""The event-sourced application: one event store for memories, raw input and directories.

``MemoryApplication`` is eventsourcing's ``Application`` subclass and the use cases'
only door to the store: the stages and services ask it for aggregates by what they
are (a raw input, a memory, a user's directory) and save through it. It uses a
*process* recorder, which writes a Kafka ``Tracking`` position in the same
transaction as the resulting domain events: that is how a redelivered record is
recognised and skipped (exactly-once effect without Kafka transactions).

Which database holds it is the adapters' business (``adapters/event_store.py``):
this module imports no database driver.
"""

from __future__ import annotations

from typing import Sequence, TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application, ProcessingEvent
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import ProcessRecorder, Tracking
from eventsourcing.utils import get_topic

from application.gc_pause import collections_postponed
from domain.broker_incarnation import INCARNATION_ID, BrokerIncarnation, position_name
from domain.memory import Memory
from domain.raw_input import RawInput, raw_input_id
from domain.user_directory import UserDirectory, directory_id

MORE_TRACKING = "more_tracking"
"""Keyword under which ``save_tracked`` hands a batch's further positions to the process
recorder; the recorders in ``adapters/recorders.py`` write them in the same transaction."""

A = TypeVar("A", bound=Aggregate)


class MemoryApplication(Application):
    """Memories, raw input, user directories and dead letters, all in one notification log."""

    name = "MemoryStore"  # the stored name: positions and snapshots are recorded under it
    env = {"AGGREGATE_CACHE_MAXSIZE": "20000"}
    snapshotting_intervals = {UserDirectory: 100}

    def construct_recorder(self) -> ProcessRecorder:
        return self.factory.process_recorder()

    @property
    def _process_recorder(self) -> ProcessRecorder:
        recorder = self.recorder
        assert isinstance(recorder, ProcessRecorder)
        return recorder

    # ---------------------------------------------------------------- queries

    def find(self, aggregate_id: UUID, kind: type[A]) -> A | None:
        """The aggregate with this ID, or None when there is none (or it is another kind)."""
        try:
            found = self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            return None
        return found if isinstance(found, kind) else None

    def raw_input(self, event_id: str, user_id: str | None = None) -> RawInput | None:
        """The input with this ``event_id``; with ``user_id``, that user's (domain/raw_input.py:
        event ids are unique per user). Without it, the input holding the plain ID."""
        plain = self.find(raw_input_id(event_id), RawInput)
        if user_id is None or (plain is not None and plain.user_id == user_id):
            return plain
        return self.find(raw_input_id(event_id, user_id), RawInput)

    def taken_by_another(self, event_id: str, user_id: str) -> bool:
        """Whether another user's input holds ``event_id``'s plain ID (so this user's is scoped)."""
        plain = self.find(raw_input_id(event_id), RawInput)
        return plain is not None and plain.user_id != user_id

    def memory(self, memory_id: str | UUID) -> Memory | None:
        try:
            uuid = memory_id if isinstance(memory_id, UUID) else UUID(str(memory_id))
        except ValueError:
            return None
        return self.find(uuid, Memory)

    def directory(self, user_id: str) -> UserDirectory:
        """The user's directory; a new, unsaved one for a user seen for the first time."""
        return self.find(directory_id(user_id), UserDirectory) or UserDirectory(user_id=user_id)

    def broker_incarnation(self) -> BrokerIncarnation:
        """The broker incarnation the positions are tracked for (a new, unsaved one at first)."""
        return self.find(INCARNATION_ID, BrokerIncarnation) or BrokerIncarnation()

    def unrefined_inputs(self, page: int = 5000) -> list[RawInput]:
        """Message inputs recorded and never refined, oldest first.

        Why: a Fast-to-Fine hand-off lives only in the broker; a broker that lost it (an
        in-memory broker restarted) or a Fine stage stopped by a full disk leaves the input
        recorded but unrefined. Those are found here by the notification log alone (only
        ids compared; the few left over are loaded), so a worker or the next ingest can
        refine them without anyone re-running the input.
        """
        recorded_topic = get_topic(RawInput.InputRecorded)  # type: ignore[attr-defined]
        refined_topic = get_topic(RawInput.InputRefined)  # type: ignore[attr-defined]
        recorded: dict[UUID, None] = {}
        refined: set[UUID] = set()
        start = 1
        while True:
            batch = self.recorder.select_notifications(start, limit=page, topics=[recorded_topic, refined_topic])
            if not batch:
                break
            for n in batch:
                if n.topic == recorded_topic:
                    recorded[n.originator_id] = None
                else:
                    refined.add(n.originator_id)
            start = batch[-1].id + 1
        found = (self.find(i, RawInput) for i in recorded if i not in refined)
        return [raw for raw in found if raw is not None and raw.input_type == "messages" and not raw.is_refined]

    def head(self) -> int:
        """The last notification id in the log (0 when empty)."""
        return self.recorder.max_notification_id() or 0

    # ---------------------------------------------------------------- tracking

    def save_tracked(self, aggregates: Sequence[Aggregate], tracking: Tracking | Sequence[Tracking] | None) -> int:
        """Save every pending event of ``aggregates`` and the tracking position(s) atomically.

        Several positions (one per partition of a batch) are written in the same
        transaction. Raises eventsourcing's IntegrityError on an optimistic-concurrency
        conflict or when a position was already recorded (a redelivery).
        """
        positions = [] if tracking is None else [tracking] if isinstance(tracking, Tracking) else list(tracking)
        processing_event: ProcessingEvent = ProcessingEvent(tracking=positions[0] if positions else None)
        processing_event.collect_events(*aggregates, **{MORE_TRACKING: positions[1:]})
        if not processing_event.events:
            for position in positions:
                self.track_only(position)
            return 0
        with collections_postponed():
            recordings = self._record(processing_event)
        self._take_snapshots(processing_event)
        return len(recordings)

    def is_tracked(self, tracking: Tracking | None) -> bool:
        """True when this Kafka position (or a later one) was already applied."""
        if tracking is None:
            return False
        return self._process_recorder.has_tracking_id(tracking.application_name, tracking.notification_id)

    def last_tracked(self, position_name: str) -> int:
        """The highest tracked id of one position name (one Kafka partition), 0 when none."""
        return self._process_recorder.max_tracking_id(position_name) or 0

    def track_only(self, tracking: Tracking) -> None:
        """Record a position that produced no events (dead letter, duplicate)."""
        if not self.is_tracked(tracking):
            self._process_recorder.insert_tracking(tracking)


def kafka_tracking(topic: str, partition: int, offset: int, incarnation: int = 0) -> Tracking:
    """Tracking names one partition of one broker incarnation (domain/broker_incarnation.py);
    ids are offset + 1 so offset 0 is trackable."""
    return Tracking(application_name=position_name(topic, partition, incarnation), notification_id=offset + 1)
