"""Shared fixtures: PostgreSQL schemas per test, example paths, envelopes."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "examples"
PG_DSN = os.environ.get("MEMSTREAM_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")


def _pg_available() -> bool:
    try:
        import psycopg

        with psycopg.connect(PG_DSN.replace("postgresql://", "postgresql://", 1), connect_timeout=3):
            return True
    except Exception:  # noqa: BLE001
        return False


@pytest.fixture
def pg_url():
    """An event-store URL on a fresh PostgreSQL schema, dropped afterwards."""
    import psycopg

    if not _pg_available():
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is not reachable at {PG_DSN}")
        pytest.skip(f"PostgreSQL is not reachable at {PG_DSN}")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_DSN, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    yield f"{PG_DSN}?schema={schema}"
    with psycopg.connect(PG_DSN, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture
def sqlite_url(tmp_path):
    return f"sqlite:///{tmp_path / 'events.sqlite'}"


@pytest.fixture(scope="session")
def model_dir():
    """The converted offline embedding model (converted once; reused across runs)."""
    from tools.convert_use import convert
    from projections.embedding.embedder import default_model_dir

    path = default_model_dir()
    convert(path, log=lambda line: None)
    return path


from tests.integration.kafka_fixtures import make_topic, processes, tansu, tansu_broker  # noqa: E402,F401
