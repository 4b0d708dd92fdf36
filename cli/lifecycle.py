"""Lifecycle commands: time travel (``--as-of`` / ``--valid-at`` on memories and search,
recorded and stated times in history), forget, and reprocessing into parallel sets.

``register`` is called once from ``cli/main.py``'s ``build_parser``: it adds the time
options to the existing read commands (their handlers still serve live reads) and
registers the lifecycle commands.
"""

from __future__ import annotations

import argparse
import importlib
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:
    from application.settings import Settings

# Building the parser imports nothing heavy (cli/main.py): handlers import what they use.

_TIME_HELP = {
    "as_of": "as recorded at this ISO time (record time: versions stored at or before it)",
    "valid_at": "as the user had stated it by this ISO time (statement time: sources' chat_time); "
                "a bare date means the end of that day",
}


def register(sub: argparse._SubParsersAction, add: Callable[..., argparse.ArgumentParser]) -> None:
    choices = sub.choices
    for name in ("memories", "search"):
        parser = choices.get(name)
        if parser is None:
            continue
        parser.add_argument("--as-of", help=_TIME_HELP["as_of"])
        parser.add_argument("--valid-at", help=_TIME_HELP["valid_at"])
        parser.set_defaults(live_handler=parser.get_default("handler"), handler=f"cli.lifecycle:{name}")
    if "history" in choices:
        choices["history"].set_defaults(handler="cli.lifecycle:history")
    _register_lifecycle_commands(add)


# ---------------------------------------------------------------------- time travel


def _live_or_past(args: argparse.Namespace, settings: Settings, past: Callable[..., int]) -> int:
    if not (args.as_of or args.valid_at):
        module, _, function = str(args.live_handler).partition(":")
        return getattr(importlib.import_module(module), function)(args, settings)
    _check_moments(args)
    return past(args, settings)


def memories(args: argparse.Namespace, settings: Settings) -> int:
    return _live_or_past(args, settings, memories_at)


def search(args: argparse.Namespace, settings: Settings) -> int:
    return _live_or_past(args, settings, search_at)


def _check_moments(args: argparse.Namespace) -> None:
    from application.time_travel import parse_moment
    from cli.main import CommandError

    for flag, value in (("--as-of", args.as_of), ("--valid-at", args.valid_at)):
        if value:
            try:
                parse_moment(value)
            except ValueError:
                raise CommandError(f"{flag} {value!r} is not an ISO 8601 time") from None


def _open(settings: Settings, with_vectors: bool = False) -> Any:
    from cli.read import existing_store
    from memstream import Memstream

    return Memstream(existing_store(settings), with_vectors=with_vectors)


def _when(args: argparse.Namespace) -> dict[str, Any]:
    return {k: v for k, v in (("as_of", args.as_of), ("valid_at", args.valid_at)) if v}


def memories_at(args: argparse.Namespace, settings: Settings) -> int:
    from cli.read import _user_or_kb, print_labelled
    from cli.render import emit_json

    kb_ids = _user_or_kb(args)
    with _open(settings) as ms:
        views = ms.memories(user_id=args.user, include_archived=args.all, kinds=args.kind,
                            as_of=args.as_of, valid_at=args.valid_at, kb_ids=kb_ids)
    if args.json:
        emit_json({"user_id": args.user, **({"kb_ids": kb_ids} if kb_ids else {}), **_when(args), "memories": views})
    elif not print_labelled(views):
        whose = " and ".join(([f"user {args.user!r}"] if args.user else []) + [f"knowledge base {k!r}" for k in kb_ids])
        print(f"no memories for {whose} at {_describe(args)}")
    return 0


def search_at(args: argparse.Namespace, settings: Settings) -> int:
    from cli.main import CommandError
    from cli.read import _moment, _user_or_kb, print_labelled
    from cli.render import emit_json

    if args.queries or not args.query:
        raise CommandError("--as-of / --valid-at take one QUERY (not --queries)")
    kb_ids = _user_or_kb(args)
    if args.top_k < 1 or args.top_k > 1000:
        raise CommandError("--top-k must be between 1 and 1000")
    with _open(settings) as ms:
        results = ms.search(args.query, user_id=args.user, top_k=args.top_k, kinds=args.kind, keys=args.key,
                            tags=args.tag, since=_moment(args.since, "--since"),
                            until=_moment(args.until, "--until"), as_of=args.as_of, valid_at=args.valid_at,
                            kb_ids=kb_ids)
    if args.json:
        emit_json({"user_id": args.user, **({"kb_ids": kb_ids} if kb_ids else {}), "query": args.query,
                   **_when(args), "results": results})
    elif not print_labelled(results):
        print("no results")
    return 0


def _describe(args: argparse.Namespace) -> str:
    return " and ".join(f"{k.replace('_', '-')} {v}" for k, v in _when(args).items())


def history(args: argparse.Namespace, settings: Settings) -> int:
    """``history`` with each version's recorded time and stated time."""
    from cli.read import resolve_memory_id
    from cli.render import emit_json, sources_text

    with _open(settings) as ms:
        memory_id = resolve_memory_id(ms, args.memory_id, args.user)
        versions = ms.history_times(memory_id)
    if args.json:
        emit_json({"memory_id": memory_id, "versions": versions})
        return 0
    first = versions[0]
    print(f"memory {first['memory_id']}  user {first['user_id']}  kind {first['kind']}")
    for v in versions:
        print(f"  V{v['version']}  recorded {v['recorded_at']}  stated {v['stated_at']}  stage={v['stage']}  "
              f"reason={v['reason']}  status={v['status']}  by={v['decided_by']}")
        print(f"      {v['content']}")
        print(f"      cause: {sources_text(v)}")
        if v.get("superseded_by"):
            print(f"      superseded by: {', '.join(v['superseded_by'])}")
    return 0


