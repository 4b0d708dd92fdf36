"""Skills: reusable procedures of a user, and how a later conversation refines one.

A skill memory holds, in ``attributes``: ``name`` (the task, "做周报", "deploying a release"),
``description``, ``steps`` (ordered), ``parameters`` (tools, schedule: what the procedure is
run with), ``constraints`` (what must or must not happen), ``examples`` (concrete times it was
used) and ``origin`` (``described`` by the user, or an ``accepted_plan`` the assistant
proposed). Its content is a readable summary of the same.

Identity: a skill's key is ``skill.<normalised name>``. A later statement about the same task,
by key or by a name that says nearly the same (``same_task``), revises that Memory ID instead
of creating a second skill: a restated procedure replaces the steps, an addition ("另外…",
"also …") appends to them, constraints and parameters accumulate, and reusing the skill ("the
way I usually do") adds an example. Pure functions, no I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Any, Sequence

from domain.extraction import Decision, ExistingMemory
from domain.values import MemoryKind, Reason

KEY_PREFIX = "skill."
MAX_EXAMPLES = 5
SAME_TASK = 0.5
"""Name similarity (Dice over characters pairs / words) at which two tasks are one skill."""
_EN_FILLER = re.compile(r"\b(?:a|an|the|my|our|your|i|we|to|for|of|usually|always|new)\b", re.I)
_ZH_FILLER = re.compile(r"[我的们一下个]|时候|之前|以前")


@dataclass(frozen=True)
class Skill:
    name: str
    steps: tuple[str, ...]
    lang: str
    description: str = ""
    parameters: dict[str, Any] = field(default_factory=dict)
    constraints: tuple[str, ...] = ()
    examples: tuple[str, ...] = ()
    origin: str = "described"

    def attributes(self) -> dict[str, Any]:
        return {"name": self.name, "description": self.description or describe(self), "steps": list(self.steps),
                "parameters": dict(self.parameters), "constraints": list(self.constraints),
                "examples": list(self.examples), "origin": self.origin, "lang": self.lang}

    @classmethod
    def from_attributes(cls, attributes: dict[str, Any]) -> "Skill":
        return cls(name=str(attributes.get("name") or ""), steps=tuple(attributes.get("steps") or ()),
                   lang=str(attributes.get("lang") or "en"), description=str(attributes.get("description") or ""),
                   parameters=dict(attributes.get("parameters") or {}),
                   constraints=tuple(attributes.get("constraints") or ()),
                   examples=tuple(attributes.get("examples") or ()), origin=str(attributes.get("origin") or "described"))


@dataclass(frozen=True)
class FoundSkill:
    """What a rule found in the messages: a skill, or an addition to / a use of one."""

    skill: Skill
    source_message_ids: tuple[str, ...]
    mode: str = "procedure"
    """``procedure``: the steps as stated; ``addition``: steps/constraints to add to the named
    skill; ``use``: the user asks to do it the usual way (``skill.examples`` holds the request)."""
    confidence: float = 0.85


def normalise_name(name: str) -> str:
    text = name.strip().lower()
    if re.search(r"[\u4e00-\u9fff]", text):
        text = _ZH_FILLER.sub("", text)
        return re.sub(r"[^\w\u4e00-\u9fff]+", "", text)
    words = [w for w in re.findall(r"[a-z0-9]+", _EN_FILLER.sub(" ", text))]
    return "-".join(_stem(w) for w in words)


def _stem(word: str) -> str:
    for suffix in ("ing", "es", "s", "ed"):
        if len(word) > len(suffix) + 2 and word.endswith(suffix):
            stem = word[: -len(suffix)]
            return stem[:-1] if len(stem) > 2 and stem[-1] == stem[-2] and stem[-1] not in "aeiouls" else stem
    return word


def skill_key(name: str) -> str:
    return KEY_PREFIX + (normalise_name(name) or "procedure")


def _pieces(name: str) -> set[str]:
    norm = normalise_name(name)
    if "-" in norm or norm.isascii():
        return set(norm.split("-")) - {""}
    return {norm[i:i + 2] for i in range(len(norm) - 1)} or {norm}


def same_task(a: str, b: str) -> bool:
    """Whether two skill names name one task ("做周报" / "写周报的流程", "deploy a release" /
    "deploying releases")."""
    x, y = _pieces(a), _pieces(b)
    if not x or not y:
        return False
    return 2 * len(x & y) / (len(x) + len(y)) >= SAME_TASK


def describe(skill: Skill) -> str:
    n = len(skill.steps)
    if skill.lang == "zh":
        if skill.origin == "accepted_plan":
            return f"助手提出、用户认可的{skill.name}方案（{n}步）"
        return f"用户惯用的{skill.name}流程（{n}步）"
    if skill.origin == "accepted_plan":
        return f"A plan for {skill.name} that the assistant proposed and the user accepted ({n} steps)"
    return f"How the user goes about {skill.name} ({n} steps), as they described it"


_SUMMARY = {
    "zh": {"accepted_plan": "用户认可的{name}方案", "procedure": "用户{name}的流程", "head": "：", "sep": "；",
           "step": "{i}. {s}", "end": "。", "constraints": "注意：{}。", "tools": "使用{}。", "list": "、",
           "schedule": "时间：{}。"},
    "en": {"accepted_plan": "The plan the user accepted for {name}", "procedure": "The user's procedure for {name}",
           "head": ": ", "sep": "; ", "step": "{i}) {s}", "end": ".", "constraints": " Constraints: {}.",
           "tools": " Uses {}.", "list": ", ", "schedule": " When: {}."},
}
"""How a skill's summary reads in each language: one layout, the phrases differ."""


