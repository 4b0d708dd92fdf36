"""Hand-written fakes for service-level tests (no mocking library).

``TableFinder`` answers with candidates from a table keyed by message text, so a
test states exactly which slots a message carries and checks what the service and
the consolidation policy make of them.
"""

from __future__ import annotations

from typing import Sequence

from domain.extraction import Candidate, CandidateSet, WindowMessage


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
