"""Benchmark the pipeline in-process (no broker): ingest, replay and search.

Why in-process: it isolates the cost of the service, the event store, the
projections and the read side from the transport (see bench_broker for that),
so a regression here is the code's, not Kafka's. Three measurements:

1. ingest: N envelopes across U users through ``service.ingest`` with sync
   projections, without and with vectors, with where the time goes per stage
   (Fast record, Fine refine, of which the rule extractor, and the projections);
2. replay: an event log of --events memory events across 1,000 users (bulk-built
   through the real service: ``record_input`` of multi-turn envelopes, a share
   also refined so revisions/archives occur), then ``memstream replay``'s logic
   (clear + one pass of the timeline and vector projections) with a cold and a
   warm embedding cache. Target (the issue): 100k events in < 60 s, warm cache
   (the whole log of >= 100k events must replay in under 60 s);
3. search: user-filtered ``read_side.memory_search.search`` (the CLI's code path)
   latency at 1k, 10k and the full log's memories (>100k live memories by
   default), split into query embedding, dense and lexical parts. Target (the
   issue): p99 < 10 ms at 100k memories.

    python -m bench.bench_pipeline [--quick] [--events 115000] [--ingest 300] [--log-dir DIR]
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import random
import shutil
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from memstream.bootstrap import build_runtime
from application.settings import Settings
from domain.envelope import InputEnvelope
from domain.ports import SearchFilter
from projections.catch_up import catch_up_together, head

from bench._common import (CITIES_EN, CITIES_ZH, RESULTS, THINGS_EN, machine, make_envelopes, pct, unique_share,
                           write_result)
from bench._pipeline_report import plot, report

TARGET_REPLAY_S = 60.0
TARGET_SEARCH_P99_MS = 10.0
SETTLE_S = 3.0
"""Search latency is that of a running service: after the first query (reported apart as
``first_query_ms``) it waits this long, because for 1-3 s after opening a 100k-point
shard the engine finishes loading in the background and queries took up to 8 ms."""
QUERIES_ZH = ["住在哪里", "喜欢喝什么", "对什么过敏", "在哪里工作", "最近的出行计划", "周末做什么", "在{c}做什么"]
QUERIES_EN = ["where does the user live", "what does the user like", "allergies", "job", "trip to {e}",
              "hobbies on weekends", "plans in {e}", "likes {t}"]


class TimedExtractor:
    """Proxy that adds up the time spent in the extractor (inside the Fine stage)."""

    def __init__(self, inner: Any) -> None:
        self.inner, self.name, self.seconds = inner, inner.name, 0.0

    def extract(self, request: Any) -> Any:
        t = time.perf_counter()
        try:
            return self.inner.extract(request)
        finally:
            self.seconds += time.perf_counter() - t


def runtime_for(data_dir: Path, *, sync: bool, vectors: bool, timed: bool = False) -> tuple[Any, Any]:
    """The real runtime; ``timed`` wraps the Fine stage's extractor after it is built
    (so it keeps whatever the composition root gives it, e.g. the similarity lookup)."""
    settings = Settings(data_dir=data_dir, extractor="rules", kafka_url="")
    runtime = build_runtime(settings, sync_projections=sync, with_vectors=vectors)
    extractor = None
    if timed:
        fine = runtime.service.fine_stage
        extractor = fine.extractor = TimedExtractor(fine.extractor)
    return runtime, extractor


def bench_ingest(n: int, users: int, vectors: bool, base: Path, seed: int) -> dict[str, Any]:
    """service.ingest per envelope, sync projections: the embedded mode's write path."""
    envs = [InputEnvelope.model_validate(e) for e in make_envelopes(n, users, seed=seed, prefix="ing")]
    runtime, extractor = runtime_for(base / f"ingest-{'vec' if vectors else 'novec'}", sync=True,
                                     vectors=vectors, timed=True)
    runtime.embedder  # noqa: B018 - load the model (Fine's similarity lookup uses it too) untimed
    if vectors:
        runtime.read_side  # noqa: B018
    spent = Counter()
    inner_catch_up = runtime.service.on_saved

    def timed_catch_up() -> None:
        t = time.perf_counter()
        inner_catch_up()
        spent["projections"] += time.perf_counter() - t

    runtime.service.on_saved = timed_catch_up
    per, created = [], 0
    try:
        t0, c0 = time.perf_counter(), time.process_time()
        for env in envs:
            t, before = time.perf_counter(), spent["projections"]
            runtime.service.record_input(env)
            t1, mid = time.perf_counter(), spent["projections"]
            outcome = runtime.service.refine(env.event_id)
            t2 = time.perf_counter()
            spent["fast_record"] += (t1 - t) - (mid - before)
            spent["fine_refine"] += (t2 - t1) - (spent["projections"] - mid)
            per.append(t2 - t)
            created += len(outcome.created)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        counts = runtime.timeline.counts()
    finally:
        runtime.close()
    spent["fine_extractor"] = extractor.seconds
    return {"vectors": vectors, "envelopes": n, "users": users, "seconds": round(wall, 2),
            "envelopes_per_s": round(n / wall, 1), "per_envelope_ms": pct(per),
            "cpu_ms_per_envelope": round(1000 * cpu / n, 2),  # all threads; wall - cpu ~ fsync waits
            "stage_ms_per_envelope": {k: round(1000 * v / n, 3) for k, v in spent.items()},
            "fine_memories_created": created, "timeline": counts}


