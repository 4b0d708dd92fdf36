"""Sealing the content fields of a user's events with the user's data key.

``SealingMapper`` is an eventsourcing ``Mapper``: the factories in
``adapters/event_store.py`` select it, so every event and snapshot the application
stores goes through it. For the event types that carry a user's content it moves the
content fields into one sealed field before transcoding::

    {"_sealed": {"v": 1, "u": user_id, "n": nonce, "c": ciphertext, "t": tag}, ...audit fields}

What stays readable is the audit trail: ids, versions, timestamps, kind, stage,
reason, decided_by, cause (message ids and Kafka positions), status, superseded_by.
When the user's key is gone (``memstream forget``) a sealed event still decodes,
with the sealed fields set to their *forgotten* placeholders (empty content, key
``forgotten``, ``attributes = {"forgotten": true}``), so aggregates, the timeline
and replays keep working and rebuild no content.

Events stored before sealing existed carry no ``_sealed`` field and decode as before.

The cipher: SHAKE-256 as a keystream over (key, nonce), encrypt-then-MAC with
HMAC-SHA-256 over the event's identity and the ciphertext, a fresh 16-byte nonce per
event; everything from the standard library (``cryptography`` / pycryptodome are not
dependencies of memstream). The event's ID and version are authenticated, so a
sealed blob cannot be moved to another event.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
from dataclasses import dataclass
from typing import Any, Callable

from eventsourcing.persistence import Mapper, MapperDeserialisationError, StoredEvent
from eventsourcing.utils import get_topic

from adapters.keys import KeyStore

SEALED = "_sealed"
FORGOTTEN_KEY = "forgotten"
FORGOTTEN_ATTRIBUTES = {"forgotten": True}


@dataclass(frozen=True)
class Spec:
    fields: tuple[str, ...]
    user_field: str | None  # None: the owner is found from the aggregate's first event
    creates_owner: bool = False


_MEMORY_FIELDS = ("content", "key", "reasoning", "tags", "sources", "slots", "attributes")
SPECS: dict[str, Spec] = {
    "domain.memory:Memory.MemoryCreated": Spec(_MEMORY_FIELDS, "user_id", True),
    "domain.memory:Memory.MemoryRevised": Spec(
        ("content", "key", "reasoning", "tags", "new_sources", "slots", "attributes"), None),
    "domain.raw_input:RawInput.InputRecorded": Spec(("payload",), "user_id", True),
    "domain.user_directory:UserDirectory.DirectoryOpened": Spec((), "user_id", True),
    "domain.user_directory:UserDirectory.DirectoryUpdated": Spec(("upserts",), None),
    "domain.dead_letter:DeadLetter.DeadLettered": Spec(("value_b64",), "key", True),
}
SNAPSHOT_TOPIC = "eventsourcing.domain:Snapshot"
SNAPSHOT_FIELDS = {"domain.user_directory:UserDirectory": ("entries",), "domain.raw_input:RawInput": ("payload",),
                   "domain.memory:Memory": _MEMORY_FIELDS}

PLACEHOLDERS: dict[str, Any] = {
    "content": "", "key": FORGOTTEN_KEY, "reasoning": None, "tags": [], "sources": [], "new_sources": [],
    "slots": {}, "attributes": FORGOTTEN_ATTRIBUTES, "payload": {"forgotten": True}, "upserts": {},
    "entries": {}, "value_b64": "",
}


def placeholder(name: str) -> Any:
    value = PLACEHOLDERS.get(name)
    return json.loads(json.dumps(value))  # a fresh copy: aggregates mutate their lists and dicts


def is_forgotten(view_or_state: dict[str, Any]) -> bool:
    """True for a memory view folded from events whose content was forgotten."""
    return (view_or_state.get("attributes") or {}).get("forgotten") is True and not view_or_state.get("content")


# ------------------------------------------------------------------- the cipher

def _subkeys(key: bytes) -> tuple[bytes, bytes]:
    return hashlib.sha256(b"memstream-enc\x00" + key).digest(), hashlib.sha256(b"memstream-mac\x00" + key).digest()


def _xor(data: bytes, stream: bytes) -> bytes:
    return (int.from_bytes(data, "little") ^ int.from_bytes(stream, "little")).to_bytes(len(data), "little")


def seal(key: bytes, plain: bytes, aad: bytes) -> tuple[bytes, bytes, bytes]:
    enc, mac = _subkeys(key)
    nonce = os.urandom(16)
    cipher = _xor(plain, hashlib.shake_256(enc + nonce).digest(len(plain))) if plain else b""
    tag = hmac.new(mac, aad + b"\x00" + nonce + cipher, hashlib.sha256).digest()[:16]
    return nonce, cipher, tag


def unseal(key: bytes, nonce: bytes, cipher: bytes, tag: bytes, aad: bytes) -> bytes:
    enc, mac = _subkeys(key)
    expected = hmac.new(mac, aad + b"\x00" + nonce + cipher, hashlib.sha256).digest()[:16]
    if not hmac.compare_digest(expected, tag):
        raise ValueError("sealed content failed authentication")
    return _xor(cipher, hashlib.shake_256(enc + nonce).digest(len(cipher))) if cipher else b""


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


# ------------------------------------------------------------------- the mapper

class SealingMapper(Mapper):
    """A Mapper that seals users' content fields; see the module docstring."""

    keys: KeyStore | None = None
    owner_lookup: Callable[[Any], str | None] | None = None
    """Finds the user of an aggregate this process has not seen created (set by
    ``adapters.event_store.open_application``: it reads the aggregate's first event)."""

    def __init__(self, *args: Any, keys: KeyStore | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.keys = keys
        self._owners: dict[str, str] = {}

    # -- encoding

    def to_stored_event(self, domain_event: Any) -> StoredEvent:
        topic = get_topic(domain_event.__class__)
        spec = SPECS.get(topic)
        if self.keys is None or (spec is None and topic != SNAPSHOT_TOPIC):
            return super().to_stored_event(domain_event)
        state = dict(vars(domain_event))
        originator_id = state.pop("originator_id")
        originator_version = state.pop("originator_version")
        class_version = getattr(type(domain_event), "class_version", 1)
        if class_version > 1:
            state["class_version"] = class_version
        if topic == SNAPSHOT_TOPIC:
            inner = dict(state["state"])
            fields = SNAPSHOT_FIELDS.get(state.get("topic", ""), ())
            user = inner.get("user_id")
            if fields and isinstance(user, str):
                self._owners[str(originator_id)] = user
                inner = self._sealed(inner, fields, user, originator_id, originator_version)
            state["state"] = inner
        else:
            assert spec is not None
            user = self._user_of(spec, state, originator_id)
            if user is not None and spec.creates_owner:
                self._owners[str(originator_id)] = user
            if user is not None and spec.fields:
                state = self._sealed(state, spec.fields, user, originator_id, originator_version)
        stored_state = self.transcoder.encode(state)
        if self.compressor:
            stored_state = self.compressor.compress(stored_state)
        if self.cipher:
            stored_state = self.cipher.encrypt(stored_state)
        return StoredEvent(originator_id=originator_id, originator_version=originator_version, topic=topic,
                           state=stored_state)

    def _user_of(self, spec: Spec, state: dict[str, Any], originator_id: Any) -> str | None:
        if spec.user_field is not None:
            user = state.get(spec.user_field)
            if not user and "value_b64" in state:  # a dead letter without a key: the record may name one
                user = _user_in_record(state.get("value_b64"))
            return user if isinstance(user, str) and user else None
        user = self._owners.get(str(originator_id))
        if user is None and self.owner_lookup is not None:
            user = self.owner_lookup(originator_id)
            if user is not None:
                self._owners[str(originator_id)] = user
        return user

    def _sealed(self, state: dict[str, Any], fields: tuple[str, ...], user: str, originator_id: Any,
                version: int) -> dict[str, Any]:
        assert self.keys is not None
        content = {name: state.pop(name) for name in fields if name in state}
        key = self.keys.key(user)
        assert key is not None
        nonce, cipher, tag = seal(key, self.transcoder.encode(content), _aad(originator_id, version))
        state[SEALED] = {"v": 1, "u": user, "n": _b64(nonce), "c": _b64(cipher), "t": _b64(tag)}
        return state

    # -- decoding

    def to_domain_event(self, stored_event: StoredEvent) -> Any:
        event = super().to_domain_event(stored_event)
        state = event.__dict__
        if stored_event.topic == SNAPSHOT_TOPIC:
            inner = state.get("state")
            if isinstance(inner, dict):
                if isinstance(inner.get("user_id"), str):
                    self._owners[str(stored_event.originator_id)] = inner["user_id"]
                if SEALED in inner:
                    self._open(inner, stored_event, SNAPSHOT_FIELDS.get(state.get("topic", ""), ()))
            return event
        sealed = state.get(SEALED)
        if sealed is not None:
            self._owners[str(stored_event.originator_id)] = sealed["u"]
            self._open(state, stored_event, SPECS[stored_event.topic].fields)
        else:
            spec = SPECS.get(stored_event.topic)
            if spec is not None and spec.creates_owner and isinstance(state.get(spec.user_field or ""), str):
                self._owners[str(stored_event.originator_id)] = state[spec.user_field]  # type: ignore[index]
        return event

    def _open(self, state: dict[str, Any], stored: StoredEvent, fields: tuple[str, ...]) -> None:
        sealed = state.pop(SEALED)
        key = None
        if self.keys is not None and not sealed.get("forgotten"):
            key = self.keys.key(sealed["u"], create=False)
        if key is None:
            content = {name: placeholder(name) for name in fields}
        else:
            try:
                plain = unseal(key, base64.b64decode(sealed["n"]), base64.b64decode(sealed["c"]),
                               base64.b64decode(sealed["t"]), _aad(stored.originator_id, stored.originator_version))
            except ValueError as e:
                raise MapperDeserialisationError(
                    f"sealed content of {stored.topic} {stored.originator_id} v{stored.originator_version}: {e}"
                ) from e
            content = self.transcoder.decode(plain)
        state.update(content)

    def owner(self, originator_id: Any) -> str | None:
        return self._owners.get(str(originator_id))

    def redacted(self, stored: StoredEvent, user_id: str) -> bytes | None:
        """The stored state of ``stored`` without its content: the content fields replaced
        by a ``forgotten`` seal, for rewriting a row in place (one forgotten memory, or
        events stored in the clear before sealing existed). None: nothing to redact."""
        spec = SPECS.get(stored.topic)
        if spec is None and stored.topic != SNAPSHOT_TOPIC:
            return None
        state = dict(self.transcoder.decode(stored.state))
        marker = {"v": 1, "u": user_id, "forgotten": True}
        if stored.topic == SNAPSHOT_TOPIC:
            inner = dict(state.get("state") or {})
            fields = SNAPSHOT_FIELDS.get(state.get("topic", ""), ())
            if not fields:
                return None
            for name in fields:
                inner.pop(name, None)
            inner[SEALED] = marker
            state["state"] = inner
        else:
            assert spec is not None
            if not spec.fields:
                return None
            for name in spec.fields:
                state.pop(name, None)
            state[SEALED] = marker
        return self.transcoder.encode(state)


def _aad(originator_id: Any, version: int) -> bytes:
    return f"{originator_id}:{version}".encode()


def _user_in_record(value_b64: Any) -> str | None:
    try:
        data = json.loads(base64.b64decode(value_b64 or ""))
    except (ValueError, TypeError):
        return None
    user = data.get("user_id") if isinstance(data, dict) else None
    return user if isinstance(user, str) and user else None


def sealed_user(stored_state: bytes) -> str | None:
    """The user a stored event's state is sealed for (None: not sealed), without decoding it."""
    if b'"_sealed"' not in stored_state:
        return None
    try:
        state = json.loads(stored_state)
    except ValueError:
        return None
    sealed = state.get(SEALED) or (state.get("state") or {}).get(SEALED) if isinstance(state, dict) else None
    return sealed.get("u") if isinstance(sealed, dict) else None


