"""Reprocessing: derive the memories again from the recorded raw input, into a parallel set.

A *memory set* is a complete store of its own: event store, timeline, vector and
lexical indexes, under ``DATA_DIR/sets/NAME/`` (with a PostgreSQL event store, the
set's events live in the schema ``<schema>_set_<name>``). Reprocessing reads every
``RawInput`` of the live store in log order and runs it through the set's own Fast
and Fine stages with the chosen extractor, exactly like ``memstream ingest`` does, so
the live set is never written to. Each input's original cause (its Kafka position)
is kept in the set's events.

Resumable: after each input the set records a tracking position over the live log
(``reprocess:raw-input``); a restart goes on after it. An input processed but not yet
tracked when a run was interrupted is recognised by its RawInput ID and refined again,
which changes nothing if it was refined already.

``compare`` lists, per user, the memories the set created, revised (same kind and
key, other content) or is missing, relative to the live set; episodes are matched by
their (deterministic) Memory ID, other memories by kind and key. ``switch`` writes the
set's name into ``DATA_DIR/sets/LIVE``, which the composition root reads
(``live_settings``), so search and memories serve that set; ``switch live`` goes back.
``drop`` deletes a set that is not live.

Raw input whose user was forgotten holds no content any more and is skipped; so are the
messages of an input that were the sources of one forgotten memory (the input's other
messages are processed as before).
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator
from urllib.parse import parse_qs, urlencode, urlparse, urlunparse

from eventsourcing.persistence import Tracking
from eventsourcing.utils import get_topic

from application.forgetting import FORGOTTEN_MESSAGES, FORGOTTEN_TEXT, forgotten_messages
from application.settings import Settings
from domain.raw_input import RawInput
from domain.values import Cause

LIVE = "live"
POINTER = "LIVE"
TRACKING_NAME = "reprocess:raw-input"
RAW_TOPICS = (get_topic(RawInput.InputRecorded),)  # type: ignore[attr-defined]
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")


class SetError(ValueError):
    """An unknown, invalid or live memory set name."""


def check_name(name: str) -> str:
    if name == LIVE or not _NAME.match(name):
        raise SetError(f"a memory set name is 1-40 of a-z, 0-9, _ and - (not {LIVE!r}): {name!r}")
    return name


def sets_dir(settings: Settings) -> Path:
    return settings.data_dir / "sets"


def set_settings(settings: Settings, name: str) -> Settings:
    """The settings of memory set ``name``: its own data dir, and its own event store."""
    check_name(name)
    update: dict[str, Any] = {"data_dir": sets_dir(settings) / name}
    if settings.event_store.startswith(("postgresql:", "postgres:")):
        parsed = urlparse(settings.event_store)
        query = parse_qs(parsed.query)
        schema = (query.get("schema") or ["public"])[0]
        query["schema"] = [f"{schema}_set_{name}".replace("-", "_")]
        update["event_store"] = urlunparse(parsed._replace(query=urlencode(query, doseq=True)))
    else:
        update["event_store"] = ""
    return settings.model_copy(update=update)


def live_name(settings: Settings) -> str:
    pointer = sets_dir(settings) / POINTER
    name = pointer.read_text(encoding="utf-8").strip() if pointer.exists() else ""
    return name or LIVE


def live_settings(settings: Settings) -> Settings:
    """What the composition root opens: the set ``switch`` made live, else the data dir's own store."""
    name = live_name(settings)
    if name == LIVE or not (sets_dir(settings) / name).is_dir():
        return settings
    return set_settings(settings, name)


def set_names(settings: Settings) -> list[str]:
    root = sets_dir(settings)
    return sorted(p.name for p in root.iterdir() if p.is_dir() and _NAME.match(p.name)) if root.is_dir() else []


def all_settings(settings: Settings) -> list[Settings]:
    """The data dir's own store and every memory set (forgetting reaches all of them)."""
    return [settings, *(set_settings(settings, name) for name in set_names(settings))]


@dataclass
class ReprocessReport:
    name: str
    inputs: int = 0
    skipped_forgotten: int = 0
    already_done: int = 0
    created: int = 0
    revised: int = 0
    archived: int = 0
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def raw_inputs(source: Any, start: int, batch: int = 500) -> Iterator[tuple[int, Any]]:
    """(notification id, InputRecorded event) of the source store from ``start`` on."""
    while True:
        notifications = source.recorder.select_notifications(start, limit=batch, topics=RAW_TOPICS)
        if not notifications:
            return
        for n in notifications:
            yield n.id, source.mapper.to_domain_event(n)
        start = notifications[-1].id + 1


def count_raw_inputs(source: Any, start: int) -> int:
    return sum(1 for _ in _ids(source, start))


def _ids(source: Any, start: int) -> Iterator[int]:
    while True:
        notifications = source.recorder.select_notifications(start, limit=2000, topics=RAW_TOPICS)
        if not notifications:
            return
        yield from (n.id for n in notifications)
        start = notifications[-1].id + 1


def _cause(data: dict[str, Any] | None) -> Cause:
    data = data or {}
    return Cause(event_ids=tuple(data.get("event_ids") or ()), message_ids=tuple(data.get("message_ids") or ()),
                 topic=data.get("topic"), partition=data.get("partition"), offset=data.get("offset"),
                 extra=dict(data.get("extra") or {}))


