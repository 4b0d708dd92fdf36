"""A lexical (BM25) index of current memories, kept per user, next to the vector index.

Why: dense embeddings from a small multilingual model miss exact names, rare
nouns and numbers ("Which book did Melanie read?"); BM25 finds those. LoCoMo
measured it: BM25 over raw turns beats the same model's dense retrieval on
single-hop questions, and fusing the two beats both (bench/results/REPORT.md).

Lifecycle: this is a projection, written only through ``HybridIndex`` (see
``projections/hybrid.py``), which forwards every ``upsert``/``delete``/``clear``
of the vector projection here too. It has the same version guard as the vector
index (an older upsert never overwrites a newer version or resurrects a deleted
memory), so a re-applied batch or an out-of-order replay is harmless, and
``clear()`` + catch-up rebuilds it from the event log like every projection.

Storage: one SQLite table (tokens and the filter/ranking fields; the memory views
live in the vector index). Scoring runs in memory over one user's documents,
loaded on the user's first query (~1 ms per 100 documents) and then kept current
by this process's own writes (so a chat that writes a turn and searches never
reloads); a write by another process (``PRAGMA data_version``) drops the cache.
An LRU bounds how many users are held at once.
"""

from __future__ import annotations

import json
import math
import re
import sqlite3
import threading
import unicodedata
from collections import OrderedDict
from pathlib import Path
from typing import Any, Iterable, Sequence

from domain.ports import IndexPoint, ScoredPoint, SearchFilter
from projections.vector_index.payload import latest_per_id, latest_tombstones

_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)?")
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af]+")
STOPWORDS = frozenset("""
a about above after again against all am an and any are as at be because been before being
below between both but by can could did do does doing down during each few for from further
had has have having he her here hers herself him himself his how i if in into is it its itself
just me more most my myself no nor not now of off on once only or other our ours ourselves out
over own same she should so some such than that the their theirs them themselves then there
these they this those through to too under until up very was we were what when where which
while who whom why will with would you your yours yourself yourselves s t d ll m re ve don
didn doesn isn wasn weren won wouldn shouldn couldn also yeah oh hey hi really so yes get got
""".split())

try:  # ships with fastembed (its BM25 model uses it); a crude suffix rule otherwise
    from py_rust_stemmers import SnowballStemmer

    _stem = SnowballStemmer("english").stem_word
except ImportError:  # pragma: no cover
    def _stem(word: str) -> str:
        for suffix in ("ing", "ed", "es", "s"):
            if len(word) > len(suffix) + 2 and word.endswith(suffix):
                return word[: -len(suffix)]
        return word


def tokenize(text: str) -> list[str]:
    """English: lower-cased, stop words dropped, Snowball-stemmed words; CJK: character
    bigrams (and lone characters), which is what BM25 over Chinese usually uses."""
    text = unicodedata.normalize("NFKC", text or "").lower().replace("\u2019", "'")
    tokens: list[str] = []
    for run in _CJK.findall(text):
        tokens.extend([run] if len(run) == 1 else [run[i:i + 2] for i in range(len(run) - 1)])
    for word in _WORD.findall(_CJK.sub(" ", text)):
        word = word.split("'")[0] if word.endswith(("'s", "'t", "'re", "'ll", "'ve", "'d", "'m")) else word
        if word not in STOPWORDS:
            tokens.append(_stem(word))
    return tokens


class BM25:
    """Okapi BM25 (Lucene's non-negative idf) over a mutable set of documents.

    Statistics (N, document frequencies, average length) are read at query time,
    so adding or removing one document is O(its terms), never a rebuild.

    Layout: plain dicts of str/int only (``postings``: term -> {doc: tf}; ``terms``:
    doc -> its distinct terms as a tuple). CPython does not track such dicts and
    tuples for garbage collection, so hundreds of cached users add almost nothing
    to a full collection; with sets and Counters they added ~1,800 tracked objects
    per 100 documents and full collections paused searches for 80-170 ms."""

    def __init__(self, k1: float = 1.2, b: float = 0.75) -> None:
        self.k1, self.b = k1, b
        self.terms: dict[Any, tuple[str, ...]] = {}
        self.length: dict[Any, int] = {}
        self.postings: dict[str, dict[Any, int]] = {}
        self.total = 0

    def add(self, doc: Any, tokens: Sequence[str]) -> None:
        self.remove(doc)
        counts: dict[str, int] = {}
        for token in tokens:
            counts[token] = counts.get(token, 0) + 1
        self.terms[doc] = tuple(counts)
        self.length[doc] = len(tokens)
        self.total += len(tokens)
        for term, f in counts.items():
            docs = self.postings.get(term)
            if docs is None:
                self.postings[term] = {doc: f}
            else:
                docs[doc] = f

    def remove(self, doc: Any) -> None:
        terms = self.terms.pop(doc, None)
        if terms is None:
            return
        self.total -= self.length.pop(doc)
        for term in terms:
            docs = self.postings[term]
            del docs[doc]
            if not docs:
                del self.postings[term]

    def scores(self, query: Iterable[str]) -> dict[Any, float]:
        n = len(self.length)
        if not n:
            return {}
        out: dict[Any, float] = {}
        k1, b, avgdl, length = self.k1, self.b, (self.total / n) or 1.0, self.length
        for term in sorted(set(query)):  # a fixed order: identical sums in every process
            docs = self.postings.get(term)
            if not docs:
                continue
            idf = math.log(1 + (n - len(docs) + 0.5) / (len(docs) + 0.5))
            for doc, f in docs.items():
                norm = k1 * (1 - b + b * length[doc] / avgdl)
                out[doc] = out.get(doc, 0.0) + idf * f * (k1 + 1) / (f + norm)
        return out


