"""Tables and plots of the broker benchmark (kept apart so bench_broker.py reads as
the procedure: start, warm up, latency phase, throughput phase)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bench._common import table

TARGET_P99_MS = 100.0  # the issue: p99 publish -> searchable under 100 ms at 200 msg/s
TARGET_FAST_RATE = 1000.0  # the issue: >= 1,000 msg/s sustained on the Fast path


def plot(result: dict[str, Any], out_dir: Path, prefix: str = "broker") -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    paths = []
    lat = result.get("latency")
    if lat and lat["samples_ms"]["visible"]:
        fig, (a, b, c) = plt.subplots(1, 3, figsize=(16, 4.5))
        for key, label in (("fast", "recorded (Fast)"), ("visible", "searchable (projected)")):
            v = np.sort(lat["samples_ms"][key])
            a.hist(v, bins=60, alpha=0.6, label=label)
            b.plot(v, np.arange(1, v.size + 1) / v.size, label=label)
        a.set(xlabel="ms after publish", ylabel="envelopes", title=f"latency at {lat['rate']:.0f} msg/s")
        b.axvline(TARGET_P99_MS, color="red", ls="--", label="target p99 100 ms")
        b.set(xscale="log", xlabel="ms after publish (log)", ylabel="fraction", title="CDF")
        pts = np.array(lat["samples_ms"]["visible_by_send_time"])
        c.scatter(pts[:, 0], pts[:, 1], s=2)
        c.set(xlabel="publish time (s into phase)", ylabel="ms to searchable", title="latency over time")
        a.legend(), b.legend()
        fig.tight_layout()
        fig.savefig(out_dir / f"{prefix}_latency.png", dpi=110)
        paths.append(str(out_dir / f"{prefix}_latency.png"))
    tp = result.get("throughput")
    if tp and tp["curve"]:
        fig, ax = plt.subplots(figsize=(8, 4.5))
        curve = np.array(tp["curve"])
        for col, label in ((1, "recorded (Fast)"), (2, "refined (Fine)"), (3, "episode searchable")):
            ax.plot(curve[:, 0], curve[:, col], label=label)
        ax.set(xlabel="seconds", ylabel="envelopes", title=f"{tp['envelopes']} envelopes published at once")
        ax.legend()
        fig.tight_layout()
        fig.savefig(out_dir / f"{prefix}_throughput.png", dpi=110)
        paths.append(str(out_dir / f"{prefix}_throughput.png"))
    plt.close("all")
    return paths


def report(r: dict[str, Any]) -> None:
    if "latency" in r:
        lat = r["latency"]
        rows = [[name, *(lat[k].get(c, "-") for c in ("n", "p50", "p90", "p99", "max"))]
                for name, k in (("publish->recorded (Fast)", "fast_ms"), ("publish->searchable", "visible_ms"),
                                ("producer ack", "ack_ms"))]
        print(f"\nlatency at {lat['rate']} msg/s for {lat['seconds']} s ({lat['envelopes']} envelopes, "
              f"completed={lat['completed']}), ms:")
        print(table(rows, ["path", "n", "p50", "p90", "p99", "max"]))
    if "throughput" in r:
        tp = r["throughput"]
        rows = [[k, tp[k].get("all_s", "-"), tp[k].get("msg_per_s", "-"), tp[k].get("steady_msg_per_s_10_90", "-")]
                for k in ("fast", "fine", "projected")]
        print(f"\nthroughput: {tp['envelopes']} envelopes, published in {tp['publish_s']} s "
              f"({tp['publish_msg_per_s']} msg/s), worker CPU {tp['worker_cpu_ms_per_msg']} ms/msg:")
        print(table(rows, ["stage", "all done s", "msg/s", "steady msg/s (10-90%)"]))
    print("\ntargets:", json.dumps(r["targets"]))
    if r.get("worker_errors"):
        print("worker log errors:", json.dumps(r["worker_errors"], ensure_ascii=False, indent=1))
    if r.get("profile"):
        for role, prof in r["profile"].items():
            for lane, data in prof.get("lanes", {}).items():
                print(f"\nprofile of worker {role}, thread {lane} ({data['samples']} samples), % of its samples:")
                for key in ("stages_pct", "operations_pct"):
                    print(f"  {key}: {json.dumps(data[key], ensure_ascii=False)}")
    for role, threads in r.get("tx_trace", {}).items():
        print(f"\nwrite transactions of worker {role}, the whole run (ms):")
        for thread, data in threads.items():
            print(f"  {thread}:")
            for key, stats in data.items():
                print(f"    {key}: {json.dumps(stats)}")
