"""The worker processes of the broker benchmark, optionally under py-spy or with a
what-if tweak, and their per-thread CPU.

Why what-ifs live here: the benchmark must run the shipped worker unchanged, yet
a suggestion is only worth making with a number next to it. Each what-if is a
small patch applied by a bootstrap in the worker subprocess (never to the code),
off by default and recorded in the result's args.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from application.settings import Settings

from bench._common import ROOT

# What-if launcher (off by default; bench only, the worker code is unchanged):
#  fetch_wait_ms=N  the consumers' fetch_max_wait_ms: Tansu does not answer a waiting
#                   fetch when records arrive, so every consumer hop waits up to that long;
#  re_cache=N       `re`'s cache size (moot since extraction/rules/rx.py keeps the rule
#                   patterns compiled itself; kept to reproduce older results);
#  embed_threads=N  MEMSTREAM_EMBED_THREADS (a setting; workers default to 1: ONNX
#                   Runtime's second thread spun between tiny embedding calls; it
#                   sleeps now, and 2 measured no better end to end);
#  sqlite_sync=M[@events|@projections]  PRAGMA synchronous=M (full or normal) on the
#                   worker's event store and projections file, or only one of them, in
#                   place of what the code chooses (projections: normal; event store:
#                   MEMSTREAM_EVENT_STORE_SYNC). Session 4's split was measured with an
#                   earlier version of this what-if, before the code chose either;
#  write_flock=1    writers of one SQLite file queue on a kernel file lock instead of
#                   SQLite's sleeping busy handler (measured worse: a low-priority Fine
#                   worker holding the lock delays the Fast stage more);
#  trace_tx=1       every SQLite write transaction of each worker is logged (wall, thread
#                   CPU, the first write's wait for the lock, the commit) to
#                   tx-<role>.jsonl in the data dir: see bench/_tx_trace.py;
#  bg_checkpoint=1  no automatic WAL checkpoint on the worker's eventsourcing
#                   connections; a passive checkpoint every 200 ms from a thread instead
#                   (removed the 12-31 ms checkpoint commits, but p99 did not improve);
#  no_outbox=1      the projections process publishes no memory events (an upper bound
#                   for moving the outbox to a process of its own: no p99 gain measured);
#  fine_sched=idle  the Fine worker under SCHED_IDLE: it runs only on a core nothing else
#                   wants, and a waking Fast or projections thread takes that core at once
#                   (measured worse than niceness 10).
# (Two earlier what-ifs, a catch-up bounded by the timeline's head and a 50 ms fetch
# wait, became code in 0f195ae; results before that are in results/whatif/before-0f195ae.)
_WHAT_IF_BOOT = """
import json, os, re, sys
opts = json.loads(os.environ["BENCH_WHAT_IF"])
if "re_cache" in opts:
    re._MAXCACHE = int(opts["re_cache"])
if "fetch_wait_ms" in opts:
    # Through the worker's own patch (streams/faust_tuning.py), which runs once per process:
    # a consumer-constructor patch here was overridden by it (what-ifs before 2026-11-24).
    from streams.faust_tuning import apply_consumer_tuning
    apply_consumer_tuning(int(opts["fetch_wait_ms"]))
if "sqlite_sync" in opts:
    # Through the shipped use_synchronous, which sets each file's mode last: a patch of
    # the connection pool here was overridden by it for the projections file.
    import application.bootstrap, application.sqlite_sync, application.store
    mode, _, only = opts["sqlite_sync"].lower().partition("@")  # normal, normal@events, full@projections
    _use = application.sqlite_sync.use_synchronous
    def _use_what_if(factory, configured, _use=_use, mode=mode, only=only):
        pool = getattr(getattr(factory, "datastore", None), "pool", None)
        is_projections = str(getattr(pool, "db_name", "")).endswith("-projections.sqlite")
        chosen = not only or only == ("projections" if is_projections else "events")
        _use(factory, mode if chosen else configured)
    application.store.use_synchronous = application.bootstrap.use_synchronous = _use_what_if
if opts.get("write_flock") == "1":
    import contextlib, fcntl, eventsourcing.sqlite as es
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
if opts.get("bg_checkpoint") == "1":
    import sqlite3, threading, time as _time, eventsourcing.sqlite as es
    _files = set()
    _create = es.SQLiteConnectionPool._create_connection
    def _create_no_autockpt(self, _create=_create):
        connection = _create(self)
        connection._sqlite_conn.execute("PRAGMA wal_autocheckpoint=0")
        _files.add(self.db_name)
        return connection
    es.SQLiteConnectionPool._create_connection = _create_no_autockpt
    def _checkpoint_forever():
        conns = {}
        while True:
            _time.sleep(0.2)
            for name in list(_files):
                if name not in conns:
                    conns[name] = sqlite3.connect(name, check_same_thread=False, timeout=0.1)
                try:
                    conns[name].execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                except sqlite3.OperationalError:
                    pass
    threading.Thread(target=_checkpoint_forever, daemon=True, name="bench-checkpointer").start()
