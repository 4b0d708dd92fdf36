"""Search latency with graph expansion, at 10k and 100k memories (the embedded Kùzu graph).

Two measurements per size and hop count. ``graph share``: ``GraphSearch.search`` in
hybrid mode over a real ``KuzuGraphStore`` with the dense + lexical stage replaced by a
stub returning 50 precomputed candidates, so the figures are what the graph adds (entity
lookup in the query, seeds' entities, 1-2 hop expansion, fusion, views from a dict).
``whole_search``: the real read path, vector mode and hybrid mode: the configured model
embeds the query, the qdrant-edge dense index and the SQLite lexical index search the
user's memories (random unit vectors: a filtered nearest-neighbour search costs the same
whatever they mean), then the graph. CPU times are the calling thread's (the machine is
shared: wall times carry other processes' load).

Synthetic data: ``users`` users; each memory mentions 1-3 entities drawn with a Zipf
law from the user's 300 names, and one memory in ten states a relation between two
of them. Queries name one entity in half the cases. The graph is built through the
projection's ``apply`` up to ``--write-path-max`` memories, by Kùzu's CSV COPY above.

    python -m bench.bench_graph [--quick] [--graph-only] [--sizes 10000,100000] [--hops 1,2] [--queries 500]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import numpy as np


def synthetic(n: int, users: int, rng: np.random.Generator) -> tuple[list[Any], dict[str, list[str]]]:
    from projections.graph.relations import Entity, Relation
    from projections.graph.store import MemoryGraph

    names = [f"Name{i}" for i in range(300)]
    zipf = 1.0 / np.arange(1, 301)
    zipf /= zipf.sum()
    by_user: dict[str, list[str]] = {}
    out: list[MemoryGraph] = []
    for i in range(n):
        user = f"user{i % users}"
        mid = str(uuid.UUID(int=i + 1))  # the vector index keys points by UUID
        picked = rng.choice(300, size=int(rng.integers(1, 4)), replace=False, p=zipf)
        ents = [Entity(user, names[j], "name") for j in picked]
        rels = []
        if i % 10 == 0 and len(ents) >= 2:
            rels = [Relation(ents[0], "knows", ents[1], "social", "2025-01-01T00:00:00")]
        out.append(MemoryGraph(mid, user, "episode", 1, "active", f"2025-01-01T00:00:{i % 60:02d}", rels, ents))
        by_user.setdefault(user, []).append(mid)
    return out, by_user


def write_path(store: Any, changes: list[Any]) -> float:
    """The projection's own writes (``apply``, batches of 500 with their position); seconds."""
    t0 = time.perf_counter()
    for start in range(0, len(changes), 500):
        store.apply(changes[start:start + 500], start + 500)
    return time.perf_counter() - t0


def bulk_load(store: Any, changes: list[Any], tmp: Path) -> float:
    """The same graph through Kùzu's CSV COPY (empty tables): how the 100k graph is built in
    minutes rather than the write path's ~20 (see ``write_memories_per_s``); seconds."""
    import csv

    t0 = time.perf_counter()
    entities: dict[str, Any] = {}
    for c in changes:
        for e in c.mentions:
            entities.setdefault(e.id, e)
    files = {name: tmp / f"{name}.csv" for name in ("entity", "memory", "relation")}
    with open(files["entity"], "w", newline="") as f:
        w = csv.writer(f)
        for e in entities.values():
            w.writerow([e.id, e.user_id, e.name, e.type])
    with open(files["memory"], "w", newline="") as f:
        w = csv.writer(f)
        for c in changes:
            w.writerow([c.memory_id, c.user_id, c.kind, c.version, c.status, c.time,
                        "[" + ",".join(e.id for e in c.mentions) + "]"])
    with open(files["relation"], "w", newline="") as f:
        w = csv.writer(f)
        for c in changes:
            for n, r in enumerate(c.relations):
                w.writerow([r.source.id, r.target.id, f"{c.memory_id}:1:{n}", r.relation, c.memory_id, 1, r.slot,
                            r.stated, ""])
    for table, name in (("Entity", "entity"), ("Memory", "memory"), ("Relation", "relation")):
        store.conn.execute(f"COPY {table} FROM '{files[name]}' (header=false)")
    return time.perf_counter() - t0


