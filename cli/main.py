"""The ``memstream`` command line.

Every command takes ``--data-dir`` (or MEMSTREAM_DATA_DIR), ``--json``, ``-v`` and
``-q``. Exit codes: 0 success; 1 an error (one line on stderr that says what to do);
2 finished, but some input lines were rejected (each reported with its line number
and reason); 64 a usage error (a bad flag or argument).

Start-up is kept short: this module imports no handler, no stream and no model; a
command's module is imported when that command runs (``memstream memories`` never
imports Faust, aiokafka or the embedding model).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import logging
import os
import socket
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator, NoReturn, Sequence

if TYPE_CHECKING:
    from application.settings import Settings

KINDS = ["fact", "preference", "tool", "skill", "knowledge", "episode"]
"""domain.values.MemoryKind's values, spelled out so that building the parser imports
nothing; tests/e2e/test_cli_errors.py checks the two agree."""

ROLES = ["all", "agents", "fast", "fine", "projections", "offline"]

EXIT_OK, EXIT_ERROR, EXIT_REJECTED, EXIT_USAGE = 0, 1, 2, 64


class CommandError(Exception):
    """A user-facing error: printed as one line, without a traceback."""


class Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line and exit code 64 (EX_USAGE): exit code 2
    already means "finished, some input lines were rejected"."""

    def error(self, message: str) -> NoReturn:
        sys.stderr.write(f"{self.prog}: {message} (see {self.prog} --help)\n")
        sys.exit(EXIT_USAGE)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data-dir", type=Path, help="embedded stores directory (MEMSTREAM_DATA_DIR)")
    parser.add_argument("--json", action="store_true", help="machine-readable output (one JSON document)")
    # also accepted after the command; SUPPRESS keeps the top-level value when absent here
    parser.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS,
                        help="log at INFO level; tracebacks for internal errors")
    parser.add_argument("-q", "--quiet", action="store_true", default=argparse.SUPPRESS,
                        help="no progress bars, no worker status lines")


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="memstream", description=__doc__.split("\n\n")[0],
                    epilog="Exit codes: 0 ok, 1 error, 2 some input lines rejected, 64 usage error.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log at INFO level; tracebacks for internal errors")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bars, no worker status lines")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, handler: str, help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text)
        _common(p)
        p.set_defaults(handler=handler)  # "module:function", imported when the command runs
        return p

    p = add("ingest", "cli.write:ingest", "process (no broker) or publish (broker) a JSONL file of envelopes")
    p.add_argument("file", type=Path)
    p.add_argument("--knowledge", action="store_true",
                   help="knowledge documents: a JSONL file of them, or .md/.txt files (a file or a directory, one "
                        "document per file; needs --kb)")
    p.add_argument("--kb", metavar="ID", help="with --knowledge and .md/.txt files: the knowledge base they belong to")

    p = add("memories", "cli.read:memories", "a user's current memories, or a knowledge base's chunks (--kb)")
    p.add_argument("--user", help="whose memories (required unless --kb is given)")
    p.add_argument("--kb", action="append", default=[], metavar="ID", help="a knowledge base's chunks (repeatable)")
    p.add_argument("--all", action="store_true", help="include archived memories")
    p.add_argument("--kind", action="append", default=[], choices=KINDS, help="only this kind (repeatable)")

    p = add("history", "cli.read:history", "every version of one memory, oldest first")
    p.add_argument("memory_id", help="a Memory ID (a unique prefix is enough)")
    p.add_argument("--user", help="only a memory of this user (what an app serving users should pass)")

    p = add("search", "cli.read:search", "search a user's current memories")
    p.add_argument("query", nargs="?")
    p.add_argument("--user", help="whose memories (required unless --kb is given or --queries lines carry user)")
    p.add_argument("--kb", action="append", default=[], metavar="ID",
                   help="also search this knowledge base (repeatable); results say where they came from")
    p.add_argument("--queries", type=Path, help='JSONL of {"id": ..., "query": ...[, "user": ...]}')
    p.add_argument("--any-user", action="store_true",
                   help="operators: let --queries lines name a user other than --user")
    p.add_argument("--kind", action="append", default=[], choices=KINDS, help="only this kind (repeatable)")
    p.add_argument("--key", action="append", default=[], help="only this key (repeatable)")
    p.add_argument("--tag", action="append", default=[], help="only memories with this tag (repeatable)")
    p.add_argument("--since", help="only memories updated at/after this ISO time")
    p.add_argument("--until", help="only memories updated at/before this ISO time")
    p.add_argument("--top-k", type=int, default=5)

    p = add("graph", "cli.graph:graph", "a user's graph neighbourhood: entities and slot relations")
    p.add_argument("--user", required=True)
    p.add_argument("--entity", help="centre on this entity (by name); default: the user")
    p.add_argument("--hops", type=int, default=1, help="relations this many steps out (default 1)")
    p.add_argument("--all", action="store_true", help="include superseded relations (their validity shown)")

    p = add("replay", "cli.write:replay", "rebuild projections from the event log")
    p.add_argument("--projection", choices=["timeline", "vector"], action="append", default=[],
                   help="only this projection (repeatable; default both)")
    p.add_argument("--resume", action="store_true", help="continue from the saved positions")

    p = add("reconcile", "cli.offline:reconcile",
            "the Offline stage: merge duplicates, settle conflicts, archive covered episodes")
    p.add_argument("--user", help="sweep this user (default: every user changed since the last sweep)")
    p.add_argument("--dry-run", action="store_true", help="print the plan, write nothing")

    p = add("worker", "cli.stream:worker", "run the Faust worker (needs MEMSTREAM_KAFKA_URL)")
    p.add_argument("--web-port", type=int, default=0, help="Faust web port (0 = no web server)")
    p.add_argument("--role", choices=ROLES, default="all",
                   help="agents = Fast + Fine + knowledge consumers; fast / fine = one stage each; "
                        "projections = timeline, vectors, outbox; offline = the Offline stage's sweeps")
    p.add_argument("--progress-every", type=float, default=10.0, metavar="SECONDS",
                   help="a progress line this often while busy (0 = never)")
    p = add("broker", "cli.broker:broker", "run the bundled Tansu Kafka broker in the foreground (Ctrl-C stops it)")
    p.add_argument("--port", type=int, default=9092)
    p.add_argument("--host", default="127.0.0.1", help="listen and advertise on this address")
    p.add_argument("--data", type=Path, metavar="DIR",
                   help="keep the broker's log (and, on a Tansu build with SQLite, its records) here")
    add("demo", "cli.stream:demo", "the main job end to end through a bundled broker")
    p = add("deadletters", "cli.stream:deadletters", "list, re-submit or drop dead-lettered records")
    action = p.add_mutually_exclusive_group()
    action.add_argument("--resubmit", action="store_true", help="publish them again to their topic")
    action.add_argument("--drop", action="append", default=[], metavar="ID",
                        help="drop this letter (an id or unique prefix from the listing; repeatable)")
    action.add_argument("--all-older-than", metavar="T",
                        help="drop every letter recorded before T: an ISO time, or an age such as 7d, 12h, 30m")
    p.add_argument("--again", action="store_true",
                   help="with --resubmit: also letters resubmitted before (each is published once per run)")
    p.add_argument("--limit", type=int, default=100, help="at most this many letters (default 100)")
    p.add_argument("--user", help="only letters of this user's records (keyed by user_id); an app serving "
                   "users passes it, an operator leaves it out")
    p = add("serve", "cli.serve:serve", "the HTTP API: MemOS-compatible endpoints and /v1 (keys: MEMSTREAM_API_KEYS)")
    p.add_argument("--host", default="127.0.0.1", help="listen on this address (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8000, help="listen on this port (default 8000)")
    p = add("schemas", "cli.write:schemas", "write the JSON Schemas of the topic payloads")
    p.add_argument("--out", type=Path, default=Path(__file__).resolve().parent.parent / "schemas",
                   help="directory of the schema files (default: the repository's schemas/)")
    p.add_argument("--check", action="store_true", help="fail if the files differ from the models")
    from cli import lifecycle as cli_lifecycle

    cli_lifecycle.register(sub, add)  # --as-of/--valid-at, history times, forget, reprocessing
    return parser


def settings_from(args: argparse.Namespace) -> "Settings":
    from application.settings import Settings

    overrides = {}
    if getattr(args, "data_dir", None):
        overrides["data_dir"] = args.data_dir
    return Settings(**overrides)


def broker_unreachable(url: str) -> CommandError:
    return CommandError(f"cannot reach the Kafka broker at {url}: is it running? "
                        "(`memstream broker` starts one)")


def check_broker(settings: "Settings", timeout: float = 3.0) -> None:
    """Fail fast, in one line, when no bootstrap server accepts a connection (instead of
    aiokafka's retries and traceback)."""
    for server in settings.kafka_servers:
        host, _, port = server.rpartition(":")
        try:
            with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout):
                return
        except OSError:
            continue
    raise broker_unreachable(settings.kafka_url)


