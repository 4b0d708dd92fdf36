"""Interleaved A/B runs of the broker latency benchmark.

Why interleaved: on this shared VM the same work costs 15 to 39 CPU seconds from one
phase to the next (docs/benchmarks.md), far more than most changes move. Running the
variants in alternating order, round after round, puts each pair on the same phase;
only the per-round comparison and the medians over many rounds mean anything.

A variant is ``LABEL=CHECKOUT[:WHAT_IF][:ENV=NAME=VALUE]...``: a checkout directory
(a ``git worktree`` of another commit works, with ``.venv`` and ``.memstream/models``
linked from the main checkout), what-ifs passed to ``bench_broker --what-if``, and
environment variables for its workers. One JSON line per run is appended to OUT:

    python -m bench.ab_broker OUT.jsonl 6 before=/tmp/base after=.
    python -m bench.ab_broker OUT.jsonl 6 nice=. idle=.:fine_sched=idle
    python -m bench.ab_broker OUT.jsonl 6 before=/tmp/base after=. --cpu-hog 0.75
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import tempfile
from pathlib import Path
from typing import Any

LATENCY = ["--phase", "latency", "--rate", "200", "--seconds", "10", "--users", "1000",
           "--roles", "fast,fine,projections"]


def parse_variant(spec: str) -> tuple[str, Path, list[str], dict[str, str]]:
    label, _, rest = spec.partition("=")
    if not label or not rest:
        raise SystemExit(f"variant {spec!r}: expected LABEL=CHECKOUT[:WHAT_IF][:ENV=NAME=VALUE]")
    checkout, *extras = rest.split(":")
    what_ifs = [e for e in extras if not e.startswith("ENV=")]
    env = dict(e[4:].split("=", 1) for e in extras if e.startswith("ENV="))
    return label, Path(checkout).resolve(), what_ifs, env


def run_once(label: str, checkout: Path, what_ifs: list[str], env: dict[str, str], out_dir: Path,
             name: str, cpu_hog: float = 0.0) -> dict[str, Any]:
    cmd = [str(checkout / ".venv" / "bin" / "python"), "-m", "bench.bench_broker", *LATENCY,
           "--out-dir", str(out_dir), "--name", name]
    if cpu_hog:
        cmd += ["--cpu-hog", str(cpu_hog)]
    for what_if in what_ifs:
        cmd += ["--what-if", what_if]
    subprocess.run(cmd, cwd=checkout, env={**os.environ, **env}, check=True, timeout=600,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    lat = json.loads((out_dir / f"{name}.json").read_text())["latency"]
    return {"label": label, **({"cpu_hog": cpu_hog} if cpu_hog else {}),
            "p50": lat["visible_ms"]["p50"], "p99": lat["visible_ms"]["p99"],
            "rec_p50": lat["fast_ms"]["p50"], "rec_p99": lat["fast_ms"]["p99"], "cpu": lat["cpu_s"]}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out", type=Path, help="JSON lines file to append to")
    ap.add_argument("rounds", type=int)
    ap.add_argument("variants", nargs="+", help="LABEL=CHECKOUT[:WHAT_IF][:ENV=NAME=VALUE]")
    ap.add_argument("--cpu-hog", type=float, default=0.0, metavar="DUTY",
                    help="bench_broker --cpu-hog for every run: compare variants on a slower machine")
    args = ap.parse_args(argv)
    variants = [parse_variant(v) for v in args.variants]
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="memstream-ab-") as tmp:
        for rnd in range(1, args.rounds + 1):
            for label, checkout, what_ifs, env in (variants if rnd % 2 else variants[::-1]):
                row = {"round": rnd, **run_once(label, checkout, what_ifs, env, Path(tmp), f"{label}_{rnd}",
                                                args.cpu_hog)}
                rows.append(row)
                print(json.dumps(row), flush=True)
                with args.out.open("a") as fh:
                    fh.write(json.dumps(row) + "\n")
    for label, *_ in variants:
        mine = [r for r in rows if r["label"] == label]
        print(f"{label}: median searchable p99 {statistics.median(r['p99'] for r in mine):.1f} ms, "
              f"p50 {statistics.median(r['p50'] for r in mine):.1f} ms, "
              f"{sum(r['p99'] < 100 for r in mine)} of {len(mine)} runs under 100 ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
