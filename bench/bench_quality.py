"""Memory quality over labelled zh/en conversations (issue #16): is what a user reads current,
consistent and findable?

Why: latency benchmarks say nothing about whether the memories are right. This runs the
labelled set in ``tests/fixtures/quality/`` (``dev.jsonl`` and ``dev2.jsonl``: may be tuned on;
``heldout.jsonl`` to ``heldout5.jsonl``, each written before the rule changes
it measures: never tuned on, reported beside them) through the product's own services, in-process (the public
``memstream.open`` API, or the composition root when that is absent): one fresh data dir per
split, each conversation its own user, each step one envelope. Then per split and per class:

- precision / recall of created and revised memories (a produced create/revise of a step is
  correct when the case lists a matching change for that step whose ``has`` token is in it);
- contradictions left active (a memory holding both a current and a stale token, or two active
  memories with one key), stale memories left active, missing facts, no-information episodes
  left active, MRR of the expected memory for a question (top 5, non-episode hits only),
  and the pass rate (every expectation of a case met);
- per-case failures with one-line reasons, so rule work can start from what fails.

LoCoMo R@5/10/25 is read from ``bench/results/locomo.json`` (not re-run here).

    python -m bench.bench_quality [--split dev|dev2|dev3|dev4|heldout|heldout2|heldout3|heldout4|heldout5] [--show-failures] [--offline] [--out bench/results/quality.json]

``--offline`` sweeps each user once with the Offline stage (``memstream reconcile``) after the
last step, so the final state (stale, contradictions, missing, MRR) is the one a user reads once
the Offline stage has run; the per-step changes are the Fine stage's either way.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any, Iterable

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures" / "quality"
RESULTS = ROOT / "bench" / "results"
SPLITS = ("dev", "dev2", "dev3", "dev4", "heldout", "heldout2", "heldout3", "heldout4", "heldout5")
TOP_K = 5


def load_cases(split: str) -> list[dict[str, Any]]:
    path = FIXTURES / f"{split}.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


# --------------------------------------------------------------------------- running


class _Product:
    """The product's services, through the public API when it exists, else the composition root."""

    def __init__(self, data_dir: Path) -> None:
        self.api = None
        self.runtime = None
        try:
            import memstream

            self.api = memstream.open(data_dir=data_dir, extractor="rules")
            self.via = "memstream.open"
        except Exception:  # noqa: BLE001 - fall back to what the integration tests use
            try:
                from memstream.bootstrap import build_runtime
            except ImportError:
                from application.bootstrap import build_runtime
            from application.settings import Settings

            settings = Settings(data_dir=data_dir, event_store=f"sqlite:///{data_dir / 'events.sqlite'}",
                                extractor="rules", governance="time")
            self.runtime = build_runtime(settings)
            self.via = "build_runtime"

    def add(self, envelope: dict[str, Any]) -> Any:
        if self.api is not None:
            return self.api.add(envelope)
        from domain.envelope import InputEnvelope

        return self.runtime.service.ingest(InputEnvelope.model_validate(envelope))

    def memories(self, user: str, include_archived: bool = False) -> list[dict[str, Any]]:
        if self.api is not None:
            return self.api.memories(user_id=user, include_archived=include_archived)
        return self.runtime.timeline.memories(user, include_archived=include_archived)

    def search(self, user: str, query: str) -> list[dict[str, Any]]:
        if self.api is not None:
            return self.api.search(query, user_id=user, top_k=TOP_K)
        self.runtime.catch_up()
        return self.runtime.read_side.search.search(user, query, top_k=TOP_K)

    def reconcile(self, user: str) -> None:
        """One Offline sweep of the user (``memstream reconcile --user``), its changes projected."""
        from application.offline_stage import OfflineStage

        runtime = self.api.runtime if self.api is not None else self.runtime
        OfflineStage.for_runtime(runtime).sweep([user])
        runtime.catch_up()

    def close(self) -> None:
        (self.api or self.runtime).close()


def envelope_of(case: dict[str, Any], index: int) -> dict[str, Any]:
    step = case["steps"][index]
    messages = []
    for i, turn in enumerate(step["turns"]):
        if isinstance(turn, dict):  # a tool trace
            message = dict(turn)
        else:
            message = {"role": turn[0], "content": turn[1]}
        message.update(message_id=f"s{index}m{i}", chat_time=step["at"])
        messages.append(message)
    return {"event_id": f"{case['id']}-s{index}", "user_id": case["id"],
            "conversation_id": f"c-{case['id']}", "messages": messages}


