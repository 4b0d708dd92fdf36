"""The native REST API under ``/v1``: memories, one memory, its history, search, inputs.

Answers are memstream's own memory views (``schemas/memory-events.schema.json``) in
the same ``{"code", "message", "data"}`` envelope, with the app's user ids. The
operator key reads the stores' own user ids, or an app's with ``?app_id=``.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field

from api.auth import BadRequest, Tenant, scope
from api.backend import Backend
from api.common import backend, external_view, key_app, ok
from api.memos import NotFound, compile_filter
from domain.envelope import MAX_ID_CHARS, MAX_TAG_CHARS, Text
from domain.values import MemoryKind
from memstream import _timestamp

router = APIRouter(prefix="/v1", tags=["native"])

Kind = MemoryKind
AppId = Query(default=None, max_length=64, description="operator key only: act for this app")


def _tenant(app: str, app_id: str | None) -> Tenant:
    return scope(app, app_id)


@router.get("/memories", summary="A user's current memories")
def list_memories(user_id: str = Query(min_length=1, max_length=MAX_ID_CHARS),
                  include_archived: bool = False, kind: list[Kind] = Query(default=[]),
                  app_id: str | None = AppId, app: str = Depends(key_app),
                  engine: Backend = Depends(backend)) -> dict:
    tenant = _tenant(app, app_id)
    views = engine.memories(tenant.internal(user_id), include_archived=include_archived,
                            kinds=[k.value for k in kind])
    return ok([external_view(v, tenant) for v in views])


def _owned(engine: Backend, tenant: Tenant, memory_id: str) -> dict[str, Any]:
    view = engine.memory(memory_id)
    if view is None or not tenant.owns(view.get("user_id")):
        raise NotFound(f"no memory {memory_id!r} for this app")
    return view


@router.get("/memories/{memory_id}", summary="One memory's current version")
def get_memory(memory_id: str, app_id: str | None = AppId, app: str = Depends(key_app),
               engine: Backend = Depends(backend)) -> dict:
    tenant = _tenant(app, app_id)
    return ok(external_view(_owned(engine, tenant, memory_id), tenant))


@router.get("/memories/{memory_id}/history", summary="Every version of one memory, oldest first")
def memory_history(memory_id: str, app_id: str | None = AppId, app: str = Depends(key_app),
                   engine: Backend = Depends(backend)) -> dict:
    tenant = _tenant(app, app_id)
    _owned(engine, tenant, memory_id)
    return ok([external_view(v, tenant) for v in engine.history(memory_id)])


class Search(BaseModel):
    model_config = ConfigDict(extra="forbid")

    user_id: Text(MAX_ID_CHARS, 1)
    query: Text(4000, 1)
    top_k: int = Field(default=10, ge=1, le=100)
    kinds: list[Kind] = Field(default_factory=list)
    tags: list[Text(MAX_TAG_CHARS)] = Field(default_factory=list, max_length=32)
    since: Text(64) | None = Field(default=None, description="about when: latest source chat_time at/after")
    until: Text(64) | None = None
    filter: dict[str, Any] | None = Field(default=None, description="as /search/memory's filter")
    app_id: Text(64) | None = None


@router.post("/search", summary="Search a user's current memories")
def search(req: Search, app: str = Depends(key_app), engine: Backend = Depends(backend)) -> dict:
    tenant = _tenant(app, req.app_id)
    keep = compile_filter(req.filter) if req.filter else None
    for name in ("since", "until"):
        try:
            _timestamp(getattr(req, name))
        except (ValueError, OverflowError):
            raise BadRequest(name, "must be an ISO 8601 date-time string") from None
    pool = req.top_k if keep is None else min(max(req.top_k * 5, 50), 200)
    try:
        hits = engine.search(tenant.internal(req.user_id), req.query, top_k=pool,
                             kinds=[k.value for k in req.kinds], tags=req.tags, since=req.since, until=req.until)
    except ValueError as e:
        raise BadRequest("query", str(e)) from None
    hits = [h for h in hits if keep is None or keep(h)][:req.top_k]
    return ok([external_view(h, tenant) for h in hits])


@router.get("/inputs/{event_id}", summary="One recorded input, as the app sent it")
def get_input(event_id: str, app_id: str | None = AppId, app: str = Depends(key_app),
              engine: Backend = Depends(backend)) -> dict:
    tenant = _tenant(app, app_id)
    raw = engine.raw_input(event_id)
    if raw is None or not tenant.owns(raw["user_id"]):
        raise NotFound(f"no input {event_id!r} for this app")
    payload = dict(raw["payload"])
    payload["user_id"] = tenant.external(raw["user_id"])
    return ok({"event_id": raw["event_id"], "user_id": payload["user_id"], "refined": raw["refined"],
               "payload": payload})
