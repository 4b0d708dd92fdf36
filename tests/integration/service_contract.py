"""The behaviour every event-store backend must show, as an abstract test case.

``test_service_sqlite.py`` and ``test_service_postgres.py`` subclass it, in the
style of eventsourcing's own persistence test cases, so SQLite and PostgreSQL are
held to exactly the same contract.
"""

from __future__ import annotations

from pathlib import Path
from uuid import UUID

import pytest
from eventsourcing.persistence import IntegrityError, Tracking

from memstream.bootstrap import build_runtime
from application.settings import Settings
from application.memory_app import kafka_tracking
from domain.envelope import InputEnvelope
from domain.raw_input import raw_input_id
from domain.values import Cause
from extraction.rule_extractor import RuleBasedExtractor
from projections.catch_up import catch_up
from projections.timeline import TimelineProjector
from projections.timeline_view import TRACKING_NAME
from tests.support.fakes import TableFinder

TABLE = {
    "我是小忆，现在在上海居住，不太能吃辣。": [
        ("name", "叫小忆"), ("residence", "在上海居住"), ("diet.spicy", "不能吃辣")
    ],
    "最近我搬去成都了，突然爱上四川火锅，喜欢辣锅！": [
        ("residence", "在成都居住"), ("food.like", "喜欢四川火锅"), ("diet.spicy", "喜欢吃辣")
    ],
}


def envelope(event_id: str, text: str, when: str, user: str = "xiaoyi") -> InputEnvelope:
    return InputEnvelope.model_validate({
        "event_id": event_id, "user_id": user, "conversation_id": f"c-{event_id}",
        "messages": [{"message_id": f"m-{event_id}", "role": "user", "content": text, "chat_time": when}],
    })


V1 = ("e1", "我是小忆，现在在上海居住，不太能吃辣。", "2025-03-15T09:30:00+08:00")
V2 = ("e2", "最近我搬去成都了，突然爱上四川火锅，喜欢辣锅！", "2026-04-20T19:00:00+08:00")


