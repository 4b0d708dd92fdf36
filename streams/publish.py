"""Publishing input to Kafka (``memstream ingest`` with MEMSTREAM_KAFKA_URL set).

Lines are validated before they are sent, so a bad line is reported to the
person running the command (line number and reason) instead of becoming a dead
letter; valid lines are sent keyed by user_id (documents by kb_id/doc_id) and
the command waits for the broker's acknowledgements.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any, Iterable

from aiokafka import AIOKafkaProducer
from tqdm import tqdm

from application.jsonl import BadLine, count_lines, read_jsonl
from application.settings import Settings
from domain.envelope import MAX_ENVELOPE_BYTES, InputEnvelope, KnowledgeDocument
from streams.topics import bootstrap_servers, ensure_topics, topic_specs_for

MAX_REQUEST_SIZE = 1_000_000
"""The producer's largest record: Faust's producer default, and under the broker's default
``message.max.bytes`` (1048588) and the consumers' default fetch size (1 MiB)."""

REENCODING_HEADROOM = 64 * 1024
"""What re-encoding a valid line can add (a generated event_id, defaults such as
``"content": ""``, dates written out in full), with a wide margin."""

assert MAX_ENVELOPE_BYTES + REENCODING_HEADROOM <= MAX_REQUEST_SIZE, "a valid envelope must fit one request"


def record_key(item: InputEnvelope | KnowledgeDocument) -> bytes:
    if isinstance(item, KnowledgeDocument):
        return f"{item.kb_id}/{item.doc_id}".encode()
    return item.user_id.encode()


def record_value(item: InputEnvelope | KnowledgeDocument) -> bytes:
    return item.model_dump_json(exclude_none=True).encode()


async def send_all(bootstrap: str, topic: str, records: Iterable[tuple[bytes, bytes]], progress: Any = None) -> int:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap_servers(bootstrap), acks="all", linger_ms=5,
                                enable_idempotence=False, request_timeout_ms=30000,
                                max_request_size=MAX_REQUEST_SIZE)
    await producer.start()
    sent = 0
    try:
        pending = []
        for key, value in records:
            pending.append(await producer.send(topic, value=value, key=key))
            sent += 1
            if progress is not None:
                progress(1)
            if len(pending) >= 1000:
                await asyncio.gather(*pending)
                pending.clear()
        await asyncio.gather(*pending)
    finally:
        await producer.stop()
    return sent


def publish_file(settings: Settings, path: Path, model: type, quiet: bool = False) -> dict[str, Any]:
    topic = settings.topic("knowledge" if model is KnowledgeDocument else "messages")
    asyncio.run(ensure_topics(settings.kafka_url, topic_specs_for(settings)))
    rejected: list[dict[str, Any]] = []
    good: list[tuple[bytes, bytes]] = []
    for number, item in read_jsonl(path, model):
        if isinstance(item, BadLine):
            rejected.append(item.to_dict())
            continue
        value = record_value(item)
        if len(value) + len(record_key(item)) + 200 > MAX_REQUEST_SIZE:  # a large knowledge document
            rejected.append(BadLine(number, f"record is {len(value)} bytes once encoded; the broker takes "
                                            f"at most {MAX_REQUEST_SIZE}").to_dict())
        else:
            good.append((record_key(item), value))
    with tqdm(total=count_lines(path) - len(rejected), unit="msg", disable=quiet or None, file=sys.stderr) as bar:
        published = asyncio.run(send_all(settings.kafka_url, topic, good, bar.update))
    return {"mode": "published", "file": str(path), "topic": topic, "bootstrap": settings.kafka_url,
            "published": published, "rejected": rejected}
