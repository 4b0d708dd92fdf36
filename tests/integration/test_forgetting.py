"""Forgetting: after ``forget`` no byte of the user's content is left in any file under
the data dir nor in the PostgreSQL store, the audit trail stays, other users see the same."""

from __future__ import annotations

import base64
import json
import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings as hsettings, strategies as st

import memstream
from domain.dead_letter import DeadLetter

SECRET = "Quokkazebra7342"
SECRET_ZH = "鲸鱼岛秘密"


def _patterns(secret: str) -> list[bytes]:
    """The secret as UTF-8, UTF-16 (both byte orders), and the base64 characters that
    only its own bytes determine, at each of the three alignments."""
    raw = secret.encode("utf-8")
    found = [raw, secret.encode("utf-16-le"), secret.encode("utf-16-be")]
    for shift in range(3):
        encoded = base64.b64encode(b"\0" * shift + raw)
        first = -(-(8 * shift) // 6)  # the first character whose 6 bits all come from the secret
        last = (8 * (shift + len(raw))) // 6  # one past the last such character
        found.append(encoded[first:last])
    return found


def scan_files(root: Path, secrets: list[str]) -> list[str]:
    patterns = [p for s in secrets for p in _patterns(s)]
    hits = []
    for folder, _, files in os.walk(root):
        for name in files:
            data = (Path(folder) / name).read_bytes()
            hits += [f"{folder}/{name}: {p!r}" for p in patterns if p in data]
    return hits


def scan_postgres(url: str, secrets: list[str]) -> list[str]:
    """SELECT every text, json and bytea column of every table in the store's schema."""
    import psycopg

    dsn, _, query = url.partition("?")
    schema = query.split("schema=")[1]
    patterns = [p for s in secrets for p in _patterns(s)]
    hits = []
    with psycopg.connect(dsn) as conn:
        tables = [r[0] for r in conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s", (schema,))]
        assert tables, "no tables in the schema"
        for table in tables:
            for row in conn.execute(f'SELECT * FROM "{schema}"."{table}"'):
                for value in row:
                    data = (bytes(value) if isinstance(value, (bytes, memoryview))
                            else json.dumps(value, ensure_ascii=False).encode() if isinstance(value, (dict, list))
                            else str(value).encode("utf-8"))
                    hits += [f"{table}: {p!r}" for p in patterns if p in data]
    return hits


def _ingest(ms) -> None:
    ms.add([{"role": "user", "content": f"I live in Berlin. My nickname is {SECRET}.",
             "chat_time": "2024-05-01T10:00:00+00:00"}], user_id="alice", event_id="a1", conversation_id="c1")
    ms.add([{"role": "user", "content": f"I moved to Munich. I have a dog named {SECRET}.",
             "chat_time": "2024-06-01T10:00:00+00:00"}], user_id="alice", event_id="a2", conversation_id="c1")
    ms.add([{"role": "user", "content": f"我是{SECRET_ZH}，现在在上海居住。",
             "chat_time": "2024-06-02T10:00:00+00:00"}], user_id="alice", event_id="a3", conversation_id="c2")
    ms.add([{"role": "user", "content": "I have a cat named Tom. I live in Lisbon.",
             "chat_time": "2024-05-02T10:00:00+00:00"}], user_id="bob", event_id="b1")
    # a dead letter keyed by the user, its record holding the secret
    record = json.dumps({"user_id": "alice", "messages": [{"content": f"broken {SECRET}"}]}).encode()
    ms.runtime.store.save(DeadLetter("memstream.messages", 0, 7, "alice", base64.b64encode(record).decode(),
                                     "bad record", "ValueError", "fast"))


def _forget_and_check(ms, data_dir: Path, pg_url: str | None = None) -> None:
    _ingest(ms)
    assert any(SECRET in m["content"] for m in ms.memories(user_id="alice", include_archived=True))
    assert ms.search(SECRET, user_id="alice", top_k=3)
    bob_before = ms.memories(user_id="bob", include_archived=True)
    bob_search = [(r["memory_id"], r["score"]) for r in ms.search("where does he live", user_id="bob")]
    ids = [m["memory_id"] for m in ms.memories(user_id="alice", include_archived=True)]
    if pg_url:
        assert scan_postgres(pg_url, [SECRET])  # the scans do see content (the timeline's rows)
    else:
        assert scan_files(data_dir, [SECRET])

    report = ms.forget(user_id="alice", reason="GDPR Art. 17 request")
    assert report["key_deleted"] and report["memories"] == len(ids) and report["index_points"] >= 1

    assert ms.memories(user_id="alice") == [] and ms.search(SECRET, user_id="alice") == []
    # the audit trail: which memories existed and when they changed, without content
    audit = ms.memories(user_id="alice", include_archived=True)
    assert sorted(m["memory_id"] for m in audit) == sorted(ids)
    assert all(m["content"] == "" and m["status"] == "archived" for m in audit)
    assert all(len(ms.history(m)) >= 1 for m in ids)
    record = ms.runtime.store.repository.get(__import__("uuid").UUID(report["record_id"]))
    assert record.user_id == "alice" and record.reason == "GDPR Art. 17 request" and sorted(record.memory_ids) == sorted(ids)
    # other users see the same
    assert ms.memories(user_id="bob", include_archived=True) == bob_before
    assert [(r["memory_id"], r["score"]) for r in ms.search("where does he live", user_id="bob")] == bob_search
    # a replay from the event log rebuilds no content
    ms.runtime.timeline.clear()
    ms.runtime.read_side.projector.clear()
    ms.runtime.catch_up()
    assert ms.memories(user_id="alice") == [] and ms.search(SECRET, user_id="alice") == []
    assert all(m["content"] == "" for m in ms.memories(user_id="alice", include_archived=True))
    assert ms.memories(user_id="bob", include_archived=True) == bob_before
    ms.runtime.store.mapper.keys.forget_cached()
    ms.close()
    assert scan_files(data_dir, [SECRET, SECRET_ZH]) == []
    if pg_url:
        assert scan_postgres(pg_url, [SECRET, SECRET_ZH]) == []


def test_forget_a_user_on_sqlite(tmp_path, model_dir):
    data = tmp_path / "data"
    ms = memstream.open(data, extractor="rules", model_dir=model_dir)
    _forget_and_check(ms, data)


@pytest.mark.postgres
def test_forget_a_user_on_postgres(tmp_path, pg_url, model_dir):
    data = tmp_path / "data"
    ms = memstream.open(data, extractor="rules", model_dir=model_dir, event_store=pg_url)
    _forget_and_check(ms, data, pg_url)


def test_forget_one_memory_keeps_the_rest(tmp_path):
    data = tmp_path / "data"
    with memstream.open(data, extractor="rules", with_vectors=False) as ms:
        ms.add([{"role": "user", "content": f"I have a dog named {SECRET}.", "chat_time": "2024-05-01T10:00:00+00:00"}],
               user_id="carol", event_id="c1")
        ms.add([{"role": "user", "content": "I work as a nurse.", "chat_time": "2024-05-02T10:00:00+00:00"}],
               user_id="carol", event_id="c2")
        dog = [m for m in ms.memories(user_id="carol") if "dog" in m["content"] and m["kind"] != "episode"][0]
        with pytest.raises(LookupError):
            ms.forget(user_id="someone-else", memory_id=dog["memory_id"])
        report = ms.forget(user_id="carol", memory_id=dog["memory_id"])
        assert not report["key_deleted"] and len(report["memory_ids"]) == 2  # the fact and its message's episode
        # every version of both, and the raw input's InputRecorded row (its source message redacted)
        assert report["rewritten_events"] == sum(len(ms.history(m)) for m in report["memory_ids"]) + 1
        left = ms.memories(user_id="carol")
        assert dog["memory_id"] not in {m["memory_id"] for m in left}
        assert any("nurse" in m["content"] for m in left)  # the user's key still opens the rest
        assert ms.history(dog["memory_id"])[0]["content"] == ""


def test_stores_written_before_sealing_still_load_and_forget(tmp_path, monkeypatch):
    data = tmp_path / "data"
    monkeypatch.setenv("SEALED_CONTENT", "off")
    with memstream.open(data, extractor="rules", with_vectors=False) as ms:
        ms.add([{"role": "user", "content": f"I have a dog named {SECRET}.", "chat_time": "2024-05-01T10:00:00+00:00"}],
               user_id="dave", event_id="d1")
    assert SECRET.encode() in (data / "events.sqlite").read_bytes()  # stored in the clear
    monkeypatch.delenv("SEALED_CONTENT")
    with memstream.open(data, extractor="rules", with_vectors=False) as ms:
        assert any(SECRET in m["content"] for m in ms.memories(user_id="dave"))  # legacy events decode
        ms.add([{"role": "user", "content": "I work as a nurse.", "chat_time": "2024-05-02T10:00:00+00:00"}],
               user_id="dave", event_id="d2")
        report = ms.forget(user_id="dave")
        assert report["rewritten_events"] >= 2 and report["key_deleted"]
        assert ms.memories(user_id="dave") == []
    assert scan_files(data, [SECRET, "nurse"]) == []


# ---------------------------------------------------------------- property: B never changes

_SENTENCES = ["I live in {c}.", "I have a dog named {n}.", "I work as a {j}.", "I love {f}.",
              "My sister {n} lives in {c}.", "I play the guitar every weekend.", "I moved to {c}."]
_FILL = st.fixed_dictionaries({"c": st.sampled_from(["Berlin", "Paris", "Oslo", "Lima"]),
                               "n": st.sampled_from(["Rex", "Anna", "Bo"]),
                               "j": st.sampled_from(["nurse", "pilot", "chef"]),
                               "f": st.sampled_from(["sushi", "jazz", "hiking"])})
_TURNS = st.lists(st.tuples(st.sampled_from(_SENTENCES), _FILL), min_size=1, max_size=4)


@pytest.fixture(scope="module")
def shared_model(model_dir):
    from application.settings import Settings
    from projections.embedding.embedder import open_embedder

    with tempfile.TemporaryDirectory() as tmp:
        embedder = open_embedder(Settings(data_dir=Path(tmp), model_dir=model_dir))
        yield getattr(embedder, "inner", embedder)


@hsettings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(a_turns=_TURNS, b_turns=_TURNS, forget_one=st.booleans())
def test_forgetting_a_never_changes_what_b_sees(shared_model, a_turns, b_turns, forget_one):
    from projections.embedding.cache import CachedEmbedder

    with tempfile.TemporaryDirectory() as tmp:
        ms = memstream.open(Path(tmp) / "data", extractor="rules")
        ms.runtime.embedder_part.provide(CachedEmbedder(shared_model, Path(tmp) / "data" / "embedding-cache.sqlite"))
        try:
            for i in range(max(len(a_turns), len(b_turns))):
                for user, turns in (("A", a_turns), ("B", b_turns)):
                    if i < len(turns):
                        sentence, fill = turns[i]
                        ms.add([{"role": "user", "content": sentence.format(**fill),
                                 "chat_time": f"2024-0{1 + i}-0{1 if user == 'A' else 2}T10:00:00+00:00"}],
                               user_id=user, event_id=f"{user}{i}")
            queries = ["where do they live", "pets", "job", b_turns[-1][0].format(**b_turns[-1][1])]
            before = (ms.memories(user_id="B", include_archived=True),
                      [ms.search(q, user_id="B", top_k=5) for q in queries])
            a_memories = ms.memories(user_id="A")
            if forget_one and a_memories:
                ms.forget(user_id="A", memory_id=a_memories[0]["memory_id"])
            else:
                ms.forget(user_id="A")
            after = (ms.memories(user_id="B", include_archived=True),
                     [ms.search(q, user_id="B", top_k=5) for q in queries])
            assert after == before
        finally:
            ms.close()


# ------------------------------------------- one memory: its source messages go too

PLAN = "Fjordwhistle9"


def _one_memory_forgotten(ms):
    """Alice's Norway plan (the last message of input a1, after her job in the same input:
    an episode of a later message would hold it as context, docs/lifecycle.md) and her cat
    (another input); returns the id of the memory to forget."""
    ms.add([{"role": "user", "content": "I work as a nurse.", "chat_time": "2024-05-01T10:00:00+00:00"},
            {"role": "user", "content": f"I plan a trip to Norway with {PLAN} next June.",
             "chat_time": "2024-05-01T10:01:00+00:00"}],
           user_id="alice", event_id="a1")
    ms.add([{"role": "user", "content": "I have a cat named Tom.", "chat_time": "2024-05-02T10:00:00+00:00"}],
           user_id="alice", event_id="a2")
    plan = [m for m in ms.memories(user_id="alice") if PLAN in m["content"] and m["kind"] != "episode"]
    assert len(plan) == 1
    return plan[0]["memory_id"]


def test_forget_one_memory_redacts_its_source_messages(tmp_path, model_dir):
    data = tmp_path / "data"
    with memstream.open(data, extractor="rules", model_dir=model_dir) as ms:
        plan = _one_memory_forgotten(ms)
        assert scan_files(data, [PLAN])  # the scan sees it before
        report = ms.forget(user_id="alice", memory_id=plan)
        assert not report["key_deleted"] and plan in report["memory_ids"]
        raw = ms.runtime.store.raw_input("a1", "alice")
        assert PLAN not in json.dumps(raw.payload) and "nurse" in raw.payload["messages"][0]["content"]
        assert raw.payload["messages"][1]["role"] == "user"  # the audit: who said something, and when
        left = ms.memories(user_id="alice", include_archived=True)
        assert all(PLAN not in m["content"] for m in left)
        assert any("nurse" in m["content"] for m in ms.memories(user_id="alice"))
        assert any("Tom" in m["content"] for m in ms.memories(user_id="alice"))
        assert ms.search(f"Norway {PLAN}", user_id="alice", top_k=10) == [] or all(
            PLAN not in r["content"] for r in ms.search(f"Norway {PLAN}", user_id="alice", top_k=10))
    assert scan_files(data, [PLAN]) == []


def test_reprocess_after_forgetting_one_memory_does_not_derive_it_again(tmp_path):
    with memstream.open(tmp_path / "data", extractor="rules", with_vectors=False) as ms:
        plan = _one_memory_forgotten(ms)
        ms.forget(user_id="alice", memory_id=plan)
        report = ms.reprocess("again", extractor_name="rules")
        assert report["inputs"] == 2 and report["skipped_forgotten"] == 0
        diffs = ms.compare("again")
        created = [m for d in diffs for m in d["created"]]
        assert all(PLAN not in m["content"] and "Norway" not in m["content"] for m in created), created
        assert diffs == []  # the set holds what the live set still holds: nurse, Tom, and no plan
        ms.switch("again")
    with memstream.open(tmp_path / "data", extractor="rules", with_vectors=False) as ms:
        again = ms.memories(user_id="alice", include_archived=True)
        assert all(PLAN not in m["content"] and "Norway" not in m["content"] for m in again)
        assert any("nurse" in m["content"] for m in again) and any("Tom" in m["content"] for m in again)


def test_a_forget_drops_the_texts_the_running_extractor_keeps_in_memory(tmp_path):
    """The rule extractor memoises content words and paraphrase vectors of the texts it
    compared; a process that forgets and keeps running must not hold the forgotten words."""
    with memstream.open(tmp_path / "data", kafka_url="", extractor="rules") as ms:
        ms.add([{"role": "user", "content": f"I work as a nurse at {SECRET} Hospital."}], user_id="ana", event_id="a1")
        ms.add([{"role": "user", "content": f"I now work as a pilot at {SECRET} Airlines."}], user_id="ana",
               event_id="a2")
        extractor = ms.runtime.service.fine_stage.extractor._part()
        similar = extractor.consolidator.similar

        def kept() -> list[str]:
            words = [] if extractor._words.cache_info().currsize == 0 else ["content words"]
            return words + [t for t in getattr(similar, "_rows", {}) if SECRET in t]

        assert kept(), "the extractor keeps texts it compared (else this test proves nothing)"
        ms.forget(user_id="ana")
        assert kept() == []
