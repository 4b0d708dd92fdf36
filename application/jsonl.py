"""Reading envelopes from a JSONL file, one per line, reporting every bad line.

A bad line never stops the file: it is reported with its line number and reason,
and the lines around it are still processed. ``parse_record`` (also used for every
Kafka record) raises nothing but ValueError with a one-line reason, whatever the bytes:
sizes and nesting are bounded before the JSON parser or pydantic see the record.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Iterator, TypeVar

from pydantic import BaseModel, ValidationError

from domain.envelope import MAX_DEPTH, MAX_ENVELOPE_BYTES, MAX_KNOWLEDGE_BYTES

MAX_LINE_BYTES = max(MAX_ENVELOPE_BYTES, MAX_KNOWLEDGE_BYTES)
"""Longest line read from a file; a longer one is skipped (and reported) without being held in memory.
Each model has its own, smaller or equal, limit (``max_record_bytes``)."""

MAX_JSON_DEPTH = MAX_DEPTH + 4
"""Nesting of a whole record: an envelope's own structure (envelope, messages, message, parts)
plus the free-form JSON below it, whose own limit (MAX_DEPTH) the models check."""

MAX_NUMBER_CHARS = 100
MAX_REASON_CHARS = 500

M = TypeVar("M", bound=BaseModel)

_TOKEN = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]', re.S)


@dataclass(frozen=True)
class BadLine:
    line: int
    reason: str

    def to_dict(self) -> dict:
        return {"line": self.line, "reason": self.reason}


def one_line(reason: str) -> str:
    """A reason safe to print and to store: one line, no NUL or lone surrogate, bounded."""
    reason = reason.encode("utf-8", "backslashreplace").decode("utf-8")
    reason = " ".join(reason.replace("\x00", "\\x00").split())
    if len(reason) > MAX_REASON_CHARS:
        reason = reason[:MAX_REASON_CHARS - 1] + "…"
    return reason


def describe_validation_error(error: ValidationError) -> str:
    errors = error.errors(include_url=False, include_input=False)
    parts = []
    for item in errors[:5]:
        where = ".".join(str(p) for p in item["loc"]) or "envelope"
        parts.append(f"{where}: {item['msg']}")
    more = len(errors) - 5
    return "; ".join(parts) + (f"; and {more} more" if more > 0 else "")


def json_depth_exceeds(text: str, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether ``text`` opens more than ``limit`` nested arrays/objects (brackets inside strings
    do not count). A loop over the brackets, not a recursion."""
    if text.count("[") + text.count("{") <= limit:
        return False
    depth = 0
    for token in _TOKEN.finditer(text):
        ch = text[token.start()]
        if ch == '"':
            continue
        if ch in "[{":
            depth += 1
            if depth > limit:
                return True
        else:
            depth -= 1
    return False


def _constant(name: str) -> float:
    raise ValueError(f"{name} is not valid JSON")


def _float(text: str) -> float:
    if len(text) > MAX_NUMBER_CHARS:
        raise ValueError(f"a number of {len(text)} characters; the limit is {MAX_NUMBER_CHARS}")
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text} is out of range (numbers must be finite)")
    return value


def _int(text: str) -> int:
    if len(text) > MAX_NUMBER_CHARS:
        raise ValueError(f"a number of {len(text)} characters; the limit is {MAX_NUMBER_CHARS}")
    return int(text)


def _decode(raw: bytes | str, limit: int) -> str:
    if isinstance(raw, str):
        size = len(raw.encode("utf-8", "surrogatepass")) if len(raw) * 4 > limit else len(raw)
        if size > limit:
            raise ValueError(f"record is {size} bytes; the limit is {limit}")
        return raw
    if len(raw) > limit:
        raise ValueError(f"record is {len(raw)} bytes; the limit is {limit}")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ValueError(f"not valid UTF-8: {e.reason} at byte {e.start}") from None


def _parse(raw: bytes | str, model: type[M], defaults: dict | None) -> M:
    text = _decode(raw, getattr(model, "max_record_bytes", MAX_LINE_BYTES))
    if json_depth_exceeds(text):
        raise ValueError(f"JSON nests deeper than {MAX_JSON_DEPTH} levels "
                         f"(info, tool_input and tool_output may nest {MAX_DEPTH})")
    try:
        data = json.loads(text, parse_constant=_constant, parse_float=_float, parse_int=_int)
    except json.JSONDecodeError as e:
        raise ValueError(f"invalid JSON: {e.msg} at column {e.colno}") from None
    except RecursionError:
        raise ValueError("JSON nests too deeply") from None
    except ValueError as e:  # from the number and constant hooks
        raise ValueError(f"invalid JSON: {e}") from None
    if not isinstance(data, dict):
        raise ValueError(f"expected a JSON object, got {type(data).__name__}")
    for name, value in (defaults or {}).items():
        data.setdefault(name, value)
    try:
        return model.model_validate(data)
    except ValidationError as e:
        raise ValueError(describe_validation_error(e)) from None


def parse_record(raw: bytes | str, model: type[M], defaults: dict | None = None) -> M:
    """Decode and validate one record; raises ValueError with a one-line reason, and nothing else.

    ``defaults`` fill fields the record lacks (a Kafka consumer derives a missing
    event_id from the record's position, so a redelivery gets the same id).
    """
    try:
        return _parse(raw, model, defaults)
    except ValueError as e:
        raise ValueError(one_line(str(e)) or "invalid record") from None
    except (RecursionError, MemoryError, TypeError, OverflowError, UnicodeError, AttributeError) as e:
        # Not expected: every rule above should have caught the record first. Reported, never raised.
        raise ValueError(one_line(f"internal error validating the record: {type(e).__name__}: {e}")) from None


def _lines(handle: BinaryIO, limit: int) -> Iterator[tuple[int, bytes | None, int]]:
    """(number, line or None when longer than ``limit``, size); a long line is skipped in chunks."""
    number = 0
    while True:
        line = handle.readline(limit + 2)  # room for the line break
        if not line:
            return
        number += 1
        if len(line) <= limit or line.rstrip(b"\r\n") and len(line.rstrip(b"\r\n")) <= limit:
            yield number, line, len(line)
            continue
        size = len(line)
        while not line.endswith(b"\n"):
            line = handle.readline(1 << 20)
            if not line:
                break
            size += len(line)
        yield number, None, size


def read_jsonl(path: Path, model: type[M]) -> Iterator[tuple[int, M | BadLine]]:
    with open(path, "rb") as handle:
        for number, line, size in _lines(handle, MAX_LINE_BYTES):
            if line is None:
                yield number, BadLine(number, f"line is {size} bytes; the limit is {MAX_LINE_BYTES}")
                continue
            if not line.strip():
                continue
            try:
                yield number, parse_record(line.rstrip(b"\r\n"), model)
            except ValueError as e:
                yield number, BadLine(number, str(e))


def count_lines(path: Path) -> int:
    with open(path, "rb") as handle:
        return sum(1 for _, line, _ in _lines(handle, MAX_LINE_BYTES) if line is None or line.strip())
