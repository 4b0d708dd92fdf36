"""Skills from the offline rules: procedures in both languages (step markers, sequencing words),
accepted plans, refinement on the same skill, and what is not a skill."""

from __future__ import annotations

import pytest

from domain.extraction import ExistingMemory, WindowMessage
from domain.skill import Skill, decide_skills, same_task, skill_key
from extraction.rules.skills import find_skills


def user(text: str, mid: str = "m1", new: bool = True, role: str = "user") -> WindowMessage:
    return WindowMessage(message_id=mid, event_id="e1", role=role, text=text, is_new=new)


def skills_in(*messages: WindowMessage) -> list:
    found, _ = find_skills(messages)
    return decide_skills(found, ())


@pytest.mark.parametrize("text,name,steps", [
    ("出差的时候我一般先订机票，再订酒店，最后把行程发给老板确认。", "出差", ["订机票", "订酒店", "把行程发给老板确认"]),
    ("订酒店我一般先看评分再看价格。", "订酒店", ["看评分", "看价格"]),
    ("我做周报的流程：\n1. 收集本周的数据\n2. 用Excel整理成表格\n3. 发给经理审核", "做周报",
     ["收集本周的数据", "用Excel整理成表格", "发给经理审核"]),
    ("我搬家的步骤：第一步打包衣服，第二步联系搬家公司，第三步退租。", "搬家", None),
    ("When I deploy a release, I usually first run the full test suite, then tag the version, and finally push "
     "to production.", "deploying a release", ["run the full test suite", "tag the version", "push to production"]),
    ("My process for onboarding a new hire:\n1) set up their laptop\n2) add them to Slack\n3) schedule a welcome lunch",
     "onboarding a new hire", ["set up their laptop", "add them to Slack", "schedule a welcome lunch"]),
    ("Here's how I review a pull request:\n- read the description\n- run the tests locally\n- comment on the diff",
     "reviewing a pull request", ["read the description", "run the tests locally", "comment on the diff"]),
])
def test_procedures_in_both_languages_become_skills(text, name, steps):
    [d] = skills_in(user(text))
    assert (d.action, d.kind) == ("create", "skill")
    assert d.attributes["name"] == name and d.key == skill_key(name)
    if steps is not None:
        assert d.attributes["steps"] == steps
    assert len(d.attributes["steps"]) >= 2 and d.attributes["description"]
    for step in d.attributes["steps"]:
        assert step in d.content  # the summary names every step


@pytest.mark.parametrize("text", [
    "Yesterday we went to the beach first, then we had dinner.",
    "我先去了超市，然后回家做饭。",
    "1. milk 2. eggs",
    "I live in Berlin and work as a nurse.",
    "帮我订一张去上海的机票",
    # LoCoMo turns that an earlier version took for procedures ("last year" read as a step marker,
    # a habit word before a story, steps running over sentences)
    "I'll always remember our camping trip last year when we saw the Perseid meteor shower.",
    "For sure! I usually like them a lot more then if I were to just watch some random one.",
    "Thanksgiving's always special for us. We love prepping the feast. Plus, watching some movies afterwards - the best!",
    "Recently started learning an instrument. Challenging but fun, always admired musicians. Finally giving it a go.",
])
def test_stories_lists_and_plain_facts_are_not_skills(text):
    assert skills_in(user(text)) == []


def test_constraints_parameters_and_examples_are_kept():
    [d] = skills_in(user("我做周报的流程：\n1. 收集数据\n2. 用Excel整理\n3. 每周五发给经理\n注意不要漏掉遗留问题。"
                         "比如上周就漏了一个bug。"))
    a = d.attributes
    assert a["constraints"] == ["不要漏掉遗留问题"]
    assert a["parameters"] == {"tools": ["Excel"], "schedule": "每周五"}
    assert a["examples"] == ["比如上周就漏了一个bug"]
    [en] = skills_in(user("When I deploy a release I always run the tests, then tag it. Never deploy on Fridays."))
    assert en.attributes["constraints"] == ["Never deploy on Fridays"] and "schedule" not in en.attributes["parameters"]


