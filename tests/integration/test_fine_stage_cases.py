"""Fine-stage acceptance set: conversations in, versioned memories out (issue "The Fine stage").

Why this exists: the unit tables check the rule finder and the consolidator apart;
this set checks what a user of memstream sees after each message, through the real
service (Fast + Fine in-process, real rule extractor, time-priority governance, fresh
SQLite store per case). ``tests/fixtures/fine_stage_cases.json`` describes each case
and the expectation format. After every envelope the test checks

- the user's current memories, exactly (no missing, no extra), for every user of the case;
- that a memory keeps its Memory ID while its key lives (revisions, not new memories);
- the invariant: no user has two active memories holding the same slot or the same key;
- which episodes the Fine stage archived.

``test_precision_recall`` scores the created / revised memories over the whole set
(a produced memory is correct when it matches the expected create / revise of that
step; an expected one not produced is a miss) and fails when either figure drops
below what was measured, so extractor or consolidation regressions show up as
numbers, not only as one broken case. ``pytest -s`` prints the figures.
"""

from __future__ import annotations

import copy
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from memstream.bootstrap import build_runtime
from application.settings import Settings
from domain.envelope import InputEnvelope

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "fine_stage_cases.json"
CASES: list[dict[str, Any]] = json.loads(FIXTURE.read_text(encoding="utf-8"))["cases"]

# Measured on the set as written: precision 0.924 (97/105), recall 0.907 (97/107); with predicate
# families, topic revision and the fallback: precision 0.955 (106/111), recall 0.955 (106/111).
# The floors sit ~3 memories below, so one new miss is tolerated and a real regression is not.
PRECISION_FLOOR = 0.92
RECALL_FLOOR = 0.92


@dataclass
class StepRun:
    """What one envelope did, as read back from the timeline view right after it."""

    user: str
    text: str
    changes: list[tuple[str, dict[str, Any]]]  # ("create" | "revise", current view)
    memories: dict[str, list[dict[str, Any]]]  # user -> active non-episode memories
    episodes: list[str | None]  # status of each turn's episode


@dataclass
class CaseRun:
    steps: list[StepRun] = field(default_factory=list)
    error: str | None = None


_RUNS: dict[str, CaseRun] = {}


def users_of(case: dict[str, Any]) -> list[str]:
    users = [case["user"]] + [s["user"] for s in case["steps"] if "user" in s]
    return list(dict.fromkeys(users))


def envelope_of(case: dict[str, Any], index: int) -> InputEnvelope:
    step = case["steps"][index]
    user = step.get("user", case["user"])
    messages = [
        {"message_id": f"s{index}m{i}", "role": turn[0], "content": turn[1],
         "chat_time": turn[2] if len(turn) > 2 else step["at"]}
        for i, turn in enumerate(step["turns"])
    ]
    return InputEnvelope.model_validate({
        "event_id": f"{case['id']}-s{index}", "user_id": user,
        "conversation_id": step.get("conversation", f"c-{user}"), "messages": messages,
    })


def run_case(case: dict[str, Any], data_dir: Path) -> CaseRun:
    """Ingest every envelope of a case on a fresh store; record what each one did."""
    settings = Settings(data_dir=data_dir, event_store=f"sqlite:///{data_dir / 'events.sqlite'}",
                        extractor="rules", governance="time")
    runtime = build_runtime(settings, with_vectors=False)
    run = CaseRun()
    try:
        for index in range(len(case["steps"])):
            envelope = envelope_of(case, index)
            outcome = runtime.service.ingest(envelope)
            current = runtime.timeline.current(outcome.created + outcome.revised)
            changes = [("create", current[m]) for m in outcome.created if m in current]
            changes += [("revise", current[m]) for m in outcome.revised if m in current]
            memories = {u: [m for m in runtime.timeline.memories(u) if m["kind"] != "episode"]
                        for u in users_of(case)}
            episodes = runtime.timeline.memories(envelope.user_id, include_archived=True, kinds=["episode"])
            status = {e["sources"][0]["message_id"]: e["status"] for e in episodes
                      if e["sources"] and e["sources"][0]["event_id"] == envelope.event_id}
            run.steps.append(StepRun(
                user=envelope.user_id, text=" / ".join(t[1] for t in case["steps"][index]["turns"]),
                changes=changes, memories=memories,
                episodes=[status.get(f"s{index}m{i}") for i in range(len(envelope.messages))]))
    except Exception as exc:  # noqa: BLE001 - reported as the case's failure
        run.error = f"{type(exc).__name__}: {exc}"
    finally:
        runtime.close()
    return run


def observed(case: dict[str, Any], factory: pytest.TempPathFactory) -> CaseRun:
    """Each case runs once per session: its own test and the figures share the run."""
    if case["id"] not in _RUNS:
        _RUNS[case["id"]] = run_case(case, factory.mktemp(case["id"]))
    return _RUNS[case["id"]]


