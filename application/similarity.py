"""Paraphrase matching for the Fine stage: the same statement in other words.

Wraps the embedder (loaded lazily: most candidates are matched by slot and never
need it). The threshold is deliberately high: merging two different memories is
worse than keeping a near-duplicate, which the Offline stage can still merge.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

DEFAULT_THRESHOLD = 0.85


class EmbeddingSimilarity:
    def __init__(self, embedder: Callable[[], Any], threshold: float = DEFAULT_THRESHOLD) -> None:
        self._embedder = embedder
        self.threshold = threshold

    def __call__(self, text: str, pool: list[str]) -> int | None:
        vectors = np.asarray(self._embedder().embed([text, *pool]), dtype=np.float32)
        scores = vectors[1:] @ vectors[0]
        best = int(np.argmax(scores))
        return best if float(scores[best]) >= self.threshold else None
