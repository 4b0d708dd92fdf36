"""A full disk under the data dir: one clear error, nothing half-done, no SIGBUS.

The data dir lives on a real small tmpfs mounted for the test (root only; skipped
with the reason where mounting is impossible). A ballast file takes the volume's
space below ``MEMSTREAM_MIN_FREE_MB``, as another program filling the disk would.
Before the guard (adapters/disk_space.py) an in-process ingest on a 40 MB volume died
with SIGBUS (rc 135) in the vector index's mapped pages.
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from adapters.disk_space import PENDING_MARK, free_bytes
from adapters.event_store import open_application
from application.settings import Settings
from streams.topics import ensure_topics, topic_specs_for
from tests.integration.kafka_fixtures import produce, run, wait_until
from tests.integration.test_streaming import envelopes
from tests.support.store_probe import StoreProbe

MEMSTREAM = os.path.join(os.path.dirname(sys.executable), "memstream")
FLOOR_MB = 24
_n = itertools.count(1)


@pytest.fixture
def small_volume(tmp_path: Path):
    """A 256 MB tmpfs (a fresh vector index alone takes 47 MB), unmounted afterwards."""
    mount_point = tmp_path / "vol"
    mount_point.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256m,mode=0700", "tmpfs", str(mount_point)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root or CAP_SYS_ADMIN): {done.stderr.strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def fill(volume: Path, leave_mb: float) -> Path:
    """A ballast file that leaves ``leave_mb`` free on the volume."""
    ballast = volume / "ballast"
    size = free_bytes(volume) - int(leave_mb * 1024 * 1024)
    fd = os.open(ballast, os.O_CREAT | os.O_WRONLY, 0o600)
    try:
        os.posix_fallocate(fd, 0, max(size, 1))
    finally:
        os.close(fd)
    return ballast


def write_lines(path: Path, records: list[tuple[bytes, bytes]]) -> Path:
    path.write_bytes(b"".join(value + b"\n" for _, value in records))
    return path


def ingest(data: Path, path: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "MEMSTREAM_DATA_DIR": str(data), "MEMSTREAM_MIN_FREE_MB": str(FLOOR_MB)}
    env.pop("MEMSTREAM_KAFKA_URL", None)
    return subprocess.run([MEMSTREAM, "ingest", "-q", "--json", str(path)], env=env, capture_output=True,
                          text=True, timeout=600)


def stored(data: Path) -> tuple[dict, int, list]:
    app = open_application(Settings(data_dir=data).event_store_url)
    try:
        probe = StoreProbe.__new__(StoreProbe)
        probe.store = app
        return probe.recorded_event_ids(), probe.refined_count(), app.unrefined_inputs()
    finally:
        app.close()


def test_ingest_on_a_full_disk_stops_with_one_line_and_leaves_nothing_half_done(small_volume, tmp_path):
    data = small_volume / "data"
    records = envelopes(30, 5)
    first = write_lines(tmp_path / "first.jsonl", records[:10])
    rest = write_lines(tmp_path / "rest.jsonl", records[10:])
    done = ingest(data, first)
    assert done.returncode == 0, done.stderr
    ballast = fill(small_volume, FLOOR_MB - 4)

    full = ingest(data, rest)
    assert full.returncode == 1, (full.returncode, full.stderr[-2000:])  # not 135 (SIGBUS)
    lines = [line for line in full.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "disk full" in lines[0] and "MEMSTREAM_MIN_FREE_MB" in lines[0], full.stderr
    recorded, refined, unrefined = stored(data)
    assert len(recorded) == 10 and refined == 10 and unrefined == [], "nothing of the second file half-done"
    assert (data / PENDING_MARK).exists()

    ballast.unlink()  # space returns
    again = ingest(data, rest)
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["accepted"] == 20
    recorded, refined, unrefined = stored(data)
    assert len(recorded) == 30 and set(recorded.values()) == {1} and refined == 30 and unrefined == []
    assert not (data / PENDING_MARK).exists()


@pytest.mark.kafka
@pytest.mark.slow
def test_a_worker_waits_out_a_full_disk_and_refines_everything_once_space_returns(
        small_volume, tansu_broker, processes):
    data = small_volume / "data"
    settings = Settings(data_dir=data, kafka_url=tansu_broker, topic_prefix=f"df{next(_n)}x{os.getpid()}",
                        partitions=2, consumer_group=f"df{os.getpid()}-{next(_n)}", session_timeout=2.0)
    run(ensure_topics(tansu_broker, topic_specs_for(settings)))
    env = {"MEMSTREAM_KAFKA_URL": tansu_broker, "MEMSTREAM_DATA_DIR": str(data),
           "MEMSTREAM_TOPIC_PREFIX": settings.topic_prefix, "MEMSTREAM_CONSUMER_GROUP": settings.consumer_group,
           "MEMSTREAM_SESSION_TIMEOUT": "2", "MEMSTREAM_PARTITIONS": "2", "MEMSTREAM_MIN_FREE_MB": str(FLOOR_MB)}
    records = envelopes(30, 5)
    w = processes([MEMSTREAM, "worker", "--role", "agents"], env=env, name="w")
    probe = StoreProbe(settings.event_store_url)
    try:
        produce(tansu_broker, settings.topic("messages"), records[:10])
        wait_until(lambda: probe.refined_count() >= 10, 90, "10 refined", w.log_tail)
        ballast = fill(small_volume, FLOOR_MB - 4)
        produce(tansu_broker, settings.topic("messages"), records[10:])
        wait_until(lambda: "waiting for space" in w.log_tail(400), 60, "the worker noticing the full disk",
                   w.log_tail)
        assert len(probe.recorded_event_ids()) + 0 <= 30 and w.alive()
        ballast.unlink()
        wait_until(lambda: probe.refined_count() >= 30, 120, "30 refined after space returned", w.log_tail)
        recorded = probe.recorded_event_ids()
        assert len(recorded) == 30 and set(recorded.values()) == {1}
        assert probe.refined_count() == 30
        assert "dead letter" not in w.log_tail(2000), "a full disk dead-letters nothing"
        assert w.alive(), "no restart needed"
    finally:
        probe.close()
