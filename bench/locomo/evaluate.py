"""LoCoMo retrieval evaluation: recall@k of evidence turns, memstream vs raw-turn baselines.

Why: it is the one public, labelled test of "does the memory find what the answer
needs" we can run offline. Every conversation goes through the normal pipeline
(``build_runtime`` on a fresh temp data dir, ``service.ingest`` per envelope: Fast
stage, Fine stage, projections), then each non-adversarial question (category != 5)
is searched in that user's memories.

Definitions (stated in the report too):

* recall of a question at k = |evidence turns among the ``sources`` message_ids of
  the top-k results| / |evidence turns|; R@k = its mean over questions (in %);
  questions whose evidence is empty after normalisation are skipped. This is the
  paper's "fraction of evidence turns retrieved" (DRAGON figures beside ours).
* tokens = whitespace-separated words of the retrieved results' ``content`` (for
  the baselines: of the retrieved turns' text incl. image captions); the raw
  history is all turns of the conversation, counted the same way.
* baselines, computed in the same run over raw turns ("Speaker: text [caption]"):
  BM25 (rank_bm25's BM25Okapi over ``projections.lexical_index.tokenize``: lower
  case, English stop words dropped, Snowball stems, CJK bigrams) and dense with the
  same embedding model as memstream (brute-force numpy cosine per conversation).
* "labels": ``raw`` = the dataset's evidence (normalised), ``audited`` = with the
  public audit's corrected evidence applied where it gives one.
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any, Callable

import numpy as np

from bench.locomo.convert import CATEGORIES, Conversation, Question, load
from bench.locomo.pipeline import FINAL, Pipeline, ReadConfig, WriteConfig

KS = (5, 10, 25)
DRAGON = {"R@5": 56.7, "R@10": 66.2, "R@25": 76.7}  # paper Table 3, raw dialog turns
LABELS = ("raw", "audited")


def words(text: str) -> int:
    return len(text.split())


def evidence_of(q: Question, labels: str) -> list[str]:
    return q.corrected if labels == "audited" else q.evidence


def questions_of(conv: Conversation) -> list[Question]:
    return [q for q in conv.questions if q.category != 5 and (q.evidence or q.corrected)]


def record(q: Question, ranked_sources: list[set[str]], ranked_tokens: list[int]) -> dict[str, Any]:
    """Per-question recall (both label sets) and context tokens at each k."""
    rec: dict[str, Any] = {"qid": q.qid, "category": q.category}
    for labels in LABELS:
        ev = set(evidence_of(q, labels))
        for k in KS:
            got = set().union(*ranked_sources[:k]) if ranked_sources else set()
            rec[f"{labels}_R@{k}"] = len(got & ev) / len(ev) if ev else None
    for k in KS:
        rec[f"tokens@{k}"] = sum(ranked_tokens[:k])
    return rec


def summarise(records: list[dict[str, Any]], labels: str = "audited") -> dict[str, Any]:
    """R@k (in %) overall and per category, plus mean tokens at each k."""
    def block(rows: list[dict[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {"n": len(rows)}
        for k in KS:
            vals = [r[f"{labels}_R@{k}"] for r in rows if r[f"{labels}_R@{k}"] is not None]
            out[f"R@{k}"] = round(100 * float(np.mean(vals)), 1) if vals else None
            out[f"tokens@{k}"] = round(float(np.mean([r[f"tokens@{k}"] for r in rows])), 1) if rows else None
        return out

    result = {"overall": block(records)}
    for cat in (1, 2, 3, 4):
        result[CATEGORIES[cat]] = block([r for r in records if r["category"] == cat])
    return result


# -- baselines over raw turns ---------------------------------------------------------

def raw_docs(conv: Conversation) -> tuple[list[str], list[str], list[int]]:
    ids = list(conv.turns)
    texts = [f"{conv.turns[i]['speaker']}: {conv.turns[i]['text']}" for i in ids]
    return ids, texts, [words(conv.turns[i]["text"]) for i in ids]


def run_baselines(conversations: list[Conversation], embedder: Any) -> dict[str, list[dict[str, Any]]]:
    from rank_bm25 import BM25Okapi

    from projections.lexical_index import tokenize

    out: dict[str, list[dict[str, Any]]] = {"bm25-raw": [], "dense-raw": []}
    for conv in conversations:
        ids, texts, tokens = raw_docs(conv)
        bm25 = BM25Okapi([tokenize(t) or ["_"] for t in texts])
        vectors = np.asarray(embedder.embed(texts), dtype=np.float32)
        qs = questions_of(conv)
        qvecs = np.asarray(embedder.embed([q.question for q in qs]), dtype=np.float32) if qs else []
        for q, qv in zip(qs, qvecs):
            for name, scores in (("bm25-raw", bm25.get_scores(tokenize(q.question))),
                                 ("dense-raw", vectors @ qv)):
                order = np.argsort(-np.asarray(scores), kind="stable")[: max(KS)]
                out[name].append(record(q, [{ids[i]} for i in order], [tokens[i] for i in order]))
    return out


# -- memstream ------------------------------------------------------------------------

def evaluate_memstream(conversations: list[Conversation], embedder: Any, write: WriteConfig,
                       reads: list[ReadConfig], log: Callable[[str], None] = print) -> dict[str, Any]:
    """Ingest once per write config; evaluate every read config on the same event log."""
    records: dict[str, list[dict[str, Any]]] = {r.name: [] for r in reads}
    timing: dict[str, Any] = {"ingest_s": 0.0, "messages": 0, "search_s": {r.name: 0.0 for r in reads},
                              "search_ms": {r.name: [] for r in reads}, "reproject_s": 0.0}
    memory_counts: dict[str, int] = {}
    with tempfile.TemporaryDirectory(prefix="locomo-eval-") as tmp:
        pipe = Pipeline(Path(tmp), embedder, write)
        try:
            for conv in conversations:
                timing["ingest_s"] += pipe.ingest(conv)
                timing["messages"] += len(conv.turns)
                for view in pipe.runtime.timeline.memories(conv.sample_id):
                    memory_counts[view["kind"]] = memory_counts.get(view["kind"], 0) + 1
                log(f"  ingested {conv.sample_id}: {len(conv.turns)} turns in {len(conv.envelopes)} envelopes")
            for cfg in sorted(reads, key=lambda r: (r.embed_context, r.own_weight) != (FINAL.embed_context, FINAL.own_weight)):
                timing["reproject_s"] += pipe.reproject(cfg)
                search = pipe.searcher(cfg)
                for conv in conversations:
                    for q in questions_of(conv):
                        t0 = time.perf_counter()
                        results = search(conv.sample_id, q.question, max(KS))  # top-5/10 are its prefixes
                        dt = time.perf_counter() - t0
                        timing["search_s"][cfg.name] += dt
                        timing["search_ms"][cfg.name].append(round(dt * 1000, 3))
                        records[cfg.name].append(record(
                            q, [{s.get("message_id") for s in r.get("sources") or []} for r in results],
                            [words(r.get("content") or "") for r in results]))
        finally:
            pipe.close()
    timing["ingest_messages_per_s"] = round(timing["messages"] / timing["ingest_s"], 1) if timing["ingest_s"] else None
    return {"write": asdict(write), "reads": [asdict(r) for r in reads], "records": records,
            "timing": timing, "memories": memory_counts}


def history_tokens(conversations: list[Conversation]) -> float:
    """Mean, over evaluated questions, of the words in that question's whole conversation."""
    sizes = [sum(words(t["text"]) for t in c.turns.values()) for c in conversations for _ in questions_of(c)]
    return round(float(np.mean(sizes)), 1) if sizes else 0.0


