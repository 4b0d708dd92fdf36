"""Images and files in messages: kept as sources, described in words, searchable by them.

An image part (``{"type": "image_url", "image_url": {"url"}, "caption", "alt"}``) and a file
part (``{"type": "file", "file": {"file_id", "url", "name"}}``) become *attachments*: plain
dicts that a memory's source keeps (``sources[i]["attachments"]``), so what a memory came
from includes the picture or the file, not only the words around it. The words an attachment
brings (caption, alt text, file name) are part of the message text (``Message.text``), so the
episode embeds and indexes them, and a memory derived from an image says that it is one
(``describe``: "用户分享了一张照片：…", "The user shared a photo: …"). Pure functions, no I/O.
"""

from __future__ import annotations

import re
from typing import Any

_CJK = re.compile(r"[\u4e00-\u9fff]")


def message_attachments(message: Any) -> list[dict[str, Any]]:
    """The image and file parts of a ``domain.envelope.Message``, as attachment dicts."""
    content = getattr(message, "content", None)
    if not isinstance(content, list):
        return []
    out: list[dict[str, Any]] = []
    for part in content:
        kind = getattr(part, "type", None)
        if kind == "image_url":
            item = {"type": "image", "url": part.image_url.url, "caption": part.caption,
                    "alt": getattr(part, "alt", None)}
        elif kind == "file":
            item = {"type": "file", "file_id": part.file.file_id, "url": part.file.url, "name": part.file.name}
        else:
            continue
        out.append({k: v for k, v in item.items() if v not in (None, "")})
    return out


def words_of(attachment: dict[str, Any]) -> str:
    """What an attachment says in words: an image's caption (else its alt text), a file's name."""
    if attachment.get("type") == "image":
        return str(attachment.get("caption") or attachment.get("alt") or "").strip()
    return str(attachment.get("name") or "").strip()


def language_of(text: str, fallback: str = "en") -> str:
    """zh for text with Chinese characters, en for other text, ``fallback`` for no text."""
    if not text.strip():
        return fallback
    return "zh" if _CJK.search(text) else "en"


def describe(attachment: dict[str, Any], lang: str | None = None) -> str:
    """The third-person statement a memory of this attachment makes."""
    words = words_of(attachment)
    lang = lang or language_of(words)
    image = attachment.get("type") == "image"
    if lang == "zh":
        lead = "用户分享了一张照片" if image else "用户分享了一个文件"
        return f"{lead}：{words}" if words else lead
    lead = "The user shared a photo" if image else "The user shared a file"
    return f"{lead}: {words}" if words else f"{lead}."


def is_web_image(attachment: dict[str, Any]) -> bool:
    """An image a model API can fetch itself (http or https URL)."""
    url = str(attachment.get("url") or "")
    return attachment.get("type") == "image" and url.lower().startswith(("http://", "https://"))
