"""Knowledge documents through the real service and an in-memory event store: updates revise
changed chunks, archive removed ones and leave unchanged ones alone; deletion; documents that
return to an earlier content; plain files as documents."""

from __future__ import annotations

from application.knowledge import chunk_memory_id, existing_chunks, kb_space, origin_of
from application.knowledge_files import read_documents
from domain.envelope import KnowledgeDocument
from tests.support.fakes import PlannedExtractor
from tests.unit.test_services import service_with

SECTIONS = [f"Section {i} explains rule number {i}. It applies to every booking of type {i}." for i in range(5)]


def doc(paragraphs: list[str] | None = None, deleted: bool = False) -> KnowledgeDocument:
    if deleted:
        return KnowledgeDocument.model_validate({"kb_id": "handbook", "doc_id": "rules", "deleted": True})
    return KnowledgeDocument.model_validate({"kb_id": "handbook", "doc_id": "rules", "title": "Rules",
                                             "text": "\n\n".join(paragraphs or SECTIONS)})


def states(service, document):
    return [(m.version, m.status) for m in existing_chunks(service.store, document)]


def test_two_updates_revise_changed_archive_removed_and_leave_unchanged_alone():
    service = service_with(PlannedExtractor(), chunk_chars=100, chunk_overlap=0)
    first = service.ingest_document(doc())
    assert first.user_id == kb_space("handbook") and len(first.created) == 5
    ids = [str(chunk_memory_id(doc(), i)) for i in range(5)]
    assert first.created == ids

    edited = list(SECTIONS)
    edited[1] = "Section 1 explains rule number 1. It now applies only to refundable bookings of type 1."
    del edited[3]
    second = service.ingest_document(doc(edited))
    assert second.revised == [ids[1]] and second.archived == [ids[3]] and second.created == []
    assert states(service, doc()) == [(1, "active"), (2, "active"), (1, "active"), (2, "archived"), (1, "active")]
    assert "refundable" in service.store.memory(ids[1]).content

    edited.insert(0, "A new introduction that did not exist before, about the whole handbook.")
    edited[-1] = "Section 4 was rewritten: it explains rule number 4 for group bookings only."
    third = service.ingest_document(doc(edited))
    assert third.revised == [ids[4]] and third.archived == []
    assert third.created == [str(chunk_memory_id(doc(), 5))]  # the next free slot, not a shifted index
    assert [service.store.memory(i).version for i in ids] == [1, 2, 1, 2, 2]

    again = service.ingest_document(doc(edited))
    assert again.duplicate and not (again.created or again.revised or again.archived)


def test_deleting_archives_every_chunk_and_a_document_can_come_back():
    service = service_with(PlannedExtractor(), chunk_chars=100, chunk_overlap=0)
    service.ingest_document(doc())
    gone = service.ingest_document(doc(deleted=True))
    assert len(gone.archived) == 5 and not gone.duplicate
    assert {s for _, s in states(service, doc())} == {"archived"}
    assert service.store.memory(gone.archived[0]).reason == "deleted"
    assert service.ingest_document(doc(deleted=True)).duplicate  # nothing left to delete

    back = service.ingest_document(doc())  # the very first content again: a new generation
    assert len(back.created) == 5 and not back.duplicate
    assert back.event_id != gone.event_id and len(existing_chunks(service.store, doc())) == 10


def test_a_deleted_document_needs_no_text_but_a_live_one_does():
    assert doc(deleted=True).text == ""
    try:
        KnowledgeDocument.model_validate({"kb_id": "k", "doc_id": "d", "text": "  "})
    except ValueError as e:
        assert "needs text" in str(e)
    else:
        raise AssertionError("a blank document was accepted")


def test_origin_labels_a_chunk_by_its_knowledge_base():
    service = service_with(PlannedExtractor(), chunk_chars=100, chunk_overlap=0)
    [first, *_] = service.ingest_document(doc()).created
    memory = service.store.memory(first)
    view = {"kind": memory.kind, "user_id": memory.user_id, "attributes": memory.attributes}
    assert origin_of(view) == {"type": "kb", "kb_id": "handbook", "doc_id": "rules", "title": "Rules"}
    assert origin_of({"kind": "fact", "user_id": "ana", "attributes": {}}) == {"type": "user", "user_id": "ana"}


def test_files_become_documents_named_by_their_path(tmp_path):
    (tmp_path / "guides").mkdir()
    (tmp_path / "guides" / "refunds.md").write_text("# Refund policy\n\nRefunds take 7 days.", encoding="utf-8")
    (tmp_path / "hours.txt").write_text("Open 9 to 18.", encoding="utf-8")
    (tmp_path / "empty.txt").write_text("", encoding="utf-8")
    (tmp_path / "latin1.txt").write_bytes("caf\xe9".encode("latin-1"))
    (tmp_path / "notes.jsonl").write_text("{}", encoding="utf-8")
    found = dict(read_documents(tmp_path, "kb1"))
    assert sorted(found) == ["empty.txt", "guides/refunds.md", "hours.txt", "latin1.txt"]
    refunds = found["guides/refunds.md"]
    assert refunds.title == "Refund policy" and refunds.kb_id == "kb1" and refunds.updated_at is not None
    assert found["hours.txt"].title == "hours"
    assert "needs text" in found["empty.txt"] and found["latin1.txt"] == "not UTF-8 text"


def test_a_record_with_nothing_to_change_is_still_recorded_once():
    service = service_with(PlannedExtractor(), chunk_chars=100, chunk_overlap=0)
    ghost = KnowledgeDocument.model_validate({"kb_id": "handbook", "doc_id": "never-sent", "deleted": True})
    first = service.ingest_document(ghost)
    assert not first.duplicate and not (first.created or first.revised or first.archived)
    assert service.store.raw_input(first.event_id) is not None  # a redelivery can tell it was consumed
    assert service.ingest_document(ghost).duplicate


def test_a_knowledge_base_as_recorded_earlier(tmp_path):
    import time
    from datetime import datetime, timezone

    import memstream

    with memstream.open(data_dir=tmp_path / "data", extractor="rules", with_vectors=False) as ms:
        ms.add_document({"kb_id": "handbook", "doc_id": "d", "title": "T", "text": "Refunds take 24 hours."})
        time.sleep(0.05)
        between = datetime.now(timezone.utc).isoformat()
        time.sleep(0.05)
        ms.add_document({"kb_id": "handbook", "doc_id": "d", "title": "T", "text": "Refunds take 72 hours."})
        [now] = ms.memories(kb_ids=["handbook"])
        [then] = ms.memories(kb_ids=["handbook"], as_of=between)
        assert "72" in now["content"] and "24" in then["content"] and now["memory_id"] == then["memory_id"]
        assert then["origin"] == {"type": "kb", "kb_id": "handbook", "doc_id": "d", "title": "T"}
