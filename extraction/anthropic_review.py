"""Claude as the Offline stage's reviewer: one call per swept user, structured output via a tool.

The model sees the user's active memories (as the rule-based plan leaves them) as M1,
M2, ... and answers through one tool whose input is a list of proposed changes
``{memory_id, action: revise|archive|merge, survivor?, content?, reason}``; handles
are mapped back to Memory IDs here, and the Offline stage then accepts only the
proposals that pass ``domain.review.accept``. Retries (429 / 529 / 5xx / timeouts /
connection errors) follow the extractor's policy; a call that still fails, or an
answer without the tool call or with malformed input, raises ``ReviewUnavailable``
and the sweep keeps its rule-based plan.
"""

from __future__ import annotations

import collections
import logging
import re
import time
from typing import Any, Callable, Literal, Sequence

import anthropic
from pydantic import BaseModel, Field, ValidationError

from domain.reconciliation import MemoryState
from domain.review import ProposedChange, ReviewUnavailable
from extraction.anthropic_calls import RetryingToolCaller
from extraction.anthropic_extractor import _inline, _why

log = logging.getLogger(__name__)

TOOL_NAME = "propose_memory_changes"


class ProposalModel(BaseModel):
    memory_id: str = Field(description="handle of the memory to change (M1, ...)")
    action: Literal["revise", "archive", "merge"]
    survivor: str | None = Field(None, description="for merge: handle of the memory kept, which absorbs this one")
    content: str | None = Field(None, description="for revise: the memory's full new content")
    reason: Literal["duplicate", "conflict", "refinement", "superseded", "no_information"]
    note: str | None = Field(None, description="one short sentence: why")


class ProposalsModel(BaseModel):
    changes: list[ProposalModel]


TOOL = {
    "name": TOOL_NAME,
    "description": "Propose changes that keep the user's long-term memory consistent.",
    "input_schema": _inline(ProposalsModel.model_json_schema()),
}

SYSTEM_PROMPT = """\
You review the long-term memory an AI assistant keeps about one user. The memories are shown \
as M1, M2, ... with their kind, key and the time they were first stated. Propose only changes \
you are sure of:
- merge: two memories state the same thing in other words; merge the later one into the \
earlier (survivor "M…"), reason "duplicate".
- archive: a memory is contradicted by a later one about the same thing (reason "conflict"), \
is fully covered by others (reason "superseded"), or carries no information about the user \
(reason "no_information").
- revise: a memory's text is wrong or unclear given the others; give its full new content, \
written as a standalone third-person statement in the memory's language, reason \
"refinement" or "conflict".
Similar is not the same: "likes tennis" and "likes table tennis", two different sisters, two \
trips in different years are different memories; leave them. Answer only by calling the \
tool; an empty list of changes is a valid (and common) answer."""


def render_memories(memories: Sequence[MemoryState]) -> tuple[str, dict[str, str]]:
    handles = {f"M{i}": m.memory_id for i, m in enumerate(memories, 1)}
    lines = ["Active memories of the user:"]
    for handle, m in zip(handles, memories):
        times = m.chat_times()
        when = times[0][:10] if times else "time unknown"
        lines.append(f"{handle} [{m.kind}, key {m.key}, first stated {when}] {m.content}")
    if not memories:
        lines.append("(none)")
    return "\n".join(lines), handles


def _handle(raw: str | None, handles: dict[str, str]) -> str | None:
    """A handle ("M1", "m1", "1") to its Memory ID; anything else is passed on as written,
    so that the stage rejects it (an id the model made up, or another user's)."""
    if raw is None:
        return None
    match = re.fullmatch(r"\s*[Mm]?\s*(\d+)\s*", raw)
    if match:
        return handles.get(f"M{match.group(1)}", f"M{match.group(1)}")
    return raw.strip()


class AnthropicReviewer(RetryingToolCaller):
    """``MemoryReviewer`` on the Messages API."""

    def __init__(self, *, client: anthropic.Anthropic | None = None, api_key: str | None = None,
                 http_client: Any = None, model: str = "claude-sonnet-5-5", timeout: float = 60.0,
                 max_attempts: int = 3, base_delay: float = 0.5, max_delay: float = 20.0, max_tokens: int = 4096,
                 max_memories: int = 400, sleep: Callable[[float], None] = time.sleep) -> None:
        if client is None:
            if not api_key:
                raise ValueError("AnthropicReviewer needs a client or an api_key")
            client = anthropic.Anthropic(api_key=api_key, timeout=timeout, max_retries=0, http_client=http_client)
        self.client = client.with_options(max_retries=0)
        self.model, self.name = model, f"review:anthropic:{model}"
        self.timeout, self.max_tokens, self.max_memories = timeout, max_tokens, max_memories
        self.max_attempts, self.base_delay, self.max_delay, self.sleep = max(1, max_attempts), base_delay, max_delay, sleep
        self.calls = self.retries = self.failures = 0
        self.failure_reasons: collections.Counter[str] = collections.Counter()

    def review(self, user_id: str, memories: Sequence[MemoryState]) -> list[ProposedChange]:
        shown = sorted(memories, key=MemoryState.age)[: self.max_memories]
        if len(shown) < 2:
            return []
        prompt, handles = render_memories(shown)
        try:
            response = self._call(prompt)
        except anthropic.AnthropicError as error:
            raise self._failed(_why(error)) from error
        block = next((b for b in response.content if b.type == "tool_use" and b.name == TOOL_NAME), None)
        if block is None:
            raise self._failed("no tool call")
        try:
            output = ProposalsModel.model_validate(block.input)
        except ValidationError as error:
            log.warning("malformed %s input (stop_reason %s): %s", TOOL_NAME, response.stop_reason, error)
            raise self._failed("truncated output" if response.stop_reason == "max_tokens" else "malformed output")
        return [ProposedChange(memory_id=_handle(p.memory_id, handles) or "", action=p.action, reason=p.reason,
                               survivor=_handle(p.survivor, handles), content=(p.content or "").strip() or None,
                               note=p.note)
                for p in output.changes]

    def _failed(self, why: str) -> ReviewUnavailable:
        self.failures += 1
        self.failure_reasons[why] += 1
        return ReviewUnavailable(why)

    def _call(self, prompt: str) -> Any:
        return self._call_tool(SYSTEM_PROMPT, prompt, TOOL, "anthropic review call")
