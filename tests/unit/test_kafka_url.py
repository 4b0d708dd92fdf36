"""MEMSTREAM_KAFKA_URL: host:port, kafka://host:port and comma-separated lists, normalised once."""

import faust
import pytest
from pydantic import ValidationError

from application.settings import Settings, normalise_kafka_url
from streams.app import faust_settings
from streams.topics import bootstrap_servers


@pytest.mark.parametrize("given, expected", [
    ("", ""),
    ("127.0.0.1:9092", "127.0.0.1:9092"),
    ("kafka://127.0.0.1:9092", "127.0.0.1:9092"),
    ("KAFKA://broker:19092/", "broker:19092"),
    ("a:1, kafka://b:2 ,c", "a:1,b:2,c:9092"),
    ("tcp://[::1]:9092", "[::1]:9092"),
])
def test_forms_are_normalised(given, expected):
    assert normalise_kafka_url(given) == expected
    assert Settings(kafka_url=given).kafka_url == expected


@pytest.mark.parametrize("bad", ["kafka://", "host:notaport", "host:0", "a/b:1"])
def test_malformed_entries_are_refused(bad):
    with pytest.raises(ValidationError, match="is not host:port"):
        Settings(kafka_url=bad)


def test_the_environment_form_faust_users_write(monkeypatch):
    monkeypatch.setenv("MEMSTREAM_KAFKA_URL", "kafka://h1:9092,kafka://h2:9093")
    settings = Settings()
    assert settings.kafka_url == "h1:9092,h2:9093"
    assert settings.kafka_servers == ["h1:9092", "h2:9093"]


def test_faust_gets_one_kafka_url_per_server_never_a_doubled_prefix():
    settings = Settings(kafka_url="kafka://h1:9092,h2:9093")
    broker = faust_settings(settings)["broker"]
    assert broker == ["kafka://h1:9092", "kafka://h2:9093"]
    app = faust.App("memstream-test-url", **{**faust_settings(settings), "store": "memory://"})
    assert [str(u) for u in app.conf.broker] == ["kafka://h1:9092", "kafka://h2:9093"]


def test_aiokafka_clients_get_a_list():
    assert bootstrap_servers("kafka://a:1, b") == ["a:1", "b:9092"]
    assert bootstrap_servers(["a:1", "kafka://b:2"]) == ["a:1", "b:2"]
    assert Settings().kafka_servers == []
