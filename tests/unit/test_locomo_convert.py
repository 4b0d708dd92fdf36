"""LoCoMo conversion: evidence normalisation, session dates, envelopes, audit corrections.

A tiny synthetic conversation in LoCoMo's shape (not the real file), so the test
runs anywhere and pins the choices the evaluation's numbers depend on.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from bench.locomo.convert import convert_sample, load, load_corrections, normalise_evidence, parse_session_time
from domain.envelope import ImagePart

SAMPLE = {
    "sample_id": "conv-x",
    "conversation": {
        "speaker_a": "Ana",
        "speaker_b": "Bo",
        "session_1_date_time": "1:56 pm on 8 May, 2023",
        "session_1": [
            {"speaker": "Ana", "dia_id": "D1:1", "text": "I adopted a cat yesterday!"},
            {"speaker": "Bo", "dia_id": "D1:2", "text": "Look at mine.", "img_url": ["data:image/jpeg;base64,xx"],
             "blip_caption": "a photo of a grey cat on a sofa"},
        ],
        "session_2_date_time": "10:04 am on 19 December, 2023",
        "session_2": [{"speaker": "Ana", "dia_id": "D2:1", "text": "Moved to Lisbon."}],
        "session_3_date_time": "9:00 am on 1 January, 2024",
        "session_3": [],
    },
    "qa": [
        {"question": "What did Ana adopt?", "answer": "a cat", "evidence": ["D1:1"], "category": 4},
        {"question": "Where and what?", "answer": "x", "evidence": ["D1:1; D2:01", "D:2:1", "D", "D9:9"],
         "category": 1},
        {"question": "Trick?", "adversarial_answer": "no", "evidence": ["D1:2"], "category": 5},
    ],
}


@pytest.mark.parametrize("raw, expected", [
    (["D8:6; D9:17"], ["D8:6", "D9:17"]),
    (["D:11:26"], ["D11:26"]),
    (["D30:05"], ["D30:5"]),
    (["D9:1 D4:4 D4:6"], ["D9:1", "D4:4", "D4:6"]),
    (["D1:3", "D1:3"], ["D1:3"]),
])
def test_normalise_evidence(raw, expected):
    assert normalise_evidence(raw) == (expected, 0)


def test_normalise_evidence_drops_fragments_and_unknown_turns():
    assert normalise_evidence(["D", "D1:1", "D10:19"], known={"D1:1"}) == (["D1:1"], 2)


def test_parse_session_time():
    assert parse_session_time("1:56 pm on 8 May, 2023") == datetime(2023, 5, 8, 13, 56, tzinfo=timezone.utc)
    assert parse_session_time("12:13 am on 15 September, 2023").hour == 0
    assert parse_session_time("12:05 pm on 1 June, 2022").hour == 12
    with pytest.raises(ValueError):
        parse_session_time("yesterday")


def test_session_envelopes_carry_speakers_dates_ids_and_captions():
    conv = convert_sample(SAMPLE, 0)
    assert [len(e.messages) for e in conv.envelopes] == [2, 1]  # the empty session is skipped
    first = conv.envelopes[0]
    assert first.user_id == first.conversation_id == "conv-x"
    m1, m2 = first.messages
    assert (m1.message_id, m1.role, m1.name, m1.content) == ("D1:1", "user", "Ana", "I adopted a cat yesterday!")
    assert m1.chat_time == datetime(2023, 5, 8, 13, 56, tzinfo=timezone.utc)
    assert m2.role == "user" and m2.name == "Bo"
    image = [p for p in m2.content if isinstance(p, ImagePart)][0]
    assert image.caption == "a photo of a grey cat on a sofa"
    assert image.image_url.url == "locomo://image/D1:2"  # inline data URIs are not carried
    assert "grey cat" in m2.text()
    assert conv.envelopes[1].messages[0].chat_time.year == 2023
    assert len({e.event_id for e in conv.envelopes}) == 2


def test_turn_granularity_and_assistant_role_for_speaker_b():
    conv = convert_sample(SAMPLE, 0, granularity="turn", roles="ab")
    assert [m.message_id for e in conv.envelopes for m in e.messages] == ["D1:1", "D1:2", "D2:1"]
    assert [e.messages[0].role for e in conv.envelopes] == ["user", "assistant", "user"]


def test_questions_are_normalised_and_corrected():
    conv = convert_sample(SAMPLE, 3, corrections={"locomo_3_qa0": ["D1:2"]})
    q0, q1, q5 = conv.questions
    assert q0.qid == "locomo_3_qa0" and q0.evidence == ["D1:1"] and q0.corrected == ["D1:2"]
    assert q1.evidence == ["D1:1", "D2:1"] and q1.corrected == q1.evidence
    assert conv.dropped_evidence == 2  # "D" and the unknown "D9:9"
    assert q5.category == 5 and q5.answer == "no"


def test_load_corrections_keeps_only_changed_evidence(tmp_path):
    audit = tmp_path / "audit.json"
    audit.write_text(json.dumps([
        {"question_id": "locomo_0_qa1", "cited_evidence": ["D1:12"], "correct_evidence": ["D1:14"]},
        {"question_id": "locomo_0_qa2", "cited_evidence": ["D1:9"], "correct_evidence": ["D1:9"]},
        {"question_id": "locomo_0_qa3", "cited_evidence": ["D1:9"], "correct_evidence": []},
    ]))
    assert load_corrections(audit) == {"locomo_0_qa1": ["D1:14"]}
    data = tmp_path / "locomo.json"
    data.write_text(json.dumps([SAMPLE]))
    (conv,) = load(data, audit=audit)
    assert conv.sample_id == "conv-x" and conv.questions[1].corrected == conv.questions[1].evidence
