"""Knowledge documents: chunked into ``knowledge`` memories, revised when the document changes.

Chunk i of a document always has the same Memory ID, so an updated document
revises its chunks in place (V2, V3 ...), archives chunks it no longer has, and
leaves unchanged chunks alone. Re-sending identical content changes nothing.
"""

from __future__ import annotations

import hashlib
from typing import Any

from eventsourcing.domain import Aggregate

from application.fast_stage import chunk_text, clean_text
from application.memory_app import MemoryApplication
from domain.envelope import KnowledgeDocument
from domain.memory import Memory
from domain.raw_input import RawInput
from domain.values import MemoryKind, Reason, Source, Stage, stable_id

DECIDED_BY = "knowledge-chunker"


def document_event_id(doc: KnowledgeDocument) -> str:
    digest = hashlib.sha256(f"{doc.title}\x1f{doc.text}".encode()).hexdigest()[:16]
    return f"kb:{doc.kb_id}:{doc.doc_id}:{digest}"


def owner_of(doc: KnowledgeDocument) -> str:
    return doc.user_id or f"kb:{doc.kb_id}"


def chunk_memory_id(doc: KnowledgeDocument, index: int) -> Any:
    return stable_id("knowledge", owner_of(doc), doc.kb_id, doc.doc_id, str(index))


def plan_document(
    store: MemoryApplication, doc: KnowledgeDocument, cause: dict[str, Any], chunk_chars: int, overlap: int
) -> tuple[list[Aggregate], dict[str, list[str]]]:
    """The raw input plus every chunk memory to create, revise or archive."""
    event_id = document_event_id(doc)
    owner = owner_of(doc)
    raw = RawInput(event_id=event_id, user_id=owner, input_type="knowledge",
                   payload=doc.model_dump(mode="json"), cause=cause)
    changes: dict[str, list[str]] = {"created": [], "revised": [], "archived": []}
    pending: list[Aggregate] = [raw]
    chunks = chunk_text(clean_text(doc.text), chunk_chars, overlap)
    when = doc.updated_at.isoformat() if doc.updated_at else None
    for index, chunk in enumerate(chunks):
        content = f"{doc.title}\n{chunk}" if doc.title else chunk
        source = Source(event_id=event_id, message_id=f"{doc.doc_id}#{index}", chat_time=when,
                        role="knowledge").to_dict()
        memory = _load(store, chunk_memory_id(doc, index))
        if memory is None:
            memory = Memory(
                id=chunk_memory_id(doc, index), user_id=owner, kind=MemoryKind.KNOWLEDGE.value,
                key=f"{doc.kb_id}/{doc.doc_id}#{index}", content=content, stage=Stage.FAST.value,
                reason=Reason.NEW.value, cause=cause, decided_by=DECIDED_BY, sources=[source],
                attributes={"kb_id": doc.kb_id, "doc_id": doc.doc_id, "chunk": index, "title": doc.title},
            )
            changes["created"].append(str(memory.id))
        elif memory.content != content or not memory.is_active:
            if not memory.is_active:
                continue  # an archived chunk ID is not reused; later chunks keep their IDs
            memory.revise(content=content, new_sources=[source], stage=Stage.FAST.value,
                          reason=Reason.DOCUMENT_UPDATED.value, cause=cause, decided_by=DECIDED_BY)
            changes["revised"].append(str(memory.id))
        else:
            continue
        pending.append(memory)
    index = len(chunks)
    while (memory := _load(store, chunk_memory_id(doc, index))) is not None:
        if memory.is_active:
            memory.archive(stage=Stage.FAST.value, reason=Reason.DOCUMENT_UPDATED.value, cause=cause,
                           decided_by=DECIDED_BY)
            changes["archived"].append(str(memory.id))
            pending.append(memory)
        index += 1
    return pending, changes


def _load(store: MemoryApplication, memory_id: Any) -> Memory | None:
    return store.memory(memory_id)