def run_case(product: _Product, case: dict[str, Any], offline: bool = False) -> dict[str, Any]:
    """Ingest every step; record each step's created/revised memories and the final state
    (``offline``: after one Offline sweep of the user, as ``memstream reconcile`` makes it)."""
    user = case["id"]
    steps: list[list[tuple[str, dict[str, Any]]]] = []
    for index in range(len(case["steps"])):
        outcome = product.add(envelope_of(case, index))
        views = {m["memory_id"]: m for m in product.memories(user, include_archived=True)}
        produced = [("create", views[m]) for m in dict.fromkeys(outcome.created) if m in views]
        produced += [("revise", views[m]) for m in dict.fromkeys(outcome.revised) if m in views]
        steps.append([(c, v) for c, v in produced if v.get("kind") != "episode"])
    if offline:
        product.reconcile(user)
    every = product.memories(user, include_archived=True)
    question = case["expect"].get("question")
    results = product.search(user, question) if question else []
    return {"steps": steps, "all": every, "search": results}


# --------------------------------------------------------------------------- scoring


def _text(memory: dict[str, Any]) -> str:
    return str(memory.get("content") or "").lower()


def _has(memory: dict[str, Any], token: str | list[str]) -> bool:
    tokens = [token] if isinstance(token, str) else token
    return any(t.lower() in _text(memory) for t in tokens)


def _short(memory: dict[str, Any], n: int = 70) -> str:
    text = str(memory.get("content") or "").replace("\n", " ")
    return text if len(text) <= n else text[: n - 1] + "…"


def score_case(case: dict[str, Any], run: dict[str, Any]) -> dict[str, Any]:
    """Counts and one-line failure reasons ``(kind, text)`` for one case."""
    exp = case["expect"]
    reasons: list[tuple[str, str]] = []
    s = Counter()
    # created / revised memories, step by step
    if "changes" in exp:
        for index, produced in enumerate(run["steps"]):
            wanted = [c for c in exp["changes"] if c["step"] == index and c["change"] != "none"]
            used = [False] * len(wanted)
            for change, view in produced:
                s[f"produced_{change}"] += 1
                hit = next((j for j, w in enumerate(wanted) if not used[j]
                            and w["change"] in (change, "any") and _has(view, w.get("has", ""))), None)
                if hit is None:
                    s[f"fp_{change}"] += 1
                    reasons.append((f"unexpected {change}",
                                    f"step {index}: unexpected {change} [{view.get('key')}] '{_short(view)}'"))
                else:
                    used[hit] = True
                    s[f"tp_{change}"] += 1
            for j, w in enumerate(wanted):
                kind = w["change"] if w["change"] != "any" else "create"
                s[f"expected_{kind}"] += 1
                if not used[j]:
                    s[f"fn_{kind}"] += 1
                    got = "; ".join(f"{c} '{_short(v, 40)}'" for c, v in produced) or "nothing"
                    reasons.append((f"missed {w['change']}",
                                    f"step {index}: missed {w['change']} '{w.get('has')}' (got {got})"))
    everything = run["all"]
    active = [m for m in everything if m.get("status") == "active"]
    facts = [m for m in active if m.get("kind") != "episode"]
    has_sets = exp.get("active_has", [])
    lacks = exp.get("active_lacks", [])
    # missing facts
    for alternatives in has_sets:
        if not any(_has(m, alternatives) for m in facts):
            s["missing"] += 1
            reasons.append(("missing fact", f"no active memory has {'/'.join(alternatives)}"))
    # stale memories left active
    for token in lacks:
        stale = [m for m in active if _has(m, token)]
        if stale:
            s["stale"] += 1
            reasons.append(("stale active", f"'{token}' still active in [{stale[0].get('kind')}] '{_short(stale[0])}'"))
    # contradictions: both sides in one memory, or two active memories on one key
    current_tokens = [t for alternatives in has_sets for t in alternatives]
    for m in active:
        if any(_has(m, t) for t in lacks) and any(_has(m, t) for t in current_tokens):
            s["contradictions"] += 1
            reasons.append(("contradiction in one memory", f"'{_short(m)}'"))
    keys = Counter(m.get("key") for m in facts if m.get("key"))
    for key, n in keys.items():
        if n > 1:
            s["contradictions"] += n - 1
            reasons.append(("two active memories on one key", f"{n} active memories on key {key}"))
    # no-information episodes left active
    if exp.get("no_info_archived"):
        noinfo = {(f"{case['id']}-s{i}", f"s{i}m{j}") for i, step in enumerate(case["steps"])
                  for j, t in enumerate(step["turns"]) if isinstance(t, list) and len(t) > 2 and t[2] == "noinfo"}
        for m in everything:
            if m.get("kind") != "episode" or m.get("status") != "active":
                continue
            src = (m.get("sources") or [{}])[0]
            if (src.get("event_id"), src.get("message_id")) in noinfo:
                s["noinfo_active"] += 1
                reasons.append(("no-info episode active", f"'{_short(m, 40)}'"))
    # the question: reciprocal rank of the first non-episode result holding an answer token
    rr = None
    if exp.get("question"):
        rank = next((i + 1 for i, m in enumerate(run["search"])
                     if m.get("kind") != "episode" and _has(m, exp["answer_has"])), None)
        rr = 1.0 / rank if rank else 0.0
        if rank != 1:
            top = run["search"][0] if run["search"] else None
            where = f"rank {rank}" if rank else "not in top 5"
            reasons.append(("question: expected memory not first",
                            f"'{exp['question']}' -> {where}; first: "
                            + (f"[{top.get('kind')}] '{_short(top, 50)}'" if top else "nothing")))
    return {"id": case["id"], "class": case["class"], "lang": case["lang"], "noop": case["noop"],
            "counts": dict(s), "rr": rr, "passed": not reasons, "reasons": reasons}


