"""HTTP API latency and throughput beside the in-process path, at 1k and 10k memories.

For each size: a fresh data dir is seeded with that many searchable memories (Fast-stage
episodes of 4-turn envelopes, projected once, under app ``bench``); then

- in-process: ``Memstream.add`` (every stage, searchable on return) and ``Memstream.search``;
- through HTTP, a ``memstream serve`` subprocess on 127.0.0.1 and one keep-alive httpx
  client: ``/add/message`` with ``async_mode: false`` (answers once searchable) and with
  ``async_mode: true`` (answers once queued; the drain time until the last is completed is
  measured too), and ``/search/memory``; sequential requests, plus search from 4 client
  threads for requests/s under concurrency.

    python -m bench.bench_http [--sizes 1000,10000] [--adds 100] [--queries 200]

Writes bench/results/http.json. The 100k point runs apart, with more users so that each
holds as many memories as at 10k (search cost grows with the user's own points):

    python -m bench.bench_http --sizes 100000 --users 2000 --name http_100k

Seeding is honest for a search benchmark and fast: it goes through the application service's
Fast stage (``record_input``: the raw input and its episodes, as every input is recorded), not
through the extractor, and the episodes are projected once (timeline, vector and lexical index)
as a worker would. Search reads exactly those stores; what the Fine stage would add is more
memories per user, which the size parameters already set.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

from bench._common import CITIES_EN, CITIES_ZH, THINGS_EN, chat_text, make_envelopes, pct, table, write_result

APP = "bench"
KEY = "bench-key"
QUERIES = ["住在哪里", "喜欢喝什么", "对什么过敏", "在哪里工作", "where does the user live", "what does the user like",
           "allergies", "job", "trip to {e}", "在{c}做什么", "{t} on weekends"]


SEED_TEXTS = 2500
"""Distinct texts of the seeded episodes: embedding is what seeding spends its time on, and
search latency depends on the number of points, not on how many texts are distinct."""


def seed(data_dir: Path, memories: int, users: int) -> dict[str, Any]:
    """``memories`` episodes (4 per envelope) under app ``bench``, projected once; their
    texts are drawn from ``SEED_TEXTS`` distinct chat turns."""
    from application.settings import Settings
    from domain.envelope import InputEnvelope
    from memstream.bootstrap import build_runtime

    t0 = time.perf_counter()
    rng = random.Random(memories)
    pool = texts(min(memories, SEED_TEXTS), rng)
    runtime = build_runtime(Settings(data_dir=data_dir, extractor="rules", kafka_url=""), sync_projections=False)
    try:
        for envelope in make_envelopes(memories // 4, users, seed=5, messages=4, prefix="seed"):
            envelope["user_id"] = f"{APP}/{envelope['user_id']}"
            for message in envelope["messages"]:
                message["content"] = rng.choice(pool)
            runtime.service.record_input(InputEnvelope.model_validate(envelope))
        recorded = time.perf_counter() - t0
        runtime.catch_up()
        indexed = runtime.read_side.index.count()
    finally:
        runtime.close()
    return {"memories": indexed, "record_s": round(recorded, 1), "total_s": round(time.perf_counter() - t0, 1)}


def texts(n: int, rng: random.Random) -> list[str]:
    return [chat_text(rng) + f" ({rng.randint(1, 10**6)})" for _ in range(n)]


def queries(n: int, rng: random.Random) -> list[str]:
    return [rng.choice(QUERIES).format(c=rng.choice(CITIES_ZH), e=rng.choice(CITIES_EN), t=rng.choice(THINGS_EN))
            + f" {rng.randint(1, 10**6)}" for _ in range(n)]


def rate(count: int, seconds: float) -> float:
    return round(count / seconds, 1) if seconds > 0 else 0.0


def in_process(data_dir: Path, users: int, adds: int, n_queries: int, seed_: int) -> dict[str, Any]:
    import memstream

    rng = random.Random(seed_)
    with memstream.open(data_dir, extractor="rules", kafka_url="") as ms:
        ms.search("warm up", user_id=f"{APP}/user-00000")
        add_times = []
        t0 = time.perf_counter()
        for i, text in enumerate(texts(adds, rng)):
            t = time.perf_counter()
            ms.add([{"role": "user", "content": text, "chat_time": "2026-01-01T10:00:00Z"}],
                   user_id=f"{APP}/user-{rng.randrange(users):05d}", event_id=f"inproc-{seed_}-{i}")
            add_times.append(time.perf_counter() - t)
        add_wall = time.perf_counter() - t0
        search_times = []
        t0 = time.perf_counter()
        for q in queries(n_queries, rng):
            t = time.perf_counter()
            ms.search(q, user_id=f"{APP}/user-{rng.randrange(users):05d}", top_k=6)
            search_times.append(time.perf_counter() - t)
        search_wall = time.perf_counter() - t0
    return {"add_ms": pct(add_times), "add_per_s": rate(adds, add_wall),
            "search_ms": pct(search_times), "search_per_s": rate(n_queries, search_wall)}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(data_dir: Path) -> tuple[subprocess.Popen, str, float]:
    port = free_port()
    env = {**os.environ, "MEMSTREAM_API_KEYS": f"{KEY}={APP}", "MEMSTREAM_EXTRACTOR": "rules",
           "MEMSTREAM_KAFKA_URL": ""}
    exe = Path(sys.executable).with_name("memstream")
    t0 = time.perf_counter()
    proc = subprocess.Popen([str(exe), "serve", "--data-dir", str(data_dir), "--port", str(port)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"memstream serve exited: {proc.stderr.read().decode()[-2000:]}")
        try:
            if httpx.get(f"{base}/openapi.json", timeout=2).status_code == 200:
                return proc, base, time.perf_counter() - t0
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    proc.kill()
    raise RuntimeError("memstream serve did not answer within 180 s")


def over_http(base: str, users: int, adds: int, n_queries: int, seed_: int) -> dict[str, Any]:
    rng = random.Random(seed_)
    headers = {"Authorization": f"Token {KEY}"}
    with httpx.Client(base_url=base, headers=headers, timeout=60) as c:
        def add(text: str, async_mode: bool) -> dict[str, Any]:
            r = c.post("/add/message", json={
                "user_id": f"user-{rng.randrange(users):05d}", "async_mode": async_mode,
                "messages": [{"role": "user", "content": text, "chat_time": "2026-01-01T10:00:00Z"}]})
            if r.status_code != 200:
                raise RuntimeError(f"/add/message {r.status_code}: {r.text[:300]}")
            return r.json()["data"]

        def search(q: str, client: httpx.Client = c) -> None:
            r = client.post("/search/memory", json={"user_id": f"user-{rng.randrange(users):05d}", "query": q,
                                                    "memory_limit_number": 6, "include_preference": True})
            if r.status_code != 200:
                raise RuntimeError(f"/search/memory {r.status_code}: {r.text[:300]}")

        search("warm up")
        result: dict[str, Any] = {}
        for mode, async_mode in (("add_sync", False), ("add_async", True)):
            times, last = [], None
            t0 = time.perf_counter()
            for text in texts(adds, rng):
                t = time.perf_counter()
                last = add(text, async_mode)
                times.append(time.perf_counter() - t)
            wall = time.perf_counter() - t0
            result[f"{mode}_ms"] = pct(times)
            result[f"{mode}_per_s"] = rate(adds, wall)
            if async_mode:
                while c.post("/get/status", json={"task_id": last["task_id"]}).json()["data"]["status"] == "running":
                    time.sleep(0.02)
                drained = time.perf_counter() - t0
                result["add_async_drained_s"] = round(drained, 2)
                result["add_async_processed_per_s"] = rate(adds, drained)
        qs = queries(n_queries, rng)
        times = []
        t0 = time.perf_counter()
        for q in qs:
            t = time.perf_counter()
            search(q)
            times.append(time.perf_counter() - t)
        result["search_ms"] = pct(times)
        result["search_per_s"] = rate(n_queries, time.perf_counter() - t0)

    def worker(chunk: list[str]) -> None:
        with httpx.Client(base_url=base, headers=headers, timeout=60) as own:
            for q in chunk:
                search(q, own)

    threads = [threading.Thread(target=worker, args=(qs[i::4],)) for i in range(4)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    result["search_4_clients_per_s"] = rate(len(qs), time.perf_counter() - t0)
    return result


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="1000,10000")
    ap.add_argument("--users", type=int, default=200)
    ap.add_argument("--adds", type=int, default=100)
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--name", default="http")
    args = ap.parse_args(argv)
    started = time.perf_counter()
    runs = []
    base_dir = Path(tempfile.mkdtemp(prefix="bench-http-"))
    try:
        for size in (int(s) for s in args.sizes.split(",")):
            data_dir = base_dir / f"d{size}"
            run: dict[str, Any] = {"size": size, "seed": seed(data_dir, size, args.users)}
            run["in_process"] = in_process(data_dir, args.users, args.adds, args.queries, 100 + size)
            proc, base, startup = start_server(data_dir)
            try:
                run["server_startup_s"] = round(startup, 1)
                run["http"] = over_http(base, args.users, args.adds, args.queries, 200 + size)
            finally:
                proc.terminate()
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()
            runs.append(run)
            print(f"size {size}: done after {time.perf_counter() - started:.0f} s", file=sys.stderr)
    finally:
        shutil.rmtree(base_dir, ignore_errors=True)
    result = {"what": "HTTP API (memstream serve, one keep-alive client, sequential unless noted) beside the "
                      "in-process Memstream path; add = every stage in-process, searchable on return (sync) or "
                      "queued (async)", "args": vars(args), "runs": runs,
              "seconds": round(time.perf_counter() - started, 1)}
    path = write_result(args.name, result)
    rows = []
    for r in runs:
        h, p = r["http"], r["in_process"]
        rows.append([r["seed"]["memories"], f"{p['add_ms']['p50']}/{p['add_ms']['p99']}",
                     f"{h['add_sync_ms']['p50']}/{h['add_sync_ms']['p99']}",
                     f"{h['add_async_ms']['p50']}/{h['add_async_ms']['p99']}", h["add_async_processed_per_s"],
                     f"{p['search_ms']['p50']}/{p['search_ms']['p99']}",
                     f"{h['search_ms']['p50']}/{h['search_ms']['p99']}", p["search_per_s"], h["search_per_s"],
                     h["search_4_clients_per_s"]])
    print(table(rows, ["memories", "add in-proc p50/p99", "add sync HTTP", "add async HTTP", "async done/s",
                       "search in-proc", "search HTTP", "search/s in-proc", "search/s HTTP", "search/s 4 clients"]))
    print(f"wrote {path}")
    return result


if __name__ == "__main__":
    main()
