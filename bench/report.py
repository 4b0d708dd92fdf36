"""``bench/results/REPORT.md`` and its plots, from whatever result JSONs exist.

Why separate from ``run_all``: the report can be rebuilt from saved results
(``python -m bench.run_all --report-only``) and each section is skipped when its
benchmark did not run, so a missing or failed step never breaks the report.
"""

from __future__ import annotations

import json
import os
import platform
from importlib import metadata
from pathlib import Path
from typing import Any

PACKAGES = ("eventsourcing", "fastembed", "onnxruntime", "qdrant-edge-py", "qdrant-client", "numpy",
            "rank-bm25", "faust-streaming", "aiokafka", "matplotlib")
CATS = ["overall", "multi-hop", "temporal", "open-domain", "single-hop"]


def machine_facts() -> dict[str, Any]:
    model = ""
    try:
        model = next((ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines()
                      if ln.startswith("model name")), "")
    except OSError:
        pass
    versions = {}
    for dist in PACKAGES:
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            versions[dist] = None
    return {"cpus": os.cpu_count(), "cpus_usable": len(os.sched_getaffinity(0)), "cpu_model": model,
            "python": platform.python_version(), "platform": platform.platform(),
            "loadavg": [round(x, 2) for x in os.getloadavg()], "versions": versions}


def _load(results: Path, name: str) -> dict[str, Any] | None:
    path = results / name
    try:
        return json.loads(path.read_text()) if path.exists() else None
    except json.JSONDecodeError:
        return None


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_locomo(loc: dict[str, Any], out: Path) -> list[str]:
    import numpy as np

    plt = _plt()
    res = loc["labels"]["audited"]
    systems = [*loc["baselines"], loc["final"]]
    colors = {"bm25-raw": "#999999", "dense-raw": "#6baed6", loc["final"]: "#d95f02", "DRAGON": "#1b9e77"}
    fig, (a, b) = plt.subplots(1, 2, figsize=(13, 4.5))
    ks = ["R@5", "R@10", "R@25"]
    x = np.arange(len(ks))
    bars = systems + ["DRAGON"]
    for i, name in enumerate(bars):
        vals = [loc["dragon"][k] for k in ks] if name == "DRAGON" else [res[name]["overall"][k] for k in ks]
        a.bar(x + (i - 1.5) * 0.2, vals, 0.2, label=name + (" (paper)" if name == "DRAGON" else ""),
              color=colors.get(name))
    a.set(xticks=x, xticklabels=ks, ylabel="evidence turns retrieved (%)", ylim=(0, 100),
          title="LoCoMo recall@k, all non-adversarial questions")
    a.legend(fontsize=8)
    x = np.arange(len(CATS) - 1)
    for i, name in enumerate(systems):
        b.bar(x + (i - 1) * 0.27, [res[name][c]["R@10"] for c in CATS[1:]], 0.27, label=name, color=colors.get(name))
    b.set(xticks=x, xticklabels=CATS[1:], ylabel="R@10 (%)", ylim=(0, 100), title="R@10 per question category")
    b.legend(fontsize=8)
    fig.tight_layout()
    paths = [out / "locomo_recall.png"]
    fig.savefig(paths[-1], dpi=110)
    plt.close(fig)

    fig, (a, b) = plt.subplots(1, 2, figsize=(13, 4.5))
    for name in systems:
        o = res[name]["overall"]
        a.plot([o[f"tokens@{k}"] for k in (5, 10, 25)], [o[f"R@{k}"] for k in (5, 10, 25)], "-o",
               label=name, color=colors.get(name))
    a.set(xlabel="words of retrieved context per question (k = 5, 10, 25)", ylabel="recall (%)",
          title=f"recall vs context size (whole history: {loc['history_tokens']:.0f} words)")
    a.legend(fontsize=8)
    ms = np.clip(np.asarray(loc.get("search_ms") or [0.01]), 0.01, None)
    b.hist(ms, bins=np.logspace(np.log10(ms.min()), np.log10(ms.max()) + 1e-9, 60), color="#d95f02")
    b.set(xscale="log", xlabel="ms per query, log scale (embed + dense + BM25 + fusion, top-25)\n"
          "the slow few: first query of a user loads its lexical corpus", ylabel="queries",
          title=f"memstream search latency: p50 {np.percentile(ms, 50):.1f} ms, p99 {np.percentile(ms, 99):.1f} ms")
    fig.tight_layout()
    paths.append(out / "locomo_tokens_latency.png")
    fig.savefig(paths[-1], dpi=110)
    plt.close(fig)
    return [p.name for p in paths]


