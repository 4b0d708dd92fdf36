"""Predicate families recognised in more phrasings, and a residence or an employer other than the
one held revising it, with or without a change marker. Public API, rule extractor,
real model; the wording differs from the labelled conversations the rules were measured on."""

from __future__ import annotations

import pytest

from tests.support.rule_api import facts_after, open_rules_api


@pytest.fixture(scope="module")
def ms(tmp_path_factory, model_dir):
    yield from open_rules_api(tmp_path_factory, model_dir, "families")


@pytest.mark.parametrize("user,texts,now,gone", [
    pytest.param("zh-home", ("我家在厦门，海边空气很好。", "我们在苏州园区买了套房，平时就住这边。"), "苏州", "厦门",
                 marks=pytest.mark.xfail(strict=True, reason="the purchase rule takes the whole sentence: "
                                         "平时就住这边 is never read as a residence")),
    ("en-lease", ("I rent a small apartment in Oakland, the rent is crazy.",
                  "Finally signed a lease in Berkeley, the new place has a garden."), "Berkeley", "Oakland"),
    ("zh-settle", ("我在西安租房，离公司挺远的。", "现在在武汉落脚了，天气太热。"), "武汉", "西安"),
    ("en-trade", ("I drive a 2012 Toyota Corolla.", "Traded the Corolla in for a used Mazda CX-5."), "Mazda",
     "drives a 2012"),
    ("zh-role", ("我在京东做产品运营。", "我现在在美团做数据分析了。"), "美团", "京东"),
    ("zh-employer", ("我在百度做算法，加班挺多。", "我在字节做算法，待遇还不错。"), "字节", "百度"),
    ("en-employer", ("I work at Shopify as a designer.", "I work at Figma as a designer, the team is great."),
     "Figma", "Shopify"),
])
def test_the_later_statement_revises_the_earlier_one(ms, user, texts, now, gone):
    facts = facts_after(ms, user, *texts)
    assert any(now in f for f in facts), facts
    assert not any(gone in f for f in facts), facts


def test_a_place_named_for_something_else_leaves_the_residence(ms):
    facts = facts_after(ms, "en-car", "I live in Portland.", "I rented a car in Denver for the weekend.")
    assert any("Portland" in f for f in facts), facts
