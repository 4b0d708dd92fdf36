"""The Fine stage's rule extractor per envelope, with and without the rule-pattern cache.

Why: the Fine stage is most of a streaming worker's CPU per message, and the rule
finder was most of that. It builds about a thousand patterns and hands them to
``re`` as strings; ``re`` keeps 512 compiled, so most were recompiled for every
message. ``extraction/rules/pattern_cache.py`` keeps them all. This runs the real service
(``record_input`` then ``refine``, rule extractor, no vectors) over the broker
benchmark's envelopes, once as shipped and once with ``rx`` handing every pattern
to the standard ``re`` cache (``stdlib-re``: the behaviour before the fix). Then the
rule finder alone on full chat windows (``window_find``).

    python -m bench.bench_extractor [--envelopes 600 --users 100]
"""

from __future__ import annotations

import argparse
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from bench._common import RESULTS, chat_text, machine, make_envelopes, pct, table, write_result

WARMUP = 100


def measure(envelopes: int, users: int, stdlib_re: bool) -> dict[str, Any]:
    """One mode, in this process (the caller runs each mode in a fresh one)."""
    from extraction.rules import pattern_cache as rx

    if stdlib_re:
        rx.compile = re.compile  # type: ignore[assignment] # re's own 512-pattern cache
    from bench.bench_pipeline import TimedExtractor, runtime_for
    from domain.envelope import InputEnvelope

    data_dir = Path(tempfile.mkdtemp(prefix="memstream-bench-extractor-"))
    try:
        runtime, extractor = runtime_for(data_dir, sync=False, vectors=False, timed=True)
        envs = [InputEnvelope.model_validate(e) for e in make_envelopes(envelopes + WARMUP, users, seed=3)]
        per: list[float] = []
        try:
            for i, env in enumerate(envs):
                if i == WARMUP:
                    extractor.seconds = 0.0
                t = time.perf_counter()
                runtime.service.record_input(env)
                runtime.service.refine(env.event_id)
                if i >= WARMUP:
                    per.append(time.perf_counter() - t)
        finally:
            runtime.close()
        return {"mode": "stdlib-re" if stdlib_re else "rx cache", "envelopes": envelopes,
                "record_and_refine_ms": pct(per, digits=2),
                "extractor_ms_per_envelope": round(1000 * extractor.seconds / envelopes, 2)}
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


def window_find(windows: int = 200, context: int = 6, seed: int = 5) -> dict[str, Any]:
    """The rule finder alone on full windows: ``context`` earlier user turns and one new
    one, as the Fine stage builds them for a running chat (its default keeps six).

    Why apart from the service runs above: their envelopes are mostly a user's first
    turns, so their windows carry little context, and what a window's context costs
    would not show there."""
    from domain.extraction import WindowMessage
    from extraction.rules.finder import RuleCandidateFinder

    rng, t0 = random.Random(seed), datetime(2025, 6, 1)
    finder = RuleCandidateFinder()
    per: list[float] = []
    for w in range(windows + WARMUP):
        window = tuple(WindowMessage(message_id=f"w{w}.{i}", event_id=f"e{w}.{i}", role="user", text=chat_text(rng),
                                     chat_time=t0 + timedelta(minutes=w * 10 + i), is_new=i == context)
                       for i in range(context + 1))
        t = time.process_time()
        finder.find(window)
        if w >= WARMUP:
            per.append(time.process_time() - t)
    return {"windows": windows, "context_messages": context, "find_cpu_ms": pct(per, digits=3)}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--envelopes", type=int, default=600)
    ap.add_argument("--users", type=int, default=100)
    ap.add_argument("--one", choices=["rx", "stdlib-re"], help=argparse.SUPPRESS)  # a child run
    ap.add_argument("--out-dir", type=Path, default=RESULTS)
    args = ap.parse_args(argv)
    if args.one:
        import json

        print(json.dumps(measure(args.envelopes, args.users, args.one == "stdlib-re")))
        return {}
    import json

    runs = []
    for mode in ("stdlib-re", "rx"):  # fresh processes: the pattern caches start empty
        out = subprocess.run([sys.executable, "-m", "bench.bench_extractor", "--one", mode,
                              "--envelopes", str(args.envelopes), "--users", str(args.users)],
                             check=True, capture_output=True, text=True)
        runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
    window = window_find()
    result = {"benchmark": "extractor", "machine": machine(), "runs": runs, "window": window}
    print(table([[r["mode"], r["envelopes"], r["extractor_ms_per_envelope"], r["record_and_refine_ms"]["p50"],
                  r["record_and_refine_ms"]["mean"]] for r in runs],
                ["mode", "envelopes", "extractor ms/env", "record+refine p50 ms", "mean ms"]))
    cpu = window["find_cpu_ms"]
    print(f"\nrule finder on {window['windows']} windows of {window['context_messages']} context turns + 1 new: "
          f"p50 {cpu['p50']} ms, mean {cpu['mean']} ms CPU per find")
    path = write_result("extractor", result, args.out_dir)
    print(f"\nwrote {path}", file=sys.stderr)
    return result


if __name__ == "__main__":
    main()
