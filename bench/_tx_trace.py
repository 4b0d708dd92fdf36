"""Trace of every SQLite write transaction in a benchmark worker (``--what-if trace_tx=1``).

Why: the Fast stage's latency doubles when the Fine worker runs beside it, and
the two share one event store file. Whether that is CPU or the file's single
write lock cannot be told from the outside; each write transaction's wall time,
the CPU its thread spent in it, how long its first write waited for the lock and
how long its commit took can. Patches eventsourcing's SQLite classes in the
worker process only (the shipped code is unchanged).
"""

from __future__ import annotations

import atexit
import json
import threading
import time
from pathlib import Path
from typing import Any

_WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE")


def install(data_dir: str, role: str) -> None:
    import eventsourcing.sqlite as es

    out = open(Path(data_dir) / f"tx-{role}.jsonl", "a", buffering=1 << 16)
    atexit.register(out.flush)
    state = threading.local()
    lock = threading.Lock()
    enter, exit_ = es.SQLiteTransaction.__enter__, es.SQLiteTransaction.__exit__
    execute, executemany = es.SQLiteCursor.execute, es.SQLiteCursor.executemany

    def traced_enter(self: Any) -> Any:
        if self.commit:
            state.tx = {"t0": time.monotonic(), "c0": time.thread_time(), "lock_ms": None,
                        "thread": threading.current_thread().name}
        return enter(self)

    def traced_exit(self: Any, *exc: Any) -> Any:
        tx = getattr(state, "tx", None) if self.commit else None
        t1 = time.monotonic()
        try:
            return exit_(self, *exc)
        finally:
            if tx is not None:
                state.tx = None
                t2 = time.monotonic()
                line = json.dumps({"role": role, "thread": tx["thread"], "at": round(tx["t0"], 6),
                                   "wall_ms": round(1000 * (t2 - tx["t0"]), 3),
                                   "cpu_ms": round(1000 * (time.thread_time() - tx["c0"]), 3),
                                   "lock_ms": tx["lock_ms"], "commit_ms": round(1000 * (t2 - t1), 3),
                                   "failed": exc[1] is not None})
                with lock:
                    out.write(line + "\n")

    def timed(original: Any) -> Any:
        def call(self: Any, statement: Any, *args: Any, **kwargs: Any) -> Any:
            tx = getattr(state, "tx", None)
            if tx is None or tx["lock_ms"] is not None or not str(statement).lstrip().upper().startswith(_WRITES):
                return original(self, statement, *args, **kwargs)
            t = time.monotonic()
            try:
                return original(self, statement, *args, **kwargs)
            finally:
                tx["lock_ms"] = round(1000 * (time.monotonic() - t), 3)
        return call

    es.SQLiteTransaction.__enter__ = traced_enter
    es.SQLiteTransaction.__exit__ = traced_exit
    es.SQLiteCursor.execute = timed(execute)
    es.SQLiteCursor.executemany = timed(executemany)


def summarize(path: Path) -> dict[str, Any]:
    """Per thread: how many transactions, and percentiles of wall, CPU, lock wait and commit (ms)."""
    from bench._common import pct

    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    out: dict[str, Any] = {}
    for thread in sorted({r["thread"] for r in rows}):
        mine = [r for r in rows if r["thread"] == thread]
        out[thread] = {k: pct([r[k] or 0.0 for r in mine], scale=1.0, digits=2)
                       for k in ("wall_ms", "cpu_ms", "lock_ms", "commit_ms")}
    return out
