"""One forced-tool Messages API call with retries, shared by the extractor and the reviewer.

Both Claude clients make the same kind of call (a system prompt, one user turn, one tool the
model must use) and must survive the same failures: 429 / 529 / 5xx answers and dropped
connections are retried with the API's ``retry-after`` hint or exponential backoff, capped so a
worker never stalls for minutes; any other error is raised for the caller to classify.
"""

from __future__ import annotations

import logging
from typing import Any, Callable

import anthropic

log = logging.getLogger("memstream.anthropic")


RETRYABLE_STATUS = frozenset({408, 409, 429, 529}) | frozenset(range(500, 600))


def retryable(error: anthropic.APIStatusError) -> bool:
    """429 / 529 / 5xx, unless the API says otherwise in ``x-should-retry``."""
    hint = error.response.headers.get("x-should-retry")
    return hint == "true" if hint in ("true", "false") else error.status_code in RETRYABLE_STATUS


class RetryingToolCaller:
    """Mixin: the owner sets ``client``, ``model``, ``max_tokens``, ``timeout``, ``max_attempts``,
    ``base_delay``, ``max_delay``, ``sleep``, ``calls`` and ``retries``."""

    client: Any
    model: str
    max_tokens: int
    timeout: float
    max_attempts: int
    base_delay: float
    max_delay: float
    sleep: Callable[[float], None]
    calls: int
    retries: int

    def _call_tool(self, system: str, content: Any, tool: dict[str, Any], what: str) -> Any:
        for attempt in range(1, self.max_attempts + 1):
            self.calls += 1
            try:
                return self.client.messages.create(
                    model=self.model, max_tokens=self.max_tokens, system=system,
                    messages=[{"role": "user", "content": content}], timeout=self.timeout,
                    tools=[tool], tool_choice={"type": "tool", "name": tool["name"]},
                )
            except anthropic.APIStatusError as error:
                if not retryable(error) or attempt == self.max_attempts:
                    raise
                delay = self._delay(attempt, error.response.headers)
            except anthropic.APIConnectionError:  # includes APITimeoutError
                if attempt == self.max_attempts:
                    raise
                delay = self._delay(attempt, None)
            self.retries += 1
            log.info("%s failed (attempt %d/%d); retrying in %.2fs", what, attempt, self.max_attempts, delay)
            self.sleep(delay)
        raise AssertionError("unreachable")

    def _delay(self, attempt: int, headers: Any) -> float:
        """``retry-after-ms`` / ``retry-after`` (seconds) when the API sends one, else
        exponential backoff; both capped at ``max_delay``."""
        for header, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
            raw = headers.get(header) if headers is not None else None
            try:
                value = float(raw) * scale
            except (TypeError, ValueError):
                continue  # absent, or an HTTP date: use the backoff instead
            if value >= 0:
                return min(value, self.max_delay)
        return min(self.base_delay * 2 ** (attempt - 1), self.max_delay)
