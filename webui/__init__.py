"""The web view of memstream: a user's memories and each memory's version timeline.

Server-rendered HTML with a little JavaScript; every asset (``webui/static/``) is served
by this package, nothing comes from a CDN and nothing needs a build step.

Mounting (the HTTP server does this)::

    import webui
    app.include_router(webui.build_router(get_memstream, authorize))   # pages under /ui

The contract:

- ``get_memstream()`` returns the ``memstream.Memstream`` to read (called once per request;
  the web view only reads: ``memories``, ``history``, ``search``, ``runtime.timeline`` and
  ``runtime.service.raw_input`` for the source messages' text). Calls into it are
  serialised by a lock of the router and run in the thread pool.
- ``authorize(request) -> app_id`` (plain or async) is the API's own key check: it reads
  ``Authorization: Token KEY`` (or ``Bearer KEY``) and returns the app id the key belongs
  to, or raises ``fastapi.HTTPException`` 401/403 for a missing or unknown key. Browsers
  cannot send that header when they follow a link, so the web view accepts the key once
  as ``?key=KEY`` (then redirects to the same URL without it) or through its sign-in
  form, keeps it in an ``HttpOnly; SameSite=Strict`` cookie limited to the mount path,
  and calls ``authorize`` with a copy of the request that carries the header
  ``Authorization: Token KEY``. A request that already has an ``Authorization`` header is
  passed as it is. An ``authorize`` returning ``None`` or ``"*"`` (the operator key of
  ``MEMSTREAM_API_KEYS``) means no app scoping: user ids as the stores keep them.
- App scoping: the page ``/ui/users/{user_id}`` takes the user id as the app knows it;
  the stored user id is ``to_internal(app_id, user_id)`` (default: api/auth.py's
  ``APP_ID/USER_ID``, user id stripped and NFC-normalised) and a stored id belongs to the
  app when ``to_external(app_id, stored_id)`` is not None (default: it starts with
  ``APP_ID/``). Pass both to ``build_router`` should the API scope user ids differently. A memory of another app's user answers 404, like an
  unknown one, so a key of one app never opens another app's users.

Pages: ``/ui/`` (pick a user), ``/ui/users/{user_id}`` (current memories grouped by kind,
search ``?q=``, time control ``?at=YYYY-MM-DD&by=said|recorded``, ``&archived=1``),
``/ui/memories/{memory_id}`` (the V1 → Vn timeline with diffs, causes, sources and
successors), ``/ui/login`` and ``/ui/logout`` (POST), ``/ui/static/…``.
"""

from __future__ import annotations

import inspect
import threading
from importlib import resources
from typing import Any, Awaitable, Callable
from urllib.parse import parse_qs, urlencode

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from webui import pages
from webui.timetravel import memories_as_of, parse_moment, search_as_of

__all__ = ["build_router", "COOKIE"]

COOKIE = "memstream_ui_key"
_SECURITY_HEADERS = {
    "Content-Security-Policy": ("default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; "
                                "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"),
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}
_STATIC_TYPES = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8",
                 ".png": "image/png", ".svg": "image/svg+xml"}


OPERATOR = "*"


def _default_internal(app_id: str | None, user_id: str) -> str:
    """api/auth.py's mapping: ``APP_ID/USER_ID`` with the user id normalised (stripped,
    NFC); the operator (``*``) or no app reads the stores' own user ids. ValueError for a
    user id the input contract refuses."""
    from domain.envelope import normalise_user_id

    normal = normalise_user_id(user_id)
    return normal if app_id in (None, OPERATOR) else f"{app_id}/{normal}"


def _default_external(app_id: str | None, stored: str) -> str | None:
    if app_id in (None, OPERATOR):
        return stored
    prefix = f"{app_id}/"
    return stored[len(prefix):] if stored.startswith(prefix) else None


