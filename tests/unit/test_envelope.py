"""The input contract: what is accepted and what is rejected with which reason."""

import json

import pytest

from application.jsonl import parse_record
from domain.envelope import MAX_CONTENT_CHARS, InputEnvelope, KnowledgeDocument

GOOD = {"user_id": "u1", "messages": [{"role": "user", "content": "hi", "chat_time": "2025-01-01T10:00:00"}]}


def test_minimal_envelope_gets_an_event_id_and_an_aware_time():
    env = parse_record(json.dumps(GOOD), InputEnvelope)
    assert env.event_id and env.messages[0].chat_time.tzinfo is not None


def test_content_parts_text_and_captions():
    env = InputEnvelope.model_validate({"user_id": "u", "messages": [{"role": "user", "content": [
        {"type": "text", "text": "look"},
        {"type": "image_url", "image_url": {"url": "http://x/y.png"}, "caption": "a cat"},
        {"type": "file", "file": {"name": "report.pdf"}}]}]})
    assert env.messages[0].text() == "look\na cat\n[file: report.pdf]"


@pytest.mark.parametrize("record,reason", [
    ('{"messages": [{"role": "user", "content": "x"}]}', "user_id: Field required"),
    ('{"user_id": "u", "messages": []}', "messages: List should have at least 1 item"),
    ('{"user_id": 5, "messages": [{"role": "user", "content": "x"}]}', "user_id: Input should be a valid string"),
    ('{"user_id": "u", "messages": [{"role": "robot", "content": "x"}]}', "messages.0.role"),
    ('{"user_id": "u", "messages": [{"role": "tool", "content": "x"}]}', "needs tool_name"),
    ('{"user_id": "u", "messages": [{"role": "user", "content": ""}]}', "no text content"),
    ('{"user_id": "u", "messages": [{"role": "user", "content": "' + "x" * (MAX_CONTENT_CHARS + 1) + '"}]}',
     f"at most {MAX_CONTENT_CHARS} characters"),
    ('{"user_id": "u", "messages": [{"role": "user"', "invalid JSON"),
    ('[1, 2]', "expected a JSON object"),
    (b'{"user_id": "\xff"}', "not valid UTF-8"),
    ('{"user_id": "  ", "messages": [{"role": "user", "content": "x"}]}', "must not be blank"),
    ('{"user_id": "u", "surprise": 1, "messages": [{"role": "user", "content": "x"}]}', "surprise"),
])
def test_bad_records_are_rejected_with_a_reason(record, reason):
    with pytest.raises(ValueError) as info:
        parse_record(record, InputEnvelope)
    assert reason in str(info.value)


def test_tool_trace_is_accepted():
    env = InputEnvelope.model_validate({"user_id": "u", "messages": [
        {"role": "tool", "tool_name": "weather", "tool_input": {"city": "成都"}, "tool_output": "sunny",
         "status": "ok", "latency_ms": 120}]})
    assert env.messages[0].tool_name == "weather"


def test_knowledge_document():
    doc = KnowledgeDocument.model_validate({"kb_id": "kb", "doc_id": "d1", "title": "T", "text": "body"})
    assert doc.doc_id == "d1"
