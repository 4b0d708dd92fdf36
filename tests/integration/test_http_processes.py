"""Several ``memstream serve`` processes and one embedded data dir.

The server owns the embedded read side (it projects into the data dir's index), so a
second server on the same data dir must stop at once with one line naming the holder,
not fail inside the index (``Can't init WAL: Kind(WouldBlock)``). Real processes."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import httpx
import pytest

from adapters.data_dir_lock import holder
from tests.integration.kafka_fixtures import wait_until

pytestmark = pytest.mark.slow
EXE = os.path.join(os.path.dirname(sys.executable), "memstream")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_a_second_server_on_the_same_data_dir_stops_with_one_line(tmp_path, processes, model_dir):
    data_dir = tmp_path / "data"
    env = {"MEMSTREAM_API_KEYS": "k1=app1", "MEMSTREAM_KAFKA_URL": "", "MEMSTREAM_EXTRACTOR": "rules",
           "MEMSTREAM_DATA_DIR": str(data_dir)}
    port = free_port()
    first = processes([EXE, "serve", "--port", str(port)], env=env, name="serve-1")
    wait_until(lambda: holder(data_dir)[0] == first.pid, 60, "the first server holding the data dir", first.log_tail)

    second = subprocess.run([EXE, "serve", "--port", str(free_port())], env={**os.environ, **env},
                            capture_output=True, text=True, timeout=120)
    assert second.returncode == 1
    lines = second.stderr.strip().splitlines()
    assert len(lines) == 1 and f"pid {first.pid} (memstream serve)" in lines[0], second.stderr
    assert "Traceback" not in second.stderr and "WouldBlock" not in second.stderr

    def answers() -> bool:
        try:
            return httpx.post(f"http://127.0.0.1:{port}/get/memory", json={"user_id": "u"},
                              headers={"Authorization": "Token k1"}, timeout=5).status_code == 200
        except httpx.HTTPError:
            return False

    deadline = time.monotonic() + 180
    while not answers():  # the first one is unaffected and serves
        assert first.alive() and time.monotonic() < deadline, first.log_tail()
        time.sleep(0.5)
