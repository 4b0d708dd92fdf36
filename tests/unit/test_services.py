"""The service layer on eventsourcing's in-memory (POPO) store, with hand-written fakes.

The real ``MemoryService`` and ``FineStage`` over a real ``MemoryApplication``; only
the extractor is a fake (tests/support/fakes.py), so each test states the Fine
decisions and checks what the service makes of them. Writing several Kafka
positions in one transaction is the SQLite/PostgreSQL recorders' job (the POPO
recorder ignores ``more_tracking``): tests/integration/service_contract.py and
test_eventsourcing_hooks.py test it there.
"""

from __future__ import annotations

from uuid import UUID

import pytest

from application.fine_stage import FineStage
from application.knowledge import chunk_memory_id
from application.memory_app import MemoryApplication, kafka_tracking
from application.service import MemoryService, UnknownInputError
from domain.envelope import InputEnvelope, KnowledgeDocument
from domain.extraction import Decision
from domain.memory import Memory
from domain.raw_input import episode_id
from domain.user_directory import directory_id
from domain.values import Cause
from tests.support.fakes import CollidingOnce, PlannedExtractor, existing_by_key

TOPIC = "memstream.messages"


def envelope(event_id: str, text: str = "I live in Lisbon.", user: str = "ana", conversation: str = "c1"):
    return InputEnvelope.model_validate({
        "event_id": event_id, "user_id": user, "conversation_id": conversation,
        "messages": [{"message_id": f"m-{event_id}", "role": "user", "content": text,
                      "chat_time": "2025-03-15T09:30:00+00:00"}],
    })


