"""What both index adapters store per point, and the batch rule they share.

Stored layout: the fields the engine filters, guards and
ranks on as real payload fields, and the memory view itself as *one JSON string*
(``view``). Why a string: handing a nested payload across the engine boundary
costs per key and per value (~80 us for a typical episode with its context,
against ~20 us for the flat fields plus one string), and a search needs the
whole view only for the few results it returns, not for its ~50 candidates.
"""

from __future__ import annotations

import json
from typing import Any, Sequence

import numpy as np

from domain.ports import IndexPoint

VIEW = "view"
"""The payload field holding the memory view as JSON text."""
RANKING_FIELDS = ["kind", "updated_ts", "speaker"]
"""What re-ranking reads from a candidate (see ``ranking_payload``)."""
_FLAT_FIELDS = ("user_id", "kind", "key", "version", "tags", "updated_ts")


def view_json(payload: dict[str, Any]) -> str:
    """The memory view as stored: the payload without the index's own fields."""
    return json.dumps({k: v for k, v in payload.items() if k not in ("updated_ts", "tombstone")},
                      ensure_ascii=False, default=str)


def stored_payload(p: IndexPoint) -> dict[str, Any]:
    """Filter/guard/ranking fields flat, the view as one string."""
    payload = p.payload
    stored: dict[str, Any] = {
        "user_id": p.user_id, "kind": p.kind, "key": p.key, "version": int(p.version),
        "tags": [str(t) for t in payload.get("tags") or []],
        VIEW: p.view_json if p.view_json is not None else view_json(payload),
    }
    if payload.get("updated_ts") is not None:
        stored["updated_ts"] = float(payload["updated_ts"])
    speaker = (payload.get("attributes") or {}).get("speaker")
    if speaker:
        stored["speaker"] = str(speaker)
    return stored


def loaded_payload(stored: dict[str, Any]) -> dict[str, Any]:
    """The full payload a search hit carries: the memory view plus the flat fields."""
    payload = json.loads(stored[VIEW]) if VIEW in stored else {}
    payload.update({k: stored[k] for k in _FLAT_FIELDS if k in stored})
    return payload


def ranking_payload(stored: dict[str, Any]) -> dict[str, Any]:
    """Just what fusion and the priors read (``kind``, ``updated_ts``, the speaker)."""
    return {"kind": stored.get("kind"), "updated_ts": stored.get("updated_ts"),
            "attributes": {"speaker": stored.get("speaker")}}


def has_current_layout(stored: dict[str, Any] | None) -> bool:
    """False for a live point written by an older layout (a full nested payload)."""
    return stored is None or VIEW in stored


def latest_per_id(points: Sequence[IndexPoint]) -> dict[str, IndexPoint]:
    """A batch may mention one memory twice; only its highest version can win."""
    latest: dict[str, IndexPoint] = {}
    for p in points:
        cur = latest.get(p.memory_id)
        if cur is None or p.version > cur.version:
            latest[p.memory_id] = p
    return latest


def latest_tombstones(tombstones: Sequence[tuple[str, int]]) -> dict[str, int]:
    """Each deleted id once, at its highest version in the batch."""
    latest: dict[str, int] = {}
    for mid, version in tombstones:
        latest[mid] = max(int(version), latest.get(mid, -1))
    return latest


def tombstones_by_version(tombstones: Sequence[tuple[str, int]]) -> list[tuple[int, list[str]]]:
    """Deletes grouped by version, oldest first, each id once at its highest version
    (engines check a conditional write against one version per request)."""
    groups: dict[int, list[str]] = {}
    for mid, version in latest_tombstones(tombstones).items():
        groups.setdefault(version, []).append(mid)
    return sorted(groups.items())


def checked_vector(dim: int, v: Sequence[float]) -> list[float]:
    """A flat float list of the index's dimension (a wrong-sized vector is a bug upstream)."""
    arr = np.asarray(v, dtype=np.float32).reshape(-1)
    if arr.shape[0] != dim:
        raise ValueError(f"vector has {arr.shape[0]} dims, index expects {dim}")
    return arr.tolist()