@contextlib.contextmanager
def hold_data_dir(settings: "Settings", command: str) -> Iterator[None]:
    """``with hold_data_dir(settings, "search"):`` the data dir's one-writer lock, for a command
    that projects into or opens the embedded index (nothing to hold with a Qdrant server);
    raises CommandError at once when another process holds it."""
    from adapters.data_dir_lock import DataDirLocked
    from memstream.bootstrap import lock_data_dir

    lock = lock_data_dir(settings, f"memstream {command}")
    try:
        lock.__enter__()
    except DataDirLocked as e:
        raise CommandError(str(e)) from None
    try:
        yield
    finally:
        lock.__exit__(None, None, None)


def _configuration_error(error: Any) -> str:
    parts = []
    for item in error.errors():
        name = "MEMSTREAM_" + str(item["loc"][0]).upper() if item.get("loc") else "a setting"
        parts.append(f"{name}: {item['msg'].removeprefix('Value error, ')}")
    return "invalid configuration: " + "; ".join(parts)


def explain(error: BaseException, args: argparse.Namespace) -> str | None:
    """The one-line message for a failure the user can fix, or None (an internal error)."""
    module = type(error).__module__ or ""
    name = type(error).__name__
    if name == "ValidationError" and module.startswith("pydantic"):
        return _configuration_error(error)
    if name == "ConfigurationError":  # memstream.bootstrap: a setting the user must change
        return f"invalid configuration: {error}"
    if name in ("DataDirLocked", "EventStoreURLError"):
        return str(error)
    if name == "DatabaseError" and module.startswith("sqlite3"):
        where = getattr(args, "_data_dir", "the data dir")
        return f"the event store in {where} cannot be read ({error}): is it a memstream data dir?"
    if "WouldBlock" in str(error):  # the embedded index is open in a process that took no lock
        from adapters.data_dir_lock import holder

        data_dir = getattr(error, "data_dir", None) or getattr(args, "_data_dir", "the data dir")
        pid, role = holder(Path(data_dir)) if isinstance(data_dir, Path) else (None, "")
        who = f"pid {pid} ({role})" if pid else "another process"
        return (f"{data_dir} is in use by {who}; stop it, or point at a Qdrant server "
                "with MEMSTREAM_QDRANT_URL")
    if module.startswith("aiokafka") or name in ("KafkaConnectionError", "NoBrokersAvailable"):
        url = os.environ.get("MEMSTREAM_KAFKA_URL", "")
        if name == "KafkaConnectionError" or "bootstrap" in str(error).lower():
            return str(broker_unreachable(url or "MEMSTREAM_KAFKA_URL"))
        return f"the Kafka broker at {url} failed: {name}: {error} (is it running and reachable?)"
    if name == "TansuError":
        return str(error).splitlines()[0]
    if isinstance(error, (FileNotFoundError, IsADirectoryError, NotADirectoryError, PermissionError)):
        return f"{error.filename or ''}: {error.strerror or error}".lstrip(": ")
    return None


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.umask(0o077)  # the stores hold users' messages: files 0600, directories 0700
    try:
        settings = settings_from(args)
        args._data_dir = settings.data_dir
        module, _, function = args.handler.partition(":")
        handler = getattr(importlib.import_module(module), function)
        return int(handler(args, settings) or EXIT_OK)
    except CommandError as e:
        print(f"memstream {args.command}: {e}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print(f"memstream {args.command}: interrupted", file=sys.stderr)
        return 130
    except SystemExit:
        raise
    except BaseException as e:  # noqa: BLE001 - the last resort: one line, the traceback with -v
        message = explain(e, args)
        if message is None:
            text = " ".join(str(e).split())[:300]
            message = f"internal error: {type(e).__name__}: {text} (run with -v for the traceback)"
        print(f"memstream {args.command}: {message}", file=sys.stderr)
        if args.verbose:
            import traceback

            traceback.print_exc()
        return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
