"""The Fast stage: lose nothing.

Each message is lightly processed (control characters removed, whitespace folded,
long text chunked with overlap) and recorded at once as an ``episode`` memory, in
the same transaction as the raw input, so the next turn can already retrieve it.

Windowing: an episode's content is its own message only (what a reader is handed
stays small), but it also carries the preceding messages of the same envelope as
``attributes["context"]``, which the vector and lexical projections index with it.
A reply such as "Yeah, last year!" is then found by the question it answers. The
LoCoMo evaluation measured it (bench/results/REPORT.md): context of 2 preceding
turns lifted dense R@10 from ~31 to ~47 and BM25 R@10 from ~61 to ~70 at no extra
retrieved tokens. Its sources stay the message itself: the context is a retrieval
aid, not a claim about what the episode says.

System messages get no episode and are no episode's context. They are the app's
instructions to the assistant ("You are a helpful assistant."), not something the
user said, so they must never be returned as a user memory. Skipping them here is
better than recording an episode and archiving it at once: nothing is lost (the
raw input, system message included, is in the event log as the ``RawInput`` and
can be reprocessed), while create-then-archive would write two events and an index
tombstone for the most repeated text there is (apps resend the same system prompt
with every request) and would leave a window in which, on the Kafka path, the
prompt is searchable before the Fine stage catches up.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from domain.attachments import message_attachments
from domain.envelope import InputEnvelope, Message
from domain.memory import Memory
from domain.raw_input import episode_id
from domain.values import MemoryKind, Reason, Source, Stage

DECIDED_BY = "fast-stage"
_CONTROL = re.compile(r"[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]")
_SPACES = re.compile(r"[ \t\u3000]+")
_LINES = re.compile(r"\n{3,}")

WINDOW_MESSAGES = 2
"""Preceding messages (same envelope) kept as an episode's retrieval context; 0 = off."""
WINDOW_CHARS = 300
"""Each context message is cut to its last this-many characters, so context never dominates."""


def clean_text(text: str) -> str:
    text = unicodedata.normalize("NFC", text)
    text = _CONTROL.sub("", text).replace("\r\n", "\n").replace("\r", "\n")
    text = _SPACES.sub(" ", text)
    return _LINES.sub("\n\n", text).strip()


def chunk_text(text: str, size: int, overlap: int) -> list[str]:
    """Split at paragraph / sentence ends near ``size`` characters, overlapping a little."""
    if len(text) <= size:
        return [text]
    overlap = min(overlap, size // 2)
    chunks: list[str] = []
    start = 0
    while start < len(text):
        end = min(start + size, len(text))
        if end < len(text):
            window = text[start:end]
            cut = max(window.rfind(p) for p in ("\n", "。", "！", "？", ". ", "! ", "? "))
            if cut > size // 2:
                end = start + cut + 1
        chunks.append(text[start:end].strip())
        if end >= len(text):
            break
        start = max(end - overlap, start + 1)
    return [c for c in chunks if c]


def message_text(message: Message) -> str:
    """Readable text of a message; tool traces are summarised from their fields."""
    if message.role != "tool":
        return clean_text(message.text())
    parts = [f"tool {message.tool_name}"]
    if message.status:
        parts.append(f"status {message.status}")
    if message.latency_ms is not None:
        parts.append(f"latency {message.latency_ms:.0f} ms")
    body = clean_text(message.text())
    if body:
        parts.append(body)
    return "; ".join(parts)


def message_id_of(envelope: InputEnvelope, index: int) -> str:
    return envelope.messages[index].message_id or f"{envelope.event_id}#{index}"


def source_of(envelope: InputEnvelope, index: int) -> dict[str, Any]:
    """One message as a memory's source; its images and files too (``attachments``, domain/attachments.py)."""
    message = envelope.messages[index]
    source = Source(
        event_id=envelope.event_id,
        message_id=message_id_of(envelope, index),
        conversation_id=envelope.conversation_id,
        chat_time=message.chat_time.isoformat() if message.chat_time else None,
        role=message.role,
    ).to_dict()
    attachments = message_attachments(message)
    if attachments:
        source["attachments"] = attachments
    return source


def window_context(envelope: InputEnvelope, index: int, size: int | None = None) -> list[dict[str, str]]:
    """The ``size`` messages before ``index`` in the envelope, oldest first, as speaker + text."""
    size = WINDOW_MESSAGES if size is None else size
    context: list[dict[str, str]] = []
    for message in envelope.messages[max(0, index - size):index]:
        if message.role == "system":
            continue  # instructions to the assistant, not conversation (see the module doc)
        text = message_text(message)
        if text:
            # keep the end of a long message: it is what the next message answers
            cut = text if len(text) <= WINDOW_CHARS else "… " + text[-WINDOW_CHARS:].split(" ", 1)[-1]
            context.append({"speaker": message.name or message.role, "text": cut})
    return context


def build_episodes(
    envelope: InputEnvelope, cause: dict[str, Any], chunk_chars: int, chunk_overlap: int,
    scope: str | None = None,
) -> list[Memory]:
    """One episode per message (per chunk of a long message), with deterministic IDs."""
    episodes: list[Memory] = []
    for index, message in enumerate(envelope.messages):
        if message.role == "system":
            continue  # never a user memory; the raw input keeps it (see the module doc)
        text = message_text(message)
        if not text:
            continue
        chunks = chunk_text(text, chunk_chars, chunk_overlap)
        context = window_context(envelope, index)
        for part, chunk in enumerate(chunks):
            attributes: dict[str, Any] = {
                "speaker": message.name or message.role,
                "chunk": part,
                "chunks": len(chunks),
            }
            if context and part == 0:  # later chunks follow their own previous chunk
                attributes["context"] = context
            suffix = str(index) if part == 0 else f"{index}.{part}"
            memory = Memory(
                id=episode_id(envelope.event_id, suffix, scope),
                user_id=envelope.user_id,
                conversation_id=envelope.conversation_id,
                agent_id=envelope.agent_id,
                app_id=envelope.app_id,
                kind=MemoryKind.EPISODE.value,
                key=f"episode.{message.role}",
                content=chunk,
                stage=Stage.FAST.value,
                reason=Reason.NEW.value,
                cause=cause,
                decided_by=DECIDED_BY,
                tags=list(envelope.tags),
                sources=[source_of(envelope, index)],
                attributes=attributes,
            )
            episodes.append(memory)
    return episodes
