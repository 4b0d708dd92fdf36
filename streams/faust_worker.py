"""Running a Faust app as a worker process from code (``memstream worker``)."""

from __future__ import annotations

import faust


def build_worker(app: faust.App, verbose: bool = False) -> faust.Worker:
    """A Faust worker without its terminal spinner.

    Why: below INFO, Faust's worker drives a progress spinner from a handler on the
    root logger and sets the root logger to DEBUG for it, so every ``log.debug`` in
    aiokafka, Faust and mode builds a LogRecord; in a `--role fast` process at 200
    msg/s that was ~7 % of the event loop's and the consumer thread's CPU.
    """
    worker = faust.Worker(app, loglevel="info" if verbose else "warning", quiet=True,
                          redirect_stdouts=False)
    worker.spinner = None
    return worker


def run_worker(app: faust.App, verbose: bool = False) -> int:
    """Block until SIGTERM/SIGINT; Faust commits acked offsets on a clean stop."""
    build_worker(app, verbose).execute_from_commandline()  # exits the process itself when it stops
    return 0
