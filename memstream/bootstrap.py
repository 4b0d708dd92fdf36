"""Composition root: builds the runtime (event store, services, projections) from settings.

The public API (``memstream.open``), the CLI, the Faust worker, the demo, the
benchmarks and the tests all get their objects from here, so the embedded mode and
the streaming mode run the very same services. The embedding model and the vector
index cost seconds to load and most commands never touch them, so they are
``Lazy`` parts, built on first use.
"""

from __future__ import annotations

import functools
import gc
import logging
import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Generic, TypeVar

from adapters.event_store import open_application, open_timeline
from application.memory_app import MemoryApplication
from application.settings import Settings
from domain.extraction import Extractor
from domain.governance import policy_from_name
from domain.ports import Embedder
from projections.catch_up import Progress, catch_up_together
from projections.timeline import TimelineProjector
from projections.timeline_view import TimelineView

if TYPE_CHECKING:
    from application.service import MemoryService
    from domain.consolidation import Categories, Similar
    from domain.review import MemoryReviewer
    from projections.catch_up import Projector
    from projections.read_side import ReadSide

log = logging.getLogger(__name__)

T = TypeVar("T")


class Lazy(Generic[T]):
    """A part built on first use, then shared."""

    def __init__(self, build: Callable[[], T]) -> None:
        self._build = build
        self._value: T | None = None

    def __call__(self) -> T:
        if self._value is None:
            self._value = self._build()
        return self._value

    @property
    def built(self) -> bool:
        return self._value is not None

    def provide(self, value: T | None) -> None:
        """Use ``value`` instead of building one (a caller that shares its own part)."""
        self._value = value


class ConfigurationError(ValueError):
    """A setting the user must change; the CLI shows it as "invalid configuration: ..."."""


def check_extractor_settings(settings: Settings):  # -> GovernancePolicy
    """The extractor's configuration errors, at start-up rather than on the first message:
    an unknown MEMSTREAM_EXTRACTOR, an unknown governance policy, a missing API key.
    Returns the governance policy."""
    from importlib.metadata import entry_points  # custom governance rules, loaded only when named

    if settings.extractor not in ("rules", "auto", "anthropic"):
        raise ConfigurationError(f"MEMSTREAM_EXTRACTOR={settings.extractor!r}: choose rules, anthropic or auto")
    rules = {ep.name: ep.load for ep in entry_points(group="memstream.rules")}
    try:
        policy = policy_from_name(settings.governance, rules)
    except ValueError as e:
        raise ConfigurationError(f"MEMSTREAM_GOVERNANCE: {e}") from None
    if settings.extractor == "anthropic" and not os.environ.get("ANTHROPIC_API_KEY", "").strip():
        raise ConfigurationError("ANTHROPIC_API_KEY is not set: the Anthropic extractor needs an API key "
                                 "(or set MEMSTREAM_EXTRACTOR=rules to use the offline extractor)")
    return policy


def build_extractor(settings: Settings, similar: Similar | None = None,
                    categories: Categories | None = None) -> Extractor:
    from extraction.rule_extractor import RuleBasedExtractor

    rules = RuleBasedExtractor(policy=check_extractor_settings(settings), similar=similar, categories=categories)
    choice = settings.extractor
    if choice == "rules" or (choice == "auto" and not os.environ.get("ANTHROPIC_API_KEY")):
        return rules
    from extraction.anthropic_config import build_anthropic_extractor

    return build_anthropic_extractor(settings, fallback=rules)


def forget_cached(extractor: object) -> None:
    """Drop the texts an extractor (and the offline fallback behind Claude) keeps in memory;
    an extractor not built yet keeps nothing (and is not built for this)."""
    if isinstance(extractor, LazyExtractor):
        if extractor.built:
            forget_cached(extractor._part())
        return
    for part in (extractor, getattr(extractor, "fallback", None)):
        clear = getattr(part, "forget_cached", None)
        if clear is not None:
            clear()


class LazyExtractor:
    """The Fine stage's extractor, built on its first use: the rule extractor compiles its
    patterns in about 0.5 s, and read commands (``memories``, ``search``) never extract.
    ``build_runtime`` checks its configuration at start-up (``check_extractor_settings``).
    Its paraphrase matching uses ``embedder`` (itself built only when a match needs it)."""

    def __init__(self, settings: Settings, embedder: Lazy[Embedder]) -> None:
        def build() -> Extractor:
            from application.similarity import EmbeddingSimilarity  # numpy: not for reads of the timeline
            from extraction.rules.categories import ObjectCategories

            return build_extractor(settings, EmbeddingSimilarity(embedder),
                                   ObjectCategories(lambda texts: embedder().embed(list(texts))))

        self._part: Lazy[Extractor] = Lazy(build)

    @property
    def built(self) -> bool:
        return self._part.built

    def extract(self, request):  # type: ignore[no-untyped-def]
        return self._part().extract(request)

    def __getattr__(self, name: str):  # type: ignore[no-untyped-def]
        if name.startswith("__") or name == "_part":
            raise AttributeError(name)
        return getattr(self._part(), name)  # name, policy, fallback, client, ...


def build_reviewer(settings: Settings, extractor: Extractor) -> MemoryReviewer | None:
    """A reviewer for the Offline stage when the extractor is the Anthropic one (same
    client and model, so no second key), else none: the rules alone decide."""
    if not str(getattr(extractor, "name", "")).startswith("anthropic:") or not hasattr(extractor, "client"):
        return None
    from extraction.anthropic_review import AnthropicReviewer

    return AnthropicReviewer(client=extractor.client, model=extractor.model,  # type: ignore[attr-defined]
                             timeout=max(settings.anthropic_timeout, 60.0))


