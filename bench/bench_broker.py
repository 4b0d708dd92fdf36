"""Benchmark the streaming path end to end through a real Kafka-protocol broker.

Why through the broker: the in-process numbers (bench_pipeline) hide what the
deployment adds: the producer, Tansu, Faust's fetch loop, the fast -> fine
hand-off topic, and the worker threads/processes sharing 2 cores. This starts
the bundled Tansu broker on a free loopback port and unchanged `memstream worker`
subprocesses (one, or one per --roles entry) on a fresh data dir, then measures
from the outside (see bench/_broker_parts.py):

1. latency: envelopes published open-loop at --rate for --seconds; per envelope,
   publish -> episode recorded (Fast) and publish -> searchable (vector projection
   position past the episode's notification id), observed every --poll-ms;
2. throughput: --count envelopes published as fast as possible; time until all
   are recorded (Fast), refined (Fine) and projected.

Targets (the issue): p99 < 100 ms at 200 msg/s; >= 1,000 msg/s sustained Fast.

    python -m bench.bench_broker [--rate 200 --seconds 20 --count 10000 --users 1000
                                  --partitions 4 --phase both --roles all --profile
                                  --what-if KEY=VALUE --cpu-hog DUTY --tmp-base /dev/shm]
"""

from __future__ import annotations

import argparse
import asyncio
import re
import shutil
import signal
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from application.settings import Settings
from streams.broker import TansuBroker
from streams.publish import send_all
from streams.topics import ensure_topics, topic_specs_for

from bench._broker_parts import CpuHog, Observer, in_thread, paced_publish, records_of
from bench._profile import summarize_profile, thread_names
from bench._tx_trace import summarize as summarize_trace
from bench._worker import WHAT_IFS, Worker, parse_what_if, thread_cpu
from bench._broker_report import TARGET_FAST_RATE, TARGET_P99_MS, plot, report
from bench._common import RESULTS, cpu_seconds, machine, make_envelopes, pct, write_result

