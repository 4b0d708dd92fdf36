"""Changes a user asks for directly: archive a memory, or correct one.

The HTTP API's ``/delete/memory`` and ``/add/feedback`` (with a memory id) come here.
Each change is a version of the memory like any other, with ``reason``
``user_request`` or ``feedback``, stage and ``decided_by`` ``user`` (versions recorded
before the ``user`` stage existed carry stage ``fine``); the user's directory is
updated in the same transaction, so the Fine stage sees the change at once (the same
shape as application/fine_stage.py's own archives and revisions). Optimistic
concurrency on the directory serialises them with concurrent Fine decisions; a
conflict is retried.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from eventsourcing.persistence import IntegrityError

from application.fine_stage import directory_entry
from application.memory_app import MemoryApplication
from domain.memory import Memory
from domain.values import Stage

USER_REQUEST = "user_request"
FEEDBACK = "feedback"
DECIDED_BY = "user"
"""Neither an extractor nor a policy decided: the user asked."""

MAX_ATTEMPTS = 8


@dataclass
class RequestOutcome:
    changed: list[str] = field(default_factory=list)
    not_found: list[str] = field(default_factory=list)
    """Unknown ids, ids of another user's memories, and (for archive) already archived ones."""


def _cause(request_id: str | None) -> dict[str, Any]:
    return {"event_ids": [request_id] if request_id else [], "message_ids": [], "topic": None,
            "partition": None, "offset": None}


def _own_active(store: MemoryApplication, memory_id: str, user_id: str) -> Memory | None:
    memory = store.memory(memory_id)
    if memory is None or memory.user_id != user_id or not memory.is_active:
        return None
    return memory


def archive_on_request(store: MemoryApplication, user_id: str, memory_ids: list[str],
                       request_id: str | None = None) -> RequestOutcome:
    """Archive the user's memories ``memory_ids`` with reason ``user_request``."""
    for _ in range(MAX_ATTEMPTS):
        outcome = RequestOutcome()
        directory = store.directory(user_id)
        pending: list[Any] = []
        for memory_id in dict.fromkeys(memory_ids):
            memory = _own_active(store, memory_id, user_id)
            if memory is None:
                outcome.not_found.append(memory_id)
                continue
            memory.archive(stage=Stage.USER.value, reason=USER_REQUEST, cause=_cause(request_id),
                           decided_by=DECIDED_BY)
            pending.append(memory)
            outcome.changed.append(str(memory.id))
        if not pending:
            return outcome
        directory.update(upserts={}, removals=outcome.changed, conversation_id=None, event_id=None)
        try:
            store.save_tracked([*pending, directory], None)
        except IntegrityError:
            continue  # a concurrent write about this user: decide again
        return outcome
    raise RuntimeError(f"archive for {user_id!r}: gave up after {MAX_ATTEMPTS} conflicts")


def correct_on_feedback(store: MemoryApplication, user_id: str, memory_id: str, content: str,
                        request_id: str | None = None) -> RequestOutcome:
    """A new version of the user's memory ``memory_id`` with ``content``, reason ``feedback``."""
    for _ in range(MAX_ATTEMPTS):
        memory = _own_active(store, memory_id, user_id)
        if memory is None:
            return RequestOutcome(not_found=[memory_id])
        directory = store.directory(user_id)
        memory.revise(content=content, stage=Stage.USER.value, reason=FEEDBACK, cause=_cause(request_id),
                      decided_by=DECIDED_BY)
        pending: list[Any] = [memory]
        if memory.kind != "episode":
            directory.update(upserts={str(memory.id): directory_entry(memory)}, removals=[],
                             conversation_id=None, event_id=None)
            pending.append(directory)
        try:
            store.save_tracked(pending, None)
        except IntegrityError:
            continue
        return RequestOutcome(changed=[str(memory.id)])
    raise RuntimeError(f"feedback on {memory_id}: gave up after {MAX_ATTEMPTS} conflicts")
