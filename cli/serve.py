"""``memstream serve``: the HTTP API (api/) under uvicorn."""

from __future__ import annotations

import argparse
from typing import Any

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
    from cli import remote

    class AnnouncingServer(uvicorn.Server):
        """Once listening, writes DATA_DIR/serve.json, so that `memstream search` on this data
        dir asks this process (cli/remote.py) instead of loading the model itself."""

        async def startup(self, sockets: Any = None) -> None:
            await super().startup(sockets)
            if self.started and self.servers and self.servers[0].sockets:
                host, port = self.servers[0].sockets[0].getsockname()[:2]
                host = {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(host, host)
                remote.announce(settings.data_dir, f"http://{f'[{host}]' if ':' in host else host}:{port}", token)

        async def shutdown(self, sockets: Any = None) -> None:
            remote.withdraw(settings.data_dir)  # here: uvicorn re-raises SIGTERM/SIGINT once it returns
            await super().shutdown(sockets)

    with hold_data_dir(settings, "serve"):
        token = remote.new_token()  # an operator key for this run only, readable by the data dir's owner
        app = create_app(settings.model_copy(update={"api_keys": f"{settings.api_keys},{token}=*"}))
        config = uvicorn.Config(app, host=args.host, port=args.port, log_level="info" if args.verbose else "warning",
                                timeout_keep_alive=5, timeout_graceful_shutdown=10, server_header=False,
                                access_log=False)  # a web-view link may carry ?key=KEY: never log request lines
        try:
            AnnouncingServer(config).run()
        finally:
            remote.withdraw(settings.data_dir)
    return 0