def open_embedder_lazily(settings: Settings) -> Lazy[Embedder]:
    def build() -> Embedder:
        from projections.embedding.embedder import open_embedder  # not read_side: 2 s of index imports

        return open_embedder(settings)

    return Lazy(build)


def open_read_side_lazily(settings: Settings, timeline: TimelineView, embedder: Lazy[Embedder]) -> Lazy[ReadSide]:
    def build() -> ReadSide:
        from projections.read_side import ReadSide

        read_side = ReadSide.open(settings, timeline, embedder())
        # The model, tokenizer and index objects live as long as the process: move them
        # out of the collector's generations, or each full collection scans them all
        # (a 75-110 ms pause in the middle of a search at 100k memories).
        gc.freeze()
        return read_side

    return Lazy(build)


@dataclass
class Runtime:
    settings: Settings
    store: MemoryApplication
    service_part: Lazy[MemoryService] = field(repr=False)
    timeline: TimelineView
    embedder_part: Lazy[Embedder] = field(repr=False)
    read_side_part: Lazy[ReadSide] = field(repr=False)
    with_vectors: bool = True

    @property
    def service(self) -> MemoryService:
        """The write use cases (Fast and Fine stages); built on first use, so a read
        command never imports the stages."""
        return self.service_part()

    @property
    def embedder(self) -> Embedder:
        """The embedding model, shared by search and the Fine stage."""
        return self.embedder_part()

    @property
    def read_side(self) -> ReadSide:
        """Vector index + its projection + search."""
        return self.read_side_part()

    @functools.cached_property
    def reviewer(self) -> MemoryReviewer | None:
        """The Offline stage's reviewer: Claude when the Fine stage's extractor is Claude."""
        return build_reviewer(self.settings, self.service.fine_stage.extractor)

    def projectors(self) -> list[Projector]:
        projectors: list[Projector] = [TimelineProjector(self.timeline)]
        if self.with_vectors:
            projectors.append(self.read_side.projector)
            if self.read_side.graph is not None:  # MEMSTREAM_RETRIEVAL=graph|hybrid
                projectors.append(self.read_side.graph)
        return projectors

    def catch_up(self, progress: Progress | None = None) -> int:
        """The timeline and the projections that read it, in one pass over the log
        (``catch_up_together``); returns how many events they applied in all."""
        timeline, *followers = self.projectors()
        return sum(catch_up_together(self.store, timeline, followers, progress=progress).values())

    def close(self) -> None:
        if self.read_side_part.built:
            self.read_side.close()
        if self.embedder_part.built and hasattr(self.embedder, "close"):
            self.embedder.close()  # type: ignore[attr-defined]
        self.store.close()


def build_runtime(
    settings: Settings | None = None,
    *,
    extractor: Extractor | None = None,
    sync_projections: bool = True,
    with_vectors: bool = True,
    follow_switch: bool = True,
) -> Runtime:
    """``sync_projections``: project right after each write (embedded mode); a worker
    leaves that to its projections loop. ``with_vectors``: False for commands that read
    only the timeline, which then never load the model or the index."""
    settings = settings or Settings()
    from application.reprocessing import live_settings

    if follow_switch:
        settings = live_settings(settings)  # the memory set `memstream switch` made live, if any
    if not settings.data_dir.exists():  # exist_ok: another process starting now may make it first
        settings.data_dir.mkdir(parents=True, mode=0o700, exist_ok=True)
    store = open_application(settings.event_store_url, sync=settings.event_store_sync)
    timeline = open_timeline(store)
    embedder = open_embedder_lazily(settings)
    read_side = open_read_side_lazily(settings, timeline, embedder)
    part: Lazy[MemoryService] = Lazy(lambda: build_service(runtime, extractor, sync_projections))
    runtime = Runtime(settings, store, part, timeline, embedder, read_side, with_vectors)
    if extractor is None:
        check_extractor_settings(settings)  # a configuration error shows at start-up, not on the first write
    return runtime


def build_service(runtime: Runtime, extractor: Extractor | None, sync_projections: bool) -> MemoryService:
    """The Fast and Fine stages over the runtime's store, with the hook that keeps the
    projections current (embedded mode) or embeds ahead of them (a worker)."""
    from application.fine_stage import FineStage
    from application.service import MemoryService

    settings = runtime.settings
    fine = FineStage(runtime.store, extractor or LazyExtractor(settings, runtime.embedder_part),
                     settings.context_messages)
    service = MemoryService(runtime.store, fine, settings.chunk_chars, settings.chunk_overlap)
    if sync_projections:
        service.on_saved = runtime.catch_up
    elif settings.embed_ahead:  # the projections run elsewhere: keep embedding off their path
        from projections.embed_ahead import EmbedAhead

        service.on_planned = EmbedAhead(runtime.embedder_part)
    return service


def embedded_index(settings: Settings) -> bool:
    """Whether the vector index lives in the data dir (qdrant-edge or qdrant-client local mode)."""
    return settings.qdrant_url in ("", "local")


def lock_data_dir(settings: Settings, role: str):  # -> DataDirLock | contextlib.nullcontext
    """The data dir's one-writer lock for a process that projects into or opens the
    embedded index (adapters/data_dir_lock.py); nothing to hold with a Qdrant server."""
    import contextlib

    from adapters.data_dir_lock import DataDirLock

    if not embedded_index(settings):
        return contextlib.nullcontext()
    return DataDirLock(settings.data_dir, role)
