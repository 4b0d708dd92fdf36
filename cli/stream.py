"""Streaming commands: worker, demo, deadletters."""

from __future__ import annotations

import argparse
import asyncio
import base64
import gc
import os
import sys
from pathlib import Path
from typing import Any

from memstream.bootstrap import build_runtime
from application.dead_letters import DeadLetterBox
from application.settings import Settings
from cli.main import CommandError
from cli.render import emit_json


def _need_broker(settings: Settings) -> None:
    if not settings.kafka_url:
        raise CommandError("MEMSTREAM_KAFKA_URL is not set: the worker needs a Kafka broker (host:port)")


AUTOGROUP = Path("/proc/self/autogroup")


def tune_for_role(settings: Settings, role: str) -> Settings:
    """A streaming worker's process settings: one embedding thread unless configured,
    and a ``--role fine`` process lowers its priority (docs/design.md: Fast records at once,
    Fine organises when it can). Niceness is inherited by the threads started later."""
    if not settings.embed_threads:
        settings = settings.model_copy(update={"embed_threads": 1})
    if role == "fine" and settings.fine_nice:
        os.nice(settings.fine_nice)
        lower_session_priority(settings.fine_nice)
    return settings


def lower_session_priority(nice: int, autogroup: Path = AUTOGROUP) -> bool:
    """Give the process's session the same niceness, when the process leads it.

    Why: with Linux's autogroup scheduling (on by default on desktop and many server
    kernels, and on this machine), the CPU is first shared equally between *sessions*;
    a process's own niceness only ranks it inside its session. A worker started in a
    session of its own (as `memstream demo`, a supervisor or the benchmark start it)
    was thus not deprioritised at all. Only a session leader does this: otherwise the
    write would lower the priority of the whole session it was started from (a shell).
    Returns whether the session's niceness was set."""
    if os.getsid(0) != os.getpid():
        return False
    try:
        autogroup.write_text(str(nice))
    except OSError:  # no autogroup support, or not allowed: process niceness still applies
        return False
    return True


def preload(runtime: Any, role: str) -> None:
    """Load the embedding model before joining the group, not with the first records.

    Why: a Fine worker that loaded it lazily (for embed-ahead) spent ~2 s of CPU on its
    first batch (a py-spy profile), while the other stages had traffic to serve. A
    ``fast`` worker never embeds, nor does a Fine stage without embed-ahead unless a
    similarity check needs it (then it still loads on first use)."""
    if role in ("all", "projections"):
        runtime.read_side  # noqa: B018 - the model and the index
    elif role in ("agents", "fine") and runtime.settings.embed_ahead:
        runtime.embedder  # noqa: B018


def freeze_startup_objects() -> None:
    """Move everything built at start-up (modules, Faust, the model) out of the
    collector's reach. Why: full collections otherwise scan all of it; in a `--role
    fast` process at 200 msg/s they paused everything for 40-60 ms, twice in 10 s."""
    gc.collect()
    gc.freeze()


def worker(args: argparse.Namespace, settings: Settings) -> int:
    """Run the Faust worker until SIGTERM / SIGINT."""
    _need_broker(settings)
    from streams.app import build_app
    from streams.topics import ensure_topics, topic_specs_for

    asyncio.run(ensure_topics(settings.kafka_url, topic_specs_for(settings)))
    settings = tune_for_role(settings, args.role)
    runtime = build_runtime(settings, sync_projections=False, with_vectors=args.role in ("all", "projections"))
    try:
        preload(runtime, args.role)
        if args.role == "projections":
            from streams.projection_loop import run_projection_worker

            freeze_startup_objects()
            return run_projection_worker(settings, runtime)
        app = build_app(settings, runtime, role=args.role, web_port=args.web_port)
        from streams.faust_worker import run_worker

        freeze_startup_objects()
        return run_worker(app, verbose=args.verbose if hasattr(args, "verbose") else False)
    finally:
        runtime.close()


def demo(args: argparse.Namespace, settings: Settings) -> int:
    from cli.demo import run_demo

    return run_demo(settings, as_json=args.json)


def deadletters(args: argparse.Namespace, settings: Settings) -> int:
    runtime = build_runtime(settings, with_vectors=False, sync_projections=False)
    try:
        box = DeadLetterBox(runtime.store)
        letters = box.recent(limit=args.limit)
        if args.resubmit:
            _need_broker(settings)
            from streams.publish import send_all

            # A letter goes back once: resubmitting again would publish it twice (and the
            # next run four times). --again is for a letter whose resubmission failed too.
            letters = [d for d in letters if args.again or not d["resubmissions"]]
            for letter in letters:
                value = base64.b64decode(letter["value_b64"])
                key = letter["key"].encode() if letter["key"] else None
                asyncio.run(send_all(settings.kafka_url, letter["topic"], [(key, value)]))
                box.mark_resubmitted(letter["id"], letter["topic"])
                letter["resubmissions"] += 1
    finally:
        runtime.close()
    if args.json:
        emit_json({"dead_letters": [{k: v for k, v in d.items() if k != "value_b64"} for d in letters]})
        return 0
    if not letters:
        print("no dead letters")
    for d in letters:
        print(f"{d['topic']}[{d['partition']}]@{d['offset']}  {d['stage']}/{d['error_type']}  "
              f"{d['size']} bytes  resubmitted {d['resubmissions']}x\n    reason: {d['reason']}")
    if args.resubmit:
        print(f"re-submitted {len(letters)} records", file=sys.stderr)
    return 0
