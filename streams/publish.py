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
from domain.envelope import InputEnvelope, KnowledgeDocument
from streams.topics import ensure_topics, topic_specs_for


def record_key(item: InputEnvelope | KnowledgeDocument) -> bytes:
    if isinstance(item, KnowledgeDocument):
        return f"{item.kb_id}/{item.doc_id}".encode()
    return item.user_id.encode()


def record_value(item: InputEnvelope | KnowledgeDocument) -> bytes:
    return item.model_dump_json(exclude_none=True).encode()


async def send_all(bootstrap: str, topic: str, records: Iterable[tuple[bytes, bytes]], progress: Any = None) -> int:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5,
                                enable_idempotence=False, request_timeout_ms=30000)
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
    for _, item in read_jsonl(path, model):
        if isinstance(item, BadLine):
            rejected.append(item.to_dict())
        else:
            good.append((record_key(item), record_value(item)))
    with tqdm(total=count_lines(path) - len(rejected), unit="msg", disable=quiet or None, file=sys.stderr) as bar:
        published = asyncio.run(send_all(settings.kafka_url, topic, good, bar.update))
    return {"mode": "published", "file": str(path), "topic": topic, "bootstrap": settings.kafka_url,
            "published": published, "rejected": rejected}
