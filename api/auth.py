"""API keys and app scoping.

``MEMSTREAM_API_KEYS`` is ``KEY=APP_ID,KEY2=*``: each key belongs to one app, ``*`` to
the operator. A request's key decides its app, and the app scopes every user id: the
same ``user_id`` under two apps is two users. Inside the stores an app's user is
``APP_ID/USER_ID`` (an app id holds no ``/``, so no app can name another app's user);
responses map it back. The operator key acts for the app named by ``app_id`` in the
body, or, without one, on the stores' own user ids (the CLI's users).

Keys are compared with ``hmac.compare_digest`` against every configured key (no early
exit), and never logged or echoed.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from domain.envelope import MAX_ID_CHARS, RESERVED_USER_PREFIX, normalise_user_id, string_problem

OPERATOR = "*"
SEPARATOR = "/"


class AuthError(Exception):
    """401: no key, or a key the server does not know."""


class ForbiddenError(Exception):
    """403: the key's app may not act for the app the request names."""


class BadRequest(ValueError):
    """400 with a field and a reason."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


def app_id_problem(app_id: str) -> str | None:
    if not app_id.strip() or app_id != app_id.strip():
        return "must not be blank or have surrounding whitespace"
    if SEPARATOR in app_id:
        return f"must not contain {SEPARATOR!r}"
    if app_id.startswith(RESERVED_USER_PREFIX):
        return f"must not start with {RESERVED_USER_PREFIX!r}"
    if len(app_id) > 64:
        return "has more than 64 characters"
    if "\x00" in app_id or not app_id.isprintable():
        return "must be printable"
    return None


class KeyRing:
    """The configured keys; ``app_for`` answers which app a presented key belongs to."""

    def __init__(self, spec: str) -> None:
        self._keys: list[tuple[bytes, str]] = []
        for number, pair in enumerate((p.strip() for p in spec.split(",")), start=1):
            if not pair:
                continue
            key, sep, app = pair.partition("=")
            key, app = key.strip(), app.strip()
            if not sep or not key or not app:
                raise ValueError(f"MEMSTREAM_API_KEYS: pair {number} is not KEY=APP_ID")
            problem = None if app == OPERATOR else app_id_problem(app)
            if problem:
                raise ValueError(f"MEMSTREAM_API_KEYS: the app id of pair {number} {problem}")
            self._keys.append((key.encode("utf-8"), app))

    def __len__(self) -> int:
        return len(self._keys)

    def __repr__(self) -> str:  # never show the keys
        return f"KeyRing({len(self._keys)} keys)"

    def app_for(self, presented: str | None) -> str:
        """The app of ``presented``; AuthError when it is missing or unknown."""
        if not presented:
            raise AuthError("missing API key: send Authorization: Token KEY")
        candidate = presented.encode("utf-8", "surrogateescape")
        found: str | None = None
        for key, app in self._keys:
            if hmac.compare_digest(candidate, key) and found is None:
                found = app
        if found is None:
            raise AuthError("unknown API key")
        return found


def key_from_header(authorization: str | None) -> str | None:
    """``Token KEY`` or ``Bearer KEY`` (scheme case-insensitive); None otherwise."""
    if not authorization:
        return None
    scheme, _, value = authorization.strip().partition(" ")
    if scheme.lower() not in ("token", "bearer") or not value.strip():
        return None
    return value.strip()


@dataclass(frozen=True)
class Tenant:
    """The app a request acts for; None is the operator acting on the stores' own user ids."""

    app_id: str | None

    @property
    def prefix(self) -> str:
        return "" if self.app_id is None else self.app_id + SEPARATOR

    def internal(self, user_id: str, field: str = "user_id") -> str:
        """The stores' user id of this app's ``user_id`` (BadRequest when it is not valid)."""
        if not isinstance(user_id, str):
            raise BadRequest(field, "must be a string")
        problem = string_problem(user_id)
        if problem:
            raise BadRequest(field, problem)
        try:
            normal = normalise_user_id(user_id)
        except ValueError as e:
            raise BadRequest(field, str(e)) from None
        internal = self.prefix + normal
        if len(internal) > MAX_ID_CHARS:
            raise BadRequest(field, f"has more than {MAX_ID_CHARS - len(self.prefix)} characters")
        return internal

    def owns(self, internal_user_id: str | None) -> bool:
        if internal_user_id is None:
            return False
        return self.app_id is None or internal_user_id.startswith(self.prefix)

    def external(self, internal_user_id: str) -> str:
        return internal_user_id[len(self.prefix):] if self.prefix and internal_user_id.startswith(self.prefix) \
            else internal_user_id


def scope(key_app: str, body_app_id: str | None) -> Tenant:
    """The tenant of a request: the key's app, or for the operator the body's ``app_id``."""
    if body_app_id is not None and not isinstance(body_app_id, str):
        raise BadRequest("app_id", "must be a string")
    if key_app == OPERATOR:
        if body_app_id is None:
            return Tenant(None)
        problem = app_id_problem(body_app_id)
        if problem:
            raise BadRequest("app_id", problem)
        return Tenant(body_app_id)
    if body_app_id is not None and body_app_id != key_app:
        raise ForbiddenError("app_id differs from the API key's app")
    return Tenant(key_app)
