"""What a CLI command loads before its first result: read commands build no extractor, open
no server client, and `memories` loads neither numpy nor the model. (Start-up *time* is a
benchmark, bench/bench_cli_startup.py, not a test.)"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import EXAMPLES, REPO

pytestmark = pytest.mark.slow

PROBE = """
import json, sys
from cli.main import main
rc = main(sys.argv[2:])
with open(sys.argv[1], "w") as f:
    json.dump({"rc": rc, "modules": sorted(sys.modules)}, f)
"""
"""Runs the real ``cli.main.main`` in a fresh interpreter, then records what it imported."""

NEVER_FOR_READS = ("extraction.rules", "extraction.rule_extractor", "qdrant_client", "fastapi", "uvicorn",
                   "kuzu", "faust", "aiokafka", "anthropic", "psycopg", "eventsourcing.postgres")


def loaded(tmp_path: Path, data: Path, model_dir: Path, *argv: str) -> set[str]:
    out = tmp_path / "modules.json"
    env = {**os.environ, "MEMSTREAM_DATA_DIR": str(data), "MEMSTREAM_MODEL_DIR": str(model_dir),
           "MEMSTREAM_EXTRACTOR": "rules"}
    env.pop("MEMSTREAM_KAFKA_URL", None)
    proc = subprocess.run([sys.executable, "-c", PROBE, str(out), *argv], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(out.read_text())
    assert report["rc"] == 0
    return set(report["modules"])


@pytest.fixture(scope="module")
def data(tmp_path_factory, model_dir):
    data = tmp_path_factory.mktemp("startup")
    env = {**os.environ, "MEMSTREAM_DATA_DIR": str(data), "MEMSTREAM_MODEL_DIR": str(model_dir),
           "MEMSTREAM_EXTRACTOR": "rules"}
    env.pop("MEMSTREAM_KAFKA_URL", None)
    subprocess.run([sys.executable, "-m", "cli.main", "ingest", str(EXAMPLES / "conversations.jsonl")],
                   cwd=REPO, env=env, check=True, capture_output=True, timeout=240)
    return data


def test_memories_loads_no_extractor_no_model_no_numpy(data, model_dir, tmp_path):
    modules = loaded(tmp_path, data, model_dir, "memories", "--user", "alice")
    assert "memstream.bootstrap" in modules  # the probe ran the real command
    for name in (*NEVER_FOR_READS, "numpy", "onnxruntime", "fastembed", "tokenizers"):
        assert name not in modules, f"`memstream memories` imported {name}"


def test_search_loads_the_model_but_no_extractor_and_no_server_client(data, model_dir, tmp_path):
    modules = loaded(tmp_path, data, model_dir, "search", "--user", "alice", "where does she live")
    assert "onnxruntime" in modules and "qdrant_edge" in modules  # it did embed and search
    for name in (*NEVER_FOR_READS, "fastembed"):  # the default model runs without fastembed
        assert name not in modules, f"`memstream search` imported {name}"


def test_a_bad_extractor_setting_still_fails_at_start(data, model_dir):
    env = {**os.environ, "MEMSTREAM_DATA_DIR": str(data), "MEMSTREAM_MODEL_DIR": str(model_dir),
           "MEMSTREAM_EXTRACTOR": "bogus"}
    proc = subprocess.run([sys.executable, "-m", "cli.main", "memories", "--user", "alice"], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=240)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert "invalid configuration: MEMSTREAM_EXTRACTOR='bogus'" in proc.stderr


def test_the_converted_model_embeds_exactly_as_through_fastembed(model_dir):
    """The default model runs on onnxruntime directly (no fastembed import at start-up): the
    vectors must be fastembed's, or stored vectors and new queries would disagree."""
    import numpy as np
    from fastembed import TextEmbedding

    from projections.embedding.embedder import _FASTEMBED_NAME, FastEmbedEmbedder, _register_custom_model

    texts = [m["content"] for line in (EXAMPLES / "brief.jsonl").read_text(encoding="utf-8").splitlines()
             for m in json.loads(line)["messages"] if isinstance(m.get("content"), str)]
    texts += ["where does she live", "住在哪里", "", " ", "混合 mixed 文本 🙂", "长" * 9000]  # 9000 > the 8192 limit
    ours = FastEmbedEmbedder(model_dir=model_dir, threads=1)
    _register_custom_model()
    reference = TextEmbedding(_FASTEMBED_NAME, specific_model_path=str(model_dir), threads=1)
    for text in texts:  # the same computation, one text at a time: the same floats
        expected = next(iter(reference.embed([text], batch_size=1)))
        expected = expected / max(float(np.linalg.norm(expected)), 1e-12)
        assert np.abs(ours.embed([text])[0] - expected).max() < 1e-6, text[:40]
    # in a batch, padding shifts the last float digits (the batches differ: memstream sorts by length)
    expected = np.stack(list(reference.embed(texts, batch_size=len(texts))))
    expected /= np.maximum(np.linalg.norm(expected, axis=1, keepdims=True), 1e-12)
    assert (np.sum(ours.embed(texts) * expected, axis=1) > 0.99999).all()
