"""An extractor that asks Claude for memory decisions, falling back to the offline rules.

The model sees the user's memories as M1, M2, ... and the messages as #1, #2, ...,
never raw UUIDs (which it would miscopy, at a token cost), and answers through one
tool whose input schema is generated from the pydantic models that then validate
the reply. Handles are mapped back here; a decision naming an unknown handle is
dropped and logged rather than failing the batch. Every failure (API unreachable
after retries, rejected key, no tool call, malformed input) ends in the offline
fallback, so the Fine stage always runs; its ``decided_by`` says it stood in and why.
The SDK's own retries are off so that policy, delays and counts live here.
"""

from __future__ import annotations

import collections
import logging
import re
import time
from typing import Any, Callable, Literal, Sequence

import anthropic
from pydantic import BaseModel, Field, ValidationError

from extraction.anthropic_calls import RetryingToolCaller, retryable
from domain.extraction import Decision, ExistingMemory, Extraction, ExtractionRequest, Extractor, WindowMessage
from domain.governance import GovernancePolicy, Incoming
from domain.attachments import is_web_image
from domain.skill import Skill

log = logging.getLogger(__name__)

TOOL_NAME = "record_memory_decisions"
_CJK = re.compile(r"[\u4e00-\u9fff]")


class SkillModel(BaseModel):
    """A reusable procedure of the user (domain/skill.py): what a ``skill`` decision carries."""

    name: str = Field(min_length=1, description="the task, e.g. 做周报, deploying a release")
    description: str = ""
    steps: list[str] = Field(min_length=1, description="the ordered steps, each a short imperative phrase")
    parameters: dict[str, str | list[str]] = Field(default_factory=dict,
                                                  description="what it is run with: tools, schedule, ...")
    constraints: list[str] = Field(default_factory=list, description="what must or must not happen")
    examples: list[str] = Field(default_factory=list, description="concrete times it was used")
    origin: Literal["described", "accepted_plan"] = "described"


class DecisionModel(BaseModel):
    """One decision as the model states it (handles, not ids)."""

    action: Literal["create", "revise", "archive", "noop"]
    memory: str | None = Field(None, description="handle of the existing memory (M1, ...) for revise/archive")
    kind: Literal["fact", "preference", "tool", "skill"]
    key: str = Field(min_length=1, description="normalised slot, e.g. residence, diet.spicy, "
                     "travel.2025-summer, preference.hotel.tier; 'profile' for the personal profile")
    content: str = Field(min_length=1, description="standalone third-person statement about the user")
    preference_type: Literal["explicit", "implicit"] | None = None
    reasoning: str | None = Field(None, description="why, required for implicit preferences")
    confidence: float = Field(ge=0.0, le=1.0)
    sources: list[str] = Field(description="handles of the messages this comes from (#1, ...)")
    reason: Literal["new", "conflict", "refinement", "duplicate"]
    merge_into: str | None = Field(None, description="for archiving a duplicate: handle of the memory kept")
    skill: SkillModel | None = Field(None, description="required for kind skill: the whole procedure as it now is")


class DecisionsModel(BaseModel):
    """The whole tool input: the decisions plus which new messages they fully cover."""

    decisions: list[DecisionModel]
    covered_messages: list[str] = Field(
        default_factory=list,
        description="handles of NEW messages whose whole content is represented (or is small talk)",
    )


def _inline(node: Any, defs: dict[str, Any] | None = None) -> Any:
    """Resolve ``$ref``s and drop titles: a flat schema is what tool input schemas handle
    most reliably, and it keeps the request (and its recording) readable."""
    if defs is None and isinstance(node, dict):
        node = dict(node)
        defs = node.pop("$defs", {})
    if isinstance(node, dict):
        if "$ref" in node:
            return _inline(defs[node["$ref"].rsplit("/", 1)[-1]], defs)
        return {k: _inline(v, defs) for k, v in node.items() if k != "title"}
    return [_inline(v, defs) for v in node] if isinstance(node, list) else node


TOOL = {
    "name": TOOL_NAME,
    "description": "Record what to remember about the user from the new messages.",
    "input_schema": _inline(DecisionsModel.model_json_schema()),
}

