"""The Memory aggregate's version chain, on eventsourcing's in-memory (POPO) store."""

import pytest
from eventsourcing.application import Application

from domain.memory import Memory, MemoryArchived, MemoryCreated, MemoryStateError, MemoryRevised


def new_memory(**overrides):
    fields = dict(user_id="u1", kind="fact", key="residence", content="用户在上海居住",
                  stage="fine", reason="new", cause={"event_ids": ["e1"]}, decided_by="rules",
                  sources=[{"event_id": "e1", "message_id": "m1"}], slots={"residence": "在上海居住"})
    fields.update(overrides)
    return Memory(**fields)


def test_versions_count_up_with_each_event():
    memory = new_memory()
    memory.revise(content="用户在成都居住", stage="fine", reason="conflict", cause={}, decided_by="rules",
                  new_sources=[{"event_id": "e2", "message_id": "m2"}])
    memory.archive(stage="offline", reason="deleted", cause={}, decided_by="ops")
    events = memory.collect_events()
    assert [type(e) for e in events] == [MemoryCreated, MemoryRevised, MemoryArchived]
    assert [e.originator_version for e in events] == [1, 2, 3]
    assert memory.version == 3 and memory.status == "archived"
    assert [s["message_id"] for s in memory.sources] == ["m1", "m2"]


def test_revise_keeps_fields_it_does_not_change():
    memory = new_memory(preference_type=None, tags=["home"], confidence=0.8)
    memory.revise(content="用户在成都居住", stage="fine", reason="conflict", cause={}, decided_by="r")
    assert memory.key == "residence" and memory.tags == ["home"] and memory.confidence == 0.8
    assert memory.slots == {"residence": "在上海居住"}


def test_a_source_already_held_is_not_added_twice():
    memory = new_memory()
    memory.revise(content="x", stage="fine", reason="refinement", cause={}, decided_by="r",
                  new_sources=[{"event_id": "e1", "message_id": "m1"}])
    assert len(memory.sources) == 1


def test_archived_memory_refuses_further_changes():
    memory = new_memory()
    memory.archive(stage="fine", reason="superseded", cause={}, decided_by="r", superseded_by=["m9"])
    assert memory.superseded_by == ["m9"]
    with pytest.raises(MemoryStateError):
        memory.revise(content="y", stage="fine", reason="conflict", cause={}, decided_by="r")
    with pytest.raises(MemoryStateError):
        memory.archive(stage="fine", reason="superseded", cause={}, decided_by="r")


def test_repository_returns_every_version():
    app = Application(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    memory = new_memory()
    for city in ("成都", "北京", "广州"):
        memory.revise(content=f"用户在{city}居住", stage="fine", reason="conflict", cause={}, decided_by="r")
    app.save(memory)
    contents = [app.repository.get(memory.id, version=v).content for v in range(1, 5)]
    assert contents == ["用户在上海居住", "用户在成都居住", "用户在北京居住", "用户在广州居住"]
    assert app.repository.get(memory.id).version == 4
