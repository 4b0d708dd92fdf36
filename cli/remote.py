"""A CLI search answered by the ``memstream serve`` that owns the data dir.

Why: a fresh process pays for the embedding model (tokenizer and ONNX session) before its
first result, about 1 s of CPU on top of Python's start; a running server has it loaded.
And while ``memstream serve`` holds the data dir, the embedded index cannot be opened by
a second process anyway. So ``serve`` announces itself in ``DATA_DIR/serve.json`` (its
URL, pid, and a token made for this run; the file is 0600 in a 0700 directory, the same
trust as reading the stores themselves), and ``memstream search`` sends the query to its
``POST /v1/search`` with that token as an operator key. Nothing here imports the model,
the index or the HTTP server: ``json`` and ``urllib`` only.

A search the endpoint cannot express exactly (``--key``, ``--kb``, ``--top-k`` above 100,
``--as-of``/``--valid-at``, ``--queries``) is not routed.
"""

from __future__ import annotations

import json
import os
import secrets
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SERVER_FILE = "serve.json"
MAX_TOP_K = 100  # api/rest.py's Search.top_k bound
TIMEOUT = 30.0


@dataclass(frozen=True)
class Server:
    url: str
    pid: int
    token: str


def new_token() -> str:
    return secrets.token_urlsafe(32)


def announce(data_dir: Path, url: str, token: str) -> Path:
    """Write ``DATA_DIR/serve.json`` (0600, replaced atomically) for this process."""
    path = Path(data_dir) / SERVER_FILE
    tmp = path.with_name(f".{SERVER_FILE}.{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump({"url": url, "pid": os.getpid(), "token": token}, f)
    os.replace(tmp, path)
    return path


def withdraw(data_dir: Path) -> None:
    """Remove the announcement if it is this process's."""
    path = Path(data_dir) / SERVER_FILE
    server = _read(path)
    if server is not None and server.pid == os.getpid():
        path.unlink(missing_ok=True)


def _read(path: Path) -> Server | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return Server(str(data["url"]), int(data["pid"]), str(data["token"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def running_server(data_dir: Path) -> Server | None:
    """The ``memstream serve`` announced in ``data_dir``, if its process is still alive."""
    server = _read(Path(data_dir) / SERVER_FILE)
    if server is None or server.pid == os.getpid() or not _alive(server.pid):
        return None
    return server


def routable(args: Any) -> bool:
    """Whether ``/v1/search`` answers this search exactly as the local one would."""
    return bool(args.query) and not args.queries and not args.key and not getattr(args, "kb", None) \
        and args.top_k <= MAX_TOP_K and not getattr(args, "as_of", None) and not getattr(args, "valid_at", None)


class Unreachable(Exception):
    """The announced server did not answer (stopped uncleanly, or not listening yet)."""


def search(server: Server, *, user_id: str, query: str, top_k: int, kinds: list[str], tags: list[str],
           since: str | None, until: str | None) -> list[dict[str, Any]]:
    """The server's results (views as ``Memstream.search`` returns them); Unreachable when it
    does not answer, ValueError with its one-line message when it refuses the request."""
    body = {"user_id": user_id, "query": query, "top_k": top_k, "kinds": kinds, "tags": tags}
    body.update({k: v for k, v in (("since", since), ("until", until)) if v})
    request = urllib.request.Request(
        server.url.rstrip("/") + "/v1/search", data=json.dumps(body).encode("utf-8"), method="POST",
        headers={"Content-Type": "application/json", "Authorization": f"Token {server.token}"})
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # a local server: never a proxy
    try:
        with opener.open(request, timeout=TIMEOUT) as response:
            answer = json.loads(response.read().decode("utf-8"))
    except urllib.error.HTTPError as e:
        try:
            message = json.loads(e.read().decode("utf-8")).get("message") or e.reason
        except ValueError:
            message = e.reason
        raise ValueError(f"memstream serve (pid {server.pid}) refused the search: {message}") from None
    except (urllib.error.URLError, OSError) as e:
        raise Unreachable(str(e)) from None
    return list(answer.get("data") or [])
