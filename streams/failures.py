"""Which failures are the record's fault and which the infrastructure's, and how often
one record has failed.

Why: a record whose processing raises must never crash-loop the worker, and one bad
record must not stall the partitions batched with it. A record's own problem (it
breaks an invariant, holds data a store refuses) becomes a dead letter at once; only
failures of the infrastructure (the store or the broker unreachable, a full disk, no
memory) make the worker back off and retry, because the same record will succeed
once the infrastructure is back. A failure that looks like infrastructure yet
follows one record, the same way, ``MEMSTREAM_MAX_ATTEMPTS`` times across retries
and restarts, is treated as the record's after all: it is dead-lettered with the
error, and ``memstream deadletters --resubmit`` can send it again later.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from pathlib import Path
from typing import Any

from eventsourcing.persistence import InterfaceError, InternalError, OperationalError

log = logging.getLogger(__name__)

INFRASTRUCTURE_ERRORS: tuple[type[BaseException], ...] = (
    OperationalError,  # database unreachable, locked, disk or database full
    InterfaceError,  # connection lost
    InternalError,
    OSError,  # ConnectionError, TimeoutError, ENOSPC, EIO ...
    MemoryError,
)


def is_infrastructure(error: BaseException) -> bool:
    if isinstance(error, INFRASTRUCTURE_ERRORS):
        return True
    cause = error.__cause__ or error.__context__
    return cause is not None and cause is not error and isinstance(cause, INFRASTRUCTURE_ERRORS)


def error_text(error: BaseException, limit: int = 500) -> str:
    """One line, printable whatever the error echoes (surrogates, NULs, newlines)."""
    text = f"{type(error).__name__}: {error}".replace("\n", " ").replace("\x00", "\\x00")
    text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text[:limit]


class RecordFailed(Exception):
    """An infrastructure failure while processing one record; the caller retries."""

    def __init__(self, record: Any, stage: str, error: BaseException) -> None:
        super().__init__(error_text(error))
        self.record = record
        self.stage = stage
        self.error = error


class AttemptLog:
    """Failures per record position, kept in a small file so they survive a restart.

    Only failing records are in it, so it stays tiny; a record that succeeds is removed.
    """

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._counts: dict[str, dict[str, Any]] = self._load()

    def _load(self) -> dict[str, dict[str, Any]]:
        if self.path is None or not self.path.exists():
            return {}
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            return data if isinstance(data, dict) else {}
        except (OSError, ValueError):
            log.warning("could not read %s; counting failures afresh", self.path)
            return {}

    @staticmethod
    def key(topic: str, partition: int, offset: int) -> str:
        return f"{topic}:{partition}:{offset}"

    def failed(self, key: str, signature: str) -> int:
        """Count one failure; returns how many times in a row it failed the same way."""
        entry = self._counts.get(key)
        if entry is None or entry.get("signature") != signature:
            entry = {"signature": signature, "count": 0}
        entry["count"] += 1
        self._counts[key] = entry
        self._save()
        return int(entry["count"])

    def succeeded(self, keys: list[str]) -> None:
        if any(self._counts.pop(k, None) is not None for k in keys):
            self._save()

    def _save(self) -> None:
        if self.path is None:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".attempts-")
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(self._counts, handle)
            os.replace(tmp, self.path)
        except OSError:  # a full disk is exactly when this may fail: counting goes on in memory
            log.warning("could not write %s", self.path, exc_info=True)
