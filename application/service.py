"""The application service: transport-agnostic use cases of memstream.

The CLI (in-process mode), the Faust agents and the tests all call these same
methods. Every method is idempotent: recording an input twice, or refining it
twice, changes nothing the second time; a Kafka position passed as ``tracking`` is
written atomically with the resulting events, so a redelivered record is skipped.
"""

from __future__ import annotations

import logging
import threading
from contextlib import contextmanager
from typing import Any, Callable, Iterator, Sequence

from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError, Tracking

from application.fast_stage import build_episodes
from application.fine_stage import FineStage, RefineResult, load_or_open_directory
from application.memory_app import MemoryApplication
from application.outcome import IngestOutcome
from application.knowledge import document_event_id, owner_of, plan_document
from domain.envelope import InputEnvelope, KnowledgeDocument
from domain.raw_input import RawInput
from domain.values import Cause

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8


class UnknownInputError(LookupError):
    """Refining an input that was never recorded."""


class ConcurrencyError(RuntimeError):
    """A Fine-stage decision kept colliding with concurrent writers."""


class MemoryService:
    def __init__(
        self,
        store: MemoryApplication,
        fine_stage: FineStage,
        chunk_chars: int = 800,
        chunk_overlap: int = 100,
        on_saved: Callable[[], None] | None = None,
        on_planned: Callable[[Sequence[Aggregate]], None] | None = None,
    ) -> None:
        self.store = store
        self.fine_stage = fine_stage
        self.chunk_chars = chunk_chars
        self.chunk_overlap = chunk_overlap
        self.on_saved = on_saved
        self.on_planned = on_planned
        """Called with a Fine decision's aggregates before they are saved (the read side
        embeds them ahead: projections/embed_ahead.py); must not raise."""
        self._deferral = threading.local()  # per thread: another caller's ingest still projects its own

    def _recording(self, envelope: InputEnvelope, cause: Cause | None,
                   scope: str | None = None) -> tuple[list[Aggregate], IngestOutcome]:
        """The raw input and its episodes, not yet saved."""
        cause_dict = (cause or Cause(event_ids=(envelope.event_id,))).to_dict()
        cause_dict["message_ids"] = [
            m.message_id for m in envelope.messages if m.message_id
        ] or cause_dict["message_ids"]
        raw = (RawInput if scope is None else RawInput.scoped)(
            event_id=envelope.event_id,
            user_id=envelope.user_id,
            input_type="messages",
            payload=envelope.model_dump(mode="json"),
            cause=cause_dict,
        )
        episodes = build_episodes(envelope, cause_dict, self.chunk_chars, self.chunk_overlap, scope)
        outcome = IngestOutcome(event_id=envelope.event_id, user_id=envelope.user_id,
                                episodes=[str(e.id) for e in episodes])
        return [raw, *episodes], outcome

    def record_input(
        self, envelope: InputEnvelope, cause: Cause | None = None, tracking: Tracking | None = None
    ) -> IngestOutcome:
        """Fast stage: record the raw input and its episodes in one transaction."""
        if self.store.is_tracked(tracking):
            return IngestOutcome(event_id=envelope.event_id, user_id=envelope.user_id, duplicate=True)
        aggregates, outcome = self._recording(envelope, cause)
        try:
            self.store.save_tracked(aggregates, tracking)
        except IntegrityError:
            if self.store.taken_by_another(envelope.event_id, envelope.user_id):
                # Another user's input holds the plain ID: this one is scoped by its user.
                aggregates, outcome = self._recording(envelope, cause, scope=envelope.user_id)
                try:
                    self.store.save_tracked(aggregates, tracking)
                    self._saved()
                    return outcome
                except IntegrityError:
                    pass
            # The same event_id was recorded before (or this position was): a duplicate.
            if tracking is not None:
                self.store.track_only(tracking)
            return IngestOutcome(event_id=envelope.event_id, user_id=envelope.user_id, duplicate=True)
        self._saved()
        return outcome

    def record_batch(
        self, items: Sequence[tuple[InputEnvelope, Cause]], extra: Sequence[Aggregate],
        tracking: Tracking | Sequence[Tracking],
    ) -> list[IngestOutcome]:
        """Fast stage for a batch of records: one transaction, one position per partition.

        Raises IntegrityError when any envelope was recorded before; the caller then
        records them one by one (which recognises the duplicate). ``extra`` carries
        aggregates of the same records that belong in the same commit (dead letters).
        """
        aggregates: list[Aggregate] = list(extra)
        outcomes = []
        for envelope, cause in items:
            pending, outcome = self._recording(envelope, cause)
            aggregates += pending
            outcomes.append(outcome)
        self.store.save_tracked(aggregates, tracking)
        self._saved()
        return outcomes

    def _raw_input(self, event_id: str, user_id: str | None = None) -> RawInput:
        raw = self.store.raw_input(event_id, user_id)
        if raw is None:
            raise UnknownInputError(f"no recorded input with event_id {event_id!r}")
        return raw

    def _refining(self, event_id: str, cause: Cause | None,
                  raw: RawInput | None = None,
                  user_id: str | None = None) -> tuple[list[Aggregate], RefineResult] | None:
        """The Fine stage's pending events for one input, or None when it is already refined."""
        if raw is None:
            raw = self._raw_input(event_id, user_id)
        if raw.is_refined:
            return None
        cause_dict = (cause or Cause(event_ids=(event_id,))).to_dict()
        cause_dict["message_ids"] = raw.cause.get("message_ids", [])
        directory = load_or_open_directory(self.store, raw.user_id)
        return self.fine_stage.plan(raw, directory, cause_dict)

    def refine(
        self, event_id: str, cause: Cause | None = None, tracking: Tracking | None = None,
        user_id: str | None = None,
    ) -> RefineResult:
        """Fine stage for one recorded input; retried on optimistic-concurrency conflicts.
        ``user_id``: the input's owner (event ids are unique per user, domain/raw_input.py)."""
        for attempt in range(MAX_ATTEMPTS):
            if self.store.is_tracked(tracking):
                return RefineResult(skipped=True)
            planned = self._refining(event_id, cause, user_id=user_id)
            if planned is None:
                if tracking is not None:
                    self.store.track_only(tracking)
                return RefineResult(skipped=True)
            pending, result = planned
            self._planned(pending)
            try:
                self.store.save_tracked(pending, tracking)
            except IntegrityError:
                log.info("refine %s: concurrent write, retrying (attempt %d)", event_id, attempt + 1)
                continue
            self._saved()
            return result
        raise ConcurrencyError(f"refine {event_id}: gave up after {MAX_ATTEMPTS} conflicts")

    def refine_batch(self, items: Sequence[tuple[str, Cause]], tracking: Tracking,
                     user_ids: Sequence[str | None] | None = None) -> list[RefineResult]:
        """Fine stage for inputs of *distinct users* in one transaction, one position.

        Distinct users keep the plans independent (each reads its own directory and
        memories). Raises on any conflict or error; the caller then goes one by one.
        """
        users = list(user_ids) if user_ids is not None else [None] * len(items)
        raws = [self._raw_input(e, u) for (e, _), u in zip(items, users)]
        if len({raw.user_id for raw in raws}) != len(raws):
            raise ValueError("refine_batch needs inputs of distinct users")
        pending: list[Aggregate] = []
        results = []
        for (event_id, cause), raw in zip(items, raws):
            planned = self._refining(event_id, cause, raw)
            if planned is None:
                results.append(RefineResult(skipped=True))
                continue
            pending += planned[0]
            results.append(planned[1])
        self._planned(pending)
        self.store.save_tracked(pending, tracking)
        self._saved()
        return results

    def ingest(self, envelope: InputEnvelope, cause: Cause | None = None) -> IngestOutcome:
        """Every stage in-process: record, then refine (each idempotent on its own).

        The projections catch up once, after both: projecting between them embedded every
        episode that the refinement then archived (no-information turns, superseded ones).
        """
        with self._projections_deferred():
            outcome = self.record_input(envelope, cause)
            outcome.absorb(self.refine(envelope.event_id, cause, user_id=envelope.user_id))
        return outcome

    def ingest_batch(self, envelopes: Sequence[InputEnvelope]) -> list[IngestOutcome | Exception]:
        """``ingest`` for a chunk of a file: the same events, with fewer commits and one catch-up.

        The raw inputs and episodes of the whole chunk are recorded in one transaction;
        each input is then refined in its own (a plan reads what the previous one of
        the same user saved); the projections catch up once, at the end, so embeddings
        are computed in large batches and episodes archived within the chunk are never
        embedded. Exactly-once is that of ``ingest``: recording raises IntegrityError
        when any input of the chunk was recorded before, and the chunk is then recorded
        one by one (which recognises the duplicates); refining skips refined inputs. A
        crash between the steps leaves recorded, unrefined inputs that a second run of
        the file refines. Returns one outcome, or the exception that input raised, per
        envelope: one bad input never fails the others.
        """
        results: list[IngestOutcome | Exception] = []
        with self._projections_deferred():
            try:
                outcomes: list[IngestOutcome | Exception] = list(
                    self.record_batch([(e, Cause(event_ids=(e.event_id,))) for e in envelopes], (), ()))
            except IntegrityError:
                outcomes = [self._try(self.record_input, e) for e in envelopes]
            for envelope, outcome in zip(envelopes, outcomes):
                if isinstance(outcome, IngestOutcome):
                    refined = self._try(self.refine, envelope.event_id, None, None, envelope.user_id)
                    if isinstance(refined, Exception):
                        outcome = refined
                    else:
                        outcome.absorb(refined)
                results.append(outcome)
        return results

    @staticmethod
    def _try(call: Callable[..., Any], *args: Any) -> Any:
        try:
            return call(*args)
        except Exception as e:  # noqa: BLE001 - reported per input by ingest_batch
            return e

    @contextmanager
    def _projections_deferred(self) -> Iterator[None]:
        """Saves inside this block do not catch the projections up; leaving it does, once
        (also when the block raised: what was saved is projected)."""
        state = self._deferral
        if getattr(state, "active", False):
            yield
            return
        state.active, state.saved = True, False
        try:
            yield
        finally:
            state.active = False
            if state.saved:
                self._saved()

    def ingest_document(
        self, doc: KnowledgeDocument, cause: Cause | None = None, tracking: Tracking | None = None
    ) -> IngestOutcome:
        """A knowledge document becomes chunk memories; an update revises them."""
        event_id = document_event_id(doc)
        outcome = IngestOutcome(event_id=event_id, user_id=owner_of(doc))
        if self.store.is_tracked(tracking):
            outcome.duplicate = True
            return outcome
        cause_dict = (cause or Cause(event_ids=(event_id,))).to_dict()
        cause_dict["message_ids"] = [doc.doc_id]
        for _ in range(MAX_ATTEMPTS):
            pending, changes = plan_document(self.store, doc, cause_dict, self.chunk_chars, self.chunk_overlap)
            try:
                self.store.save_tracked(pending, tracking)  # nothing pending: the document already reads so
            except IntegrityError:
                if self.store.is_tracked(tracking):
                    outcome.duplicate = True
                    return outcome
                continue  # a concurrent update of the same document: plan again (then maybe nothing to do)
            outcome.duplicate = not pending
            outcome.created, outcome.revised, outcome.archived = (
                changes["created"], changes["revised"], changes["archived"])
            self._saved()
            return outcome
        raise ConcurrencyError(f"document {doc.kb_id}/{doc.doc_id}: gave up after {MAX_ATTEMPTS} conflicts")

    def _planned(self, aggregates: Sequence[Aggregate]) -> None:
        if self.on_planned is not None and aggregates:
            self.on_planned(aggregates)

    def _saved(self) -> None:
        if getattr(self._deferral, "active", False):
            self._deferral.saved = True
        elif self.on_saved is not None:
            self.on_saved()

    def raw_input(self, event_id: str, user_id: str | None = None) -> dict[str, Any] | None:
        raw = self.store.raw_input(event_id, user_id)
        if raw is None:
            return None
        return {"event_id": raw.event_id, "user_id": raw.user_id, "payload": raw.payload}