def open_embedder(cache: Path | None = None) -> Any:
    from application.settings import Settings
    from projections.embedding.embedder import build_embedder

    s = Settings()
    return build_embedder(s.embedding_model, model_dir=s.model_dir, cache_path=cache, threads=s.embedding_threads)


def load_conversations(granularity: str, roles: str, limit: int | None, turns: int | None
                       ) -> list[Conversation]:
    conversations = load(granularity=granularity, roles=roles, limit=limit)
    return [truncate(c, turns) for c in conversations] if turns else conversations


def truncate(conv: Conversation, turns: int) -> Conversation:
    """The first ``turns`` turns and the questions whose evidence lies inside them (smoke tests)."""
    keep = list(conv.turns)[:turns]
    kept = set(keep)
    envelopes = []
    for env in conv.envelopes:
        messages = [m for m in env.messages if m.message_id in kept]
        if messages:
            envelopes.append(env.model_copy(update={"messages": messages}))
    questions = [q for q in conv.questions if q.evidence and set(q.evidence) <= kept and set(q.corrected) <= kept]
    return Conversation(conv.sample_id, conv.speakers, envelopes, {i: conv.turns[i] for i in keep}, questions)


OFF = {"speaker_prior": 1.0, "time_prior": 1.0}
READ_ABLATION = [
    ReadConfig("dense, speaker prefix (before)", embed_context=0, hybrid=False, **OFF),
    ReadConfig("+ window context embedded", hybrid=False, **OFF),
    ReadConfig("+ hybrid BM25", own_weight=1, **OFF),
    ReadConfig("+ own-text weight 2", **OFF),
    ReadConfig("+ speaker prior", time_prior=1.0),
    FINAL,  # + time prior
    ReadConfig("dense + both priors (no BM25)", hybrid=False),
]
WRITE_ABLATION = [
    (WriteConfig(window=0), [ReadConfig("no window, dense (original pipeline)", embed_context=0, hybrid=False,
                                        **OFF), ReadConfig("no window, final search")]),
    (WriteConfig(granularity="turn"), [ReadConfig("one envelope per turn, final search")]),
    (WriteConfig(roles="ab"), [ReadConfig("speaker_b as assistant, final search")]),
]


