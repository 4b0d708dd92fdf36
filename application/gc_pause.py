"""No garbage-collection pause while this process holds the event store's write lock.

Why: SQLite has one writer at a time, and every stage process writes to the same
file. A full collection in the Fine process (its aggregate cache makes the heap
large) paused it for 70-340 ms at 200 msg/s; landing inside a write transaction,
such a pause holds back every Fast-stage write behind it. Collections are
postponed to just after the commit instead: the work is the same, only the
moment moves. Counted, because the `all` worker saves from two threads.
"""

from __future__ import annotations

import gc
import threading
from contextlib import contextmanager
from typing import Iterator

_lock = threading.Lock()
_holders = 0
_was_enabled = False


@contextmanager
def collections_postponed() -> Iterator[None]:
    global _holders, _was_enabled
    with _lock:
        if _holders == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _holders += 1
    try:
        yield
    finally:
        with _lock:
            _holders -= 1
            if _holders == 0 and _was_enabled:
                gc.enable()
