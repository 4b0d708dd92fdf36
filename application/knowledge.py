"""Knowledge documents: chunked into ``knowledge`` memories, revised when the document changes.

A document's chunks are memories of its owner: the document's ``user_id``, or else the
knowledge base's own space (``kb_space``; users name it by kb_id, ``search --kb``, and never
type the internal id). Each chunk memory has a *slot* number: slot n's Memory ID is
``stable_id("knowledge", owner, kb_id, doc_id, n)``, so the first version of a document has the
IDs chunk i always had. An updated document is chunked again and aligned with the chunks it
has (``domain.chunking.align``): an unchanged chunk is left alone (no new version), a changed
one revises its slot's Memory ID, a new one takes the next free slot and a chunk that is gone
is archived. ``{"kb_id", "doc_id", "deleted": true}`` archives every chunk. Re-sending a record
already recorded changes nothing and is reported as a duplicate.

The raw input's event id is derived from the record (kb, doc and a digest of its content), so
a redelivered record is recognised. A document that returns to an earlier content (A, B, A, or
deleted and sent again) still has work to do; it is recorded under that id plus ``~n``.
"""

from __future__ import annotations

import hashlib
from typing import Any

from eventsourcing.domain import Aggregate

from application.fast_stage import clean_text
from application.memory_app import MemoryApplication
from domain.chunking import align, chunk_document
from domain.envelope import RESERVED_USER_PREFIX, KnowledgeDocument
from domain.memory import Memory
from domain.raw_input import RawInput
from domain.values import MemoryKind, Reason, Source, Stage, stable_id

DECIDED_BY = "knowledge-chunker"
MAX_GENERATIONS = 10_000


def kb_space(kb_id: str) -> str:
    """The internal owner id of a knowledge base's shared chunks (never typed by users)."""
    return f"{RESERVED_USER_PREFIX}{kb_id}"


def kb_of(owner: str) -> str | None:
    """The kb_id of an internal knowledge-base owner id, None for a user."""
    return owner[len(RESERVED_USER_PREFIX):] if owner.startswith(RESERVED_USER_PREFIX) else None


def document_event_id(doc: KnowledgeDocument) -> str:
    body = "\x1fdeleted" if doc.deleted else f"{doc.title}\x1f{doc.text}"
    digest = hashlib.sha256(body.encode()).hexdigest()[:16]
    return f"kb:{doc.kb_id}:{doc.doc_id}:{digest}"


def owner_of(doc: KnowledgeDocument) -> str:
    return doc.user_id or kb_space(doc.kb_id)


def chunk_memory_id(doc: KnowledgeDocument, slot: int) -> Any:
    return stable_id("knowledge", owner_of(doc), doc.kb_id, doc.doc_id, str(slot))


def chunk_content(doc: KnowledgeDocument, text: str, section: str) -> str:
    """What a chunk memory says: the document title (and the section, when the chunk does not
    show its own heading) above the chunk text, so a hit is readable on its own."""
    first_line = text.split("\n", 1)[0].lstrip("# ").strip()
    head = doc.title if doc.title != first_line else ""
    if section and section != first_line and section != doc.title:
        head = f"{head} › {section}" if head else section
    return f"{head}\n{text}" if head else text


def existing_chunks(store: MemoryApplication, doc: KnowledgeDocument) -> list[Memory]:
    """Every chunk memory the document ever had, by slot (slots are allocated contiguously)."""
    found: list[Memory] = []
    while (memory := store.memory(chunk_memory_id(doc, len(found)))) is not None:
        found.append(memory)
    return found


