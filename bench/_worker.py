"""The worker processes of the broker benchmark, optionally under py-spy or with a
what-if tweak, and their per-thread CPU.

A worker with what-ifs runs as ``python -m bench.whatif``, which applies the patches
in the subprocess and then starts the shipped worker (see that module).
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
from bench.whatif import WHAT_IFS


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
        argv = [sys.executable, "-m", "cli.main", "worker", "--role", role]
        what_if = dict(what_if or {})
        if "embed_threads" in what_if:
            env["MEMSTREAM_EMBED_THREADS"] = what_if.pop("embed_threads")
        if what_if:
            env["BENCH_WHAT_IF"] = json.dumps(what_if)
            argv = [sys.executable, "-m", "bench.whatif"]  # applies them, then runs the worker
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