def _ratio(a: float, b: float) -> float | None:
    return round(a / b, 3) if b else None


def summarise(scored: Iterable[dict[str, Any]]) -> dict[str, Any]:
    scored = list(scored)
    c = Counter()
    for x in scored:
        c.update(x["counts"])
    tp = c["tp_create"] + c["tp_revise"]
    produced = c["produced_create"] + c["produced_revise"]
    expected = c["expected_create"] + c["expected_revise"]
    rrs = [x["rr"] for x in scored if x["rr"] is not None]
    return {
        "cases": len(scored),
        "errors": sum(1 for x in scored if x.get("error")),
        "pass_rate": _ratio(sum(x["passed"] for x in scored), len(scored)),
        "precision": _ratio(tp, produced), "recall": _ratio(tp, expected),
        "precision_create": _ratio(c["tp_create"], c["produced_create"]),
        "recall_create": _ratio(c["tp_create"], c["expected_create"]),
        "precision_revise": _ratio(c["tp_revise"], c["produced_revise"]),
        "recall_revise": _ratio(c["tp_revise"], c["expected_revise"]),
        "produced": produced, "expected": expected, "correct": tp,
        "contradictions": c["contradictions"], "stale_active": c["stale"], "missing_facts": c["missing"],
        "noinfo_active": c["noinfo_active"],
        "mrr": round(sum(rrs) / len(rrs), 3) if rrs else None, "questions": len(rrs),
        "hit_at_1": _ratio(sum(1 for r in rrs if r == 1.0), len(rrs)),
    }


def run_split(split: str, cases: list[dict[str, Any]] | None = None,
              data_dir: Path | None = None, offline: bool = False) -> dict[str, Any]:
    """Run one split on a fresh data dir; figures overall and per class, failures per case."""
    cases = load_cases(split) if cases is None else cases
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix=f"quality-{split}-") as tmp:
        product = _Product(Path(data_dir or tmp))
        scored = []
        try:
            for case in cases:
                try:
                    scored.append(score_case(case, run_case(product, case, offline)))
                except Exception as exc:  # noqa: BLE001 - reported as the case's failure
                    scored.append({"id": case["id"], "class": case["class"], "lang": case["lang"],
                                   "noop": case["noop"], "counts": {}, "rr": None, "passed": False,
                                   "error": f"{type(exc).__name__}: {exc}",
                                   "reasons": [("error", f"{type(exc).__name__}: {exc}")]})
        finally:
            via = product.via
            product.close()
    by_class: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for x in scored:
        by_class[x["class"]].append(x)
    reasons = Counter((kind, x["class"]) for x in scored for kind, _ in x["reasons"])
    return {
        "split": split, "via": via, "offline": offline, "seconds": round(time.perf_counter() - started, 1),
        "overall": summarise(scored),
        "by_lang": {lang: summarise(x for x in scored if x["lang"] == lang) for lang in ("zh", "en")},
        "by_class": {cls: summarise(xs) for cls, xs in sorted(by_class.items())},
        "top_failure_reasons": [{"reason": k, "class": cls, "count": n} for (k, cls), n in reasons.most_common(25)],
        "failures": [{"id": x["id"], "class": x["class"], **({"error": x["error"]} if x.get("error") else {}),
                      "reasons": [text for _, text in x["reasons"]]}
                     for x in scored if not x["passed"]],
    }