OWN_WEIGHT = 2
"""Times a memory's own text counts against its window context (a BM25F-style field
weight): a turn then outranks the next turns that merely quote it as context.
LoCoMo R@10: 74.5 with 1, 75.9 with 2."""


def lexical_tokens(payload: dict[str, Any]) -> list[str]:
    """What is indexed: the Fast stage's window context (the turns an episode
    answers), the content (``OWN_WEIGHT`` times), who said it and, for fine
    memories, their key."""
    attrs = payload.get("attributes") or {}
    context = " ".join(str(c.get("text") or "") for c in attrs.get("context") or [] if isinstance(c, dict))
    extra = [str(attrs.get("speaker") or "")]
    if payload.get("kind") != "episode":
        extra.append(str(payload.get("key") or "").replace(".", " ").replace("-", " "))
    return tokenize(context) + tokenize(payload.get("content") or "") * OWN_WEIGHT + tokenize(" ".join(extra))


def _matches(doc: tuple, flt: SearchFilter) -> bool:
    kind, key, tags, ts, _ = doc
    if flt.kinds and kind not in flt.kinds:
        return False
    if flt.keys and key not in flt.keys:
        return False
    if flt.tags and not set(flt.tags) & set(tags):
        return False
    if flt.updated_from is not None and (ts is None or ts < flt.updated_from):
        return False
    return not (flt.updated_to is not None and (ts is None or ts > flt.updated_to))


class _UserCorpus:
    """One user's documents: (kind, key, tags, updated_ts, speaker) tuples, and BM25 state
    (all of it untracked by the garbage collector, see ``BM25``)."""

    def __init__(self) -> None:
        self.docs: dict[str, tuple] = {}
        self.bm25 = BM25()

    def put(self, memory_id: str, kind: str, key: str, tags: Sequence[str], updated_ts: float | None,
            tokens: Sequence[str], speaker: str | None) -> None:
        self.docs[memory_id] = (kind, key, tuple(tags), updated_ts, speaker)
        self.bm25.add(memory_id, tokens)

    def drop(self, memory_id: str) -> None:
        self.docs.pop(memory_id, None)
        self.bm25.remove(memory_id)


def _speaker(payload: dict[str, Any]) -> str | None:
    return (payload.get("attributes") or {}).get("speaker")


_COLUMNS = ("memory_id", "version", "user_id", "kind", "key", "tags", "updated_ts", "speaker", "tokens")
"""Tokens are stored space-joined (no token contains a space), tags as JSON: a user's
corpus then loads with one ``split`` per document, ~10 us, instead of JSON decoding."""