class ServiceContract:
    """Subclasses provide ``url`` (a fixture returning the event-store URL)."""

    @pytest.fixture
    def runtime(self, url, tmp_path):
        rt = self.open(url, tmp_path)
        yield rt
        rt.close()

    def open(self, url: str, tmp_path: Path, sync: bool = True):
        settings = Settings(data_dir=tmp_path / "data", event_store=url)
        extractor = RuleBasedExtractor(TableFinder(TABLE))
        return build_runtime(settings, extractor=extractor, with_vectors=False, sync_projections=sync)

    def profile_of(self, rt, user: str = "xiaoyi") -> dict:
        facts = [v for v in rt.timeline.memories(user) if v["kind"] == "fact"]
        assert len(facts) == 1, facts
        return facts[0]

    def test_conflict_revises_the_same_memory(self, runtime):
        first = runtime.service.ingest(envelope(*V1))
        second = runtime.service.ingest(envelope(*V2))
        assert len(first.created) == 1 and second.created == []
        assert second.revised == first.created
        memory = self.profile_of(runtime)
        history = runtime.timeline.history(memory["memory_id"])
        assert [v["version"] for v in history] == [1, 2]
        assert "上海" in history[0]["content"] and "不能吃辣" in history[0]["content"]
        assert "成都" in history[1]["content"] and "上海" not in history[1]["content"]
        assert history[1]["reason"] == "conflict"
        assert [s["message_id"] for s in history[1]["sources"]] == ["m-e1", "m-e2"]

    def test_aggregate_replays_to_any_version(self, runtime):
        runtime.service.ingest(envelope(*V1))
        runtime.service.ingest(envelope(*V2))
        memory_id = UUID(self.profile_of(runtime)["memory_id"])
        v1 = runtime.store.repository.get(memory_id, version=1)
        v2 = runtime.store.repository.get(memory_id)
        assert (v1.version, v2.version) == (1, 2)
        assert "上海" in v1.content and "成都" in v2.content
        assert v1.slots["name"] == v2.slots["name"] == "叫小忆"

    def test_reingest_changes_nothing(self, runtime):
        runtime.service.ingest(envelope(*V1))
        head = runtime.store.recorder.max_notification_id()
        again = runtime.service.ingest(envelope(*V1))
        assert again.duplicate and not (again.created or again.revised or again.archived)
        assert runtime.store.recorder.max_notification_id() == head

    def test_a_chunk_ingested_at_once_revises_and_projects_as_one_by_one(self, runtime):
        first, second = runtime.service.ingest_batch([envelope(*V1), envelope(*V2)])
        assert len(first.created) == 1 and second.revised == first.created
        history = runtime.timeline.history(self.profile_of(runtime)["memory_id"])  # projected on return
        assert [v["version"] for v in history] == [1, 2] and "成都" in history[1]["content"]
        head = runtime.store.recorder.max_notification_id()
        again = runtime.service.ingest_batch([envelope(*V1), envelope(*V2)])
        assert all(o.duplicate and not o.revised for o in again)
        assert runtime.store.recorder.max_notification_id() == head

    def test_a_chunk_recorded_before_a_crash_is_refined_once_on_the_next_run(self, runtime):
        envs = [envelope(*V1), envelope(*V2)]
        runtime.service.record_batch([(e, Cause(event_ids=(e.event_id,))) for e in envs], (), ())
        assert not runtime.store.raw_input("e1").is_refined  # the process died here
        outcomes = runtime.service.ingest_batch(envs)
        assert all(o.duplicate for o in outcomes)  # recorded already: nothing recorded twice
        assert all(runtime.store.raw_input(e.event_id).is_refined for e in envs)
        history = runtime.timeline.history(self.profile_of(runtime)["memory_id"])
        assert [v["version"] for v in history] == [1, 2]

    def test_covered_episode_is_archived_with_successor(self, runtime):
        runtime.service.ingest(envelope(*V1))
        views = runtime.timeline.memories("xiaoyi", include_archived=True)
        episode = next(v for v in views if v["kind"] == "episode")
        fact = next(v for v in views if v["kind"] == "fact")
        assert episode["status"] == "archived" and episode["superseded_by"] == [fact["memory_id"]]
        uncovered = runtime.service.ingest(envelope("e9", "今天天气不错", "2025-03-16T09:00:00+08:00"))
        kept = runtime.timeline.current(uncovered.episodes)[uncovered.episodes[0]]
        assert kept["status"] == "active"

    def test_redelivered_kafka_position_is_skipped(self, runtime):
        position = kafka_tracking("memstream.messages", 2, 41)
        cause = Cause(event_ids=("e1",), topic="memstream.messages", partition=2, offset=41)
        first = runtime.service.record_input(envelope(*V1), cause, position)
        head = runtime.store.recorder.max_notification_id()
        # The same record again, even under a fresh event_id, is recognised by its position.
        again = runtime.service.record_input(envelope("other", V1[1], V1[2]), cause, position)
        assert first.episodes and again.duplicate
        assert runtime.store.recorder.max_notification_id() == head
        assert runtime.store.is_tracked(kafka_tracking("memstream.messages", 2, 40))
        assert not runtime.store.is_tracked(kafka_tracking("memstream.messages", 2, 42))

    def test_a_batch_records_the_position_of_every_partition_it_spans(self, runtime):
        topic = "memstream.messages"
        items = [(envelope("p0", V1[1], V1[2]), Cause(event_ids=("p0",), topic=topic, partition=0, offset=7)),
                 (envelope("p3", V2[1], V2[2], user="bob"),
                  Cause(event_ids=("p3",), topic=topic, partition=3, offset=2))]
        outcomes = runtime.service.record_batch(items, [], [kafka_tracking(topic, 0, 7), kafka_tracking(topic, 3, 2)])
        assert [o.event_id for o in outcomes] == ["p0", "p3"] and all(o.episodes for o in outcomes)
        assert runtime.store.is_tracked(kafka_tracking(topic, 0, 7))
        assert runtime.store.is_tracked(kafka_tracking(topic, 3, 2))
        assert not runtime.store.is_tracked(kafka_tracking(topic, 3, 3))
        assert not runtime.store.is_tracked(kafka_tracking(topic, 1, 0))

    def test_a_failed_batch_records_no_position_at_all(self, runtime):
        topic = "memstream.messages"
        runtime.service.record_input(envelope(*V1))
        head = runtime.store.recorder.max_notification_id()
        items = [(envelope("fresh", V2[1], V2[2], user="bob"), Cause(event_ids=("fresh",))),
                 (envelope(*V1), Cause(event_ids=(V1[0],)))]  # recorded before: the batch must fail
        with pytest.raises(IntegrityError):
            runtime.service.record_batch(items, [], [kafka_tracking(topic, 1, 5), kafka_tracking(topic, 2, 9)])
        assert runtime.store.recorder.max_notification_id() == head
        assert not runtime.store.is_tracked(kafka_tracking(topic, 1, 5))
        assert not runtime.store.is_tracked(kafka_tracking(topic, 2, 9))
        assert runtime.service.raw_input("fresh") is None

    def test_users_do_not_share_memories(self, runtime):
        runtime.service.ingest(envelope(*V1))
        runtime.service.ingest(envelope("b1", V2[1], V2[2], user="bob"))
        assert "上海" in self.profile_of(runtime, "xiaoyi")["content"]
        assert "上海" not in self.profile_of(runtime, "bob")["content"]

    def test_one_user_cannot_block_another_with_the_same_event_id(self, runtime):
        """event_id is unique per user: bob's "e1" is his own input, not a duplicate of xiaoyi's."""
        first = runtime.service.ingest(envelope(*V1))
        taken = runtime.service.ingest(envelope("e1", V2[1], V2[2], user="bob"))
        assert not first.duplicate and not taken.duplicate and taken.created
        assert set(taken.episodes).isdisjoint(first.episodes)
        assert "上海" in self.profile_of(runtime, "xiaoyi")["content"]
        assert "成都" in self.profile_of(runtime, "bob")["content"]
        assert runtime.service.ingest(envelope("e1", V2[1], V2[2], user="bob")).duplicate
        assert runtime.service.ingest(envelope(*V1)).duplicate
        store = runtime.store
        # The first owner keeps the plain id every data dir written before holds; bob's is scoped.
        assert store.raw_input("e1", "xiaoyi").id == raw_input_id("e1") == store.raw_input("e1").id
        assert store.raw_input("e1", "bob").id == raw_input_id("e1", "bob")
        assert store.raw_input("e1", "bob").user_id == "bob" and store.raw_input("e1", "bob").is_refined
        assert store.raw_input("e1", "carol") is None

    def test_a_fine_batch_refines_same_event_ids_of_distinct_users(self, runtime):
        svc = runtime.service
        for n, user in enumerate(("xiaoyi", "bob")):
            svc.record_input(envelope("same", V1[1], V1[2], user=user), Cause(event_ids=("same",)),
                             kafka_tracking("t.messages", 0, n))
        results = svc.refine_batch([("same", Cause(event_ids=("same",))), ("same", Cause(event_ids=("same",)))],
                                   kafka_tracking("t.fine", 0, 0), ["xiaoyi", "bob"])
        assert [r.skipped for r in results] == [False, False]
        assert runtime.store.raw_input("same", "xiaoyi").is_refined and runtime.store.raw_input("same", "bob").is_refined
        assert runtime.store.unrefined_inputs() == []

    def test_a_projection_note_is_kept_and_replaced_in_place(self, runtime):
        """Where the vector projection records which model made its index."""
        assert runtime.timeline.meta("test:note") is None
        runtime.timeline.set_meta("test:note", "model-a")
        runtime.timeline.set_meta("test:note", "model-b")
        assert runtime.timeline.meta("test:note") == "model-b"

    def test_concurrent_refines_of_one_user_are_serialised(self, url, tmp_path):
        a, b = self.open(url, tmp_path), self.open(url, tmp_path)
        try:
            a.service.record_input(envelope(*V1))
            b.service.record_input(envelope(*V2))
            a.service.refine("e1")
            # b's cached view of the user's directory is stale: it must retry, not lose e2.
            b.service.refine("e2")
            a.catch_up()
            memory = self.profile_of(a)
            assert memory["version"] == 2 and "成都" in memory["content"]
        finally:
            a.close()
            b.close()

    def test_timeline_is_applied_exactly_once(self, url, tmp_path):
        rt = self.open(url, tmp_path, sync=False)
        try:
            rt.service.ingest(envelope(*V1))
            rt.service.ingest(envelope(*V2))
            projector = TimelineProjector(rt.timeline)
            applied = catch_up(rt.store, projector, batch_size=2)
            assert applied > 0 and catch_up(rt.store, projector) == 0
            counts = rt.timeline.counts()
            # A batch whose position is already recorded is rejected whole (rolled back).
            with pytest.raises(IntegrityError):
                rt.timeline.apply([{"memory_id": "x", "version": 1, "user_id": "u", "kind": "fact",
                                    "status": "active", "updated_at": "t"}],
                                  Tracking(TRACKING_NAME, projector.position()))
            assert rt.timeline.counts() == counts
            # Replay from scratch rebuilds the very same timeline.
            before = rt.timeline.memories("xiaoyi", include_archived=True)
            projector.clear()
            assert rt.timeline.counts() == {"versions": 0, "memories": 0}
            catch_up(rt.store, projector, batch_size=3)
            assert rt.timeline.memories("xiaoyi", include_archived=True) == before
        finally:
            rt.close()

    def test_two_followers_of_one_timeline_do_not_collide(self, url, tmp_path):
        """A CLI catching up while a worker's projection loop does the same."""
        a, b = self.open(url, tmp_path, sync=False), self.open(url, tmp_path, sync=False)
        try:
            a.service.ingest(envelope(*V1))
            first, second = TimelineProjector(a.timeline), TimelineProjector(b.timeline)
            catch_up(a.store, first)
            a.service.ingest(envelope(*V2))
            catch_up(b.store, second)
            stale = TimelineProjector(a.timeline)
            stale.position = lambda: 0  # believes it is at the start: its first write collides
            assert catch_up(a.store, stale) >= 0
            assert self.profile_of(a)["version"] == 2
        finally:
            a.close()
            b.close()