class StubBase:
    def __init__(self, results: dict[str, list[dict[str, Any]]]) -> None:
        self.results = results

    def search(self, user_id: str, query: str, top_k: int, **_: Any) -> list[dict[str, Any]]:
        return self.results[user_id][:top_k]


class DictIndex:
    def __init__(self, views: dict[str, dict[str, Any]]) -> None:
        self._views = views

    def views(self, ids: Any) -> dict[str, dict[str, Any]]:
        return {i: self._views[i] for i in ids if i in self._views}


WORDS = ("coffee trip hiking museum dinner concert paper garden movie office school beach train "
         "painting recipe birthday doctor gym library market").split()


def full_index(tmp: Path, by_user: dict[str, list[str]], mentions: dict[str, list[str]], dim: int,
               rng: np.random.Generator) -> Any:
    """The real dense (qdrant-edge) + lexical (SQLite) index over the same memories: random
    unit vectors (a filtered nearest-neighbour search costs the same whatever they mean),
    contents naming the memory's entities, so BM25 and the graph see the same names."""
    from domain.ports import IndexPoint
    from projections.hybrid import HybridIndex
    from projections.lexical_index import LexicalIndex
    from projections.vector_index import open_vector_index

    index = HybridIndex(open_vector_index(None, tmp / "vectors", dim), LexicalIndex(tmp / "lexical.sqlite"))
    batch: list[Any] = []
    for user, mids in by_user.items():
        for mid in mids:
            i = uuid.UUID(mid).int
            vec = rng.standard_normal(dim).astype(np.float32)
            text = " and ".join(mentions[mid]) + " talked about " + " ".join(rng.choice(WORDS, 6))
            ts = 1_735_689_600.0 + i % 86_400
            view = {"memory_id": mid, "user_id": user, "kind": "fact", "key": f"fact.{i}", "status": "active",
                    "content": text, "updated_at": "2025-01-01T00:00:00", "sources": [], "attributes": {}}
            batch.append(IndexPoint(mid, 1, user, "fact", f"fact.{i}", (vec / np.linalg.norm(vec)).tolist(),
                                    {**view, "updated_ts": ts}))
            if len(batch) == 2000:
                index.upsert(batch)
                batch = []
    if batch:
        index.upsert(batch)
    return index


def timed(search: Any, user_list: list[str], queries: int, rng: np.random.Generator) -> dict[str, float]:
    ms, cpu = [], []
    for q in range(queries):
        user = user_list[q % len(user_list)]
        query = f"what did Name{int(rng.integers(0, 300))} say" if q % 2 else "what happened last week"
        t0, c0 = time.perf_counter(), time.thread_time()
        search.search(user, query, top_k=10)
        ms.append((time.perf_counter() - t0) * 1000)
        cpu.append((time.thread_time() - c0) * 1000)
    arr, carr = np.asarray(ms), np.asarray(cpu)
    return {"cpu_p50_ms": round(float(np.percentile(carr, 50)), 2), "cpu_p99_ms": round(float(np.percentile(carr, 99)), 2),
            "p50_ms": round(float(np.percentile(arr, 50)), 2), "p99_ms": round(float(np.percentile(arr, 99)), 2),
            "max_ms": round(float(arr.max()), 2)}


