"""Poison input is rejected at the contract with a clear one-line reason; good input still passes.

Each test reproduces one way a record used to get past validation and crash (or bloat) a
later stage; the property test throws arbitrary JSON-ish bytes at ``parse_record``.
"""

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from application.jsonl import MAX_JSON_DEPTH, parse_record
from domain.envelope import (MAX_CONTENT_CHARS, MAX_DEPTH, MAX_ENVELOPE_BYTES, MAX_INFO_BYTES, MAX_MESSAGES,
                             MAX_PARTS, MAX_TAG_CHARS, MAX_TAGS, InputEnvelope, KnowledgeDocument)
from schemas.generate import render


def envelope(**fields) -> dict:
    return {"user_id": "u1", "messages": [{"role": "user", "content": "hi"}], **fields}


def rejected(record, model=InputEnvelope) -> str:
    with pytest.raises(ValueError) as info:
        parse_record(record, model)
    reason = str(info.value)
    assert type(info.value) is ValueError
    assert reason and "\n" not in reason
    return reason


def nested(depth: int, leaf='"x"') -> str:
    return '{"a":' * depth + leaf + "}" * depth


GOOD_LINES = [
    json.dumps(envelope()),
    json.dumps({"user_id": "小明", "messages": [{"role": "user", "content": "我下周去成都出差，想吃火锅 🌶️🍲"}],
                "tags": ["旅行", "✈️"], "info": {"城市": "成都", "emoji": "😀", "deep": json.loads(nested(MAX_DEPTH - 1))}},
               ensure_ascii=False),
    json.dumps({"user_id": "u", "messages": [{"role": "user", "content": "emoji as escapes 😀"}]}),  # \ud83d\ude00
    json.dumps({"user_id": "u", "messages": [{"role": "tool", "tool_name": "weather", "tool_input": {"city": "成都"},
                                              "tool_output": [1, 2.5, None, True], "latency_ms": 12}]}),
    json.dumps({"user_id": "u", "messages": [{"role": "user", "content": [{"type": "text", "text": "look"}],
                                              "chat_time": "2025-01-01T10:00:00+08:00"}]}),
]


@pytest.mark.parametrize("line", GOOD_LINES)
def test_good_envelopes_still_pass(line):
    env = parse_record(line, InputEnvelope)
    assert env.messages and env.user_id
    assert parse_record(line.encode("utf-8"), InputEnvelope).user_id == env.user_id


def test_chinese_and_emoji_survive_unchanged():
    env = parse_record(GOOD_LINES[1], InputEnvelope)
    assert env.user_id == "小明" and "🌶️🍲" in env.messages[0].text() and env.info["emoji"] == "😀"
    assert parse_record(GOOD_LINES[2], InputEnvelope).messages[0].text().endswith("😀")


# 1. deep nesting ------------------------------------------------------------------------------
def test_json_nested_1000_deep_is_a_reason_not_a_recursion_error():
    line = '{"user_id":"u","messages":[{"role":"user","content":"hi"}],"info":' + nested(1000, "1") + "}"
    assert len(line) < 8_000
    assert f"nests deeper than {MAX_JSON_DEPTH} levels" in rejected(line)
    assert "nests deeper than" in rejected("[" * 100_000 + "]" * 100_000)
    assert "nests deeper than" in rejected('{"a":' * 100_000)  # unterminated as well


@pytest.mark.parametrize("field", ["info", "tool_input", "tool_output"])
def test_free_form_json_nests_at_most_max_depth(field):
    ok, deep = json.loads(nested(MAX_DEPTH)), json.loads(nested(MAX_DEPTH + 1))  # the value itself is level 1
    if field == "info":
        parse_record(json.dumps(envelope(info=ok)), InputEnvelope)
        reason = rejected(json.dumps(envelope(info=deep)))
    else:
        msg = {"role": "tool", "tool_name": "t"}
        parse_record(json.dumps(envelope(messages=[{**msg, field: ok}])), InputEnvelope)
        reason = rejected(json.dumps(envelope(messages=[{**msg, field: deep}])))
    assert f"nests deeper than {MAX_DEPTH} levels" in reason


def test_brackets_inside_strings_do_not_count_as_nesting():
    env = parse_record(json.dumps(envelope(messages=[{"role": "user", "content": "[{" * 5000}])), InputEnvelope)
    assert env.messages[0].content.startswith("[{")