def plan_document(
    store: MemoryApplication, doc: KnowledgeDocument, cause: dict[str, Any], chunk_size: int, overlap: int
) -> tuple[list[Aggregate], dict[str, list[str]]]:
    """The raw input plus every chunk memory to create, revise or archive; no aggregates at
    all when the document already reads this way."""
    owner = owner_of(doc)
    changes: dict[str, list[str]] = {"created": [], "revised": [], "archived": [], "unchanged": []}
    chunks = [] if doc.deleted else chunk_document(clean_text(doc.text), chunk_size, overlap)
    contents = [chunk_content(doc, c.text, c.section) for c in chunks]
    had = existing_chunks(store, doc)
    active = [m for m in had if m.is_active]
    alignment = align([m.content for m in active], contents)
    base = document_event_id(doc)
    if not (alignment.revised or alignment.created or alignment.archived):
        changes["unchanged"] = [str(m.id) for m in active]
        if store.raw_input(base) is not None:
            return [], changes
        # nothing to change, but this record was never seen (e.g. deleting a document that does
        # not exist): its raw input still says it was consumed, for a redelivery to recognise
        return [RawInput(event_id=base, user_id=owner, input_type="knowledge",
                         payload=doc.model_dump(mode="json"), cause=cause)], changes
    event_id = _free_event_id(store, base)
    raw = RawInput(event_id=event_id, user_id=owner, input_type="knowledge",
                   payload=doc.model_dump(mode="json"), cause=cause)
    pending: list[Aggregate] = [raw]
    when = doc.updated_at.isoformat() if doc.updated_at else None
    reason = Reason.DELETED.value if doc.deleted else Reason.DOCUMENT_UPDATED.value

    def source(position: int) -> dict[str, Any]:
        return Source(event_id=event_id, message_id=f"{doc.doc_id}#{position}", chat_time=when,
                      role="knowledge").to_dict()

    def attributes(slot: int, position: int) -> dict[str, Any]:
        return {"kb_id": doc.kb_id, "doc_id": doc.doc_id, "chunk": slot, "position": position,
                "title": doc.title, "section": chunks[position].section}

    for old, new in alignment.revised:
        memory = active[old]
        memory.revise(content=contents[new], new_sources=[source(new)], stage=Stage.FAST.value,
                      reason=Reason.DOCUMENT_UPDATED.value, cause=cause, decided_by=DECIDED_BY,
                      attributes=attributes(int(memory.attributes.get("chunk", 0)), new))
        changes["revised"].append(str(memory.id))
        pending.append(memory)
    slot = len(had)
    for new in alignment.created:
        memory = Memory(
            id=chunk_memory_id(doc, slot), user_id=owner, kind=MemoryKind.KNOWLEDGE.value,
            key=f"{doc.kb_id}/{doc.doc_id}#{slot}", content=contents[new], stage=Stage.FAST.value,
            reason=Reason.NEW.value, cause=cause, decided_by=DECIDED_BY, sources=[source(new)],
            attributes=attributes(slot, new),
        )
        changes["created"].append(str(memory.id))
        pending.append(memory)
        slot += 1
    for old in alignment.archived:
        memory = active[old]
        memory.archive(stage=Stage.FAST.value, reason=reason, cause=cause, decided_by=DECIDED_BY)
        changes["archived"].append(str(memory.id))
        pending.append(memory)
    changes["unchanged"] = [str(active[old].id) for old, _ in alignment.unchanged]
    return pending, changes


def _free_event_id(store: MemoryApplication, base: str) -> str:
    """``base``, or ``base~n`` when an earlier generation of the document already used it."""
    if store.raw_input(base) is None:
        return base
    for generation in range(1, MAX_GENERATIONS):
        candidate = f"{base}~{generation}"
        if store.raw_input(candidate) is None:
            return candidate
    raise RuntimeError(f"document {base} has returned to this content too often")


def origin_of(view: dict[str, Any]) -> dict[str, Any]:
    """Where a memory came from, as a search over several sources labels it: a knowledge base
    (kb_id, doc_id, title; the user too for a user's own document) or the user's own input."""
    attributes = view.get("attributes") or {}
    if view.get("kind") == MemoryKind.KNOWLEDGE.value and attributes.get("kb_id"):
        origin = {"type": "kb", "kb_id": attributes["kb_id"], "doc_id": attributes.get("doc_id"),
                  "title": attributes.get("title") or ""}
        if kb_of(str(view.get("user_id") or "")) is None:
            origin["user_id"] = view.get("user_id")
        return origin
    return {"type": "user", "user_id": view.get("user_id")}


def origin_label(origin: dict[str, Any]) -> str:
    """``kb handbook/refunds.md`` or ``user alice``: how the CLI prints an origin."""
    if origin.get("type") == "kb":
        return f"kb {origin.get('kb_id')}/{origin.get('doc_id')}"
    return f"user {origin.get('user_id')}"


def document_order(view: dict[str, Any]) -> tuple[str, int, int]:
    """A chunk's place: its document, then its position in the version that last wrote it."""
    attributes = view.get("attributes") or {}
    chunk = int(attributes.get("chunk") or 0)
    return str(attributes.get("doc_id") or ""), int(attributes.get("position", chunk) or 0), chunk


def merge_sources(results: list[list[dict[str, Any]]], top_k: int) -> list[dict[str, Any]]:
    """Several sources' search results (the user's, each knowledge base's), each labelled with
    its ``origin`` and merged best first. Each source's scores are normalised within its own
    search, so the best hit of every source competes on equal terms: a question answered by the
    handbook and by the user's own words gets both. Ties go to the earlier source."""
    merged: list[tuple[float, int, dict[str, Any]]] = []
    for number, views in enumerate(results):
        for rank, view in enumerate(views):
            merged.append((-float(view.get("score") or 0.0), rank * len(results) + number,
                           {**view, "origin": origin_of(view)}))
    merged.sort(key=lambda item: item[:2])
    return [view for _, _, view in merged[:top_k]]
