"""``memstream serve``: the HTTP API (api/) under uvicorn."""

from __future__ import annotations

import argparse

from application.settings import Settings


def serve(args: argparse.Namespace, settings: Settings) -> int:
    """The server owns the embedded read side (it projects into the data dir's index), so it
    holds the data dir's one-writer lock like ``worker --role all|projections``: a second
    ``serve`` on the same data dir stops at once with one line naming the holder, instead of
    failing inside the index. With a Qdrant server (MEMSTREAM_QDRANT_URL) there is no lock and
    several processes serve (docs/http-api.md)."""
    import uvicorn

    from api.server import create_app
    from cli.main import CommandError, hold_data_dir

    if not settings.api_keys:
        raise CommandError("set MEMSTREAM_API_KEYS (KEY=APP_ID,...): without keys every request is refused")
    with hold_data_dir(settings, "serve"):
        app = create_app(settings)
        uvicorn.run(app, host=args.host, port=args.port, log_level="info" if args.verbose else "warning",
                    timeout_keep_alive=5, timeout_graceful_shutdown=10, server_header=False,
                    access_log=False)  # a web-view link may carry ?key=KEY: never log request lines
    return 0
