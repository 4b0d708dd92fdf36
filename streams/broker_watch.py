"""Keeping a running worker going when the broker restarts under it.

Why: Tansu with memory storage (memstream's default broker) comes back from a restart
empty: no topics, no consumer group, offsets from 0. A worker that only waited saw
``UnknownTopicOrPartitionError`` on every commit and stayed idle for good, and the
first client that asked for a topic's metadata made Tansu auto-create it with 4
partitions, whatever the topic's real count (one dead-letter partition, or the
configured count of the keyed topics).

So a worker process
- never lets its Kafka clients auto-create a topic (``forbid_topic_auto_creation``:
  Tansu honours ``allow_auto_topic_creation=False`` in Metadata v4+), and
- runs a ``TopicKeeper``: every ``interval`` seconds it lists the topics and creates
  the missing ones with their final partition counts. aiokafka's consumer then sees
  them at its next metadata refresh, rejoins the new group and, finding no committed
  offsets, starts from the earliest; Faust drops its read positions on the revoke.
  Positions tracked against the old broker are told apart by the broker incarnation
  (domain/broker_incarnation.py), so nothing new is skipped.
- Fast-to-Fine hand-offs the old broker held but nobody had consumed are gone with
  it: ``on_restart`` lets the worker hand off again every input recorded but not yet
  refined (refining twice is a no-op).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Awaitable, Callable, Sequence

from aiokafka import client as aiokafka_client
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.protocol.metadata import MetadataRequest

from streams.topics import TopicSpec, _ensure, bootstrap_servers

log = logging.getLogger(__name__)

CHECK_INTERVAL = 1.0  # seconds between topic checks: a listing is one small request


class _NoAutoCreateMetadataRequest(MetadataRequest):
    """A metadata request that never asks the broker to create the topics it names."""

    def __init__(self, topics: list[str] | None = None, allow_auto_topic_creation: bool | None = None):
        super().__init__(topics, False if allow_auto_topic_creation is None else allow_auto_topic_creation)


def forbid_topic_auto_creation() -> None:
    """Every aiokafka client of this process asks metadata without auto-creation (idempotent)."""
    aiokafka_client.MetadataRequest = _NoAutoCreateMetadataRequest  # type: ignore[misc]


class TopicKeeper:
    """Re-creates the worker's topics when the broker no longer has them."""

    def __init__(self, bootstrap: str | Sequence[str], specs: Sequence[TopicSpec],
                 on_restart: Callable[[list[str]], Awaitable[None]] | None = None,
                 interval: float = CHECK_INTERVAL, timeout: float = 10.0) -> None:
        self.servers = bootstrap_servers(bootstrap)
        self.specs = list(specs)
        self.on_restart = on_restart
        self.interval = interval
        self.timeout = timeout
        self.restarts = 0
        self._admin: AIOKafkaAdminClient | None = None
        self._unreachable = False

    async def check(self) -> list[str]:
        """Create the missing topics; returns their names ([] when all exist or the broker is away)."""
        try:
            if self._admin is None:
                admin = AIOKafkaAdminClient(bootstrap_servers=self.servers, client_id="memstream-keeper",
                                            request_timeout_ms=int(self.timeout * 1000))
                await asyncio.wait_for(admin.start(), self.timeout)
                self._admin = admin
            existing = set(await asyncio.wait_for(self._admin.list_topics(), self.timeout))
            missing = [s for s in self.specs if s.name not in existing]
            if missing:
                await asyncio.wait_for(_ensure(self._admin, missing, self.timeout), self.timeout)
        except Exception as e:  # noqa: BLE001 - a broker away is what this waits out
            if not self._unreachable:
                log.warning("broker unreachable (%s); the worker keeps its state and waits for it", e)
            self._unreachable = True
            await self.close()
            return []
        if self._unreachable and not missing:
            log.warning("broker reachable again, topics intact")
        self._unreachable = False
        if missing:
            names = [s.name for s in missing]
            self.restarts += 1
            log.warning("broker restarted without its topics (%s): re-created them with their partition "
                        "counts; consuming resumes from the new broker's earliest offsets", ", ".join(names))
            if self.on_restart is not None:
                await self.on_restart(names)
            return names
        return []

    async def run(self, should_stop: Callable[[], bool]) -> None:
        try:
            while not should_stop():
                try:
                    await self.check()
                except Exception:  # noqa: BLE001 - the re-drive failed: the next restart tries again
                    log.exception("handling the broker restart failed")
                await asyncio.sleep(self.interval)
        finally:
            await self.close()

    async def close(self) -> None:
        admin, self._admin = self._admin, None
        if admin is not None:
            try:
                await admin.close()
            except Exception:  # noqa: BLE001 - closing a dead connection
                pass
