"""Builds the Anthropic extractor from settings and the environment.

Kept apart from the extractor so that the composition root
(``memstream.bootstrap.build_extractor``) imports the SDK only when the Anthropic
extractor is actually chosen, and so that a missing key fails at start-up with a
message naming the variable, rather than as a 401 on the first message.
"""

from __future__ import annotations

import os

from application.settings import Settings
from domain.extraction import Extractor
from extraction.anthropic_extractor import AnthropicExtractor

API_KEY_VARIABLE = "ANTHROPIC_API_KEY"


def build_anthropic_extractor(settings: Settings, fallback: Extractor) -> AnthropicExtractor:
    """An ``AnthropicExtractor`` on ``settings.anthropic_model`` with the per-call
    ``settings.anthropic_timeout``; ``fallback`` (the offline rules) decides whenever
    the API cannot, and its governance policy also vetoes the model's conflicting
    revisions that the policy would reject."""
    api_key = os.environ.get(API_KEY_VARIABLE, "").strip()
    if not api_key:
        raise ValueError(
            f"{API_KEY_VARIABLE} is not set: the Anthropic extractor needs an API key "
            "(or set MEMSTREAM_EXTRACTOR=rules to use the offline extractor)"
        )
    return AnthropicExtractor(
        fallback=fallback,
        api_key=api_key,
        model=settings.anthropic_model,
        timeout=settings.anthropic_timeout,
        policy=getattr(fallback, "policy", None),
    )
