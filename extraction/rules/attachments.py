"""Memories from images and files the user shares: "用户分享了一张照片：…", "The user shared a file: …".

One fact per attachment that has words (a caption or alt text, a file name), with a slot of
its own (``media.image.<id>``, ``media.file.<id>``, the id a hash of the url / file id / words),
so the same picture sent again is the same memory and two pictures are two. The statement is
written in the language of the words. A message made of nothing but attachments is represented
whole by these facts, so its episode is superseded by them; a message with text of its own
keeps its episode (the other rules read that text).
"""

from __future__ import annotations

import hashlib
from typing import Sequence

from domain.attachments import describe, language_of, words_of
from domain.extraction import Candidate, WindowMessage

CONFIDENCE = 0.8


def _slot(attachment: dict) -> str:
    identity = attachment.get("file_id") or attachment.get("url") or words_of(attachment)
    digest = hashlib.sha256(str(identity).encode()).hexdigest()[:12]
    return f"media.{attachment.get('type', 'file')}.{digest}"


def attachment_candidates(messages: Sequence[WindowMessage]) -> tuple[list[Candidate], set[str]]:
    candidates: list[Candidate] = []
    covered: set[str] = set()
    for message in messages:
        if not message.is_new or message.role != "user" or not message.attachments:
            continue
        words = [words_of(a) for a in message.attachments]
        own_text = message.text
        for attachment in message.attachments:  # what is left once the attachments' words are gone
            if attachment.get("name"):
                own_text = own_text.replace(f"[file: {attachment['name']}]", "")
            for piece in (attachment.get("caption"), attachment.get("alt")):
                own_text = own_text.replace(piece, "") if piece else own_text
        for attachment, text in zip(message.attachments, words):
            if not text:
                continue
            lang = language_of(text, language_of(message.text))
            content = describe(attachment, lang)
            clause = content.split("用户", 1)[-1] if lang == "zh" else content.removeprefix("The user ").rstrip(".")
            candidates.append(Candidate(
                kind="fact", slot=_slot(attachment), clause=clause, content=content, lang=lang,
                source_message_ids=(message.message_id,), confidence=CONFIDENCE,
                attributes={"media": dict(attachment), "subject": "user"}))
        if all(words) and not own_text.strip():
            covered.add(message.message_id)
    return candidates, covered
