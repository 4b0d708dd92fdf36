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
from domain.reconciliation import Change, MemoryState, Reconciler, Similar
from domain.user_directory import UserDirectory, directory_id
from domain.values import Cause, Stage
from projections.catch_up import MEMORY_TOPICS

log = logging.getLogger(__name__)

SWEEP_POSITION = "offline:sweep"
NOTIFICATION_BATCH = 2000
MAX_ROUNDS = 3


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
                 similar: Similar | None = None) -> None:
        self.store, self.timeline = store, timeline
        self.policy = policy or TimePriority()
        self.today = today or (lambda: datetime.now(timezone.utc).date())
        self.no_information = no_information or (lambda text: not carries_information(text))
        self.similar = similar

    @classmethod
    def for_runtime(cls, runtime: Any, **options: Any) -> "OfflineStage":
        """The stage over a runtime's store and timeline, with the Fine stage's policy object."""
        policy = policy_of(runtime.service.fine_stage.extractor)
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
        return Reconciler(self.policy, today=self.today(), no_information=self.no_information, similar=self.similar)

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
        report.users = len(swept)
        return report

    def sweep_user(self, user_id: str, *, position: int | None = None, dry_run: bool = False) -> list[Change]:
        """Plan one user and (unless ``dry_run``) record the plan in one transaction,
        with ``position`` as the sweep's new tracked position when given."""
        for attempt in range(3):
            changes = self.plan_user(user_id, from_store=attempt > 0)
            if dry_run or not changes:
                return changes
            try:
                self._record(user_id, changes, position)
                return changes
            except _Stale:
                continue
            except IntegrityError:
                if position is not None and self.position() >= position:
                    position = None  # another sweeper recorded this position: it swept the user too
                continue
        log.warning("offline sweep of user %s gave up after concurrent changes", user_id)
        return []

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