# 2. lone surrogates ---------------------------------------------------------------------------
@pytest.mark.parametrize("line", [
    r'{"user_id": "u\ud800", "messages": [{"role": "user", "content": "hi"}]}',
    r'{"user_id": "u", "messages": [{"role": "user", "content": "a\udfffb"}]}',
    r'{"user_id": "u", "messages": [{"role": "user", "content": [{"type": "text", "text": "\ud83d"}]}]}',
    r'{"user_id": "u", "tags": ["\ud800"], "messages": [{"role": "user", "content": "hi"}]}',
    r'{"user_id": "u", "info": {"k": ["\ud800"]}, "messages": [{"role": "user", "content": "hi"}]}',
    r'{"user_id": "u", "info": {"\udc00": 1}, "messages": [{"role": "user", "content": "hi"}]}',
    r'{"user_id": "u", "messages": [{"role": "tool", "tool_name": "t", "tool_output": {"x": "\ud800"}}]}',
])
def test_lone_surrogates_are_rejected(line):
    reason = rejected(line)
    assert "lone surrogate" in reason
    reason.encode("utf-8")  # the reason itself is printable


def test_a_surrogate_as_a_raw_utf8_byte_sequence_is_not_utf8():
    assert "not valid UTF-8" in rejected(b'{"user_id": "\xed\xa0\x80", "messages": []}')


# 3. NUL ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("field,value", [
    ("user_id", "u\u0000"), ("event_id", "e\u0000"), ("conversation_id", "\u0000"), ("tags", ["a\u0000"]),
    ("info", {"k": "v\u0000"}), ("info", {"k\u0000": "v"}),
])
def test_nul_is_rejected_in_envelope_strings(field, value):
    assert "NUL character" in rejected(json.dumps(envelope(**{field: value})))


@pytest.mark.parametrize("message", [
    {"role": "user", "content": "a\u0000b"}, {"role": "user", "content": "hi", "name": "\u0000"},
    {"role": "user", "content": "hi", "message_id": "D1:\u0000"},
    {"role": "user", "content": [{"type": "image_url", "image_url": {"url": "http://x\u0000"}, "caption": "c"}]},
    {"role": "tool", "tool_name": "t\u0000"}, {"role": "tool", "tool_name": "t", "tool_input": ["\u0000"]},
])
def test_nul_is_rejected_in_message_strings(message):
    assert "NUL character" in rejected(json.dumps(envelope(messages=[message])))


# 4. NaN / Infinity ----------------------------------------------------------------------------
@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_are_not_json(constant):
    line = '{"user_id": "u", "messages": [{"role": "user", "content": "hi"}], "info": {"x": %s}}' % constant
    assert f"{constant} is not valid JSON" in rejected(line)


def test_overflowing_and_huge_numbers_are_rejected():
    assert "must be finite" in rejected('{"user_id": "u", "messages": [], "info": {"x": 1e999}}')
    assert "the limit is 100" in rejected('{"user_id": "u", "messages": [], "info": {"x": %s}}' % ("9" * 5000))
    assert "finite number" in rejected(json.dumps(envelope(messages=[
        {"role": "user", "content": "hi", "latency_ms": "Infinity"}])))
    with pytest.raises(ValueError, match="must be finite"):
        InputEnvelope.model_validate(envelope(info={"x": float("nan")}))  # Python callers too


# 5. chat_time must be a string ----------------------------------------------------------------
@pytest.mark.parametrize("value,reason", [
    (253402300800, "ISO 8601 date-time string, not int"), (1.5, "not float"), (True, "not bool"),
    ("253402300800", "ISO 8601 date-time string such as"), ("yesterday", "ISO 8601"),
    ("0001-01-01T00:00:00+01:00", "out of range"),
])
def test_chat_time_must_be_an_iso_string(value, reason):
    assert reason in rejected(json.dumps(envelope(messages=[{"role": "user", "content": "hi", "chat_time": value}])))


@pytest.mark.parametrize("value", ["0001-01-01", "9999-12-31", "2025-01-01", "2025-01-01T10:00:00Z",
                                   "2025-01-01 10:00:00+08:00"])
def test_dates_and_date_times_parse(value):
    env = parse_record(json.dumps(envelope(messages=[{"role": "user", "content": "hi", "chat_time": value}])),
                       InputEnvelope)
    assert env.messages[0].chat_time.tzinfo is not None
    doc = parse_record(json.dumps({"kb_id": "k", "doc_id": "d", "text": "t", "updated_at": value}), KnowledgeDocument)
    assert doc.updated_at.year == int(value[:4])


def test_updated_at_must_be_a_string_too():
    assert "not int" in rejected(json.dumps({"kb_id": "k", "doc_id": "d", "text": "t", "updated_at": 0}),
                                 KnowledgeDocument)


