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
the pool). Only texts not seen before reach the embedder, in one batch."""


class EmbeddingSimilarity:
    def __init__(self, embedder: Callable[[], Any], threshold: float = DEFAULT_THRESHOLD) -> None:
        self._embedder = embedder
        self.threshold = threshold
        self._memo: dict[str, np.ndarray] = {}

    def _vectors(self, texts: list[str]) -> np.ndarray:
        new = list(dict.fromkeys(t for t in texts if t not in self._memo))
        if new:
            if len(self._memo) + len(new) > MEMO_TEXTS:
                self._memo.clear()  # rare: one user's working set fits many times over
            vectors = np.asarray(self._embedder().embed(new), dtype=np.float32)
            self._memo.update(zip(new, vectors))
        return np.stack([self._memo[t] for t in texts])

    def prefetch(self, texts: list[str]) -> None:
        """Embed, in one batch, texts that are about to be compared (RuleBasedExtractor)."""
        self._vectors(texts)

    def __call__(self, text: str, pool: list[str]) -> int | None:
        vectors = self._vectors([text, *pool])
        scores = vectors[1:] @ vectors[0]
        best = int(np.argmax(scores))
        return best if float(scores[best]) >= self.threshold else None
