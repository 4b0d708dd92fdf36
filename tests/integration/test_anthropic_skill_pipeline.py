"""Skills from the Claude extractor through the application service (recorded exchanges): the
model's skill decision becomes a skill memory with its procedure in attributes, and its later
revision of "M1" lands on the same Memory ID as V2."""

from __future__ import annotations

import json

import pytest

from domain.envelope import InputEnvelope
from tests.integration.test_anthropic_pipeline import pipeline  # noqa: F401 - the fixture

pytestmark = pytest.mark.filterwarnings("ignore:The model .* is deprecated:DeprecationWarning")


def envelope(event_id: str, text: str, when: str) -> InputEnvelope:
    return InputEnvelope.model_validate({"event_id": event_id, "user_id": "zhang", "conversation_id": event_id,
                                         "messages": [{"message_id": event_id, "role": "user", "content": text,
                                                       "chat_time": when}]})


def test_a_skill_from_claude_is_revised_on_the_same_memory_id(pipeline):  # noqa: F811
    runtime, extractor, route = pipeline("skill_procedure", "skill_refined")
    first = runtime.service.ingest(envelope("w1", "我做周报的流程：\n1. 收集本周的数据\n2. 用Excel整理成表格\n"
                                            "3. 每周五下午发给经理审核\n注意不要漏掉上周遗留的问题。", "2025-05-09T17:00:00+08:00"))
    [skill_id] = first.created
    second = runtime.service.ingest(envelope("w2", "我们现在不用Excel了，周报改用飞书文档整理，发给经理之后还要抄送给团队。",
                                             "2025-06-20T16:30:00+08:00"))
    assert second.created == [] and second.revised == [skill_id]
    v1, v2 = runtime.timeline.history(skill_id)
    assert v1["kind"] == v2["kind"] == "skill" and v2["reason"] == "refinement"
    assert v1["attributes"]["steps"][1] == "用Excel整理成表格" and v2["attributes"]["steps"][-1] == "抄送给团队"
    assert v2["attributes"]["name"] == "做周报" and v2["attributes"]["parameters"]["tools"] == ["飞书文档"]
    prompt = json.loads(route.calls[1].request.content)["messages"][0]["content"]
    assert "M1 [skill, key skill.weekly-report, v1]" in prompt and skill_id not in prompt
    assert extractor.fallbacks == 0
