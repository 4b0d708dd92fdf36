"""Generate the JSON Schema of every topic payload from the pydantic models.

``memstream schemas`` writes them; ``memstream schemas --check`` and the test
``tests/unit/test_schemas.py`` fail when the checked-in files drift from the models.
"""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel

from domain.envelope import InputEnvelope, KnowledgeDocument
from streams.payloads import DeadLetterRecord, FineRequest, ForgetCommand, MemoryEventRecord

TOPIC_PAYLOADS: dict[str, type[BaseModel]] = {
    "messages": InputEnvelope,
    "knowledge": KnowledgeDocument,
    "fine": FineRequest,
    "memory-events": MemoryEventRecord,
    "deadletters": DeadLetterRecord,
    "control": ForgetCommand,
}

DEFAULT_DIR = Path(__file__).resolve().parent


def render(name: str, model: type[BaseModel]) -> str:
    schema = model.model_json_schema()
    schema = {"$schema": "https://json-schema.org/draft/2020-12/schema",
              "$id": f"memstream/{name}.schema.json", **schema}
    return json.dumps(schema, indent=2, ensure_ascii=False, sort_keys=True) + "\n"


def write_schemas(out: Path = DEFAULT_DIR) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, model in TOPIC_PAYLOADS.items():
        path = out / f"{name}.schema.json"
        path.write_text(render(name, model), encoding="utf-8")
        written.append(path)
    return written


def check_schemas(out: Path = DEFAULT_DIR) -> list[str]:
    """Names whose file is missing or differs from what the models generate."""
    stale = []
    for name, model in TOPIC_PAYLOADS.items():
        path = out / f"{name}.schema.json"
        if not path.exists() or path.read_text(encoding="utf-8") != render(name, model):
            stale.append(name)
    return stale