SYSTEM_PROMPT = """\
You produce long-term memories for an AI assistant. From the NEW messages, extract what is \
worth remembering about the USER: facts, preferences, tool usage and skills. Earlier messages \
are context only; never record something again just because it appears there. Small talk, \
greetings and questions without information about the user produce nothing.

Rules:
- Write each memory's content as a standalone third-person statement ("用户…" if the user \
writes Chinese, otherwise "The user …").
- Resolve relative dates ("今年暑假", "next Friday") to absolute dates or periods using each \
message's time, e.g. "2025年暑假".
- key is a normalised slot: residence, diet.spicy, travel.2025-summer, preference.hotel.tier, ... \
Personal attributes (name, residence, diet, food likes) live together in ONE fact with key \
"profile": when one exists, revise it with the full updated content.
- Preferences: preference_type "explicit" when the user states it, "implicit" when you infer it \
from behaviour; give the reasoning. Example: the assistant offers 七天, 全季 or 希尔顿 and the user \
picks 七天 → fact "用户计划在2025年暑假期间前往广州旅游，并选择了七天连锁酒店" and implicit \
preference "用户可能偏好性价比较高的酒店" (reasoning: 七天 is a budget chain, chosen over mid-range \
and luxury options).
- Existing memories are shown as M1, M2, ...; messages as #1, #2, .... When new information \
conflicts with or refines an existing memory, REVISE that memory (action "revise", memory "M…", \
reason "conflict" or "refinement") with its full new content instead of creating another one. \
Example: M1 "用户叫小忆，在上海居住，不能吃辣" and the user says they moved to 成都 and now love \
spicy hotpot → revise M1 to "用户叫小忆，在成都居住，喜欢吃辣，喜欢四川火锅".
- Repeating a known fact is not a decision. Two existing memories saying the same thing: revise \
one and archive the other (reason "duplicate", merge_into the one kept).
- Images sent with the messages are shown to you; a memory about one says so ("用户分享了一张照片：…", \
"The user shared a photo: …").
- Skills: a reusable procedure (ordered steps) the user describes as how they usually do a task \
("我一般先…再…", numbered steps, "first … then …"), or a plan the assistant proposed that the user \
accepts or follows, is a memory of kind "skill" with key "skill.<task>", content a readable summary \
of the steps, and the "skill" field filled (name, description, steps, parameters, constraints, \
examples, origin). A later change, addition or use of the same procedure REVISES that skill with \
its full new form; a story told in order is not a skill.
- sources lists the message handles each decision comes from; covered_messages lists the NEW \
messages whose whole content your decisions represent (or that are pure small talk).
Answer only by calling the tool; an empty decisions list is a valid answer."""


def _when(m: WindowMessage) -> str:
    return m.chat_time.strftime("%Y-%m-%d %H:%M %a %z") if m.chat_time else "time unknown"


def render_request(request: ExtractionRequest) -> tuple[str, dict[str, str], dict[str, str]]:
    """The user turn, plus the handle → memory_id and handle → message_id maps."""
    memories = {f"M{i}": e.memory_id for i, e in enumerate(request.existing, 1)}
    messages = {f"#{i}": m.message_id for i, m in enumerate(request.messages, 1)}
    lines = ["Existing memories of the user:"]
    for handle, e in zip(memories, request.existing):
        extra = f"; {e.preference_type} preference, reasoning: {e.reasoning}" if e.preference_type else ""
        lines.append(f"{handle} [{e.kind}, key {e.key}, v{e.version}{extra}] {e.content}")
    if not request.existing:
        lines.append("(none)")
    context = [(h, m) for h, m in zip(messages, request.messages) if not m.is_new]
    if context:
        lines += ["", "Earlier messages (context only):"]
        lines += [f"{h} [{_when(m)}] {m.role}: {m.text}" for h, m in context]
    lines += ["", "NEW messages (extract from these):"]
    numbers = iter(range(1, 1 + len(web_images(request))))
    for h, m in zip(messages, request.messages):
        if m.is_new:
            shown = "".join(f" [image {next(numbers)} attached above]" for a in m.attachments if is_web_image(a))
            lines.append(f"{h} [{_when(m)}] {m.role}: {m.text}{shown}")
    return "\n".join(lines), memories, messages


