"""Write commands: ingest, replay, schemas."""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from typing import Any

from tqdm import tqdm

from memstream.bootstrap import build_runtime
from application.jsonl import BadLine, count_lines, read_jsonl
from application.settings import Settings
from domain.envelope import InputEnvelope, KnowledgeDocument
from cli.main import EXIT_REJECTED, CommandError
from cli.render import emit_json


def ingest(args: argparse.Namespace, settings: Settings) -> int:
    if not args.file.exists():
        raise CommandError(f"{args.file}: no such file")
    model = KnowledgeDocument if args.knowledge else InputEnvelope
    if settings.kafka_url:
        from streams.publish import publish_file

        report = publish_file(settings, args.file, model, quiet=args.json)
    else:
        report = _ingest_in_process(settings, args.file, model, quiet=args.json)
    if args.json:
        emit_json(report)
    else:
        _print_report(report)
    return EXIT_REJECTED if report["rejected"] else 0


def _ingest_in_process(settings: Settings, path: Any, model: type, quiet: bool) -> dict[str, Any]:
    counts: Counter[str] = Counter()
    rejected: list[dict[str, Any]] = []
    runtime = build_runtime(settings)
    total = count_lines(path)
    try:
        with tqdm(total=total, unit="line", disable=quiet or None, file=sys.stderr) as bar:
            for number, item in read_jsonl(path, model):
                bar.update(1)
                if isinstance(item, BadLine):
                    rejected.append(item.to_dict())
                    continue
                try:
                    outcome = (
                        runtime.service.ingest_document(item)
                        if isinstance(item, KnowledgeDocument)
                        else runtime.service.ingest(item)
                    )
                except Exception as e:  # noqa: BLE001 - one bad record must not stop the file
                    rejected.append({"line": number, "reason": f"processing failed: {e!r}"})
                    continue
                counts["accepted"] += 1
                counts["duplicates"] += int(outcome.duplicate)
                counts["episodes"] += len(outcome.episodes)
                counts["created"] += len(outcome.created)
                counts["revised"] += len(outcome.revised)
                counts["archived"] += len(outcome.archived)
    finally:
        runtime.close()
    return {
        "mode": "in-process",
        "file": str(path),
        **{k: counts[k] for k in ("accepted", "duplicates", "episodes", "created", "revised", "archived")},
        "rejected": rejected,
    }


def _print_report(report: dict[str, Any]) -> None:
    if report["mode"] == "in-process":
        print(
            f"{report['file']}: {report['accepted']} envelopes accepted "
            f"({report['duplicates']} already ingested), {report['episodes']} episodes; "
            f"memories created {report['created']}, revised {report['revised']}, "
            f"archived {report['archived']}; {len(report['rejected'])} lines rejected"
        )
    else:
        print(
            f"{report['file']}: published {report['published']} records to {report['topic']} "
            f"at {report['bootstrap']}; {len(report['rejected'])} lines rejected"
        )
    for bad in report["rejected"]:
        print(f"  line {bad['line']}: {bad['reason']}", file=sys.stderr)


def replay(args: argparse.Namespace, settings: Settings) -> int:
    """Drop and rebuild projections (or, with --resume, continue from their positions)."""
    names = args.projection or ["timeline", "vector"]
    runtime = build_runtime(settings, sync_projections=False, with_vectors="vector" in names)
    report: dict[str, Any] = {}
    try:
        from projections.catch_up import catch_up_together, head

        last = head(runtime.store)
        chosen = [p for p in runtime.projectors() if p.name in names]
        if not args.resume:
            for projector in chosen:
                projector.clear()
        remaining = max(0, last - min(p.position() for p in chosen))
        with tqdm(total=remaining, unit="event", desc="+".join(p.name for p in chosen),
                  disable=args.json or None, file=sys.stderr) as bar:
            # one pass; with the timeline first, the vector projection takes the views it folds
            done = catch_up_together(runtime.store, chosen[0], chosen[1:], progress=bar.update, until=last)
        for projector in chosen:
            report[projector.name] = {"events": done[projector.name], "position": projector.position()}
    finally:
        runtime.close()
    if args.json:
        emit_json({"replayed": report})
    else:
        for name, item in report.items():
            print(f"{name}: replayed {item['events']} events, now at notification {item['position']}")
    return 0


def schemas(args: argparse.Namespace, settings: Settings) -> int:
    from schemas.generate import check_schemas, write_schemas

    if args.check:
        stale = check_schemas(args.out)
        if stale:
            raise CommandError("schemas differ from the models: " + ", ".join(stale) + " (run memstream schemas)")
        print(f"schemas in {args.out} match the models")
        return 0
    for path in write_schemas(args.out):
        print(path)
    return 0