__all__ = ["register"]


def _register_lifecycle_commands(add: Callable[..., argparse.ArgumentParser]) -> None:
    """forget and the reprocessing commands (below)."""
    p = add("forget", "cli.lifecycle:forget",
            "forget a user (or one memory): content unrecoverable everywhere, audit trail kept")
    p.add_argument("--user", required=True)
    p.add_argument("--memory", help="only this memory, all its versions (a unique prefix is enough)")
    p.add_argument("--reason", default="erasure request", help="kept in the audit trail (no content)")
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation")

    p = add("reprocess", "cli.lifecycle:reprocess",
            "derive memories again from the recorded raw input into a parallel memory set (resumable)")
    p.add_argument("--into", required=True, metavar="NAME", help="the memory set to write (created if new)")
    p.add_argument("--extractor", choices=["rules", "anthropic"], help="default: MEMSTREAM_EXTRACTOR")
    p = add("compare", "cli.lifecycle:compare", "per-user differences of a memory set from the live one")
    p.add_argument("name")
    p = add("switch", "cli.lifecycle:switch", 'make a memory set the live one ("live": the data dir\'s own)')
    p.add_argument("name")
    p = add("drop", "cli.lifecycle:drop", "delete a memory set that is not live")
    p.add_argument("name")


def _set_error(call: Callable[[], Any]) -> Any:
    from application.reprocessing import SetError
    from cli.main import CommandError

    try:
        return call()
    except SetError as e:
        raise CommandError(str(e)) from None


def reprocess(args: argparse.Namespace, settings: Settings) -> int:
    from tqdm import tqdm

    from application.reprocessing import check_name
    from cli.render import emit_json

    _set_error(lambda: check_name(args.into))
    quiet = getattr(args, "quiet", False) or args.json
    bars: list[Any] = []

    def total(count: int) -> None:  # called once the stores are open and the inputs counted
        bars.append(tqdm(total=count, unit="input", desc=f"reprocess into {args.into}", disable=quiet,
                         dynamic_ncols=True))

    try:
        with _open(settings, with_vectors=True) as ms:
            report = _set_error(lambda: ms.reprocess(args.into, extractor_name=args.extractor,
                                                     progress=lambda n: bars[0].update(n), total=total))
    finally:
        for bar in bars:
            bar.close()
    if args.json:
        emit_json(report)
    else:
        rate = report["inputs"] / report["seconds"] if report["seconds"] else 0.0
        print(f"memory set {args.into}: {report['inputs']} inputs ({report['already_done']} already done, "
              f"{report['skipped_forgotten']} forgotten skipped), {report['created']} created, "
              f"{report['revised']} revised, {report['archived']} archived in {report['seconds']} s "
              f"({rate:.0f} inputs/s); `memstream compare {args.into}` shows the differences")
    return 0


def compare(args: argparse.Namespace, settings: Settings) -> int:
    from cli.render import emit_json

    with _open(settings) as ms:
        diffs = _set_error(lambda: ms.compare(args.name))
    if args.json:
        emit_json({"name": args.name, "users": diffs})
        return 0
    if not diffs:
        print(f"memory set {args.name}: no differences from the live set")
        return 0
    for diff in diffs:
        print(f"user {diff['user_id']}: {len(diff['created'])} created, {len(diff['revised'])} revised, "
              f"{len(diff['missing'])} missing")
        for label, sign in (("created", "+"), ("revised", "~"), ("missing", "-")):
            for m in diff[label]:
                print(f"  {sign} {m['kind']:<10} {m['key']:<22} {m['content']}")
                if label == "revised":
                    print(f"    live: {' | '.join(m['live'])}")
    return 0


def switch(args: argparse.Namespace, settings: Settings) -> int:
    with _open(settings) as ms:
        _set_error(lambda: ms.switch(args.name))
    print(f"live memory set: {args.name}")
    return 0


def drop(args: argparse.Namespace, settings: Settings) -> int:
    with _open(settings) as ms:
        _set_error(lambda: ms.drop(args.name))
    print(f"dropped memory set {args.name}")
    return 0


def forget(args: argparse.Namespace, settings: Settings) -> int:
    import sys

    from cli.main import CommandError
    from cli.read import resolve_memory_id
    from cli.render import emit_json

    with _open(settings, with_vectors=True) as ms:
        memory_id = resolve_memory_id(ms, args.memory, args.user) if args.memory else None
        what = f"memory {memory_id} of user {args.user!r}" if memory_id else f"user {args.user!r}"
        if not args.yes:
            if not sys.stdin.isatty():
                raise CommandError(f"forgetting {what} cannot be undone: pass --yes")
            answer = input(f"Forget {what}? Its content cannot be recovered afterwards. [y/N] ")
            if answer.strip().lower() not in ("y", "yes"):
                print("nothing forgotten")
                return 0
        report = ms.forget(user_id=args.user, memory_id=memory_id, reason=args.reason)
    if args.json:
        emit_json(report)
    else:
        print(f"forgot {what}: {report['memories']} memories ({report['versions']} versions), "
              f"key deleted: {'yes' if report['key_deleted'] else 'no'}, rows rewritten: {report['rewritten_events']}, "
              f"index points: {report['index_points']}, lexical rows: {report['lexical_rows']}, "
              f"cached vectors: {report['cache_entries']} ({report['seconds']} s); audit record {report['record_id']}")
    return 0
