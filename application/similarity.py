"""Paraphrase matching for the Fine stage: the same statement in other words.

Wraps the embedder (loaded lazily: most candidates are matched by slot and never
need it). The threshold is deliberately high: merging two different memories is
worse than keeping a near-duplicate, which the Offline stage can still merge.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

DEFAULT_THRESHOLD = 0.85


MEMO_TEXTS = 20_000
"""Vectors kept in memory (~40 MB at 512 dims when full): a user's pool is compared again at
every candidate of its slot family, and each lookup through the content-hash cache cost a
hash and an SQLite read per pool text (profiled on LoCoMo: 1.3 ms per call, growing with
the pool). Only texts not seen before reach the embedder, in one batch. The vectors are rows
of one matrix, so a pool of thousands (a long history) is one gather, not thousands of
small arrays stacked at every candidate."""


class EmbeddingSimilarity:
    def __init__(self, embedder: Callable[[], Any], threshold: float = DEFAULT_THRESHOLD) -> None:
        self._embedder = embedder
        self.threshold = threshold
        self._rows: dict[str, int] = {}
        self._matrix: np.ndarray | None = None

    def _vectors(self, texts: list[str]) -> np.ndarray:
        new = [t for t in dict.fromkeys(texts) if t not in self._rows]
        if new:
            if len(self._rows) + len(new) > MEMO_TEXTS:
                self._rows.clear()  # rare: one user's working set fits many times over
            vectors = np.asarray(self._embedder().embed(new), dtype=np.float32)
            used = len(self._rows)
            if self._matrix is None or self._matrix.shape[1] != vectors.shape[1] or not self._rows:
                self._matrix = np.empty((max(1024, 2 * len(new)), vectors.shape[1]), dtype=np.float32)
            if used + len(new) > len(self._matrix):  # grow by doubling: amortised O(1) per text
                grown = np.empty((2 * (used + len(new)), self._matrix.shape[1]), dtype=np.float32)
                grown[:used] = self._matrix[:used]
                self._matrix = grown
            self._matrix[used:used + len(new)] = vectors
            self._rows.update((t, used + i) for i, t in enumerate(new))
        assert self._matrix is not None
        return self._matrix[np.fromiter((self._rows[t] for t in texts), dtype=np.intp, count=len(texts))]

    def forget_all(self) -> None:
        """Drop every kept vector: after a forget, no text of the forgotten lives on in memory
        (the working set is rebuilt from the embedding cache on the next candidates)."""
        self._rows.clear()
        self._matrix = None

    def prefetch(self, texts: list[str]) -> None:
        """Embed, in one batch, texts that are about to be compared (RuleBasedExtractor)."""
        self._vectors(texts)

    def __call__(self, text: str, pool: list[str]) -> int | None:
        vectors = self._vectors([text, *pool])
        scores = vectors[1:] @ vectors[0]
        best = int(np.argmax(scores))
        return best if float(scores[best]) >= self.threshold else None
