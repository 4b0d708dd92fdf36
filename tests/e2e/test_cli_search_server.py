"""`memstream search` on a data dir that a running `memstream serve` owns is answered by that
server (cli/remote.py): same results as the search in a process of its own, and no second
process opens the index. Real processes, a real HTTP server, the real model."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from adapters.data_dir_lock import holder
from cli.remote import SERVER_FILE
from tests.conftest import EXAMPLES, REPO
from tests.integration.kafka_fixtures import wait_until

pytestmark = pytest.mark.slow
EXE = str(Path(sys.executable).parent / "memstream")
QUERY = ["search", "--user", "alice", "where does she live", "--top-k", "3", "--json"]


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([EXE, *args], cwd=REPO, env={**os.environ, **env}, capture_output=True, text=True,
                          timeout=240)


def ranked(proc: subprocess.CompletedProcess[str]) -> list[tuple[str, int, float]]:
    assert proc.returncode == 0, proc.stderr
    results = json.loads(proc.stdout)["results"]
    return [(r["memory_id"], r["version"], round(r["score"], 4)) for r in results]


def test_search_is_answered_by_the_server_that_owns_the_data_dir(tmp_path, processes, model_dir):
    data = tmp_path / "data"
    env = {"MEMSTREAM_DATA_DIR": str(data), "MEMSTREAM_MODEL_DIR": str(model_dir), "MEMSTREAM_EXTRACTOR": "rules",
           "MEMSTREAM_KAFKA_URL": "", "MEMSTREAM_API_KEYS": "k1=app1"}
    assert run(env, "ingest", str(EXAMPLES / "conversations.jsonl")).returncode == 0
    local = ranked(run(env, *QUERY))  # no server yet: searched in the command's own process
    assert local and "Lisbon" in run(env, *QUERY[:-1]).stdout

    server = processes([EXE, "serve", "--port", "0"], env=env, name="serve")
    announced = data / SERVER_FILE
    wait_until(announced.exists, 120, "serve announcing itself in the data dir", server.log_tail)
    assert holder(data)[0] == server.pid  # the server holds the index: no other process may open it
    assert stat.S_IMODE(announced.stat().st_mode) == 0o600  # it carries an operator token
    assert json.loads(announced.read_text())["pid"] == server.pid

    assert ranked(run(env, *QUERY)) == local  # answered by the server, not refused by the lock
    text = run(env, *QUERY[:-1])
    assert text.returncode == 0 and "Lisbon" in text.stdout

    # a search /v1/search cannot express exactly is not routed: it meets the server's lock
    keyed = run(env, "search", "--user", "alice", "where does she live", "--key", "profile")
    assert keyed.returncode == 1 and f"pid {server.pid} (memstream serve)" in keyed.stderr
    assert "Traceback" not in keyed.stderr

    server.stop()
    assert not announced.exists()  # withdrawn on a clean stop
    assert ranked(run(env, *QUERY)) == local  # and searched in-process again


def test_a_stale_announcement_is_ignored(tmp_path, model_dir):
    data = tmp_path / "data"
    env = {"MEMSTREAM_DATA_DIR": str(data), "MEMSTREAM_MODEL_DIR": str(model_dir), "MEMSTREAM_EXTRACTOR": "rules",
           "MEMSTREAM_KAFKA_URL": ""}
    assert run(env, "ingest", str(EXAMPLES / "conversations.jsonl")).returncode == 0
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (data / SERVER_FILE).write_text(json.dumps({"url": "http://127.0.0.1:9", "pid": dead.pid, "token": "t"}))
    assert ranked(run(env, *QUERY))  # the dead server's file does not stop a local search
    # a live process that does not answer HTTP (this test's own pid is alive): searched locally too
    (data / SERVER_FILE).write_text(json.dumps({"url": "http://127.0.0.1:9", "pid": os.getpid(), "token": "t"}))
    assert ranked(run(env, *QUERY))
