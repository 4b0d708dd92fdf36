"""CLI start-up: process start -> first result of `memstream memories` and `memstream search`.

Why a benchmark and not a timed test: the figure depends on the machine and on what else
runs on it. Each command runs ``--runs`` times (default 7) as a fresh process, the real
console script next to the interpreter, against a data dir seeded once with
``examples/conversations.jsonl`` (ingested in-process). For each run it records

* ``first_s``: wall time from spawning the process to the first line it prints (the first
  result), what a person waits for;
* ``wall_s``: until the process has exited (closing the stores comes after the output);
* ``cpu_s``: the child's user + system CPU (``os.wait4``), which follows the work rather
  than the shared machine's load.

and reports p50 and min of each. Cases:

* ``search`` in its own process: every run asks a different question (query vectors are
  never cached, so each run embeds with a freshly loaded model, as a user's search would);
* ``search-served``: the same questions while ``memstream serve`` owns the data dir, which
  answers them (cli/remote.py); the server is started once, before the timed runs.

    python -m bench.bench_cli_startup [--runs 7] [--name cli_startup] [--repo DIR] [--no-serve]

``--repo DIR`` times another checkout of the code (``python -m cli.main`` with
``PYTHONPATH=DIR``), e.g. ``git archive`` of an older commit, for a before/after on the
same machine at the same time (``search-served`` needs a checkout that has it).
Prints the figures and saves ``bench/results/NAME.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
MEMSTREAM = Path(sys.executable).parent / "memstream"

QUESTIONS = ["where does she live", "what does Alice eat", "住在哪里", "any trips planned?", "what does she like",
             "is she vegetarian", "which city did she move to", "her hobbies", "flights to Oslo", "summer plans",
             "她喜欢什么", "where is home now"]
"""Distinct questions, one per run (each with results for user alice)."""


def command(repo: Path | None) -> list[str]:
    return [sys.executable, "-m", "cli.main"] if repo else [str(MEMSTREAM)]


def timed(argv: list[str], env: dict[str, str], repo: Path | None = None) -> dict[str, float]:
    """One fresh process: seconds to its first output line, to its exit, and its CPU."""
    started = time.perf_counter()
    proc = subprocess.Popen([*command(repo), *argv], env=env, cwd=repo or ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stderr is not None
    first_line = proc.stdout.readline()
    first = time.perf_counter() - started
    rest = proc.stdout.read()
    errors = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0 or not first_line.strip():
        raise SystemExit(f"memstream {' '.join(argv)} failed ({proc.returncode}): {errors.strip() or rest}")
    return {"first_s": first, "wall_s": wall, "cpu_s": usage.ru_utime + usage.ru_stime}


def summary(name: str, argvs: list[list[str]], env: dict[str, str], repo: Path | None) -> dict:
    runs = [timed(argv, env, repo) for argv in argvs]
    out: dict = {"command": "memstream " + " ".join(argvs[0]), "runs": len(runs)}
    for key in ("first_s", "wall_s", "cpu_s"):
        values = [r[key] for r in runs]
        out[key] = [round(v, 3) for v in values]
        out[key.replace("_s", "_p50_s")] = round(statistics.median(values), 3)
        out[key.replace("_s", "_min_s")] = round(min(values), 3)
    print(f"{name:<14} first result p50 {out['first_p50_s']:.3f} s (min {out['first_min_s']:.3f})  "
          f"exit p50 {out['wall_p50_s']:.3f} s  CPU p50 {out['cpu_p50_s']:.3f} s  ({len(runs)} runs)", flush=True)
    return out


def searches(runs: int) -> list[list[str]]:
    return [["search", "--user", "alice", QUESTIONS[i % len(QUESTIONS)]] for i in range(runs)]


def start_server(env: dict[str, str], repo: Path | None, data: Path) -> subprocess.Popen:
    server = subprocess.Popen([*command(repo), "serve", "--port", "0"], env={**env, "MEMSTREAM_API_KEYS": "bench=*"},
                              cwd=repo or ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 180
    while not (data / "serve.json").exists():
        if server.poll() is not None or time.monotonic() > deadline:
            raise SystemExit("memstream serve did not start (or does not announce itself in this checkout)")
        time.sleep(0.2)
    return server


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--name", default="cli_startup")
    parser.add_argument("--repo", type=Path, help="time this checkout instead of the installed console script")
    parser.add_argument("--no-serve", action="store_true", help="skip the search-served case")
    args = parser.parse_args()
    repo = args.repo.resolve() if args.repo else None
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="memstream-startup-") as tmp:
        data = Path(tmp) / "data"
        env = {**os.environ, "MEMSTREAM_DATA_DIR": str(data), "MEMSTREAM_EXTRACTOR": "rules"}
        env.pop("MEMSTREAM_KAFKA_URL", None)
        if repo:
            env["PYTHONPATH"] = str(repo)
            env.setdefault("MEMSTREAM_MODEL_DIR", str(ROOT / ".memstream" / "models" / "use-multilingual-v3"))
        seed = subprocess.run([*command(repo), "ingest", "--json", str(ROOT / "examples" / "conversations.jsonl")],
                              env=env, cwd=repo or ROOT, capture_output=True, text=True)
        if seed.returncode not in (0, 2):
            raise SystemExit(f"seeding failed: {seed.stderr.strip()}")
        timed(["search", "--user", "alice", "warm the page cache"], env, repo)  # the model file read once
        results = {
            "help": summary("help", [["--help"]] * args.runs, env, repo),
            "memories": summary("memories", [["memories", "--user", "alice"]] * args.runs, env, repo),
            "search": summary("search", searches(args.runs), env, repo),
        }
        if not args.no_serve:
            server = start_server(env, repo, data)
            try:
                timed(["search", "--user", "alice", "warm the server"], env, repo)
                results["search-served"] = summary("search-served", searches(args.runs), env, repo)
            finally:
                server.terminate()
                server.wait(timeout=30)
    load_after = os.getloadavg()[0]
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"{args.name}.json"
    out.write_text(json.dumps({"runs": args.runs, "python": sys.version.split()[0],
                               "load_1min": [round(load_before, 2), round(load_after, 2)], "cpus": os.cpu_count(),
                               "code": str(repo) if repo else "installed console script",
                               "measured_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "commands": results},
                              indent=2) + "\n")
    print(f"load {load_before:.1f} -> {load_after:.1f} on {os.cpu_count()} CPUs; saved {out}")


if __name__ == "__main__":
    main()
