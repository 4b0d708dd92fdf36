"""Schemathesis against the server's /openapi.json: generated requests (valid and invalid)
for every operation, with an app key and with the operator key; no answer is a 5xx."""

from __future__ import annotations

import time

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings as hsettings
from schemathesis.generation.modes import GenerationMode

from application.settings import Settings
from tests.integration.test_http_api import live_server

KEYS = "key-a=appA,key-op=*"


@pytest.fixture(scope="module")
def base_url(tmp_path_factory, model_dir):
    settings = Settings(data_dir=tmp_path_factory.mktemp("fuzz") / "data", model_dir=model_dir,
                        extractor="rules", api_keys=KEYS, kafka_url="")
    with live_server(settings) as (base, _):
        yield base


@pytest.fixture(scope="module")
def api_schema(base_url):
    return schemathesis.openapi.from_url(f"{base_url}/openapi.json")


def _operations(api_schema):
    return [result.ok() for result in api_schema.get_all_operations()]


def _check(response, key) -> None:
    assert response.status_code < 500, (key, response.status_code, response.text[:500])
    ctype = response.headers.get("content-type") or [""]
    if (ctype[0] if isinstance(ctype, list) else ctype).startswith("application/json"):
        body = response.json()
        assert set(body) == {"code", "message", "data"}, body
        assert (body["code"] == 0) == (response.status_code == 200), body


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_no_server_errors(api_schema, mode):
    """max_examples per operation and mode; each case is sent with an app key and the operator key.
    (Schemathesis's own pytest plugin is not used: it does not load under this pytest.)"""
    operations = _operations(api_schema)
    assert len(operations) >= 11
    for operation in operations:
        started = time.monotonic()
        @given(case=operation.as_strategy(generation_mode=mode))
        @hsettings(max_examples=20, deadline=None, database=None, suppress_health_check=list(HealthCheck))
        def run(case):
            for key in ("key-a", "key-op"):
                _check(case.call(headers={"Authorization": f"Token {key}"}, timeout=60), key)

        run()
        print(f"{mode} {operation.label}: {time.monotonic() - started:.1f} s")
