"""The checked-in JSON Schemas must match the pydantic models they come from."""

import json

from schemas.generate import DEFAULT_DIR, TOPIC_PAYLOADS, check_schemas, render, write_schemas


def test_checked_in_schemas_match_the_models():
    assert check_schemas() == [], "run `memstream schemas` (or `make schemas`) and commit the result"


def test_check_notices_drift(tmp_path):
    write_schemas(tmp_path)
    assert check_schemas(tmp_path) == []
    path = tmp_path / "messages.schema.json"
    schema = json.loads(path.read_text())
    schema["properties"].pop("user_id")
    path.write_text(json.dumps(schema))
    assert check_schemas(tmp_path) == ["messages"]


def test_every_topic_has_a_schema_that_requires_its_keys():
    assert set(TOPIC_PAYLOADS) == {"messages", "knowledge", "fine", "memory-events", "deadletters",
                                   "control"}
    messages = json.loads(render("messages", TOPIC_PAYLOADS["messages"]))
    assert set(messages["required"]) == {"user_id", "messages"}
    assert (DEFAULT_DIR / "memory-events.schema.json").exists()
