"""Tool memories: what the user's agents learn about a tool from its traces.

One ``tool`` memory per (user, tool name) holds a usage profile: calls, success
rate, mean latency, typical errors and the scenarios it was used in. Each new
trace revises it ("revised as usage accumulates"), so an assistant can prefer
tools that work.
"""

from __future__ import annotations

from collections import Counter
from typing import Any, Sequence

from domain.extraction import Candidate, WindowMessage

FAILED = {"error", "failed", "failure", "timeout", "fail", "exception"}
MAX_SCENARIOS = 3


def _status_ok(message: WindowMessage) -> bool:
    return (message.status or "success").lower() not in FAILED


def _error_of(message: WindowMessage) -> str | None:
    if _status_ok(message):
        return None
    output = message.tool_output if isinstance(message.tool_output, str) else ""
    return (message.status or "error") + (f": {output[:80]}" if output else "")


def usage_of(message: WindowMessage, scenario: str | None) -> dict[str, Any]:
    ok = _status_ok(message)
    error = _error_of(message)
    return {
        "calls": 1,
        "successes": int(ok),
        "latency_ms_total": float(message.latency_ms or 0.0),
        "latency_samples": int(message.latency_ms is not None),
        "errors": {error: 1} if error else {},
        "scenarios": [scenario] if scenario else [],
    }


def merge_usage(held: dict[str, Any] | None, new: dict[str, Any]) -> dict[str, Any]:
    held = held or {}
    errors = Counter(held.get("errors") or {}) + Counter(new.get("errors") or {})
    scenarios = [s for s in (held.get("scenarios") or []) + new.get("scenarios", []) if s]
    return {
        "calls": held.get("calls", 0) + new["calls"],
        "successes": held.get("successes", 0) + new["successes"],
        "latency_ms_total": held.get("latency_ms_total", 0.0) + new["latency_ms_total"],
        "latency_samples": held.get("latency_samples", 0) + new["latency_samples"],
        "errors": dict(errors.most_common(5)),
        "scenarios": list(dict.fromkeys(scenarios))[-MAX_SCENARIOS:],
    }


def describe(tool: str, usage: dict[str, Any]) -> str:
    rate = 100.0 * usage["successes"] / max(usage["calls"], 1)
    parts = [f"Tool {tool}: {usage['calls']} calls, {rate:.0f}% successful"]
    if usage["latency_samples"]:
        parts.append(f"mean latency {usage['latency_ms_total'] / usage['latency_samples']:.0f} ms")
    if usage["errors"]:
        parts.append("typical errors: " + "; ".join(list(usage["errors"])[:2]))
    if usage["scenarios"]:
        parts.append("used for: " + " | ".join(usage["scenarios"]))
    return ", ".join(parts[:2]) + ("; " + "; ".join(parts[2:]) if len(parts) > 2 else "") + "."


def tool_candidates(messages: Sequence[WindowMessage]) -> tuple[list[Candidate], set[str]]:
    """One candidate per new tool trace; the scenario is the latest user request before it."""
    found: list[Candidate] = []
    covered: set[str] = set()
    scenario: str | None = None
    for message in messages:
        if message.role == "user":
            scenario = message.text[:120]
        if message.role != "tool" or not message.is_new or not message.tool_name:
            continue
        usage = usage_of(message, scenario)
        found.append(Candidate(
            kind="tool", slot=f"tool.{message.tool_name}", clause="", lang="en",
            content=describe(message.tool_name, usage), source_message_ids=(message.message_id,),
            confidence=1.0, attributes={"tool": message.tool_name, "usage": usage},
        ))
        covered.add(message.message_id)
    return found, covered
