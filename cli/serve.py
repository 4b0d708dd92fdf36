"""``memstream serve``: the HTTP API (api/) under uvicorn."""

from __future__ import annotations

import argparse

from application.settings import Settings


def serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from api.server import create_app

    if not settings.api_keys:
        from cli.main import CommandError

        raise CommandError("set MEMSTREAM_API_KEYS (KEY=APP_ID,...): without keys every request is refused")
    app = create_app(settings)
    uvicorn.run(app, host=args.host, port=args.port, log_level="info" if args.verbose else "warning",
                timeout_keep_alive=5, timeout_graceful_shutdown=10, server_header=False,
                access_log=False)  # a web-view link may carry ?key=KEY: never log request lines
    return 0
