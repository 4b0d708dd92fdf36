"""``memstream graph --user U [--entity NAME] [--hops N] [--all] [--json]``: a user's graph neighbourhood.

The graph projection is brought up to date from the event log first (it follows the
timeline; no embedding model is loaded), so the command works whatever
``MEMSTREAM_RETRIEVAL`` is set to.
"""

from __future__ import annotations

import argparse
from typing import Any

from application.settings import Settings
from cli.main import CommandError, hold_data_dir
from cli.read import existing_store
from cli.render import emit_json


def graph(args: argparse.Namespace, settings: Settings) -> int:
    from memstream.bootstrap import build_runtime
    from projections.catch_up import catch_up
    from projections.graph import open_graph_store
    from projections.graph.projector import GraphProjector

    existing_store(settings)
    with hold_data_dir(settings, "graph"):
        runtime = build_runtime(settings, with_vectors=False)
        try:
            runtime.catch_up()
            store = open_graph_store(settings.data_dir)
            try:
                catch_up(runtime.store, GraphProjector(runtime.timeline, store))
                hood = store.neighbourhood(args.user, args.entity, hops=args.hops, include_superseded=args.all)
                contents = {mid: v.get("content") for mid, v in runtime.timeline.current(
                    [e["memory_id"] for e in hood["edges"]] + hood["mentioned_by"][:10]).items()}
            finally:
                store.close()
        finally:
            runtime.close()
    if args.entity and not hood["centre"]:
        raise CommandError(f"user {args.user!r} has no entity named {args.entity!r}")
    if args.json:
        emit_json({**hood, "contents": contents})
        return 0
    print(render(hood, contents))
    return 0


def render(hood: dict[str, Any], contents: dict[str, str]) -> str:
    names = {n["id"]: n["name"] for n in hood["nodes"]}
    types = {n["id"]: n["type"] for n in hood["nodes"]}
    centre = ", ".join(f"{names.get(c, c)} ({types.get(c, '?')})" for c in hood["centre"])
    lines = [f"{centre}: {len(hood['nodes'])} nodes, {len(hood['edges'])} relations"]
    for e in hood["edges"]:
        valid = f"since {e['stated'][:10]}" + (f", until {e['superseded'][:10]}" if e["superseded"] else "")
        lines.append(f"  {names.get(e['source'], e['source'])} -[{e['relation']}]-> "
                     f"{names.get(e['target'], e['target'])} ({types.get(e['target'], '?')})  {valid}  "
                     f"memory {e['memory_id'][:8]} v{e['version']}")
    if hood["mentioned_by"]:
        lines.append(f"mentioned by {len(hood['mentioned_by'])} memories, newest first:")
        for mid in hood["mentioned_by"][:10]:
            lines.append(f"  {mid[:8]}  {(contents.get(mid) or '')[:100]}")
    return "\n".join(lines)
