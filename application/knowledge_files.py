"""Knowledge documents from plain files: ``ingest --knowledge --kb ID DIR`` (or FILE.md / FILE.txt).

One file is one document: ``doc_id`` is its path relative to the directory given (the file
name for a single file), so the same tree ingested again updates the same documents; the
title is the first markdown heading (``# …``), else the file name without its suffix;
``updated_at`` is the file's modification time. Files are read as UTF-8; one that is not,
or that is empty, is reported and skipped, never a crash.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

from pydantic import ValidationError

from application.jsonl import describe_validation_error
from domain.envelope import KnowledgeDocument

SUFFIXES = (".md", ".markdown", ".txt")
_TITLE = re.compile(r"^\s{0,3}#\s+(.+?)\s*#*\s*$", re.M)


def is_document_file(path: Path) -> bool:
    return path.suffix.lower() in SUFFIXES


def _visible_files(root: Path) -> list[Path]:
    """The files under a directory, recursively, hidden ones and those in hidden directories
    skipped; sorted, so the order is the same on every run."""
    return sorted(p for p in root.rglob("*") if p.is_file()
                  and not any(part.startswith(".") for part in p.relative_to(root).parts))


def document_paths(root: Path) -> list[Path]:
    """The document files under ``root`` (a directory), or ``root`` itself."""
    if root.is_file():
        return [root]
    return [p for p in _visible_files(root) if is_document_file(p)]


def other_files(root: Path) -> list[Path]:
    """The visible files under a directory that are not documents (reported as skipped)."""
    return [p for p in _visible_files(root) if not is_document_file(p)] if root.is_dir() else []


def read_documents(root: Path, kb_id: str, user_id: str | None = None
                   ) -> Iterator[tuple[str, KnowledgeDocument | str]]:
    """(doc_id, document) per file, or (doc_id, reason) for a file that cannot be a document."""
    for path in document_paths(root):
        doc_id = path.name if root.is_file() else path.relative_to(root).as_posix()
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            yield doc_id, "not UTF-8 text"
            continue
        except OSError as e:
            yield doc_id, f"cannot be read: {e.strerror or e}"
            continue
        heading = _TITLE.search(text)
        title = heading.group(1) if heading else path.stem
        modified = datetime.fromtimestamp(path.stat().st_mtime, tz=timezone.utc)
        fields = {"kb_id": kb_id, "doc_id": doc_id, "title": title[:1000], "text": text,
                  "updated_at": modified.isoformat()}
        if user_id:
            fields["user_id"] = user_id
        try:
            yield doc_id, KnowledgeDocument.model_validate(fields)
        except ValidationError as e:
            yield doc_id, describe_validation_error(e)
