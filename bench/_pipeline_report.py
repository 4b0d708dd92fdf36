"""Table and plot of the pipeline benchmark (apart, so bench_pipeline.py reads as the
procedure: ingest runs, bulk log, replays, searches)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench._common import table


def plot(result: dict[str, Any], out_dir: Path) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = result["search"]
    fig, ax = plt.subplots(figsize=(7, 4.5))
    n = [r["memories_indexed"] for r in rows]
    for key, label in (("search_ms", "search (CLI path)"), ("dense_ms", "dense index part"),
                       ("lexical_ms", "lexical part")):
        for q, style in (("p50", "-o"), ("p99", "--o")):
            ax.plot(n, [r[key][q] for r in rows], style, label=f"{label} {q}")
    ax.set(xscale="log", xlabel="memories in the index (log)", ylabel="ms",
           title="user-filtered search latency (top-5)")
    ax.legend()
    fig.tight_layout()
    path = out_dir / "pipeline_search_latency.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return [str(path)]


def report(r: dict[str, Any]) -> None:
    rows = [["with vectors" if x["vectors"] else "no vectors", x["envelopes"], x["envelopes_per_s"],
             x["per_envelope_ms"]["p50"], x["per_envelope_ms"]["p99"],
             *(x["stage_ms_per_envelope"].get(k, 0) for k in ("fast_record", "fine_refine", "fine_extractor",
                                                               "projections"))] for x in r.get("ingest", [])]
    if rows:
        print("\ningest (service.ingest, sync projections):")
        print(table(rows, ["mode", "envelopes", "env/s", "p50 ms", "p99 ms", "fast ms", "fine ms",
                           "(extractor ms)", "projections ms"]))
    lg = r["log"]
    if "reused" in lg:
        print(f"\nlog reused from {lg['reused']} (notification head {lg['head']})")
    else:
        print(f"\nlog built: {lg['memory_events']} memory events from {lg['envelopes']} envelopes "
              f"({lg['refined']} refined) at {lg['events_per_s']} events/s")
    rows = [[x["cache"], x["timeline"]["events"], x["vector"]["events"], x["seconds"], x.get("cpu_s", "-"),
             x["events_per_s"]] for x in r["replay"]]
    print("\nreplay (clear + one pass of timeline and vector projections):")
    print(table(rows, ["cache", "events", "vector events", "total s", "cpu s", "events/s"]))
    rows = [[x["memories_indexed"], x["search_ms"]["p50"], x["search_ms"]["p99"], x["embed_ms"]["p50"],
             x["dense_ms"]["p50"], x["dense_ms"]["p99"], x["lexical_ms"].get("p50", "-"),
             x["lexical_ms"].get("p99", "-"), x.get("first_query_ms", "-")] for x in r["search"]]
    print("\nsearch (user-filtered, top-5, CLI path), ms; then its parts timed alone:")
    print(table(rows, ["memories", "p50", "p99", "model p50", "dense p50", "dense p99", "lexical p50",
                       "lexical p99", "first query"]))
    print("\ntargets:", r["targets"], f"\ntotal {r['total_s']} s")
