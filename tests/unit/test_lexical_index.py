"""The lexical (BM25) projection: tokenizer, tenant isolation, version guard, filters, fusion.

It must behave like the vector index under replays (an older upsert never wins,
a delete blocks a late older upsert, clear empties it), or hybrid search would
return archived or stale versions.
"""

from __future__ import annotations

from domain.ports import IndexPoint, ScoredPoint, SearchFilter
from projections.lexical_index import LexicalIndex, tokenize
from projections.search import fuse, mentioned_speakers


def point(mid: str, version: int, content: str, user: str = "u1", kind: str = "episode",
          speaker: str = "Ana", context: list | None = None, ts: float = 1.0) -> IndexPoint:
    attrs = {"speaker": speaker, **({"context": context} if context else {})}
    payload = {"memory_id": mid, "version": version, "user_id": user, "kind": kind, "key": f"{kind}.x",
               "content": content, "tags": ["t"], "attributes": attrs, "updated_ts": ts}
    return IndexPoint(mid, version, user, kind, f"{kind}.x", [0.0], payload)


def test_tokenize_english_and_chinese():
    assert tokenize("Melanie's paintings were running!") == ["melani", "paint", "run"]
    assert tokenize("我住在上海") == ["我住", "住在", "在上", "上海"]
    assert tokenize("I love 火锅") == ["火锅", "love"]


def test_delete_batch_guards_each_memory_by_its_own_version():
    idx = LexicalIndex()
    idx.upsert([point("a", 3, "Lisbon"), point("b", 3, "Lisbon too"), point("c", 3, "Lisbon again")])
    flt = SearchFilter(user_id="u1")
    assert len(idx.search("Lisbon", flt, 5)) == 3  # the user's corpus is now cached
    idx.delete([("a", 2), ("b", 4), ("c", 1), ("c", 6)])  # a: older, kept; c: highest wins
    assert [h.memory_id for h in idx.search("Lisbon", flt, 5)] == ["a"] and idx.count() == 1
    idx.upsert([point("c", 5, "Lisbon replayed")])  # older than c's tombstone
    assert idx.count() == 1
    idx.delete([])


def test_search_is_per_user_and_ranks_by_bm25():
    idx = LexicalIndex()
    idx.upsert([point("a", 1, "I painted a lake sunrise last year"), point("b", 1, "We went camping"),
                point("c", 1, "sunrise sunrise painting", user="u2")])
    hits = idx.search("When did Ana paint a sunrise?", SearchFilter(user_id="u1"), 10)
    assert hits[0].memory_id == "a"
    assert hits[0].payload == {"memory_id": "a", "kind": "episode", "updated_ts": 1.0,
                               "attributes": {"speaker": "Ana"}}  # what ranking reads, no view
    assert {h.memory_id for h in hits} == {"a", "b"}  # "b" only through its speaker's name
    assert idx.search("sunrise", SearchFilter(user_id="nobody"), 10) == []


def test_version_guard_and_tombstones():
    idx = LexicalIndex()
    idx.upsert([point("a", 2, "lives in Lisbon")])
    idx.upsert([point("a", 1, "lives in Berlin")])  # older: ignored
    flt = SearchFilter(user_id="u1")
    assert idx.search("Berlin", flt, 5) == [] and idx.search("Lisbon", flt, 5)[0].memory_id == "a"
    idx.delete([("a", 3)])
    idx.upsert([point("a", 2, "lives in Lisbon")])  # replayed after the delete: stays deleted
    assert idx.search("Lisbon", flt, 5) == [] and idx.count() == 0
    idx.upsert([point("b", 1, "Lisbon again")])
    idx.clear()
    assert idx.count() == 0 and idx.search("Lisbon", flt, 5) == []


