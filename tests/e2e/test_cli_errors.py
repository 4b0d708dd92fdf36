"""Every user-facing failure of the CLI is one line on stderr that says what to do, exit code 1
(64 for a usage error, never 2, which means "some input lines were rejected"), and never a
traceback: run as a user runs it, the real console script in fresh processes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from adapters.data_dir_lock import DataDirLock
from streams.broker import free_port
from tests.conftest import EXAMPLES, REPO

pytestmark = pytest.mark.slow

MEMSTREAM = Path(sys.executable).parent / "memstream"


def run(*args: str, data_dir: Path, kafka: str | None = None, timeout: int = 120, **env: str):
    environment = {**os.environ, "MEMSTREAM_DATA_DIR": str(data_dir), **env}
    environment.pop("MEMSTREAM_KAFKA_URL", None)
    if kafka is not None:
        environment["MEMSTREAM_KAFKA_URL"] = kafka
    return subprocess.run([str(MEMSTREAM), *args], cwd=REPO, env=environment, capture_output=True,
                          text=True, timeout=timeout)


def one_line_error(proc, rc: int = 1, *needles: str) -> str:
    assert "Traceback" not in proc.stderr, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert proc.returncode == rc, (proc.returncode, proc.stderr)
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


@pytest.fixture(scope="module")
def down() -> str:
    """A loopback port nobody listens on."""
    return f"127.0.0.1:{free_port()}"


@pytest.mark.parametrize("args", [
    ("ingest", str(EXAMPLES / "brief.jsonl")),
    ("worker",),
    ("worker", "--role", "fast"),
    ("deadletters", "--resubmit"),
])
def test_a_broker_that_is_down(tmp_path, down, args):
    for url in (down, f"kafka://{down}"):
        line = one_line_error(run(*args, data_dir=tmp_path / "data", kafka=url), 1,
                              f"cannot reach the Kafka broker at {down}", "memstream broker")
        assert line.startswith(f"memstream {args[0]}: ")


def test_resubmit_without_a_broker_names_the_setting(tmp_path):
    one_line_error(run("deadletters", "--resubmit", data_dir=tmp_path), 1,
                   "--resubmit needs MEMSTREAM_KAFKA_URL")


@pytest.mark.parametrize("args", [
    ("memories", "--user", "u"), ("history", "abc"), ("search", "--user", "u", "q"),
    ("replay",), ("deadletters",), ("reconcile",),
])
def test_a_missing_data_dir(tmp_path, args):
    one_line_error(run(*args, data_dir=tmp_path / "typo"), 1, "no memstream data in")
    assert not (tmp_path / "typo").exists()


def test_a_blank_query_is_a_clear_error(tmp_path, model_dir):
    data = tmp_path / "data"
    assert run("ingest", str(EXAMPLES / "conversations.jsonl"), data_dir=data).returncode in (0, 2)
    one_line_error(run("search", "--user", "alice", "   ", data_dir=data), 1, "QUERY is empty")


def test_a_foreign_data_dir(tmp_path):
    foreign = tmp_path / "home"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine\n")
    one_line_error(run("memories", "--user", "u", data_dir=foreign), 1, "no memstream data in")
    one_line_error(run("ingest", str(EXAMPLES / "brief.jsonl"), data_dir=foreign), 1,
                   "is not empty and holds no memstream data")
    assert sorted(p.name for p in foreign.iterdir()) == ["notes.txt"]
    one_line_error(run("memories", "--user", "u", data_dir=foreign / "notes.txt"), 1, "is a file")


def test_a_directory_given_to_ingest(tmp_path):
    one_line_error(run("ingest", str(EXAMPLES), data_dir=tmp_path / "data"), 1, "is a directory")
    one_line_error(run("ingest", str(tmp_path / "nope.jsonl"), data_dir=tmp_path / "data"), 1, "no such file")


@pytest.mark.parametrize("args", [
    ("ingest", str(EXAMPLES / "brief.jsonl")),
    ("search", "--user", "xiaoyi", "住在哪里"),
    ("replay",),
])
def test_a_locked_data_dir(tmp_path, args):
    data = tmp_path / "data"
    data.mkdir()
    (data / "events.sqlite").touch()  # a store, as far as the read commands' check goes
    with DataDirLock(data, "memstream worker"):
        line = one_line_error(run(*args, data_dir=data), 1,
                              f"is in use by pid {os.getpid()} (memstream worker)", "MEMSTREAM_QDRANT_URL")
    assert str(data) in line


def test_reads_of_the_event_store_need_no_lock(tmp_path):
    data = tmp_path / "data"
    with DataDirLock(data, "memstream worker"):
        # memories reads the event store only: no lock wanted (an empty store: no memories)
        proc = run("memories", "--user", "u", data_dir=data)
    assert "in use" not in proc.stderr


def test_two_in_process_ingests_the_second_fails_at_once(tmp_path, model_dir):
    data = tmp_path / "data"
    env = {"MEMSTREAM_MODEL_DIR": str(model_dir), "MEMSTREAM_EXTRACTOR": "rules"}
    first = subprocess.Popen([str(MEMSTREAM), "ingest", "-q", str(EXAMPLES / "conversations.jsonl")], cwd=REPO,
                             env={**os.environ, "MEMSTREAM_DATA_DIR": str(data), **env},
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        lock = data / ".lock"
        for _ in range(600):  # the first one holds the lock once its pid is written
            if lock.exists() and lock.read_text().startswith(str(first.pid)):
                break
            if first.poll() is not None:
                pytest.skip("the first ingest finished before the second could start")
            import time

            time.sleep(0.1)
        second = run("ingest", str(EXAMPLES / "brief.jsonl"), data_dir=data, **env)
        if first.poll() is None:
            one_line_error(second, 1, f"is in use by pid {first.pid} (memstream ingest)")
    finally:
        out, err = first.communicate(timeout=300)
    assert first.returncode == 0, err


@pytest.mark.parametrize("args", [
    (), ("bogus",), ("memories",), ("memories", "--user", "u", "--kind", "bogus"),
    ("search", "--top-k", "many"), ("worker", "--role", "everything"), ("ingest",),
    ("deadletters", "--drop", "x", "--resubmit"), ("broker", "--port", "nine"),
])
def test_bad_flags_exit_64_not_2(tmp_path, args):
    line = one_line_error(run(*args, data_dir=tmp_path), 64)
    assert "--help" in line


def test_help_lists_the_kinds_and_exit_codes(tmp_path):
    from cli.main import KINDS
    from domain.values import MemoryKind

    assert KINDS == [k.value for k in MemoryKind]
    assert "episode" in run("memories", "--help", data_dir=tmp_path).stdout
    assert "64 usage error" in run("--help", data_dir=tmp_path).stdout


def test_invalid_settings_are_one_line(tmp_path):
    one_line_error(run("memories", "--user", "u", data_dir=tmp_path, kafka="not a url/x"), 1,
                   "invalid configuration: MEMSTREAM_KAFKA_URL")
    one_line_error(run("memories", "--user", "u", data_dir=tmp_path, MEMSTREAM_PARTITIONS="zero"), 1,
                   "MEMSTREAM_PARTITIONS")


def test_an_unexpected_failure_is_one_line_and_its_traceback_comes_with_v(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory\n")
    quiet = run("schemas", "--out", str(blocker / "sub"), data_dir=tmp_path)
    assert quiet.returncode == 1 and "Traceback" not in quiet.stderr
    assert len(quiet.stderr.strip().splitlines()) == 1, quiet.stderr
    loud = run("-v", "schemas", "--out", str(blocker / "sub"), data_dir=tmp_path)
    assert loud.returncode == 1 and "Traceback" in loud.stderr


def test_deadletters_drop_makes_sense_without_a_broker(tmp_path):
    import json

    from application.dead_letters import DeadLetterBox
    from application.settings import Settings
    from memstream.bootstrap import build_runtime

    data = tmp_path / "data"
    runtime = build_runtime(Settings(data_dir=data, extractor="rules"), with_vectors=False)
    try:
        box = DeadLetterBox(runtime.store)
        for offset in (7, 8, 9):
            box.record(topic="memstream.messages", partition=0, offset=offset, key=b"u", value=b"not json",
                       reason="invalid JSON", error_type="BadInput", stage="fast", tracking=None)
        ids = [d["id"] for d in box.recent()]
    finally:
        runtime.close()
    one_line_error(run("deadletters", "--drop", "zzzz", data_dir=data), 1, "no dead letter with id 'zzzz'")
    one_line_error(run("deadletters", "--all-older-than", "soon", data_dir=data), 1, "neither an age")
    listed = run("deadletters", data_dir=data)
    assert listed.returncode == 0 and all(i in listed.stdout for i in ids)
    dropped = run("deadletters", "--drop", ids[0][:8], data_dir=data)
    assert dropped.returncode == 0 and ids[0] in dropped.stdout and "no longer listed" in dropped.stderr
    kept = json.loads(run("deadletters", "--json", data_dir=data).stdout)["dead_letters"]
    assert [d["id"] for d in kept] == ids[1:]
    none_old = run("deadletters", "--all-older-than", "1d", data_dir=data)
    assert none_old.returncode == 0 and "dropped 0 dead letter(s)" in none_old.stderr
    everything = json.loads(run("deadletters", "--all-older-than", "0s", "--json", data_dir=data).stdout)
    assert sorted(d["id"] for d in everything["dropped"]) == sorted(ids[1:])
    assert "no dead letters" in run("deadletters", data_dir=data).stdout


def test_schemas_check_json(tmp_path):
    import json

    proc = run("schemas", "--check", "--json", data_dir=tmp_path)
    assert proc.returncode == 0 and json.loads(proc.stdout) == {"out": str(REPO / "schemas"), "match": True,
                                                               "stale": []}


def test_the_last_resort_handler_in_process(tmp_path, monkeypatch, capsys):
    import cli.read
    from cli.main import main

    def broken(args, settings):
        raise RuntimeError("something\nnobody expected")

    (tmp_path / "events.sqlite").touch()
    monkeypatch.setattr(cli.read, "memories", broken)
    assert main(["memories", "--data-dir", str(tmp_path), "--user", "u"]) == 1
    err = capsys.readouterr().err
    assert err == ("memstream memories: internal error: RuntimeError: something nobody expected "
                   "(run with -v for the traceback)\n")
    assert main(["-v", "memories", "--data-dir", str(tmp_path), "--user", "u"]) == 1
    assert "Traceback" in capsys.readouterr().err


def test_a_garbage_event_store_is_one_line(tmp_path):
    (tmp_path / "events.sqlite").write_text("garbage\n")
    one_line_error(run("memories", "--user", "u", data_dir=tmp_path), 1, "cannot be read", "memstream data dir")


def test_the_lock_is_exclusive_and_released(tmp_path):
    from adapters.data_dir_lock import DataDirLocked, holder

    with DataDirLock(tmp_path, "memstream search"):
        assert holder(tmp_path) == (os.getpid(), "memstream search")
        with pytest.raises(DataDirLocked, match=rf"in use by pid {os.getpid()} \(memstream search\)"):
            DataDirLock(tmp_path, "memstream ingest").acquire()
    with DataDirLock(tmp_path, "memstream ingest"):  # free again once released
        assert holder(tmp_path)[1] == "memstream ingest"


def test_all_older_than_takes_ages_and_times():
    from datetime import datetime, timedelta, timezone

    from cli.main import CommandError
    from cli.stream import cutoff

    now = datetime(2026, 1, 10, tzinfo=timezone.utc)
    assert cutoff("7d", now) == now - timedelta(days=7)
    assert cutoff("12h", now) == now - timedelta(hours=12)
    assert cutoff("30m", now) == now - timedelta(minutes=30)
    assert cutoff("2026-01-01T00:00:00", now) == datetime(2026, 1, 1, tzinfo=timezone.utc)
    with pytest.raises(CommandError):
        cutoff("soon", now)


def test_worker_status_lines():
    import io
    import json
    from collections import Counter

    from application.settings import Settings
    from cli.stream import WorkerStatus

    out = io.StringIO()
    status = WorkerStatus(Settings(kafka_url="kafka://h:1", data_dir=Path("/d")), "all", 10, out=out)
    status.ready([("memstream.messages", 1), ("memstream.messages", 0), ("memstream.fine", 2)])
    status.progress(Counter())  # idle: nothing
    status.progress(Counter(fast=50, projection=20), {"fine": 7, "fast": 0})
    first, second = out.getvalue().splitlines()
    assert first.startswith("memstream worker: ready: role all (fast, fine, knowledge, projections, offline)")
    assert "partitions fine 2, messages 0,1" in first and "data dir /d" in first and "broker h:1" in first
    assert "fast " in second and "/s" in second and second.endswith("lag fine 7")
    quiet = io.StringIO()
    WorkerStatus(Settings(), "fast", 10, quiet=True, out=quiet).ready([])
    assert quiet.getvalue() == ""
    as_json = io.StringIO()
    WorkerStatus(Settings(), "fast", 10, as_json=True, out=as_json).ready([])
    assert json.loads(as_json.getvalue())["event"] == "ready"
