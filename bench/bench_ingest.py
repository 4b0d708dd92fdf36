"""In-process ingest of LoCoMo (every stage plus the projections), and how it scales with history.

Why LoCoMo: it is the history a user would load first (5,882 turns of ten long
conversations, 272 session envelopes) and the one the peer benchmark
(bench_peers.py) feeds mem0, so the two rates are comparable. Two measurements:

1. ``rate``: the whole of LoCoMo through a fresh runtime (rules extractor, vectors,
   lexical index: what ``memstream ingest FILE`` without a broker composes), either
   one ``service.ingest`` per envelope (``--mode each``) or chunks through
   ``service.ingest_batch`` (``--mode batch``). Each run is a child process, so its
   peak RSS is its own. CPU time is reported beside wall time: the machine's two
   cores are shared, and wall time follows other people's load.
2. ``curve``: the rate of one probe conversation for a user who already has 0, 1k,
   5k and 10k active memories. The history is other LoCoMo conversations under that
   user's id (repeated with new event ids until it is large enough); each point
   copies the seeded data dir and ingests the same probe into the copy, so every
   point does the same work on a different history.

    python -m bench.bench_ingest rate [--mode each|batch] [--conversations N] [--profile]
    python -m bench.bench_ingest curve [--sizes 0,1000,5000,10000]
"""

from __future__ import annotations

import argparse
import cProfile
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Sequence

from bench._common import RESULTS, machine, write_result

CHUNK = 32
"""Envelopes per ``ingest_batch`` call (a LoCoMo session envelope holds ~22 turns)."""


def locomo_envelopes(limit: int | None = None) -> list[Any]:
    from bench.locomo.convert import load

    return [e for c in load(limit=limit) for e in c.envelopes]


def turns_of(envelopes: Sequence[Any]) -> int:
    return sum(len(e.messages) for e in envelopes)


def open_runtime(data_dir: Path) -> Any:
    from application.settings import Settings
    from memstream.bootstrap import build_runtime

    runtime = build_runtime(Settings(data_dir=data_dir, extractor="rules", kafka_url=""))
    runtime.embedder  # noqa: B018 - model and index load untimed: ingest is what is measured
    runtime.read_side  # noqa: B018
    return runtime


def ingest(runtime: Any, envelopes: Sequence[Any], mode: str, chunk: int = CHUNK) -> dict[str, Any]:
    """Ingest and time; raises when any envelope failed (a benchmark of failures is no benchmark)."""
    service = runtime.service
    t, c = time.perf_counter(), time.process_time()
    if mode == "each":
        outcomes: list[Any] = [service.ingest(e) for e in envelopes]
    else:
        outcomes = []
        for start in range(0, len(envelopes), chunk):
            outcomes += service.ingest_batch(envelopes[start:start + chunk])
    wall, cpu = time.perf_counter() - t, time.process_time() - c
    failed = [o for o in outcomes if isinstance(o, Exception)]
    if failed:
        raise RuntimeError(f"{len(failed)} envelopes failed, e.g. {failed[0]!r}")
    n = turns_of(envelopes)
    return {"mode": mode, "envelopes": len(envelopes), "messages": n, "seconds": round(wall, 2),
            "cpu_s": round(cpu, 2), "msg_per_s": round(n / wall, 1), "msg_per_cpu_s": round(n / cpu, 1),
            "cpu_ms_per_msg": round(1000 * cpu / n, 3),
            "created": sum(len(o.created) for o in outcomes), "episodes": sum(len(o.episodes) for o in outcomes)}


