"""The read side assembled: embedder (with its content-hash cache), vector index,
the projection that feeds it, and search. Built once per runtime, on first use,
because loading the embedding model costs a second or two."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from application.settings import Settings
from domain.ports import Embedder, VectorIndex
from projections.embedding import model_identity
from projections.embedding.embedder import open_embedder
from projections.hybrid import HybridIndex
from projections.lexical_index import LexicalIndex
from projections.search import MemorySearch
from projections.timeline_view import TimelineView
from projections.vector_index import open_vector_index
from projections.vector_projection import VectorProjector, replaced_model

log = logging.getLogger(__name__)


def query_embedder(embedder: Embedder) -> Embedder:
    """The model itself, past the content-hash cache: search queries rarely repeat, and
    storing each one cost a commit and, every ~250 queries, a WAL checkpoint with an
    fsync that stalled searches for 15-30 ms (bench_pipeline's p99 at 100k)."""
    inner = getattr(embedder, "inner", embedder)
    # A model with a query side of its own (e5's "query: " prefix) searches with that.
    return inner.for_queries() if hasattr(inner, "for_queries") else inner


@dataclass
class ReadSide:
    embedder: Embedder
    index: VectorIndex
    projector: VectorProjector
    memory_search: MemorySearch
    graph: Any = None
    """The graph projection (``GraphProjector``) when ``MEMSTREAM_RETRIEVAL`` is graph or hybrid."""

    @classmethod
    def open(cls, settings: Settings, timeline: TimelineView, embedder: Embedder | None = None) -> "ReadSide":
        embedder = embedder or open_embedder(settings)
        replaced = replaced_model(timeline, embedder)
        if replaced:
            log.warning("the vector index was built with model %s, the embedder is %s: rebuilding it "
                        "from the event log", replaced, model_identity(embedder))
        dense = open_vector_index(settings.qdrant_url or None, settings.data_dir / "vectors", embedder.dim,
                                  fresh=bool(replaced))
        index: VectorIndex
        if settings.qdrant_url:
            # A shared server: the lexical SQLite file would be per process, so dense only.
            index, lexical = dense, None
            in_step = not getattr(dense, "reset_on_open", False)  # emptied for a layout upgrade
        else:
            index = HybridIndex(dense, LexicalIndex(settings.data_dir / "lexical.sqlite"))
            lexical = index.lexical
            in_step = index.in_step()  # e.g. false for a data dir projected before the lexical index existed
        projector = VectorProjector(timeline, index, embedder)
        if replaced or not in_step:
            projector.clear()  # the next catch-up rebuilds the index from the event log
        projector.record_model()
        search = MemorySearch(query_embedder(embedder), index, lexical=lexical)
        if settings.retrieval == "vector":
            return cls(embedder, index, projector, search)
        from projections.graph import open_graph_store
        from projections.graph.projector import GraphProjector
        from projections.graph_search import GraphSearch

        graph = GraphProjector(timeline, open_graph_store(settings.data_dir))
        return cls(embedder, index, projector, GraphSearch(search, graph.store, index, settings.retrieval),  # type: ignore[arg-type]
                   graph)

    def close(self) -> None:
        self.index.close()
        if self.graph is not None:
            self.graph.store.close()
