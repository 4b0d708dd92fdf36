"""LoCoMo -> memstream input envelopes, plus the cleaned question set.

Why a converter and not a special loader: the evaluation must exercise the same
public contract an app uses (``InputEnvelope``), so a LoCoMo conversation goes in
exactly as an app would publish it. Choices (measured in ``evaluate.py``):

* one user per conversation (``user_id`` = ``sample_id``), one conversation id;
* ``granularity="session"`` (default) sends one envelope per session, so the Fast
  stage sees each turn next to its neighbours (windowing needs that) and the
  pipeline runs 272 transactions instead of 5,882; ``"turn"`` sends one per turn;
* ``roles="user"`` (default) makes both speakers role ``user`` with ``name`` set to
  the speaker; ``"ab"`` makes speaker_a ``user`` and speaker_b ``assistant``.
  LoCoMo is two humans talking, so there is no single "the user": the rule
  extractor's first-person facts ("the user lives in ...") mix two people either
  way; role ``user`` for both at least keeps both people's turns extractable, and
  the speaker name travels with every episode;
* ``message_id`` = ``dia_id`` so evidence can be matched against ``sources``;
* ``chat_time`` = the session's date (LoCoMo gives no per-turn time);
* a shared image becomes an ``image_url`` part whose ``caption`` is BLIP's caption.

Evidence labels are normalised (``'D8:6; D9:17'`` -> two ids, ``'D:11:26'`` ->
``D11:26``, ``'D30:05'`` -> ``D30:5``; ids that name no turn are dropped and
counted), and the public audit's corrected evidence can be applied on top.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable

from domain.envelope import InputEnvelope

DATA_DIR = Path("/work/shared/data/locomo")
LOCOMO_FILE = DATA_DIR / "locomo10.json"
AUDIT_FILE = DATA_DIR / "audit_errors.json"
CATEGORIES = {1: "multi-hop", 2: "temporal", 3: "open-domain", 4: "single-hop", 5: "adversarial"}

_SESSION = re.compile(r"session_(\d+)$")
_DIA = re.compile(r"D\s*:?\s*(\d+)\s*:\s*0*(\d+)")
_WHEN = re.compile(r"(\d{1,2}):(\d{2})\s*([ap]m)\s+on\s+(\d{1,2})\s+([A-Za-z]+),?\s+(\d{4})", re.I)
_MONTHS = {m: i + 1 for i, m in enumerate(
    "january february march april may june july august september october november december".split())}


def parse_session_time(text: str) -> datetime:
    """'1:56 pm on 8 May, 2023' -> aware datetime (UTC: LoCoMo gives no zone)."""
    m = _WHEN.search(text or "")
    if not m:
        raise ValueError(f"unrecognised LoCoMo session time {text!r}")
    hour, minute, half, day, month, year = m.groups()
    h = int(hour) % 12 + (12 if half.lower() == "pm" else 0)
    mon = _MONTHS.get(month.lower()) or _MONTHS[next(k for k in _MONTHS if k.startswith(month.lower()[:3]))]
    return datetime(int(year), mon, int(day), h, int(minute), tzinfo=timezone.utc)


def normalise_evidence(raw: Iterable[str], known: set[str] | None = None) -> tuple[list[str], int]:
    """Clean evidence ids; returns (ids in first-seen order, how many were dropped).

    A string may hold several ids separated by ';', ',' or spaces; stray colons
    and leading zeros are fixed. Fragments that are no id (``'D'``) and, when
    ``known`` is given, ids of turns that do not exist are dropped.
    """
    out: list[str] = []
    dropped = 0
    for item in raw:
        found = _DIA.findall(str(item))
        if not found:
            dropped += 1
            continue
        for session, turn in found:
            dia = f"D{int(session)}:{int(turn)}"
            if known is not None and dia not in known:
                dropped += 1
            elif dia not in out:
                out.append(dia)
    return out, dropped


@dataclass
class Question:
    qid: str                  # locomo_<conversation index>_qa<question index>, the audit's ids
    user_id: str
    question: str
    category: int
    evidence: list[str]       # normalised, as labelled
    corrected: list[str]      # after the audit's corrections (== evidence when none)
    answer: Any = None


@dataclass
class Conversation:
    sample_id: str
    speakers: tuple[str, str]
    envelopes: list[InputEnvelope]
    turns: dict[str, dict[str, Any]]          # dia_id -> {speaker, text, chat_time, session}
    questions: list[Question] = field(default_factory=list)
    dropped_evidence: int = 0


def turn_text(turn: dict[str, Any]) -> str:
    """What a reader of the raw history sees: the text plus the image caption."""
    caption = turn.get("blip_caption")
    return f"{turn['text']} [shares an image: {caption}]" if caption else turn["text"]


def _content(turn: dict[str, Any]) -> str | list[dict[str, Any]]:
    caption = turn.get("blip_caption")
    if not caption:
        return turn["text"]
    urls = turn.get("img_url") or []
    url = urls[0] if isinstance(urls, list) and urls else urls
    if not url or str(url).startswith("data:") or len(str(url)) > 2_000:  # inline images: keep a handle
        url = f"locomo://image/{turn['dia_id']}"
    parts: list[dict[str, Any]] = []
    if turn["text"].strip():
        parts.append({"type": "text", "text": turn["text"]})
    parts.append({"type": "image_url", "image_url": {"url": str(url)}, "caption": caption})
    return parts


def sessions(conversation: dict[str, Any]) -> list[tuple[int, datetime, list[dict[str, Any]]]]:
    """(number, date, turns) for every non-empty session, in order."""
    out = []
    for key, turns in conversation.items():
        m = _SESSION.match(key)
        if m and isinstance(turns, list) and turns:
            n = int(m.group(1))
            out.append((n, parse_session_time(conversation[f"session_{n}_date_time"]), turns))
    return sorted(out, key=lambda s: s[0])


def convert_sample(
    sample: dict[str, Any], index: int, granularity: str = "session", roles: str = "user",
    corrections: dict[str, list[str]] | None = None,
) -> Conversation:
    if granularity not in ("session", "turn") or roles not in ("user", "ab"):
        raise ValueError(f"granularity={granularity!r} roles={roles!r}")
    conv = sample["conversation"]
    user_id = sample["sample_id"]
    speaker_a, speaker_b = conv["speaker_a"], conv["speaker_b"]
    envelopes: list[InputEnvelope] = []
    turns: dict[str, dict[str, Any]] = {}
    for number, when, session_turns in sessions(conv):
        messages = []
        for turn in session_turns:
            role = "assistant" if roles == "ab" and turn["speaker"] == speaker_b else "user"
            messages.append({"message_id": turn["dia_id"], "role": role, "name": turn["speaker"],
                             "content": _content(turn), "chat_time": when.isoformat()})
            turns[turn["dia_id"]] = {"speaker": turn["speaker"], "text": turn_text(turn),
                                     "chat_time": when, "session": number}
        batches = [messages] if granularity == "session" else [[m] for m in messages]
        for batch in batches:
            suffix = f"s{number}" if granularity == "session" else batch[0]["message_id"]
            envelopes.append(InputEnvelope.model_validate({
                "event_id": f"locomo-{user_id}-{suffix}", "user_id": user_id,
                "conversation_id": user_id, "messages": batch, "tags": ["locomo"],
                "info": {"source": "locomo", "session": number},
            }))
    result = Conversation(user_id, (speaker_a, speaker_b), envelopes, turns)
    known = set(turns)
    for qi, qa in enumerate(sample.get("qa", [])):
        qid = f"locomo_{index}_qa{qi}"
        evidence, dropped = normalise_evidence(qa.get("evidence") or [], known)
        result.dropped_evidence += dropped
        corrected = evidence
        if corrections and qid in corrections:
            corrected, _ = normalise_evidence(corrections[qid], known)
        result.questions.append(Question(qid, user_id, qa["question"], int(qa["category"]),
                                         evidence, corrected or evidence,
                                         qa.get("answer", qa.get("adversarial_answer"))))
    return result


def load_corrections(path: Path = AUDIT_FILE) -> dict[str, list[str]]:
    """question_id -> corrected evidence, for audit entries whose evidence differs."""
    if not Path(path).exists():
        return {}
    out = {}
    for item in json.loads(Path(path).read_text()):
        cited, fixed = item.get("cited_evidence") or [], item.get("correct_evidence") or []
        if fixed and sorted(fixed) != sorted(cited):
            out[item["question_id"]] = list(fixed)
    return out


def load(path: Path = LOCOMO_FILE, granularity: str = "session", roles: str = "user",
         audit: Path | None = AUDIT_FILE, limit: int | None = None) -> list[Conversation]:
    data = json.loads(Path(path).read_text())
    corrections = load_corrections(audit) if audit else {}
    samples = data[:limit] if limit else data
    return [convert_sample(s, i, granularity, roles, corrections) for i, s in enumerate(samples)]


def main(argv: list[str] | None = None) -> int:
    """Write the envelopes as JSONL, e.g. for ``memstream ingest``."""
    import argparse

    ap = argparse.ArgumentParser(description="LoCoMo -> memstream JSONL envelopes")
    ap.add_argument("--data", type=Path, default=LOCOMO_FILE)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--granularity", choices=("session", "turn"), default="session")
    ap.add_argument("--roles", choices=("user", "ab"), default="user")
    args = ap.parse_args(argv)
    conversations = load(args.data, args.granularity, args.roles)
    with open(args.out, "w", encoding="utf-8") as fh:
        for c in conversations:
            for env in c.envelopes:
                fh.write(env.model_dump_json(exclude_none=True) + "\n")
    print(f"wrote {sum(len(c.envelopes) for c in conversations)} envelopes to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
