"""memstream's public Python API: ``memstream.open(...)`` and the ``Memstream`` it returns.

A Python user adds input and reads memories through this object without knowing
the composition root. The CLI uses the very same object, so what a script sees is
what ``memstream memories`` prints::

    import memstream
    with memstream.open(data_dir=".memstream/data") as ms:
        ms.add([{"role": "user", "content": "我是小忆，现在在上海居住"}], user_id="xiaoyi")
        hits = ms.search("住在哪里", user_id="xiaoyi", top_k=3)

Results are plain dicts in the JSON shape of ``schemas/memory-events.schema.json``.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from application.outcome import IngestOutcome
from application.settings import Settings
from domain.envelope import InputEnvelope, KnowledgeDocument

__all__ = ["Memstream", "open", "IngestOutcome", "Settings"]


class Memstream:
    """The use cases of one data dir (or event store), in-process."""

    def __init__(self, settings: Settings, *, with_vectors: bool = True) -> None:
        from memstream.bootstrap import build_runtime

        self.settings = settings
        self.runtime = build_runtime(settings, with_vectors=with_vectors)

    @classmethod
    def over(cls, runtime: Any, settings: Settings) -> "Memstream":
        """The same use cases over a runtime someone else built and will close (a worker's:
        streams/control.py forgets through it). ``settings``: as given to ``build_runtime``."""
        ms = cls.__new__(cls)
        ms.settings, ms.runtime = settings, runtime
        return ms

    # ------------------------------------------------------------------ writes

    def add(self, envelope: Mapping[str, Any] | Sequence[Mapping[str, Any]] | InputEnvelope, *,
            user_id: str | None = None, **fields: Any) -> IngestOutcome:
        """Record and refine one input: an envelope (dict or model), or a list of messages
        with ``user_id=`` and any other envelope field (``conversation_id``, ``tags`` …).
        Raises ValueError with a readable reason when the input breaks the contract."""
        from pydantic import ValidationError

        from application.jsonl import describe_validation_error

        if isinstance(envelope, InputEnvelope):
            model = envelope
        else:
            data = dict(envelope) if isinstance(envelope, Mapping) else {"messages": list(envelope)}
            if user_id is not None:
                data["user_id"] = user_id
            data.update(fields)
            try:
                model = InputEnvelope.model_validate(data)
            except ValidationError as e:
                raise ValueError(describe_validation_error(e)) from None
        return self.runtime.service.ingest(model)

    def add_document(self, document: Mapping[str, Any] | KnowledgeDocument) -> IngestOutcome:
        """A knowledge-base document: its chunks become ``knowledge`` memories."""
        doc = document if isinstance(document, KnowledgeDocument) else KnowledgeDocument.model_validate(document)
        return self.runtime.service.ingest_document(doc)

    # ------------------------------------------------------------------ reads

    def search(self, query: str, *, user_id: str | None = None, top_k: int = 10, kinds: Iterable[str] = (),
               keys: Iterable[str] = (), tags: Iterable[str] = (), since: datetime | str | None = None,
               until: datetime | str | None = None, as_of: datetime | str | None = None,
               valid_at: datetime | str | None = None, kb_ids: Iterable[str] = ()) -> list[dict[str, Any]]:
        """The user's current memories that best match ``query``, best first, each with ``score``.
        ``since``/``until`` bound when a memory is about (its latest source's chat_time).
        ``as_of`` / ``valid_at``: search the memories as recorded at, or as stated by, that time
        (``application/time_travel.py``; ranked in memory, slower than a live search).
        ``kb_ids``: search these knowledge bases too (with or without ``user_id``); each result
        then carries ``origin``, where it came from (``application.knowledge.origin_of``)."""
        kb_ids = list(dict.fromkeys(kb_ids))
        if kb_ids or user_id is None:
            return self._search_sources(query, user_id, kb_ids, top_k=top_k, kinds=kinds, keys=keys, tags=tags,
                                        since=since, until=until, as_of=as_of, valid_at=valid_at)
        self.runtime.catch_up()
        if as_of or valid_at:
            return self._time_travel().search(
                query, user_id, self.runtime.embedder, top_k=top_k, as_of=as_of, valid_at=valid_at,
                kinds=kinds, keys=keys, tags=tags, since=_timestamp(since), until=_timestamp(until))
        return self.runtime.read_side.memory_search.search(
            user_id, query, top_k=top_k, kinds=tuple(kinds), keys=tuple(keys), tags=tuple(tags),
            updated_from=_timestamp(since), updated_to=_timestamp(until))

    def _search_sources(self, query: str, user_id: str | None, kb_ids: list[str], *, top_k: int,
                        **filters: Any) -> list[dict[str, Any]]:
        """One search per source (the user, each knowledge base), merged best first
        (``application.knowledge.merge_sources``)."""
        from application.knowledge import kb_space, merge_sources

        if user_id is None and not kb_ids:
            raise ValueError("search needs user_id or kb_ids")
        owners = ([user_id] if user_id is not None else []) + [kb_space(kb) for kb in kb_ids]
        return merge_sources([self.search(query, user_id=owner, top_k=top_k, **filters) for owner in owners], top_k)

    def knowledge_bases(self) -> list[str]:
        """The ids of the knowledge bases this store holds chunks of."""
        from domain.envelope import RESERVED_USER_PREFIX

        self.runtime.catch_up()
        return [u[len(RESERVED_USER_PREFIX):] for u in self.runtime.timeline.users_with_prefix(RESERVED_USER_PREFIX)]

    def memories(self, *, user_id: str | None = None, include_archived: bool = False,
                 kinds: Iterable[str] = (), as_of: datetime | str | None = None,
                 valid_at: datetime | str | None = None, kb_ids: Iterable[str] = ()) -> list[dict[str, Any]]:
        """The user's current memories (with ``include_archived``, the archived ones too).
        ``as_of``: as recorded at that time; ``valid_at``: as the user had stated by then.
        ``kb_ids``: these knowledge bases' chunks too, in document order, each with ``origin``."""
        kb_ids = list(dict.fromkeys(kb_ids))
        if kb_ids or user_id is None:
            from application.knowledge import document_order, kb_space, origin_of

            if user_id is None and not kb_ids:
                raise ValueError("memories needs user_id or kb_ids")
            out = []
            if user_id is not None:
                out += [{**v, "origin": origin_of(v)} for v in self.memories(
                    user_id=user_id, include_archived=include_archived, kinds=kinds, as_of=as_of, valid_at=valid_at)]
            for kb in kb_ids:
                views = self.memories(user_id=kb_space(kb), include_archived=include_archived, kinds=kinds,
                                      as_of=as_of, valid_at=valid_at)
                out += [{**v, "origin": origin_of(v)} for v in sorted(views, key=document_order)]
            return out
        self.runtime.catch_up()
        if as_of or valid_at:
            return self._time_travel().memories(user_id, as_of=as_of, valid_at=valid_at,
                                                include_archived=include_archived, kinds=kinds)
        return self.runtime.timeline.memories(user_id, include_archived=include_archived, kinds=list(kinds))

    def history(self, memory_id: str, *, user_id: str | None = None) -> list[dict[str, Any]]:
        """Every version of one memory, oldest first; [] for an unknown id, and for a
        memory of another user when ``user_id`` is given."""
        self.runtime.catch_up()
        if user_id is not None and self.runtime.timeline.owner(memory_id) != user_id:
            return []
        return self.runtime.timeline.history(memory_id)

    def history_times(self, memory_id: str, *, user_id: str | None = None) -> list[dict[str, Any]]:
        """``history`` with each version's ``recorded_at`` and ``stated_at``."""
        from application.time_travel import annotate

        return annotate(self.history(memory_id, user_id=user_id))

    def forget(self, *, user_id: str, memory_id: str | None = None,
               reason: str = "erasure request") -> dict[str, Any]:
        """Forget a user (or one of the user's memories, all its versions): the content
        becomes unrecoverable in the event store and every projection, the audit trail
        (which memories existed, when they changed, this forgetting) stays
        (``application/forgetting.py``). Returns what was removed. LookupError for a
        memory the user does not have."""
        from adapters.event_store import rewrite_stored_states, scrub_sqlite_files
        from application.forgetting import Forgetter

        from application.reprocessing import all_settings
        from memstream.bootstrap import build_runtime, forget_cached

        def forget_in(runtime: Any) -> dict[str, Any]:
            runtime.catch_up()
            read_side = runtime.read_side if runtime.with_vectors else None
            forgetter = Forgetter(runtime.store, runtime.timeline, rewrite_stored_states, scrub_sqlite_files,
                                  index=read_side.index if read_side else None,
                                  embedder=read_side.embedder if read_side else None,
                                  graph=getattr(read_side, "graph", None))
            return forgetter.forget(user_id, memory_id, reason).to_dict()

        report = forget_in(self.runtime)
        forget_cached(self.runtime.service.fine_stage.extractor)
        if memory_id is None:  # the same user in every other memory set (reprocessing) of the data dir
            report["sets"] = []
            for other in all_settings(self.settings):
                if other.data_dir.resolve() == self.runtime.settings.data_dir.resolve():
                    continue
                if not other.event_store and not (other.data_dir / "events.sqlite").exists():
                    continue
                runtime = build_runtime(other, with_vectors=self.runtime.with_vectors, extractor=_NoExtractor(),
                                        follow_switch=False)
                try:
                    report["sets"].append({"data_dir": str(other.data_dir), **forget_in(runtime)})
                finally:
                    runtime.close()
        return report

    # ------------------------------------------------------------------ memory sets (reprocessing)

    def reprocess(self, name: str, *, extractor: Any = None, extractor_name: str | None = None,
                  progress: Any = None, total: Any = None) -> dict[str, Any]:
        """Derive the memories again from the recorded raw input into memory set ``name``
        (``application/reprocessing.py``), resuming where an earlier run stopped. ``extractor``:
        an Extractor object; ``extractor_name``: rules or anthropic (default: the settings')."""
        from adapters.event_store import prepare_store
        from application.reprocessing import reprocess, set_settings
        from memstream.bootstrap import build_runtime

        target_settings = set_settings(self.settings, name)
        if extractor_name:
            target_settings = target_settings.model_copy(update={"extractor": extractor_name})
        prepare_store(target_settings.event_store)
        target = build_runtime(target_settings, extractor=extractor, sync_projections=False, with_vectors=False,
                               follow_switch=False)
        if self.runtime.with_vectors or self.runtime.embedder_part.built:
            target.embedder_part.provide(self.runtime.embedder)  # shares the content-hash cache
        try:
            report = reprocess(self.runtime.store, target, name, progress=progress, total=total)
            target.catch_up()
        finally:
            target.embedder_part.provide(None)  # not the set's to close
            target.close()
        return report.to_dict()

    def compare(self, name: str) -> list[dict[str, Any]]:
        """Per user, the memories set ``name`` created, revised or is missing against the live set."""
        from application.reprocessing import SetError, compare, set_names, set_settings
        from memstream.bootstrap import build_runtime

        if name not in set_names(self.settings):
            raise SetError(f"no memory set {name!r}")
        self.runtime.catch_up()
        other = build_runtime(set_settings(self.settings, name), with_vectors=False, extractor=_NoExtractor(),
                              follow_switch=False)
        try:
            other.catch_up()
            return [d.to_dict() for d in compare(self.runtime.timeline, other.timeline)]
        finally:
            other.close()

    def switch(self, name: str) -> None:
        """Make memory set ``name`` the live one for every later open (``"live"``: the data dir's own)."""
        from application.reprocessing import switch

        switch(self.settings, name)

    def drop(self, name: str) -> None:
        """Delete memory set ``name`` (not the live one)."""
        from adapters.event_store import drop_store
        from application.reprocessing import drop

        drop(self.settings, name, drop_store)

    def memory_sets(self) -> dict[str, Any]:
        from application.reprocessing import live_name, set_names

        return {"live": live_name(self.settings), "sets": set_names(self.settings)}

    def _time_travel(self) -> Any:
        from application.time_travel import TimeTravel

        return TimeTravel(self.runtime.store, self.runtime.timeline)

    def find_memory_ids(self, prefix: str, *, user_id: str | None = None) -> list[str]:
        """The Memory IDs that start with ``prefix`` (of ``user_id`` when given); ValueError
        for a prefix shorter than four hex digits."""
        self.runtime.catch_up()
        return self.runtime.timeline.find_by_prefix(prefix, user_id)

    # ------------------------------------------------------------------ lifecycle

    def close(self) -> None:
        self.runtime.close()

    def __enter__(self) -> "Memstream":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class _NoExtractor:
    """For opening another memory set only to read or forget: never asked to extract."""

    name = "none"

    def extract(self, request: Any) -> Any:
        raise RuntimeError("this memory set was opened read-only")


def open(data_dir: str | Path | None = None, **settings: Any) -> Memstream:  # noqa: A001 - the API's verb
    """Open the memories in ``data_dir`` (default ``.memstream/data``). Any setting of the
    configuration table may be given by its name without the prefix, e.g.
    ``memstream.open(data_dir, event_store="postgresql://…", extractor="rules")``;
    what is not given comes from the ``MEMSTREAM_*`` environment variables."""
    with_vectors = settings.pop("with_vectors", True)
    if data_dir is not None:
        settings["data_dir"] = Path(data_dir)
    return Memstream(Settings(**settings), with_vectors=with_vectors)


def _timestamp(value: datetime | str | None) -> float | None:
    if value is None or value == "":
        return None
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return (moment - _EPOCH).total_seconds()  # unlike .timestamp(), fine for year 1 too


_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
