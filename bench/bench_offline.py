"""Offline-stage sweep cost: a full sweep over U users x M memories, then an incremental one.

Why these numbers: the Offline stage must cost in proportion to what changed, not to
the size of the store. The store is seeded directly (Memory aggregates and each
user's directory, saved in one transaction per user, then the timeline projected),
with a few planted fixes per user (two paraphrase duplicates, one slot conflict,
one covered episode) among distinct memories. Measured: the full sweep (position 0:
every user), then, after 1 % of the users got one new duplicate each, the
incremental sweep, which must cost about 1 % of the full one.

    python -m bench.bench_offline [--users 10000] [--memories 50]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from datetime import date
from pathlib import Path

from application.fine_stage import directory_entry
from application.offline_stage import OfflineStage
from application.settings import Settings
from domain.memory import Memory
from memstream.bootstrap import build_runtime

RESULTS = Path(__file__).resolve().parent / "results" / "offline.json"
VERBS = ["likes", "owns", "studies", "collects", "repairs", "paints", "sells", "photographs", "writes about", "teaches"]
NOUNS = ["maps", "clocks", "bicycles", "violins", "orchids", "stamps", "kites", "lamps", "boats", "chess sets",
         "teapots", "radios", "globes", "puzzles", "coins", "cameras", "rugs", "masks", "shells", "ferns"]
PLACES = ["Oslo", "Lima", "Kyoto", "Accra", "Quito", "Hanoi", "Porto", "Cairo", "Perth", "Riga"]


def source(user: str, tag: str, when: str) -> dict:
    return {"event_id": f"{user}-{tag}", "message_id": f"{user}-{tag}#0", "chat_time": when, "role": "user"}


def memory(user: str, tag: str, content: str, when: str, **fields) -> Memory:
    return Memory(user_id=user, kind=fields.pop("kind", "fact"), key=fields.pop("key", f"note.{tag}"),
                  content=content, stage="fine", reason="new", cause={}, decided_by="bench-seed",
                  sources=fields.pop("sources", [source(user, tag, when)]), **fields)


def user_memories(user: str, count: int) -> list[Memory]:
    planted = [
        memory(user, "d1", "The user likes hiking in the Alps.", "2025-01-02T10:00:00"),
        memory(user, "d2", "User really loves hiking in the Alps!", "2025-02-02T10:00:00"),
        memory(user, "z1", "用户喜欢喝绿茶", "2025-01-03T10:00:00"),
        memory(user, "z2", "用户非常喜欢喝绿茶。", "2025-02-03T10:00:00"),
        memory(user, "r1", "The user lives in Berlin.", "2025-01-04T10:00:00", key="residence",
               slots={"residence": "lives in Berlin"}),
        memory(user, "r2", "The user lives in Munich.", "2025-03-04T10:00:00", key="residence",
               slots={"residence": "lives in Munich"}),
        memory(user, "f1", "The user likes sailing.", "2025-01-05T10:00:00", kind="preference"),
    ]
    planted.append(memory(user, "e1", "I like sailing, you know", "2025-01-05T10:00:00", kind="episode",
                          key="episode.user", sources=list(planted[-1].sources)))
    distinct = [memory(user, f"n{i}", f"The user {VERBS[i % 10]} {NOUNS[(i // 10) % 20]} from {PLACES[i % 7]}.",
                       f"2025-01-{1 + i % 28:02d}T10:00:00") for i in range(max(count - len(planted), 0))]
    return planted + distinct


def seed(runtime, users: list[str], count: int) -> float:
    started = time.perf_counter()
    for user in users:
        memories = user_memories(user, count)
        directory = runtime.store.directory(user)
        directory.update(upserts={str(m.id): directory_entry(m) for m in memories if m.kind != "episode"},
                         removals=[], conversation_id=None, event_id=None)
        runtime.store.save_tracked([*memories, directory], None)
    runtime.catch_up()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--memories", type=int, default=50)
    parser.add_argument("--changed", type=float, default=0.01, help="fraction of users changed before the incremental sweep")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-offline-") as tmp:
        runtime = build_runtime(Settings(data_dir=Path(tmp), extractor="rules", event_store_sync="normal"),
                                with_vectors=False)
        users = [f"user-{n:05d}" for n in range(args.users)]
        seed_seconds = seed(runtime, users, args.memories)
        stage = OfflineStage.for_runtime(runtime, today=lambda: date(2025, 6, 1))
        started = time.perf_counter()
        full = stage.sweep()
        full_seconds = time.perf_counter() - started
        project_seconds = time.perf_counter()
        runtime.catch_up()
        project_seconds = time.perf_counter() - project_seconds
        changed = users[:: max(int(1 / args.changed), 1)]
        for user in changed:
            runtime.store.save_tracked([memory(user, "late", "The user likes hiking in the Alps",
                                               "2025-05-01T10:00:00")], None)
        runtime.catch_up()
        started = time.perf_counter()
        incremental = stage.sweep()
        incremental_seconds = time.perf_counter() - started
        idle = time.perf_counter()
        nothing = stage.sweep()
        idle_seconds = time.perf_counter() - idle
        runtime.close()
    memories = args.users * args.memories
    result = {
        "users": args.users, "memories_per_user": args.memories, "memories": memories,
        "store": "SQLite (synchronous=normal), seeded directly",
        "seed_seconds": round(seed_seconds, 1),
        "full_sweep": {"seconds": round(full_seconds, 2), "users": full.users, "changes": len(full.changes),
                       "ms_per_user": round(1000 * full_seconds / args.users, 3),
                       "memories_per_second": round(memories / full_seconds)},
        "projection_of_sweep_events_seconds": round(project_seconds, 2),
        "incremental_sweep": {"changed_users": len(changed), "seconds": round(incremental_seconds, 3),
                              "users": incremental.users, "changes": len(incremental.changes),
                              "fraction_of_full": round(incremental_seconds / full_seconds, 4)},
        "sweep_with_nothing_changed": {"seconds": round(idle_seconds, 4), "changes": len(nothing.changes)},
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