def web_images(request: ExtractionRequest) -> list[str]:
    """The http(s) image URLs of the new messages, in order: sent to the model as image blocks."""
    return [a["url"] for m in request.new_messages for a in m.attachments if is_web_image(a)]


def _handle(raw: str, prefix: str) -> str:
    """Normalise what the model wrote ("m1", " M1", "1", "# 3") to the shown form."""
    match = re.fullmatch(r"\s*[#Mm]?\s*(\d+)\s*", raw)
    return f"{prefix}{match.group(1)}" if match else raw


def _clause(content: str) -> str:
    """The content without its subject, so the rule-based consolidator can later join
    it with clauses of its own (``render`` adds "用户" / "The user" back)."""
    for prefix in ("用户", "The user "):
        if content.startswith(prefix):
            return content[len(prefix):].rstrip(".")
    return content


def _attributes(d: DecisionModel, content: str) -> dict[str, Any]:
    """A decision's attributes: its language, and for a skill the procedure (domain/skill.py's shape)."""
    lang = "zh" if _CJK.search(content) else "en"
    if d.kind != "skill" or d.skill is None:
        return {"lang": lang}
    s = d.skill
    skill = Skill(name=s.name.strip(), steps=tuple(x.strip() for x in s.steps if x.strip()), lang=lang,
                  description=s.description.strip(), parameters=dict(s.parameters),
                  constraints=tuple(s.constraints), examples=tuple(s.examples), origin=s.origin)
    return skill.attributes()


def _why(error: anthropic.AnthropicError) -> str:
    """The fallback reason recorded in ``decided_by`` and counted in ``fallback_reasons``."""
    if isinstance(error, anthropic.AuthenticationError):
        return "authentication failed"
    if isinstance(error, anthropic.APIStatusError):
        kind = "api unavailable" if retryable(error) else "api error"
        return f"{kind}: HTTP {error.status_code}"
    if isinstance(error, anthropic.APITimeoutError):
        return "api unavailable: timeout"
    if isinstance(error, anthropic.APIConnectionError):
        return "api unavailable: connection error"
    return f"api error: {type(error).__name__}"  # e.g. an unparseable response body


