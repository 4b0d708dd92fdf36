"""The public input contracts: the message envelope and the knowledge document.

These pydantic models are the single source of truth for what may arrive on the
messages and knowledge topics (and per line of an ``ingest`` file); the JSON
Schemas in ``schemas/`` are generated from them. Validation is strict enough that
a record which passes can always be processed: bad input must be rejected here,
with a reason, rather than crash a worker later.

Rules every string obeys, wherever it sits (ids, content, tags, the keys and values
of ``info`` / ``tool_input`` / ``tool_output``): no NUL character (PostgreSQL text
cannot hold one) and no lone surrogate (it is not Unicode and cannot be encoded as
UTF-8). Numbers are finite (no NaN or Infinity). Free-form JSON nests at most
``MAX_DEPTH`` levels. The limits below bound how much storage one envelope can
cause (memories copy tags and info), so none of them is generous.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import unicodedata
import uuid
from datetime import date, datetime, timezone
from typing import Annotated, Any, ClassVar, Literal, Union

from pydantic import (BaseModel, BeforeValidator, ConfigDict, Discriminator, Field, StringConstraints, Tag,
                      field_validator, model_validator)

MAX_ENVELOPE_BYTES = 512 * 1024
"""Largest envelope record (UTF-8 bytes of its JSON). Kept at half a MiB so that the
record, re-encoded by the producer, and its dead letter (the value in base64, 4/3 of
it) both fit Kafka's default 1 MB message and request limits."""

MAX_MESSAGES = 100
MAX_PARTS = 32
"""Content parts per message."""

MAX_CONTENT_CHARS = 100_000
"""Largest text a single message may carry; larger input is rejected, not truncated."""

MAX_TAGS = 32
MAX_TAG_CHARS = 64
MAX_INFO_BYTES = 16 * 1024
"""``info`` as compact UTF-8 JSON; memories copy it, so it stays small."""

MAX_TOOL_JSON_BYTES = 64 * 1024
"""``tool_input`` and ``tool_output``, each, as compact UTF-8 JSON."""

MAX_DEPTH = 32
"""Nesting levels of free-form JSON (``info``, ``tool_input``, ``tool_output``); the
value itself is level 1."""

MAX_ID_CHARS = 256
MAX_URL_CHARS = 8_192
MAX_KNOWLEDGE_BYTES = 8 * 1024 * 1024
"""Largest knowledge document record."""

RESERVED_USER_PREFIX = "kb:"
"""User ids with this prefix are the knowledge bases' shared spaces."""

_SURROGATE = re.compile("[\ud800-\udfff]")


def string_problem(value: str) -> str | None:
    """Why a string cannot be stored, or None when it can."""
    if "\x00" in value:
        return "contains a NUL character (U+0000), which cannot be stored"
    found = _SURROGATE.search(value)
    if found:
        return f"contains a lone surrogate (U+{ord(found.group()):04X}), which is not valid Unicode"
    return None


def _clean(value: Any) -> Any:
    if not isinstance(value, str):
        return value  # the str schema rejects it
    problem = string_problem(value)
    if problem:
        raise ValueError(problem)
    return value


def Text(max_length: int, min_length: int | None = None) -> Any:  # noqa: N802 - used as a type
    """A string of bounded length without NUL characters or lone surrogates (checked before
    pydantic's own string handling, whose error for a surrogate is less clear)."""
    return Annotated[str, StringConstraints(min_length=min_length, max_length=max_length), BeforeValidator(_clean)]


def _where(path: list[str]) -> str:
    shown = ".".join(path[:6]) + (".…" if len(path) > 6 else "")
    return f" at {shown}" if shown else ""


def check_json_value(value: Any, max_depth: int = MAX_DEPTH) -> None:
    """Raise ValueError unless ``value`` is storable JSON data; iterative, so any depth is safe."""
    stack: list[tuple[Any, int, list[str]]] = [(value, 1, [])]
    while stack:
        item, depth, path = stack.pop()
        if isinstance(item, str):
            problem = string_problem(item)
            if problem:
                raise ValueError(f"a string{_where(path)} {problem}")
        elif isinstance(item, bool) or item is None or isinstance(item, int):
            continue
        elif isinstance(item, float):
            if not math.isfinite(item):
                raise ValueError(f"{item!r}{_where(path)} is not valid JSON (numbers must be finite)")
        elif isinstance(item, (dict, list, tuple)):
            if depth > max_depth:
                raise ValueError(f"nests deeper than {max_depth} levels")
            if isinstance(item, dict):
                for key, child in item.items():
                    if not isinstance(key, str):
                        raise ValueError(f"object keys must be strings{_where(path)}")
                    problem = string_problem(key)
                    if problem:
                        raise ValueError(f"an object key{_where(path)} {problem}")
                    stack.append((child, depth + 1, path + [key[:40]]))
            else:
                stack.extend((child, depth + 1, path + [str(i)]) for i, child in enumerate(item))
        else:
            raise ValueError(f"{type(item).__name__}{_where(path)} is not JSON data")


