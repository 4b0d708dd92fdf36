"""The Offline stage in the stream: debounce "user changed" marks, sweep quiet users.

The Fine agent publishes a mark keyed by user id to ``PREFIX.offline`` after each
batch, so the partition (and thus one worker of the group) owning a user's marks is
the one that sweeps that user. The agent remembers when it last heard of each user
and sweeps a user once quiet for ``MEMSTREAM_OFFLINE_IDLE`` seconds (the user's
conversation has settled, so the sweep does not race the Fine stage); every
``MEMSTREAM_OFFLINE_INTERVAL`` seconds it also runs the incremental sweep over every
user changed since the tracked position, which catches marks lost in a crash, and
visits the users holding a plan whose date has passed since (``PlanCalendar``), so a
plan is marked past even when its user says nothing more.

Exactly-once effect comes from the event store, as in the other stages: each user's
changes commit in one transaction (with the sweep position when it is the
incremental sweep), every change is conditioned on the version it was planned
against, and a user already reconciled plans nothing, so a redelivered mark or a
repeated sweep records no duplicate events.
"""

from __future__ import annotations

import asyncio
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import faust

from application.offline_stage import OfflineStage
from application.settings import Settings

log = logging.getLogger(__name__)


def add_offline_agents(app: faust.App, settings: Settings, runtime: Any, marks: faust.TopicT,
                       lanes: dict[str, Any] | None = None) -> None:
    """``lanes``: the worker's lanes by name; the sweeps' own lane joins them as ``offline``, so
    a forget from the control topic holds it too (streams/control.py ``exclusive``)."""
    built: list[OfflineStage] = []

    def stage() -> OfflineStage:  # built on first sweep: the app is built before the store is needed
        if not built:
            built.append(OfflineStage.for_runtime(runtime))
        return built[0]

    lane = ThreadPoolExecutor(max_workers=1, thread_name_prefix="memstream-offline")
    if lanes is not None:
        lanes["offline"] = lane
    heard: dict[str, float] = {}

    async def in_lane(call: Any, *args: Any) -> Any:
        try:
            return await asyncio.get_running_loop().run_in_executor(lane, call, *args)
        except Exception:  # noqa: BLE001 - a failed sweep is retried by the next mark or interval
            log.exception("offline sweep failed")
            return None

    def sweep_users(users: list[str]) -> None:
        report = stage().sweep(users)
        if report.changes:
            log.info("offline: %d change(s) for %d quiet user(s)", len(report.changes), len(users))

    def sweep_changed() -> None:
        report = stage().sweep()
        if report.changes:
            log.info("offline: %d change(s) over %d changed user(s)", len(report.changes), report.users)

    @app.agent(marks, name="memstream.offline")
    async def collect_marks(stream: faust.StreamT) -> None:
        async for event in stream.events():
            if event.key:
                user = event.key.decode() if isinstance(event.key, bytes) else str(event.key)
                heard[user] = time.monotonic()

    @app.timer(interval=max(min(settings.offline_idle / 2, 1.0), 0.05))
    async def sweep_quiet_users() -> None:
        now = time.monotonic()
        due = [u for u, t in heard.items() if now - t >= settings.offline_idle]
        for user in due:
            heard.pop(user, None)
        if due:
            await in_lane(sweep_users, due)

    @app.timer(interval=settings.offline_interval)
    async def sweep_changed_users() -> None:
        await in_lane(sweep_changed)
