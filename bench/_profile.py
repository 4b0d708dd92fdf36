"""Summary of py-spy raw profiles of the worker: where each work thread's time goes.

Why not a flame graph: the lead needs a few numbers per stage (Fast, Fine,
projections) and per operation (SQLite, embedding, regex, ...), comparable
between runs, in the result JSON.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

# A sample's *stage* is the first of these found anywhere in its stack (priority order);
# its *operation* is the first of OPERATIONS found, innermost frame first.
STAGES = [
    ("fast: record", ("record_input (", "record_batch (")),
    ("fine: refine", ("refine (application/service", "refine_batch (")),
    ("projection: timeline", ("projections/timeline.py", "timeline_view.py")),
    ("projection: vector", ("vector_projection.py",)),
    ("projection: catch-up", ("catch_up.py",)),
    ("outbox", ("outbox.py", "publish_outbox")),
    ("handlers (decode, dead letters)", ("streams/handlers.py",)),
    ("faust/aiokafka event loop", ("faust/", "aiokafka/", "mode/", "asyncio/")),
]
OPERATIONS = [
    ("embedding (fastembed/onnx)", ("fastembed/", "onnxruntime/", "tokenizers")),
    ("vector index (qdrant-edge)", ("vector_index/edge.py",)),
    ("sqlite execute/commit", ("eventsourcing/sqlite.py", "sqlite3")),
    ("rule extractor", ("extraction/",)),
    ("json", ("json/",)),
    ("pydantic", ("pydantic",)),
    ("eventsourcing (mapping, aggregates)", ("eventsourcing/",)),
    ("aiokafka/faust", ("aiokafka/", "faust/", "mode/")),
    ("asyncio", ("asyncio/", "selectors.py")),
]


def _first(frames: list[str], table: list[tuple[str, tuple[str, ...]]], default: str, by_frame: bool) -> str:
    if by_frame:  # innermost matching frame wins
        return next((name for f in frames for name, keys in table if any(k in f for k in keys)), default)
    return next((name for name, keys in table if any(k in f for f in frames for k in keys)), default)


def summarize_profile(path: Path, top: int = 10) -> dict[str, Any]:
    """Collapse py-spy's raw stacks into shares of samples per thread and, for each
    memstream work thread (one lane per stage: fast, fine, projections; or the single
    store thread of older builds), per stage, per operation and stage x operation.
    py-spy counts the event loop's epoll wait as active, so the per-thread CPU from
    /proc (worker_threads_cpu_s) is the better thread-level split."""
    if not path.exists():
        return {}
    threads: Counter[str] = Counter()
    lanes: dict[str, dict[str, Counter[str]]] = {}
    total = 0
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        frames = stack.split(";")
        name = frames[0].split(": ", 1)[-1] if ": " in frames[0] else frames[0]
        total += n
        threads[name[:40]] += n
        if not name.startswith("memstream-"):
            continue
        inner = frames[:0:-1]
        stage = _first(inner, STAGES, "other", by_frame=False)
        op = _first(inner, OPERATIONS, "python (memstream code)", by_frame=True)
        lane = lanes.setdefault(name, {"stages": Counter(), "ops": Counter(), "pairs": Counter()})
        lane["stages"][stage] += n
        lane["ops"][op] += n
        lane["pairs"][f"{stage} / {op}"] += n

    def share(counter: Counter[str], of: int) -> dict[str, float]:
        return {k: round(100 * v / max(1, of), 1) for k, v in counter.most_common(top)}

    return {"samples": total, "rate_hz": 100, "threads_pct": share(threads, total),
            "lanes": {name: {"samples": sum(c["stages"].values()),
                             "stages_pct": share(c["stages"], sum(c["stages"].values())),
                             "operations_pct": share(c["ops"], sum(c["ops"].values())),
                             "stage_operation_pct": share(c["pairs"], sum(c["pairs"].values()))}
                      for name, c in sorted(lanes.items())}}


def thread_names(path: Path) -> dict[int, str]:
    """OS thread id -> Python thread name, from the py-spy raw profile's stack roots."""
    names: dict[int, str] = {}
    if path.exists():
        for line in path.read_text(errors="replace").splitlines():
            root = line.rpartition(" ")[0].split(";", 1)[0]
            if root.startswith("thread (") and "): " in root:
                tid, name = root[len("thread ("):].split("): ", 1)
                if tid.isdigit():
                    names[int(tid)] = name
    return names