# ------------------------------------------------------------------ expectations


def _contains(text: str, needle: str) -> bool:
    if needle.startswith("re:"):
        return re.search(needle[3:], text) is not None
    return needle in text


def mismatches(view: dict[str, Any], exp: dict[str, Any]) -> list[str]:
    """Why a memory view does not satisfy one expectation (empty: it does)."""
    out = []
    for name in ("kind", "version", "preference_type", "reason"):
        if name in exp and view.get(name) != exp[name]:
            out.append(f"{name} is {view.get(name)!r}, expected {exp[name]!r}")
    content, reasoning = view.get("content") or "", view.get("reasoning") or ""
    out += [f"content {content!r} lacks {n!r}" for n in exp.get("has", []) if not _contains(content, n)]
    out += [f"content {content!r} has {n!r}" for n in exp.get("lacks", []) if _contains(content, n)]
    out += [f"reasoning {reasoning!r} lacks {n!r}" for n in exp.get("reasoning_has", [])
            if not _contains(reasoning, n)]
    out += [f"reasoning {reasoning!r} has {n!r}" for n in exp.get("reasoning_lacks", [])
            if _contains(reasoning, n)]
    return out


def expected_states(case: dict[str, Any]) -> list[dict[str, list[dict[str, Any]]]]:
    """The expected current memories of every user after each step (omitted = unchanged)."""
    state: dict[str, list[dict[str, Any]]] = {u: [] for u in users_of(case)}
    states = []
    for step in case["steps"]:
        expect = step.get("expect")
        if isinstance(expect, list):
            state[step.get("user", case["user"])] = expect
        elif isinstance(expect, dict):
            state.update(expect)
        states.append(copy.deepcopy(state))
    return states


def expected_changes(before: dict[str, list], after: dict[str, list]) -> list[tuple[str, str, dict]]:
    """(op, user, expectation) for each memory a step should create or revise."""
    ops = []
    for user, exps in after.items():
        old = {e["key"]: e for e in before.get(user, [])}
        for exp in exps:
            if exp["key"] not in old:
                ops.append(("create", user, exp))
            elif exp["version"] > old[exp["key"]]["version"]:
                ops.append(("revise", user, exp))
    return ops


def invariant_violations(memories: list[dict[str, Any]]) -> list[str]:
    out = []
    keys: dict[str, str] = {}
    slots: dict[str, str] = {}
    for m in memories:
        if m["key"] in keys:
            out.append(f"two active memories with key {m['key']!r}: {keys[m['key']]} and {m['memory_id']}")
        keys[m["key"]] = m["memory_id"]
        for slot in m.get("slots") or {}:
            if slot in slots:
                out.append(f"slot {slot!r} held by two active memories: {slots[slot]} and {m['memory_id']}")
            slots[slot] = m["memory_id"]
        if m.get("preference_type") == "implicit" and not m.get("reasoning"):
            out.append(f"implicit preference {m['key']!r} without reasoning")
    return out


def case_failures(case: dict[str, Any], run: CaseRun) -> list[str]:
    """Every way the run differs from the case's expectations, one readable line each."""
    if run.error:
        return [f"{case['id']}: pipeline raised {run.error} after {len(run.steps)} step(s)"]
    failures: list[str] = []
    ids: dict[tuple[str, str], str] = {}
    for index, (step, got, want) in enumerate(zip(case["steps"], run.steps, expected_states(case))):
        where = f"{case['id']} step {index} ({got.user}: {got.text!r})"
        for user, exps in want.items():
            actual = {m["key"]: m for m in got.memories.get(user, [])}
            for exp in exps:
                view = actual.pop(exp["key"], None)
                if view is None:
                    failures.append(f"{where}: {user} has no {exp['kind']} {exp['key']!r}")
                    continue
                failures += [f"{where}: {user} {exp['key']!r}: {p}" for p in mismatches(view, exp)]
                known = ids.setdefault((user, exp["key"]), view["memory_id"])
                if known != view["memory_id"]:
                    failures.append(f"{where}: {user} {exp['key']!r} changed Memory ID {known} -> {view['memory_id']}")
            failures += [f"{where}: {user} has unexpected {m['kind']} {k!r}: {m['content']!r}"
                         for k, m in actual.items()]
            failures += [f"{where}: {user}: {v}" for v in invariant_violations(got.memories.get(user, []))]
        want_archived = step.get("archived")
        if want_archived is not None:
            got_archived = [s == "archived" for s in got.episodes]
            if got_archived != want_archived:
                failures.append(f"{where}: episodes archived {got_archived}, expected {want_archived}")
    return failures


