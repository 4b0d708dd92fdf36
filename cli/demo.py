"""``memstream demo``: the main job end to end through a real broker.

Starts the bundled Tansu broker and a worker process, publishes the examples
(plus one deliberately broken record, to show a dead letter), waits until every
input is refined and every projection has caught up, stops both cleanly, then
prints the memories, the 小忆 version chain, a search, 张伟's skill refined in a later
conversation and a question answered from both a user and the knowledge base.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from memstream.bootstrap import build_runtime
from application.jsonl import BadLine, read_jsonl
from application.knowledge import document_event_id, kb_space, merge_sources, origin_label
from application.settings import REPO_ROOT, Settings
from domain.envelope import InputEnvelope, KnowledgeDocument
from domain.raw_input import RawInput, raw_input_id
from projections.catch_up import head
from projections.vector_projection import TRACKING_NAME as VECTOR_POSITION
from streams.broker import TansuBroker
from cli.main import CommandError
from streams.publish import record_key, record_value, send_all
from cli.render import emit_json, memory_line, print_history, print_memories
from streams.topics import ensure_topics, topic_specs_for

EXAMPLES = REPO_ROOT / "examples"
MARKER = ".memstream-demo"
POISON = b'{"user_id": "xiaoyi", "messages": "this is not a list"}'
WAIT_SECONDS = 180
KB_ID = "travel-faq"
KB_QUESTION = "can I cancel my hotel booking for free?"


def memstream_command() -> str:
    """How to run ``memstream`` from the shell the demo was started in: ``memstream`` when
    that is on PATH and is this install, else the console script's path (``.venv/bin/memstream``
    from the repository), which works in a fresh shell where the venv is not active."""
    script = Path(sys.executable).parent / "memstream"
    found = shutil.which("memstream")
    if found and Path(found).resolve() == script.resolve():
        return "memstream"
    try:
        return str(script.relative_to(Path.cwd()))
    except ValueError:
        return str(script)


def say(text: str) -> None:
    print(f"[demo] {text}", file=sys.stderr, flush=True)


def prepare_dir(settings: Settings) -> Path:
    explicit = "MEMSTREAM_DATA_DIR" in os.environ or settings.data_dir != Settings().data_dir
    root = settings.data_dir if explicit else REPO_ROOT / ".memstream" / "demo"
    if root.exists() and any(root.iterdir()) and not (root / MARKER).exists():
        raise CommandError(f"{root} is not empty and was not made by the demo; choose another --data-dir")
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    (root / MARKER).write_text("made by memstream demo; deleted by the next run\n")
    return root


def load_examples() -> tuple[list[InputEnvelope], list[KnowledgeDocument]]:
    envelopes: list[InputEnvelope] = []
    for path in sorted(EXAMPLES.glob("*.jsonl")):
        if path.name == "knowledge.jsonl":
            continue
        envelopes += [item for _, item in read_jsonl(path, InputEnvelope) if not isinstance(item, BadLine)]
    docs = [item for _, item in read_jsonl(EXAMPLES / "knowledge.jsonl", KnowledgeDocument)
            if not isinstance(item, BadLine)]
    return envelopes, docs


def run_demo(settings: Settings, as_json: bool = False) -> int:
    root = prepare_dir(settings)
    demo_settings = settings.model_copy(update={"data_dir": root / "data", "session_timeout": 2.0})
    envelopes, docs = load_examples()
    broker = TansuBroker(log_path=root / "tansu.log")
    worker: subprocess.Popen | None = None
    try:
        broker.start()
        demo_settings = demo_settings.model_copy(update={"kafka_url": broker.bootstrap})
        say(f"Tansu broker on {broker.bootstrap} (pid {broker.pid})")
        asyncio.run(ensure_topics(broker.bootstrap, topic_specs_for(demo_settings)))
        worker = start_worker(demo_settings, root / "worker.log")
        say(f"worker started (pid {worker.pid}); publishing {len(envelopes)} envelopes, "
            f"{len(docs)} knowledge document and 1 broken record")
        asyncio.run(send_all(broker.bootstrap, demo_settings.topic("messages"),
                             [(record_key(e), record_value(e)) for e in envelopes] + [(b"xiaoyi", POISON)]))
        asyncio.run(send_all(broker.bootstrap, demo_settings.topic("knowledge"),
                             [(record_key(d), record_value(d)) for d in docs]))
        started = time.monotonic()
        wait_until_processed(demo_settings, envelopes, docs, worker, root / "worker.log")
        say(f"all input processed and projected in {time.monotonic() - started:.1f} s; stopping")
    finally:
        stop_worker(worker)
        broker.stop()
    return show(demo_settings.model_copy(update={"kafka_url": ""}), envelopes, as_json)


def start_worker(settings: Settings, log_path: Path) -> subprocess.Popen:
    env = {**os.environ, "MEMSTREAM_KAFKA_URL": settings.kafka_url,
           "MEMSTREAM_DATA_DIR": str(settings.data_dir), "MEMSTREAM_SESSION_TIMEOUT": "2"}
    with open(log_path, "wb") as log:
        return subprocess.Popen([sys.executable, "-m", "cli.main", "worker"], env=env, cwd=REPO_ROOT,
                                stdout=log, stderr=subprocess.STDOUT)


def stop_worker(worker: subprocess.Popen | None) -> None:
    if worker is None or worker.poll() is not None:
        return
    worker.terminate()
    try:
        worker.wait(timeout=20)
    except subprocess.TimeoutExpired:
        worker.kill()
        worker.wait(timeout=5)


def wait_until_processed(settings: Settings, envelopes: list, docs: list, worker: subprocess.Popen,
                         log_path: Path) -> None:
    runtime = build_runtime(settings, with_vectors=False, sync_projections=False)
    expected = [raw_input_id(e.event_id) for e in envelopes]
    deadline = time.monotonic() + WAIT_SECONDS
    last = ""
    try:
        while True:
            if worker.poll() is not None:
                tail = log_path.read_text(errors="replace")[-3000:]
                raise CommandError(f"the worker exited with code {worker.returncode}:\n{tail}")
            refined = sum(1 for i in expected if _refined(runtime, i))
            docs_done = sum(1 for d in docs if runtime.service.raw_input(document_event_id(d)))
            top = head(runtime.store)
            projected = min(runtime.timeline.position(), runtime.timeline.max_tracking_id(VECTOR_POSITION) or 0)
            status = f"refined {refined}/{len(expected)}, documents {docs_done}/{len(docs)}, projected {projected}/{top}"
            if status != last:
                say(status)
                last = status
            if refined == len(expected) and docs_done == len(docs) and projected >= _last_memory_event(runtime):
                return
            if time.monotonic() > deadline:
                raise CommandError(f"timed out after {WAIT_SECONDS} s ({status}); see {log_path}")
            time.sleep(0.2)
    finally:
        runtime.close()


def _refined(runtime: Any, aggregate_id: Any) -> bool:
    try:
        return (raw := runtime.store.find(aggregate_id, RawInput)) is not None and raw.is_refined
    except Exception:  # noqa: BLE001 - not recorded yet
        return False


def _last_memory_event(runtime: Any) -> int:
    from projections.catch_up import MEMORY_TOPICS

    top = head(runtime.store)
    recent = runtime.store.recorder.select_notifications(max(1, top - 200), limit=201, topics=MEMORY_TOPICS)
    return recent[-1].id if recent else 0


def show(settings: Settings, envelopes: list[InputEnvelope], as_json: bool) -> int:
    runtime = build_runtime(settings)
    try:
        users = list(dict.fromkeys(e.user_id for e in envelopes))
        memories = {u: runtime.timeline.memories(u) for u in users}
        profile = next(v for v in memories["xiaoyi"] if v["key"] == "profile")
        chain = runtime.timeline.history(profile["memory_id"])
        hits = runtime.read_side.memory_search.search("xiaoyi", "住在哪里", top_k=3)
        skill = next((v for v in memories.get("zhang", []) if v["kind"] == "skill"), None)
        skill_chain = runtime.timeline.history(skill["memory_id"]) if skill else []
        search = runtime.read_side.memory_search.search
        kb_hits = merge_sources([search(owner, KB_QUESTION, top_k=2) for owner in ("alice", kb_space(KB_ID))], 3)
        from application.dead_letters import DeadLetterBox

        letters = DeadLetterBox(runtime.store).recent()
    finally:
        runtime.close()
    if as_json:
        emit_json({"memories": memories, "xiaoyi_history": chain, "search": hits, "skill_history": skill_chain,
                   "kb_search": kb_hits,
                   "dead_letters": [{k: v for k, v in d.items() if k != "value_b64"} for d in letters],
                   "data_dir": str(settings.data_dir)})
        return 0
    for user, views in memories.items():
        print(f"\n== current memories of {user} ==")
        print_memories(views)
    print("\n== version chain of 小忆's profile memory ==")
    print_history(chain)
    print('\n== search --user xiaoyi "住在哪里" ==')
    print_memories(hits)
    if skill_chain:
        print("\n== 张伟's skill, refined in a later conversation (same Memory ID) ==")
        print_history(skill_chain)
        print(f"      steps: {skill_chain[-1]['attributes'].get('steps')}")
    print(f'\n== search --user alice --kb {KB_ID} "{KB_QUESTION}" ==')
    for view in kb_hits:
        print(f"[{origin_label(view['origin'])}] {memory_line(view)}")
    print("\n== dead letters ==")
    for d in letters:
        print(f"{d['topic']}[{d['partition']}]@{d['offset']}: {d['reason']}")
    print(f"\nstores kept in {settings.data_dir}; try: {memstream_command()} memories "
          f"--data-dir {settings.data_dir} --user alice")
    return 0
