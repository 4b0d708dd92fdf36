"""Images and files: kept as sources, their words in the message text, a memory that says
what was shared, and only web images handed to the Claude extractor."""

from __future__ import annotations

from application.fast_stage import source_of
from application.fine_stage import window_messages
from domain.attachments import describe, message_attachments
from domain.envelope import InputEnvelope
from domain.extraction import ExtractionRequest
from extraction.anthropic_extractor import render_request, web_images
from extraction.rules.attachments import attachment_candidates

PHOTO = {"type": "image_url", "image_url": {"url": "https://img.example.com/cat.jpg"}, "caption": "我家的猫在晒太阳",
         "alt": "a cat sleeping in the sun"}
LOCAL = {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}, "alt": "a whiteboard sketch"}
FILE = {"type": "file", "file": {"file_id": "f1", "url": "https://files.example.com/f1", "name": "q3-report.xlsx"}}


def envelope(*parts, text: str | None = None) -> InputEnvelope:
    content = ([{"type": "text", "text": text}] if text else []) + list(parts)
    return InputEnvelope.model_validate({"event_id": "e1", "user_id": "u", "messages": [
        {"role": "user", "content": content, "message_id": "m1"}]})


def test_parts_become_attachments_of_the_source_and_their_words_are_text():
    env = envelope(PHOTO, FILE, LOCAL)
    message = env.messages[0]
    assert message.text() == "我家的猫在晒太阳\na cat sleeping in the sun\n[file: q3-report.xlsx]\na whiteboard sketch"
    source = source_of(env, 0)
    assert source["attachments"] == [
        {"type": "image", "url": "https://img.example.com/cat.jpg", "caption": "我家的猫在晒太阳",
         "alt": "a cat sleeping in the sun"},
        {"type": "file", "file_id": "f1", "url": "https://files.example.com/f1", "name": "q3-report.xlsx"},
        {"type": "image", "url": "data:image/png;base64,iVBORw0KGgo=", "alt": "a whiteboard sketch"}]
    plain = InputEnvelope.model_validate({"user_id": "u", "messages": [{"role": "user", "content": "hi"}]})
    assert "attachments" not in source_of(plain, 0) and message_attachments(plain.messages[0]) == []


def test_an_image_or_file_message_becomes_facts_that_say_so():
    candidates, covered = attachment_candidates(window_messages(envelope(PHOTO, FILE), is_new=True))
    assert [c.content for c in candidates] == ["用户分享了一张照片：我家的猫在晒太阳", "The user shared a file: q3-report.xlsx"]
    assert candidates[0].slot.startswith("media.image.") and candidates[1].slot.startswith("media.file.")
    assert candidates[0].attributes["media"]["url"] == "https://img.example.com/cat.jpg"
    assert covered == {"m1"}  # nothing but attachments: the facts represent it whole
    with_text, covered = attachment_candidates(window_messages(envelope(PHOTO, text="看看我家的猫！"), is_new=True))
    assert len(with_text) == 1 and covered == set()  # its own text stays for the other rules
    assert describe({"type": "image", "alt": "sunset"}, "en") == "The user shared a photo: sunset"
    assert describe({"type": "image"}, "zh") == "用户分享了一张照片"


def test_only_web_images_go_to_claude_and_the_prompt_points_at_them():
    request = ExtractionRequest(user_id="u", messages=tuple(window_messages(envelope(PHOTO, LOCAL, FILE), True)))
    assert web_images(request) == ["https://img.example.com/cat.jpg"]
    prompt, _, _ = render_request(request)
    assert prompt.count("[image 1 attached above]") == 1 and "[image 2" not in prompt
