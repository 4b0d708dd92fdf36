"""Throwaway Faust app for ``test_faust_on_tansu``: proves Faust runs on Tansu.

Why it looks like this: the real agents will be built from settings by the
``memstream worker`` CLI, so the app is made by a factory (``build_app``) and
started programmatically (``run_worker``) -- the same shape the CLI will use.
A module-level ``app`` also exists so ``python -m faust -A <this module>
worker --without-web`` works; it is configured from ``SPIKE_*`` environment
variables because the Faust CLI offers no other way to pass settings.

The agent appends one JSON line per consumed record -- with the record's
topic/partition/offset taken from ``event.message`` -- to
``$SPIKE_OUT/<worker_id>.jsonl``.  Lines are written with ``os.write`` on an
``O_APPEND`` descriptor, so a SIGKILL loses nothing already recorded and the
test can count duplicates exactly.  Rebalance signals are recorded too, to
time the group join.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from pathlib import Path
from typing import Any

import faust

SETTINGS_FOR_TANSU: dict[str, Any] = {
    # Tansu makes every JoinGroup wait half the session timeout: keep it short.
    "broker_session_timeout": 2.0,
    "broker_heartbeat_interval": 0.5,
    # No committed offset yet -> start at the beginning (Tansu's LATEST is unreliable).
    "consumer_auto_offset_reset": "earliest",
    # Tansu has no idempotent/transactional producer, so no exactly_once.
    "processing_guarantee": "at_least_once",
    "topic_partitions": 4,
    "store": "memory://",
    "web_enabled": False,
    # The leader-election topic is only needed for on_leader=True timers.
    "topic_disable_leader": True,
    # Smaller redelivery window after a crash (default is 2.8 s).
    "broker_commit_interval": 1.0,
}


def build_app(
    bootstrap: str,
    *,
    app_id: str = "spike",
    topic: str = "spike.input",
    partitions: int = 4,
    out_dir: str | os.PathLike[str] = ".",
    worker_id: str = "w0",
    delay: float = 0.0,
    forward_to: str | None = None,
    **overrides: Any,
) -> faust.App:
    """Build a configured Faust app with one recording agent.

    ``delay`` slows each event down so a test can kill the worker mid-stream.
    A value of ``b"poison"`` makes the agent raise, to show what Faust does
    with a failing event (it is acked and skipped, the agent is restarted).
    ``forward_to`` re-sends each record, keyed the same, to another topic: the
    shape of memstream's fast->fine hand-off.
    """
    settings = {**SETTINGS_FOR_TANSU, "topic_partitions": partitions, **overrides}
    app = faust.App(app_id, broker=f"kafka://{bootstrap}", **settings)
    # "raw": the app-wide default serializer is json, even for bytes types.
    source = app.topic(
        topic, key_type=bytes, value_type=bytes, key_serializer="raw",
        value_serializer="raw", partitions=partitions,
    )
    sink = (
        app.topic(forward_to, key_type=bytes, value_type=bytes, key_serializer="raw",
                  value_serializer="raw", partitions=partitions)
        if forward_to else None
    )
    out_path = Path(out_dir) / f"{worker_id}.jsonl"
    fd = os.open(out_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)

    def record(kind: str, **fields: Any) -> None:
        line = {"kind": kind, "worker": worker_id, "pid": os.getpid(), "t": time.time(), **fields}
        os.write(fd, (json.dumps(line) + "\n").encode())

    record("boot")

    # An explicit name: the default derives from the module, which is
    # "__main__" under `python -m` but the real module name under `faust -A`.
    @app.agent(source, name="spike.consume")
    async def consume(stream: faust.StreamT) -> None:
        async for event in stream.events():
            msg = event.message
            value = event.value
            record(
                "event",
                topic=msg.topic,
                partition=msg.partition,
                offset=msg.offset,
                key=(event.key or b"").decode(),
                value=value.decode(),
            )
            if value == b"poison":
                raise RuntimeError("poison record")
            if sink is not None:
                # Buffered by Faust's producer; flushed before offsets commit.
                await sink.send(key=event.key, value=value)
            if delay:
                await asyncio.sleep(delay)

    @app.on_partitions_assigned.connect
    async def on_assigned(app: faust.App, assigned: set, **kwargs: Any) -> None:
        record("assigned", tps=sorted([tp.topic, tp.partition] for tp in assigned))

    @app.on_rebalance_complete.connect
    async def on_complete(app: faust.App, **kwargs: Any) -> None:
        assignment = app.consumer.assignment()
        record("rebalanced", tps=sorted([tp.topic, tp.partition] for tp in assignment))

    return app


def app_from_env() -> faust.App:
    """Build the app from ``SPIKE_*`` variables (used by both start paths)."""
    env = os.environ
    return build_app(
        env.get("SPIKE_BOOTSTRAP", "127.0.0.1:9092"),
        app_id=env.get("SPIKE_APP_ID", "spike"),
        topic=env.get("SPIKE_TOPIC", "spike.input"),
        partitions=int(env.get("SPIKE_PARTITIONS", "4")),
        out_dir=env.get("SPIKE_OUT", "."),
        worker_id=env.get("SPIKE_WORKER_ID", "w0"),
        delay=float(env.get("SPIKE_DELAY", "0")),
        forward_to=env.get("SPIKE_FORWARD") or None,
        broker_commit_interval=float(env.get("SPIKE_COMMIT_INTERVAL", "1.0")),
    )


def run_worker(app: faust.App, loglevel: str = "info") -> None:
    """Run ``app`` until SIGTERM/SIGINT: what ``memstream worker`` should do.

    ``faust.Worker`` installs signal handlers and owns the event loop;
    ``execute_from_commandline`` blocks until the worker stops.
    """
    worker = faust.Worker(app, loglevel=loglevel, quiet=True, redirect_stdouts=False)
    worker.execute_from_commandline()


# Only built when imported by ``faust -A`` / ``-m``: plain imports in pytest
# must not open output files in the working directory.
if os.environ.get("SPIKE_OUT"):
    app = app_from_env()

if __name__ == "__main__":
    run_worker(app)
