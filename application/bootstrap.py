"""Composition root: builds the runtime (store, services, projections) from settings.

The CLI, the Faust worker, the demo, the benchmarks and the tests all get their
objects from here, so the embedded mode and the streaming mode run the very same
services. Heavy parts (embedding model, vector index) are built on first use.
"""

from __future__ import annotations

import gc
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eventsourcing.sqlite import SQLiteFactory
from eventsourcing.utils import Environment

from application.fine_stage import FineStage
from application.service import MemoryService
from application.settings import Settings
from application.similarity import EmbeddingSimilarity
from application.sqlite_sync import use_synchronous
from application.store import MemoryStore, creating_tables, open_store
from domain.consolidation import Similar
from domain.extraction import Extractor
from domain.governance import policy_from_name
from projections.follower import Progress, catch_up_together
from projections.timeline import TimelineProjector
from projections.timeline_view import PostgresTimelineView, SQLiteTimelineView, TimelineView

log = logging.getLogger(__name__)


def build_extractor(settings: Settings, similar: Similar | None = None) -> Extractor:
    from extraction.rule_extractor import RuleBasedExtractor

    policy = policy_from_name(settings.governance)
    choice = settings.extractor
    if choice not in ("rules", "auto", "anthropic"):
        raise ValueError(f"MEMSTREAM_EXTRACTOR={choice!r}: choose rules, anthropic or auto")
    rules = RuleBasedExtractor(policy=policy, similar=similar)
    if choice == "rules" or (choice == "auto" and not os.environ.get("ANTHROPIC_API_KEY")):
        return rules
    from extraction.anthropic_config import build_anthropic_extractor

    return build_anthropic_extractor(settings, fallback=rules)


def open_timeline(store: MemoryStore) -> TimelineView:
    """The timeline view, with the positions of every projection that reads it.

    On PostgreSQL it lives in the event store's schema. On SQLite it gets a file of its
    own next to the event store (``events.sqlite`` -> ``events-projections.sqlite``): one
    SQLite file has one writer at a time, and with the Fast and Fine stages and the
    projections in separate processes, the projections' writes queued behind the stages'
    (and the stages behind theirs) through SQLite's busy handler, which sleeps 1, 2, 5,
    10 ... ms between attempts. Rows and position still commit in one transaction.
    """
    module = store.env.get("PERSISTENCE_MODULE", "")
    if "postgres" in module:
        return creating_tables(lambda: store.factory.tracking_recorder(PostgresTimelineView))  # type: ignore[arg-type]
    events_file = Path(store.env["SQLITE_DBNAME"])
    env = {**store.env, "SQLITE_DBNAME": str(events_file.with_name(f"{events_file.stem}-projections.sqlite"))}
    factory = SQLiteFactory(Environment(store.name, env))
    use_synchronous(factory, "normal")  # derived rows and their positions: see application.sqlite_sync
    return creating_tables(lambda: factory.tracking_recorder(SQLiteTimelineView))  # type: ignore[arg-type]


@dataclass
class Runtime:
    settings: Settings
    store: MemoryStore
    service: MemoryService
    timeline: TimelineView
    sync_projections: bool = True
    with_vectors: bool = True
    _read_side: Any = field(default=None, repr=False)
    _embedder: Any = field(default=None, repr=False)

    @property
    def embedder(self) -> Any:
        """The embedding model, loaded on first use and shared by search and the Fine stage."""
        if self._embedder is None:
            from projections.embedding.embedder import open_embedder  # not read_side: 2 s of index imports

            self._embedder = open_embedder(self.settings)
        return self._embedder

    @property
    def read_side(self) -> Any:
        """Vector index + its projection + search, built on first use."""
        if self._read_side is None:
            from projections.read_side import ReadSide

            self._read_side = ReadSide.open(self.settings, self.timeline, self.embedder)
            # The model, tokenizer and index objects live as long as the process: move them
            # out of the collector's generations, or each full collection scans them all
            # (a 75-110 ms pause in the middle of a search, bench_pipeline at 100k).
            gc.freeze()
        return self._read_side

    def projectors(self) -> list[Any]:
        projectors: list[Any] = [TimelineProjector(self.timeline)]
        if self.with_vectors:
            projectors.append(self.read_side.projector)
        return projectors

    def catch_up(self, progress: Progress | None = None) -> int:
        """The timeline and the projections that read it, in one pass over the log
        (``catch_up_together``); returns how many events they applied in all."""
        timeline, *followers = self.projectors()
        return sum(catch_up_together(self.store, timeline, followers, progress=progress).values())

    def close(self) -> None:
        if self._read_side is not None:
            self._read_side.close()
        if self._embedder is not None and hasattr(self._embedder, "close"):
            self._embedder.close()
        self.store.close()


def build_runtime(
    settings: Settings | None = None,
    *,
    extractor: Extractor | None = None,
    sync_projections: bool = True,
    with_vectors: bool = True,
) -> Runtime:
    settings = settings or Settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    store = open_store(settings.event_store_url, sync=settings.event_store_sync)
    timeline = open_timeline(store)
    holder: list[Runtime] = []
    similar = EmbeddingSimilarity(lambda: holder[0].embedder)
    fine = FineStage(store, extractor or build_extractor(settings, similar), settings.context_messages)
    service = MemoryService(store, fine, settings.chunk_chars, settings.chunk_overlap)
    runtime = Runtime(settings, store, service, timeline, sync_projections, with_vectors)
    holder.append(runtime)
    if sync_projections:
        service.on_saved = runtime.catch_up
    elif settings.embed_ahead:  # the projections run elsewhere: keep embedding off their path
        from projections.embed_ahead import EmbedAhead

        service.on_planned = EmbedAhead(lambda: holder[0].embedder)
    return runtime
