"""The graph port: what the graph projection writes and hybrid search reads.

A ``MemoryGraph`` is one memory version as graph facts (derived by
``projections.graph.relations`` from the timeline's view). A store applies a batch
of them together with the notification position they came from, in one transaction,
and guards every memory by version: a version at or below the stored one is
ignored, so a replayed older event cannot roll an edge back. The embedded adapter
is ``KuzuGraphStore``; a server engine (Neo4j, FalkorDB) would implement the same
methods with the same Cypher.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, Sequence

from projections.graph.relations import Entity, Relation


@dataclass(frozen=True)
class MemoryGraph:
    memory_id: str
    user_id: str
    kind: str
    version: int
    status: str
    time: str  # when this version was stated (supersedes the previous version's edges at this time)
    relations: list[Relation] = field(default_factory=list)
    mentions: list[Entity] = field(default_factory=list)
    user_names: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Expansion:
    """A memory reached from the seeds: how many hops away and through which entity."""

    memory_id: str
    hops: int
    via: str
    weight: float


class GraphStore(Protocol):
    def position(self) -> int: ...

    def apply(self, changes: Sequence[MemoryGraph], position: int) -> None:
        """Write the versions (in order) and record ``position``, atomically."""

    def entities(self, user_id: str) -> list[dict[str, Any]]:
        """The user's entities: id, name, type, degree (memories that mention it)."""

    def memory_entities(self, user_id: str, memory_ids: Sequence[str]) -> dict[str, list[str]]:
        """Entity ids each active memory mentions."""

    def entity_memories(self, user_id: str, entity_ids: Sequence[str], limit: int) -> dict[str, list[str]]:
        """Active memories mentioning each entity (at most ``limit`` per entity, newest first)."""

    def related(self, user_id: str, entity_ids: Sequence[str]) -> dict[str, list[str]]:
        """Entities one current relation away from each entity."""

    def neighbourhood(self, user_id: str, entity: str | None = None, hops: int = 1,
                      include_superseded: bool = False) -> dict[str, Any]:
        """Nodes and edges around ``entity`` (by name) or the user node."""

    def forget_user(self, user_id: str) -> int:
        """Remove the user's whole subgraph; returns how many nodes went."""

    def clear(self) -> None: ...

    def close(self) -> None: ...