class AnthropicExtractor(RetryingToolCaller):
    """Claude decides; the offline ``fallback`` decides whenever Claude cannot."""

    def __init__(
        self,
        *,
        fallback: Extractor,
        client: anthropic.Anthropic | None = None,
        api_key: str | None = None,
        http_client: Any = None,
        model: str = "claude-sonnet-5-5",
        timeout: float = 30.0,
        max_attempts: int = 3,
        base_delay: float = 0.5,
        max_delay: float = 20.0,
        max_tokens: int = 2048,
        policy: GovernancePolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if client is None:
            if not api_key:
                raise ValueError("AnthropicExtractor needs a client or an api_key")
            client = anthropic.Anthropic(api_key=api_key, timeout=timeout, max_retries=0, http_client=http_client)
        self.client = client.with_options(max_retries=0)  # retries are ours, even on an injected client
        self.fallback = fallback
        self.model = model
        self.name = f"anthropic:{model}"
        self.timeout = timeout
        self.max_attempts, self.base_delay, self.max_delay = max(1, max_attempts), base_delay, max_delay
        self.max_tokens, self.policy, self.sleep = max_tokens, policy, sleep
        self.calls = self.retries = self.fallbacks = self.dropped_decisions = 0  # for observability
        self.fallback_reasons: collections.Counter[str] = collections.Counter()

    def extract(self, request: ExtractionRequest) -> Extraction:
        if not request.new_messages:
            return Extraction(decisions=(), decided_by=self.name)
        prompt, memories, messages = render_request(request)
        try:
            response = self._call(prompt, web_images(request))
        except anthropic.AnthropicError as error:
            return self._fall_back(request, _why(error))
        block = next((b for b in response.content if b.type == "tool_use" and b.name == TOOL_NAME), None)
        if block is None:
            return self._fall_back(request, "no tool call")
        try:
            output = DecisionsModel.model_validate(block.input)
        except ValidationError as error:
            log.warning("malformed %s input (stop_reason %s): %s", TOOL_NAME, response.stop_reason, error)
            return self._fall_back(request, "truncated output" if response.stop_reason == "max_tokens"
                                   else "malformed output")
        return self._to_extraction(output, request, memories, messages)

    def _call(self, prompt: str, images: Sequence[str] = ()) -> Any:
        """One Messages API call (retried, see ``anthropic_calls``). ``images``: URLs sent as image
        blocks before the text (the model fetches them), in the order the prompt numbers them."""
        content: Any = prompt
        if images:
            content = [{"type": "image", "source": {"type": "url", "url": url}} for url in images]
            content.append({"type": "text", "text": prompt})
        return self._call_tool(SYSTEM_PROMPT, content, TOOL, "anthropic call")

    def _fall_back(self, request: ExtractionRequest, why: str) -> Extraction:
        self.fallbacks += 1
        self.fallback_reasons[why] += 1
        log.warning("%s falling back to %s: %s", self.name, self.fallback.name, why)
        result = self.fallback.extract(request)
        base = result.decided_by or self.fallback.name
        return Extraction(result.decisions, result.covered_message_ids, f"{base} (fallback: {why})")

    def _to_extraction(
        self, output: DecisionsModel, request: ExtractionRequest, memories: dict[str, str], messages: dict[str, str]
    ) -> Extraction:
        existing = {e.memory_id: e for e in request.existing}
        by_id = {m.message_id: m for m in request.messages}
        new_ids = tuple(m.message_id for m in request.new_messages)
        decisions: list[Decision] = []
        for d in (d for d in output.decisions if d.action != "noop"):
            decision = self._to_decision(d, memories, messages, new_ids)
            if decision is None or not self._allowed(decision, existing, by_id):
                self.dropped_decisions += 1
            else:
                decisions.append(decision)
        covered = {messages.get(_handle(h, "#")) for h in output.covered_messages}
        return Extraction(tuple(decisions), frozenset(covered & set(new_ids)), self.name)

    @staticmethod
    def _to_decision(
        d: DecisionModel, memories: dict[str, str], messages: dict[str, str], new_ids: tuple[str, ...]
    ) -> Decision | None:
        memory_id = memories.get(_handle(d.memory or "", "M"))
        if d.action in ("revise", "archive") and memory_id is None:
            log.warning("dropping %s decision with unknown memory handle %r", d.action, d.memory)
            return None
        sources = [messages.get(_handle(h, "#")) for h in d.sources]
        if None in sources:
            log.warning("ignoring unknown message handles in %s", d.sources)
        content, key = d.content.strip(), d.key.strip()
        return Decision(
            action=d.action,
            kind=d.kind,
            key=key,
            content=content,
            reason="new" if d.action == "create" else d.reason,
            memory_id=memory_id if d.action != "create" else None,
            slots={key: _clause(content)} if d.action != "archive" else {},
            preference_type=d.preference_type if d.kind == "preference" else None,
            reasoning=d.reasoning,
            confidence=d.confidence,
            source_message_ids=tuple(dict.fromkeys(s for s in sources if s)) or new_ids,
            attributes=_attributes(d, content),
            merge_into=memories.get(_handle(d.merge_into or "", "M")),
        )

    def _allowed(self, decision: Decision, existing: dict[str, ExistingMemory], by_id: dict[str, WindowMessage]) -> bool:
        """The governance policy still has the last word on conflicts, so replaying an
        old conversation through the model cannot roll a memory back."""
        if self.policy is None or decision.action != "revise" or decision.reason != "conflict":
            return True
        msgs = [by_id[i] for i in decision.source_message_ids if i in by_id]
        times = [m.chat_time.isoformat() for m in msgs if m.chat_time]
        incoming = Incoming(max(times) if times else None, msgs[-1].role if msgs else None, decision.confidence)
        if self.policy.new_wins(existing[decision.memory_id or ""], incoming):
            return True
        log.info("governance %s kept memory %s over the model's revision", self.policy.name, decision.memory_id)
        return False