def reprocess(source: Any, target: Any, name: str, progress: Callable[[int], None] | None = None,
              total: Callable[[int], None] | None = None) -> ReprocessReport:
    """Run every raw input of ``source`` (a MemoryApplication) through ``target`` (the
    set's Runtime) after the set's tracked position. ``total`` is told how many are left."""
    import time

    from domain.envelope import InputEnvelope, KnowledgeDocument

    started = time.perf_counter()
    report = ReprocessReport(name=name)
    start = target.store.last_tracked(TRACKING_NAME) + 1
    if total is not None:
        total(count_raw_inputs(source, start))
    for notification_id, recorded in raw_inputs(source, start):
        payload = recorded.payload or {}
        tracking = Tracking(TRACKING_NAME, notification_id)
        if payload.get("forgotten") is True:
            report.skipped_forgotten += 1
            target.store.track_only(tracking)
        elif recorded.input_type == "knowledge":
            outcome = target.service.ingest_document(KnowledgeDocument.model_validate(payload),
                                                     _cause(recorded.cause), tracking)
            _count(report, outcome)
        elif forgotten_messages(payload) >= set(range(len(payload.get("messages") or []))):
            report.skipped_forgotten += 1  # every message of it was forgotten
            target.store.track_only(tracking)
        else:
            outcome = target.service.ingest(InputEnvelope.model_validate(_without_forgotten(payload)),
                                            _cause(recorded.cause))
            target.store.track_only(tracking)
            _count(report, outcome)
        if progress is not None:
            progress(1)
    report.seconds = round(time.perf_counter() - started, 3)
    return report


def _without_forgotten(payload: dict[str, Any]) -> dict[str, Any]:
    """The input as reprocessing reads it: each forgotten message (one forgotten memory's
    source, ``application.forgetting``) stands in its place as a ``system`` turn, which no
    stage makes a memory of, so the other messages keep their index and their episode IDs."""
    forgotten = forgotten_messages(payload)
    if not forgotten:
        return payload
    info = {k: v for k, v in (payload.get("info") or {}).items() if k != FORGOTTEN_MESSAGES}
    messages = [{"message_id": m.get("message_id") or f"{payload['event_id']}#{i}", "role": "system",
                 "content": FORGOTTEN_TEXT, "chat_time": m.get("chat_time")} if i in forgotten else m
                for i, m in enumerate(payload.get("messages") or [])]
    return {**payload, "messages": messages, "info": info}


def _count(report: ReprocessReport, outcome: Any) -> None:
    if outcome.duplicate and not (outcome.created or outcome.revised or outcome.archived):
        report.already_done += 1
    report.inputs += 1
    report.created += len(outcome.created)
    report.revised += len(outcome.revised)
    report.archived += len(outcome.archived)


@dataclass
class UserDiff:
    user_id: str
    created: list[dict[str, Any]] = field(default_factory=list)
    revised: list[dict[str, Any]] = field(default_factory=list)
    missing: list[dict[str, Any]] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.created or self.revised or self.missing)

    def to_dict(self) -> dict[str, Any]:
        return {"user_id": self.user_id, "created": self.created, "revised": self.revised, "missing": self.missing}


def _identity(view: dict[str, Any]) -> tuple[str, str]:
    return ("episode", view["memory_id"]) if view["kind"] == "episode" else (view["kind"], view["key"])


def _grouped(views: list[dict[str, Any]]) -> dict[tuple[str, str], list[dict[str, Any]]]:
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for view in views:
        groups.setdefault(_identity(view), []).append(view)
    return groups


def _brief(view: dict[str, Any]) -> dict[str, Any]:
    return {"memory_id": view["memory_id"], "kind": view["kind"], "key": view["key"], "content": view["content"]}


def compare(live_timeline: Any, set_timeline: Any) -> list[UserDiff]:
    """Per user, the set's active memories against the live set's (users with differences only)."""
    users = sorted(set(_users(live_timeline)) | set(_users(set_timeline)))
    diffs = []
    for user in users:
        live = _grouped(live_timeline.memories(user))
        other = _grouped(set_timeline.memories(user))
        diff = UserDiff(user)
        for identity in sorted(set(live) | set(other)):
            mine, theirs = live.get(identity, []), other.get(identity, [])
            if not mine:
                diff.created += [_brief(v) for v in theirs]
            elif not theirs:
                diff.missing += [_brief(v) for v in mine]
            elif sorted(v["content"] for v in mine) != sorted(v["content"] for v in theirs):
                diff.revised += [{**_brief(v), "live": [m["content"] for m in mine]} for v in theirs]
        if not diff.empty:
            diffs.append(diff)
    return diffs


def _users(timeline: Any) -> list[str]:
    return timeline.users()


def switch(settings: Settings, name: str) -> None:
    root = sets_dir(settings)
    if name == LIVE:
        (root / POINTER).unlink(missing_ok=True)
        return
    check_name(name)
    if not (root / name).is_dir():
        raise SetError(f"no memory set {name!r} (reprocess --into {name} first)")
    (root / f"{POINTER}.tmp").write_text(name + "\n", encoding="utf-8")
    (root / f"{POINTER}.tmp").replace(root / POINTER)


def drop(settings: Settings, name: str, drop_store: Callable[[str], None]) -> None:
    check_name(name)
    if live_name(settings) == name:
        raise SetError(f"memory set {name!r} is live: switch to another one first")
    folder = sets_dir(settings) / name
    if not folder.is_dir():
        raise SetError(f"no memory set {name!r}")
    url = set_settings(settings, name).event_store
    if url:
        drop_store(url)
    shutil.rmtree(folder)
