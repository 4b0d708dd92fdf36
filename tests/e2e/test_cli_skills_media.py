"""Skills and images through the command line, as a user runs them: a procedure becomes a skill,
a later conversation refines the same Memory ID, ``search --kind skill`` finds it; an image
message is found through its caption asked in another language. Real processes, real stores,
the real embedding model, the offline rules."""

from __future__ import annotations

import json

import pytest

from tests.e2e.test_cli import as_json, memstream

pytestmark = pytest.mark.slow

INPUTS = [
    {"event_id": "sk1", "user_id": "zhang", "conversation_id": "c1", "messages": [
        {"role": "user", "chat_time": "2025-05-09T17:00:00+08:00",
         "content": "我做周报的流程：\n1. 收集本周的数据\n2. 用Excel整理成表格\n3. 发给经理审核\n注意不要漏掉上周遗留的问题。"}]},
    {"event_id": "sk2", "user_id": "zhang", "conversation_id": "c2", "messages": [
        {"role": "user", "chat_time": "2025-06-20T16:30:00+08:00",
         "content": "我现在做周报的步骤变了：先收集本周的数据，然后用飞书文档整理，最后发给经理审核并抄送团队。"}]},
    {"event_id": "sk3", "user_id": "zhang", "conversation_id": "c3", "messages": [
        {"role": "user", "chat_time": "2025-06-21T09:00:00+08:00", "content": "我住在杭州，在一家银行上班。"}]},
    {"event_id": "im1", "user_id": "lin", "messages": [
        {"role": "user", "chat_time": "2025-01-12T09:15:00Z", "content": [
            {"type": "image_url", "image_url": {"url": "https://images.example.com/lin/dog-snow.jpg"},
             "caption": "a golden retriever playing in the snow"}]}]},
    {"event_id": "im2", "user_id": "lin", "messages": [
        {"role": "user", "chat_time": "2025-01-13T10:00:00Z", "content": "I work as a nurse at the city hospital."},
        {"role": "user", "chat_time": "2025-01-13T10:01:00Z", "content": "I really love Italian food, pasta above all."},
        {"role": "user", "chat_time": "2025-01-13T10:02:00Z", "content": [
            {"type": "text", "text": "Here is my CV"},
            {"type": "file", "file": {"file_id": "file-7", "name": "lin_cv_2025.pdf"}}]}]},
]


@pytest.fixture(scope="module")
def ingested(tmp_path_factory, model_dir):
    data = tmp_path_factory.mktemp("skills")
    path = data.parent / f"{data.name}-inputs.jsonl"
    path.write_text("".join(json.dumps(e, ensure_ascii=False) + "\n" for e in INPUTS), encoding="utf-8")
    report = as_json(memstream("ingest", str(path), "--json", data_dir=data, model_dir=model_dir))
    assert report["accepted"] == len(INPUTS) and report["rejected"] == []
    return data


def test_a_procedure_is_a_skill_refined_later_on_the_same_id(ingested, model_dir):
    data = ingested
    skills = as_json(memstream("memories", "--user", "zhang", "--kind", "skill", "--json", data_dir=data,
                               model_dir=model_dir))["memories"]
    [skill] = skills
    assert skill["kind"] == "skill" and skill["version"] == 2 and skill["reason"] == "refinement"
    attributes = skill["attributes"]
    assert attributes["name"] == "做周报" and attributes["origin"] == "described"
    assert attributes["steps"] == ["收集本周的数据", "用飞书文档整理", "发给经理审核并抄送团队"]
    assert attributes["parameters"]["tools"] == ["飞书文档"] and attributes["constraints"] == ["不要漏掉上周遗留的问题"]
    assert "飞书文档" in skill["content"] and "Excel" not in skill["content"]
    assert {s["event_id"] for s in skill["sources"]} == {"sk1", "sk2"}

    history = as_json(memstream("history", skill["memory_id"], "--json", data_dir=data, model_dir=model_dir))
    v1, v2 = history["versions"]
    assert "Excel" in v1["content"] and v1["attributes"]["steps"][1] == "用Excel整理成表格"
    assert v2["reason"] == "refinement" and v2["memory_id"] == v1["memory_id"]

    hits = as_json(memstream("search", "--user", "zhang", "--kind", "skill", "周报怎么写", "--json", data_dir=data,
                             model_dir=model_dir))["results"]
    assert [h["memory_id"] for h in hits] == [skill["memory_id"]]
    facts = as_json(memstream("memories", "--user", "zhang", "--kind", "fact", "--json", data_dir=data,
                              model_dir=model_dir))["memories"]
    assert any("杭州" in f["content"] for f in facts)  # the other conversation is no skill


def test_an_image_is_found_through_its_caption_in_another_language(ingested, model_dir):
    data = ingested
    hits = as_json(memstream("search", "--user", "lin", "雪地里玩耍的狗", "--top-k", "3", "--json", data_dir=data,
                             model_dir=model_dir))["results"]
    top = hits[0]
    assert "golden retriever" in top["content"]
    [attachment] = top["sources"][0]["attachments"]
    assert attachment == {"type": "image", "url": "https://images.example.com/lin/dog-snow.jpg",
                          "caption": "a golden retriever playing in the snow"}
    views = as_json(memstream("memories", "--user", "lin", "--json", data_dir=data, model_dir=model_dir))["memories"]
    photo = [v for v in views if v["content"].startswith("The user shared a photo:")]
    assert photo and photo[0]["key"].startswith("media.image.")
    files = [v for v in views if v["content"] == "The user shared a file: lin_cv_2025.pdf"]
    assert files and files[0]["sources"][0]["attachments"] == [{"type": "file", "file_id": "file-7",
                                                                 "name": "lin_cv_2025.pdf"}]
    cv = as_json(memstream("search", "--user", "lin", "简历文件", "--top-k", "2", "--json", data_dir=data,
                           model_dir=model_dir))["results"]
    assert any("lin_cv_2025.pdf" in h["content"] for h in cv)


def test_the_demo_shows_a_skill_and_a_knowledge_base_answer(tmp_path, model_dir):
    result = as_json(memstream("demo", "--json", data_dir=tmp_path / "demo", model_dir=model_dir, timeout=300))
    v1, v2 = result["skill_history"]
    assert v1["kind"] == "skill" and v1["memory_id"] == v2["memory_id"] and v2["reason"] == "refinement"
    assert "Excel" in v1["content"] and "飞书文档" in v2["content"]
    top = result["kb_search"][0]
    assert top["origin"] == {"type": "kb", "kb_id": "travel-faq", "doc_id": "refunds", "title": "Refund policy"}
    assert "24 hours" in top["content"]
    assert {h["origin"]["type"] for h in result["kb_search"]} == {"kb", "user"}
