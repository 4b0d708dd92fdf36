"""The smallest Faust worker for the canary in ``test_faust_on_tansu``.

Run as ``python -m tests.integration.faust_spike_app`` with ``SPIKE_*`` variables.
Its agent appends one JSON line per consumed record (and one per completed
rebalance) to ``$SPIKE_OUT/<worker_id>.jsonl`` with ``os.write`` on an
``O_APPEND`` descriptor, and raises on the value ``b"poison"``.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

import faust

from streams.faust_worker import run_worker


def build_app() -> faust.App:
    env = os.environ
    worker_id = env["SPIKE_WORKER_ID"]
    app = faust.App(
        env["SPIKE_APP_ID"], broker=f"kafka://{env['SPIKE_BOOTSTRAP']}",
        # What memstream's worker uses on Tansu (streams/app.py faust_settings).
        broker_session_timeout=2.0, broker_heartbeat_interval=0.5,
        consumer_auto_offset_reset="earliest", processing_guarantee="at_least_once",
        topic_partitions=4, store="memory://", web_enabled=False, topic_disable_leader=True,
        broker_commit_interval=float(env.get("SPIKE_COMMIT_INTERVAL", "1.0")),
    )
    source = app.topic(env["SPIKE_TOPIC"], key_type=bytes, value_type=bytes, key_serializer="raw",
                       value_serializer="raw", partitions=4)
    fd = os.open(os.path.join(env["SPIKE_OUT"], f"{worker_id}.jsonl"), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)

    def record(kind: str, **fields: Any) -> None:
        os.write(fd, (json.dumps({"kind": kind, "worker": worker_id, "t": time.time(), **fields}) + "\n").encode())

    @app.agent(source, name="spike.consume")
    async def consume(stream: faust.StreamT) -> None:
        async for event in stream.events():
            record("event", partition=event.message.partition, offset=event.message.offset,
                   value=event.value.decode())
            if event.value == b"poison":
                raise RuntimeError("poison record")

    @app.on_rebalance_complete.connect
    async def on_complete(app: faust.App, **kwargs: Any) -> None:
        record("rebalanced", tps=sorted([tp.topic, tp.partition] for tp in app.consumer.assignment()))

    return app


if __name__ == "__main__":
    run_worker(build_app())
