"""`memstream ingest` on a file mixing good lines with poison ones: every bad line is reported
with its line number and reason, and every good line is stored (one CLI run, a few reads)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
DEFAULT_MODEL_DIR = REPO / ".memstream" / "models" / "use-multilingual-v3"

GOOD = [
    {"event_id": "poison-good-1", "user_id": "ana",
     "messages": [{"role": "user", "content": "Hi, I'm Ana. I live in Lisbon and I love hiking.",
                   "chat_time": "2025-03-01T10:00:00Z"}]},
    {"event_id": "poison-good-2", "user_id": "小明",
     "messages": [{"role": "user", "content": "我住在成都，我喜欢吃火锅 🍲", "chat_time": "2025-03-01T10:00:00+08:00"}],
     "tags": ["美食"], "info": {"来源": "app 😀"}},
    {"event_id": "poison-good-3", "user_id": " bruno ",  # stored as "bruno"
     "messages": [{"role": "user", "content": "I'm Bruno. I am allergic to peanuts and I work as a nurse."}]},
]

BASE = '{"user_id": "%s", "messages": [{"role": "user", "content": "%s"}]%s}'
POISON = {
    "deep nesting": '{"user_id":"u","messages":[{"role":"user","content":"hi"}],"info":'
                    + '{"a":' * 1000 + "1" + "}" * 1000 + "}",
    "surrogate": BASE % ("eve", r"I live in Paris \ud800", ""),
    "NUL": BASE % ("eve", r"I live in Paris\u0000", ""),
    "NaN": BASE % ("eve", "I live in Paris", ', "info": {"score": NaN}'),
    "numeric chat_time": '{"user_id": "eve", "messages": [{"role": "user", "content": "I live in Paris", '
                         '"chat_time": 253402300800}]}',
    "kb: user": BASE % ("kb:handbook", "I live in Paris", ""),
    "blank user": BASE % ("   ", "I live in Paris", ""),
}
REASONS = {"deep nesting": "nests deeper", "surrogate": "lone surrogate", "NUL": "NUL character",
           "NaN": "NaN is not valid JSON", "numeric chat_time": "ISO 8601", "kb: user": "reserved",
           "blank user": "must not be blank"}


def console_script() -> str:
    found = Path(sys.executable).parent / "memstream"
    return str(found) if found.exists() else (shutil.which("memstream") or "memstream")


def run(*args: str, data_dir: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "MEMSTREAM_KAFKA_URL": "",
           "MEMSTREAM_MODEL_DIR": os.environ.get("MEMSTREAM_MODEL_DIR") or str(DEFAULT_MODEL_DIR)}
    return subprocess.run([console_script(), *args, "--json", "--data-dir", str(data_dir)], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=300)


def memories(data_dir: Path, user: str) -> list:
    proc = run("memories", "--user", user, data_dir=data_dir)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout.strip()
    try:
        data = json.loads(out)
    except json.JSONDecodeError:  # one memory per line
        return [json.loads(line) for line in out.splitlines() if line.strip()]
    return data.get("memories", data) if isinstance(data, dict) else data


def test_poison_lines_are_reported_and_good_lines_stored(tmp_path):
    lines, expected_bad = [], {}
    good = iter(GOOD)
    for name, poison in POISON.items():  # good, bad, good, bad, ...
        nxt = next(good, None)
        if nxt is not None:
            lines.append(json.dumps(nxt, ensure_ascii=False))
        lines.append(poison)
        expected_bad[len(lines)] = name
    path = tmp_path / "mixed.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    data_dir = tmp_path / "data"

    proc = run("ingest", str(path), data_dir=data_dir)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    reported = {bad["line"]: bad["reason"] for bad in report["rejected"]}
    assert set(reported) == set(expected_bad), reported
    for number, name in expected_bad.items():
        assert REASONS[name] in reported[number], (name, reported[number])
    assert report["accepted"] == len(GOOD)
    assert report["accepted"] + len(report["rejected"]) == len(lines)  # nothing neither stored nor reported

    for user in ("ana", "小明", "bruno"):
        assert memories(data_dir, user), f"no memories for {user}"
