"""Pieces every router shares: the key dependency, the response envelope, view mapping."""

from __future__ import annotations

from typing import Any

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader

from api.auth import KeyRing, Tenant, key_from_header
from api.backend import Backend

authorization = APIKeyHeader(name="Authorization", auto_error=False,
                             description="`Token KEY` or `Bearer KEY` (MEMSTREAM_API_KEYS)")


def backend(request: Request) -> Backend:
    return request.app.state.backend


def key_app(request: Request, header: str | None = Depends(authorization)) -> str:
    """The app of the request's key (the operator's is ``*``); 401 when missing or unknown."""
    keys: KeyRing = request.app.state.keys
    return keys.app_for(key_from_header(header))


def ok(data: Any) -> dict[str, Any]:
    return {"code": 0, "message": "ok", "data": data}


def external_view(view: dict[str, Any], tenant: Tenant) -> dict[str, Any]:
    """A stored memory view as the app sees it: its own user id, its own app id."""
    shown = dict(view)
    if "user_id" in shown and isinstance(shown["user_id"], str):
        shown["user_id"] = tenant.external(shown["user_id"])
    if tenant.app_id is not None:
        shown["app_id"] = tenant.app_id
    return shown