def plot_other(results: Path) -> list[str]:
    plt = _plt()
    vec, emb = _load(results, "vector_index.json"), _load(results, "embedding.json")
    if not (vec or emb):
        return []
    fig, axes = plt.subplots(1, 2, figsize=(13, 4.2))
    if vec:
        rows = vec["results"]
        labels = [f"{r['adapter']}\n{r['points']:,} pts" for r in rows]
        for j, (q, off) in enumerate((("p50_ms", -0.2), ("p99_ms", 0.2))):
            axes[0].bar([i + off for i in range(len(rows))], [r["user_filter"][q] for r in rows], 0.4, label=q)
        axes[0].set(xticks=range(len(rows)), xticklabels=labels, yscale="log", ylabel="ms (log)",
                    title="vector index: user-filtered top-10 latency")
        axes[0].legend()
    if emb:
        rows = emb["rows"]
        names = [f"{r['threads']} thr {k}" for r in rows for k in ("model", "cache cold", "cache warm")]
        vals = [r[f] for r in rows for f in ("model_texts_per_s", "cache_cold_texts_per_s", "cache_warm_texts_per_s")]
        axes[1].barh(names, vals, color="#6baed6")
        axes[1].set(xscale="log", xlabel="texts/s (log)", title=f"embedding throughput ({emb['texts']} texts)")
    fig.tight_layout()
    path = results / "index_embedding.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return [path.name]


def write_ablation_section(results: Path, loc: dict[str, Any]) -> list[str]:
    """Rows of the last ``--full`` run, when the current locomo.json does not have them."""
    saved = _load(results, "locomo_write_ablation.json")
    if not saved or any(r["setup"].startswith(("turn", "session envelopes, roles")) for r in loc["ablation"]):
        return []
    lines = [f"Write-side ablation (from the last `--full` run, {saved['created']}; audited labels):", "",
             "| setup | search | R@5 | R@10 | R@25 | tokens@10 |", "|---|---|---|---|---|---|"]
    main_setup = saved["rows"][0]["setup"] if saved["rows"] else ""
    for r in saved["rows"]:
        if r["setup"] == main_setup and r["name"] != loc["final"]:
            continue  # the read-side rows are in the table above, from this run
        o = r["audited"]
        lines.append(f"| {r['setup']} | {r['name']} | {o['R@5']} | {o['R@10']} | {o['R@25']} | {o['tokens@10']} |")
    return lines + [""]


def locomo_section(loc: dict[str, Any]) -> list[str]:
    from bench.locomo.evaluate import ablation_table, table

    t = loc["timing"]
    lines = [
        "## LoCoMo retrieval (all 10 conversations)", "",
        f"{loc['conversations']} conversations, {loc['turns']} turns, {loc['questions']} non-adversarial questions "
        f"(category 5 excluded; questions without evidence skipped). Ingested through the normal pipeline "
        f"(one envelope per session, both speakers role `user`, `name` = speaker, `message_id` = dia_id) at "
        f"{t.get('ingest_messages_per_s')} messages/s; {loc['dropped_evidence_ids']} malformed/unknown evidence ids "
        f"dropped, {loc['audit_corrected_questions']} questions with audit-corrected evidence.", "",
        "**Recall@k** = per question, evidence turns among the `sources[].message_id` of the top-k results "
        "divided by evidence turns, averaged (in %); DRAGON = the paper's Table 3 over raw turns. "
        "**tokens** = whitespace words of the top-k results' `content` "
        f"(the whole history is {loc['history_tokens']:.0f} words per question on average). "
        "Baselines over raw turns (`Speaker: text [image caption]`): BM25 (rank_bm25, stop words + "
        "Snowball stems) and dense with the same USE-multilingual model, brute-force cosine.", "",
        "Audited labels (corrections of the public audit applied):", "", table(loc, "audited"), "",
        "Raw dataset labels:", "", table(loc, "raw"), "",
        "### Ablation (audited labels, memstream search through the pipeline)", "", ablation_table(loc), "",
        f"Search latency (final config, top-25): p50 {t['search_p50_ms']} ms, p99 {t['search_p99_ms']} ms. "
        f"Evaluation wall time {t['total_s']} s. Memories after ingest: {loc['memories']}.", "",
        "![recall](locomo_recall.png)", "", "![tokens and latency](locomo_tokens_latency.png)", "",
    ]
    return lines


