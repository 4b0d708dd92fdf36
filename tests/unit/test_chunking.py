"""Sentence-aware chunking (zh and en) and the alignment of a new chunking with the old one."""

from __future__ import annotations

import re

from domain.chunking import align, chunk_document

EN = ("The hotel opens at seven. Breakfast is served until ten! Do guests need a voucher? "
      "No, the room key is enough. Late check-out costs twenty euros.")
ZH = "酒店七点开门。早餐供应到十点！需要早餐券吗？不需要，房卡即可。延迟退房收费二十欧元；请提前告知前台。"
_ENDS = re.compile(r"[.!?。！？；]$")


def test_chunks_end_at_sentence_ends_in_both_languages():
    for text in (EN, ZH, EN + "\n\n" + ZH):
        chunks = chunk_document(text, size=36, overlap=0)
        assert len(chunks) >= 2
        assert all(len(c.text) <= 36 for c in chunks)
        assert all(_ENDS.search(c.text) for c in chunks), [c.text for c in chunks]
        assert "".join(c.text for c in chunks).replace(" ", "").replace("\n", "") == \
            text.replace(" ", "").replace("\n", "")


def test_overlap_repeats_whole_sentences_inside_a_paragraph():
    chunks = chunk_document(EN, size=70, overlap=40)
    assert len(chunks) >= 3
    for before, after in zip(chunks, chunks[1:]):
        last_sentence = re.split(r"(?<=[.!?]) ", before.text)[-1]
        assert len(last_sentence) > 40 or after.text.startswith(last_sentence)
        assert len(after.text) <= 70


def test_a_sentence_longer_than_the_size_is_cut_at_a_comma_then_hard():
    long_zh = "，".join(["这是一个很长的句子的一部分"] * 12) + "。"
    chunks = chunk_document(long_zh, size=50, overlap=0)
    assert all(len(c.text) <= 50 for c in chunks)
    assert all(c.text.endswith(("，", "。")) for c in chunks)
    unbroken = "x" * 130
    assert [len(c.text) for c in chunk_document(unbroken, size=50, overlap=0)] == [50, 50, 30]


def test_headings_start_chunks_and_name_their_section():
    text = "# Refunds\n\nHotels refund in full.\n\n# Changes\n\nFlights change once for free."
    chunks = chunk_document(text, size=500, overlap=0)
    assert [c.section for c in chunks] == ["Refunds", "Changes"]
    assert chunks[1].text.startswith("# Changes")


def test_an_edit_changes_only_the_chunks_around_it():
    paragraphs = [f"Paragraph {i} says one thing. It then says another thing about topic {i}." for i in range(8)]
    before = [c.text for c in chunk_document("\n\n".join(paragraphs), size=90, overlap=0)]
    edited = list(paragraphs)
    edited[3] = "Paragraph 3 now says something much longer than it did before, and it keeps going. " \
                "It also adds a second sentence."
    after = [c.text for c in chunk_document("\n\n".join(edited), size=90, overlap=0)]
    alignment = align(before, after)
    assert len(alignment.unchanged) >= len(before) - 2
    assert {after[j] for _, j in alignment.unchanged} >= {before[0], before[-1]}


def test_align_revises_similar_chunks_creates_new_and_archives_gone():
    old = ["Alpha chunk about hotels.", "Beta chunk about flights.", "Gamma chunk about trains."]
    new = ["Alpha chunk about hotels.", "Beta chunk about flights and fees.", "Completely new text here!"]
    result = align(old, new)
    assert result.unchanged == [(0, 0)]
    assert result.revised == [(1, 1)]
    assert result.created == [2] and result.archived == [2]
    assert align(old, old).unchanged == [(0, 0), (1, 1), (2, 2)]
    assert align(old, []).archived == [0, 1, 2]
    inserted = align(old, ["Intro text that is new."] + old)
    assert inserted.created == [0] and inserted.unchanged == [(0, 1), (1, 2), (2, 3)]
