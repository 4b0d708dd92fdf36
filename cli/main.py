"""The ``memstream`` command line.

Every command takes ``--data-dir`` (or MEMSTREAM_DATA_DIR) and ``--json``. Exit
codes: 0 success, 1 error (message on stderr), 2 finished but some input lines
were rejected (each reported with its line number and reason).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path
from typing import Callable, Sequence

from application.settings import Settings
from domain.values import MemoryKind

KINDS = [k.value for k in MemoryKind]

EXIT_OK, EXIT_ERROR, EXIT_REJECTED = 0, 1, 2


class CommandError(Exception):
    """A user-facing error: printed without a traceback."""


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data-dir", type=Path, help="embedded stores directory (MEMSTREAM_DATA_DIR)")
    parser.add_argument("--json", action="store_true", help="machine-readable output")


def build_parser() -> argparse.ArgumentParser:
    from cli import read as cli_read, stream as cli_stream, write as cli_write

    parser = argparse.ArgumentParser(prog="memstream", description=__doc__.split("\n\n")[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="log at INFO level")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, handler: Callable, help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text)
        _common(p)
        p.set_defaults(handler=handler)
        return p

    p = add("ingest", cli_write.ingest, "process (no broker) or publish (broker) a JSONL file of envelopes")
    p.add_argument("file", type=Path)
    p.add_argument("--knowledge", action="store_true", help="the file holds knowledge documents")

    p = add("memories", cli_read.memories, "a user's current memories")
    p.add_argument("--user", required=True)
    p.add_argument("--all", action="store_true", help="include archived memories")
    p.add_argument("--kind", action="append", default=[], choices=KINDS, help="only this kind (repeatable)")

    p = add("history", cli_read.history, "every version of one memory, oldest first")
    p.add_argument("memory_id", help="a Memory ID (a unique prefix is enough)")
    p.add_argument("--user", help="only a memory of this user (what an app serving users should pass)")

    p = add("search", cli_read.search, "search a user's current memories")
    p.add_argument("query", nargs="?")
    p.add_argument("--user", help="whose memories (required unless --queries lines carry user)")
    p.add_argument("--queries", type=Path, help='JSONL of {"id": ..., "query": ...[, "user": ...]}')
    p.add_argument("--any-user", action="store_true",
                   help="operators: let --queries lines name a user other than --user")
    p.add_argument("--kind", action="append", default=[], choices=KINDS, help="only this kind (repeatable)")
    p.add_argument("--key", action="append", default=[])
    p.add_argument("--tag", action="append", default=[])
    p.add_argument("--since", help="only memories updated at/after this ISO time")
    p.add_argument("--until", help="only memories updated at/before this ISO time")
    p.add_argument("--top-k", type=int, default=5)

    p = add("replay", cli_write.replay, "rebuild projections from the event log")
    p.add_argument("--projection", choices=["timeline", "vector"], action="append", default=[])
    p.add_argument("--resume", action="store_true", help="continue from the saved positions")

    from cli import offline as cli_offline

    p = add("reconcile", cli_offline.reconcile,
            "the Offline stage: merge duplicates, settle conflicts, archive covered episodes")
    p.add_argument("--user", help="sweep this user (default: every user changed since the last sweep)")
    p.add_argument("--dry-run", action="store_true", help="print the plan, write nothing")

    p = add("worker", cli_stream.worker, "run the Faust worker (needs MEMSTREAM_KAFKA_URL)")
    p.add_argument("--web-port", type=int, default=0, help="Faust web port (0 = no web server)")
    p.add_argument("--role", choices=["all", "agents", "fast", "fine", "projections", "offline"], default="all",
                   help="agents = Fast + Fine + knowledge consumers; fast / fine = one stage each; "
                        "projections = timeline, vectors, outbox; offline = the Offline stage's sweeps")
    add("demo", cli_stream.demo, "the main job end to end through a bundled broker")
    p = add("deadletters", cli_stream.deadletters, "list (or re-submit) dead-lettered records")
    p.add_argument("--resubmit", action="store_true", help="publish them again to their topic")
    p.add_argument("--again", action="store_true",
                   help="with --resubmit: also letters resubmitted before (each is published once per run)")
    p.add_argument("--limit", type=int, default=100)
    p = add("schemas", cli_write.schemas, "write the JSON Schemas of the topic payloads")
    p.add_argument("--out", type=Path, default=Path(__file__).resolve().parent.parent / "schemas")
    p.add_argument("--check", action="store_true", help="fail if the files differ from the models")
    return parser


def settings_from(args: argparse.Namespace) -> Settings:
    overrides = {}
    if getattr(args, "data_dir", None):
        overrides["data_dir"] = args.data_dir
    return Settings(**overrides)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.umask(0o077)  # the stores hold users' messages: files 0600, directories 0700
    try:
        return int(args.handler(args, settings_from(args)) or EXIT_OK)
    except CommandError as e:
        print(f"memstream {args.command}: {e}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