def summary_rows(results: Path, run: dict[str, Any]) -> list[str]:
    """One line per benchmark with its headline numbers (also printed by run_all)."""
    rows = ["| step | status | seconds | headline |", "|---|---|---|---|"]
    for step in run.get("steps", []):
        head = ""
        data = _load(results, step["result_file"]) if step.get("fresh_result") else None
        if data and step["name"] == "locomo":
            f = data["labels"]["audited"]
            m, b, d = f[data["final"]]["overall"], f["bm25-raw"]["overall"], f["dense-raw"]["overall"]
            head = (f"R@5/10/25 memstream {m['R@5']}/{m['R@10']}/{m['R@25']}, BM25 {b['R@5']}/{b['R@10']}/"
                    f"{b['R@25']}, dense {d['R@5']}/{d['R@10']}/{d['R@25']}, DRAGON 56.7/66.2/76.7")
        elif data and step["name"] == "bench_embedding":
            r = data["rows"][-1]
            head = f"{r['model_texts_per_s']:.0f} texts/s ({r['threads']} threads), warm cache {r['cache_warm_texts_per_s']:.0f}/s"
        elif data and step["name"] == "bench_vector_index":
            r = data["results"][0]
            head = f"edge {r['points']:,} pts: p50 {r['user_filter']['p50_ms']} ms, p99 {r['user_filter']['p99_ms']} ms"
        elif data and isinstance(data.get("targets"), dict):
            head = ", ".join(f"{k}={v}" for k, v in data["targets"].items())
            head += " (run_all's sizes; targets are defined for the full sizes)" if not run.get("full") else ""
        rows.append(f"| {step['name']} | {step.get('status')} | {step.get('seconds', '')} | {head} |")
    return rows


def write_report(results: Path, run: dict[str, Any]) -> Path:
    m = run["machine"]
    lines = ["# memstream benchmarks", "",
             f"Generated by `python -m bench.run_all{' --quick' if run.get('quick') else ''}` "
             f"(started {run['started']}, {run['total_s']:.0f} s so far at report time).", "",
             f"Machine: {m['cpus']} CPUs ({m['cpus_usable']} usable, {m['cpu_model']}), Python {m['python']}, "
             f"{m['platform']}, load average {m['loadavg']} (shared machine: timings vary). Packages: "
             + ", ".join(f"{k} {v}" for k, v in m["versions"].items() if v) + ".", "",
             *summary_rows(results, run), ""]
    loc = _load(results, "locomo.json")
    if loc:
        plot_locomo(loc, results)
        lines += locomo_section(loc) + write_ablation_section(results, loc)
    other = plot_other(results)
    if other:
        lines += ["## Embedding and vector index", "", *(f"![{p}]({p})" for p in other), ""]
    extra = sorted(p.name for p in results.glob("*.png") if not p.name.startswith(("locomo_", "index_embedding")))
    if extra:
        lines += ["## Pipeline and broker plots", "", *(f"![{p}]({p})" for p in extra), ""]
    failed = [s for s in run.get("steps", []) if s.get("status") != "ok"]
    for s in failed:
        lines += [f"### {s['name']}: {s.get('status')}", "", "```", (s.get("tail") or s.get("reason") or "")[-800:],
                  "```", ""]
    path = results / "REPORT.md"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