def locomo_figures(path: Path = RESULTS / "locomo.json") -> dict[str, Any] | None:
    """LoCoMo recall as last measured by bench/locomo (read from its result file, not re-run)."""
    if not path.exists():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    final = data.get("final", "memstream")
    out: dict[str, Any] = {"source": str(path.relative_to(ROOT)), "config": final,
                           "measured_at": data.get("created_at")}
    for labels, rows in data.get("labels", {}).items():
        overall = rows.get(final, {}).get("overall", {})
        out[labels] = {k: overall.get(k) for k in ("R@5", "R@10", "R@25")}
    return out


# --------------------------------------------------------------------------- report


def _fmt(v: Any) -> str:
    return "-" if v is None else (f"{v:.3f}" if isinstance(v, float) else str(v))


COLUMNS = ("cases", "pass_rate", "precision", "recall", "contradictions", "stale_active",
           "missing_facts", "noinfo_active", "mrr")


def table(rows: list[tuple[str, dict[str, Any]]]) -> str:
    header = ("", "cases", "pass", "prec", "recall", "contra", "stale", "missing", "noinfo", "MRR")
    cells = [list(header)] + [[name] + [_fmt(r[c]) for c in COLUMNS] for name, r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths)))
             for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def report(result: dict[str, Any]) -> str:
    out = [f"== {result['split']} ({result['overall']['cases']} conversations, {result['seconds']} s, via {result['via']})"]
    rows = [("ALL", result["overall"])] + [(k, v) for k, v in result["by_lang"].items()]
    rows += [(k, v) for k, v in result["by_class"].items()]
    out.append(table(rows))
    out.append("most common failure reasons:")
    out += [f"  {r['count']:3d}  {r['reason']} ({r['class']})" for r in result["top_failure_reasons"][:10]]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--split", choices=SPLITS, help="one split only (default: all)")
    parser.add_argument("--out", type=Path, default=RESULTS / "quality.json")
    parser.add_argument("--show-failures", action="store_true",
                        help="print every failing case with its reasons (do not use it on a held-out split you tune on)")
    parser.add_argument("--offline", action="store_true",
                        help="sweep each user once with the Offline stage before the final state is scored")
    args = parser.parse_args(argv)
    splits = [args.split] if args.split else list(SPLITS)
    result: dict[str, Any] = {"benchmark": "quality", "fixtures": str(FIXTURES.relative_to(ROOT)),
                              "splits": {}}
    for split in splits:
        result["splits"][split] = run_split(split, offline=args.offline)
        print(report(result["splits"][split]), flush=True)
        if args.show_failures:
            for failure in result["splits"][split]["failures"]:
                print(f"  {failure['id']}: " + " | ".join(failure["reasons"]))
        print()
    locomo = locomo_figures()
    result["locomo"] = locomo
    first3 = RESULTS / "locomo_first3.json"
    if first3.exists():  # the cheaper check run beside rule changes (first three conversations)
        data = json.loads(first3.read_text(encoding="utf-8"))
        result["locomo_first3"] = {when: {lab: {k: rows["memstream"][k] for k in ("R@5", "R@10", "R@25")}
                                          for lab, rows in data[when]["labels"].items()}
                                   for when in ("before", "after") if when in data}
        for when, labels in result["locomo_first3"].items():
            print(f"LoCoMo first 3 conversations ({when}, {first3.name}): "
                  + "; ".join(f"{lab} " + "/".join(_fmt(v) for v in r.values()) for lab, r in labels.items()))
    if locomo:
        print(f"LoCoMo recall (read from {locomo['source']}, config {locomo['config']}, not re-run):")
        for labels in ("raw", "audited"):
            if labels in locomo:
                print(f"  {labels:8s} " + "  ".join(f"{k} {_fmt(v)}" for k, v in locomo[labels].items()))
    if args.split and args.out.exists():  # keep the other split's figures
        try:
            previous = json.loads(args.out.read_text(encoding="utf-8"))
            result["splits"] = {**previous.get("splits", {}), **result["splits"]}
        except ValueError:
            pass
    result["created_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {args.out.relative_to(ROOT) if args.out.is_relative_to(ROOT) else args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