def case_score(case: dict[str, Any], run: CaseRun) -> Counter:
    """Counts of created/revised memories of one case: (op, "correct" | "produced" | "expected")."""
    states = expected_states(case)
    counts: Counter = Counter()
    for index, got in enumerate(run.steps):
        before = states[index - 1] if index else {u: [] for u in users_of(case)}
        want = expected_changes(before, states[index])
        counts.update((op, "expected") for op, _, _ in want)
        for op, view in got.changes:
            counts[(op, "produced")] += 1
            hit = next((w for w in want if w[0] == op and w[1] == view["user_id"]
                        and w[2]["key"] == view["key"] and not mismatches(view, w[2])), None)
            if hit is not None:
                want.remove(hit)
                counts[(op, "correct")] += 1
    return counts


def precision_recall(counts: Counter, ops: tuple[str, ...] = ("create", "revise")) -> tuple[float, float, str]:
    correct, produced, expected = (sum(counts[(op, n)] for op in ops) for n in ("correct", "produced", "expected"))
    precision = correct / produced if produced else 1.0
    recall = correct / expected if expected else 1.0
    line = f"{correct} correct / {produced} produced / {expected} expected: P {precision:.3f} R {recall:.3f}"
    return precision, recall, line


# ------------------------------------------------------------------ tests


def _params() -> list[Any]:
    return [
        pytest.param(c, id=c["id"], marks=[pytest.mark.xfail(reason=c["xfail"], strict=True)] if c.get("xfail") else [])
        for c in CASES
    ]


def test_noop_cases_change_nothing(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Cases that expect no memory at any step really produce none: no create and no revise."""
    noop = [c for c in CASES if all(not s.get("expect") for s in c["steps"]) and not c.get("xfail")]
    assert len(noop) >= 8
    changed = {c["id"]: [k for step in observed(c, tmp_path_factory).steps for k, _ in step.changes]
               for c in noop}
    assert not {i: ch for i, ch in changed.items() if ch}, changed


@pytest.mark.parametrize("case", _params())
def test_case(case: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> None:
    failures = case_failures(case, observed(case, tmp_path_factory))
    assert not failures, "\n".join(failures)


def test_precision_recall(tmp_path_factory: pytest.TempPathFactory) -> None:
    by_lang: dict[str, Counter] = {}
    for case in CASES:
        lang = case["id"].split("-", 1)[0]
        by_lang.setdefault(lang, Counter()).update(case_score(case, observed(case, tmp_path_factory)))
    total = sum(by_lang.values(), Counter())
    steps = sum(len(c["steps"]) for c in CASES)
    xfailed = sum(1 for c in CASES if c.get("xfail"))
    print(f"\nFine-stage set: {len(CASES)} cases, {steps} envelopes, {xfailed} xfail")
    print(f"  created:  {precision_recall(total, ('create',))[2]}")
    print(f"  revised:  {precision_recall(total, ('revise',))[2]}")
    for lang, counts in sorted(by_lang.items()):
        print(f"  {lang + ':':9} {precision_recall(counts)[2]}")
    precision, recall, line = precision_recall(total)
    print(f"  all:      {line}")
    assert precision >= PRECISION_FLOOR, f"precision {precision:.3f} < {PRECISION_FLOOR}: {line}"
    assert recall >= RECALL_FLOOR, f"recall {recall:.3f} < {RECALL_FLOOR}: {line}"


@pytest.mark.parametrize("first, second, old", [
    ("我住在南昌，离公司挺近的。", "我搬到武汉了。", "南昌"),
    ("I live in Leeds with two flatmates.", "I moved to Bristol last month.", "Leeds"),
])
def test_conflict_archives_the_old_statement_episode(first: str, second: str, old: str,
                                                     tmp_path: Path) -> None:
    """A conflict revises the memory; the episode that stated the old value is archived, superseded by it.

    The first statements say more than the memory holds, so their episodes stay active until then."""
    case = {"id": "conflict-episode", "user": "u1",
            "steps": [{"at": "2024-01-01T10:00:00+08:00", "turns": [["user", first]]},
                      {"at": "2025-01-01T10:00:00+08:00", "turns": [["user", second]]}]}
    settings = Settings(data_dir=tmp_path, event_store=f"sqlite:///{tmp_path / 'events.sqlite'}",
                        extractor="rules", governance="time")
    runtime = build_runtime(settings, with_vectors=False)
    try:
        runtime.service.ingest(envelope_of(case, 0))
        before = [m for m in runtime.timeline.memories("u1", include_archived=True, kinds=["episode"])
                  if old in m["content"]]
        assert before and all(m["status"] == "active" for m in before), before
        outcome = runtime.service.ingest(envelope_of(case, 1))
        assert outcome.revised, "the second statement should revise the first one's memory"
        episodes = [m for m in runtime.timeline.memories("u1", include_archived=True, kinds=["episode"])
                    if old in m["content"] and m["sources"][0]["event_id"] == "conflict-episode-s0"]
        assert episodes and all(m["status"] == "archived" for m in episodes), episodes
        active = [m for m in runtime.timeline.memories("u1") if old in (m["content"] or "")]
        assert not active, active
    finally:
        runtime.close()