def _static_files() -> dict[str, tuple[bytes, str]]:
    out = {}
    for entry in resources.files("webui").joinpath("static").iterdir():
        suffix = "." + entry.name.rsplit(".", 1)[-1]
        if entry.is_file() and suffix in _STATIC_TYPES:
            out[entry.name] = (entry.read_bytes(), _STATIC_TYPES[suffix])
    return out


class _Unauthorized(Exception):
    def __init__(self, status: int, detail: str) -> None:
        self.status, self.detail = status, detail


def build_router(
    get_memstream: Callable[[], Any],
    authorize: Callable[[Request], Any | Awaitable[Any]],
    *,
    prefix: str = "/ui",
    to_internal: Callable[[str | None, str], str] = _default_internal,
    to_external: Callable[[str | None, str], str | None] = _default_external,
) -> APIRouter:
    """The web view's routes under ``prefix``; see the module docstring for the contract."""
    base = prefix.rstrip("/")
    router = APIRouter(prefix=base, include_in_schema=False)
    lock = threading.Lock()
    static = _static_files()

    def html(body: str, status: int = 200) -> HTMLResponse:
        return HTMLResponse(body, status_code=status, headers=_SECURITY_HEADERS)

    async def check(request: Request, key: str | None) -> Any:
        if key is not None:
            headers = [(k, v) for k, v in request.scope["headers"] if k != b"authorization"]
            headers.append((b"authorization", f"Token {key}".encode("latin-1", "replace")))
            request = Request({**request.scope, "headers": headers}, request.receive)
        try:
            app_id = authorize(request)
            if inspect.isawaitable(app_id):
                app_id = await app_id
        except HTTPException as exc:
            raise _Unauthorized(exc.status_code, str(exc.detail)) from None
        return app_id

    async def app_of(request: Request) -> Any:
        if "authorization" in request.headers:
            return await check(request, None)
        key = request.cookies.get(COOKIE)
        if not key:
            raise _Unauthorized(401, "sign in with your app's API key")
        return await check(request, key)

    def cookie_secure(request: Request) -> bool:
        return request.url.scheme == "https" or request.headers.get("x-forwarded-proto") == "https"

    def signed_in(request: Request, key: str, target: str) -> Response:
        response = RedirectResponse(target, status_code=303, headers=_SECURITY_HEADERS)
        response.set_cookie(COOKIE, key, httponly=True, samesite="strict", path=base or "/",
                            secure=cookie_secure(request))
        return response

    def safe_next(target: str) -> str:
        if target.startswith(base + "/") and not target.startswith("//") and "\\" not in target:
            return target
        return base + "/"

    def without_key(request: Request) -> str:
        query = [(k, v) for k, v in request.query_params.multi_items() if k != "key"]
        return request.url.path + (f"?{urlencode(query)}" if query else "")

    async def guarded(request: Request, render: Callable[[Any], Response]) -> Response:
        """Authorise (taking ``?key=`` once), then render with the lock held in the pool."""
        key = request.query_params.get("key")
        try:
            if key:
                await check(request, key)
                return signed_in(request, key, without_key(request))
            app_id = await app_of(request)
        except _Unauthorized as exc:
            message = "That key is not valid." if key or request.cookies.get(COOKIE) else exc.detail
            response = html(pages.login_page(base, without_key(request), message), exc.status)
            if request.cookies.get(COOKIE):
                response.delete_cookie(COOKIE, path=base or "/")
            return response

        def locked() -> Response:
            with lock:
                return render(app_id)

        return await run_in_threadpool(locked)

    @router.get("/static/{name}")
    async def asset(name: str) -> Response:
        if name not in static:
            raise HTTPException(404)
        data, media_type = static[name]
        return Response(data, media_type=media_type, headers={"Cache-Control": "public, max-age=3600",
                                                              "X-Content-Type-Options": "nosniff"})

    @router.get("/", response_class=HTMLResponse)
    async def index(request: Request) -> Response:
        return await guarded(request, lambda app_id: html(pages.index_page(base, app_id)))

    @router.get("/go")
    async def go(request: Request, user: str = "") -> Response:
        def render(app_id: Any) -> Response:
            if not user.strip():
                return RedirectResponse(base + "/", status_code=303)
            return RedirectResponse(pages.user_href(base, user.strip()), status_code=303)
        return await guarded(request, render)

    @router.post("/login")
    async def login(request: Request) -> Response:
        form = parse_qs((await request.body()).decode("utf-8", "replace"))
        key = (form.get("key") or [""])[0].strip()
        target = safe_next((form.get("next") or [base + "/"])[0])
        if key:
            try:
                await check(request, key)
                return signed_in(request, key, target)
            except _Unauthorized as exc:
                return html(pages.login_page(base, target, "That key is not valid."), exc.status)
        return html(pages.login_page(base, target, "Enter a key."), 401)

    @router.post("/logout")
    async def logout() -> Response:
        response = RedirectResponse(base + "/", status_code=303, headers=_SECURITY_HEADERS)
        response.delete_cookie(COOKIE, path=base or "/")
        return response

    @router.get("/users/{user_id:path}", response_class=HTMLResponse)
    async def user(request: Request, user_id: str, q: str = "", at: str = "", by: str = "said",
                   archived: str = "") -> Response:
        clock = by if by in ("said", "recorded") else "said"
        show_archived = archived in ("1", "true", "on")

        def render(app_id: Any) -> Response:
            ms = get_memstream()
            try:
                internal = to_internal(app_id, user_id)
            except ValueError as exc:
                return html(pages.error_page(base, "Bad user id", str(exc), app_id), 400)
            note = ""
            results = None
            if at:
                try:
                    moment = parse_moment(at)
                except ValueError:
                    return html(pages.error_page(base, "Bad date", f"not a date: {at}", app_id), 400)
                memories, native = memories_as_of(ms, internal, moment, clock, include_archived=show_archived)
                if not native:
                    note = " Computed from the version history."
                if q.strip():
                    results = search_as_of(ms, q, internal, moment, clock)
                    if results is None:
                        note += " The search covers the current memories."
                        results = ms.search(q, user_id=internal, top_k=20)
            else:
                memories = ms.memories(user_id=internal, include_archived=show_archived)
                results = ms.search(q, user_id=internal, top_k=20) if q.strip() else None
            return html(pages.user_page(base, app_id, user_id, memories, query=q, results=results, at=at,
                                        clock=clock, archived=show_archived, time_note=note))
        return await guarded(request, render)

    @router.get("/memories/{memory_id}", response_class=HTMLResponse)
    async def memory(request: Request, memory_id: str) -> Response:
        def render(app_id: Any) -> Response:
            ms = get_memstream()
            versions = ms.history(memory_id)
            owner = versions[-1].get("user_id") if versions else None
            user_id = to_external(app_id, owner) if owner is not None else None
            if user_id is None:
                return html(pages.error_page(base, "Not found", "No such memory for this app.", app_id), 404)
            successors = []
            ids = list(versions[-1].get("superseded_by") or [])
            if ids:
                current = ms.runtime.timeline.current(ids)
                successors = [current[i] for i in ids if i in current and current[i].get("user_id") == owner]
            messages = _source_messages(ms, owner, versions)
            return html(pages.memory_page(base, app_id, user_id, versions, successors, messages))
        return await guarded(request, render)

    return router


def _source_messages(ms: Any, owner: str, versions: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
    """The recorded messages the versions cite, by (event_id, message_id); only the owner's."""
    out: dict[tuple[str, str], dict[str, Any]] = {}
    seen: set[str] = set()
    for version in versions:
        for source in version.get("sources") or []:
            event_id = str(source.get("event_id"))
            if event_id in seen:
                continue
            seen.add(event_id)
            raw = ms.runtime.service.raw_input(event_id, owner)
            if not raw or raw.get("user_id") != owner:
                continue
            for message in (raw.get("payload") or {}).get("messages") or []:
                out[(event_id, str(message.get("message_id")))] = message
    return out