def test_filters_and_context_tokens():
    idx = LexicalIndex()
    idx.upsert([point("a", 1, "Yes, last year!", context=[{"speaker": "Bo", "text": "Did you paint that sunrise?"}]),
                point("f", 1, "The user paints sunrises", kind="fact", ts=5.0)])
    assert {h.memory_id for h in idx.search("sunrise", SearchFilter(user_id="u1"), 5)} == {"a", "f"}
    assert [h.memory_id for h in idx.search("sunrise", SearchFilter(user_id="u1", kinds=("fact",)), 5)] == ["f"]
    assert [h.memory_id for h in idx.search("sunrise", SearchFilter(user_id="u1", updated_from=2.0), 5)] == ["f"]


def test_an_older_table_layout_is_dropped_and_reported(tmp_path):
    import sqlite3

    path = tmp_path / "lexical.sqlite"
    with sqlite3.connect(path) as db:  # the layout that stored views as JSON
        db.execute("CREATE TABLE lexical (memory_id TEXT PRIMARY KEY, version INTEGER NOT NULL, user_id TEXT,"
                   " kind TEXT, key TEXT, tags TEXT, updated_ts REAL, tokens TEXT, payload TEXT)")
        db.execute("INSERT INTO lexical VALUES ('a', 1, 'u1', 'episode', 'k', '[]', 1.0, '[\"lisbon\"]', '{}')")
    idx = LexicalIndex(path)
    assert idx.reset_on_open and idx.count() == 0
    idx.upsert([point("a", 1, "Lisbon")])
    idx.close()
    again = LexicalIndex(path)
    assert not again.reset_on_open and again.search("Lisbon", SearchFilter(user_id="u1"), 5)[0].memory_id == "a"


def test_fuse_and_speaker_mentions():
    dense = [ScoredPoint("a", 0.9, {"k": 1}), ScoredPoint("b", 0.5, {"k": 2})]
    lexical = [ScoredPoint("b", 8.0, {"k": 2}), ScoredPoint("c", 4.0, {"k": 3})]
    fused = fuse(dense, lexical, candidates=10, dense_weight=0.25)
    assert fused["b"][0] == 0.75 and fused["a"][0] == 0.25 and fused["c"][0] == 0.375
    assert mentioned_speakers("When did Melanie paint?", {"Melanie", "Caroline"}) == {"Melanie"}
    assert mentioned_speakers("小忆住在哪里", {"小忆", "user"}) == {"小忆"}
    assert mentioned_speakers("What did Al say?", {"Al Smith"}) == set()  # too short to trust


def test_hybrid_index_forwards_writes_and_detects_a_missing_lexical_index():
    from projections.hybrid import HybridIndex

    class Dense:
        def __init__(self):
            self.points = {}

        def upsert(self, points):
            self.points.update({p.memory_id: p for p in points})

        def delete(self, tombstones):
            for memory_id, _ in tombstones:
                self.points.pop(memory_id, None)

        def count(self):
            return len(self.points)

        def clear(self):
            self.points.clear()

    dense = Dense()
    dense.upsert([point("old", 1, "projected before the lexical index existed")])
    index = HybridIndex(dense, LexicalIndex())
    assert not index.in_step()
    index.clear()
    index.upsert([point("a", 1, "Lisbon"), point("b", 1, "Berlin")])
    index.delete([("b", 2)])
    assert index.in_step() and index.count() == 1 and index.lexical.count() == 1
    dense.reset_on_open = True  # emptied for a layout upgrade: counts may agree, the position does not
    assert not index.in_step()


def test_query_period():
    from datetime import datetime, timezone

    from projections.search import query_period

    def days(q):
        p = query_period(q)
        return p and [datetime.fromtimestamp(x, timezone.utc).strftime("%Y-%m-%d") for x in p]

    assert days("What did John do on 31 October, 2022?") == ["2022-10-31", "2022-11-01"]
    assert days("Which game in April 2022?") == ["2022-04-01", "2022-05-01"]
    assert days("July 4th, 2020") == ["2020-07-04", "2020-07-05"]
    assert days("我2023年5月去了哪里") == ["2023-05-01", "2023-06-01"]
    assert days("what happened in 2021") == ["2021-01-01", "2022-01-01"]
    assert days("Feb 30, 2023") == ["2023-01-01", "2024-01-01"]  # no such day: the year
    assert days("When did Melanie paint a sunrise?") is None
