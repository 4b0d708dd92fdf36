"""Embed what the Fine stage is about to save, before it is saved.

Why: the vector projection embeds every new memory version on the path from input
to searchable, in log order, so the Fine stage's memories (about a third of what it
embeds) delayed the Fast-stage episodes queued behind them. The Fine stage is the
deferrable one (docs/design.md; a worker runs it at lower priority), so it embeds its
own memories into the shared content-hash cache first, and the projection finds
them there. Same text function as the projection (``embedding_text``), so a hit is
exact; a miss (a cache lost, a text changed since) only costs the embed it saved.
"""

from __future__ import annotations

import logging
from typing import Any, Callable, Sequence

from domain.memory import Memory
from projections.vector_projection import embedding_text

log = logging.getLogger(__name__)


class EmbedAhead:
    """``MemoryService.on_planned`` hook: never fails the write it precedes."""

    def __init__(self, embedder: Callable[[], Any]) -> None:
        self._embedder = embedder  # loaded lazily, like the Fine stage's similarity

    def __call__(self, aggregates: Sequence[Any]) -> None:
        texts = [embedding_text({"kind": a.kind, "content": a.content, "attributes": a.attributes})
                 for a in aggregates if isinstance(a, Memory) and a.is_active]
        if not texts:
            return
        try:
            self._embedder().embed(texts)
        except Exception:  # noqa: BLE001 - an optimisation; the projection embeds on a miss
            log.warning("embedding %d memories ahead failed; the projection will embed them", len(texts),
                        exc_info=True)
