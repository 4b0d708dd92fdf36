"""The Offline stage: organise globally.

A sweep visits the users whose memories changed since the last sweep (or the users
named), plans each one's fixes with ``domain.reconciliation.Reconciler`` and records
them as Memory events (``stage=offline``, the fix's ``reason``, ``decided_by`` naming
the rule) together with the user's directory, in one transaction per user.

Incremental and exactly-once: the changed users are read from the notification log
after the position tracked under ``offline:sweep`` (skipping the sweep's own
events, so a sweep never makes a user "changed" again). Users are swept in the
order of their last change, and each user's transaction records that change's
notification id as the new position: a sweep killed after some users resumes at
the first user not yet done, and a user swept twice plans nothing the second time.

Plans are made from the timeline view (one query per user, no aggregate loads);
when the view lags the store (its versions differ from the user's directory, or
from the aggregates about to change), the user is planned again from the aggregates.

With a reviewer configured (``domain.review.MemoryReviewer``, Claude when the Anthropic
extractor is), each swept user's memories as the rules leave them are reviewed once
more; the proposals that pass ``domain.review.accept`` join the plan, decided by the
reviewer. A reviewer that fails never fails the sweep: the rule-based plan stands.

Plans whose date passes while their user is quiet: ``PlanCalendar`` keeps (plan end
date -> user) for the users' pending plans, next to the timeline view, updated as
each user is swept; a sweep over the changed users also visits the users whose
plan date is now past, so it costs in proportion to them, not to the store.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import Any, Callable, Iterable, Sequence

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import IntegrityError, JSONTranscoder, Tracking

from application.fine_stage import directory_entry
from application.memory_app import MemoryApplication
from domain.governance import GovernancePolicy, TimePriority
from domain.information import carries_information
from domain.memory import Memory
from domain.reconciliation import Change, MemoryState, Reconciler, Similar, period_end
from domain.review import MemoryReviewer, ProposedChange, accept, after_plan
from domain.user_directory import UserDirectory, directory_id
from domain.value_conflicts import Values
from domain.values import Cause, Stage
from projections.catch_up import MEMORY_TOPICS

log = logging.getLogger(__name__)

SWEEP_POSITION = "offline:sweep"
NOTIFICATION_BATCH = 2000
MAX_ROUNDS = 3


PLAN_TABLE = "offline_plan_dates"
PLAN_BACKFILL = "offline:plan_dates"


class PlanCalendar:
    """(plan end date -> user) for every pending (not yet past) plan, in a small table
    beside the timeline view, so that a sweep finds the users whose plan date passed
    without reading anyone else. Rows are derived: built once from the timeline's
    current rows, then rewritten for a user as the user is swept (a row too many only
    makes a sweep visit a user that plans nothing). Without a SQL timeline (a fake in
    tests) it is off."""

    def __init__(self, timeline: Any) -> None:
        self.timeline = timeline
        self.enabled = all(hasattr(timeline, a) for a in ("_execute", "_write", "meta", "set_meta"))
        self._ready = False

    def _ensure(self) -> None:
        if self._ready or not self.enabled:
            return
        self.timeline._write([
            (f"CREATE TABLE IF NOT EXISTS {PLAN_TABLE} (user_id TEXT NOT NULL, memory_id TEXT NOT NULL,"
             " due TEXT NOT NULL, PRIMARY KEY (user_id, memory_id))", ()),
            (f"CREATE INDEX IF NOT EXISTS {PLAN_TABLE}_due ON {PLAN_TABLE} (due)", ()),
        ], None)
        self._ready = True
        if self.timeline.meta(PLAN_BACKFILL) is None:
            self._backfill()

    def _backfill(self) -> None:
        """Once per store: the pending plans the timeline already holds (users swept
        before the calendar existed, or never swept)."""
        rows = self.timeline._execute(
            "SELECT view FROM timeline_current WHERE status = 'active' AND kind = 'fact' AND view LIKE ?",
            ('%"period"%',))
        by_user: dict[str, dict[str, str]] = {}
        for (blob,) in rows:
            state = MemoryState.from_view(json.loads(blob))
            due = pending_plans([state], [])
            if due:
                by_user.setdefault(json.loads(blob)["user_id"], {}).update(due)
        for user, due in by_user.items():
            self._replace(user, due)
        self.timeline.set_meta(PLAN_BACKFILL, datetime.now(timezone.utc).isoformat())

    def due_users(self, today: date) -> list[str]:
        """Users holding a pending plan whose date is before ``today``."""
        if not self.enabled:
            return []
        self._ensure()
        rows = self.timeline._execute(f"SELECT DISTINCT user_id FROM {PLAN_TABLE} WHERE due < ? ORDER BY user_id",
                                      (today.isoformat(),))
        return [r[0] for r in rows]

    def rows(self, user_id: str) -> dict[str, str]:
        if not self.enabled:
            return {}
        self._ensure()
        rows = self.timeline._execute(f"SELECT memory_id, due FROM {PLAN_TABLE} WHERE user_id = ?", (user_id,))
        return {r[0]: r[1] for r in rows}

    def update(self, user_id: str, due: dict[str, str], held: dict[str, str] | None = None) -> dict[str, str]:
        """Make the user's rows ``due`` (``held``: the rows now, when known); returns them."""
        if not self.enabled:
            return due
        if (self.rows(user_id) if held is None else held) != due:
            self._replace(user_id, due)
        return due

    def _replace(self, user_id: str, due: dict[str, str]) -> None:
        self.timeline._write_many([
            (f"DELETE FROM {PLAN_TABLE} WHERE user_id = ?", [(user_id,)]),
            (f"INSERT INTO {PLAN_TABLE} (user_id, memory_id, due) VALUES (?, ?, ?)",
             [(user_id, mid, d) for mid, d in sorted(due.items())]),
        ], None)


