"""Benchmark the current-memory vector index adapters.

Builds N points across U users (random unit vectors, memory-like payload) in batches
of 256, then measures tenant-filtered search latency the way the read side queries:
one user per query, top-k 10, plus a second query set that also filters on kind and
an updated_ts window. Recall is checked against exact numpy search inside the user
(the index should be exact for tenant-sized candidate sets).

The edge index runs at the full size; qdrant-client local mode (pure Python, the
code path of the server adapter) runs at a smaller size, next to edge at that size.

    .venv/bin/python bench/bench_vector_index.py [--points 100000 --users 1000]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
import time
import uuid
from importlib import metadata
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from domain.ports import IndexPoint, SearchFilter  # noqa: E402
from projections.vector_index import EdgeVectorIndex, QdrantClientIndex  # noqa: E402

KINDS = ("fact", "preference", "event", "goal", "relationship", "instruction")
TAGS = tuple(f"tag{i}" for i in range(24))
WORDS = "the user likes prefers lives works visited plans to meet with sister coffee".split()
NOW = 1_760_000_000.0
DAY = 86_400.0


def make_batch(rng: np.random.Generator, start: int, n: int, users: int, dim: int):
    vecs = rng.standard_normal((n, dim)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    uids = rng.integers(0, users, n)
    points = []
    for j in range(n):
        kind = KINDS[int(rng.integers(0, len(KINDS)))]
        ts = NOW - float(rng.uniform(0, 90 * DAY))
        tags = [TAGS[int(t)] for t in rng.choice(len(TAGS), int(rng.integers(0, 4)), replace=False)]
        text = " ".join(WORDS[int(w)] for w in rng.integers(0, len(WORDS), 24))
        points.append(IndexPoint(
            memory_id=str(uuid.uuid4()), version=1, user_id=f"user-{uids[j]:05d}", kind=kind,
            key=f"{kind}.{start + j}", vector=vecs[j],
            payload={
                "text": text, "tags": tags, "updated_ts": ts, "created_ts": ts - DAY,
                "status": "active", "confidence": float(rng.uniform(0.5, 1.0)),
                "source_event_ids": [str(uuid.uuid4())], "sensitivity": "normal",
            },
        ))
    return points, vecs, uids


def build(index, n: int, users: int, dim: int, seed: int, batch: int = 256):
    """Returns (points/s, all vectors, user ids, kinds, timestamps) for the recall check."""
    rng = np.random.default_rng(seed)
    all_vecs, all_uids, meta, spent = [], [], [], 0.0
    for start in range(0, n, batch):
        pts, vecs, uids = make_batch(rng, start, min(batch, n - start), users, dim)
        t = time.perf_counter()
        index.upsert(pts)
        spent += time.perf_counter() - t
        all_vecs.append(vecs)
        all_uids.append(uids)
        meta.extend((p.kind, p.payload["updated_ts"]) for p in pts)
    return n / spent, np.concatenate(all_vecs), np.concatenate(all_uids), meta


def measure(index, vecs, uids, meta, users: int, queries: int, seed: int, mixed: bool):
    rng = np.random.default_rng(seed + 1)
    kinds = np.array([k for k, _ in meta])
    stamps = np.array([t for _, t in meta])
    lat, hits, total = [], 0, 0
    for q in range(queries):
        user = int(rng.integers(0, users))
        qv = rng.standard_normal(vecs.shape[1]).astype(np.float32)
        qv /= np.linalg.norm(qv)
        mask = uids == user
        flt = SearchFilter(user_id=f"user-{user:05d}")
        if mixed:
            ks = tuple(rng.choice(KINDS, 2, replace=False))
            lo = NOW - 60 * DAY
            flt = SearchFilter(user_id=flt.user_id, kinds=ks, updated_from=lo)
            mask &= np.isin(kinds, ks) & (stamps >= lo)
        t = time.perf_counter()
        res = index.search(qv, flt, 10)
        lat.append(time.perf_counter() - t)
        if q % 10 == 0:  # exact top-10 inside the user's filtered points
            cand = np.flatnonzero(mask)
            best = cand[np.argsort(-(vecs[cand] @ qv))[:10]]
            got = np.array([r.score for r in res])
            want = np.sort(vecs[best] @ qv)[::-1]
            hits += int(np.sum(np.isclose(got[: len(want)], want[: len(got)], atol=1e-4)))
            total += len(want)
    ms = np.array(lat) * 1000
    return {
        "queries": queries,
        "p50_ms": round(float(np.percentile(ms, 50)), 3),
        "p99_ms": round(float(np.percentile(ms, 99)), 3),
        "mean_ms": round(float(ms.mean()), 3),
        "recall_at_10": round(hits / total, 4) if total else None,
    }


def run(name, factory, n, users, dim, queries, seed, optimize=False):
    workdir = Path(tempfile.mkdtemp(prefix=f"bench-{name}-"))
    try:
        index = factory(workdir)
        rate, vecs, uids, meta = build(index, n, users, dim, seed)
        row = {"adapter": name, "points": n, "users": users, "dim": dim,
               "build_points_per_s": round(rate, 1), "count": index.count()}
        row["user_filter"] = measure(index, vecs, uids, meta, users, queries, seed, False)
        row["user_kind_time_filter"] = measure(index, vecs, uids, meta, users, queries, seed, True)
        if optimize and hasattr(index, "optimize"):
            t = time.perf_counter()
            index.optimize()
            row["optimize_s"] = round(time.perf_counter() - t, 2)
            row["after_optimize"] = measure(index, vecs, uids, meta, users, queries, seed, False)
        t = time.perf_counter()
        index.close()
        index = factory(workdir)
        row["reopen_s"] = round(time.perf_counter() - t, 3)
        assert index.count() == n, "reopened index lost points"
        index.close()
        return row
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--points", type=int, default=100_000)
    ap.add_argument("--users", type=int, default=1_000)
    ap.add_argument("--dim", type=int, default=512)
    ap.add_argument("--queries", type=int, default=1_000)
    ap.add_argument("--client-points", type=int, default=10_000,
                    help="size for the qdrant-client local-mode run (0 skips it)")
    ap.add_argument("--client-queries", type=int, default=200)
    ap.add_argument("--no-optimize", action="store_true", help="skip the edge optimize() pass")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "vector_index.json")
    args = ap.parse_args(argv)

    def edge(d):
        return EdgeVectorIndex(d / "edge", args.dim)

    def local(d):
        from qdrant_client import QdrantClient
        return QdrantClientIndex(QdrantClient(path=str(d / "qdrant")), "memories", args.dim)

    rows = [run("edge", edge, args.points, args.users, args.dim, args.queries, args.seed,
                optimize=not args.no_optimize)]
    if args.client_points:
        cp, cq = args.client_points, args.client_queries
        rows.append(run("edge", edge, cp, args.users, args.dim, cq, args.seed))
        rows.append(run("qdrant-client-local", local, cp, args.users, args.dim, cq, args.seed))

    print(f"\n{'adapter':<20} {'points':>8} {'users':>6} {'build pt/s':>11} "
          f"{'user p50':>9} {'user p99':>9} {'+kind/time p50':>15} {'p99':>8} {'recall':>7}")
    for r in rows:
        u, m = r["user_filter"], r["user_kind_time_filter"]
        print(f"{r['adapter']:<20} {r['points']:>8} {r['users']:>6} {r['build_points_per_s']:>11.0f} "
              f"{u['p50_ms']:>7.3f}ms {u['p99_ms']:>7.3f}ms {m['p50_ms']:>13.3f}ms "
              f"{m['p99_ms']:>6.3f}ms {u['recall_at_10']:>7}")
        if "after_optimize" in r:
            a = r["after_optimize"]
            print(f"  after optimize() ({r['optimize_s']} s): user p50 {a['p50_ms']} ms, "
                  f"p99 {a['p99_ms']} ms, recall {a['recall_at_10']}")
    result = {
        "benchmark": "vector_index",
        "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "platform": platform.platform()},
        "versions": {p: metadata.version(p) for p in ("qdrant-edge-py", "qdrant-client", "numpy")},
        "args": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
        "results": rows,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"\nwrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