def build_log(runtime: Any, target: int, users: int, refine_every: int, seed: int,
              checkpoint: Any) -> dict[str, Any]:
    """Record 4-turn envelopes (one episode per turn) until ``target`` memory events exist;
    every ``refine_every``-th envelope is also refined. ``checkpoint(events)`` runs
    whenever the event count crosses one of the search sizes."""
    events, envelopes, refined, t0, chunk, i, paused = 0, 0, 0, time.perf_counter(), 500, 0, 0.0
    while events < target:
        batch = make_envelopes(chunk, users, seed=seed + i, messages=4, prefix=f"bulk{i}")
        i += 1
        for e in batch:
            env = InputEnvelope.model_validate(e)
            out = runtime.service.record_input(env)
            events += len(out.episodes)
            envelopes += 1
            if envelopes % refine_every == 0:
                r = runtime.service.refine(env.event_id)
                events += len(r.created) + len(r.revised) + len(r.archived)
                refined += 1
            if events >= target:
                break
            tp = time.perf_counter()
            if checkpoint(events):
                paused += time.perf_counter() - tp
    seconds = time.perf_counter() - t0 - paused
    return {"memory_events": events, "envelopes": envelopes, "refined": refined, "seconds": round(seconds, 1),
            "events_per_s": round(events / seconds, 1), "head": head(runtime.store)}


