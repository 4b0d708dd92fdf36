"""Lifecycle benchmarks: time travel, forgetting, reprocessing (bench/results/lifecycle.json).

1. ``--as-of`` / ``--valid-at`` for one user with 10,000 events (1,000 memories x 10
   versions, seeded directly as Memory aggregates), folded from the event log.
2. Forgetting a user with 10,000 memories (seeded directly, projected into the timeline,
   the vector index, the lexical index and the embedding cache) in a store that also
   holds 10,000 memories of 100 other users.
3. Reprocessing: envelopes per second from the recorded raw input into a parallel set
   (the real Fast and Fine stages with the rule extractor).

    python -m bench.bench_lifecycle [--events 10000] [--forget 10000] [--envelopes 400]

``--index-probe POINTS`` instead asks whether the embedded index could forget a user by a
point delete rather than the shard rewrite ``EdgeVectorIndex.purge`` does: the same shard
(one user in ten forgotten) is purged both ways, timed, and every file is scanned for the
forgotten content after each step (bench/results/lifecycle_index_probe.json; docs/lifecycle.md).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from bench._common import make_envelopes, write_result

import memstream
from domain.memory import Memory


def _memory(user: str, i: int, chat_time: str, text: str) -> Memory:
    return Memory(user_id=user, kind="fact", key=f"bench.{i}", content=text, stage="fine", reason="new",
                  cause={"event_ids": [f"{user}-{i}"]}, decided_by="bench",
                  sources=[{"event_id": f"{user}-{i}", "message_id": f"{user}-{i}", "chat_time": chat_time,
                            "role": "user"}])


def _save(ms: Any, aggregates: list[Memory], batch: int = 500) -> None:
    for start in range(0, len(aggregates), batch):
        ms.runtime.store.save(*aggregates[start:start + batch])


def bench_time_travel(root: Path, events: int, versions: int = 10) -> dict[str, Any]:
    memories = events // versions
    with memstream.open(root / "tt", extractor="rules", with_vectors=False) as ms:
        aggregates = [_memory("tt", i, "2024-01-01T00:00:00+00:00", f"memory {i} version 1") for i in range(memories)]
        _save(ms, aggregates)
        middle = None
        for v in range(2, versions + 1):
            for i, m in enumerate(aggregates):
                m.revise(content=f"memory {i} version {v}", stage="fine", reason="refinement", cause={},
                         decided_by="bench", new_sources=[{"event_id": f"tt-{i}-{v}", "message_id": f"tt-{i}-{v}",
                                                           "chat_time": f"2024-{v:02d}-01T00:00:00+00:00"}])
            _save(ms, aggregates)
            if v == versions // 2:
                middle = datetime.now(timezone.utc)
        started = time.perf_counter()
        ms.memories(user_id="tt")  # catch up the timeline first (not timed below)
        catch_up = time.perf_counter() - started
        timings: dict[str, Any] = {}
        for label, kwargs in (("live", {}), ("as_of", {"as_of": middle}), ("valid_at", {"valid_at": "2024-05-15"})):
            runs = []
            for _ in range(3):
                started = time.perf_counter()
                found = ms.memories(user_id="tt", **kwargs)
                runs.append(time.perf_counter() - started)
            timings[label] = {"seconds_best": round(min(runs), 3), "memories": len(found),
                              "version": found[0]["version"] if found else None}
    return {"events": memories * versions, "memories": memories, "versions_each": versions,
            "timeline_catch_up_seconds": round(catch_up, 2), **timings}


def bench_forget(root: Path, memories: int, others: int = 100) -> dict[str, Any]:
    with memstream.open(root / "fg", extractor="rules") as ms:
        secret = [_memory("forget-me", i, "2024-01-01T00:00:00+00:00",
                          f"forget-me fact {i}: likes item {i * 7919 % 100003}") for i in range(memories)]
        rest = [_memory(f"user-{i % others:03d}", i, "2024-01-01T00:00:00+00:00",
                        f"other fact {i}: lives near stop {i * 104729 % 100019}") for i in range(memories)]
        _save(ms, secret + rest)
        started = time.perf_counter()
        ms.runtime.catch_up()
        projected = time.perf_counter() - started
        started = time.perf_counter()
        report = ms.forget(user_id="forget-me", reason="benchmark")
        seconds = time.perf_counter() - started
        assert ms.memories(user_id="forget-me") == []
        assert len(ms.memories(user_id="user-000")) == memories // others
    return {"user_memories": memories, "other_memories": memories, "other_users": others,
            "projection_seconds": round(projected, 2), "forget_seconds": round(seconds, 2),
            "report": {k: v for k, v in report.items() if k not in ("memory_ids", "sets")}}


def bench_reprocess(root: Path, envelopes: int) -> dict[str, Any]:
    items = make_envelopes(envelopes, users=20, seed=11, prefix="rp")
    with memstream.open(root / "rp", extractor="rules", with_vectors=False) as ms:
        started = time.perf_counter()
        for item in items:
            ms.add(item)
        live_seconds = time.perf_counter() - started
        ms.runtime.embedder  # noqa: B018 - load the model before timing (the set shares it)
        report = ms.reprocess("bench")
        diffs = ms.compare("bench")
    return {"envelopes": envelopes, "live_ingest_per_second": round(envelopes / live_seconds, 1),
            "reprocess_seconds": report["seconds"],
            "reprocess_envelopes_per_second": round(report["inputs"] / report["seconds"], 1),
            "users_with_differences": len(diffs)}


def index_probe(root: Path, points: int, dim: int = 64) -> dict[str, Any]:
    """Shard rewrite (what forgetting does) against the engine's delete + vacuum, same data."""
    import os
    import random
    import shutil

    import qdrant_edge as qe

    from domain.ports import IndexPoint
    from projections.vector_index.edge import EdgeVectorIndex, VECTOR

    secret = b"Quokkazebra7342"
    rng = random.Random(7)
    batch = []
    for i in range(points):
        user = "forget-me" if i % 10 == 0 else f"user-{i % 97:03d}"
        text = f"note {i} {secret.decode()}" if user == "forget-me" else f"note {i} of {user}"
        view = {"memory_id": f"{i:08x}-0000-4000-8000-000000000000", "version": 1, "user_id": user,
                "kind": "fact", "key": f"k.{i}", "content": text, "status": "active", "tags": []}
        batch.append(IndexPoint(memory_id=view["memory_id"], version=1, user_id=user, kind="fact", key=view["key"],
                                vector=[rng.random() for _ in range(dim)], payload=view))
    gone = [p.memory_id for p in batch if p.user_id == "forget-me"]

    def holding(path: Path) -> list[str]:
        return sorted(os.path.relpath(Path(d) / f, path) for d, _, fs in os.walk(path) for f in fs
                      if secret in (Path(d) / f).read_bytes())

    def build(path: Path) -> EdgeVectorIndex:
        index = EdgeVectorIndex(path, dim, fresh=True)
        for start in range(0, len(batch), 1000):
            index.upsert(batch[start:start + 1000])
        index.flush()
        index.optimize()
        return index

    out: dict[str, Any] = {"points": points, "forgotten_points": len(gone), "dim": dim}
    index = build(root / "rewrite")
    t = time.perf_counter()
    removed = index.purge(gone)
    index.flush()
    out["rewrite"] = {"seconds": round(time.perf_counter() - t, 3), "removed": removed,
                      "files_with_content": holding(root / "rewrite")}
    index.close()

    index = build(root / "delete")
    config = index._config()  # noqa: SLF001 - the probe reopens the shard with a vacuuming optimizer
    index.close()
    shard_dir = root / "delete" / "shard"
    vacuum = qe.EdgeOptimizersConfig(deleted_threshold=0.0001, vacuum_min_vector_number=1)
    shard = qe.EdgeShard.load(str(shard_dir), qe.EdgeConfig(
        vectors={VECTOR: qe.EdgeVectorParams(size=dim, distance=qe.Distance.Cosine)},
        payload_memory=config.payload_memory, optimizers=vacuum))
    t = time.perf_counter()
    shard.update(qe.UpdateOperation.delete_points(gone))
    shard.flush()
    steps = {"delete_flush": {"seconds": round(time.perf_counter() - t, 3), "files_with_content": holding(shard_dir)}}
    t = time.perf_counter()
    shard.optimize()
    shard.flush()
    steps["vacuum_optimize"] = {"seconds": round(time.perf_counter() - t, 3), "files_with_content": holding(shard_dir)}
    shard.close()
    steps["closed"] = {"files_with_content": holding(shard_dir)}
    out["point_delete"] = steps
    shutil.rmtree(root / "rewrite", ignore_errors=True)
    shutil.rmtree(root / "delete", ignore_errors=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--forget", type=int, default=10_000)
    parser.add_argument("--envelopes", type=int, default=400)
    parser.add_argument("--name", default="lifecycle")
    parser.add_argument("--index-probe", type=int, metavar="POINTS", help="only the index purge probe")
    args = parser.parse_args()
    if args.index_probe:
        with tempfile.TemporaryDirectory() as tmp:
            probe = index_probe(Path(tmp), args.index_probe)
        probe["command"] = f"python -m bench.bench_lifecycle --index-probe {args.index_probe}"
        print(probe)
        print(write_result("lifecycle_index_probe", probe))
        return
    result: dict[str, Any] = {"command": "python -m bench.bench_lifecycle " + " ".join(
        f"--{k} {v}" for k, v in vars(args).items() if k != "name")}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for name, run in (("time_travel", lambda: bench_time_travel(root, args.events)),
                          ("forget", lambda: bench_forget(root, args.forget)),
                          ("reprocess", lambda: bench_reprocess(root, args.envelopes))):
            started = time.perf_counter()
            result[name] = run()
            result[name]["wall_seconds"] = round(time.perf_counter() - started, 1)
            print(name, result[name], flush=True)
    print(write_result(args.name, result))


if __name__ == "__main__":
    main()
