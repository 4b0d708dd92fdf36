"""What one ingest did, as the public API and the CLI report it.

Its own module so that ``import memstream`` (which re-exports it) does not import the
Fast and Fine stages: a read command never runs them (``bench/bench_cli_startup.py``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from application.fine_stage import RefineResult


@dataclass
class IngestOutcome:
    event_id: str
    user_id: str
    duplicate: bool = False
    episodes: list[str] = field(default_factory=list)
    created: list[str] = field(default_factory=list)
    revised: list[str] = field(default_factory=list)
    archived: list[str] = field(default_factory=list)

    def absorb(self, refined: RefineResult) -> None:
        self.created += refined.created
        self.revised += refined.revised
        self.archived += refined.archived
