"""memstream's Kafka topics and an idempotent ``ensure_topics``.

Why explicit creation: Tansu cannot add partitions later (CreatePartitions is
unsupported) and it *auto-creates any unknown topic with 4 partitions* the
moment a client asks for its metadata (a producer send, a consumer
subscription, ``describe_topics``).  So topics must be created with their
final partition count before any producer or Faust worker touches them, or a
1-partition topic such as the dead letters silently becomes a 4-partition one.

Keyed topics are keyed by ``user_id`` so that all of one user's records land
on one partition and are processed in order by one worker.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Iterable, Mapping, Sequence

from aiokafka.admin import AIOKafkaAdminClient, NewTopic

__all__ = [
    "CONTROL",
    "DEADLETTERS",
    "FINE",
    "KNOWLEDGE",
    "MEMORY_EVENTS",
    "MESSAGES",
    "TopicSpec",
    "default_topic_specs",
    "ensure_topics",
    "topic_specs_for",
]

log = logging.getLogger(__name__)

MESSAGES = "memstream.messages"
KNOWLEDGE = "memstream.knowledge"
FINE = "memstream.fine"
MEMORY_EVENTS = "memstream.memory-events"
DEADLETTERS = "memstream.deadletters"
CONTROL = "memstream.control"

DEFAULT_PARTITIONS = 4
DEFAULT_DEADLETTER_PARTITIONS = 1

_TOPIC_ALREADY_EXISTS = 36


@dataclass(frozen=True)
class TopicSpec:
    """One topic: its name, final partition count and what it carries."""

    name: str
    partitions: int = DEFAULT_PARTITIONS
    key: str | None = "user_id"
    description: str = ""
    replication_factor: int = 1
    config: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.partitions < 1:
            raise ValueError(f"{self.name}: partitions must be >= 1, got {self.partitions}")

    def new_topic(self) -> NewTopic:
        return NewTopic(
            self.name,
            self.partitions,
            self.replication_factor,
            topic_configs=dict(self.config),
        )


def default_topic_specs(
    partitions: int = DEFAULT_PARTITIONS,
    deadletter_partitions: int = DEFAULT_DEADLETTER_PARTITIONS,
    prefix: str = "memstream",
) -> list[TopicSpec]:
    """The memstream topic set; ``partitions`` applies to every keyed topic.

    All keyed topics share one partition count so that a user's messages and
    their fine hand-off land on the same partition number (co-partitioned:
    same key, same murmur2 hash), in case a worker keeps per-user state local.
    """
    return [
        TopicSpec(f"{prefix}.messages", partitions, "user_id", "input envelopes from assistants"),
        TopicSpec(f"{prefix}.knowledge", partitions, "kb_id/doc_id", "knowledge documents"),
        TopicSpec(f"{prefix}.fine", partitions, "user_id", "internal fast->fine hand-off"),
        TopicSpec(f"{prefix}.memory-events", partitions, "memory_id",
                  "every memory event, out; a null value (tombstone) for each forgotten memory"),
        TopicSpec(f"{prefix}.offline", partitions, "user_id", "user-changed marks for the Offline stage"),
        TopicSpec(f"{prefix}.deadletters", deadletter_partitions, None, "failed records"),
        TopicSpec(f"{prefix}.control", partitions, "user_id", "operator commands: forget (streams/control.py)"),
    ]


def topic_specs_for(settings: object) -> list[TopicSpec]:
    """Topic specs from memstream ``Settings`` (``topic_prefix``, ``partitions``).

    Read by attribute so this module does not import the application layer;
    ``deadletter_partitions`` is honoured if the settings ever grow one.
    """
    return default_topic_specs(
        partitions=int(getattr(settings, "partitions", DEFAULT_PARTITIONS)),
        deadletter_partitions=int(
            getattr(settings, "deadletter_partitions", DEFAULT_DEADLETTER_PARTITIONS)
        ),
        prefix=str(getattr(settings, "topic_prefix", "memstream")),
    )


def bootstrap_servers(bootstrap: str | Sequence[str]) -> list[str]:
    """``host:port``, ``kafka://host:port`` or a comma-separated list of them, as aiokafka's list."""
    from application.settings import normalise_kafka_url

    text = bootstrap if isinstance(bootstrap, str) else ",".join(bootstrap)
    return normalise_kafka_url(text).split(",")


async def ensure_topics(
    bootstrap: str,
    specs: Iterable[TopicSpec],
    *,
    timeout: float = 30.0,
    client_id: str = "memstream-admin",
) -> dict[str, str]:
    """Create the missing topics with their final partition counts.

    Returns ``{name: status}`` where status is ``"created"``, ``"exists"`` or
    ``"exists-mismatch:<have>!=<want>"``.  "Already exists" is not an error
    (several processes may race to create the same topics); a partition
    mismatch is logged, not fixed, because Tansu cannot repartition.

    Existing topics are found with ListTopics (which does not auto-create)
    before anything is described, so no topic is created by accident.
    """
    specs = list(specs)
    names = [s.name for s in specs]
    if len(set(names)) != len(names):
        raise ValueError(f"duplicate topic names in {names}")
    admin = AIOKafkaAdminClient(
        bootstrap_servers=bootstrap_servers(bootstrap),
        client_id=client_id,
        request_timeout_ms=int(timeout * 1000),
    )
    await asyncio.wait_for(admin.start(), timeout)
    try:
        return await asyncio.wait_for(_ensure(admin, specs, timeout), timeout)
    finally:
        await admin.close()


async def _ensure(
    admin: AIOKafkaAdminClient, specs: list[TopicSpec], timeout: float
) -> dict[str, str]:
    existing = set(await admin.list_topics())
    result: dict[str, str] = {}
    missing = [s for s in specs if s.name not in existing]
    if missing:
        response = await admin.create_topics(
            [s.new_topic() for s in missing], timeout_ms=int(timeout * 1000)
        )
        for topic, code, message in _topic_errors(response):
            if code == 0:
                result[topic] = "created"
            elif code == _TOPIC_ALREADY_EXISTS:
                existing.add(topic)
            else:
                raise RuntimeError(f"creating topic {topic!r} failed: error {code} {message}")
    present = [s for s in specs if s.name in existing and s.name not in result]
    if present:
        described = await admin.describe_topics([s.name for s in present])
        counts = {d["topic"]: len(d["partitions"]) for d in described}
        for spec in present:
            have = counts.get(spec.name)
            if have is None or have == spec.partitions:
                result[spec.name] = "exists"
            else:
                log.warning(
                    "topic %s exists with %s partitions, wanted %s (cannot repartition)",
                    spec.name, have, spec.partitions,
                )
                result[spec.name] = f"exists-mismatch:{have}!={spec.partitions}"
    return result


def _topic_errors(response: object) -> list[tuple[str, int, str | None]]:
    """Normalise CreateTopicsResponse v0..v3 ``topic_errors`` tuples."""
    rows = []
    for entry in getattr(response, "topic_errors", []):
        topic, code = entry[0], entry[1]
        message = entry[2] if len(entry) > 2 else None
        rows.append((topic, code, message))
    return rows
