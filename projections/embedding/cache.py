"""Content-addressed embedding cache in SQLite.

Why: projections are rebuilt by replaying the event log, and most replayed
memories carry text that was embedded before. Keying vectors by
``sha256(model name [@ weights revision] + text)`` makes a replay cost one
indexed lookup per text instead of a model call, and switching models (or
upgrading a model's weights) can never serve stale vectors.
Vectors are stored as raw float32 bytes (2 KB for 512 dims).
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from projections.embedding import model_identity

_CHUNK = 500  # parameters per IN (...) lookup; well under SQLite's variable limit


class CachedEmbedder:
    """Wraps any ``Embedder``; same ``name``/``dim``/``embed`` contract.

    Counters (cumulative, per instance): ``hits`` and ``misses`` count input texts
    served from the cache or not; ``embedded`` counts texts actually sent to the
    inner model (a text repeated within one call, or missing, is embedded once).
    """

    def __init__(self, inner: Any, path: Path | str) -> None:
        self.inner = inner
        self.name: str = inner.name
        self.dim: int = int(inner.dim)
        self._namespace = model_identity(inner)
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(self.path), check_same_thread=False, timeout=30.0)
        self._db.execute("PRAGMA journal_mode=WAL")  # concurrent readers while one process writes
        self._db.execute("PRAGMA synchronous=NORMAL")  # a lost tail only costs a re-embed
        self._db.execute("PRAGMA secure_delete=ON")  # forgotten entries leave no bytes in free space
        self._db.execute("CREATE TABLE IF NOT EXISTS embeddings ("
                         " hash BLOB PRIMARY KEY, model TEXT NOT NULL, dim INTEGER NOT NULL,"
                         " vec BLOB NOT NULL) WITHOUT ROWID")
        self._db.commit()
        self.hits = 0
        self.misses = 0
        self.embedded = 0

    def _key(self, text: str) -> bytes:
        return hashlib.sha256(f"{self._namespace}\x00{text}".encode("utf-8", "surrogatepass")).digest()

    def _lookup(self, keys: list[bytes]) -> dict[bytes, np.ndarray]:
        found: dict[bytes, np.ndarray] = {}
        for start in range(0, len(keys), _CHUNK):
            part = keys[start:start + _CHUNK]
            rows = self._db.execute(
                f"SELECT hash, dim, vec FROM embeddings WHERE hash IN ({','.join('?' * len(part))})", part)
            for key, dim, blob in rows:
                if dim == self.dim and len(blob) == 4 * dim:  # anything else is treated as a miss
                    found[key] = np.frombuffer(blob, dtype=np.float32)
        return found

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Vectors for ``texts``: cached ones from SQLite, the rest from ``inner``."""
        texts = [texts] if isinstance(texts, str) else list(texts)
        keys = [self._key(t) for t in texts]
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        with self._lock:
            found = self._lookup(list(dict.fromkeys(keys)))
        todo: dict[bytes, str] = {}
        for i, key in enumerate(keys):
            vec = found.get(key)
            if vec is None:
                todo.setdefault(key, texts[i])
            else:
                out[i] = vec
        n_hit = len(texts) - sum(1 for k in keys if k in todo)
        if todo:
            vecs = np.ascontiguousarray(self.inner.embed(list(todo.values())), dtype=np.float32)
            fresh = dict(zip(todo, vecs))
            for i, key in enumerate(keys):
                if key in fresh:
                    out[i] = fresh[key]
            with self._lock, self._db:  # one transaction for all misses
                self._db.executemany(
                    "INSERT OR REPLACE INTO embeddings (hash, model, dim, vec) VALUES (?, ?, ?, ?)",
                    [(k, self._namespace, self.dim, v.tobytes()) for k, v in fresh.items()])
        with self._lock:
            self.hits += n_hit
            self.misses += len(texts) - n_hit
            self.embedded += len(todo)
        return out

    def forget(self, texts: Sequence[str]) -> int:
        """Forgetting: delete the vectors of these texts (keyed by content hash, so the
        caller names the texts), then truncate the WAL. Returns how many entries went."""
        keys = list(dict.fromkeys(self._key(t) for t in texts))
        removed = 0
        with self._lock:
            for start in range(0, len(keys), _CHUNK):
                part = keys[start:start + _CHUNK]
                with self._db:
                    removed += self._db.execute(
                        f"DELETE FROM embeddings WHERE hash IN ({','.join('?' * len(part))})", part).rowcount
            self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return removed

    def stats(self) -> dict[str, int]:
        """Counters plus the number of vectors stored in the file (all models)."""
        with self._lock:
            (stored,) = self._db.execute("SELECT COUNT(*) FROM embeddings").fetchone()
            return {"hits": self.hits, "misses": self.misses, "embedded": self.embedded, "stored": stored}

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> "CachedEmbedder":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"CachedEmbedder({self.inner!r}, path={str(self.path)!r})"
