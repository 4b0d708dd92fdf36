"""The MemOS-compatible endpoints: POST JSON in, ``{"code": 0, "message": "ok", "data": …}`` out.

Handlers decode the request, scope it to the key's app (api/auth.py), map it to an
input envelope or a read, call the backend and shape the answer; the mapping of
memory views to MemOS items and the search ``filter`` live here too.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Callable

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from api.auth import BadRequest, Tenant, scope
from api.backend import Backend, UnknownTask
from api.common import backend, external_view, key_app, ok
from application.jsonl import describe_validation_error
from domain.envelope import (MAX_CONTENT_CHARS, MAX_ENVELOPE_BYTES, MAX_ID_CHARS, MAX_TAG_CHARS, MAX_TAGS,
                             InputEnvelope, Message, Text, json_size)


class NotFound(LookupError):
    """404 with a message."""


router = APIRouter(tags=["MemOS-compatible"])

Id = Text(MAX_ID_CHARS)
LIMIT = Field(default=6, ge=0, le=100)


class _Request(BaseModel):
    model_config = ConfigDict(extra="ignore")

    user_id: Id = Field(description="the app's user id")
    app_id: Id | None = Field(default=None, description="must be the key's app (the operator key: any app)")


class AddMessage(_Request):
    conversation_id: Id | None = None
    messages: list[Message] = Field(min_length=1, max_length=100)
    agent_id: Id | None = None
    tags: list[Text(MAX_TAG_CHARS)] = Field(default_factory=list, max_length=MAX_TAGS)
    info: dict[str, Any] = Field(default_factory=dict)
    async_mode: bool = Field(default=True, description="false: answer once the input is searchable")


class GetStatus(BaseModel):
    model_config = ConfigDict(extra="ignore")

    task_id: Id
    user_id: Id | None = None
    app_id: Id | None = None


class SearchMemory(_Request):
    query: Text(4000, 1)
    conversation_id: Id | None = Field(default=None, description="accepted; memories are per user")
    filter: dict[str, Any] | None = Field(
        default=None, description='e.g. {"and": [{"create_time": {"gte": "2025-01-01"}}, {"tags": "travel"}]}; '
        "fields create_time, update_time, agent_id, tags; operators gt, gte, lt, lte, eq, ne, in, contains")
    memory_limit_number: int = LIMIT
    include_preference: bool = True
    preference_limit_number: int = LIMIT
    include_tool_memory: bool = False
    tool_memory_limit_number: int = LIMIT
    include_skill: bool = False
    skill_limit_number: int = LIMIT
    relativity: float = Field(default=0.0, ge=0, le=1e6, description="minimum score of a result")


class GetMemory(_Request):
    page: int = Field(default=1, ge=1, le=1_000_000)
    size: int = Field(default=10, ge=1, le=100)
    memory_type: Text(64) | None = Field(
        default=None, description="a kind (fact, preference, tool, skill, knowledge, episode) or text_mem, "
        "pref_mem, tool_mem, skill_mem")


class DeleteMemory(_Request):
    memory_ids: list[Id] = Field(min_length=1, max_length=100)
    forget: bool = Field(default=False, description="also erase their content, every version (memstream forget)")


class AddFeedback(_Request):
    feedback_content: Text(MAX_CONTENT_CHARS, 1) = Field(description="the correction, in words")
    memory_id: Id | None = Field(default=None, description="the memory it corrects: its new content")
    conversation_id: Id | None = None
    agent_id: Id | None = None
    tags: list[Text(MAX_TAG_CHARS)] = Field(default_factory=list, max_length=MAX_TAGS - 1)


# ---------------------------------------------------------------- shapes

MEMORY_KINDS = ("fact", "episode", "knowledge")
MEMORY_TYPES = {"text_mem": MEMORY_KINDS, "pref_mem": ("preference",), "tool_mem": ("tool",),
                "skill_mem": ("skill",), **{k: (k,) for k in ("fact", "preference", "tool", "skill", "knowledge",
                                                                 "episode")}}


def memory_item(view: dict[str, Any], tenant: Tenant) -> dict[str, Any]:
    view = external_view(view, tenant)
    return {
        "id": view["memory_id"], "memory_key": view.get("key"), "memory_value": view.get("content"),
        "memory_type": view.get("kind"), "create_time": view.get("created_at"),
        "update_time": view.get("updated_at"), "conversation_id": view.get("conversation_id"),
        "status": view.get("status"), "confidence": view.get("confidence"), "tags": view.get("tags") or [],
        "relativity": view.get("score"), "user_id": view.get("user_id"), "agent_id": view.get("agent_id"),
        "version": view.get("version"),
    }


def preference_item(view: dict[str, Any], tenant: Tenant) -> dict[str, Any]:
    item = memory_item(view, tenant)
    kind = view.get("preference_type") or "explicit"
    item.update(preference=view.get("content"), reasoning=view.get("reasoning"),
                preference_type=kind if kind.endswith("_preference") else f"{kind}_preference")
    return item


# ---------------------------------------------------------------- filter

FILTER_FIELDS = {"create_time": "created_at", "update_time": "updated_at", "agent_id": "agent_id", "tags": "tags"}
OPERATORS = ("gt", "gte", "lt", "lte", "eq", "ne", "in", "contains")
MAX_FILTER_DEPTH = 8
Predicate = Callable[[dict[str, Any]], bool]


def _moment(value: Any, where: str) -> datetime:
    if not isinstance(value, str):
        raise BadRequest(where, "must be an ISO 8601 date-time string")
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise BadRequest(where, "must be an ISO 8601 date-time string") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _compare(op: str, left: Any, right: Any) -> bool:
    if left is None:
        return op == "ne"
    try:
        return {"gt": left > right, "gte": left >= right, "lt": left < right, "lte": left <= right,
                "eq": left == right, "ne": left != right}[op]
    except TypeError:
        return False


def _condition(name: str, spec: Any, where: str) -> Predicate:
    field = FILTER_FIELDS[name]
    ops = spec if isinstance(spec, dict) else {"contains" if name == "tags" else "eq": spec}
    if not ops:
        raise BadRequest(where, "needs an operator")
    checks: list[Predicate] = []
    for op, operand in ops.items():
        at = f"{where}.{op}"
        if op not in OPERATORS:
            raise BadRequest(at, f"unknown operator; use {', '.join(OPERATORS)}")
        if name == "tags":
            wanted = operand if isinstance(operand, list) else [operand]
            if not wanted or not all(isinstance(t, str) for t in wanted):
                raise BadRequest(at, "tags are compared with strings")
            if op == "contains" or op == "eq":
                checks.append(lambda v, w=tuple(wanted): all(t in (v.get("tags") or []) for t in w))
            elif op == "in":
                checks.append(lambda v, w=tuple(wanted): any(t in (v.get("tags") or []) for t in w))
            elif op == "ne":
                checks.append(lambda v, w=tuple(wanted): not any(t in (v.get("tags") or []) for t in w))
            else:
                raise BadRequest(at, "tags take eq, ne, in or contains")
        elif op == "in":
            if not isinstance(operand, list):
                raise BadRequest(at, "must be a list")
            values = [(_moment(x, at) if field != "agent_id" else x) for x in operand]
            checks.append(lambda v, f=field, vs=tuple(values): _value(v, f) in vs)
        elif op == "contains":
            raise BadRequest(at, "contains applies to tags")
        else:
            right = _moment(operand, at) if field != "agent_id" else operand
            if field == "agent_id" and not (operand is None or isinstance(operand, str)):
                raise BadRequest(at, "agent_id is compared with a string")
            checks.append(lambda v, f=field, o=op, r=right: _compare(o, _value(v, f), r))
    return lambda v: all(c(v) for c in checks)


def _value(view: dict[str, Any], field: str) -> Any:
    value = view.get(field)
    if field in ("created_at", "updated_at") and isinstance(value, str):
        try:
            return _moment(value, field)
        except BadRequest:
            return None
    return value


def compile_filter(node: Any, where: str = "filter", depth: int = 1) -> Predicate:
    if depth > MAX_FILTER_DEPTH:
        raise BadRequest(where, f"nests deeper than {MAX_FILTER_DEPTH} levels")
    if not isinstance(node, dict):
        raise BadRequest(where, "must be an object")
    predicates: list[Predicate] = []
    for key, value in node.items():
        at = f"{where}.{key}"
        if key in ("and", "or"):
            if not isinstance(value, list) or not value:
                raise BadRequest(at, "must be a non-empty list of conditions")
            parts = [compile_filter(v, f"{at}.{i}", depth + 1) for i, v in enumerate(value)]
            joined = all if key == "and" else any
            predicates.append(lambda v, ps=tuple(parts), j=joined: j(p(v) for p in ps))
        elif key in FILTER_FIELDS:
            predicates.append(_condition(key, value, at))
        else:
            raise BadRequest(at, "unknown filter field; use and, or, " + ", ".join(FILTER_FIELDS))
    return lambda v: all(p(v) for p in predicates)


# ---------------------------------------------------------------- envelope

def envelope_of(data: dict[str, Any]) -> InputEnvelope:
    """The input contract's validation, with the field and the reason (400)."""
    try:
        envelope = InputEnvelope.model_validate(data)
    except ValidationError as e:
        raise BadRequest("envelope", describe_validation_error(e)) from None
    size = json_size(envelope.model_dump(mode="json", exclude_none=True))
    if size > MAX_ENVELOPE_BYTES:
        raise BadRequest("envelope", f"is {size} bytes of JSON; the limit is {MAX_ENVELOPE_BYTES}")
    return envelope


