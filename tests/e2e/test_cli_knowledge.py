"""Knowledge bases through the command line, as a user runs it: a directory of .md/.txt files
ingested, updated twice and partly deleted; ``memories --kb``; ``search --kb`` alone and with
``--user``. Real processes, real stores, the real embedding model."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from tests.conftest import REPO
from tests.e2e.test_cli import MEMSTREAM

pytestmark = pytest.mark.slow

KEEP = "Breakfast is served in the lobby restaurant from seven to ten every morning, weekends included."
CANCEL = "Hotel bookings can be cancelled free of charge up to {} hours before check-in, later ones cost a night."
DROP = "Parking spaces in the garage cost fifteen euros per night and must be reserved in advance online."


def run(*args: str, data_dir, check: bool = True):
    env = {**os.environ, "MEMSTREAM_DATA_DIR": str(data_dir), "MEMSTREAM_CHUNK_SIZE": "120",
           "MEMSTREAM_CHUNK_OVERLAP": "0"}
    env.pop("MEMSTREAM_KAFKA_URL", None)
    proc = subprocess.run([str(MEMSTREAM), *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=240)
    if check and proc.returncode != 0:
        raise AssertionError(f"memstream {' '.join(args)} exited {proc.returncode}\n{proc.stderr}")
    return proc


def as_json(proc) -> dict:
    return json.loads(proc.stdout.strip().splitlines()[-1])


def write_handbook(root, hours: int, with_parking: bool) -> None:
    paragraphs = ["# Stay guide", KEEP, CANCEL.format(hours)] + ([DROP] if with_parking else [])
    (root / "stay.md").write_text("\n\n".join(paragraphs) + "\n", encoding="utf-8")
    (root / "office.txt").write_text("Our office is open Monday to Friday from nine to six.\n", encoding="utf-8")


def chunks(data, include_archived: bool = False) -> dict[str, dict]:
    args = ["memories", "--kb", "handbook", "--json"] + (["--all"] if include_archived else [])
    return {v["memory_id"]: v for v in as_json(run(*args, data_dir=data))["memories"]}


def test_a_knowledge_base_updated_twice_deleted_and_searched_with_a_user(tmp_path, model_dir):
    data, docs = tmp_path / "data", tmp_path / "handbook"
    docs.mkdir()
    write_handbook(docs, 24, with_parking=True)
    first = as_json(run("ingest", "--knowledge", "--kb", "handbook", str(docs), "--json", data_dir=data))
    assert first["accepted"] == 2 and first["created"] >= 4 and first["rejected"] == []
    v1 = chunks(data)
    assert all(v["origin"] == {"type": "kb", "kb_id": "handbook", "doc_id": v["attributes"]["doc_id"],
                               "title": v["attributes"]["title"]} for v in v1.values())
    by_text = {next(k for k in (KEEP[:20], "cancelled", "Parking", "office") if k in v["content"]): mid
               for mid, v in v1.items()}

    write_handbook(docs, 48, with_parking=False)  # one paragraph changed, one removed
    second = as_json(run("ingest", "--knowledge", "--kb", "handbook", str(docs), "--json", data_dir=data))
    assert (second["created"], second["revised"], second["archived"]) == (0, 1, 1)
    v2 = chunks(data, include_archived=True)
    assert v2[by_text[KEEP[:20]]]["version"] == 1 and v2[by_text["office"]]["version"] == 1  # untouched
    assert v2[by_text["cancelled"]]["version"] == 2 and "48 hours" in v2[by_text["cancelled"]]["content"]
    assert v2[by_text["Parking"]]["status"] == "archived"

    write_handbook(docs, 72, with_parking=False)
    third = as_json(run("ingest", "--knowledge", "--kb", "handbook", str(docs), "--json", data_dir=data))
    assert (third["created"], third["revised"], third["archived"]) == (0, 1, 0)
    history = as_json(run("history", by_text["cancelled"], "--json", data_dir=data))["versions"]
    assert [("24" in v["content"], "48" in v["content"], "72" in v["content"]) for v in history] == [
        (True, False, False), (False, True, False), (False, False, True)]

    for query in ("how many hours before check-in can I cancel a hotel for free", "酒店可以提前多久免费取消",
                  "garage parking price"):
        hits = as_json(run("search", "--kb", "handbook", query, "--top-k", "10", "--json", data_dir=data))["results"]
        assert hits and all(h["origin"]["type"] == "kb" for h in hits)
        text = " ".join(h["content"] for h in hits)
        assert "24 hours" not in text and "48 hours" not in text and "Parking" not in text
    assert "72 hours" in as_json(run("search", "--kb", "handbook", "cancel a hotel booking free of charge",
                                     "--top-k", "1", "--json", data_dir=data))["results"][0]["content"]

    deletion = tmp_path / "delete.jsonl"
    deletion.write_text(json.dumps({"kb_id": "handbook", "doc_id": "office.txt", "deleted": True}) + "\n")
    gone = as_json(run("ingest", "--knowledge", str(deletion), "--json", data_dir=data))
    assert gone["archived"] == 1 and gone["created"] == gone["revised"] == 0
    assert all(v["attributes"]["doc_id"] != "office.txt" for v in chunks(data).values())
    office = as_json(run("search", "--kb", "handbook", "office opening hours", "--json", data_dir=data))["results"]
    assert all("office" not in h["content"] for h in office)

    alice = tmp_path / "alice.jsonl"
    alice.write_text(json.dumps({"event_id": "a1", "user_id": "alice", "messages": [
        {"role": "user", "content": "I only book hotels that I can cancel for free.",
         "chat_time": "2025-06-01T10:00:00Z"}]}) + "\n")
    run("ingest", str(alice), "--json", data_dir=data)
    both = as_json(run("search", "--user", "alice", "--kb", "handbook", "free hotel cancellation", "--json",
                       data_dir=data))
    origins = {(h["origin"]["type"], h["origin"].get("user_id") or h["origin"].get("kb_id")) for h in both["results"]}
    assert {("user", "alice"), ("kb", "handbook")} <= origins
    human = run("search", "--user", "alice", "--kb", "handbook", "free hotel cancellation", data_dir=data).stdout
    assert "[user alice]" in human and "[kb handbook/stay.md]" in human
    alone = as_json(run("search", "--user", "alice", "free hotel cancellation", "--json", data_dir=data))["results"]
    assert all(h["user_id"] == "alice" for h in alone)  # without --kb, only the user's own memories

    no_kb = run("ingest", "--knowledge", str(docs), data_dir=data, check=False)
    assert no_kb.returncode == 1 and "--kb" in no_kb.stderr
    nobody = run("search", "hotel", data_dir=data, check=False)
    assert nobody.returncode == 64 and "--user or --kb" in nobody.stderr


def test_other_files_are_reported_as_skipped_and_an_unknown_kb_is_an_error(tmp_path, model_dir):
    data, docs = tmp_path / "data", tmp_path / "handbook"
    docs.mkdir()
    (docs / "stay.md").write_text(f"# Stay guide\n\n{KEEP}\n", encoding="utf-8")
    (docs / "floorplan.pdf").write_bytes(b"%PDF-1.4 binary")
    (docs / ".DS_Store").write_bytes(b"\0\1")
    human = run("ingest", "--knowledge", "--kb", "handbook", str(docs), data_dir=data)
    assert "1 documents accepted (0 already ingested); chunks created" in human.stdout, human.stdout
    assert "envelopes" not in human.stdout and "episodes" not in human.stdout
    assert "skipped 1 files that are not .md, .markdown or .txt: floorplan.pdf" in human.stderr, human.stderr
    again = as_json(run("ingest", "--knowledge", "--kb", "handbook", str(docs), "--json", data_dir=data))
    assert again["skipped"] == ["floorplan.pdf"] and again["duplicates"] == 1

    for args in (["search", "--kb", "handbok", "breakfast"], ["memories", "--kb", "handbok"]):
        proc = run(*args, data_dir=data, check=False)
        assert proc.returncode == 1 and proc.stdout == "", (args, proc.stdout)
        assert proc.stderr.strip().splitlines() == [proc.stderr.strip()], proc.stderr
        assert "no knowledge base 'handbok'" in proc.stderr and "known: handbook" in proc.stderr, proc.stderr
    assert as_json(run("search", "--kb", "handbook", "breakfast", "--json", data_dir=data))["results"]