def json_size(value: Any) -> int:
    """Bytes of ``value`` as compact UTF-8 JSON (call check_json_value first)."""
    return len(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))


def _free_json(value: Any, limit: int) -> Any:
    check_json_value(value)
    size = json_size(value)
    if size > limit:
        raise ValueError(f"is {size} bytes of JSON; the limit is {limit}")
    return value


def normalise_user_id(value: str) -> str:
    """Surrounding whitespace stripped, Unicode NFC; case is kept."""
    value = unicodedata.normalize("NFC", value.strip())
    if not value:
        raise ValueError("user_id must not be blank")
    if len(value) > MAX_ID_CHARS:
        raise ValueError(f"user_id has more than {MAX_ID_CHARS} characters")
    if value.startswith(RESERVED_USER_PREFIX):
        raise ValueError(f"user_id must not start with {RESERVED_USER_PREFIX!r}: that prefix is reserved for knowledge bases")
    return value


def _non_blank(name: str, value: str) -> str:
    if not value.strip():
        raise ValueError(f"{name} must not be blank")
    return value


_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}(?:$|[T ])")
TIME_DESCRIPTION = ("ISO 8601 date-time string (e.g. 2025-01-01T10:00:00+08:00; a date alone means its "
                    "midnight, a time without offset means UTC). Numbers are rejected.")


def _iso_time_input(name: str, value: Any) -> Any:
    """Only ISO 8601 strings (or datetime/date objects from Python callers): pydantic would
    otherwise read a number, or a string of digits, as a Unix time."""
    if value is None or isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    if not isinstance(value, str):
        raise ValueError(f"{name} must be an ISO 8601 date-time string, not {type(value).__name__}")
    if not _ISO_DATE.match(value):
        raise ValueError(f"{name} must be an ISO 8601 date-time string such as 2025-01-01T10:00:00Z")
    return value


def _aware_time(name: str, value: datetime | None, assume_utc: bool = True) -> datetime | None:
    """``value`` with UTC for a missing offset (unless ``assume_utc`` is false); rejected when
    it cannot be converted to UTC (e.g. 0001-01-01T00:00+01:00), which later stages do."""
    if value is None:
        return None
    aware = value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value
    try:
        aware.astimezone(timezone.utc)
    except (OverflowError, ValueError):
        raise ValueError(f"{name} is out of range once converted to UTC") from None
    return aware if assume_utc else value


def _time_validators(name: str, assume_utc: bool = True) -> tuple[Any, Any]:
    """The two validators of one time field: a date-time string (never a number) before
    parsing, an aware datetime after; shared by every model with a time field."""

    def iso_string(cls: Any, value: Any) -> Any:
        return _iso_time_input(name, value)

    def aware(cls: Any, value: datetime | None) -> datetime | None:
        return _aware_time(name, value, assume_utc)

    return field_validator(name, mode="before")(iso_string), field_validator(name)(aware)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)


class TextPart(_Model):
    type: Literal["text"]
    text: Text(MAX_CONTENT_CHARS)


class ImageURL(_Model):
    url: Text(MAX_URL_CHARS)


class ImagePart(_Model):
    type: Literal["image_url"]
    image_url: ImageURL
    caption: Text(MAX_CONTENT_CHARS) | None = None
    alt: Text(MAX_CONTENT_CHARS) | None = Field(default=None, description="alt text; searchable like the caption")


class FileRef(_Model):
    """A file reference; it needs at least one of file_id, url or name."""

    model_config = ConfigDict(json_schema_extra={"anyOf": [{"required": ["file_id"]}, {"required": ["url"]},
                                                           {"required": ["name"]}]})

    file_id: Text(MAX_ID_CHARS) | None = None
    url: Text(MAX_URL_CHARS) | None = None
    name: Text(1_000) | None = None

    @model_validator(mode="after")
    def _one_reference(self) -> "FileRef":
        if not (self.file_id or self.url or self.name):
            raise ValueError("a file part needs one of file_id, url or name")
        return self


class FilePart(_Model):
    type: Literal["file"]
    file: FileRef


ContentPart = Annotated[Union[TextPart, ImagePart, FilePart], Field(discriminator="type")]


def _content_kind(value: Any) -> str | None:
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "parts"
    return None

Role = Literal["user", "assistant", "system", "tool"]