def bench_search(runtime: Any, users: int, queries: int, seed: int) -> dict[str, Any]:
    """Latency of the CLI's search path (``read_side.memory_search.search``, hybrid when it has a
    lexical index); per query its parts are then timed apart, interleaved so background
    work in the index affects all alike: the model, the dense index query with the
    search's own candidate count, and the lexical (BM25) query."""
    rng = random.Random(seed)
    srch = runtime.read_side.memory_search
    model = getattr(srch.embedder, "inner", srch.embedder)  # the model, not the cache
    lexical = getattr(srch, "lexical", None)
    n_dense = max(5, getattr(srch, "dense_candidates", 5))
    texts = []
    for _ in range(queries):
        q = rng.choice(QUERIES_ZH if rng.random() < 0.5 else QUERIES_EN)
        texts.append(q.format(c=rng.choice(CITIES_ZH), e=rng.choice(CITIES_EN), t=rng.choice(THINGS_EN))
                     + f" {rng.randint(1, 10**6)}")  # unique text: the query embedding is computed
    who = [f"user-{rng.randrange(users):05d}" for _ in texts]
    t = time.perf_counter()
    srch.search(who[0], "warm up", top_k=5)
    first_ms = round(1000 * (time.perf_counter() - t), 2)
    time.sleep(SETTLE_S)
    times: dict[str, list[float]] = {"search": [], "embed": [], "dense": [], "lexical": []}
    hits = 0
    for user, text in zip(who, texts):
        t0 = time.perf_counter()
        hits += bool(srch.search(user, text, top_k=5))
        t1 = time.perf_counter()
        vec = model.embed([text + "?"])[0]
        t2 = time.perf_counter()
        flt = SearchFilter(user_id=user)
        srch.index.search(vec, flt, n_dense, with_payload=False)
        t3 = time.perf_counter()
        if lexical is not None:
            lexical.search(text, flt, max(5, srch.candidates))
        t4 = time.perf_counter()
        for key, dt in zip(times, (t1 - t0, t2 - t1, t3 - t2, t4 - t3)):
            times[key].append(dt)
    active = runtime.timeline._execute(  # noqa: SLF001 - read-only count
        "SELECT COUNT(*) FROM timeline_current WHERE status = 'active'")[0][0]
    return {"memories_indexed": srch.index.count(), "active_memories": active, "queries": queries,
            "first_query_ms": first_ms, "settle_s": SETTLE_S,
            "with_results_pct": round(100 * hits / queries, 1), "dense_candidates": n_dense,
            "hybrid": lexical is not None, **{f"{k}_ms": pct(v, digits=2) for k, v in times.items()}}


def replay(data_dir: Path, cold: bool, profile: bool = False) -> dict[str, Any]:
    """``memstream replay`` (streams/cli_write.py::replay): clear every projection, then one
    pass over the log (``catch_up_together``: the timeline folds, the vector projection
    takes its views).
    ``profile``: cProfile it and keep the top functions (their shares, not the seconds,
    are the point: cProfile slows Python code more than native code)."""
    if cold:
        for f in data_dir.glob("embedding-cache.sqlite*"):
            f.unlink()
    t = time.perf_counter()
    runtime, _ = runtime_for(data_dir, sync=False, vectors=True)
    runtime.read_side  # noqa: B018
    out: dict[str, Any] = {"cache": "cold" if cold else "warm", "open_s": round(time.perf_counter() - t, 2)}
    try:
        last = head(runtime.store)
        profiler = cProfile.Profile() if profile else None
        if profiler:
            profiler.enable()
        t, c = time.perf_counter(), time.process_time()
        timeline, *followers = runtime.projectors()
        for projector in (timeline, *followers):
            projector.clear()
        done = catch_up_together(runtime.store, timeline, followers, until=last)
        total = time.perf_counter() - t
        out["cpu_s"] = round(time.process_time() - c, 2)
        for name, events in done.items():
            out[name] = {"events": events}
        if profiler:
            profiler.disable()
            out["profile_top_tottime_pct"] = top_functions(profiler)
        out["seconds"] = round(total, 2)
        out["events_per_s"] = round(out["timeline"]["events"] / total, 1)  # events of the log
        stats = getattr(runtime.read_side.embedder, "stats", None)
        out["embedding_cache"] = stats() if stats else None
    finally:
        runtime.close()
    return out


