"""Read commands: memories, history, search."""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from application.settings import Settings
from cli.main import EXIT_REJECTED, EXIT_USAGE, CommandError, hold_data_dir
from cli.render import emit_json, print_history, print_memories

if TYPE_CHECKING:
    from memstream import Memstream  # imported by each command: a search routed to a server needs none


def existing_store(settings: Settings) -> Settings:
    """Reads never create a data dir: a mistyped --data-dir is an error, not "no memories"."""
    if settings.data_dir.exists() and not settings.data_dir.is_dir():
        raise CommandError(f"{settings.data_dir} is a file, not a data dir (check --data-dir / MEMSTREAM_DATA_DIR)")
    if not settings.event_store and not (settings.data_dir / "events.sqlite").exists():
        raise CommandError(f"no memstream data in {settings.data_dir} (check --data-dir / "
                           "MEMSTREAM_DATA_DIR, or ingest something first)")
    return settings


def memories(args: argparse.Namespace, settings: Settings) -> int:
    kb_ids = _user_or_kb(args)
    from memstream import Memstream

    with Memstream(existing_store(settings), with_vectors=False) as ms:
        known_knowledge_bases(ms, kb_ids)
        views = ms.memories(user_id=args.user, include_archived=args.all, kinds=args.kind, kb_ids=kb_ids)
    if args.json:
        emit_json({"user_id": args.user, **({"kb_ids": kb_ids} if kb_ids else {}), "memories": views})
    elif not print_labelled(views):
        whose = " and ".join(([f"user {args.user!r}"] if args.user else []) + [f"knowledge base {k!r}" for k in kb_ids])
        print(f"no memories for {whose}")
    return 0


def _user_or_kb(args: argparse.Namespace) -> list[str]:
    """The --kb ids; a usage error when neither --user nor --kb names whose memories to read."""
    kb_ids = list(dict.fromkeys(getattr(args, "kb", None) or []))
    if not args.user and not kb_ids and not getattr(args, "queries", None):
        print(f"memstream {args.command}: --user or --kb is required (see memstream --help)", file=sys.stderr)
        raise SystemExit(EXIT_USAGE)
    if any(not k.strip() for k in kb_ids):
        raise CommandError("--kb needs a knowledge base id")
    return kb_ids


def known_knowledge_bases(ms: Memstream, kb_ids: list[str]) -> None:
    """A --kb that names no knowledge base of this store is an error, not "no results"."""
    if not kb_ids:
        return
    known = ms.knowledge_bases()
    missing = [k for k in kb_ids if k not in known]
    if missing:
        listed = ", ".join(known[:10]) + (" …" if len(known) > 10 else "") if known else "none"
        raise CommandError(f"no knowledge base {missing[0]!r} in {ms.settings.data_dir} (known: {listed}); "
                           "add one with `memstream ingest --knowledge --kb ID DIR`")


def print_labelled(views: list[dict[str, Any]]) -> int:
    """Memories as ``print_memories`` shows them, each after its origin when it has one."""
    from application.knowledge import origin_label
    from cli.render import memory_line

    if not any("origin" in v for v in views):
        return print_memories(views)
    for view in views:
        print(f"[{origin_label(view['origin'])}] {memory_line(view)}")
    return len(views)


def resolve_memory_id(ms: Memstream, prefix: str, user: str | None) -> str:
    """The one Memory ID that ``prefix`` names (of ``user`` when given), or a CommandError."""
    try:
        matches = ms.find_memory_ids(prefix, user_id=user)
    except ValueError as e:
        raise CommandError(str(e)) from None
    if not matches:
        whose = f" of user {user!r}" if user else ""
        raise CommandError(f"no memory{whose} with id {prefix!r}")
    if len(matches) > 1 and prefix not in matches:
        raise CommandError(f"{prefix!r} is ambiguous: {', '.join(matches)}")
    return prefix if prefix in matches else matches[0]


