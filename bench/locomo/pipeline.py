"""The memstream side of the LoCoMo evaluation: a real runtime plus the knobs the
ablation turns.

Why module constants are switched here: the changes under test live in the
product (``application.fast_stage.WINDOW_MESSAGES``, ``projections.vector_projection
.EMBED_CONTEXT_MESSAGES``, ``projections.lexical_index.OWN_WEIGHT``, the
``MemorySearch`` weights), so the ablation flips exactly those and restores them.
Write-side knobs need a fresh ingest; read-side ones only a replay of the vector +
lexical projection from the same event log (which also exercises ``clear`` +
catch-up, the replay path).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from bench.locomo.convert import Conversation


@dataclass(frozen=True)
class WriteConfig:
    """What changes the written events (needs a fresh ingest)."""
    granularity: str = "session"
    roles: str = "user"
    window: int = 2  # application.fast_stage.WINDOW_MESSAGES


@dataclass(frozen=True)
class ReadConfig:
    """What only changes projections/search (re-projected from the same event log)."""
    name: str
    embed_context: int = 2  # projections.vector_projection.EMBED_CONTEXT_MESSAGES
    own_weight: int = 2  # projections.lexical_index.OWN_WEIGHT
    hybrid: bool = True
    speaker_prior: float = 0.6
    time_prior: float = 0.6
    dense_weight: float = 0.25


FINAL = ReadConfig("memstream")


def _knobs() -> dict[str, tuple[Any, str]]:
    from application import fast_stage
    from projections import lexical_index, vector_projection

    return {"window": (fast_stage, "WINDOW_MESSAGES"),
            "embed_context": (vector_projection, "EMBED_CONTEXT_MESSAGES"),
            "own_weight": (lexical_index, "OWN_WEIGHT")}


class Pipeline:
    """A runtime on a fresh data dir, composed like ``ReadSide.open`` but with the
    ``HybridIndex`` (vector + lexical) and one embedder shared across runs."""

    def __init__(self, data_dir: Path, embedder: Any, write: WriteConfig) -> None:
        from memstream.bootstrap import build_runtime
        from application.settings import Settings
        from projections.hybrid import HybridIndex
        from projections.lexical_index import LexicalIndex
        from projections.read_side import ReadSide
        from projections.search import MemorySearch
        from projections.vector_index import open_vector_index
        from projections.vector_projection import VectorProjector

        self._original = {name: getattr(mod, attr) for name, (mod, attr) in _knobs().items()}
        self._set(window=write.window, embed_context=FINAL.embed_context, own_weight=FINAL.own_weight)
        self.write = write
        self.embedder = embedder
        self.runtime = build_runtime(Settings(data_dir=data_dir, extractor="rules"))
        self.runtime.embedder_part.provide(embedder)  # the Fine stage's similarity lookup shares it
        self.index = HybridIndex(open_vector_index(None, data_dir / "vectors", embedder.dim),
                                 LexicalIndex(data_dir / "lexical.sqlite"))
        self.runtime.read_side_part.provide(ReadSide(
            embedder, self.index, VectorProjector(self.runtime.timeline, self.index, embedder),
            MemorySearch(embedder, self.index, lexical=self.index.lexical)))

    @staticmethod
    def _set(**values: Any) -> None:
        knobs = _knobs()
        for name, value in values.items():
            module, attr = knobs[name]
            setattr(module, attr, value)

    def ingest(self, conv: Conversation) -> float:
        t0 = time.perf_counter()
        for envelope in conv.envelopes:
            self.runtime.service.ingest(envelope)
        return time.perf_counter() - t0

    def reproject(self, cfg: "ReadConfig") -> float:
        """Rebuild the vector + lexical projection from the event log (a replay) when
        the config indexes differently from what is indexed now."""
        from projections import lexical_index, vector_projection
        from projections.catch_up import catch_up

        if (vector_projection.EMBED_CONTEXT_MESSAGES, lexical_index.OWN_WEIGHT) == (cfg.embed_context, cfg.own_weight):
            return 0.0
        t0 = time.perf_counter()
        self._set(embed_context=cfg.embed_context, own_weight=cfg.own_weight)
        projector = self.runtime.read_side.projector
        projector.clear()
        catch_up(self.runtime.store, projector)
        return time.perf_counter() - t0

    def searcher(self, cfg: ReadConfig) -> Callable[..., list[dict[str, Any]]]:
        from projections.search import MemorySearch

        search = MemorySearch(self.embedder, self.index, lexical=self.index.lexical if cfg.hybrid else None,
                              dense_weight=cfg.dense_weight, speaker_prior=cfg.speaker_prior,
                              time_prior=cfg.time_prior)
        return search.search

    def close(self) -> None:
        self._set(**self._original)
        self.runtime.embedder_part.provide(None)  # shared: the caller closes it
        self.runtime.close()