if opts.get("no_outbox") == "1":
    # An upper bound for moving the outbox out of the projections process: no outbox at all.
    import streams.projection_loop
    async def _no_outbox(runtime, send, run):
        return 0
    streams.projection_loop.publish_outbox = _no_outbox
if opts.get("fine_sched") == "idle" and os.environ["BENCH_ROLE"] == "fine":
    os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))  # threads started later inherit it
if opts.get("trace_tx") == "1":
    import bench._tx_trace
    bench._tx_trace.install(os.environ["MEMSTREAM_DATA_DIR"], os.environ["BENCH_ROLE"])
from streams.cli import main
sys.exit(main(["worker", "--role", os.environ["BENCH_ROLE"]]))
"""
WHAT_IFS = ("fetch_wait_ms", "re_cache", "embed_threads", "sqlite_sync", "write_flock", "trace_tx", "bg_checkpoint",
            "fine_sched", "no_outbox")


def thread_cpu(pid: int) -> dict[int, float]:
    """CPU seconds per OS thread of ``pid`` (py-spy names the Python ones by the same tid)."""
    out: dict[int, float] = {}
    ticks = os.sysconf("SC_CLK_TCK")
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        out[int(task.name)] = (int(fields[11]) + int(fields[12])) / ticks
    return out


class Worker:
    """The shipped `memstream worker`, started as the demo starts it (session timeout 2 s on
    Tansu). With ``profile`` it runs under py-spy (attaching to a running process fails
    here, launching works), sampling every thread at 100 Hz without pausing it."""

    def __init__(self, settings: Settings, log_path: Path, role: str = "all", profile: Path | None = None,
                 what_if: dict[str, str] | None = None) -> None:
        self.role = role
        env = {**os.environ, "MEMSTREAM_KAFKA_URL": settings.kafka_url,
               "MEMSTREAM_DATA_DIR": str(settings.data_dir), "MEMSTREAM_SESSION_TIMEOUT": "2",
               "MEMSTREAM_PARTITIONS": str(settings.partitions), "MEMSTREAM_EXTRACTOR": "rules",
               "PYTHONUNBUFFERED": "1", "BENCH_ROLE": role}
        argv = [sys.executable, "-m", "streams.cli", "worker", "--role", role]
        what_if = dict(what_if or {})
        if "embed_threads" in what_if:
            env["MEMSTREAM_EMBED_THREADS"] = what_if.pop("embed_threads")
        if what_if:
            env["BENCH_WHAT_IF"] = json.dumps(what_if)
            argv = [sys.executable, "-c", _WHAT_IF_BOOT]
        spy = Path(sys.executable).with_name("py-spy")
        if profile is not None and not spy.exists():
            print("py-spy is not installed in the venv (pip install py-spy): not profiling", file=sys.stderr)
            profile = None
        if profile is not None:
            argv = [str(spy), "record", "--rate", "100", "--nonblocking", "--threads", "--format", "raw",
                    "--output", str(profile), "--", *argv]
        self.profiled = profile is not None
        with open(log_path, "wb") as log:
            self.proc = subprocess.Popen(argv, env=env, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=log,
                                         stderr=subprocess.STDOUT, start_new_session=True)
        self.pid = self.proc.pid if not self.profiled else self._child_of(self.proc.pid)

    @staticmethod
    def _child_of(parent: int, timeout: float = 10.0) -> int:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for entry in Path("/proc").iterdir():
                if entry.name.isdigit():
                    try:
                        stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                    except OSError:
                        continue
                    if int(stat[1]) == parent:
                        return int(entry.name)
            time.sleep(0.05)
        raise RuntimeError(f"py-spy (pid {parent}) started no worker")

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self, timeout: float = 30.0) -> None:
        """SIGTERM to the worker by pid (py-spy then writes its profile and exits)."""
        if not self.alive():
            return
        try:
            os.kill(self.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            for pid in {self.pid, self.proc.pid}:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            self.proc.wait(timeout=5)


def parse_what_if(items: list[str]) -> dict[str, str]:
    pairs = dict(item.split("=", 1) for item in items)
    unknown = set(pairs) - set(WHAT_IFS)
    if unknown:
        raise SystemExit(f"unknown --what-if {sorted(unknown)}; choose from {WHAT_IFS}")
    return pairs
