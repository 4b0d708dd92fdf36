"""Running a Faust app as a worker process from code (``memstream worker``)."""

from __future__ import annotations

import faust


def run_worker(app: faust.App, verbose: bool = False) -> int:
    """Block until SIGTERM/SIGINT; Faust commits acked offsets on a clean stop."""
    worker = faust.Worker(app, loglevel="info" if verbose else "warning", quiet=True,
                          redirect_stdouts=False)
    worker.execute_from_commandline()  # exits the process itself when the worker stops
    return 0
