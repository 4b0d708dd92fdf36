"""``memstream broker`` as a user runs it: a foreground process that prints the URL to
export, carries an ingest to a worker, and stops cleanly on Ctrl-C (SIGINT)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from streams.broker import free_port, port_is_free
from tests.conftest import EXAMPLES, REPO

pytestmark = pytest.mark.slow

MEMSTREAM = Path(sys.executable).parent / "memstream"
WAIT = 60.0


def _stop(proc: subprocess.Popen, sig: int = signal.SIGINT) -> int:
    if proc.poll() is None:
        proc.send_signal(sig)
    try:
        return proc.wait(timeout=WAIT)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)
        raise


def test_broker_command_carries_an_ingest_to_a_worker(tmp_path, model_dir):
    port = free_port()
    env = {**os.environ, "MEMSTREAM_DATA_DIR": str(tmp_path / "data"), "MEMSTREAM_MODEL_DIR": str(model_dir),
           "MEMSTREAM_EXTRACTOR": "rules", "MEMSTREAM_TOPIC_PREFIX": f"bc{port}"}
    env.pop("MEMSTREAM_KAFKA_URL", None)
    env.pop("MEMSTREAM_SESSION_TIMEOUT", None)
    broker = subprocess.Popen([str(MEMSTREAM), "broker", "--port", str(port), "--data", str(tmp_path / "broker")],
                              cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    worker = None
    try:
        line = broker.stdout.readline()  # blocks until the broker is ready (or has died: "")
        assert line.strip() == f"export MEMSTREAM_KAFKA_URL=127.0.0.1:{port}", broker.stderr.read()
        env["MEMSTREAM_KAFKA_URL"] = f"kafka://127.0.0.1:{port}"  # the form Faust users write works too
        from application.settings import Settings
        from cli.stream import session_timeout_for

        # no MEMSTREAM_SESSION_TIMEOUT: Tansu is recognised, and its 2 s timeout chosen
        assert session_timeout_for(Settings(kafka_url=env["MEMSTREAM_KAFKA_URL"])).session_timeout == 2.0
        assert session_timeout_for(Settings(kafka_url=env["MEMSTREAM_KAFKA_URL"], session_timeout=7)).session_timeout == 7
        worker = subprocess.Popen([str(MEMSTREAM), "worker", "--progress-every", "2"], cwd=REPO, env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        ready = worker.stderr.readline()
        assert "memstream worker: ready: role all" in ready and "partitions" in ready, ready
        assert str(tmp_path / "data") in ready
        published = subprocess.run([str(MEMSTREAM), "ingest", "--json", str(EXAMPLES / "brief.jsonl")], cwd=REPO,
                                   env=env, capture_output=True, text=True, timeout=WAIT)
        assert published.returncode == 0, published.stderr
        report = json.loads(published.stdout)
        assert report["mode"] == "published" and report["published"] == 4
        deadline = time.monotonic() + WAIT
        while True:  # `memories` reads the event store only: safe while the worker runs
            views = subprocess.run([str(MEMSTREAM), "memories", "--user", "xiaoyi", "--json"], cwd=REPO, env=env,
                                   capture_output=True, text=True, timeout=WAIT)
            if views.returncode == 0 and any(m["key"] == "profile" for m in json.loads(views.stdout)["memories"]):
                break
            assert time.monotonic() < deadline, views.stdout + views.stderr
            time.sleep(1.0)
        assert _stop(worker) == 0
        rest = worker.stderr.read()
        assert "Traceback" not in rest, rest
    finally:
        if worker is not None and worker.poll() is None:
            _stop(worker, signal.SIGTERM)
        code = _stop(broker)
    err = broker.stderr.read()
    assert code == 0, err
    assert "records in memory" in err and "stopped" in err and "Traceback" not in err
    assert (tmp_path / "broker" / "tansu.log").exists()
    assert port_is_free("127.0.0.1", port)


def test_a_second_broker_on_the_same_port_is_one_line(tmp_path):
    port = free_port()
    first = subprocess.Popen([str(MEMSTREAM), "broker", "--port", str(port), "-q"], cwd=REPO,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert first.stdout.readline().startswith("export MEMSTREAM_KAFKA_URL=")
        second = subprocess.run([str(MEMSTREAM), "broker", "--port", str(port)], cwd=REPO,
                                capture_output=True, text=True, timeout=WAIT)
        assert second.returncode == 1 and "already in use" in second.stderr
        assert len(second.stderr.strip().splitlines()) == 1 and "Traceback" not in second.stderr
    finally:
        assert _stop(first, signal.SIGTERM) == 0