def _add(engine: Backend, tenant: Tenant, req: AddMessage | AddFeedback, messages: list[dict[str, Any]],
         tags: list[str], info: dict[str, Any], wait: bool) -> dict[str, Any]:
    envelope = envelope_of({
        "user_id": tenant.internal(req.user_id), "conversation_id": req.conversation_id,
        "agent_id": req.agent_id, "app_id": tenant.app_id if tenant.app_id is not None else req.app_id,
        "messages": messages, "tags": tags, "info": info,
    })
    status = engine.add(envelope, wait=wait)
    return {"success": True, "task_id": envelope.event_id, "status": status}


# ---------------------------------------------------------------- endpoints

@router.post("/add/message", summary="Add messages (recorded, refined, made searchable)")
def add_message(req: AddMessage, app: str = Depends(key_app), engine: Backend = Depends(backend)) -> dict:
    tenant = scope(app, req.app_id)
    messages = [m.model_dump(mode="json", exclude_none=True) for m in req.messages]
    return ok(_add(engine, tenant, req, messages, req.tags, req.info, wait=not req.async_mode))


@router.post("/get/status", summary="Where an input is: running, completed or failed")
def get_status(req: GetStatus, app: str = Depends(key_app), engine: Backend = Depends(backend)) -> dict:
    tenant = scope(app, req.app_id)
    user = tenant.internal(req.user_id) if req.user_id is not None else None
    try:
        found = engine.status(req.task_id, lambda owner: tenant.owns(owner) and user in (None, owner))
    except UnknownTask:
        raise NotFound(f"no task {req.task_id!r} for this app") from None
    return ok(found)


