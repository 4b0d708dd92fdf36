"""The Fast stage's text handling: cleaning, chunking, the retrieval window, and the
chunk episodes of a long message that the Fine stage must find again."""

from __future__ import annotations

import pytest

from application.fast_stage import WINDOW_CHARS, build_episodes, chunk_text, clean_text, window_context
from application.fine_stage import FineStage
from application.memory_app import MemoryApplication
from application.service import MemoryService
from domain.envelope import InputEnvelope
from domain.extraction import Decision
from domain.raw_input import episode_id
from tests.support.fakes import PlannedExtractor

# ------------------------------------------------------------------ clean_text


@pytest.mark.parametrize(("raw", "clean"), [
    ("  hello  ", "hello"),
    ("a \t\u3000 b", "a b"),  # spaces, tabs and ideographic spaces fold to one space
    ("a\r\nb\rc", "a\nb\nc"),  # every line ending becomes \n
    ("a\n\n\n\n\nb", "a\n\nb"),  # at most one blank line
    ("a\n\nb", "a\n\nb"),
    ("a\x00b\x07c\x1bd\x7fe", "abcde"),  # control characters go
    ("line\nnext", "line\nnext"),  # newlines stay
    ("Cafe\u0301", "Café"),  # NFC: the combining accent joins its letter
    ("我\u3000住在\t成都。", "我 住在 成都。"),
    ("\n\n", ""),
])
def test_clean_text(raw: str, clean: str) -> None:
    assert clean_text(raw) == clean


def test_clean_text_is_idempotent() -> None:
    once = clean_text(" a\r\n\r\n\r\n b\x00 \u3000c ")
    assert clean_text(once) == once


# ------------------------------------------------------------------ chunk_text


def spans(text: str, chunks: list[str]) -> list[tuple[int, int]]:
    """Where each chunk sits in ``text``, in order (each must be a piece of it)."""
    found, position = [], 0
    for chunk in chunks:
        start = text.find(chunk, position)
        assert start >= 0, f"chunk {chunk!r} is not in the text after {position}"
        found.append((start, start + len(chunk)))
        position = start + 1
    return found


def test_a_short_text_is_one_chunk() -> None:
    assert chunk_text("short", 100, 10) == ["short"]
    assert chunk_text("x" * 100, 100, 10) == ["x" * 100]


def test_a_long_text_is_cut_at_sentence_ends_with_overlap() -> None:
    text = " ".join(f"Sentence number {i} is here." for i in range(40))
    chunks = chunk_text(text, 100, 20)
    assert len(chunks) > 5 and all(len(c) <= 100 for c in chunks)
    assert all(c.endswith("here.") for c in chunks)  # cut after a sentence, not inside one
    placed = spans(text, chunks)
    assert placed[0][0] == 0 and placed[-1][1] == len(text)  # the whole text ...
    for (_, end), (next_start, _) in zip(placed, placed[1:]):
        assert next_start < end  # ... without a gap: each chunk overlaps the one before


def test_chinese_text_is_cut_after_its_full_stops() -> None:
    text = "".join(f"第{i}句话讲的是我住在成都的事情。" for i in range(30))
    chunks = chunk_text(text, 50, 5)
    assert len(chunks) > 3 and all(len(c) <= 50 for c in chunks)
    assert all(c.endswith("。") for c in chunks)
    placed = spans(text, chunks)
    assert placed[-1][1] == len(text)


def test_text_without_a_sentence_end_is_cut_at_the_size() -> None:
    chunks = chunk_text("x" * 250, 100, 30)
    assert [len(c) for c in chunks] == [100, 100, 100, 40]  # steps of size - overlap


def test_an_overlap_as_big_as_the_chunk_still_makes_progress() -> None:
    chunks = chunk_text("y" * 300, 100, 500)  # overlap is capped at half the size
    assert [len(c) for c in chunks] == [100, 100, 100, 100, 100]


# ------------------------------------------------------------------ window_context


def envelope(*messages: dict, event_id: str = "e1") -> InputEnvelope:
    return InputEnvelope.model_validate({"event_id": event_id, "user_id": "ana", "conversation_id": "c1",
                                         "messages": list(messages)})