def history(args: argparse.Namespace, settings: Settings) -> int:
    """Superseded as the handler by cli/lifecycle.py's history (which adds recorded and stated
    times and resolves the id through ``resolve_memory_id``); kept for callers of this module."""
    from memstream import Memstream

    with Memstream(existing_store(settings), with_vectors=False) as ms:
        memory_id = resolve_memory_id(ms, args.memory_id, args.user)
        versions = ms.history(memory_id)
    if args.json:
        emit_json({"memory_id": memory_id, "versions": versions})
    else:
        print_history(versions)
    return 0


def _moment(value: str | None, flag: str) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise CommandError(f"{flag} {value!r} is not an ISO 8601 time") from None


def search(args: argparse.Namespace, settings: Settings) -> int:
    if args.top_k < 1 or args.top_k > 1000:
        raise CommandError("--top-k must be between 1 and 1000")
    if args.query is not None and not args.query.strip():
        raise CommandError("QUERY is empty: give the words to search for")
    if bool(args.query) == bool(args.queries):
        raise CommandError("give either a QUERY or --queries FILE")
    filters: dict[str, Any] = dict(kinds=args.kind, keys=args.key, tags=args.tag,
                                   since=_moment(args.since, "--since"), until=_moment(args.until, "--until"))
    kb_ids = _user_or_kb(args)
    filters["kb_ids"] = kb_ids
    answered = _through_server(args, existing_store(settings))
    if answered is not None:
        return answered
    from memstream import Memstream

    with hold_data_dir(existing_store(settings), "search"), Memstream(settings) as ms:
        known_knowledge_bases(ms, kb_ids)
        if args.query:
            results = ms.search(args.query, user_id=args.user, top_k=args.top_k, **filters)
            if args.json:
                emit_json({"user_id": args.user, **({"kb_ids": kb_ids} if kb_ids else {}), "query": args.query,
                           "results": results})
            elif not print_labelled(results):
                print("no results")
            return 0
        return _batch(args, ms, filters)


def _through_server(args: argparse.Namespace, settings: Settings) -> int | None:
    """The search answered by the ``memstream serve`` that owns this data dir (cli/remote.py:
    no model to load here), or None to search in this process: no server announced, a search
    its endpoint cannot express, or a server that does not answer."""
    from cli import remote

    server = remote.running_server(settings.data_dir) if args.user and remote.routable(args) else None
    if server is None:
        return None
    try:
        results = remote.search(server, user_id=args.user, query=args.query, top_k=args.top_k, kinds=args.kind,
                                tags=args.tag, since=args.since, until=args.until)
    except remote.Unreachable:
        return None
    except ValueError as e:
        raise CommandError(str(e)) from None
    if args.json:
        emit_json({"user_id": args.user, "query": args.query, "results": results})
    elif not print_memories(results):
        print("no results")
    return 0


def _batch(args: argparse.Namespace, ms: Memstream, filters: dict[str, Any]) -> int:
    import json

    rejected = 0
    path: Path = args.queries
    if not path.exists():
        raise CommandError(f"{path}: no such file")
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
                query, user = item["query"], item.get("user") or item.get("user_id") or args.user
                if not isinstance(query, str) or not query.strip() or not (user or filters.get("kb_ids")):
                    raise ValueError("needs a non-empty 'query' and a user (--user or 'user') or --kb")
                if args.user and user != args.user and not args.any_user:
                    raise ValueError(f"asks for user {user!r} but --user is {args.user!r} "
                                     "(--any-user lets lines name their own user)")
            except (ValueError, KeyError, TypeError) as e:
                print(f"line {number}: {e}", file=sys.stderr)
                rejected += 1
                continue
            results = ms.search(query, user_id=user, top_k=args.top_k, **filters)
            emit_json({"id": item.get("id", number), "results": results})
    return EXIT_REJECTED if rejected else 0
