"""Tool memories: what the user's agents learn about a tool from its traces.

One ``tool`` memory per (user, tool name) holds a usage profile: calls, success
rate, mean latency, typical errors and the scenarios it was used in. Each new
trace revises it ("revised as usage accumulates"), so an assistant can prefer
tools that work.

A scenario is the user request that led to the call: the nearest preceding *user*
message in the window that asks for something (a question, an imperative such as
"find"/"book"/帮我/查), looked for back to the previous tool call; failing that, the
nearest preceding user message that carries information at all. Never an assistant
or tool message, and never a remark made after the request ("Also, I went vegan
last month" is not what a restaurant search was for). Scenario text is trimmed of
trailing punctuation, so the rendered sentence ends with exactly one period.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any, Sequence

from domain.extraction import Candidate, WindowMessage
from domain.information import carries_information

FAILED = {"error", "failed", "failure", "timeout", "fail", "exception"}
MAX_SCENARIOS = 3
SCENARIO_CHARS = 120
_TRAILING = re.compile(r"[\s.。!！?？…;；,，:：]+$")
_REQUEST = re.compile(
    r"[?？]\s*$|^\W*(?:please\s+|pls\s+|hey\s+|ok\s+|so\s+)?(?:can|could|would|will)\s+you\b"
    r"|^\W*(?:please\s+|pls\s+|now\s+|ok\s+|so\s+)?(?:find|book|search|look|show|get|check|tell|give|send|"
    r"make|create|set|remind|translate|calculate|compute|convert|order|buy|call|play|schedule|plan|list|"
    r"help|open|add|remove|delete|cancel|reserve|compare|recommend|suggest|summari[sz]e|write|draft)\b"
    r"|\b(?:i need|i want|i'd like|i would like|looking for|how (?:much|many|long|far)|what(?:'s| is) the)\b"
    r"|帮我|帮忙|请|查|订|搜|找|算|翻译|推荐|提醒|我想|我要|多少|怎么|哪",
    re.I,
)


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


def clean_phrase(text: str, limit: int = SCENARIO_CHARS) -> str:
    """One line, at most ``limit`` characters (cut at a word), no trailing punctuation."""
    text = " ".join(str(text).split())
    if len(text) > limit:
        cut = text[:limit]
        text = (cut.rsplit(" ", 1)[0] if " " in cut[limit // 2:] else cut) + "…"
    return _TRAILING.sub("", text) if not text.endswith("…") else text


def is_request(text: str) -> bool:
    return bool(_REQUEST.search(text))


def request_before(messages: Sequence[WindowMessage], index: int) -> str | None:
    """The user request that led to the tool call at ``index`` (see the module doc)."""
    informative: str | None = None
    in_turn = True  # still between this call and the previous tool call
    for message in reversed(messages[:index]):
        if message.role == "tool":
            in_turn = False
            continue
        if message.role != "user" or not carries_information(message.text):
            continue
        if in_turn and is_request(message.text):
            return clean_phrase(message.text)
        if informative is None:
            informative = clean_phrase(message.text)
    return informative


def describe(tool: str, usage: dict[str, Any]) -> str:
    rate = 100.0 * usage["successes"] / max(usage["calls"], 1)
    parts = [f"Tool {tool}: {usage['calls']} calls, {rate:.0f}% successful"]
    if usage["latency_samples"]:
        parts.append(f"mean latency {usage['latency_ms_total'] / usage['latency_samples']:.0f} ms")
    if usage["errors"]:
        parts.append("typical errors: " + "; ".join(clean_phrase(e) for e in list(usage["errors"])[:2]))
    scenarios = [clean_phrase(s) for s in usage["scenarios"] if clean_phrase(s)]
    if scenarios:
        parts.append("used for: " + " | ".join(scenarios))
    text = ", ".join(parts[:2]) + ("; " + "; ".join(parts[2:]) if len(parts) > 2 else "")
    return text if text.endswith(("…", ".")) else text + "."


def tool_candidates(messages: Sequence[WindowMessage]) -> tuple[list[Candidate], set[str]]:
    """One candidate per new tool trace; the scenario is the user request that led to it."""
    found: list[Candidate] = []
    covered: set[str] = set()
    for index, message in enumerate(messages):
        if message.role != "tool" or not message.is_new or not message.tool_name:
            continue
        usage = usage_of(message, request_before(messages, index))
        found.append(Candidate(
            kind="tool", slot=f"tool.{message.tool_name}", clause="", lang="en",
            content=describe(message.tool_name, usage), source_message_ids=(message.message_id,),
            confidence=1.0, attributes={"tool": message.tool_name, "usage": usage},
        ))
        covered.add(message.message_id)
    return found, covered
