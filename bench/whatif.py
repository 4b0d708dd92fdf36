"""What-if patches for the broker benchmark's worker processes (``--what-if KEY=VALUE``).

Why they live here: the benchmark must run the shipped worker unchanged, yet a
suggestion is only worth making with a number next to it. Each what-if is a small
patch applied in the worker subprocess before the worker starts (never to the
code), off by default and recorded in the result's args. ``bench/_worker.py``
starts ``python -m bench.whatif`` in place of ``python -m cli.main`` when a
variant carries what-ifs; the options arrive as JSON in ``BENCH_WHAT_IF`` and the
role in ``BENCH_ROLE``.

The what-ifs (``embed_threads`` is a setting, so ``_worker.py`` passes it as
``MEMSTREAM_EMBED_THREADS`` and it never reaches this module):

- ``fetch_wait_ms=N``: the consumers' ``fetch_max_wait_ms``. Tansu does not answer a
  waiting fetch when records arrive, so every consumer hop waits up to that long.
- ``re_cache=N``: ``re``'s cache size. Moot since ``extraction/rules/pattern_cache.py`` keeps the
  rule patterns compiled itself; kept to reproduce the comparison.
- ``sqlite_sync=M[@events|@projections]``: ``PRAGMA synchronous=M`` (full or normal) on
  the worker's event store and projections file, or only one of them, in place of
  what the code chooses (projections: normal; event store: MEMSTREAM_EVENT_STORE_SYNC).
- ``write_flock=1``: writers of one SQLite file queue on a kernel file lock instead
  of SQLite's sleeping busy handler.
- ``trace_tx=1``: every SQLite write transaction of the worker is logged to
  ``tx-<role>.jsonl`` in the data dir (``bench/_tx_trace.py``).
- ``bg_checkpoint=1``: no automatic WAL checkpoint on the worker's eventsourcing
  connections; a passive checkpoint every 200 ms from a thread instead.
- ``no_outbox=1``: the projections process publishes no memory events (an upper
  bound for moving the outbox to a process of its own).
- ``fine_sched=idle``: the Fine worker under ``SCHED_IDLE`` instead of niceness.

What each one measured is in docs/benchmarks.md.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

WHAT_IFS = ("fetch_wait_ms", "re_cache", "embed_threads", "sqlite_sync", "write_flock", "trace_tx", "bg_checkpoint",
            "fine_sched", "no_outbox")


def re_cache(size: str) -> None:
    import re

    re._MAXCACHE = int(size)


def fetch_wait_ms(ms: str) -> None:
    # Through the worker's own patch (streams/faust_tuning.py), which runs once per process:
    # a patch of the consumer's constructor would be overridden by it.
    from streams.faust_tuning import apply_consumer_tuning

    apply_consumer_tuning(int(ms))


def sqlite_sync(spec: str) -> None:
    # Through the shipped use_synchronous, which sets each file's mode last: a patch of
    # the connection pool would be overridden by it for the projections file.
    import memstream.bootstrap
    import adapters.sqlite_sync
    import application.memory_app

    mode, _, only = spec.lower().partition("@")  # normal, normal@events, full@projections
    _use = adapters.sqlite_sync.use_synchronous

    def _use_what_if(factory, configured, _use=_use, mode=mode, only=only):
        pool = getattr(getattr(factory, "datastore", None), "pool", None)
        is_projections = str(getattr(pool, "db_name", "")).endswith("-projections.sqlite")
        chosen = not only or only == ("projections" if is_projections else "events")
        _use(factory, mode if chosen else configured)

    application.memory_app.use_synchronous = memstream.bootstrap.use_synchronous = _use_what_if


def write_flock() -> None:
    import contextlib
    import fcntl

    import eventsourcing.sqlite as es

    _transaction = es.SQLiteDatastore.transaction

    @contextlib.contextmanager
    def _flocked(self, *, commit, _transaction=_transaction):
        if not commit:
            with _transaction(self, commit=False) as cursor:
                yield cursor
            return
        if not hasattr(self, "_bench_lock"):
            self._bench_lock = open(self.pool.db_name + ".writelock", "a")
        fcntl.flock(self._bench_lock, fcntl.LOCK_EX)
        try:
            with _transaction(self, commit=True) as cursor:
                yield cursor
        finally:
            fcntl.flock(self._bench_lock, fcntl.LOCK_UN)

    es.SQLiteDatastore.transaction = _flocked


def bg_checkpoint() -> None:
    import sqlite3
    import threading
    import time

    import eventsourcing.sqlite as es

    files: set[str] = set()
    _create = es.SQLiteConnectionPool._create_connection

    def _create_no_autockpt(self, _create=_create):
        connection = _create(self)
        connection._sqlite_conn.execute("PRAGMA wal_autocheckpoint=0")
        files.add(self.db_name)
        return connection

    es.SQLiteConnectionPool._create_connection = _create_no_autockpt

    def _checkpoint_forever():
        conns = {}
        while True:
            time.sleep(0.2)
            for name in list(files):
                if name not in conns:
                    conns[name] = sqlite3.connect(name, check_same_thread=False, timeout=0.1)
                try:
                    conns[name].execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                except sqlite3.OperationalError:
                    pass

    threading.Thread(target=_checkpoint_forever, daemon=True, name="bench-checkpointer").start()


def no_outbox() -> None:
    import streams.projection_loop

    async def _no_outbox(runtime, send, run):
        return 0

    streams.projection_loop.publish_outbox = _no_outbox


def fine_sched_idle() -> None:
    os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))  # threads started later inherit it


def trace_tx(data_dir: str, role: str) -> None:
    import bench._tx_trace

    bench._tx_trace.install(data_dir, role)


def apply(opts: dict[str, Any], role: str, data_dir: str) -> None:
    """Apply the what-ifs in ``opts`` to this process, in the order they always ran."""
    if "re_cache" in opts:
        re_cache(opts["re_cache"])
    if "fetch_wait_ms" in opts:
        fetch_wait_ms(opts["fetch_wait_ms"])
    if "sqlite_sync" in opts:
        sqlite_sync(opts["sqlite_sync"])
    if opts.get("write_flock") == "1":
        write_flock()
    if opts.get("bg_checkpoint") == "1":
        bg_checkpoint()
    if opts.get("no_outbox") == "1":
        no_outbox()
    if opts.get("fine_sched") == "idle" and role == "fine":
        fine_sched_idle()
    if opts.get("trace_tx") == "1":
        trace_tx(data_dir, role)


def main() -> int:
    """Apply the what-ifs from the environment, then run the shipped worker."""
    role = os.environ["BENCH_ROLE"]
    apply(json.loads(os.environ["BENCH_WHAT_IF"]), role, os.environ["MEMSTREAM_DATA_DIR"])
    from cli.main import main as cli_main

    return cli_main(["worker", "--role", role])


if __name__ == "__main__":
    sys.exit(main())