def summary(skill: Skill) -> str:
    """The readable content of a skill memory."""
    p = _SUMMARY["zh" if skill.lang == "zh" else "en"]
    lead = p["accepted_plan" if skill.origin == "accepted_plan" else "procedure"].format(name=skill.name)
    text = lead + p["head"] + p["sep"].join(p["step"].format(i=i, s=s) for i, s in enumerate(skill.steps, 1)) + p["end"]
    if skill.constraints:
        text += p["constraints"].format(p["sep"].join(skill.constraints))
    tools = skill.parameters.get("tools")
    if tools:
        text += p["tools"].format(p["list"].join(tools))
    if skill.parameters.get("schedule"):
        text += p["schedule"].format(skill.parameters["schedule"])
    return text


def _union(old: Sequence[str], new: Sequence[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys([*old, *new]))


def refine(old: Skill, found: FoundSkill) -> Skill:
    """``old`` after what ``found`` says about it (see the module docstring)."""
    new = found.skill
    restated = found.mode == "procedure" and len(new.steps) >= 2
    parameters = {} if restated else dict(old.parameters)  # a restated procedure says what it uses now
    for name, value in new.parameters.items():
        parameters[name] = list(_union(parameters.get(name) or [], value)) if isinstance(value, list) else value
    steps = old.steps
    if restated:
        steps = new.steps
    elif found.mode in ("procedure", "addition"):
        steps = _union(old.steps, new.steps)
    examples = _union(old.examples, new.examples)[-MAX_EXAMPLES:]
    refined = replace(old, steps=steps, parameters=parameters, constraints=_union(old.constraints, new.constraints),
                      examples=examples, lang=new.lang or old.lang,
                      origin=old.origin if found.mode != "procedure" else new.origin)
    return replace(refined, description=describe(refined))


def mentions(text: str, name: str) -> bool:
    """Whether ``text`` names the task ``name`` (most of the name's pieces occur in it)."""
    pieces = _pieces(name)
    return bool(pieces) and len(pieces & _pieces(text)) / len(pieces) >= SAME_TASK


def _match(found: FoundSkill, skills: list[tuple[ExistingMemory | None, Skill]]) -> int | None:
    key = skill_key(found.skill.name)
    for i, (memory, skill) in enumerate(skills):
        if (memory is not None and memory.key == key) or skill_key(skill.name) == key:
            return i
    for i, (_, skill) in enumerate(skills):
        if same_task(skill.name, found.skill.name):
            return i
    if found.mode in ("use", "addition"):  # "帮我做本周的周报，按我平时的流程来" names 做周报 loosely
        named = [i for i, (_, skill) in enumerate(skills)
                 if mentions(found.skill.name + " " + " ".join(found.skill.examples), skill.name)]
        if len(named) == 1:
            return named[0]
    return None


def decide_skills(found: Sequence[FoundSkill], existing: Sequence[ExistingMemory]) -> list[Decision]:
    """Create / revise decisions for the skills ``found`` (in order) given the user's memories."""
    skills: list[tuple[ExistingMemory | None, Skill]] = [
        (m, Skill.from_attributes(m.attributes)) for m in existing if m.kind == MemoryKind.SKILL.value]
    sources: dict[int, list[str]] = {}
    changed: dict[int, float] = {}
    for item in found:
        index = _match(item, skills)
        if index is None:
            if item.mode != "procedure" or len(item.skill.steps) < 2:
                continue  # an addition to, or a use of, a skill the user does not have
            skill = replace(item.skill, description=item.skill.description or describe(item.skill))
            skills.append((None, skill))
            index = len(skills) - 1
        else:
            memory, skill = skills[index]
            updated = refine(skill, item)
            if updated == skill:
                continue  # said again: nothing new
            skills[index] = (memory, updated)
        sources.setdefault(index, []).extend(item.source_message_ids)
        changed[index] = max(changed.get(index, 0.0), item.confidence)
    decisions = []
    for index in sorted(changed):
        memory, skill = skills[index]
        common = dict(kind=MemoryKind.SKILL.value, key=memory.key if memory else skill_key(skill.name),
                      content=summary(skill), attributes=skill.attributes(), confidence=changed[index],
                      source_message_ids=tuple(dict.fromkeys(sources[index])),
                      slots={memory.key if memory else skill_key(skill.name): summary(skill)})
        if memory is None:
            decisions.append(Decision(action="create", reason=Reason.NEW.value, **common))
        else:
            decisions.append(Decision(action="revise", memory_id=memory.memory_id,
                                      reason=Reason.REFINEMENT.value, **common))
    return decisions
