"""Refusing a write before the disk is full, instead of dying in the middle of one.

Why: an embedded data dir on a small volume used to end in SIGBUS (rc 135, no log
line): the vector index (qdrant-edge) maps sparse page files and touches their pages
as it grows, and a page the filesystem cannot back kills the process outright. A
write SQLite cannot complete fails more gently, but leaves an input recorded and not
refined. So every event-store transaction first checks that the data dir's volume
keeps ``MEMSTREAM_MIN_FREE_MB`` free; below that it raises ``DiskFullError`` before
anything is written. The floor leaves room for what is derived from a transaction
after it commits (projections, index pages), so those never meet a full disk either.

A ``DiskFullError`` is an OSError with errno ENOSPC: the stream workers treat it as
infrastructure (they wait for space and retry, streams/failures.py) and in-process
``ingest`` stops with one line; inputs recorded and not refined are refined when the
next run starts (MemoryApplication.unrefined_inputs).
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

MIN_FREE_ENV = "MEMSTREAM_MIN_FREE_MB"
DEFAULT_MIN_FREE_MB = 64
_MB = 1024 * 1024


class DiskFullError(OSError):
    """Too little space left on the data dir's volume for another write."""

    def __init__(self, path: Path, free: int, needed: int) -> None:
        super().__init__(errno.ENOSPC, f"disk full: {free / _MB:.1f} MB free on the volume of {path}, "
                                       f"memstream keeps at least {needed / _MB:.0f} MB ({MIN_FREE_ENV}); "
                                       "free some space, nothing was written")
        self.path, self.free, self.needed = path, free, needed


def min_free_bytes(value: str | int | None = None) -> int:
    raw = os.environ.get(MIN_FREE_ENV) if value is None else value
    try:
        return max(0, int(float(raw if raw not in (None, "") else DEFAULT_MIN_FREE_MB) * _MB))
    except ValueError:
        return DEFAULT_MIN_FREE_MB * _MB


def free_bytes(path: Path) -> int:
    """Bytes an unprivileged writer may still use on ``path``'s volume."""
    stat = os.statvfs(path)
    return stat.f_bavail * stat.f_frsize


class DiskSpaceGuard:
    """Checks one directory's volume before each write (one statvfs, a few microseconds)."""

    def __init__(self, path: Path, needed: int | None = None) -> None:
        self.path = path
        self.needed = min_free_bytes() if needed is None else needed

    def check(self) -> None:
        if self.needed <= 0:
            return
        try:
            free = free_bytes(self.path)
        except OSError:  # the directory is gone or unreadable: the write itself will say why
            return
        if free < self.needed:
            raise DiskFullError(self.path, free, self.needed)


def is_disk_full(error: BaseException) -> bool:
    """ENOSPC or EDQUOT, or SQLite's 'database or disk is full', here or in the cause."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, OSError) and current.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        if "database or disk is full" in str(current):
            return True
        current = current.__cause__ or current.__context__
    return False


PENDING_MARK = "refine-pending"
"""A file in the data dir: a run stopped by a full disk may have left inputs recorded and
not refined. The guard's floor means there is always room to write it."""


def mark_refine_pending(data_dir: Path) -> None:
    try:
        (data_dir / PENDING_MARK).touch(mode=0o600)
    except OSError:  # the next run then refines what it meets again; nothing else depends on it
        pass


def take_refine_pending(data_dir: Path) -> bool:
    """Whether a previous run left the mark (and remove it)."""
    try:
        (data_dir / PENDING_MARK).unlink()
        return True
    except FileNotFoundError:
        return False
    except OSError:
        return True
