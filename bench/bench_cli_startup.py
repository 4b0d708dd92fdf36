"""CLI start-up: wall time of `memstream memories` and `memstream search`, process start included.

Why a benchmark and not a timed test: the figure depends on the machine and on what
else runs on it. Each command runs ``--runs`` times (default 5) as a fresh process, the
real console script next to the interpreter, against a data dir seeded once with
``examples/conversations.jsonl`` (ingested in-process). Prints the figures and saves
``bench/results/cli_startup.json``.

    python -m bench.bench_cli_startup [--runs 5] [--name cli_startup]
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

COMMANDS = {
    "help": ["--help"],
    "memories": ["memories", "--user", "xiaoyi"],
    "search": ["search", "--user", "xiaoyi", "住在哪里"],
}


def timed(argv: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    done = subprocess.run([str(MEMSTREAM), *argv], env=env, cwd=ROOT, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"memstream {' '.join(argv)} failed ({done.returncode}): {done.stderr.strip()}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--name", default="cli_startup")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="memstream-startup-") as tmp:
        env = {**os.environ, "MEMSTREAM_DATA_DIR": str(Path(tmp) / "data"), "MEMSTREAM_EXTRACTOR": "rules"}
        env.pop("MEMSTREAM_KAFKA_URL", None)
        seed = subprocess.run([str(MEMSTREAM), "ingest", "--json", str(ROOT / "examples" / "conversations.jsonl")],
                              env=env, cwd=ROOT, capture_output=True, text=True)
        if seed.returncode not in (0, 2):
            raise SystemExit(f"seeding failed: {seed.stderr.strip()}")
        timed(COMMANDS["search"], env)  # the first search builds the embedding cache: not start-up
        results = {}
        for name, argv in COMMANDS.items():
            runs = [timed(argv, env) for _ in range(args.runs)]
            results[name] = {"command": "memstream " + " ".join(argv), "runs_s": [round(r, 3) for r in runs],
                             "median_s": round(statistics.median(runs), 3), "min_s": round(min(runs), 3)}
            print(f"{results[name]['command']:<45} median {results[name]['median_s']:.3f} s  "
                  f"min {results[name]['min_s']:.3f} s  ({args.runs} runs)")
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"{args.name}.json"
    out.write_text(json.dumps({"runs": args.runs, "python": sys.version.split()[0],
                               "measured_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "commands": results},
                              indent=2) + "\n")
    print(f"saved {out}")


if __name__ == "__main__":
    main()
