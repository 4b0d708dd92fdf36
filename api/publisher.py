"""Publishing ``/add/message`` input to the messages topic (with ``MEMSTREAM_KAFKA_URL``).

One long-lived producer on an event loop of its own thread; handlers (in the server's
thread pool) hand it an envelope and wait for the broker's acknowledgement. Records
are keyed and encoded as ``memstream ingest`` publishes them (streams/publish.py). The
same producer carries the server's memory-events outbox: the server owns the projections,
so it is the process that publishes what they reached (events, and forgotten memories'
tombstones), as a ``worker --role all|projections`` does.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from application.settings import Settings
from domain.envelope import InputEnvelope
from streams.publish import MAX_REQUEST_SIZE, record_key, record_value
from streams.topics import ensure_topics, topic_specs_for

SEND_TIMEOUT = 30.0


class Publisher:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.topic = settings.topic("messages")
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="memstream-api-publisher", daemon=True)
        self._producer: Any = None

    def start(self) -> None:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(timeout=60)

    async def _start(self) -> None:
        from aiokafka import AIOKafkaProducer

        await ensure_topics(self.settings.kafka_url, topic_specs_for(self.settings))
        self._producer = AIOKafkaProducer(bootstrap_servers=self.settings.kafka_url, acks="all", linger_ms=1,
                                          enable_idempotence=False, request_timeout_ms=30000,
                                          max_request_size=MAX_REQUEST_SIZE)
        await self._producer.start()

    async def _send(self, key: bytes, value: bytes) -> tuple[str, int, int]:
        metadata = await (await self._producer.send(self.topic, value=value, key=key))
        return (self.topic, metadata.partition, metadata.offset)

    def publish(self, envelope: InputEnvelope) -> tuple[str, int, int]:
        """Send one envelope; returns (topic, partition, offset) once the broker has it."""
        future = asyncio.run_coroutine_threadsafe(self._send(record_key(envelope), record_value(envelope)),
                                                  self._loop)
        return future.result(timeout=SEND_TIMEOUT)

    async def _send_all(self, topic: str, records: list[tuple[int, bytes, bytes | None]]) -> None:
        futures = [await self._producer.send(topic, value=value, key=key) for _, key, value in records]
        await asyncio.gather(*futures)

    def send_memory_events(self, records: list[tuple[int, bytes, bytes | None]]) -> None:
        """The outbox's records (streams/outbox.py) to the memory-events topic, acknowledged."""
        future = asyncio.run_coroutine_threadsafe(self._send_all(self.settings.topic("memory-events"), records),
                                                  self._loop)
        future.result(timeout=SEND_TIMEOUT)

    def stop(self) -> None:
        if self._producer is not None:
            asyncio.run_coroutine_threadsafe(self._producer.stop(), self._loop).result(timeout=30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