# 6. rules the schema states -------------------------------------------------------------------
@pytest.mark.parametrize("message,reason", [
    ({"role": "user", "content": ""}, "no text content"),
    ({"role": "assistant", "content": []}, "no text content"),
    ({"role": "user", "content": [{"type": "image_url", "image_url": {"url": "http://x"}}]}, "no text content"),
    ({"role": "tool", "tool_output": "x"}, "needs tool_name"),
    ({"role": "tool", "tool_name": "  "}, "needs tool_name"),
    ({"role": "user", "content": 5}, "content must be a string or a list of parts"),
])
def test_a_message_needs_text_and_a_tool_message_a_tool_name(message, reason):
    assert reason in rejected(json.dumps(envelope(messages=[message])))


@pytest.mark.parametrize("user_id,reason", [
    ("", "at least 1 character"), ("   ", "must not be blank"), ("\t\n", "must not be blank"),
    ("kb:shared", "reserved for knowledge bases"), (" kb:x", "reserved for knowledge bases"),
])
def test_user_id_blank_or_reserved(user_id, reason):
    assert reason in rejected(json.dumps(envelope(user_id=user_id)))


def test_user_id_is_stripped_and_nfc_normalised_case_kept():
    env = parse_record(json.dumps(envelope(user_id="  Cafe\u0301 ")), InputEnvelope)
    assert env.user_id == "Caf\u00e9"
    assert parse_record(json.dumps(envelope(user_id="KB:not-reserved")), InputEnvelope).user_id == "KB:not-reserved"


def test_the_schema_states_the_rules():
    schema = json.loads(render("messages", InputEnvelope))
    user_id = schema["properties"]["user_id"]
    assert "NFC" in user_id["description"] and "kb:" in user_id["description"]
    assert user_id["not"] == {"pattern": "^\\s*kb:"} and user_id["pattern"] == "\\S"
    message = schema["$defs"]["Message"]
    assert message["allOf"][0]["then"]["required"] == ["tool_name"]
    assert "NUL" in schema["description"] and str(MAX_ENVELOPE_BYTES) in schema["description"]
    assert schema["properties"]["messages"]["maxItems"] == MAX_MESSAGES
    assert schema["properties"]["tags"]["maxItems"] == MAX_TAGS
    assert schema["properties"]["tags"]["items"]["maxLength"] == MAX_TAG_CHARS
    assert str(MAX_INFO_BYTES) in schema["properties"]["info"]["description"]
    assert str(MAX_DEPTH) in schema["properties"]["info"]["description"]


# 7. limits that bound amplification -----------------------------------------------------------
def test_the_657_kb_line_that_made_a_1_gb_data_dir_is_rejected():
    line = json.dumps({"user_id": "u", "tags": ["t" * 10_000] * 64,
                       "messages": [{"role": "user", "content": "I like tea. " * 20}] * 200})
    assert 600_000 < len(line) and f"the limit is {MAX_ENVELOPE_BYTES}" in rejected(line)


@pytest.mark.parametrize("fields,reason", [
    ({"messages": [{"role": "user", "content": "x"}] * (MAX_MESSAGES + 1)}, f"at most {MAX_MESSAGES} items"),
    ({"tags": ["t"] * (MAX_TAGS + 1)}, f"at most {MAX_TAGS} items"),
    ({"tags": ["t" * (MAX_TAG_CHARS + 1)]}, f"at most {MAX_TAG_CHARS} characters"),
    ({"info": {"x": "y" * MAX_INFO_BYTES}}, f"the limit is {MAX_INFO_BYTES}"),
    ({"messages": [{"role": "user", "content": "x" * (MAX_CONTENT_CHARS + 1)}]}, f"at most {MAX_CONTENT_CHARS}"),
    ({"messages": [{"role": "user", "content": [{"type": "text", "text": "x" * 60_000}] * 2}]},
     f"the limit is {MAX_CONTENT_CHARS}"),
    ({"messages": [{"role": "user", "content": [{"type": "text", "text": "x"}] * (MAX_PARTS + 1)}]},
     f"at most {MAX_PARTS} items"),
])
def test_limits(fields, reason):
    assert reason in rejected(json.dumps(envelope(**fields)))


def test_limits_are_inclusive():
    env = envelope(tags=["t" * MAX_TAG_CHARS] * MAX_TAGS, messages=[{"role": "user", "content": "x"}] * MAX_MESSAGES,
                   info={"x": "y" * (MAX_INFO_BYTES - 10)})
    assert len(parse_record(json.dumps(env), InputEnvelope).messages) == MAX_MESSAGES


