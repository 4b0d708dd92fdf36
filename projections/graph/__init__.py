"""The graph projection (entities and slot relations of the memories) and its store port."""

from __future__ import annotations

from pathlib import Path

from projections.graph.store import GraphStore, MemoryGraph


def open_graph_store(data_dir: Path, *, read_only: bool = False) -> GraphStore:
    """The embedded engine (Kùzu) in DATA_DIR/graph."""
    from projections.graph.kuzu_store import KuzuGraphStore

    return KuzuGraphStore(Path(data_dir) / "graph", read_only=read_only)


__all__ = ["GraphStore", "MemoryGraph", "open_graph_store"]