def run(limit: int | None = None, turns: int | None = None, write_ablation: bool = False,
        read_ablation: bool = True, log: Callable[[str], None] = print) -> dict[str, Any]:
    """The whole evaluation; returns the JSON-ready result (no per-question records)."""
    t_start = time.perf_counter()
    conversations = load_conversations("session", "user", limit, turns)
    with tempfile.TemporaryDirectory(prefix="locomo-emb-") as tmp:
        embedder = open_embedder(Path(tmp) / "embedding-cache.sqlite")
        try:
            t0 = time.perf_counter()
            records = run_baselines(conversations, embedder)
            baseline_s = time.perf_counter() - t0
            log(f"baselines over raw turns: {baseline_s:.1f}s")
            reads = READ_ABLATION if read_ablation else [FINAL]
            main_run = evaluate_memstream(conversations, embedder, WriteConfig(), reads, log)
            records.update(main_run["records"])
            ablation = [("session envelopes, window 2", cfg.name) for cfg in reads]
            if write_ablation:
                for write, extra in WRITE_ABLATION:
                    convs = load_conversations(write.granularity, write.roles, limit, turns)
                    log(f"write ablation {asdict(write)}")
                    out = evaluate_memstream(convs, embedder, write, extra, log)
                    records.update(out["records"])
                    ablation += [(f"{write.granularity} envelopes, roles {write.roles}, window {write.window}",
                                  cfg.name) for cfg in extra]
        finally:
            embedder.close()
    labels = {lab: {name: summarise(recs, lab) for name, recs in records.items()} for lab in LABELS}
    ms = np.asarray(main_run["timing"]["search_ms"][FINAL.name])
    timing = {k: v for k, v in main_run["timing"].items() if k != "search_ms"}
    timing.update(baselines_s=round(baseline_s, 2), total_s=round(time.perf_counter() - t_start, 1),
                  search_p50_ms=round(float(np.percentile(ms, 50)), 2),
                  search_p99_ms=round(float(np.percentile(ms, 99)), 2))
    return {
        "benchmark": "locomo",
        "conversations": len(conversations), "turns": sum(len(c.turns) for c in conversations),
        "questions": len(records[FINAL.name]), "history_tokens": history_tokens(conversations),
        "dropped_evidence_ids": sum(c.dropped_evidence for c in conversations),
        "audit_corrected_questions": sum(q.corrected != q.evidence for c in conversations for q in questions_of(c)),
        "dragon": DRAGON, "final": FINAL.name, "baselines": ["bm25-raw", "dense-raw"],
        "labels": labels, "ablation": [{"setup": w, "name": r} for w, r in ablation],
        "timing": timing, "search_ms": ms.tolist(), "memories": main_run["memories"],
        "definitions": {
            "recall": "per question: evidence turns among the sources' message_ids of the top-k results "
                      "/ evidence turns; averaged over non-adversarial questions with evidence",
            "tokens": "whitespace-separated words of the top-k results' content",
            "labels": "raw = dataset evidence (normalised); audited = audit corrections applied",
        },
    }


