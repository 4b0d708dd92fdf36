"""Hand-written fakes for service-level tests (no mocking library).

``TableFinder`` answers with candidates from a table keyed by message text, so a
test states exactly which slots a message carries and checks what the service and
the consolidation policy make of them. ``PlannedExtractor`` skips the rules
altogether and returns the decisions a test planned; ``CollidingOnce`` makes a
concurrent writer collide with the first Fine decision.
"""

from __future__ import annotations

from typing import Callable, Sequence

from domain.extraction import (
    Candidate, CandidateSet, Decision, ExistingMemory, Extraction, ExtractionRequest, WindowMessage,
)


def profile(slot: str, clause: str, message_id: str = "") -> Candidate:
    return Candidate("fact", slot, clause, "用户" + clause, "zh", (message_id,), group="profile")


class TableFinder:
    def __init__(self, table: dict[str, list[tuple[str, str]]]) -> None:
        self.table = table

    def find(self, messages: Sequence[WindowMessage]) -> CandidateSet:
        found: list[Candidate] = []
        covered: set[str] = set()
        for m in messages:
            if not m.is_new or m.text not in self.table:
                continue
            found += [profile(slot, clause, m.message_id) for slot, clause in self.table[m.text]]
            covered.add(m.message_id)
        return CandidateSet(tuple(found), frozenset(covered))


Plan = Callable[[ExtractionRequest], Sequence[Decision]]


class PlannedExtractor:
    """An ``Extractor`` (domain/extraction.py) that returns the decisions a test planned.

    ``plans`` maps an input's event_id to its decisions, or to a function of the
    request returning them (to revise a memory the request lists as existing). Every
    request is kept in ``requests``; ``covered`` names the new messages the decisions
    fully represent (their episodes are then archived).
    """

    name = "planned"

    def __init__(self, plans: dict[str, Sequence[Decision] | Plan] | None = None,
                 covered: Sequence[str] = ()) -> None:
        self.plans: dict[str, Sequence[Decision] | Plan] = dict(plans or {})
        self.covered = frozenset(covered)
        self.requests: list[ExtractionRequest] = []

    def extract(self, request: ExtractionRequest) -> Extraction:
        self.requests.append(request)
        event_ids = {m.event_id for m in request.new_messages}
        decisions: list[Decision] = []
        for event_id in sorted(event_ids):
            plan = self.plans.get(event_id, ())
            decisions += plan(request) if callable(plan) else plan
        return Extraction(tuple(decisions), covered_message_ids=self.covered, decided_by=self.name)


def existing_by_key(request: ExtractionRequest, key: str) -> ExistingMemory:
    """The memory with this key among those the request shows as existing."""
    found = [m for m in request.existing if m.key == key]
    assert len(found) == 1, f"expected one existing memory with key {key!r}, got {found}"
    return found[0]


class CollidingOnce:
    """Wraps an extractor; during the first extraction ``interloper()`` runs, as a
    concurrent writer would between the Fine stage's read and its save."""

    def __init__(self, inner: PlannedExtractor, interloper: Callable[[], None]) -> None:
        self.inner, self.interloper = inner, interloper
        self.name = inner.name
        self.collisions = 0

    def extract(self, request: ExtractionRequest) -> Extraction:
        if not self.collisions:
            self.collisions += 1
            self.interloper()
        return self.inner.extract(request)
