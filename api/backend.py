"""What the HTTP handlers call: the ``Memstream`` object's runtime, shared by threads.

The server owns the embedded read side: one background thread keeps the timeline
and the vector index current (``runtime.catch_up()`` every ~100 ms), so search works
while workers write the event store. Writes (in-process ingest, archive, feedback)
and catch-ups take one lock; reads go straight to the projections, which are current
to the last catch-up, so a search never pays for a catch-up.

Input goes one of two ways:
- with ``MEMSTREAM_KAFKA_URL``, ``add`` publishes the envelope to the messages topic
  (``api/publisher.py``) and ``status`` follows the input through the event store;
- without a broker the stages run in-process: ``wait=True`` answers once the input is
  searchable, otherwise the envelope joins a bounded queue drained by one worker
  thread (``QueueFull`` when it is full: the handler answers 429).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Iterable

from application.dead_letters import DeadLetterBox
from application.requests import RequestOutcome, archive_on_request, correct_on_feedback
from domain.envelope import InputEnvelope
from memstream import Memstream, _timestamp

log = logging.getLogger(__name__)

RUNNING, COMPLETED, FAILED = "running", "completed", "failed"
CATCH_UP_INTERVAL = 0.1
QUEUE_SIZE = 1024
TASKS_KEPT = 100_000
DEAD_LETTER_SCAN = 1000
WAIT_SEARCHABLE = 30.0


class QueueFull(Exception):
    """The in-process queue is full: 429, try again later."""


class UnknownTask(LookupError):
    pass


@dataclass
class Task:
    user_id: str
    status: str
    reason: str | None = None
    position: tuple[str, int, int] | None = None
    """(topic, partition, offset) of the published record."""
    refined_head: int | None = None
    """Head of the log when the input was first seen refined: completed once projected past it."""


class Backend:
    def __init__(self, ms: Memstream, *, queue_size: int = QUEUE_SIZE,
                 catch_up_interval: float = CATCH_UP_INTERVAL) -> None:
        self.ms = ms
        self.runtime = ms.runtime
        self.settings = ms.settings
        self.lock = threading.RLock()
        self.catch_up_interval = catch_up_interval
        self._tasks: OrderedDict[str, Task] = OrderedDict()
        self._tasks_lock = threading.Lock()
        self._queue: queue.Queue[InputEnvelope | None] = queue.Queue(maxsize=queue_size)
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self.publisher = None
        if self.settings.kafka_url:
            from api.publisher import Publisher

            self.publisher = Publisher(self.settings)

    # ------------------------------------------------------------ lifecycle

    def start(self) -> None:
        _ = self.runtime.read_side  # load the model and the index before the first request
        self.catch_up()
        if self.publisher is not None:
            self.publisher.start()
        for name, target in (("memstream-api-catch-up", self._catch_up_loop),
                             ("memstream-api-ingest", self._ingest_loop)):
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        self._stopping.set()
        try:
            self._queue.put_nowait(None)
        except queue.Full:
            pass
        for thread in self._threads:
            thread.join(timeout=30)
        if self.publisher is not None:
            self.publisher.stop()

    def catch_up(self) -> int:
        with self.lock:
            return self.runtime.catch_up()

    def publish_outbox(self) -> int:
        """With a broker: send the memory events the projections reached (and tombstones of
        forgotten memories) to the memory-events topic, then advance the outbox position."""
        from streams.outbox import mark_published, pending_records

        if self.publisher is None:
            return 0
        with self.lock:
            records = pending_records(self.runtime.store, self.runtime.timeline)
        if not records:
            return 0
        self.publisher.send_memory_events(records)
        with self.lock:
            mark_published(self.runtime.timeline, records[-1][0])
        return len(records)

    def _catch_up_loop(self) -> None:
        while not self._stopping.is_set():
            try:
                moved = self.catch_up()
                moved += self.publish_outbox()
            except Exception:  # noqa: BLE001 - keep serving; retried next round
                log.exception("projection catch-up or outbox failed; retrying")
                moved = 0
                self._stopping.wait(1.0)
            if not moved:
                self._stopping.wait(self.catch_up_interval)

    # ------------------------------------------------------------ tasks

    def _remember(self, event_id: str, task: Task) -> None:
        with self._tasks_lock:
            self._tasks[event_id] = task
            self._tasks.move_to_end(event_id)
            while len(self._tasks) > TASKS_KEPT:
                self._tasks.popitem(last=False)

    def _task(self, event_id: str) -> Task | None:
        with self._tasks_lock:
            return self._tasks.get(event_id)

    # ------------------------------------------------------------ writes

    def add(self, envelope: InputEnvelope, *, wait: bool) -> str:
        """Take one input; returns its status (``running`` or ``completed``)."""
        if self.publisher is not None:
            position = self.publisher.publish(envelope)
            self._remember(envelope.event_id, Task(envelope.user_id, RUNNING, position=position))
            if wait:
                return self._wait_searchable(envelope.event_id, envelope.user_id)
            return RUNNING
        if wait:
            self._ingest(envelope)
            task = self._task(envelope.event_id)
            if task is not None and task.status == FAILED:
                raise RuntimeError(task.reason or "processing failed")
            return COMPLETED
        known = self._task(envelope.event_id)
        if known is not None and known.status == COMPLETED:
            return COMPLETED
        self._remember(envelope.event_id, Task(envelope.user_id, RUNNING))
        try:
            self._queue.put_nowait(envelope)
        except queue.Full:
            with self._tasks_lock:
                self._tasks.pop(envelope.event_id, None)
            raise QueueFull(f"the in-process queue holds {self._queue.maxsize} inputs; retry later") from None
        return RUNNING

    def _ingest(self, envelope: InputEnvelope) -> None:
        try:
            with self.lock:
                self.runtime.service.ingest(envelope)
        except Exception as e:  # noqa: BLE001 - the task records why
            log.exception("in-process ingest of %s failed", envelope.event_id)
            self._remember(envelope.event_id, Task(envelope.user_id, FAILED, reason=f"{type(e).__name__}: {e}"))
            return
        self._remember(envelope.event_id, Task(envelope.user_id, COMPLETED))

    def _ingest_loop(self) -> None:
        while True:
            envelope = self._queue.get()
            if envelope is None or self._stopping.is_set():
                return
            self._ingest(envelope)

    def _wait_searchable(self, event_id: str, user_id: str) -> str:
        deadline = time.monotonic() + WAIT_SEARCHABLE
        status = RUNNING
        while time.monotonic() < deadline:
            status = self._follow(event_id, user_id, self._task(event_id))
            if status != RUNNING:
                return status
            time.sleep(0.02)
        return status

    def archive(self, user_id: str, memory_ids: list[str]) -> RequestOutcome:
        with self.lock:
            outcome = archive_on_request(self.runtime.store, user_id, memory_ids)
            if outcome.changed:
                self.runtime.catch_up()
        return outcome

    def forget(self, user_id: str, memory_ids: list[str]) -> tuple[list[str], list[str]]:
        """Erase the content of the user's memories (``Memstream.forget``, every version);
        returns (forgotten, not the user's)."""
        forgotten, foreign = [], []
        with self.lock:
            for memory_id in dict.fromkeys(memory_ids):
                if self.runtime.timeline.owner(memory_id) != user_id:
                    foreign.append(memory_id)
                    continue
                self.ms.forget(user_id=user_id, memory_id=memory_id, reason="user_request")
                forgotten.append(memory_id)
        return forgotten, foreign

    def correct(self, user_id: str, memory_id: str, content: str) -> RequestOutcome:
        with self.lock:
            outcome = correct_on_feedback(self.runtime.store, user_id, memory_id, content)
            if outcome.changed:
                self.runtime.catch_up()
        return outcome

    # ------------------------------------------------------------ status

    def status(self, event_id: str, owns: Any) -> dict[str, Any]:
        """``owns(user_id)`` tells whether the caller's app owns the input; UnknownTask otherwise."""
        task = self._task(event_id)
        if task is not None:
            if not owns(task.user_id):
                raise UnknownTask(event_id)
            status = task.status if self.publisher is None else self._follow(event_id, task.user_id, task)
            latest = self._task(event_id) or task
            return {"task_id": event_id, "status": status, "reason": latest.reason}
        raw = self.runtime.store.raw_input(event_id)
        if raw is None or not owns(raw.user_id):
            raise UnknownTask(event_id)
        return {"task_id": event_id, "status": self._follow(event_id, raw.user_id, None), "reason": None}

    def _projected(self, until: int) -> bool:
        """Whether every memory event up to notification ``until`` is in every projection
        (positions stop at the last *memory* event, so they rarely equal the head)."""
        from projections.catch_up import next_batch

        position = min(p.position() for p in self.runtime.projectors())
        return position >= until or not next_batch(self.runtime.store, position + 1, 1, until)

    def _follow(self, event_id: str, user_id: str, task: Task | None) -> str:
        """The input's stage in the event store: recorded → running; refined and projected →
        completed; dead-lettered → failed."""
        if task is not None and task.status in (COMPLETED, FAILED):
            return task.status
        raw = self.runtime.store.raw_input(event_id, user_id)
        if raw is not None and raw.is_refined:
            task = task or Task(user_id, RUNNING)
            if task.refined_head is None:
                task.refined_head = self.runtime.store.head()
                self._remember(event_id, task)
            if self._projected(task.refined_head):
                task.status = COMPLETED
                return COMPLETED
            return RUNNING
        reason = self._dead_letter(event_id, task)
        if reason is not None:
            self._remember(event_id, Task(user_id, FAILED, reason=reason))
            return FAILED
        return RUNNING

    def _dead_letter(self, event_id: str, task: Task | None) -> str | None:
        box = DeadLetterBox(self.runtime.store)
        if task is not None and task.position is not None:
            letter = box.get(*task.position)
            if letter is not None:
                return letter["reason"]
        needle = event_id.encode("utf-8")
        import base64

        for letter in box.recent(DEAD_LETTER_SCAN):
            if needle in base64.b64decode(letter["value_b64"]):
                return letter["reason"]
        return None

    # ------------------------------------------------------------ reads

    def search(self, user_id: str, query: str, *, top_k: int, kinds: Iterable[str] = (),
               tags: Iterable[str] = (), since: str | None = None, until: str | None = None) -> list[dict[str, Any]]:
        return self.runtime.read_side.memory_search.search(
            user_id, query, top_k=top_k, kinds=tuple(kinds), tags=tuple(tags),
            updated_from=_timestamp(since), updated_to=_timestamp(until))

    def memories(self, user_id: str, *, include_archived: bool = False,
                 kinds: Iterable[str] = ()) -> list[dict[str, Any]]:
        return self.runtime.timeline.memories(user_id, include_archived=include_archived, kinds=list(kinds))

    def memory(self, memory_id: str) -> dict[str, Any] | None:
        return self.runtime.timeline.current([memory_id]).get(memory_id)

    def history(self, memory_id: str) -> list[dict[str, Any]]:
        return self.runtime.timeline.history(memory_id)

    def raw_input(self, event_id: str) -> dict[str, Any] | None:
        raw = self.runtime.store.raw_input(event_id)
        if raw is None:
            return None
        return {"event_id": raw.event_id, "user_id": raw.user_id, "payload": raw.payload,
                "refined": raw.is_refined}
