"""Soak: a long stream through the three-process layout, watching memory, disk and backlog.

Why: a 50,000-envelope soak once took the projections worker from 564 to 1,005 MB RSS and
made 1.5 GB on disk from 14.5 MB of input. This runs the shipped `memstream worker`
processes (roles fast, fine, projections; bench/_worker.py) against the bundled Tansu
broker, publishes --envelopes envelopes at --rate (open loop), and every --sample-s
seconds records, per process, RSS; the data dir's bytes on disk; and the backlog
(published but not yet refined, refined but not yet searchable). It ends when every
envelope is refined and projected (or at --timeout) and reports whether RSS levelled off:
the growth of each process's RSS over the last half of the run, per 10,000 envelopes.

    python -m bench.bench_soak [--envelopes 50000 --rate 200 --users 2000 --sample-s 5]
    python -m bench.bench_soak --envelopes 3000 --rate 300      # a quick run

Writes bench/results/soak.json (soak_quick.json below 50,000 envelopes). Timings on the
shared 2-core VM are noisy; RSS and bytes are not.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from application.settings import Settings
from streams.broker import TansuBroker
from streams.topics import ensure_topics, topic_specs_for

from bench._broker_parts import Observer, in_thread, paced_publish, records_of
from bench._common import machine, make_envelopes, write_result
from bench._worker import Worker

ROLES = ("fast", "fine", "projections")


def rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


def disk_bytes(path: Path) -> int:
    """Bytes allocated on disk (sparse files count what they use, not their length)."""
    total = 0
    for root, _, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(root, name)).st_blocks * 512
            except OSError:
                pass
    return total


def levelling(samples: list[dict[str, Any]], role: str) -> dict[str, Any]:
    """RSS growth over the second half of the run, per 10,000 refined envelopes."""
    points = [(s["refined"], s["rss_mb"][role]) for s in samples if s["rss_mb"].get(role) is not None]
    if len(points) < 4:
        return {"samples": len(points)}
    half = points[len(points) // 2:]
    (n0, r0), (n1, r1) = half[0], half[-1]
    per_10k = (r1 - r0) / max(1, n1 - n0) * 10_000
    return {"rss_mb_start": points[0][1], "rss_mb_mid": r0, "rss_mb_end": r1, "rss_mb_max": max(r for _, r in points),
            "growth_mb_per_10k_second_half": round(per_10k, 1)}


def run(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    broker = TansuBroker(log_path=workdir / "tansu.log").start()
    settings = Settings(data_dir=workdir / "data", partitions=args.partitions, session_timeout=2.0,
                        extractor="rules", kafka_url=broker.bootstrap)
    workers: list[Worker] = []
    observer = None
    try:
        asyncio.run(ensure_topics(broker.bootstrap, topic_specs_for(settings)))
        observer = Observer(settings.model_copy(update={"kafka_url": ""}))  # creates the tables first
        workers = [Worker(settings, workdir / f"worker-{role}.log", role) for role in ROLES]
        envelopes = make_envelopes(args.envelopes, args.users, seed=11, prefix="soak")
        records = records_of(envelopes)
        input_bytes = sum(len(v) for _, _, v in records)
        ids = [e["event_id"] for e in envelopes]
        observer.expect(ids)
        sent: dict[str, float] = {}
        acked: dict[str, float] = {}
        started = time.monotonic()
        publisher = in_thread(paced_publish(broker.bootstrap, settings.topic("messages"), records, args.rate,
                                            sent, acked))
        samples: list[dict[str, Any]] = []
        next_sample = started
        done = False
        while time.monotonic() - started < args.timeout:
            observer.poll()
            now = time.monotonic()
            dead = [w.role for w in workers if not w.alive()]
            if dead:
                raise RuntimeError(f"worker(s) {dead} exited; logs in {workdir}")
            done = not publisher.is_alive() and observer.all_projected(ids)
            if now >= next_sample or done:
                refined = len(observer.refined_at)
                samples.append({
                    "t_s": round(now - started, 1), "published": len(acked), "recorded": len(observer.fast_at),
                    "refined": refined, "searchable": len(observer.visible_at),
                    "backlog_unrefined": len(acked) - refined,
                    "backlog_unsearchable": len(observer.fast_at) - len(observer.visible_at),
                    "rss_mb": {w.role: rss_mb(w.pid) for w in workers} | {"broker": rss_mb(broker.pid or 0)},
                    "disk_bytes": disk_bytes(settings.data_dir),
                })
                print(f"{samples[-1]['t_s']:7.1f}s published {len(acked)} refined {refined} searchable "
                      f"{len(observer.visible_at)} rss {samples[-1]['rss_mb']} disk "
                      f"{samples[-1]['disk_bytes'] / 1e6:.0f} MB", file=sys.stderr, flush=True)
                next_sample = now + args.sample_s
            if done:
                break
            time.sleep(0.2)
        final_disk = disk_bytes(settings.data_dir)
        files = {p.name: disk_bytes(p) if p.is_dir() else p.stat().st_blocks * 512
                 for p in sorted(settings.data_dir.iterdir())}
        return {
            "envelopes": args.envelopes, "users": args.users, "rate": args.rate, "partitions": args.partitions,
            "completed": done, "seconds": round(time.monotonic() - started, 1),
            "input_bytes": input_bytes, "disk_bytes": final_disk,
            "disk_bytes_per_input_byte": round(final_disk / max(1, input_bytes), 1),
            "disk_bytes_by_file": files,
            "levelling": {role: levelling(samples, role) for role in (*ROLES, "broker")},
            "samples": samples, "machine": machine(),
            "note": "2 shared cores: seconds and backlog are noisy; RSS and bytes are not",
        }
    finally:
        if observer is not None:
            observer.close()
        for w in workers:
            w.stop()
        broker.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--envelopes", type=int, default=50_000)
    parser.add_argument("--rate", type=float, default=200.0, help="envelopes per second, open loop")
    parser.add_argument("--users", type=int, default=2000)
    parser.add_argument("--partitions", type=int, default=4)
    parser.add_argument("--sample-s", type=float, default=5.0)
    parser.add_argument("--timeout", type=float, default=4 * 3600.0)
    parser.add_argument("--tmp-base", default=None, help="where the data dir goes (default: the system tmp)")
    parser.add_argument("--keep", action="store_true", help="keep the data dir and logs")
    args = parser.parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="soak-", dir=args.tmp_base))
    try:
        result = run(args, workdir)
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    name = "soak" if args.envelopes >= 50_000 else "soak_quick"
    path = write_result(name, result)
    summary = {k: result[k] for k in ("envelopes", "completed", "seconds", "disk_bytes_per_input_byte")}
    print(f"{summary} levelling {result['levelling']} -> {path}")
    return 0 if result["completed"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