def table(result: dict[str, Any], labels: str = "audited") -> str:
    """Markdown: R@5/10/25 and tokens@10 for each system, overall and per category."""
    res = result["labels"][labels]
    names = [*result["baselines"], result["final"]]
    cats = ["overall", "multi-hop", "temporal", "open-domain", "single-hop"]
    lines = ["| system | " + " | ".join(f"{c} R@5/10/25" for c in cats) + " | tokens@10 |",
             "|---|" + "---|" * (len(cats) + 1)]
    for name in names:
        cells = [f"{res[name][c]['R@5']}/{res[name][c]['R@10']}/{res[name][c]['R@25']}" for c in cats]
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {res[name]['overall']['tokens@10']} |")
    d = result["dragon"]
    lines.append(f"| DRAGON (paper, raw turns) | {d['R@5']}/{d['R@10']}/{d['R@25']} |" + " – |" * len(cats))
    return "\n".join(lines)


def ablation_table(result: dict[str, Any], labels: str = "audited") -> str:
    res = result["labels"][labels]
    lines = ["| setup | search | R@5 | R@10 | R@25 | tokens@5 | tokens@10 | tokens@25 |", "|---|---|---|---|---|---|---|---|"]
    for row in result["ablation"]:
        o = res[row["name"]]["overall"]
        lines.append(f"| {row['setup']} | {row['name']} | {o['R@5']} | {o['R@10']} | {o['R@25']} | "
                     f"{o['tokens@5']} | {o['tokens@10']} | {o['tokens@25']} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    import argparse
    import json

    ap = argparse.ArgumentParser(description="LoCoMo retrieval recall@k: memstream vs raw-turn baselines")
    ap.add_argument("--limit", type=int, default=None, help="first N conversations (default: all 10)")
    ap.add_argument("--turns", type=int, default=None, help="first N turns of each conversation (smoke)")
    ap.add_argument("--write-ablation", action="store_true", help="also re-ingest for the write-side ablation")
    ap.add_argument("--no-read-ablation", action="store_true")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args(argv)
    result = run(args.limit, args.turns, args.write_ablation, not args.no_read_ablation)
    for labels in LABELS:
        print(f"\n{labels} labels (R@k in %, tokens = words of retrieved content; "
              f"raw history {result['history_tokens']} words per question)\n" + table(result, labels))
    print("\n" + ablation_table(result))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=1) + "\n")
        if args.write_ablation:  # kept apart: a later run without it must not lose these rows
            rows = [{**row, **{lab: result["labels"][lab][row["name"]]["overall"] for lab in LABELS}}
                    for row in result["ablation"]]
            (args.out.parent / "locomo_write_ablation.json").write_text(json.dumps(
                {"created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "rows": rows}, indent=1) + "\n")
    return result


if __name__ == "__main__":
    main()
