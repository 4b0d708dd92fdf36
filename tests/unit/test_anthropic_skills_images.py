"""The Claude extractor's skills and images, against recorded Messages API exchanges
(tests/fixtures/anthropic/skill_*.json, image_block.json; see test_anthropic_extractor.py)."""

from __future__ import annotations

import json

import pytest

from tests.unit.test_anthropic_extractor import UUID, load, replay, run, sent  # noqa: F401 - replay is a fixture

pytestmark = pytest.mark.filterwarnings("ignore:The model .* is deprecated:DeprecationWarning")


def test_a_described_procedure_becomes_a_skill_with_its_parts(replay):
    extraction, extractor, route, _ = run(replay, "skill_procedure")
    [d] = extraction.decisions
    assert (d.action, d.kind, d.key, d.reason) == ("create", "skill", "skill.weekly-report", "new")
    assert d.attributes["name"] == "做周报" and d.attributes["lang"] == "zh"
    assert d.attributes["steps"] == ["收集本周的数据", "用Excel整理成表格", "发给经理审核"]
    assert d.attributes["parameters"] == {"tools": ["Excel"], "schedule": "每周五下午"}
    assert d.attributes["constraints"] == ["不要漏掉上周遗留的问题"] and d.attributes["origin"] == "described"
    assert d.content.startswith("用户做周报的流程：1. 收集本周的数据")
    body = sent(route)
    skill_schema = body["tools"][0]["input_schema"]["properties"]["decisions"]["items"]["properties"]["skill"]
    assert "steps" in json.dumps(skill_schema) and "Skills:" in body["system"]
    assert isinstance(body["messages"][0]["content"], str) and extractor.fallbacks == 0  # no images: plain text


def test_a_later_change_revises_the_same_skill(replay):
    extraction, _, route, _ = run(replay, "skill_refined")
    [d] = extraction.decisions
    existing = load("skill_refined")["request"]["existing"][0]["memory_id"]
    assert (d.action, d.memory_id, d.kind, d.reason) == ("revise", existing, "skill", "refinement")
    assert d.attributes["steps"][-1] == "抄送给团队" and d.attributes["parameters"]["tools"] == ["飞书文档"]
    prompt = sent(route)["messages"][0]["content"]
    assert "M1 [skill, key skill.weekly-report, v1]" in prompt and not UUID.search(prompt)


def test_http_images_are_sent_as_image_blocks_before_the_text(replay):
    extraction, _, route, _ = run(replay, "image_block")
    [d] = extraction.decisions
    assert d.content.startswith("The user shared a photo:") and d.source_message_ids == ("p1",)
    image, text = sent(route)["messages"][0]["content"]
    assert image == {"type": "image", "source": {"type": "url", "url": "https://images.example.com/u/lin/dog-snow.jpg"}}
    assert text["type"] == "text" and "#1" in text["text"] and "[image 1 attached above]" in text["text"]
    expect = load("image_block")["expect_request"]
    assert all(piece in text["text"] for piece in expect["contains"])
    assert not any(piece in text["text"] for piece in expect["absent"])