def rate(mode: str, conversations: int | None, profile: Path | None = None) -> dict[str, Any]:
    envelopes = locomo_envelopes(conversations)
    data_dir = Path(tempfile.mkdtemp(prefix="memstream-bench-ingest-"))
    try:
        runtime = open_runtime(data_dir)
        profiler = cProfile.Profile() if profile else None
        if profiler:
            profiler.enable()
        out = ingest(runtime, envelopes, mode)
        if profiler:
            profiler.disable()
            profiler.dump_stats(str(profile))
        out["timeline"] = runtime.timeline.counts()
        out["indexed"] = runtime.read_side.index.count()
        runtime.close()
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
    out["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    return out


def in_child(args: list[str]) -> dict[str, Any]:
    """Run one measurement in a fresh interpreter (own peak RSS, nothing cached)."""
    proc = subprocess.run([sys.executable, "-m", "bench.bench_ingest", *args, "--child"],
                          capture_output=True, text=True, cwd=Path(__file__).resolve().parents[1])
    if proc.returncode:
        raise RuntimeError(f"bench_ingest {' '.join(args)} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def active_memories(runtime: Any, user_id: str) -> int:
    return runtime.timeline._execute(  # noqa: SLF001 - read-only count
        "SELECT COUNT(*) FROM timeline_current WHERE status = 'active' AND user_id = ?", (user_id,))[0][0]


def relabelled(envelopes: Sequence[Any], user_id: str, prefix: str) -> list[Any]:
    return [e.model_copy(update={"user_id": user_id, "conversation_id": user_id,
                                 "event_id": f"{prefix}-{e.event_id}"}) for e in envelopes]


def curve(sizes: Sequence[int], mode: str) -> dict[str, Any]:
    """Rate of one probe conversation at each history size (see the module doc)."""
    from bench.locomo.convert import load

    user = "history-user"
    conversations = load()
    probe = relabelled(conversations[0].envelopes, user, "probe")
    seed_pool = [e for c in conversations[1:] for e in c.envelopes]
    base = Path(tempfile.mkdtemp(prefix="memstream-bench-curve-"))
    seeded, points, passes, cursor = base / "seeded", [], 0, 0
    try:
        runtime = open_runtime(seeded)
        for size in sorted(sizes):
            while active_memories(runtime, user) < size:
                batch = seed_pool[cursor:cursor + CHUNK]
                cursor += CHUNK
                if not batch:
                    passes, cursor = passes + 1, 0
                    continue
                ingest(runtime, relabelled(batch, user, f"seed{passes}"), mode)
            have = active_memories(runtime, user)
            runtime.close()
            copy = base / f"at-{size}"
            shutil.copytree(seeded, copy)
            probe_runtime = open_runtime(copy)
            point = ingest(probe_runtime, probe, mode)
            point.update(target=size, existing_active_memories=have,
                         after_active_memories=active_memories(probe_runtime, user))
            probe_runtime.close()
            shutil.rmtree(copy, ignore_errors=True)
            points.append(point)
            print(f"  {have:>6} existing: {point['msg_per_s']:>7} msg/s, {point['cpu_ms_per_msg']} ms CPU/msg",
                  file=sys.stderr)
            runtime = open_runtime(seeded)
        runtime.close()
    finally:
        shutil.rmtree(base, ignore_errors=True)
    empty = points[0]
    for p in points:
        p["cpu_per_msg_vs_empty"] = round(p["cpu_ms_per_msg"] / empty["cpu_ms_per_msg"], 3)
        p["rate_vs_empty"] = round(p["msg_per_s"] / empty["msg_per_s"], 3)
    return {"probe_messages": turns_of(probe), "points": points}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("what", choices=("rate", "curve"))
    ap.add_argument("--mode", choices=("each", "batch"), default="batch")
    ap.add_argument("--conversations", type=int, default=None, help="first N LoCoMo conversations (default all 10)")
    ap.add_argument("--runs", type=int, default=1, help="repeated child runs (rate)")
    ap.add_argument("--sizes", default="0,1000,5000,10000")
    ap.add_argument("--profile", type=Path, default=None, help="cProfile the ingest into this file (rate)")
    ap.add_argument("--name", default=None)
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        out = rate(args.mode, args.conversations, args.profile)
        print(json.dumps(out))
        return out
    result: dict[str, Any] = {"benchmark": f"ingest_{args.what}", "machine": machine(),
                              "args": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()}}
    if args.what == "rate":
        child = ["rate", "--mode", args.mode] + (["--conversations", str(args.conversations)]
                                                 if args.conversations else [])
        if args.profile:
            child += ["--profile", str(args.profile)]
        result["runs"] = [in_child(child) for _ in range(args.runs)]
        for r in result["runs"]:
            print(f"{r['mode']}: {r['messages']} messages, {r['msg_per_s']} msg/s, {r['cpu_ms_per_msg']} ms CPU/msg, "
                  f"peak RSS {r['peak_rss_mb']} MB", file=sys.stderr)
    else:
        result["curve"] = curve([int(s) for s in args.sizes.split(",")], args.mode)
    path = write_result(args.name or f"ingest_{args.what}", result, RESULTS)
    print(f"wrote {path}", file=sys.stderr)
    return result


if __name__ == "__main__":
    main()
