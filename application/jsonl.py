"""Reading envelopes from a JSONL file, one per line, reporting every bad line.

A bad line never stops the file: it is reported with its line number and reason,
and the lines around it are still processed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, TypeVar

from pydantic import BaseModel, ValidationError

MAX_LINE_BYTES = 8 * 1024 * 1024

M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class BadLine:
    line: int
    reason: str

    def to_dict(self) -> dict:
        return {"line": self.line, "reason": self.reason}


def describe_validation_error(error: ValidationError) -> str:
    parts = []
    for item in error.errors()[:5]:
        where = ".".join(str(p) for p in item["loc"]) or "envelope"
        parts.append(f"{where}: {item['msg']}")
    more = len(error.errors()) - 5
    return "; ".join(parts) + (f"; and {more} more" if more > 0 else "")


def parse_record(raw: bytes | str, model: type[M], defaults: dict | None = None) -> M:
    """Decode and validate one record; raises ValueError with a readable reason.

    ``defaults`` fill fields the record lacks (a Kafka consumer derives a missing
    event_id from the record's position, so a redelivery gets the same id).
    """
    if isinstance(raw, bytes):
        if len(raw) > MAX_LINE_BYTES:
            raise ValueError(f"record is {len(raw)} bytes; the limit is {MAX_LINE_BYTES}")
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError as e:
            raise ValueError(f"not valid UTF-8: {e.reason} at byte {e.start}") from None
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as e:
        raise ValueError(f"invalid JSON: {e.msg} at column {e.colno}") from None
    if not isinstance(data, dict):
        raise ValueError(f"expected a JSON object, got {type(data).__name__}")
    for name, value in (defaults or {}).items():
        data.setdefault(name, value)
    try:
        return model.model_validate(data)
    except ValidationError as e:
        raise ValueError(describe_validation_error(e)) from None


def read_jsonl(path: Path, model: type[M]) -> Iterator[tuple[int, M | BadLine]]:
    with open(path, "rb") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                yield number, parse_record(line.rstrip(b"\r\n"), model)
            except ValueError as e:
                yield number, BadLine(number, str(e))


def count_lines(path: Path) -> int:
    with open(path, "rb") as handle:
        return sum(1 for line in handle if line.strip())