def measure(n: int, users: int, queries: int, hops: int, seed: int = 7, write_path_max: int = 10_000,
            embedder: Any = None) -> dict[str, Any]:
    from projections.graph.kuzu_store import KuzuGraphStore
    from projections.graph_search import GraphParams, GraphSearch

    rng = np.random.default_rng(seed)
    with tempfile.TemporaryDirectory(prefix="bench-graph-") as tmp:
        store = KuzuGraphStore(Path(tmp) / "graph")
        changes, by_user = synthetic(n, users, rng)
        if n <= write_path_max:
            build_s, how = write_path(store, changes), "apply"
        else:
            build_s, how = bulk_load(store, changes, Path(tmp)), "csv-copy"
        mentions = {c.memory_id: [e.name for e in c.mentions] for c in changes}
        del changes
        views = {mid: {"memory_id": mid, "user_id": u, "kind": "episode", "status": "active", "content": f"text {mid}",
                       "updated_at": "2025-01-01T00:00:00", "sources": []}
                 for u, mids in by_user.items() for mid in mids}
        base = {u: [dict(views[m], score=0.5) for m in rng.choice(mids, size=min(50, len(mids)), replace=False)]
                for u, mids in by_user.items()}
        search = GraphSearch(StubBase(base), store, DictIndex(views), "hybrid", GraphParams(hops=hops))
        user_list = list(by_user)
        t0 = time.perf_counter()
        for u in user_list:  # warm the per-user mirrors and name caches, as a long-running server has them
            search.names(u)
        warm_ms = (time.perf_counter() - t0) * 1000 / len(user_list)
        gc.collect()
        gc.freeze()  # as the read side does (bootstrap): long-lived objects out of the collector's way
        graph_share = timed(search, user_list, queries, rng)
        whole: dict[str, Any] | None = None
        if embedder is not None:  # the whole search: query embedding, dense + lexical, then the graph
            from projections.read_side import query_embedder
            from projections.search import MemorySearch

            t0 = time.perf_counter()
            index = full_index(Path(tmp), by_user, mentions, embedder.dim, rng)
            index_s = time.perf_counter() - t0
            base_search = MemorySearch(query_embedder(embedder), index, lexical=index.lexical)
            for mode in ("vector", "hybrid"):
                full = GraphSearch(base_search, store, index, mode, GraphParams(hops=hops))
                timed(full, user_list, min(queries, 100), rng)  # warm: lexical pages, the index's caches
                whole = {**(whole or {}), mode: timed(full, user_list, queries, rng)}
            whole["index_build_s"] = round(index_s, 1)
            index.close()
        counts = store.counts()
        store.close()
    gc.unfreeze()
    return {"memories": n, "users": users, "hops": hops, "queries": queries, "built_by": how,
            "build_s": round(build_s, 1), "write_memories_per_s": round(n / build_s, 1) if how == "apply" else None,
            "graph": counts, "mirror_load_ms_per_user": round(warm_ms, 2),
            **graph_share, "whole_search": whole}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="10000,100000")
    ap.add_argument("--users", type=int, default=100)
    ap.add_argument("--queries", type=int, default=500)
    ap.add_argument("--hops", default="1,2")
    ap.add_argument("--write-path-max", type=int, default=10_000,
                    help="build sizes up to this through the projection's apply(), larger ones by CSV COPY")
    ap.add_argument("--out", type=Path, default=Path("bench/results/graph.json"))
    ap.add_argument("--graph-only", action="store_true", help="only the graph's share, no dense + lexical index")
    ap.add_argument("--quick", action="store_true", help="10k memories, 200 queries (make bench's size)")
    args = ap.parse_args(argv)
    if args.quick:
        args.sizes, args.queries = "10000", 200
    embedder = None
    if not args.graph_only:
        from application.settings import Settings
        from projections.embedding.embedder import build_embedder

        s = Settings()
        embedder = build_embedder(s.embedding_model, model_dir=s.model_dir, threads=1)
    rows = []
    for n in (int(s) for s in args.sizes.split(",")):
        for hops in (int(h) for h in args.hops.split(",")):
            row = measure(n, args.users, args.queries, hops, write_path_max=args.write_path_max, embedder=embedder)
            rows.append(row)
            print(json.dumps(row))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"benchmark": "graph-expansion", "created": time.strftime(
        "%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "what": __doc__.split("\n\n")[1].replace("\n", " "),
        "load_average_at_end": os.getloadavg(), "rows": rows},
        indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