def say(content: str, role: str = "user", name: str | None = None, message_id: str | None = None) -> dict:
    return {"role": role, "content": content, "name": name, "message_id": message_id}


def test_the_window_is_the_messages_before_oldest_first() -> None:
    env = envelope(say("one", name="Ana"), say("two", role="assistant"), say("three", name="Ana"), say("four"))
    assert window_context(env, 0) == []
    assert window_context(env, 1) == [{"speaker": "Ana", "text": "one"}]
    assert window_context(env, 3) == [{"speaker": "assistant", "text": "two"}, {"speaker": "Ana", "text": "three"}]
    assert window_context(env, 3, size=3)[0] == {"speaker": "Ana", "text": "one"}
    assert window_context(env, 3, size=0) == []


def test_the_window_keeps_the_end_of_a_long_message() -> None:
    long = " ".join(f"word{i}" for i in range(200))
    (context,) = window_context(envelope(say(long), say("and then?")), 1)
    assert context["text"].startswith("… ") and context["text"].endswith("word199")
    kept = context["text"].removeprefix("… ")
    assert len(kept) <= WINDOW_CHARS and long.endswith(kept)
    assert kept.split(" ", 1)[0] in long.split(" ")  # starts at a whole word


def test_the_window_shows_a_tool_call_as_its_summary() -> None:
    tool = {"role": "tool", "tool_name": "weather", "status": "ok", "latency_ms": 12.4, "content": "sunny"}
    (context,) = window_context(envelope(tool, say("thanks")), 1)
    assert context == {"speaker": "tool", "text": "tool weather; status ok; latency 12 ms; sunny"}


# ------------------------------------------------------------------ multi-chunk episodes

LONG = " ".join(f"Sentence number {i} about my trip." for i in range(60))


def test_a_long_message_becomes_several_chunk_episodes() -> None:
    env = envelope(say("Tell me about it.", role="assistant"), say(LONG, message_id="m-long"), say("Nice!"))
    episodes = build_episodes(env, {"event_ids": ["e1"]}, chunk_chars=400, chunk_overlap=50)
    parts = [e for e in episodes if e.sources[0]["message_id"] == "m-long"]
    assert len(parts) == len(chunk_text(LONG, 400, 50)) > 2
    assert [e.id for e in parts] == [episode_id("e1", "1")] + [episode_id("e1", f"1.{i}") for i in range(1, len(parts))]
    assert [e.attributes["chunk"] for e in parts] == list(range(len(parts)))
    assert {e.attributes["chunks"] for e in parts} == {len(parts)}
    assert [e.content for e in parts] == chunk_text(LONG, 400, 50)
    # Only the first chunk carries the preceding message as context; later ones follow their chunk.
    assert parts[0].attributes["context"] == [{"speaker": "assistant", "text": "Tell me about it."}]
    assert all("context" not in e.attributes for e in parts[1:])
    short = [e for e in episodes if e not in parts]
    assert [e.attributes["chunks"] for e in short] == [1, 1]
    assert short[1].id == episode_id("e1", "2") and short[1].attributes["context"][-1]["text"].endswith("trip.")


def test_the_fine_stage_archives_every_chunk_of_a_covered_message() -> None:
    decision = Decision("create", kind="event", key="trip", content="Went on a trip.",
                        source_message_ids=("m-long",))
    store = MemoryApplication(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    extractor = PlannedExtractor({"e1": [decision]}, covered=["m-long"])
    service = MemoryService(store, FineStage(store, extractor), chunk_chars=400, chunk_overlap=50)
    outcome = service.ingest(envelope(say("Tell me about it.", role="assistant"), say(LONG, message_id="m-long")))
    (memory_id,) = outcome.created
    chunks = [store.memory(e) for e in outcome.episodes if store.memory(e).sources[0]["message_id"] == "m-long"]
    assert len(chunks) > 2
    assert [c.status for c in chunks] == ["archived"] * len(chunks)
    assert all(c.superseded_by == [memory_id] for c in chunks)
    assert sorted(outcome.archived) == sorted(str(c.id) for c in chunks)
    assert store.memory(episode_id("e1", "0")).is_active  # the uncovered message keeps its episode