class Session:
    """Broker + worker + observer for one run; every process is stopped by its pid."""

    def __init__(self, args: argparse.Namespace, workdir: Path) -> None:
        self.args, self.workdir = args, workdir
        self.workers: list[Worker] = []
        self.observer: Observer | None = None
        self.hog: CpuHog | None = None
        self.profiles: dict[str, Path] = {}
        self.broker = TansuBroker(log_path=workdir / "tansu.log")

    def start(self) -> None:
        args, workdir = self.args, self.workdir
        self.broker.start()
        self.settings = Settings(data_dir=workdir / "data", partitions=args.partitions, session_timeout=2.0,
                                 extractor="rules", kafka_url=self.broker.bootstrap)
        asyncio.run(ensure_topics(self.broker.bootstrap, topic_specs_for(self.settings)))
        # The bench creates the store's tables itself: worker processes started together on a
        # fresh SQLite file race in eventsourcing's create_table (IntegrityError on
        # "__migration__" tracking); that is reported, not benchmarked.
        self.observer = Observer(self.settings.model_copy(update={"kafka_url": ""}))
        self.started = time.monotonic()
        what_if = parse_what_if(args.what_if)
        self.profiles = {r: workdir / f"profile-{r}.txt" for r in args.roles} if args.profile else {}
        for role in args.roles:
            self.workers.append(Worker(self.settings, workdir / f"worker-{role}.log", role,
                                       self.profiles.get(role), what_if))

    def cpu(self) -> dict[str, float]:
        out = {f"worker:{w.role}": cpu_seconds(w.pid) for w in self.workers}
        out["worker"] = sum(out.values())
        hog = {"hog": cpu_seconds(self.hog.pid)} if self.hog else {}
        return {**out, "broker": cpu_seconds(self.broker.pid), "bench": cpu_seconds(), **hog}

    def threads(self) -> dict[str, float]:
        """CPU seconds per thread of every worker, keyed role:tid (tid = pid: main thread)."""
        return {f"{w.role}:{'main' if tid == w.pid else tid}": c
                for w in self.workers for tid, c in thread_cpu(w.pid).items()}

    def check_worker(self) -> None:
        for w in self.workers:
            if not w.alive():
                tail = (self.workdir / f"worker-{w.role}.log").read_text(errors="replace")[-3000:]
                raise RuntimeError(f"worker {w.role} exited with {w.proc.returncode}:\n{tail}")

    def wait(self, ids: list[str], until: float, poll_s: float, sampler: Any = None,
             publisher: threading.Thread | None = None) -> bool:
        """Poll the store until every id is projected (and the publisher is done) or ``until``."""
        assert self.observer is not None
        while time.monotonic() < until:
            self.observer.poll()
            if sampler is not None:
                sampler()
            done = (self.observer.all_recorded if self.args.wait_for == "recorded" else self.observer.all_projected)
            if (publisher is None or not publisher.is_alive()) and done(ids):
                return True
            self.check_worker()
            time.sleep(poll_s)
        return False

    def warm_up(self) -> float:
        """Wait for a first batch to be searchable (model loaded, group joined: half the
        2 s session timeout on Tansu)."""
        assert self.observer is not None
        envs = make_envelopes(40, 40, seed=1, prefix="warmup")
        self.observer.expect([e["event_id"] for e in envs])
        asyncio.run(send_all(self.broker.bootstrap, self.settings.topic("messages"),
                             [(k, v) for _, k, v in records_of(envs)]))
        if not self.wait([e["event_id"] for e in envs], time.monotonic() + 180, 0.05):
            raise RuntimeError(f"warm-up not projected within 180 s; see the logs in {self.workdir}")
        return time.monotonic() - self.started

    def log_errors(self) -> dict[str, Any]:
        """ERROR lines in the worker logs, by their last line (the exception), most common first."""
        found: dict[str, int] = {}
        for w in self.workers:
            lines = (self.workdir / f"worker-{w.role}.log").read_text(errors="replace").splitlines()
            for i, line in enumerate(lines):
                if "[ERROR]" in line or "[CRITICAL]" in line:
                    tail = next((x for x in lines[i + 1:i + 40] if x and not x.startswith((" ", "Traceback"))),
                                line)
                    key = f"{w.role}: " + re.sub(r"[0-9a-f]{8}-[0-9a-f-]{27}|\d+", "#", tail)[:160]
                    found[key] = found.get(key, 0) + 1
        return dict(sorted(found.items(), key=lambda kv: -kv[1])[:8])

    def close(self) -> None:
        if self.observer is not None:
            self.observer.close()
        if self.hog is not None:
            self.hog.stop()
        for w in self.workers:
            w.stop()
        self.broker.stop()


def busiest(before: dict[str, float], after: dict[str, float], top: int = 8) -> dict[str, float]:
    """CPU seconds per worker thread during a phase, busiest first."""
    spent = sorted(((after[t] - before.get(t, 0.0), t) for t in after), reverse=True)[:top]
    return {t: round(c, 2) for c, t in spent}


def latency_phase(s: Session, args: argparse.Namespace) -> dict[str, Any]:
    envs = make_envelopes(int(args.rate * args.seconds), args.users, seed=args.seed, prefix="lat")
    ids = [e["event_id"] for e in envs]
    s.observer.expect(ids)
    sent, acked = {}, {}
    cpu0, threads0, t0 = s.cpu(), s.threads(), time.monotonic()
    pub = in_thread(paced_publish(s.broker.bootstrap, s.settings.topic("messages"), records_of(envs),
                                  args.rate, sent, acked))
    done = s.wait(ids, t0 + args.seconds + args.drain, args.poll_ms / 1000, publisher=pub)
    wall, cpu1, threads1 = time.monotonic() - t0, s.cpu(), s.threads()
    o = s.observer
    vis = [o.visible_at[i] - sent[i] for i in ids if i in o.visible_at and i in sent]
    fast = [o.fast_at[i] - sent[i] for i in ids if i in o.fast_at and i in sent]
    seconds = [(sent[i] - t0, o.visible_at[i] - sent[i]) for i in ids if i in o.visible_at and i in sent]
    return {
        "envelopes": len(ids), "rate": args.rate, "seconds": args.seconds, "completed": done,
        "achieved_publish_rate": round(len(sent) / max(1e-9, max(sent.values()) - t0), 1) if sent else 0,
        "visible_ms": pct(vis), "fast_ms": pct(fast), "ack_ms": pct([acked[i] - sent[i] for i in acked]),
        "projected_after_last_publish_s": round(max(o.visible_at.get(i, 0) for i in ids) - max(sent.values()), 3)
        if done else None,
        "cpu_s": {k: round(cpu1[k] - cpu0[k], 2) for k in cpu0}, "wall_s": round(wall, 2),
        "worker_threads_cpu_s": busiest(threads0, threads1),
        "poll_ms": args.poll_ms, "polls": o.polls, "projection_cycle": o.projection_cycle(t0),
        "samples_ms": {"visible": [round(v * 1000, 1) for v in vis], "fast": [round(v * 1000, 1) for v in fast],
                       "visible_by_send_time": [(round(a, 3), round(b * 1000, 1)) for a, b in seconds]},
    }


