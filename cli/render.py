"""How the CLI shows memories to a person (``--json`` prints the views as they are).

The output stream is looked up at call time, never bound as a default argument: a default
``sys.stdout`` is frozen at import, so a caller that swaps ``sys.stdout`` later (pytest's capsys,
an embedding application) would see nothing.
"""

from __future__ import annotations

import json
import sys
from typing import Any, Iterable, TextIO


def emit_json(data: Any, out: TextIO | None = None) -> None:
    (out or sys.stdout).write(json.dumps(data, ensure_ascii=False, default=str) + "\n")


def memory_line(view: dict[str, Any]) -> str:
    extra = ""
    if view.get("preference_type"):
        extra = f" [{view['preference_type']}]"
    score = f"{view['score']:.3f} " if view.get("score") is not None else ""
    status = "" if view.get("status") == "active" else f" ({view.get('status')})"
    return (
        f"{score}{view['memory_id']}  V{view['version']}  {view['kind']:<10} "
        f"{view['key']:<22} {view['content']}{extra}{status}"
    )


def print_memories(views: Iterable[dict[str, Any]], out: TextIO | None = None) -> int:
    out = out or sys.stdout
    count = 0
    for view in views:
        out.write(memory_line(view) + "\n")
        if view.get("reasoning"):
            out.write(f"{'':>40}reasoning: {view['reasoning']}\n")
        count += 1
    return count


def sources_text(view: dict[str, Any]) -> str:
    cause = view.get("cause") or {}
    ids = ", ".join(m for m in cause.get("message_ids") or [] if m) or ", ".join(cause.get("event_ids") or [])
    where = ""
    if cause.get("topic"):
        where = f" @ {cause['topic']}[{cause.get('partition')}]:{cause.get('offset')}"
    return f"{ids}{where}"


def print_history(versions: list[dict[str, Any]], out: TextIO | None = None) -> None:
    out = out or sys.stdout
    first = versions[0]
    out.write(f"memory {first['memory_id']}  user {first['user_id']}  kind {first['kind']}\n")
    for v in versions:
        out.write(
            f"  V{v['version']}  {v['updated_at']}  stage={v['stage']}  reason={v['reason']}  "
            f"status={v['status']}  by={v['decided_by']}\n"
        )
        out.write(f"      {v['content']}\n")
        out.write(f"      cause: {sources_text(v)}\n")
        if v.get("superseded_by"):
            out.write(f"      superseded by: {', '.join(v['superseded_by'])}\n")