def pending_plans(states: Sequence[MemoryState], changes: Sequence[Change]) -> dict[str, str]:
    """Memory ID -> plan end date (ISO) of the plans not yet past once ``changes`` apply
    (the same plans ``Reconciler`` would mark past once their date is gone)."""
    changed = {c.memory_id: c for c in changes}
    due: dict[str, str] = {}
    for m in states:
        c = changed.get(m.memory_id)
        if c is not None and c.action != "revise":
            continue
        attributes = c.attributes if c is not None and c.attributes is not None else m.attributes
        period = attributes.get("period")
        if m.kind != "fact" or not period or attributes.get("past"):
            continue
        end = period_end(str(period))
        if end is not None:
            due[m.memory_id] = end.isoformat()
    return due


class _Stale(Exception):
    """The view a plan was made from is behind the store."""


@dataclass
class SweepReport:
    users: int = 0
    changes: list[Change] = field(default_factory=list)
    dry_run: bool = False
    position: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {"users": self.users, "changes": [c.to_dict() for c in self.changes]}


def values_of(extractor: Any) -> Values | None:
    """How the Fine stage's extractor reads a family's values (directly or via its fallback), so
    the Offline stage settles two homes as the Fine stage would have."""
    for part in (extractor, getattr(extractor, "fallback", None)):
        values = getattr(part, "family_values", None)
        if callable(values):
            return values
    return None


def policy_of(extractor: Any) -> GovernancePolicy | None:
    """The governance policy the Fine stage's extractor uses (directly or via its fallback)."""
    for part in (extractor, getattr(extractor, "fallback", None)):
        policy = getattr(part, "policy", None)
        if policy is not None:
            return policy
    return None


def state_of(memory: Memory) -> MemoryState:
    return MemoryState(memory_id=str(memory.id), kind=memory.kind, key=memory.key, content=memory.content,
                       version=memory.version, slots=dict(memory.slots), attributes=dict(memory.attributes),
                       tags=tuple(memory.tags), sources=tuple(memory.sources), confidence=memory.confidence,
                       created_at=memory.created_at.isoformat())


