"""The HTTP server: app creation, lifespan, limits and error answers.

``create_app(settings)`` opens the data dir (``memstream.open``), and its lifespan
starts the backend's projection catch-up and ingest threads (api/backend.py) and
stops them. Every answer is ``{"code", "message", "data"}``; an error carries its HTTP
status as ``code`` and a one-line message (a validation error names the field).

Limits: request bodies above ``MAX_BODY_BYTES`` get 413, a request that takes longer
than ``REQUEST_TIMEOUT`` seconds gets 504, a full in-process queue 429.
"""

from __future__ import annotations

import asyncio
import logging
from contextlib import asynccontextmanager
from typing import Any, AsyncIterator

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.auth import AuthError, BadRequest, ForbiddenError, KeyRing
from api.backend import Backend, QueueFull
from api.memos import NotFound
from application.jsonl import one_line
from application.settings import Settings

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 1024 * 1024
REQUEST_TIMEOUT = 60.0


def error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"code": status, "message": one_line(message), "data": None}, status_code=status,
                        headers=headers)


class Limits:
    """Pure ASGI middleware: body size (413) and request time (504)."""

    def __init__(self, app: ASGIApp, max_body: int = MAX_BODY_BYTES, timeout: float = REQUEST_TIMEOUT) -> None:
        self.app = app
        self.max_body = max_body
        self.timeout = timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope.get("headers") or []).get(b"content-length")
        if length is not None:
            try:
                too_big = int(length) > self.max_body
            except ValueError:
                await error(400, "Content-Length is not a number")(scope, receive, send)
                return
            if too_big:
                await error(413, f"request body exceeds {self.max_body} bytes")(scope, receive, send)
                return
        received = 0
        started = False
        too_large = False

        async def limited_receive() -> Message:
            nonlocal received, too_large
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body:
                    too_large = True
                    raise _TooLarge()
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if too_large:  # a streamed body passed the limit: whatever the app answers, it is 413
                if not started:
                    started = True
                    await error(413, f"request body exceeds {self.max_body} bytes")(scope, receive, send)
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await asyncio.wait_for(self.app(scope, limited_receive, tracking_send), self.timeout)
        except _TooLarge:
            if not started:
                await error(413, f"request body exceeds {self.max_body} bytes")(scope, receive, send)
        except asyncio.TimeoutError:
            if not started:
                await error(504, f"the request took longer than {self.timeout:g} s")(scope, receive, send)


class _TooLarge(Exception):
    pass


def _install_errors(app: FastAPI) -> None:
    @app.exception_handler(AuthError)
    async def _auth(_: Request, e: AuthError) -> JSONResponse:
        return error(401, str(e), {"WWW-Authenticate": "Token"})

    @app.exception_handler(ForbiddenError)
    async def _forbidden(_: Request, e: ForbiddenError) -> JSONResponse:
        return error(403, str(e))

    @app.exception_handler(BadRequest)
    async def _bad(_: Request, e: BadRequest) -> JSONResponse:
        return error(400, str(e))

    @app.exception_handler(NotFound)
    async def _missing(_: Request, e: NotFound) -> JSONResponse:
        return error(404, str(e))

    @app.exception_handler(QueueFull)
    async def _full(_: Request, e: QueueFull) -> JSONResponse:
        return error(429, str(e), {"Retry-After": "1"})

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, e: RequestValidationError) -> JSONResponse:
        parts = []
        for item in e.errors()[:5]:
            loc = [str(p) for p in item.get("loc", ()) if p != "body"]
            parts.append(f"{'.'.join(loc) or 'body'}: {item.get('msg', 'invalid')}")
        return error(400, "; ".join(parts) or "invalid request")

    @app.exception_handler(StarletteHTTPException)  # fastapi's HTTPException, unknown routes, 405
    async def _http(_: Request, e: StarletteHTTPException) -> JSONResponse:
        return error(e.status_code, str(e.detail), getattr(e, "headers", None))

    @app.exception_handler(RecursionError)
    async def _deep(_: Request, e: RecursionError) -> JSONResponse:
        return error(400, "the JSON body nests too deeply")

    @app.exception_handler(Exception)
    async def _crash(_: Request, e: Exception) -> JSONResponse:
        log.exception("request failed")
        return error(500, f"internal error: {type(e).__name__}")


class _LockedMemstream:
    """The ``Memstream`` for the web view: its reads catch up, so they take the backend's lock."""

    def __init__(self, engine: Backend) -> None:
        self._engine = engine

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._engine.ms, name)
        if name in ("memories", "history", "search", "find_memory_ids") and callable(value):
            def locked(*args: Any, **kwargs: Any) -> Any:
                with self._engine.lock:
                    return value(*args, **kwargs)
            return locked
        return value


def mount_ui(app: FastAPI, engine: Backend, keys: KeyRing) -> bool:
    """Mount the web view (package ``webui``) at /ui behind the API's key check, when it is
    installed; returns whether it was mounted."""
    try:
        import webui
    except ImportError:
        return False
    if not hasattr(webui, "build_router"):
        return False
    from api.auth import key_from_header

    def authorize(request: Request) -> str:
        try:
            return keys.app_for(key_from_header(request.headers.get("authorization")))
        except AuthError as e:
            raise HTTPException(status_code=401, detail=str(e)) from None

    locked = _LockedMemstream(engine)
    app.include_router(webui.build_router(lambda: locked, authorize))
    return True


def create_app(settings: Settings | None = None, *, ms: Any = None) -> FastAPI:
    """The FastAPI app over ``settings``' stores (or an open ``Memstream`` ``ms``, then not closed)."""
    import memstream
    from api import memos, rest

    settings = settings or (ms.settings if ms is not None else Settings())
    keys = KeyRing(settings.api_keys)
    owned = ms is None

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await asyncio.to_thread(engine.start)
        try:
            yield
        finally:
            await asyncio.to_thread(engine.stop)
            if owned:
                engine.ms.close()

    if ms is None:
        ms = memstream.Memstream(settings)
    engine = Backend(ms)
    app = FastAPI(title="memstream", version="1", lifespan=lifespan,
                  description="MemOS-compatible endpoints and the native /v1 API. Every request carries "
                              "`Authorization: Token KEY` (or `Bearer KEY`).")
    app.state.backend = engine
    app.state.keys = keys
    _install_errors(app)
    app.include_router(memos.router)
    app.include_router(rest.router)
    app.add_middleware(Limits)
    app.state.ui_mounted = mount_ui(app, engine, keys)
    return app
