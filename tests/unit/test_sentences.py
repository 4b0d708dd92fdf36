"""Statements and the questions chat users run them into (``extraction/rules/sentences.py``)."""

from extraction.rules.sentences import detach_questions, split_sentences


def test_a_statement_running_into_a_question_is_split_from_it():
    text = "my pixel 7 battery barely makes it to lunch, worth getting it replaced?"
    spans = detach_questions(text, split_sentences(text, "en"), "en")
    assert [text[a:b] for a, b in spans] == ["my pixel 7 battery barely makes it to lunch",
                                             "worth getting it replaced?"]
    zh = "我现在住成都，天天吃火锅，胃有点扛不住了，有啥养胃的办法吗"
    assert [zh[a:b] for a, b in detach_questions(zh, split_sentences(zh, "zh"), "zh")] == [
        "我现在住成都，天天吃火锅，胃有点扛不住了", "有啥养胃的办法吗"]


def test_a_question_alone_or_a_statement_alone_stays_whole():
    for text, lang in (("what should I cook tonight, something quick?", "en"), ("我住成都，天天吃火锅。", "zh"),
                       ("is it far?", "en"), ("好，谢谢吗", "zh")):
        spans = split_sentences(text, lang)
        assert detach_questions(text, spans, lang) == spans, text


def test_a_trip_that_will_not_happen_is_no_plan():
    from datetime import datetime, timezone

    from domain.extraction import WindowMessage
    from extraction.rules.finder import RuleCandidateFinder

    def plans(text):
        found = RuleCandidateFinder().find([WindowMessage("m1", "e1", "user", text,
                                                          chat_time=datetime(2025, 3, 1, tzinfo=timezone.utc))])
        return [c.content for c in found.candidates if c.slot.startswith("travel.")]

    assert plans("I'm not going to Lyon on that trip") == []
    assert plans("we're not flying to Lisbon next month") == []
    assert plans("I'm going to Lyon next week") != []


def test_a_question_typed_without_its_apostrophe_asks():
    from extraction.rules.sentences import QUESTION_EN

    for text in ("whats a good miso paste i can get in the uk", "hows the weather in oslo", "wheres a good bakery",
                 "any good veggie bbq ideas", "any tips for night shifts"):
        assert QUESTION_EN.match(text), text
    assert not QUESTION_EN.match("whatsapp keeps crashing on my phone")
    assert not QUESTION_EN.match("anyway i moved to leeds")
