"""The public API with the rule extractor and the real model, for the tests that say a few
statements as one user and read back the current memories."""

from __future__ import annotations

from typing import Any, Iterator

import memstream


def open_rules_api(tmp_path_factory: Any, model_dir: Any, name: str) -> Iterator[Any]:
    api = memstream.open(data_dir=tmp_path_factory.mktemp(name), extractor="rules", model_dir=model_dir)
    yield api
    api.close()


def facts_after(ms: Any, user: str, *texts: str) -> list[str]:
    """Each text as its own input, a year apart; the user's current non-episode memories."""
    for year, text in enumerate(texts, start=2024):
        ms.add([{"role": "user", "content": text, "chat_time": f"{year}-03-10T08:00:00+00:00"}], user_id=user)
    return [m["content"] for m in ms.memories(user_id=user) if m["kind"] != "episode"]
