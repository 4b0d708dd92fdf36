"""Offline-stage sweep cost: a full sweep over U users x M memories, then an incremental one.

Why these numbers: the Offline stage must cost in proportion to what changed, not to
the size of the store. The store is seeded directly: one template user's Memory
aggregates and directory are saved and projected the ordinary way, then cloned for
every other user in bulk (each stored event and timeline row with the user's name and
fresh aggregate ids substituted, inserted in big batches, the timeline's position set
to the head), which is what saving and projecting each user would have written, at a
fraction of the cost (10,000 users: about a minute instead of twelve). Each user has
a few planted fixes (two paraphrase duplicates, one slot conflict,
one covered episode) among distinct memories. Measured: the full sweep (position 0:
every user), then, after 1 % of the users got one new duplicate each, the
incremental sweep, which must cost about 1 % of the full one.

    python -m bench.bench_offline [--users 10000] [--memories 50]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import uuid
import tempfile
import time
from datetime import date
from pathlib import Path

from application.fine_stage import directory_entry
from application.offline_stage import OfflineStage
from application.settings import Settings
from domain.memory import Memory
from domain.user_directory import directory_id
from eventsourcing.persistence import JSONTranscoder, Mapper, StoredEvent, Tracking
from projections.timeline_view import TRACKING_NAME
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
    if users:
        return seed_by_cloning(runtime, users, count)
    started = time.perf_counter()
    for user in users:
        memories = user_memories(user, count)
        directory = runtime.store.directory(user)
        directory.update(upserts={str(m.id): directory_entry(m) for m in memories if m.kind != "episode"},
                         removals=[], conversation_id=None, event_id=None)
        runtime.store.save_tracked([*memories, directory], None)
    runtime.catch_up()
    return time.perf_counter() - started


_IDS = re.compile(r"[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}")
BATCH = 50_000


def seed_by_cloning(runtime, users: list[str], count: int) -> float:
    """The first user saved and projected as usual; the others cloned from its domain
    events (re-stored through the store's mapper, so sealing or any other encoding
    applies as it would) and its timeline rows, with name and aggregate ids substituted."""
    started = time.perf_counter()
    store, timeline, template = runtime.store, runtime.timeline, users[0]
    memories = user_memories(template, count)
    directory = store.directory(template)
    directory.update(upserts={str(m.id): directory_entry(m) for m in memories if m.kind != "episode"},
                     removals=[], conversation_id=None, event_id=None)
    store.save_tracked([*memories, directory], None)
    runtime.catch_up()
    events = store.recorder.select_notifications(1, limit=10 * (count + 1) + 100)
    mapper = store.mapper
    templates = [mapper.to_domain_event(e) for e in events]
    keys = getattr(getattr(mapper, "keys", None), "_db", None)
    if keys is not None:  # sealing on: every user's data key in one transaction, not one fsync each
        keys.execute("BEGIN")
        keys.executemany("INSERT OR IGNORE INTO data_keys (user_id, key, created_at) VALUES (?, ?, ?)",
                         [(u, os.urandom(32), time.time()) for u in users[1:]])
        keys.execute("COMMIT")
    ids = [m.id for m in memories] + [directory.id]
    versions = timeline._execute("SELECT memory_id, version, user_id, view FROM timeline_versions")
    current = timeline._execute("SELECT memory_id, user_id, kind, status, version, updated_at, view "
                                "FROM timeline_current")
    pattern = re.compile(f"{_IDS.pattern}|{re.escape(template)}")
    plain = (mapper.cipher is None and mapper.compressor is None and isinstance(mapper.transcoder, JSONTranscoder)
             and type(mapper) is Mapper)

    def pieces(text: str) -> list[str]:
        """``text`` split around the names and ids to substitute (odd items)."""
        out, at = [], 0
        for m in pattern.finditer(text):
            out += [text[at:m.start()], m.group(0)]
            at = m.end()
        return out + [text[at:]]

    split_events = [pieces(e.state.decode()) for e in events] if plain else []
    split_versions = [pieces(view) for *_, view in versions]
    split_current = [pieces(view) for *_, view in current]

    def fill(parts: list[str], table: dict[str, str]) -> str:
        return "".join(p if i % 2 == 0 else table.get(p, p) for i, p in enumerate(parts))
    pending_events: list = []
    pending_versions: list[tuple] = []
    pending_current: list[tuple] = []

    def flush() -> None:
        if pending_events:
            store.recorder.insert_events(pending_events)
        head = store.head()
        timeline._write_many([
            ("INSERT INTO timeline_versions (memory_id, version, user_id, view) VALUES (?, ?, ?, ?)",
             pending_versions),
            ("INSERT INTO timeline_current (memory_id, user_id, kind, status, version, updated_at, view) "
             "VALUES (?, ?, ?, ?, ?, ?, ?)", pending_current),
        ], Tracking(TRACKING_NAME, head))
        pending_events.clear(), pending_versions.clear(), pending_current.clear()

    for user in users[1:]:
        fresh = [uuid.uuid4() for _ in ids[:-1]] + [directory_id(user)]
        table = {template: user}
        for old, new in zip(ids, fresh):
            table[str(old)], table[old.hex] = str(new), new.hex
        swap = lambda text: pattern.sub(lambda m: table.get(m.group(0), m.group(0)), text)  # noqa: E731

        def clone(value):
            if isinstance(value, str):
                return swap(value)
            if isinstance(value, uuid.UUID):
                return uuid.UUID(table.get(str(value), str(value)))
            if isinstance(value, dict):
                return {clone(k): clone(v) for k, v in value.items()}
            if isinstance(value, (list, tuple)):
                return type(value)(clone(v) for v in value)
            return value

        if plain:  # the stored JSON itself, names and ids substituted
            pending_events.extend(StoredEvent(uuid.UUID(table[str(e.originator_id)]), e.originator_version,
                                              e.topic, fill(parts, table).encode())
                                  for e, parts in zip(events, split_events))
        else:  # through the mapper: sealed with the user's own key
            for e in templates:
                copy = object.__new__(type(e))
                copy.__dict__.update({k: clone(v) for k, v in vars(e).items()})
                pending_events.append(mapper.to_stored_event(copy))
        pending_versions.extend((table[mid], v, user, fill(parts, table))
                                for (mid, v, _, _), parts in zip(versions, split_versions))
        pending_current.extend((table[mid], user, kind, status, v, at, fill(parts, table))
                               for (mid, _, kind, status, v, at, _), parts in zip(current, split_current))
        if len(pending_events) >= BATCH:
            flush()
    flush()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--memories", type=int, default=50)
    parser.add_argument("--changed", type=float, default=0.01, help="fraction of users changed before the incremental sweep")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--sealing", action="store_true",
                        help="seal content with per-user keys as a default store does (seeding is then much slower)")
    args = parser.parse_args()
    if not args.sealing:
        os.environ["MEMSTREAM_SEALING"] = "off"  # content in the clear, as the earlier figures were measured
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
        "store": "SQLite (synchronous=normal), seeded directly (one user saved, the rest cloned in bulk), "
                 + ("content sealed per user" if args.sealing else "MEMSTREAM_SEALING=off"),
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
