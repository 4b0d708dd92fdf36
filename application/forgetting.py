"""Forgetting a user, or one memory: the content becomes unrecoverable, the audit trail stays.

How (docs/lifecycle.md has the long version):
1. **Record the forgetting** as an event of its own (``Forgetting``): who, which
   memories, when, why, and how much was removed; no content.
2. **Shred the event store.** A user's content fields are sealed with the user's data
   key (``adapters/encryption.py``), so forgetting a user deletes one key, whatever the
   size of the store, and every sealed event, raw input, snapshot and dead letter of the
   user decodes from then on with empty placeholders. Two cases need a rewrite of rows
   instead, on a connection that zeroes what it overwrites: one memory of a user who
   stays (the key still opens the user's other events), and events stored in the clear
   before sealing existed.
3. **Purge the derived stores** of exactly those memories: timeline rows (replaced by
   their versions as the log now folds them: archived, without content, so ``history``
   and ``memories --all`` still show that they existed and when they changed), the
   vector index points, the lexical rows, the embedding cache entries of every text
   the memories' versions were embedded as.
4. **Scrub SQLite**: deleted rows are zeroed (``secure_delete`` on every connection
   that writes content) and each WAL is checkpointed and truncated.

Cost: proportional to the user's own memories and versions, except the embedded
vector index, which the engine can only purge by rewriting its shard (one pass over
its points, nothing embedded again).

The layer imports no database driver: the composition root hands in the adapters
(``keys``, ``rewrite``, ``scrub``).
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Sequence
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from application.memory_app import MemoryApplication
from domain.user_directory import directory_id
from domain.views import fold


class Forgetting(Aggregate):
    """The audit record of one forgetting: what was forgotten, when and why; no content."""

    @event("ForgettingRecorded")
    def __init__(self, *, user_id: str, memory_id: str | None, reason: str, memory_ids: list[str],
                 counts: dict[str, int]) -> None:
        self.user_id = user_id
        self.memory_id = memory_id
        self.reason = reason
        self.memory_ids = memory_ids
        self.counts = counts


@dataclass
class ForgetReport:
    user_id: str
    memory_id: str | None
    reason: str
    memories: int = 0
    versions: int = 0
    key_deleted: bool = False
    rewritten_events: int = 0
    index_points: int = 0
    lexical_rows: int = 0
    cache_entries: int = 0
    graph_nodes: int = 0
    record_id: str | None = None
    seconds: float = 0.0
    memory_ids: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


Rewrite = Callable[[MemoryApplication, list[tuple[Any, int, bytes]]], int]


@dataclass
class Forgetter:
    store: MemoryApplication
    timeline: Any  # TimelineView
    rewrite: Callable[..., int]  # adapters.event_store.rewrite_stored_states
    scrub: Callable[[MemoryApplication], list[str]]  # adapters.event_store.scrub_sqlite_files
    index: Any = None  # the read side's VectorIndex (HybridIndex: dense + lexical), None without one
    embedder: Any = None  # the CachedEmbedder, for its forget(texts)
    graph: Any = None  # the graph projection (MEMSTREAM_RETRIEVAL=graph|hybrid), for its forget_user

    def forget(self, user_id: str, memory_id: str | None = None, reason: str = "erasure request") -> ForgetReport:
        from projections.vector_projection import embedding_text

        started = time.perf_counter()
        report = ForgetReport(user_id=user_id, memory_id=memory_id, reason=reason)
        if memory_id is not None:
            if self.timeline.owner(memory_id) != user_id:
                raise LookupError(f"user {user_id!r} has no memory {memory_id!r}")
            ids = [memory_id]
        else:
            ids = self.timeline.memory_ids(user_id)
        versions = {mid: self.timeline.history(mid) for mid in ids}
        texts: set[str] = set()
        event_ids: set[str] = set()
        for views in versions.values():
            for view in views:
                if view.get("content"):
                    texts.add(view["content"])
                    texts.add(embedding_text(view))
                event_ids.update(s["event_id"] for s in view.get("sources") or [] if s.get("event_id"))
        report.memories, report.versions, report.memory_ids = len(ids), sum(map(len, versions.values())), ids

        mapper = self.store.mapper
        keys = getattr(mapper, "keys", None)
        if memory_id is None:
            # This user's inputs (event ids are unique per user), looked up while the key still opens them.
            raws = [self.store.raw_input(e, user_id) for e in sorted(event_ids)]
            if keys is not None:
                report.key_deleted = keys.delete(user_id)
            aggregates = [UUID(m) for m in ids] + [raw.id for raw in raws if raw is not None]
            aggregates.append(directory_id(user_id))
            report.rewritten_events = self._redact(aggregates, user_id, only_clear=True)
            report.rewritten_events += self._redact_snapshots([directory_id(user_id)], user_id)
        else:
            report.rewritten_events = self._redact([UUID(memory_id)], user_id, only_clear=False)
        self._drop_cached(ids)

        folded: list[dict[str, Any]] = []
        for mid in ids:
            view = None
            for domain_event in self.store.events.get(UUID(mid)):
                view = fold(view, domain_event)
                folded.append(view)
        self.timeline.replace_memories(ids, folded)
        if self.index is not None:
            dense = getattr(self.index, "dense", self.index)
            if hasattr(dense, "purge"):
                report.index_points = dense.purge(ids)
            lexical = getattr(self.index, "lexical", None)
            if lexical is not None and hasattr(lexical, "purge"):
                report.lexical_rows = lexical.purge(ids)
        if self.graph is not None and memory_id is None and hasattr(self.graph, "forget_user"):
            report.graph_nodes = int(self.graph.forget_user(user_id) or 0)
        if self.embedder is not None and hasattr(self.embedder, "forget"):
            report.cache_entries = self.embedder.forget(sorted(texts))
        counts = {k: int(v) for k, v in report.to_dict().items()
                  if k in ("memories", "versions", "rewritten_events", "index_points", "lexical_rows",
                           "cache_entries")}
        record = Forgetting(user_id=user_id, memory_id=memory_id, reason=reason, memory_ids=ids, counts=counts)
        self.store.save(record)
        report.record_id = str(record.id)
        self.scrub(self.store)
        report.seconds = round(time.perf_counter() - started, 3)
        return report

    # -- the event store

    def _redact(self, aggregates: Sequence[UUID], user_id: str, *, only_clear: bool) -> int:
        """Rewrite the content fields of these aggregates' events out of their rows: every
        event (one forgotten memory), or only those stored in the clear (a forgotten user,
        whose sealed events the deleted key has shredded already)."""
        from_sealing = getattr(self.store.mapper, "redacted", None)
        if from_sealing is None:
            return 0
        rows: list[tuple[Any, int, bytes]] = []
        for aggregate_id in aggregates:
            for stored in self.store.recorder.select_events(aggregate_id):
                if only_clear and b'"_sealed"' in stored.state:
                    continue
                state = from_sealing(stored, user_id)
                if state is not None:
                    rows.append((stored.originator_id, stored.originator_version, state))
        return self.rewrite(self.store, rows)

    def _redact_snapshots(self, aggregates: Sequence[UUID], user_id: str) -> int:
        snapshots = self.store.snapshots
        if snapshots is None:
            return 0
        rows: list[tuple[Any, int, bytes]] = []
        for aggregate_id in aggregates:
            for stored in snapshots.recorder.select_events(aggregate_id):
                if b'"_sealed"' in stored.state and b'"forgotten"' not in stored.state:
                    continue  # sealed: shredded with the key
                state = self.store.mapper.redacted(stored, user_id)  # type: ignore[attr-defined]
                if state is not None:
                    rows.append((stored.originator_id, stored.originator_version, state))
        return self.rewrite(self.store, rows, snapshots=True)

    def _drop_cached(self, ids: Sequence[str]) -> None:
        """This process's cached aggregates still hold the content: drop them all."""
        cache = getattr(self.store.repository, "cache", None)
        if cache is not None and hasattr(cache, "clear"):
            cache.clear()