def service_with(extractor, chunk_chars: int = 800, chunk_overlap: int = 100, **hooks) -> MemoryService:
    store = MemoryApplication(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    return MemoryService(store, FineStage(store, extractor), chunk_chars=chunk_chars,
                         chunk_overlap=chunk_overlap, **hooks)


def create(content: str, key: str = "residence", source: str = "") -> Decision:
    return Decision("create", kind="fact", key=key, content=content, reason="new",
                    source_message_ids=(source,) if source else ())


# ------------------------------------------------------------------ Fast stage


def test_recording_the_same_event_id_twice_changes_nothing():
    service = service_with(PlannedExtractor())
    first = service.record_input(envelope("e1"))
    head = service.store.head()
    again = service.record_input(envelope("e1", text="a different text, the same event_id"))
    assert not first.duplicate and first.episodes == [str(episode_id("e1", "0"))]
    assert again.duplicate and again.episodes == []
    assert service.store.head() == head
    assert service.store.memory(first.episodes[0]).content == "I live in Lisbon."


def test_a_tracked_position_skips_the_redelivered_record():
    service = service_with(PlannedExtractor())
    position = kafka_tracking(TOPIC, 2, 41)
    first = service.record_input(envelope("e1"), Cause(event_ids=("e1",)), position)
    head = service.store.head()
    # Redelivered, even re-sent under another event_id: the position says it was applied.
    again = service.record_input(envelope("e2"), Cause(event_ids=("e2",)), position)
    assert first.episodes and again.duplicate
    assert service.store.head() == head and service.raw_input("e2") is None
    assert service.store.is_tracked(kafka_tracking(TOPIC, 2, 40))
    assert not service.store.is_tracked(kafka_tracking(TOPIC, 2, 42))


def test_a_duplicate_at_a_new_position_records_the_position():
    service = service_with(PlannedExtractor())
    service.record_input(envelope("e1"))
    position = kafka_tracking(TOPIC, 0, 7)
    again = service.record_input(envelope("e1"), tracking=position)
    assert again.duplicate and service.store.is_tracked(position)


# ------------------------------------------------------------------ Fine stage


def test_refine_applies_create_revise_and_archive_as_versions_of_one_memory():
    extractor = PlannedExtractor({
        "e1": [create("Lives in Lisbon.", source="m-e1")],
        "e2": lambda request: [Decision(
            "revise", memory_id=existing_by_key(request, "residence").memory_id, key="residence",
            content="Lives in Porto.", reason="conflict", source_message_ids=("m-e2",))],
        "e3": lambda request: [Decision(
            "archive", memory_id=existing_by_key(request, "residence").memory_id, reason="deleted")],
    })
    service = service_with(extractor)
    results = []
    for event_id, text in (("e1", "I live in Lisbon."), ("e2", "I moved to Porto."), ("e3", "Forget where I live.")):
        service.record_input(envelope(event_id, text))
        results.append(service.refine(event_id))
    created, revised, archived = results
    (memory_id,) = created.created
    assert revised.revised == [memory_id] and revised.created == []
    assert memory_id in archived.archived and archived.created == archived.revised == []
    # The extractor saw the memory as it stood: V1 before the revision, V2 before the archive.
    assert [existing_by_key(extractor.requests[i], "residence").version for i in (1, 2)] == [1, 2]
    assert extractor.requests[1].existing[0].content == "Lives in Lisbon."

    versions = [service.store.repository.get(UUID(memory_id), version=v) for v in (1, 2, 3)]
    assert [v.content for v in versions] == ["Lives in Lisbon.", "Lives in Porto.", "Lives in Porto."]
    assert [v.status for v in versions] == ["active", "active", "archived"]
    assert [v.reason for v in versions] == ["new", "conflict", "deleted"]
    assert [s["message_id"] for s in versions[1].sources] == ["m-e1", "m-e2"]
    assert service.store.memory(memory_id).version == 3
    assert memory_id not in service.store.directory("ana").entries  # archived: no longer shown


def test_refining_twice_is_a_no_op():
    extractor = PlannedExtractor({"e1": [create("Lives in Lisbon.")]})
    service = service_with(extractor)
    service.record_input(envelope("e1"))
    first = service.refine("e1")
    head = service.store.head()
    position = kafka_tracking("memstream.fine", 0, 3)
    again = service.refine("e1", tracking=position)  # a re-sent hand-off
    assert len(first.created) == 1 and not first.skipped
    assert again.skipped and again.created == again.revised == again.archived == []
    assert len(extractor.requests) == 1 and service.store.head() == head
    assert service.store.is_tracked(position)  # the re-sent record's position is recorded anyway


def test_refining_an_unknown_input_raises():
    service = service_with(PlannedExtractor())
    with pytest.raises(UnknownInputError, match="never-recorded"):
        service.refine("never-recorded")


def test_a_concurrent_write_to_the_users_directory_is_retried():
    store_holder: list[MemoryService] = []

    def concurrent_fine_decision() -> None:
        """Another worker's decision about the same user lands first."""
        store = store_holder[0].store
        directory = store.directory("ana")
        directory.update(upserts={}, removals=[], conversation_id="other", event_id="elsewhere")
        store.save(directory)

    extractor = CollidingOnce(PlannedExtractor({"e1": [create("Lives in Lisbon.")]}), concurrent_fine_decision)
    planned: list[int] = []
    service = service_with(extractor, on_planned=lambda aggregates: planned.append(len(aggregates)))
    store_holder.append(service)
    service.record_input(envelope("e1"))
    result = service.refine("e1")
    assert extractor.collisions == 1 and len(extractor.inner.requests) == 2  # planned again after the conflict
    assert len(planned) == 2
    (memory_id,) = result.created
    directory = service.store.directory("ana")
    assert list(directory.entries) == [memory_id]
    assert directory.last_input == {"other": "elsewhere", "c1": "e1"}  # the other writer's change is kept
    assert service.store.find(directory_id("ana"), type(directory)).version == 3  # created + the interloper + ours
    assert service.store.raw_input("e1").is_refined


def test_covered_messages_archive_their_episodes_with_the_successor():
    extractor = PlannedExtractor({"e1": [create("Lives in Lisbon.", source="m-e1")]}, covered=["m-e1"])
    service = service_with(extractor)
    outcome = service.ingest(envelope("e1"))
    (memory_id,) = outcome.created
    episode = service.store.memory(outcome.episodes[0])
    assert outcome.archived == outcome.episodes
    assert episode.status == "archived" and episode.superseded_by == [memory_id]


def test_hooks_see_the_decision_before_it_is_saved_and_the_save_after():
    calls: list[str] = []
    holder: list[MemoryService] = []

    def planned(aggregates) -> None:
        memories = [a for a in aggregates if isinstance(a, Memory) and a.kind == "fact"]
        assert memories and holder[0].store.memory(memories[0].id) is None  # not saved yet
        calls.append("planned")

    service = service_with(PlannedExtractor({"e1": [create("Lives in Lisbon.")]}), on_planned=planned,
                           on_saved=lambda: calls.append("saved"))
    holder.append(service)
    service.record_input(envelope("e1"))
    service.refine("e1")
    assert calls == ["saved", "planned", "saved"]  # record_input, then refine
    calls.clear()
    service.fine_stage.extractor.plans["e2"] = [create("Lives in Porto.")]
    service.ingest(envelope("e2", text="I moved to Porto."))
    assert calls == ["planned", "saved"]  # ingest: the projections catch up once, after both stages


class FailingFor(PlannedExtractor):
    """Plans like PlannedExtractor, and raises for one event_id (a bug or a bad input)."""

    def __init__(self, failing: str, plans=None) -> None:
        super().__init__(plans)
        self.failing = failing

    def extract(self, request):
        if any(m.event_id == self.failing for m in request.new_messages):
            raise RuntimeError("extractor failed")
        return super().extract(request)


def test_ingest_batch_writes_what_ingest_writes_with_one_catch_up():
    plans = {"e1": [create("Lives in Lisbon.")], "e3": [create("Works as a nurse.", key="work")]}
    one_by_one, saved = service_with(PlannedExtractor(plans)), []
    batched = service_with(PlannedExtractor(plans), on_saved=lambda: saved.append(1))
    envs = [envelope("e1"), envelope("e2", text="thanks!"), envelope("e3", text="I'm a nurse.", user="bo")]
    expected = [one_by_one.ingest(e) for e in envs]
    got = batched.ingest_batch(envs)
    assert saved == [1]
    assert [(o.episodes, len(o.created), o.archived == []) for o in got] == [
        (o.episodes, len(o.created), o.archived == []) for o in expected]
    assert batched.store.head() == one_by_one.store.head()  # the same number of events
    for e in envs:
        assert batched.store.raw_input(e.event_id).is_refined


def test_ingest_batch_again_is_all_duplicates_and_changes_nothing():
    service = service_with(PlannedExtractor({"e1": [create("Lives in Lisbon.")]}))
    envs = [envelope("e1"), envelope("e2", text="I like tea.")]
    service.ingest(envs[0])  # recorded before: the batch records one by one
    first = service.ingest_batch(envs)
    assert first[0].duplicate and not first[1].duplicate
    head = service.store.head()
    again = service.ingest_batch(envs)
    assert all(o.duplicate and not o.created for o in again) and service.store.head() == head


def test_ingest_batch_reports_a_failing_input_and_ingests_the_others():
    service = service_with(FailingFor("e2", {"e3": [create("Lives in Lisbon.")]}))
    got = service.ingest_batch([envelope("e1"), envelope("e2"), envelope("e3", user="bo")])
    assert isinstance(got[1], RuntimeError) and "extractor failed" in str(got[1])
    assert not isinstance(got[0], Exception) and len(got[2].created) == 1
    assert service.store.raw_input("e2") is not None and not service.store.raw_input("e2").is_refined


# ------------------------------------------------------------------ knowledge documents


def document(text: str, title: str = "Handbook") -> KnowledgeDocument:
    return KnowledgeDocument.model_validate({"kb_id": "kb1", "doc_id": "d1", "title": title, "text": text})


PARAGRAPHS = [f"Paragraph {i}: " + "words " * 12 for i in range(6)]


def test_a_document_becomes_chunk_memories_and_an_update_revises_them():
    service = service_with(PlannedExtractor(), chunk_chars=120, chunk_overlap=0)
    first = service.ingest_document(document("\n".join(PARAGRAPHS)))
    assert first.user_id == "kb:kb1" and not first.duplicate
    assert len(first.created) >= 3 and first.revised == first.archived == []
    chunk_ids = [str(chunk_memory_id(document("any"), i)) for i in range(len(first.created))]
    assert first.created == chunk_ids  # chunk i always has the same Memory ID
    chunks = [service.store.memory(i) for i in chunk_ids]
    assert all(c.kind == "knowledge" and c.content.startswith("Handbook\n") for c in chunks)
    assert "Paragraph 0" in chunks[0].content and "Paragraph 5" in chunks[-1].content

    again = service.ingest_document(document("\n".join(PARAGRAPHS)))
    assert again.duplicate and again.created == again.revised == []

    edited = PARAGRAPHS[:-1] + ["Paragraph 5: " + "rewritten " * 7]  # as long: the same chunking
    update = service.ingest_document(document("\n".join(edited)))
    assert update.created == [] and update.archived == []
    assert update.revised == [chunk_ids[-1]]  # only the chunk that changed
    last = service.store.memory(chunk_ids[-1])
    assert last.version == 2 and "rewritten" in last.content and last.reason == "document_updated"
    assert service.store.memory(chunk_ids[0]).version == 1  # unchanged chunks are left alone

    shorter = service.ingest_document(document(PARAGRAPHS[0]))
    assert shorter.archived == chunk_ids[1:]
    assert [service.store.memory(i).status for i in chunk_ids[1:]] == ["archived"] * (len(chunk_ids) - 1)