def test_record_size_counts_utf8_bytes_for_str_input_too():
    line = json.dumps(envelope(messages=[{"role": "user", "content": "汉" * 90_000}] * 2), ensure_ascii=False)
    assert len(line) < MAX_ENVELOPE_BYTES < len(line.encode())
    assert f"the limit is {MAX_ENVELOPE_BYTES}" in rejected(line)


def test_the_contract_fits_the_producer():
    from streams.publish import MAX_REQUEST_SIZE, REENCODING_HEADROOM
    assert MAX_ENVELOPE_BYTES + REENCODING_HEADROOM <= MAX_REQUEST_SIZE


# 8. knowledge documents -----------------------------------------------------------------------
@pytest.mark.parametrize("fields,reason", [
    ({"kb_id": " "}, "kb_id must not be blank"), ({"doc_id": ""}, "at least 1 character"),
    ({"text": "a\u0000"}, "NUL character"), ({"title": "\ud800"}, "lone surrogate"),
    ({"user_id": "  "}, "must not be blank"), ({"user_id": "kb:other"}, "reserved"),
])
def test_knowledge_documents_follow_the_same_string_rules(fields, reason):
    doc = {"kb_id": "kb", "doc_id": "d1", "text": "body", **fields}
    assert reason in rejected(json.dumps(doc), KnowledgeDocument)


def test_knowledge_nan_and_good_document():
    assert "NaN is not valid JSON" in rejected('{"kb_id": "k", "doc_id": "d", "text": NaN}', KnowledgeDocument)
    doc = parse_record(json.dumps({"kb_id": "k", "doc_id": "d", "text": "成都攻略 🐼", "user_id": " Ana "}),
                       KnowledgeDocument)
    assert doc.user_id == "Ana" and doc.text == "成都攻略 🐼"


# property: any bytes give a model or a one-line ValueError --------------------------------------
_scalars = (st.none() | st.booleans() | st.integers() | st.integers(min_value=-(10 ** 400), max_value=10 ** 400)
            | st.floats(allow_nan=True, allow_infinity=True) | st.text(alphabet=st.characters(codec=None), max_size=20)
            | st.sampled_from(["\ud800", "\x00", "", " ", "kb:x", "user", "tool", "text", "2025-01-01",
                               "0001-01-01T00:00:00+05:00", "😀", "成都"]))
_keys = st.sampled_from(["user_id", "messages", "role", "content", "tool_name", "tool_input", "info", "tags",
                         "chat_time", "type", "text", "a", "\ud800", "\x00"]) | st.text(max_size=5)
_json = st.recursive(_scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_keys, inner, max_size=5),
                     max_leaves=30)


def _message(d: dict) -> dict:
    return {"role": "user", "content": "hi", **d}


_envelopes = st.builds(lambda top, msgs: {"user_id": "u", "messages": msgs, **top},
                       st.dictionaries(st.sampled_from(["user_id", "tags", "info", "event_id", "conversation_id"]),
                                       _json, max_size=3),
                       _json | st.lists(st.dictionaries(st.sampled_from(
                           ["role", "content", "chat_time", "tool_name", "tool_input", "latency_ms", "name"]),
                           _json, max_size=3).map(_message), max_size=3))


def _dump(value, mode: int) -> str:
    text = json.dumps(value, ensure_ascii=bool(mode & 1), allow_nan=True)
    if mode & 2:
        text = text.replace('"a"', "[" * 50 + "1" + "]" * 50, 1)
    if mode & 4:
        text = text[: len(text) // 2]
    return text


_raw = (st.builds(_dump, _json | _envelopes, st.integers(0, 7)).map(lambda t: t.encode("utf-8", "surrogatepass"))
        | st.builds(_dump, _json | _envelopes, st.integers(0, 7))
        | st.binary(max_size=200)
        | st.builds(lambda d, leaf: '{"user_id":"u","messages":[{"role":"user","content":"hi"}],"info":'
                    + nested(d, leaf) + "}", st.integers(0, 3000), st.sampled_from(["1", "NaN", '"\\ud800"', "1e400",
                                                                                      "[" * 40 + "]" * 40])))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_raw, st.sampled_from([InputEnvelope, KnowledgeDocument]))
def test_any_bytes_give_a_model_or_a_one_line_value_error(raw, model):
    try:
        result = parse_record(raw, model)
    except ValueError as e:
        assert type(e) is ValueError
        reason = str(e)
        assert reason and "\n" not in reason and "\x00" not in reason and len(reason) <= 500
        reason.encode("utf-8")
        assert "internal error" not in reason
    else:
        assert isinstance(result, model)
        result.model_dump_json().encode("utf-8")  # what a valid record turns into can be stored
        json.dumps(result.model_dump(mode="json"), allow_nan=False)
