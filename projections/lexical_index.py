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

Storage: one SQLite table (tokens + the memory view as JSON). Scoring runs in
memory over one user's documents, loaded on first query and dropped when that
user's documents change (or, via ``PRAGMA data_version``, when another process
wrote); a small LRU bounds how many users are held at once.
"""

from __future__ import annotations

import json
import math
import re
import sqlite3
import threading
import unicodedata
from collections import Counter, OrderedDict
from pathlib import Path
from typing import Any, Iterable, Sequence

from domain.ports import IndexPoint, ScoredPoint, SearchFilter

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
    """Okapi BM25 over a fixed list of token lists (Lucene's non-negative idf)."""

    def __init__(self, docs: Sequence[Sequence[str]], k1: float = 1.2, b: float = 0.75) -> None:
        self.k1, self.b = k1, b
        self.tf = [Counter(d) for d in docs]
        self.lengths = [len(d) for d in docs]
        self.avgdl = (sum(self.lengths) / len(docs)) if docs else 1.0
        self.postings: dict[str, list[int]] = {}
        for i, counts in enumerate(self.tf):
            for term in counts:
                self.postings.setdefault(term, []).append(i)
        n = len(docs)
        self.idf = {t: math.log(1 + (n - len(p) + 0.5) / (len(p) + 0.5)) for t, p in self.postings.items()}

    def scores(self, query: Iterable[str]) -> dict[int, float]:
        out: dict[int, float] = {}
        k1, b, avgdl = self.k1, self.b, self.avgdl or 1.0
        for term in set(query):
            idf = self.idf.get(term)
            if idf is None:
                continue
            for i in self.postings[term]:
                f = self.tf[i][term]
                norm = k1 * (1 - b + b * self.lengths[i] / avgdl)
                out[i] = out.get(i, 0.0) + idf * f * (k1 + 1) / (f + norm)
        return out


def lexical_text(payload: dict[str, Any]) -> str:
    """What is indexed: the content, who said it, the Fast stage's window context (the
    turns an episode answers) and, for fine memories, their key."""
    attrs = payload.get("attributes") or {}
    parts = [str(c.get("text") or "") for c in attrs.get("context") or [] if isinstance(c, dict)]
    parts += [payload.get("content") or "", str(attrs.get("speaker") or "")]
    if payload.get("kind") != "episode":
        parts.append(str(payload.get("key") or "").replace(".", " ").replace("-", " "))
    return " ".join(p for p in parts if p)


def _matches(doc: dict[str, Any], flt: SearchFilter) -> bool:
    if flt.kinds and doc["kind"] not in flt.kinds:
        return False
    if flt.keys and doc["key"] not in flt.keys:
        return False
    if flt.tags and not set(flt.tags) & set(doc["tags"]):
        return False
    ts = doc["updated_ts"]
    if flt.updated_from is not None and (ts is None or ts < flt.updated_from):
        return False
    return not (flt.updated_to is not None and (ts is None or ts > flt.updated_to))


class _UserCorpus:
    def __init__(self, rows: list[tuple]) -> None:
        self.docs = [{"memory_id": r[0], "kind": r[1], "key": r[2], "tags": json.loads(r[3]),
                      "updated_ts": r[4], "payload": r[6]} for r in rows]
        self.bm25 = BM25([json.loads(r[5]) for r in rows])


class LexicalIndex:
    """Current-memory BM25 index with the vector index's version-guard semantics."""

    def __init__(self, path: Path | str = ":memory:", max_cached_users: int = 64) -> None:
        if str(path) != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS lexical (memory_id TEXT PRIMARY KEY, version INTEGER NOT NULL,"
            " user_id TEXT, kind TEXT, key TEXT, tags TEXT, updated_ts REAL, tokens TEXT,"
            " payload TEXT)")  # user_id NULL = tombstone
        self._db.execute("CREATE INDEX IF NOT EXISTS lexical_user ON lexical(user_id)")
        self._lock = threading.RLock()
        self._cache: OrderedDict[str, _UserCorpus] = OrderedDict()
        self._max_users = max_cached_users
        self._data_version = self._version()

    def _version(self) -> int:
        return int(self._db.execute("PRAGMA data_version").fetchone()[0])

    def _known(self, ids: list[str]) -> dict[str, tuple[int, str | None]]:
        marks = ",".join("?" * len(ids))
        rows = self._db.execute(f"SELECT memory_id, version, user_id FROM lexical WHERE memory_id IN ({marks})", ids)
        return {r[0]: (r[1], r[2]) for r in rows}

    def upsert(self, points: Sequence[IndexPoint]) -> None:
        latest: dict[str, IndexPoint] = {}
        for p in points:
            if p.memory_id not in latest or p.version > latest[p.memory_id].version:
                latest[p.memory_id] = p
        if not latest:
            return
        with self._lock:
            known = self._known(list(latest))
            fresh = [p for mid, p in latest.items() if known.get(mid, (-1, None))[0] < p.version]
            rows = [(p.memory_id, int(p.version), p.user_id, p.kind, p.key,
                     json.dumps([str(t) for t in p.payload.get("tags") or []]),
                     p.payload.get("updated_ts"), json.dumps(tokenize(lexical_text(p.payload))),
                     json.dumps(p.payload, ensure_ascii=False, default=str)) for p in fresh]
            with self._db:
                self._db.executemany("INSERT OR REPLACE INTO lexical VALUES (?,?,?,?,?,?,?,?,?)", rows)
            self._forget({p.user_id for p in fresh} | {known[m][1] for m in latest if m in known})

    def delete(self, memory_id: str, version: int) -> None:
        with self._lock:
            version_, user = self._known([memory_id]).get(memory_id, (-1, None))
            if version_ > version:
                return
            with self._db:
                self._db.execute("INSERT OR REPLACE INTO lexical (memory_id, version) VALUES (?, ?)",
                                 (memory_id, int(version)))
            self._forget({user})

    def _forget(self, users: Iterable[str | None]) -> None:
        for user in users:
            self._cache.pop(user, None)  # type: ignore[arg-type]
        self._data_version = self._version()

    def _corpus(self, user_id: str) -> _UserCorpus:
        if self._version() != self._data_version:  # another connection wrote
            self._cache.clear()
            self._data_version = self._version()
        corpus = self._cache.get(user_id)
        if corpus is None:
            rows = self._db.execute(
                "SELECT memory_id, kind, key, tags, updated_ts, tokens, payload FROM lexical"
                " WHERE user_id = ? ORDER BY memory_id", (user_id,)).fetchall()
            corpus = self._cache[user_id] = _UserCorpus(rows)
            while len(self._cache) > self._max_users:
                self._cache.popitem(last=False)
        self._cache.move_to_end(user_id)
        return corpus

    def search(self, query: str, flt: SearchFilter, top_k: int) -> list[ScoredPoint]:
        """BM25 over the user's current memories; raw BM25 scores, best first."""
        if top_k <= 0:
            return []
        terms = tokenize(query)
        with self._lock:
            corpus = self._corpus(flt.user_id)
            scored = [(s, i) for i, s in corpus.bm25.scores(terms).items()
                      if s > 0 and _matches(corpus.docs[i], flt)]
            scored.sort(key=lambda x: (-x[0], corpus.docs[x[1]]["memory_id"]))
            return [ScoredPoint(corpus.docs[i]["memory_id"], s, json.loads(corpus.docs[i]["payload"]))
                    for s, i in scored[:top_k]]

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
