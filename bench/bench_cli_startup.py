"""CLI start-up: wall time of `memstream memories` and `memstream search`, process start included.

Why a benchmark and not a timed test: the figure depends on the machine and on what
else runs on it. Each command runs ``--runs`` times (default 5) as a fresh process, the
real console script next to the interpreter, against a data dir seeded once with
``examples/conversations.jsonl`` (ingested in-process). Prints the figures and saves
``bench/results/cli_startup.json``.

    python -m bench.bench_cli_startup [--runs 5] [--name cli_startup] [--repo DIR]

Wall time on a shared machine follows its load, so each run's CPU time (user + system,
of the child process) is reported too. ``--repo DIR`` times another checkout of the
code (``python -m cli.main`` with ``PYTHONPATH=DIR``), e.g. ``git archive`` of an older
commit, for a before/after on the same machine at the same time.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
MEMSTREAM = Path(sys.executable).parent / "memstream"

COMMANDS = {
    "help": ["--help"],
    "memories": ["memories", "--user", "xiaoyi"],
    "search": ["search", "--user", "xiaoyi", "住在哪里"],
}


def command(repo: Path | None) -> list[str]:
    return [sys.executable, "-m", "cli.main"] if repo else [str(MEMSTREAM)]


def timed(argv: list[str], env: dict[str, str], repo: Path | None = None) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one run."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run([*command(repo), *argv], env=env, cwd=repo or ROOT, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"memstream {' '.join(argv)} failed ({done.returncode}): {done.stderr.strip()}")
    return elapsed, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--name", default="cli_startup")
    parser.add_argument("--repo", type=Path, help="time this checkout instead of the installed console script")
    args = parser.parse_args()
    repo = args.repo.resolve() if args.repo else None
    with tempfile.TemporaryDirectory(prefix="memstream-startup-") as tmp:
        env = {**os.environ, "MEMSTREAM_DATA_DIR": str(Path(tmp) / "data"), "MEMSTREAM_EXTRACTOR": "rules"}
        env.pop("MEMSTREAM_KAFKA_URL", None)
        if repo:
            env["PYTHONPATH"] = str(repo)
            env.setdefault("MEMSTREAM_MODEL_DIR", str(ROOT / ".memstream" / "models" / "use-multilingual-v3"))
        seed = subprocess.run([*command(repo), "ingest", "--json", str(ROOT / "examples" / "conversations.jsonl")],
                              env=env, cwd=repo or ROOT, capture_output=True, text=True)
        if seed.returncode not in (0, 2):
            raise SystemExit(f"seeding failed: {seed.stderr.strip()}")
        timed(COMMANDS["search"], env, repo)  # the first search builds the embedding cache: not start-up
        results = {}
        for name, argv in COMMANDS.items():
            runs = [timed(argv, env, repo) for _ in range(args.runs)]
            wall, cpu = [r[0] for r in runs], [r[1] for r in runs]
            results[name] = {"command": "memstream " + " ".join(argv), "runs_s": [round(r, 3) for r in wall],
                             "median_s": round(statistics.median(wall), 3), "min_s": round(min(wall), 3),
                             "cpu_median_s": round(statistics.median(cpu), 3)}
            print(f"{results[name]['command']:<45} median {results[name]['median_s']:.3f} s  "
                  f"min {results[name]['min_s']:.3f} s  CPU {results[name]['cpu_median_s']:.3f} s  ({args.runs} runs)")
        load = os.getloadavg()[0]
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"{args.name}.json"
    out.write_text(json.dumps({"runs": args.runs, "python": sys.version.split()[0], "load_1min": round(load, 2),
                               "code": str(repo) if repo else "installed console script",
                               "measured_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "commands": results},
                              indent=2) + "\n")
    print(f"saved {out}")


if __name__ == "__main__":
    main()