def _search_kind(engine: Backend, tenant: Tenant, user: str, req: SearchMemory, kinds: tuple[str, ...],
                 limit: int, keep: Predicate | None, shape: Callable) -> list[dict[str, Any]]:
    if limit <= 0:
        return []
    pool = limit if keep is None else min(max(limit * 5, 50), 200)
    try:
        hits = engine.search(user, req.query, top_k=pool, kinds=kinds)
    except ValueError as e:
        raise BadRequest("query", str(e)) from None
    chosen = [h for h in hits if (h.get("score") or 0.0) >= req.relativity and (keep is None or keep(h))]
    return [shape(h, tenant) for h in chosen[:limit]]


@router.post("/search/memory", summary="Search a user's memories")
def search_memory(req: SearchMemory, app: str = Depends(key_app), engine: Backend = Depends(backend)) -> dict:
    tenant = scope(app, req.app_id)
    user = tenant.internal(req.user_id)
    keep = compile_filter(req.filter) if req.filter else None
    data = {
        "memory_detail_list": _search_kind(engine, tenant, user, req, MEMORY_KINDS, req.memory_limit_number,
                                           keep, memory_item),
        "preference_detail_list": _search_kind(engine, tenant, user, req, ("preference",),
                                               req.preference_limit_number, keep, preference_item)
        if req.include_preference else [],
        "tool_memory_detail_list": _search_kind(engine, tenant, user, req, ("tool",),
                                                req.tool_memory_limit_number, keep, memory_item)
        if req.include_tool_memory else [],
        "skill_detail_list": _search_kind(engine, tenant, user, req, ("skill",), req.skill_limit_number,
                                          keep, memory_item) if req.include_skill else [],
    }
    return ok(data)


@router.post("/get/memory", summary="A user's current memories, a page at a time")
def get_memory(req: GetMemory, app: str = Depends(key_app), engine: Backend = Depends(backend)) -> dict:
    tenant = scope(app, req.app_id)
    kinds: tuple[str, ...] = ()
    if req.memory_type is not None:
        if req.memory_type not in MEMORY_TYPES:
            raise BadRequest("memory_type", "unknown; use " + ", ".join(MEMORY_TYPES))
        kinds = MEMORY_TYPES[req.memory_type]
    views = engine.memories(tenant.internal(req.user_id), kinds=kinds)
    start = (req.page - 1) * req.size
    page = views[start:start + req.size]
    items = [preference_item(v, tenant) if v.get("kind") == "preference" else memory_item(v, tenant) for v in page]
    return ok({"memory_detail_list": items, "total": len(views), "page": req.page, "size": req.size})


@router.post("/delete/memory", summary="Archive memories (reason user_request)")
def delete_memory(req: DeleteMemory, app: str = Depends(key_app), engine: Backend = Depends(backend)) -> dict:
    tenant = scope(app, req.app_id)
    user = tenant.internal(req.user_id)
    outcome = engine.archive(user, list(req.memory_ids))
    if not req.forget:
        return ok({"deleted": outcome.changed, "not_found": outcome.not_found})
    forgotten, foreign = engine.forget(user, list(req.memory_ids))
    return ok({"deleted": outcome.changed, "forgotten": forgotten, "not_found": foreign})


@router.post("/add/feedback", summary="A correction: against a memory id, or in words")
def add_feedback(req: AddFeedback, app: str = Depends(key_app), engine: Backend = Depends(backend)) -> dict:
    tenant = scope(app, req.app_id)
    user = tenant.internal(req.user_id)
    if req.memory_id is not None:
        outcome = engine.correct(user, req.memory_id, req.feedback_content)
        if not outcome.changed:
            raise NotFound(f"no active memory {req.memory_id!r} of this user")
        return ok({"success": True, "memory_id": outcome.changed[0], "status": "completed"})
    message = {"role": "user", "content": req.feedback_content,
               "chat_time": datetime.now(timezone.utc).isoformat()}
    tags = list(dict.fromkeys([*req.tags, "feedback"]))
    return ok(_add(engine, tenant, req, [message], tags, {}, wait=True))