@pytest.mark.parametrize("proposal,accept,name", [
    ("成都三天行程计划如下：\n1. 第一天逛宽窄巷子\n2. 第二天去熊猫基地\n3. 第三天去都江堰", "好的，就按这个来", "成都三天行程"),
    ("Here's a plan:\n1. Draft the announcement\n2. Brief the support team\n3. Publish the blog post",
     "Sounds good, let's do that.", "planning a product launch"),
])
def test_an_accepted_assistant_plan_is_a_skill(proposal, accept, name):
    request = user("Can you help me plan a product launch?", "u0", new=False)
    found, covered = find_skills([request, user(proposal, "a1", role="assistant"), user(accept, "u1")])
    [d] = decide_skills(found, ())
    assert d.attributes["origin"] == "accepted_plan" and d.attributes["name"] == name
    assert d.source_message_ids == ("a1", "u1") and covered == {"a1", "u1"}


def test_a_rejected_plan_is_not_a_skill():
    proposal = user("Here's a plan:\n1. Fly to Rome\n2. Take the train to Florence", "a1", role="assistant")
    assert skills_in(proposal, user("No, I'd rather drive instead.", "u1")) == []


def existing(decision) -> ExistingMemory:
    return ExistingMemory(memory_id="skill-1", kind="skill", key=decision.key, content=decision.content, version=1,
                          attributes=dict(decision.attributes))


def test_refinements_revise_the_same_skill():
    [first] = skills_in(user("我做周报的流程：\n1. 收集本周的数据\n2. 用Excel整理成表格\n3. 发给经理审核"))
    known = (existing(first),)
    found, _ = find_skills([user("补充一下，做周报的时候最后还要抄送给团队。", "m2")])
    [added] = decide_skills(found, known)
    assert (added.action, added.memory_id, added.reason) == ("revise", "skill-1", "refinement")
    assert added.attributes["steps"][-1] == "抄送给团队" and len(added.attributes["steps"]) == 4

    found, _ = find_skills([user("我现在写周报的步骤变了：先收集数据，然后用飞书文档整理，最后在周会上讲一遍。", "m3")])
    [restated] = decide_skills(found, known)
    assert restated.memory_id == "skill-1"
    assert restated.attributes["steps"] == ["收集数据", "用飞书文档整理", "在周会上讲一遍"]
    assert restated.attributes["parameters"]["tools"] == ["飞书文档"]  # what it uses now, not Excel as well

    found, _ = find_skills([user("帮我做本周的周报，按我平时的流程来。", "m4")])
    [used] = decide_skills(found, known)
    assert used.memory_id == "skill-1" and used.attributes["examples"] == ["帮我做本周的周报，按我平时的流程来。"]
    assert used.attributes["steps"] == first.attributes["steps"]

    found, _ = find_skills([user("我做周报的流程：\n1. 收集本周的数据\n2. 用Excel整理成表格\n3. 发给经理审核", "m5")])
    assert decide_skills(found, known) == []  # the same procedure again: nothing new


def test_task_names_match_loosely_but_not_across_tasks():
    assert same_task("deploying a release", "deploy releases")
    assert same_task("做周报", "写周报") is False or same_task("做周报", "做周报的")
    assert not same_task("做周报", "订酒店") and not same_task("deploying a release", "onboarding a new hire")
    assert Skill.from_attributes(Skill("x", ("a", "b"), "en").attributes()).steps == ("a", "b")


def test_a_passing_as_usual_does_not_touch_an_unnamed_skill():
    [skill] = skills_in(user("订酒店我一般先看评分再看价格。"))
    found, _ = find_skills([user("Great chatting with you as always. I've been reading as usual.", "m2")])
    assert decide_skills(found, (existing(skill),)) == []


def test_following_a_plan_in_a_later_input_makes_it_a_skill():
    plan = user("Here's how to prepare for the exam:\n1. Review the syllabus\n2. Do two past papers\n3. Rest the day "
                "before", "a1", new=False, role="assistant")
    found, covered = find_skills([plan, user("I followed your plan and passed!", "u2")])
    [d] = decide_skills(found, ())
    assert d.attributes["origin"] == "accepted_plan" and d.attributes["steps"][0] == "Review the syllabus"
    assert d.attributes["name"] == "preparing for the exam" and d.source_message_ids == ("a1", "u2")
    zh_plan = user("搬家步骤如下：\n1. 打包衣物\n2. 预约搬家公司\n3. 退租", "a1", new=False, role="assistant")
    [zh] = decide_skills(find_skills([zh_plan, user("按你说的做了，很顺利", "u2")])[0], ())
    assert zh.attributes["origin"] == "accepted_plan" and zh.attributes["steps"] == ["打包衣物", "预约搬家公司", "退租"]
