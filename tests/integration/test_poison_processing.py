"""A record whose *processing* fails: its own fault becomes a dead letter at once and the
batch around it goes on; an infrastructure fault is retried, and the same one, time after
time, ends as a dead letter too (streams/failures.py). Real SQLite store, a hand-written
failing service in place of the real one's two write methods."""

from __future__ import annotations

import json

import pytest
from eventsourcing.persistence import OperationalError

from application.dead_letters import DeadLetterBox
from application.service import MemoryService
from application.settings import Settings
from memstream.bootstrap import build_runtime
from streams.failures import AttemptLog, RecordFailed, is_infrastructure
from streams.handlers import Record, RecordHandler

TOPIC = "memstream.messages"


class FailingService(MemoryService):
    """The real service, except that chosen event_ids fail the way they are told to."""

    def __init__(self, real: MemoryService, failures: dict[str, Exception]) -> None:
        super().__init__(real.store, real.fine_stage)
        self.failures = failures

    def _check(self, event_ids):
        for event_id in event_ids:
            if event_id in self.failures:
                raise self.failures[event_id]

    def record_input(self, envelope, cause=None, tracking=None):
        if not self.store.is_tracked(tracking):  # as the real one: a tracked position is done
            self._check([envelope.event_id])
        return super().record_input(envelope, cause, tracking)

    def record_batch(self, items, extra, tracking):
        self._check([e.event_id for e, _ in items])
        return super().record_batch(items, extra, tracking)


def record(offset: int, event_id: str, partition: int = 0) -> Record:
    body = {"event_id": event_id, "user_id": "u1", "messages": [{"role": "user", "content": f"我住在成都 {offset}"}]}
    return Record(TOPIC, partition, offset, b"u1", json.dumps(body, ensure_ascii=False).encode())


@pytest.fixture
def runtime(tmp_path):
    rt = build_runtime(Settings(data_dir=tmp_path, extractor="rules"), with_vectors=False, sync_projections=False)
    yield rt
    rt.close()


def test_a_record_that_breaks_processing_is_dead_lettered_and_its_batch_goes_on(runtime):
    service = FailingService(runtime.service, {"e2": RecursionError("maximum recursion depth exceeded")})
    handler = RecordHandler(service, runtime.settings)
    records = [record(0, "e1"), record(1, "e2"), record(2, "e3", partition=1)]
    handled = handler.on_messages(records)
    assert [h.status for h in handled] == ["processed", "dead_letter", "processed"]
    letters = DeadLetterBox(runtime.store).recent()
    assert len(letters) == 1 and "RecursionError" in letters[0]["reason"]
    assert letters[0]["stage"] == "fast" and letters[0]["error_type"] == "processing_error"
    # Redelivered after a crash: nothing is done twice, the letter stays one.
    again = handler.on_messages(records)
    assert [h.status for h in again] == ["duplicate", "duplicate", "duplicate"]
    assert len(DeadLetterBox(runtime.store).recent()) == 1


def test_an_infrastructure_failure_is_retried_then_dead_lettered_after_max_attempts(runtime, tmp_path):
    service = FailingService(runtime.service, {"e2": OperationalError("database is locked")})
    handler = RecordHandler(service, runtime.settings)
    attempts = AttemptLog(tmp_path / "attempts.json")
    records = [record(0, "e1"), record(1, "e2")]
    for expected in range(1, 4):
        with pytest.raises(RecordFailed) as failed:
            handler.on_messages(records)
        assert is_infrastructure(failed.value.error)
        assert attempts.failed(AttemptLog.key(TOPIC, 0, 1), failed.value.args[0]) == expected
    assert AttemptLog(tmp_path / "attempts.json").failed(AttemptLog.key(TOPIC, 0, 1), failed.value.args[0]) == 4, \
        "the count survives a restart"
    letter = handler.dead_letter_after(failed.value.record, failed.value.stage, 4, failed.value.error)
    assert letter.status == "dead_letter" and "failed 4 times" in letter.reason
    handled = handler.on_messages(records)
    assert [h.status for h in handled] == ["duplicate", "duplicate"]
    assert len(DeadLetterBox(runtime.store).recent()) == 1


def test_a_different_error_starts_the_count_again(tmp_path):
    attempts = AttemptLog(tmp_path / "a.json")
    key = AttemptLog.key(TOPIC, 3, 7)
    assert attempts.failed(key, "OperationalError: locked") == 1
    assert attempts.failed(key, "OperationalError: locked") == 2
    assert attempts.failed(key, "OSError: disk full") == 1
    attempts.succeeded([key])
    assert AttemptLog(tmp_path / "a.json").failed(key, "OSError: disk full") == 1
