"""A word/character diff between two versions' texts, rendered as escaped HTML.

Latin words and numbers are compared as whole tokens; every other character (each Chinese
character, each punctuation mark) is a token of its own, so ``在上海居住`` → ``在成都居住``
shows ``<del>上海</del><ins>成都</ins>`` rather than a whole-line replacement.
"""

from __future__ import annotations

import difflib
import re
from html import escape

_TOKEN = re.compile(r"[A-Za-z0-9_]+|\s+|.", re.S)


def tokens(text: str) -> list[str]:
    return _TOKEN.findall(text or "")


def diff_ops(old: str, new: str) -> list[tuple[str, str]]:
    """``[(op, text)]`` with op ``equal``, ``delete`` or ``insert``; the old text is the
    concatenation of the equal and delete parts, the new one of equal and insert."""
    a, b = tokens(old), tokens(new)
    ops: list[tuple[str, str]] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag == "equal":
            ops.append(("equal", "".join(a[i1:i2])))
            continue
        if tag in ("delete", "replace"):
            ops.append(("delete", "".join(a[i1:i2])))
        if tag in ("insert", "replace"):
            ops.append(("insert", "".join(b[j1:j2])))
    return ops


def diff_html(old: str, new: str) -> str:
    parts = []
    for op, text in diff_ops(old, new):
        if op == "equal":
            parts.append(escape(text))
        elif op == "delete":
            parts.append(f"<del>{escape(text)}</del>")
        else:
            parts.append(f"<ins>{escape(text)}</ins>")
    return "".join(parts)
