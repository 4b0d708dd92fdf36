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
   before sealing existed. One memory also takes its source messages: their content is
   rewritten out of their raw inputs (marked for reprocessing to skip), and their episodes,
   the messages word for word, are forgotten with it.
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


FORGOTTEN_TEXT = "[forgotten]"
FORGOTTEN_MESSAGES = "memstream_forgotten_messages"


def forget_messages(payload: dict[str, Any], indices: Sequence[int]) -> dict[str, Any]:
    """A copy of a messages payload whose messages at ``indices`` hold no content (a message
    stays valid: placeholder text, no tool input or output), the indices listed in ``info``."""
    messages = [dict(m) for m in payload["messages"]]
    for i in indices:
        messages[i].update(content=FORGOTTEN_TEXT, tool_input=None, tool_output=None, status=None)
    info = dict(payload.get("info") or {})
    info[FORGOTTEN_MESSAGES] = sorted(set(info.get(FORGOTTEN_MESSAGES) or []) | set(indices))
    return {**payload, "messages": messages, "info": info}


def forgotten_messages(payload: dict[str, Any]) -> set[int]:
    """The indices of the payload's messages that were forgotten (``forget_messages``)."""
    listed = (payload.get("info") or {}).get(FORGOTTEN_MESSAGES) or []
    return {i for i in listed if isinstance(i, int)}


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
        messages: dict[str, set[str]] = {}  # one memory: its source messages, by event_id
        if memory_id is not None:
            if self.timeline.owner(memory_id) != user_id:
                raise LookupError(f"user {user_id!r} has no memory {memory_id!r}")
            for view in self.timeline.history(memory_id):
                for s in view.get("sources") or []:
                    if s.get("event_id") and s.get("message_id"):
                        messages.setdefault(s["event_id"], set()).add(s["message_id"])
            ids = [memory_id] + [e for e in self._episodes_of(messages, user_id) if e != memory_id]
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
            report.rewritten_events = self._redact([UUID(m) for m in ids], user_id, only_clear=False)
            report.rewritten_events += self._redact_messages(messages, user_id)
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

    def _source_indices(self, raw: Any, message_ids: set[str]) -> list[int]:
        """Where these messages sit in the raw input (``message_id_of``: the client's id, else ``event_id#i``)."""
        if raw is None or raw.input_type == "knowledge":
            return []
        listed = (raw.payload or {}).get("messages") or []
        return [i for i, m in enumerate(listed)
                if (m.get("message_id") or f"{raw.event_id}#{i}") in message_ids]

    def _episodes_of(self, messages: dict[str, set[str]], user_id: str) -> list[str]:
        """The episodes of the forgotten memory's source messages: each is the message's own
        text, word for word, so the message is not forgotten while one of them keeps it."""
        from domain.raw_input import episode_id

        found: list[str] = []
        for event_id, message_ids in sorted(messages.items()):
            raw = self.store.raw_input(event_id, user_id)
            for index in self._source_indices(raw, message_ids):
                first = str(episode_id(event_id, str(index), raw.scope))
                if self.timeline.owner(first) != user_id:
                    continue
                found.append(first)
                chunks = max((int((v.get("attributes") or {}).get("chunks") or 1)
                              for v in self.timeline.history(first)), default=1)
                found += [m for m in (str(episode_id(event_id, f"{index}.{part}", raw.scope))
                                      for part in range(1, chunks)) if self.timeline.owner(m) == user_id]
        return found

    def _redact_messages(self, messages: dict[str, set[str]], user_id: str) -> int:
        """Rewrite the forgotten memory's source messages out of their raw inputs, in place:
        each keeps its place, id, role and time, its content becomes ``FORGOTTEN_TEXT``, and the
        payload's ``info`` lists the indices (``FORGOTTEN_MESSAGES``) so reprocessing skips them.
        The other messages of the same input stay as they were."""
        rows: list[tuple[Any, int, bytes]] = []
        for event_id, message_ids in sorted(messages.items()):
            raw = self.store.raw_input(event_id, user_id)
            indices = self._source_indices(raw, message_ids)
            if not indices:
                continue
            for stored in self.store.recorder.select_events(raw.id):
                domain_event = self.store.mapper.to_domain_event(stored)
                payload = getattr(domain_event, "payload", None)
                if not isinstance(payload, dict) or not payload.get("messages"):
                    continue
                redacted = forget_messages(payload, indices)
                domain_event.__dict__["payload"] = redacted
                state = self.store.mapper.to_stored_event(domain_event).state
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
        if cache is None:
            return
        # eventsourcing's LRUCache.clear() only resets its recency list: its dict of entries
        # (what get() reads) has to be emptied too.
        lock = getattr(cache, "lock", None)
        if lock is not None:
            lock.acquire()
        try:
            entries = getattr(cache, "cache", None)
            if isinstance(entries, dict):
                entries.clear()
            if hasattr(cache, "clear"):
                cache.clear()
            if hasattr(cache, "full"):
                cache.full = False
        finally:
            if lock is not None:
                lock.release()
