"""What both index adapters store per point, and the batch rule they share."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from domain.ports import IndexPoint


def stored_payload(p: IndexPoint) -> dict[str, Any]:
    """The memory view plus the fields the engine filters and guards on."""
    payload = dict(p.payload)
    tags = payload.get("tags") or []
    payload.update(
        user_id=p.user_id, kind=p.kind, key=p.key, version=int(p.version),
        tags=[str(t) for t in tags],
    )
    if payload.get("updated_ts") is not None:
        payload["updated_ts"] = float(payload["updated_ts"])
    payload.pop("tombstone", None)
    return payload


def latest_per_id(points: Sequence[IndexPoint]) -> dict[str, IndexPoint]:
    """A batch may mention one memory twice; only its highest version can win."""
    latest: dict[str, IndexPoint] = {}
    for p in points:
        cur = latest.get(p.memory_id)
        if cur is None or p.version > cur.version:
            latest[p.memory_id] = p
    return latest


def checked_vector(dim: int, v: Sequence[float]) -> list[float]:
    """A flat float list of the index's dimension (a wrong-sized vector is a bug upstream)."""
    arr = np.asarray(v, dtype=np.float32).reshape(-1)
    if arr.shape[0] != dim:
        raise ValueError(f"vector has {arr.shape[0]} dims, index expects {dim}")
    return arr.tolist()
