"""One writer per embedded data dir: an advisory lock on ``DATA_DIR/.lock``.

Why: the embedded vector index (qdrant-edge) takes its write-ahead log for one
process; a second process that opens it fails deep inside the index (``Can't init
WAL: Kind(WouldBlock)``), and a second in-process ``ingest`` had every line
rejected. Commands that project into the embedded index (``ingest`` without a
broker, ``replay``, ``worker`` roles all/projections) or open it (``search``) take
this lock first, so the second process fails at once with a message naming the
holder. ``flock`` is released by the kernel when the holder exits, even when it is
killed, so a stale lock file never blocks anyone.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

LOCK_NAME = ".lock"


class DataDirLocked(RuntimeError):
    """Another process holds the data dir."""

    def __init__(self, data_dir: Path, pid: int | None, role: str) -> None:
        self.data_dir, self.pid, self.role = data_dir, pid, role
        who = f"pid {pid} ({role})" if pid else "another process"
        super().__init__(f"{data_dir} is in use by {who}; stop it, or point at a Qdrant server "
                         "with MEMSTREAM_QDRANT_URL")


def holder(data_dir: Path) -> tuple[int | None, str]:
    """What the lock file says about its holder: (pid, role); (None, "") if unknown."""
    try:
        text = (Path(data_dir) / LOCK_NAME).read_text(encoding="utf-8").strip()
    except OSError:
        return None, ""
    pid, _, role = text.partition(" ")
    return (int(pid) if pid.isdigit() else None), role


class DataDirLock:
    """``with DataDirLock(data_dir, "memstream worker"):`` holds the lock (non-blocking)."""

    def __init__(self, data_dir: Path, role: str) -> None:
        self.data_dir = Path(data_dir)
        self.role = role
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> "DataDirLock":
        if self._fd is not None:
            return self
        self.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(self.data_dir / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            pid, role = holder(self.data_dir)
            raise DataDirLocked(self.data_dir, pid, role or "memstream") from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()} {self.role}\n".encode())
        self._fd = fd
        return self

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def __enter__(self) -> "DataDirLock":
        return self.acquire()

    def __exit__(self, *exc_info: object) -> None:
        self.release()
