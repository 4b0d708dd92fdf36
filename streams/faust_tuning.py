"""Consumer tuning Faust does not expose as a setting.

Faust's aiokafka driver hard-codes ``fetch_max_wait_ms=1500``. Tansu does not
complete a waiting fetch when records arrive, so every consumer hop (messages,
then the fine hand-off) could wait that long; measured at 200 msg/s this made
the Fast stage's p50 ~0.5 s. A short wait costs a few idle fetches per second.
"""

from __future__ import annotations

from typing import Any

from faust.transport.drivers import aiokafka as faust_aiokafka

FETCH_MAX_WAIT_MS = 20
_applied = False


def apply_consumer_tuning(fetch_max_wait_ms: int = FETCH_MAX_WAIT_MS) -> None:
    """Patch the driver once per process (idempotent)."""
    global _applied
    if _applied:
        return
    original = faust_aiokafka.AIOKafkaConsumerThread._create_worker_consumer

    def create_worker_consumer(self: Any, transport: Any) -> Any:
        consumer = original(self, transport)
        consumer._fetch_max_wait_ms = fetch_max_wait_ms  # read when the consumer starts
        return consumer

    faust_aiokafka.AIOKafkaConsumerThread._create_worker_consumer = create_worker_consumer
    _applied = True