def top_functions(profiler: cProfile.Profile, n: int = 15) -> dict[str, float]:
    stats = pstats.Stats(profiler).stats  # {(file, line, func): (cc, nc, tottime, cumtime, callers)}
    total = sum(v[2] for v in stats.values()) or 1.0
    rows = sorted(stats.items(), key=lambda kv: -kv[1][2])[:n]
    return {f"{Path(k[0]).parent.name}/{Path(k[0]).name}:{k[1]}({k[2]})": round(100 * v[2] / total, 1)
            for k, v in rows}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small sizes (about a minute)")
    ap.add_argument("--ingest", type=int, default=None, help="envelopes per ingest run (default 300)")
    ap.add_argument("--users", type=int, default=200, help="users of the ingest runs")
    ap.add_argument("--events", type=int, default=None,
                    help="memory events of the replay log (default 115k: over 100k of them are live memories)")
    ap.add_argument("--log-users", type=int, default=1_000)
    ap.add_argument("--refine-every", type=int, default=10, help="refine every n-th bulk envelope")
    ap.add_argument("--queries", type=int, default=1000, help="searches per size (p99 of 1,000 is the 10th worst)")
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--out-dir", type=Path, default=RESULTS)
    ap.add_argument("--name", default="bench_pipeline")
    ap.add_argument("--tmp-base", default=None)
    ap.add_argument("--profile-replay", action="store_true", help="cProfile the warm replay (slower)")
    ap.add_argument("--log-dir", type=Path, default=None,
                    help="keep the built event log here and reuse it on later runs (skips ingest; "
                         "search is then measured at the log's size only)")
    ap.add_argument("--skip-cold", action="store_true", help="skip the cold-cache replay (a reused log's "
                    "cache is warm already)")
    args = ap.parse_args(argv)
    n_ingest = args.ingest or (150 if args.quick else 300)
    n_events = args.events or (12_000 if args.quick else 115_000)
    sizes = [s for s in (1_000, 10_000) if s < n_events] + [n_events]
    base = Path(tempfile.mkdtemp(prefix="memstream-bench-pipeline-", dir=args.tmp_base))
    result: dict[str, Any] = {"benchmark": "pipeline", "machine": machine(), "args": {
        k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()}}
    t_all = time.perf_counter()
    try:
        log_dir = args.log_dir or base / "log"
        reuse = (log_dir / "events.sqlite").exists()
        if not reuse:
            sample = make_envelopes(n_ingest, args.users, seed=args.seed, prefix="ing")
            result["workload"] = {"unique_text_share": unique_share(sample)}
            result["ingest"] = [bench_ingest(n_ingest, args.users, v, base, args.seed) for v in (False, True)]
        runtime, _ = runtime_for(log_dir, sync=False, vectors=True)
        searches: list[dict[str, Any]] = []
        pending = [s for s in sizes if s < n_events]

        def checkpoint(events: int) -> bool:
            if not pending or events < pending[0]:
                return False
            pending.pop(0)
            runtime.catch_up()
            searches.append(bench_search(runtime, args.log_users, args.queries, args.seed + events))
            return True

        if reuse:
            result["log"] = {"reused": str(log_dir), "head": head(runtime.store)}
        else:
            result["log"] = build_log(runtime, n_events, args.log_users, args.refine_every, args.seed, checkpoint)
        runtime.close()
        result["replay"] = [] if args.skip_cold else [replay(log_dir, cold=True)]
        result["replay"].append(replay(log_dir, cold=False, profile=args.profile_replay))
        runtime, _ = runtime_for(log_dir, sync=False, vectors=True)
        searches.append(bench_search(runtime, args.log_users, args.queries, args.seed + n_events))
        runtime.close()
        result["search"] = searches
    finally:
        shutil.rmtree(base, ignore_errors=True)
    result["total_s"] = round(time.perf_counter() - t_all, 1)
    warm = result["replay"][-1]
    last = result["search"][-1]
    result["targets"] = {"replay_events": warm["timeline"]["events"], "warm_replay_s": warm["seconds"],
                         "warm_replay_under_60s_met": warm["timeline"]["events"] >= 100_000
                         and warm["seconds"] < TARGET_REPLAY_S,
                         "search_memories": last["memories_indexed"], "search_p99_ms": last["search_ms"]["p99"],
                         "search_p99_under_10ms_met": last["memories_indexed"] >= 100_000
                         and last["search_ms"]["p99"] < TARGET_SEARCH_P99_MS}
    args.out_dir.mkdir(parents=True, exist_ok=True)
    result["plots"] = plot(result, args.out_dir)
    path = write_result(args.name, result, args.out_dir)
    report(result)
    print(f"\nwrote {path}", file=sys.stderr)
    return result


if __name__ == "__main__":
    main()
