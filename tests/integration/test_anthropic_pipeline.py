"""The brief's 小忆 example through the application service with the Anthropic extractor.

The recorded responses name the existing memory only as "M1", so they replay
unchanged against whatever Memory ID this run generates: the test shows that the
handle is mapped back and the second statement becomes V2 of the same Memory ID.
A second test has the API down for the first message: the Fast-stage episode is
kept, the offline rules stand in for the Fine stage, and the model later revises
the memory the rules created.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import respx

from memstream.bootstrap import build_runtime
from application.settings import Settings
from domain.envelope import InputEnvelope
from extraction.anthropic_extractor import AnthropicExtractor
from tests.unit.test_anthropic_extractor import MESSAGES_URL, UUID, fallback, load, recorded_responses, replay_client

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
pytestmark = pytest.mark.filterwarnings("ignore:The model .* is deprecated:DeprecationWarning")


def brief(event_id: str) -> InputEnvelope:
    for line in (EXAMPLES / "brief.jsonl").read_text(encoding="utf-8").splitlines():
        if json.loads(line)["event_id"] == event_id:
            return InputEnvelope.model_validate_json(line)
    raise LookupError(event_id)


@pytest.fixture
def pipeline(tmp_path):
    """``pipeline(*fixture_names)`` → (runtime, extractor, route) replaying those exchanges in order."""
    opened = []
    with respx.mock(assert_all_called=False) as router:

        def make(*names: str):
            responses = [r for name in names for r in recorded_responses(load(name))]
            route = router.post(MESSAGES_URL).mock(side_effect=responses)
            extractor = AnthropicExtractor(client=replay_client(router), fallback=fallback(),
                                           sleep=lambda _: None, base_delay=0.0)
            runtime = build_runtime(Settings(data_dir=tmp_path / "data", event_store=""), extractor=extractor,
                                    with_vectors=False)
            opened.append(runtime)
            return runtime, extractor, route

        yield make
    for runtime in opened:
        runtime.close()


def test_same_memory_id_gets_v1_shanghai_and_v2_chengdu(pipeline):
    runtime, extractor, route = pipeline("brief_xiaoyi_v1", "brief_xiaoyi_v2")
    first = runtime.service.ingest(brief("brief-xiaoyi-2025"))
    second = runtime.service.ingest(brief("brief-xiaoyi-2026"))
    [memory_id] = first.created
    assert second.created == [] and second.revised == [memory_id]
    history = runtime.timeline.history(memory_id)
    assert [(v["version"], v["content"]) for v in history] == [
        (1, "用户叫小忆，在上海居住，不能吃辣"),
        (2, "用户叫小忆，在成都居住，喜欢吃辣，喜欢四川火锅"),
    ]
    assert history[1]["reason"] == "conflict"
    assert [s["message_id"] for s in history[1]["sources"]] == ["x1", "x2"]
    assert first.archived and second.archived  # both episodes are represented by the memory
    prompt = json.loads(route.calls[1].request.content)["messages"][0]["content"]
    assert "M1 [fact, key profile, v1] 用户叫小忆，在上海居住，不能吃辣" in prompt
    assert memory_id not in prompt and not UUID.search(prompt)
    assert extractor.fallbacks == 0


def test_api_outage_falls_back_and_the_model_later_revises_the_rules_memory(pipeline):
    runtime, extractor, route = pipeline("timeout", "brief_xiaoyi_v2")
    first = runtime.service.ingest(brief("brief-xiaoyi-2025"))
    assert first.episodes, "the Fast-stage episode is recorded whatever the API does"
    [memory_id] = first.created
    second = runtime.service.ingest(brief("brief-xiaoyi-2026"))
    assert second.revised == [memory_id] and route.call_count == 4
    v1, v2 = runtime.timeline.history(memory_id)
    assert v1["content"] == "用户叫小忆，在上海居住"  # from the offline table finder
    assert re.search(r"fallback: api unavailable: timeout", json.dumps(v1, ensure_ascii=False))
    assert v2["content"] == "用户叫小忆，在成都居住，喜欢吃辣，喜欢四川火锅"
    assert extractor.fallback_reasons == {"api unavailable: timeout": 1}