_MESSAGE_RULES = {
    "allOf": [
        {"if": {"properties": {"role": {"const": "tool"}}, "required": ["role"]},
         "then": {"required": ["tool_name"], "properties": {"tool_name": {"type": "string", "minLength": 1}}},
         "else": {"required": ["content"],
                  "properties": {"content": {"anyOf": [{"type": "string", "minLength": 1},
                                                       {"type": "array", "minItems": 1}]}}}},
    ],
}


class Message(_Model):
    """One turn. A message with role ``tool`` needs a non-blank ``tool_name`` (its trace is in
    ``tool_input``, ``tool_output``, ``status``, ``latency_ms``); any other message needs text:
    non-empty ``content``, or content parts with some text, an image caption or a file name."""

    model_config = ConfigDict(json_schema_extra=_MESSAGE_RULES)

    message_id: Text(MAX_ID_CHARS) | None = Field(default=None, description="optional client id, e.g. D1:3")
    role: Role
    name: Text(MAX_ID_CHARS) | None = Field(default=None, description="optional speaker name")
    content: Annotated[Union[Annotated[Text(MAX_CONTENT_CHARS), Tag("text")],
                             Annotated[list[ContentPart], Field(max_length=MAX_PARTS), Tag("parts")]],
                       Discriminator(_content_kind, custom_error_type="content_type",
                                     custom_error_message="content must be a string or a list of parts")] = Field(
        default="",
        description=f"text (at most {MAX_CONTENT_CHARS} characters), or a list of at most {MAX_PARTS} parts "
                    f"whose readable text together is at most {MAX_CONTENT_CHARS} characters")
    chat_time: datetime | None = Field(default=None, description=TIME_DESCRIPTION)
    tool_name: Text(MAX_ID_CHARS) | None = Field(default=None, description="required when role is tool")
    tool_input: Any = Field(default=None, description=(
        f"any JSON, nesting at most {MAX_DEPTH} levels, at most {MAX_TOOL_JSON_BYTES} bytes as compact JSON"))
    tool_output: Any = Field(default=None, description=(
        f"any JSON, nesting at most {MAX_DEPTH} levels, at most {MAX_TOOL_JSON_BYTES} bytes as compact JSON"))
    status: Text(64) | None = None
    latency_ms: float | None = Field(default=None, ge=0, allow_inf_nan=False)

    _iso_string, _aware = _time_validators("chat_time")

    @field_validator("tool_input", "tool_output", mode="before")
    @classmethod
    def _bounded_json(cls, value: Any) -> Any:
        return _free_json(value, MAX_TOOL_JSON_BYTES)

    @model_validator(mode="after")
    def _tool_fields(self) -> "Message":
        if self.role == "tool" and not (self.tool_name and self.tool_name.strip()):
            raise ValueError("a message with role 'tool' needs tool_name")
        text = self.text()
        if self.role != "tool" and not text:
            raise ValueError("message has no text content")
        if len(text) > MAX_CONTENT_CHARS:
            raise ValueError(f"content has {len(text)} characters of text; the limit is {MAX_CONTENT_CHARS}")
        return self

    def text(self) -> str:
        """The message's readable text: plain content, text parts, image captions and alt text, file names."""
        if isinstance(self.content, str):
            return self.content
        pieces: list[str] = []
        for part in self.content:
            if isinstance(part, TextPart):
                pieces.append(part.text)
            elif isinstance(part, ImagePart):
                pieces += [part.caption or "", part.alt if part.alt and part.alt != part.caption else ""]
            elif isinstance(part, FilePart) and part.file.name:
                pieces.append(f"[file: {part.file.name}]")
        return "\n".join(p for p in pieces if p)


def content_event_id(user_id: str, conversation_id: str | None, messages: list[dict[str, Any]]) -> str:
    """The id of an envelope sent without ``event_id``: a hash of who said what, where.

    Why derived and not random: a file or a Kafka record re-sent without ids must be
    recognised as the same input (the ``RawInput`` collides on its id), so ingesting a
    file twice is a no-op instead of storing every episode twice. The parts are the
    validated user id, the conversation id and the messages as JSON (nulls dropped,
    times normalised), so "Z" and "+00:00" give one id. Tags and info are not part of
    it: they describe the input, they do not make it another one. Two envelopes with
    the same turns in the same conversation are the same input; a client that really
    sends identical turns twice should give them ``event_id``s, ``message_id``s or
    ``chat_time``s.
    """
    canonical = json.dumps([user_id, conversation_id, messages], ensure_ascii=False, sort_keys=True,
                           separators=(",", ":"), default=str)
    return "content:" + hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()[:32]


