"""Governance as configuration: names, chains, and custom rules found as entry points."""

import importlib
import sys
import textwrap

import pytest

from application.settings import Settings
from domain.extraction import ExistingMemory
from domain.governance import Incoming, RuleChain, TimePriority, policy_from_name
from memstream.bootstrap import build_extractor

OLD = ExistingMemory(memory_id="m", kind="fact", key="residence", content="c", version=1, confidence=0.9,
                     latest_chat_time="2025-01-01T00:00:00", source_roles=("user",))
NEWER_ASSISTANT = Incoming("2025-06-01T00:00:00", "assistant", 0.9)


def test_names_select_the_built_in_policies():
    assert policy_from_name("time").new_wins(OLD, NEWER_ASSISTANT) is True
    assert policy_from_name("source").new_wins(OLD, NEWER_ASSISTANT) is False
    assert policy_from_name("confidence").new_wins(OLD, NEWER_ASSISTANT) is True  # tie -> time


def test_a_chain_consults_its_links_in_order_and_names_the_one_that_decided():
    chain = policy_from_name("chain:confidence,source,time")
    assert isinstance(chain, RuleChain)
    assert chain.new_wins(OLD, NEWER_ASSISTANT) is False
    assert chain.name == "source_priority"  # confidence abstained on the tie
    assert chain.new_wins(OLD, Incoming("2025-06-01", "assistant", 0.95)) is True
    assert chain.name == "confidence_priority"


def test_unknown_names_are_a_clear_error():
    with pytest.raises(ValueError, match="choose one of"):
        policy_from_name("chain:time,loudest")


@pytest.fixture
def installed_rule(tmp_path, monkeypatch):
    """A real distribution on sys.path whose entry point registers a rule in ``memstream.rules``."""
    (tmp_path / "house_rules.py").write_text(textwrap.dedent("""
        def never_move_from_berlin(existing, incoming):
            '''Keep a Berlin residence whatever comes later; abstain about anything else.'''
            return False if "Berlin" in existing.content else None
    """))
    info = tmp_path / "house_rules-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: house-rules\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[memstream.rules]\nberlin = house_rules:never_move_from_berlin\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.invalidate_caches()
    yield "berlin"
    sys.modules.pop("house_rules", None)


def test_a_custom_rule_registered_as_an_entry_point_is_consulted_first(installed_rule):
    extractor = build_extractor(Settings(extractor="rules", governance=f"chain:{installed_rule},time"))
    policy = extractor.policy
    berlin = ExistingMemory(memory_id="m", kind="fact", key="residence", content="The user lives in Berlin.",
                            version=1, latest_chat_time="2025-01-01")
    assert policy.new_wins(berlin, Incoming("2026-01-01", "user", 0.9)) is False
    assert policy.name == f"rule:{installed_rule}"
    assert policy.new_wins(OLD, Incoming("2026-01-01", "user", 0.9)) is True  # the rule abstained
    assert policy.name == TimePriority.name


def test_a_custom_rule_alone_falls_back_to_time(installed_rule):
    policy = build_extractor(Settings(extractor="rules", governance=installed_rule)).policy
    assert policy.new_wins(OLD, NEWER_ASSISTANT) is True