def throughput_phase(s: Session, args: argparse.Namespace) -> dict[str, Any]:
    envs = make_envelopes(args.count, args.users, seed=args.seed + 1, prefix="tput")
    ids = [e["event_id"] for e in envs]
    records = [(k, v) for _, k, v in records_of(envs)]
    s.observer.expect(ids)
    o, curve, published = s.observer, [], {}
    cpu0, threads0, t0 = s.cpu(), s.threads(), time.monotonic()

    async def publish() -> None:
        await send_all(s.broker.bootstrap, s.settings.topic("messages"), records)
        published["s"] = time.monotonic() - t0

    def sample() -> None:
        now = time.monotonic() - t0
        if not curve or now - curve[-1][0] >= 0.25:
            curve.append((round(now, 3), len(o.fast_at.keys() & idset), len(o.refined_at.keys() & idset),
                          len(o.visible_at.keys() & idset)))

    idset = set(ids)
    pub = in_thread(publish())
    done = s.wait(ids, t0 + args.timeout, 0.02, sampler=sample, publisher=pub)
    wall, cpu1, threads1 = time.monotonic() - t0, s.cpu(), s.threads()
    sample()

    def rates(stamps: dict[str, float]) -> dict[str, Any]:
        t = sorted(stamps[i] - t0 for i in ids if i in stamps)
        if len(t) < len(ids):
            return {"done": len(t), "of": len(ids)}
        lo, hi = t[len(t) // 10], t[(9 * len(t)) // 10]
        return {"all_s": round(t[-1], 2), "msg_per_s": round(len(t) / t[-1], 1),
                "steady_msg_per_s_10_90": round(0.8 * len(t) / max(1e-9, hi - lo), 1)}

    proj = rates(o.visible_at)
    if done:
        proj["fine_memories_projected_s"] = round(wall, 2)
        proj["msg_per_s_incl_fine"] = round(len(ids) / wall, 1)
    return {"envelopes": len(ids), "completed": done, "publish_s": published.get("s"),
            "publish_msg_per_s": round(len(ids) / published["s"], 1) if published.get("s") else None,
            "fast": rates(o.fast_at), "fine": rates(o.refined_at), "projected": proj,
            "cpu_s": {k: round(cpu1[k] - cpu0[k], 2) for k in cpu0},
            "worker_cpu_ms_per_msg": round(1000 * (cpu1["worker"] - cpu0["worker"]) / len(ids), 2),
            "worker_threads_cpu_s": busiest(threads0, threads1),
            "wall_s": round(wall, 2), "curve": curve}


def _interrupt(*_: Any) -> None:
    raise KeyboardInterrupt("SIGTERM")


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rate", type=float, default=200.0, help="msg/s of the latency phase")
    ap.add_argument("--seconds", type=float, default=20.0, help="length of the latency phase")
    ap.add_argument("--count", type=int, default=10_000, help="envelopes of the throughput phase")
    ap.add_argument("--users", type=int, default=1_000)
    ap.add_argument("--partitions", type=int, default=4)
    ap.add_argument("--phase", choices=("both", "latency", "throughput"), default="both")
    ap.add_argument("--poll-ms", type=float, default=5.0)
    ap.add_argument("--drain", type=float, default=120.0, help="max seconds to wait after the last publish")
    ap.add_argument("--timeout", type=float, default=600.0, help="max seconds of the throughput phase")
    ap.add_argument("--profile", action="store_true", help="run the worker(s) under py-spy")
    ap.add_argument("--wait-for", choices=("projected", "recorded"), default="projected",
                    help="recorded: a phase ends when the Fast stage has recorded everything "
                         "(for --roles fast: the Fast path's own ceiling)")
    ap.add_argument("--roles", default="all", type=lambda v: v.split(","),
                    help="one worker process per role, e.g. fast,fine,projections (default: all)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--out-dir", type=Path, default=RESULTS)
    ap.add_argument("--name", default="bench_broker", help="result file name (without .json)")
    ap.add_argument("--keep", action="store_true", help="keep the temp dir (logs, store)")
    ap.add_argument("--tmp-base", default=None,
                    help="where the temp data dir goes; /dev/shm shows what free fsyncs would buy")
    ap.add_argument("--cpu-hog", type=float, default=0.0, metavar="DUTY",
                    help="a competing process keeps this share of a core busy during the measured phases "
                         "(0.75: a stand-in for a slower phase of the VM; see bench/_broker_parts.CpuHog)")
    ap.add_argument("--what-if", action="append", default=[], metavar="KEY=VALUE",
                    help=f"run the unchanged worker with a tweak, to measure a suggestion: {', '.join(WHAT_IFS)}")
    args = ap.parse_args(argv)

    workdir = Path(tempfile.mkdtemp(prefix="memstream-bench-broker-", dir=args.tmp_base))
    result: dict[str, Any] = {"benchmark": "broker", "machine": machine(),
                              "args": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()}}
    session = Session(args, workdir)
    # run_all stops a step by its process group; the broker and workers have their own
    # sessions, so turn SIGTERM into an exception and stop them in the finally below.
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        session.start()
        result["worker_ready_s"] = round(session.warm_up(), 2)
        if args.cpu_hog:
            session.hog = CpuHog(args.cpu_hog)  # after the warm-up: only the measured phases compete
        if args.phase in ("both", "latency"):
            result["latency"] = latency_phase(session, args)
        if args.phase in ("both", "throughput"):
            result["throughput"] = throughput_phase(session, args)
        result["memories"] = session.observer.memory_counts()
    finally:
        session.close()
        result["worker_errors"] = session.log_errors()
        if session.profiles:
            result["profile"] = {r: summarize_profile(p) for r, p in session.profiles.items()}
            names = {f"{r}:{tid}": name for r, p in session.profiles.items() for tid, name in thread_names(p).items()}
            for phase in ("latency", "throughput"):
                cpu = result.get(phase, {}).get("worker_threads_cpu_s", {})
                result.get(phase, {})["worker_threads_cpu_s"] = {
                    f"{k} ({names[k]})" if k in names else k: v for k, v in cpu.items()}
        traces = sorted((workdir / "data").glob("tx-*.jsonl"))  # --what-if trace_tx=1
        if traces:
            result["tx_trace"] = {t.stem[3:]: summarize_trace(t) for t in traces}
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            result["workdir"] = str(workdir)
    lat, tp = result.get("latency"), result.get("throughput")
    result["targets"] = {
        "p99_visible_ms_at_200": (lat["visible_ms"].get("p99") if lat else None),
        "p99_under_100ms_met": bool(lat and lat["rate"] >= 200 and lat["completed"]
                                    and lat["visible_ms"]["p99"] < TARGET_P99_MS),
        "fast_msg_per_s": (tp["fast"].get("msg_per_s") if tp else None),
        "fast_1000_per_s_met": bool(tp and tp["fast"].get("msg_per_s", 0) >= TARGET_FAST_RATE),
    }
    args.out_dir.mkdir(parents=True, exist_ok=True)
    prefix = "broker" if args.name == "bench_broker" else args.name
    result["plots"] = plot(result, args.out_dir, prefix) if (lat or tp) else []
    path = write_result(args.name, result, args.out_dir)
    report(result)
    print(f"\nwrote {path}", file=sys.stderr)
    return result


if __name__ == "__main__":
    main()