class LexicalIndex:
    """Current-memory BM25 index with the vector index's version-guard semantics.

    It holds no memory views: search returns what ranking reads (kind, time,
    speaker); the views of the final results come from the vector index."""

    def __init__(self, path: Path | str = ":memory:", max_cached_users: int = 512) -> None:
        if str(path) != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA secure_delete=ON")  # replaced and purged rows leave no tokens in free space
        self.reset_on_open = self._drop_older_layout()
        """True when the file held an older table layout and was emptied: the projection
        must be rebuilt from the event log."""
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS lexical (memory_id TEXT PRIMARY KEY, version INTEGER NOT NULL,"
            " user_id TEXT, kind TEXT, key TEXT, tags TEXT, updated_ts REAL, speaker TEXT,"
            " tokens TEXT)")  # user_id NULL = tombstone
        self._db.execute("CREATE INDEX IF NOT EXISTS lexical_user ON lexical(user_id)")
        self._lock = threading.RLock()
        self._cache: OrderedDict[str, _UserCorpus] = OrderedDict()
        self._max_users = max_cached_users
        self._data_version = self._version()

    def _drop_older_layout(self) -> bool:
        columns = tuple(r[1] for r in self._db.execute("PRAGMA table_info(lexical)"))
        if not columns or columns == _COLUMNS:
            return False
        with self._db:
            self._db.execute("DROP TABLE lexical")
        return True

    def _version(self) -> int:
        return int(self._db.execute("PRAGMA data_version").fetchone()[0])

    def _known(self, ids: list[str]) -> dict[str, tuple[int, str | None]]:
        marks = ",".join("?" * len(ids))
        rows = self._db.execute(f"SELECT memory_id, version, user_id FROM lexical WHERE memory_id IN ({marks})", ids)
        return {r[0]: (r[1], r[2]) for r in rows}

    def upsert(self, points: Sequence[IndexPoint]) -> None:
        latest = latest_per_id(points)
        if not latest:
            return
        with self._lock:
            self._check_other_writers()
            known = self._known(list(latest))
            fresh = [p for mid, p in latest.items() if known.get(mid, (-1, None))[0] < p.version]
            rows = []
            for p in fresh:
                tags = [str(t) for t in p.payload.get("tags") or []]
                rows.append((p.memory_id, int(p.version), p.user_id, p.kind, p.key, tags,
                             p.payload.get("updated_ts"), _speaker(p.payload), lexical_tokens(p.payload)))
            with self._db:
                self._db.executemany("INSERT OR REPLACE INTO lexical VALUES (?,?,?,?,?,?,?,?,?)",
                                     [(*r[:5], json.dumps(r[5]), r[6], r[7], " ".join(r[8])) for r in rows])
            for mid, _, user, kind, key, tags, ts, speaker, tokens in rows:
                previous_user = known.get(mid, (-1, None))[1]
                if previous_user is not None and previous_user != user and previous_user in self._cache:
                    self._cache[previous_user].drop(mid)
                if user in self._cache:
                    self._cache[user].put(mid, kind, key, tags, ts, tokens, speaker)

    def delete(self, tombstones: Sequence[tuple[str, int]]) -> None:
        """One transaction for the batch (a commit per memory cost the projection ~10 %)."""
        latest = latest_tombstones(tombstones)
        if not latest:
            return
        with self._lock:
            self._check_other_writers()
            known = self._known(list(latest))
            gone = [(mid, v) for mid, v in latest.items() if known.get(mid, (-1, None))[0] <= v]
            if not gone:
                return
            with self._db:
                self._db.executemany("INSERT OR REPLACE INTO lexical (memory_id, version) VALUES (?, ?)", gone)
            for mid, _ in gone:
                user = known.get(mid, (-1, None))[1]
                if user in self._cache:
                    self._cache[user].drop(mid)

    def _check_other_writers(self) -> None:
        """Another connection committed since we last looked: our caches may be stale."""
        version = self._version()
        if version != self._data_version:
            self._cache.clear()
            self._data_version = version

    def _corpus(self, user_id: str) -> _UserCorpus:
        self._check_other_writers()
        corpus = self._cache.get(user_id)
        if corpus is None:
            corpus = _UserCorpus()
            for mid, kind, key, tags, ts, speaker, tokens in self._db.execute(
                    "SELECT memory_id, kind, key, tags, updated_ts, speaker, tokens FROM lexical"
                    " WHERE user_id = ?", (user_id,)):
                corpus.put(mid, kind, key, json.loads(tags), ts, tokens.split(), speaker)
            self._cache[user_id] = corpus
            while len(self._cache) > self._max_users:
                self._cache.popitem(last=False)
        self._cache.move_to_end(user_id)
        return corpus

    def search(self, query: str, flt: SearchFilter, top_k: int) -> list[ScoredPoint]:
        """BM25 over the user's current memories; raw BM25 scores, best first (ties by id).
        Each hit's payload is ``kind``, ``updated_ts`` and ``attributes.speaker``."""
        if top_k <= 0:
            return []
        terms = tokenize(query)
        with self._lock:
            corpus = self._corpus(flt.user_id)
            scored = [(s, mid) for mid, s in corpus.bm25.scores(terms).items()
                      if s > 0 and _matches(corpus.docs[mid], flt)]
            scored.sort(key=lambda x: (-x[0], x[1]))
            out = []
            for s, mid in scored[:top_k]:
                kind, _, _, ts, speaker = corpus.docs[mid]
                payload = {"memory_id": mid, "kind": kind, "updated_ts": ts, "attributes": {"speaker": speaker}}
                out.append(ScoredPoint(mid, s, payload))
            return out

    def purge(self, memory_ids: Sequence[str]) -> int:
        """Forgetting: delete these memories' rows (zeroed: ``secure_delete``), then truncate
        the WAL so no older page image keeps them. Returns how many rows went."""
        ids = [str(m) for m in memory_ids]
        removed = 0
        with self._lock:
            for start in range(0, len(ids), 500):
                part = ids[start:start + 500]
                marks = ",".join("?" * len(part))
                with self._db:
                    removed += self._db.execute(f"DELETE FROM lexical WHERE memory_id IN ({marks})", part).rowcount
            self._cache.clear()
            self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            self._data_version = self._version()
        return removed

    def count(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM lexical WHERE user_id IS NOT NULL").fetchone()[0])

    def clear(self) -> None:
        with self._lock:
            with self._db:
                self._db.execute("DELETE FROM lexical")
            self._cache.clear()
            self._data_version = self._version()

    def close(self) -> None:
        with self._lock:
            self._db.close()