class InputEnvelope(_Model):
    """One add-message request: a batch of turns from one user's conversation.

    Every string (ids, content, tags, keys and values inside info / tool_input / tool_output)
    must not contain NUL (U+0000) or lone surrogates; numbers must be finite (no NaN, no
    Infinity); the whole record is at most 524288 bytes of UTF-8 JSON.
    """

    max_record_bytes: ClassVar[int] = MAX_ENVELOPE_BYTES

    event_id: Text(MAX_ID_CHARS, 1) = Field(default_factory=lambda: str(uuid.uuid4()),
                           description="unique, not blank; generated when absent",
                           json_schema_extra={"pattern": "\\S"})
    user_id: Text(MAX_ID_CHARS, 1) = Field(
        description="required, not blank. Normalised: surrounding whitespace is stripped and the id is put in "
                    "Unicode NFC (case is kept, so 'Ana' and 'ana' are different users). Ids starting with "
                    f"'{RESERVED_USER_PREFIX}' are reserved for knowledge bases and rejected.",
        json_schema_extra={"pattern": "\\S", "not": {"pattern": f"^\\s*{RESERVED_USER_PREFIX}"}})
    conversation_id: Text(MAX_ID_CHARS) | None = None
    agent_id: Text(MAX_ID_CHARS) | None = None
    app_id: Text(MAX_ID_CHARS) | None = None
    messages: list[Message] = Field(min_length=1, max_length=MAX_MESSAGES)
    tags: list[Text(MAX_TAG_CHARS)] = Field(
        default_factory=list, max_length=MAX_TAGS,
        description=f"at most {MAX_TAGS} tags of at most {MAX_TAG_CHARS} characters each")
    info: dict[str, Any] = Field(
        default_factory=dict,
        description=f"free-form JSON object, nesting at most {MAX_DEPTH} levels (the object itself is level 1), "
                    f"at most {MAX_INFO_BYTES} bytes as compact UTF-8 JSON")

    @field_validator("event_id")
    @classmethod
    def _event_id(cls, value: str) -> str:
        return _non_blank("event_id", value)

    @model_validator(mode="after")
    def _derived_event_id(self) -> "InputEnvelope":
        """No ``event_id`` given: derive it from the content (see ``content_event_id``)."""
        if "event_id" not in self.model_fields_set:
            messages = [m.model_dump(mode="json", exclude_none=True) for m in self.messages]
            self.event_id = content_event_id(self.user_id, self.conversation_id, messages)
        return self

    @field_validator("user_id")
    @classmethod
    def _user_id(cls, value: str) -> str:
        return normalise_user_id(value)

    @field_validator("info", mode="before")
    @classmethod
    def _bounded_info(cls, value: Any) -> Any:
        if isinstance(value, dict):
            _free_json(value, MAX_INFO_BYTES)
        return value


class KnowledgeDocument(_Model):
    """A knowledge-base document; a later one with the same (kb_id, doc_id) replaces it, and
    ``{"kb_id", "doc_id", "deleted": true}`` (no text) removes it.

    Strings must not contain NUL (U+0000) or lone surrogates; ids must not be blank.
    """

    model_config = ConfigDict(json_schema_extra={"anyOf": [
        {"required": ["text"]}, {"required": ["deleted"], "properties": {"deleted": {"const": True}}}]})
    max_record_bytes: ClassVar[int] = MAX_KNOWLEDGE_BYTES

    kb_id: Text(MAX_ID_CHARS, 1) = Field(description="not blank")
    doc_id: Text(MAX_ID_CHARS, 1) = Field(description="not blank")
    title: Text(1_000) = Field(default="")
    text: Text(5_000_000) = Field(default="", description="the document; required unless deleted is true")
    deleted: bool = Field(default=False, description="true: archive every chunk of the document (text is then ignored)")
    updated_at: datetime | None = Field(default=None, description=TIME_DESCRIPTION)
    user_id: Text(MAX_ID_CHARS) | None = Field(
        default=None,
        description="owner of the knowledge memories; the kb_id's shared space when absent. Normalised like "
                    f"an envelope's user_id (stripped, NFC); not blank; must not start with '{RESERVED_USER_PREFIX}'",
    )

    @field_validator("kb_id", "doc_id")
    @classmethod
    def _ids(cls, value: str, info: Any) -> str:
        return _non_blank(info.field_name, value)

    @model_validator(mode="after")
    def _text_unless_deleted(self) -> "KnowledgeDocument":
        if not self.deleted and not self.text.strip():
            raise ValueError("a knowledge document needs text (or \"deleted\": true to remove it)")
        return self

    @field_validator("user_id")
    @classmethod
    def _user_id(cls, value: str | None) -> str | None:
        return None if value is None else normalise_user_id(value)

    _iso_string, _aware = _time_validators("updated_at", assume_utc=False)