class OfflineStage:
    def __init__(self, store: MemoryApplication, timeline: Any, policy: GovernancePolicy | None = None, *,
                 today: Callable[[], date] | None = None, no_information: Callable[[str], bool] | None = None,
                 similar: Similar | None = None, reviewer: MemoryReviewer | None = None,
                 values: Values | None = None) -> None:
        self.store, self.timeline = store, timeline
        self.values = values
        self.reviewer = reviewer
        self.calendar = PlanCalendar(timeline)
        self.policy = policy or TimePriority()
        self.today = today or (lambda: datetime.now(timezone.utc).date())
        self.no_information = no_information or (lambda text: not carries_information(text))
        self.similar = similar

    @classmethod
    def for_runtime(cls, runtime: Any, **options: Any) -> "OfflineStage":
        """The stage over a runtime's store and timeline, with the Fine stage's policy object
        and the runtime's reviewer (Claude when the Anthropic extractor is configured)."""
        policy = policy_of(runtime.service.fine_stage.extractor)
        options.setdefault("reviewer", getattr(runtime, "reviewer", None))
        options.setdefault("values", values_of(runtime.service.fine_stage.extractor))
        return cls(runtime.store, runtime.timeline, policy, **options)

    # ---------------------------------------------------------------- what changed

    def position(self) -> int:
        return self.store.last_tracked(SWEEP_POSITION)

    def changed_users(self, after: int, until: int) -> dict[str, int]:
        """User -> notification id of the user's last change in (after, until], not
        counting offline events. Reads only that part of the log."""
        latest: dict[str, int] = {}
        unknown: dict[str, int] = {}
        start = after + 1
        while start <= until:
            batch = self.store.recorder.select_notifications(start, limit=NOTIFICATION_BATCH, stop=until,
                                                             topics=MEMORY_TOPICS)
            if not batch:
                break
            for n in batch:
                fields = self._fields(n)
                if fields.get("stage") == Stage.OFFLINE.value:
                    continue
                user = fields.get("user_id")
                if user is not None:
                    latest[user] = n.id
                else:
                    unknown[str(n.originator_id)] = n.id
            start = batch[-1].id + 1
        for memory_id, user in self._users_of(list(unknown)).items():
            latest[user] = max(latest.get(user, 0), unknown[memory_id])
        return latest

    def _fields(self, notification: Any) -> dict[str, Any]:
        """The stored event's top-level fields. Plain JSON is read as it is: decoding every
        event into a domain object cost 0.14 ms each, most of a full sweep's scan."""
        mapper = self.store.mapper
        if mapper.cipher is None and mapper.compressor is None and isinstance(mapper.transcoder, JSONTranscoder):
            return json.loads(notification.state)
        return vars(mapper.to_domain_event(notification))

    def _users_of(self, memory_ids: list[str]) -> dict[str, str]:
        users = {mid: view["user_id"] for mid, view in self.timeline.current(memory_ids).items()}
        for mid in memory_ids:
            if mid not in users and (memory := self.store.memory(mid)) is not None:
                users[mid] = memory.user_id
        return users

    # ---------------------------------------------------------------- planning

    def plan_user(self, user_id: str, *, from_store: bool = False) -> list[Change]:
        return self._reconciler().plan(self._states(user_id, from_store))

    def _reconciler(self) -> Reconciler:
        return Reconciler(self.policy, today=self.today(), no_information=self.no_information, similar=self.similar,
                          values=self.values)

    def _states(self, user_id: str, from_store: bool) -> list[MemoryState]:
        views = {v["memory_id"]: v for v in self.timeline.memories(user_id)}
        entries = self._directory_entries(user_id)
        lagging = any(mid not in views or views[mid]["version"] != e.get("version") for mid, e in entries.items())
        if not (from_store or lagging):
            return [MemoryState.from_view(v) for v in views.values()]
        memories = (self.store.memory(mid) for mid in dict.fromkeys([*views, *entries]))
        return [state_of(m) for m in memories if m is not None and m.is_active and m.user_id == user_id]

    def _directory_entries(self, user_id: str) -> dict[str, dict[str, Any]]:
        """The directory's entries, read only: the cached aggregate itself, not a deep copy
        (copying a 50-entry directory cost more than planning the user)."""
        try:
            directory = self.store.repository.get(directory_id(user_id), deepcopy_from_cache=False)
        except AggregateNotFoundError:
            return {}
        return directory.entries if isinstance(directory, UserDirectory) else {}

    # ---------------------------------------------------------------- sweeping

    def sweep(self, users: Sequence[str] | None = None, *, dry_run: bool = False,
              after_user: Callable[[str, list[Change]], None] | None = None) -> SweepReport:
        """Sweep ``users`` (untracked), or every user changed since the last sweep."""
        if users is not None:
            report = SweepReport(users=len(users), dry_run=dry_run)
            for user in users:
                report.changes += self.sweep_user(user, dry_run=dry_run)
                if after_user is not None:
                    after_user(user, report.changes)
            return report
        after = self.position()
        report = SweepReport(dry_run=dry_run, position=after)
        swept: set[str] = set()
        for _ in range(MAX_ROUNDS):
            head = self.store.head()
            changed = self.changed_users(after, head)
            for user, last_change in sorted(changed.items(), key=lambda item: item[1]):
                changes = self.sweep_user(user, position=last_change, dry_run=dry_run)
                report.changes += changes
                if after_user is not None:
                    after_user(user, changes)
            swept |= set(changed)
            if not dry_run and head > self.position():
                self.store.track_only(Tracking(SWEEP_POSITION, head))
            report.position = after = head
            if dry_run or not changed:
                break
            # Another round over what was written meanwhile: the sweep's own events (skipped,
            # but read once here rather than by the next sweep) and any new input.
        for user in self.calendar.due_users(self.today()):  # quiet users whose plan date passed
            if user in swept:
                continue
            changes = self.sweep_user(user, dry_run=dry_run)
            report.changes += changes
            swept.add(user)
            if after_user is not None:
                after_user(user, changes)
        report.users = len(swept)
        return report

    def sweep_user(self, user_id: str, *, position: int | None = None, dry_run: bool = False) -> list[Change]:
        """Plan one user and (unless ``dry_run``) record the plan in one transaction,
        with ``position`` as the sweep's new tracked position when given."""
        proposals: list[ProposedChange] | None = None
        for attempt in range(3):
            states = self._states(user_id, from_store=attempt > 0)
            changes = self._reconciler().plan(states)
            if self.reviewer is not None:
                if proposals is None:
                    proposals = self._review(user_id, states, changes)
                changes = changes + self._accepted(user_id, proposals, states, changes)
            if dry_run:
                return changes
            held = self.calendar.rows(user_id) if self.calendar.enabled else {}
            after = pending_plans(states, changes)
            if not changes:
                self.calendar.update(user_id, after, held)
                return changes
            # Rows for every plan still pending before this transaction, until it commits:
            # a crash in between leaves a row too many (a harmless visit), never one too few.
            held = self.calendar.update(user_id, {**pending_plans(states, []), **after}, held)
            try:
                self._record(user_id, changes, position)
                self.calendar.update(user_id, after, held)
                return changes
            except _Stale:
                continue
            except IntegrityError:
                if position is not None and self.position() >= position:
                    position = None  # another sweeper recorded this position: it swept the user too
                continue
        log.warning("offline sweep of user %s gave up after concurrent changes", user_id)
        return []

    def _review(self, user_id: str, states: list[MemoryState], planned: list[Change]) -> list[ProposedChange]:
        """The reviewer's proposals for the memories as the rules leave them; [] when it fails."""
        assert self.reviewer is not None
        try:
            return list(self.reviewer.review(user_id, after_plan(states, planned)))
        except Exception as error:  # noqa: BLE001 - a reviewer never fails the sweep
            log.warning("offline review of user %s by %s failed (%s); the rule-based plan stands", user_id,
                        getattr(self.reviewer, "name", "reviewer"), error or type(error).__name__)
            return []

    def _accepted(self, user_id: str, proposals: list[ProposedChange], states: list[MemoryState],
                  planned: list[Change]) -> list[Change]:
        if not proposals:
            return []
        review = accept(proposals, after_plan(states, planned), planned, getattr(self.reviewer, "name", "review"))
        for proposal, why in review.rejected:
            log.warning("offline review of user %s: rejected %s of %s (%s)", user_id, proposal.action,
                        proposal.memory_id, why)
        return review.changes

    def _record(self, user_id: str, changes: list[Change], position: int | None) -> None:
        cause = Cause(extra={"sweep": SWEEP_POSITION, "position": position}).to_dict()
        touched: list[Memory] = []
        upserts: dict[str, dict[str, Any]] = {}
        removals: list[str] = []
        for change in changes:
            memory = self.store.memory(change.memory_id)
            if memory is None or memory.version != change.version or not memory.is_active:
                raise _Stale(change.memory_id)
            common = dict(stage=Stage.OFFLINE.value, reason=change.reason, cause=cause, decided_by=change.rule)
            if change.action == "revise":
                memory.revise(content=change.content or memory.content, slots=change.slots,
                              attributes=change.attributes, tags=change.tags, new_sources=change.new_sources,
                              **common)
                if memory.kind != "episode":
                    upserts[change.memory_id] = directory_entry(memory)
            else:
                memory.archive(superseded_by=change.superseded_by, **common)
                removals.append(change.memory_id)
            touched.append(memory)
        aggregates: list[Any] = list(touched)
        directory = self.store.find(directory_id(user_id), UserDirectory)
        if directory is not None and (upserts or any(r in directory.entries for r in removals)):
            directory.update(upserts=upserts, removals=[r for r in removals if r in directory.entries],
                             conversation_id=None, event_id=None)
            aggregates.append(directory)
        tracking = Tracking(SWEEP_POSITION, position) if position is not None else None
        self.store.save_tracked(aggregates, tracking)


def describe(changes: Iterable[Change]) -> list[str]:
    """One line per change, for people."""
    lines = []
    for c in changes:
        target = f" -> {c.survivor}" if c.survivor else ""
        text = f": {c.content}" if c.action == "revise" and c.content else ""
        lines.append(f"{c.action:7} {c.memory_id}{target} [{c.reason}; {c.rule}]{text}")
    return lines
