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
from cli.main import EXIT_REJECTED, CommandError, check_broker, hold_data_dir
from cli.render import emit_json
from application.knowledge_files import is_document_file
from adapters.disk_space import is_disk_full, mark_refine_pending, take_refine_pending

MEMSTREAM_FILES = {"events.sqlite", ".lock", ".memstream-demo"}
"""Names that show a directory is a memstream data dir (events.sqlite unless the event
store is elsewhere; .lock once any writer ran)."""


def writable_data_dir(settings: Settings) -> Settings:
    """A write creates a new data dir, or writes into an empty or a memstream one; a
    mistyped --data-dir that points at some other directory is an error, not a new store
    among someone's files."""
    root = settings.data_dir
    if root.exists() and not root.is_dir():
        raise CommandError(f"{root} is a file, not a data dir (check --data-dir / MEMSTREAM_DATA_DIR)")
    if root.is_dir() and not settings.event_store:
        names = {p.name for p in root.iterdir()}
        if names and not names & MEMSTREAM_FILES:
            raise CommandError(f"{root} is not empty and holds no memstream data; choose an empty or new "
                               "directory, or check --data-dir / MEMSTREAM_DATA_DIR")
    return settings


def quiet(args: argparse.Namespace) -> bool:
    return bool(args.json or getattr(args, "quiet", False))


def ingest(args: argparse.Namespace, settings: Settings) -> int:
    if not args.file.exists():
        raise CommandError(f"{args.file}: no such file")
    if args.knowledge and (args.file.is_dir() or is_document_file(args.file)):
        return _ingest_document_files(args, settings)
    if getattr(args, "kb", None):
        raise CommandError("--kb goes with --knowledge and .md/.txt files (a JSONL document names its own kb_id)")
    if args.file.is_dir():
        raise CommandError(f"{args.file} is a directory; give a JSONL file (one envelope per line)")
    model = KnowledgeDocument if args.knowledge else InputEnvelope
    if settings.kafka_url:
        from streams.publish import publish_file

        check_broker(settings)
        report = publish_file(settings, args.file, model, quiet=quiet(args))
    else:
        with hold_data_dir(writable_data_dir(settings), "ingest"):
            report = _ingest_in_process(settings, args.file, model, quiet=quiet(args))
    if args.json:
        emit_json(report)
    else:
        _print_report(report, documents=args.knowledge)
    return EXIT_REJECTED if report["rejected"] else 0


def _ingest_in_process(settings: Settings, path: Any, model: type, quiet: bool) -> dict[str, Any]:
    counts: Counter[str] = Counter()
    rejected: list[dict[str, Any]] = []
    runtime = build_runtime(settings)
    total = count_lines(path)
    try:
        if take_refine_pending(settings.data_dir):  # a full disk stopped the last run (adapters/disk_space.py)
            try:
                for raw in runtime.store.unrefined_inputs():
                    runtime.service.refine(raw.event_id)
            except OSError as e:
                if not is_disk_full(e):
                    raise
                mark_refine_pending(settings.data_dir)
                raise CommandError(f"{e.strerror}; inputs stored by an earlier run are refined once there is space") from e
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
                    if is_disk_full(e):  # stops the file: every later line would fail the same way
                        mark_refine_pending(settings.data_dir)
                        raise CommandError(f"{path}:{number}: {e.strerror if isinstance(e, OSError) else e}; "
                                           f"{counts['accepted']} lines before it are stored, run the file again "
                                           "once there is space (stored lines are recognised)") from e
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


def _ingest_document_files(args: argparse.Namespace, settings: Settings) -> int:
    """``ingest --knowledge --kb ID DIR|FILE.md|FILE.txt``: one document per file."""
    from application.knowledge_files import document_paths, other_files, read_documents

    if not args.kb or not args.kb.strip():
        raise CommandError("give --kb ID: the knowledge base these .md/.txt documents belong to")
    if args.file.is_dir() and not document_paths(args.file):
        raise CommandError(f"{args.file} holds no .md, .markdown or .txt files")
    docs, rejected = [], []
    for doc_id, item in read_documents(args.file, args.kb.strip()):
        if isinstance(item, str):
            rejected.append({"line": doc_id, "reason": item})
        else:
            docs.append(item)
    if settings.kafka_url:
        import asyncio

        from streams.publish import record_key, record_value, send_all
        from streams.topics import ensure_topics, topic_specs_for

        check_broker(settings)
        topic = settings.topic("knowledge")
        asyncio.run(ensure_topics(settings.kafka_url, topic_specs_for(settings)))
        published = asyncio.run(send_all(settings.kafka_url, topic, [(record_key(d), record_value(d)) for d in docs]))
        report: dict[str, Any] = {"mode": "published", "file": str(args.file), "topic": topic,
                                  "bootstrap": settings.kafka_url, "published": published, "rejected": rejected}
    else:
        counts: Counter[str] = Counter()
        with hold_data_dir(writable_data_dir(settings), "ingest"):
            runtime = build_runtime(settings)
            try:
                for doc in tqdm(docs, unit="doc", disable=quiet(args) or None, file=sys.stderr):
                    try:
                        outcome = runtime.service.ingest_document(doc)
                    except Exception as e:  # noqa: BLE001 - one bad document must not stop the rest
                        rejected.append({"line": doc.doc_id, "reason": f"processing failed: {e!r}"})
                        continue
                    counts["accepted"] += 1
                    counts["duplicates"] += int(outcome.duplicate)
                    for name in ("created", "revised", "archived"):
                        counts[name] += len(getattr(outcome, name))
            finally:
                runtime.close()
        report = {"mode": "in-process", "file": str(args.file), "kb_id": args.kb.strip(),
                  **{k: counts[k] for k in ("accepted", "duplicates", "episodes", "created", "revised", "archived")},
                  "rejected": rejected}
    report["skipped"] = [p.relative_to(args.file).as_posix() for p in other_files(args.file)]
    if args.json:
        emit_json(report)
    else:
        _print_report(report, documents=True, bad="files")
    return EXIT_REJECTED if rejected else 0


def _print_report(report: dict[str, Any], documents: bool = False, bad: str = "lines") -> None:
    """One summary line; ``documents``: knowledge documents (chunks, no episodes); ``bad``:
    what a rejection names (JSONL lines, or the files of a directory)."""
    inputs = "documents" if documents else "envelopes"
    if report["mode"] == "in-process":
        episodes = "" if documents else f", {report['episodes']} episodes"
        memories = "chunks" if documents else "memories"
        print(
            f"{report['file']}: {report['accepted']} {inputs} accepted "
            f"({report['duplicates']} already ingested){episodes}; "
            f"{memories} created {report['created']}, revised {report['revised']}, "
            f"archived {report['archived']}; {len(report['rejected'])} {bad} rejected"
        )
    else:
        print(
            f"{report['file']}: published {report['published']} records to {report['topic']} "
            f"at {report['bootstrap']}; {len(report['rejected'])} {bad} rejected"
        )
    if report.get("skipped"):
        names = ", ".join(report["skipped"][:5]) + (" …" if len(report["skipped"]) > 5 else "")
        print(f"  skipped {len(report['skipped'])} files that are not .md, .markdown or .txt: {names}",
              file=sys.stderr)
    for rejection in report["rejected"]:
        line = rejection["line"]
        where = f"line {line}" if isinstance(line, int) else line  # a document file's name
        print(f"  {where}: {rejection['reason']}", file=sys.stderr)


def replay(args: argparse.Namespace, settings: Settings) -> int:
    """Drop and rebuild projections (or, with --resume, continue from their positions)."""
    from cli.read import existing_store

    names = args.projection or ["timeline", "vector"]
    with hold_data_dir(existing_store(settings), "replay"):
        return _replay(args, settings, names)


def _replay(args: argparse.Namespace, settings: Settings, names: list[str]) -> int:
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
                  disable=quiet(args) or None, file=sys.stderr) as bar:
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
        if args.json:
            emit_json({"out": str(args.out), "match": not stale, "stale": stale})
            return 1 if stale else 0
        if stale:
            raise CommandError("schemas differ from the models: " + ", ".join(stale) + " (run memstream schemas)")
        print(f"schemas in {args.out} match the models")
        return 0
    written = [str(path) for path in write_schemas(args.out)]
    if args.json:
        emit_json({"out": str(args.out), "written": written})
        return 0
    for path in written:
        print(path)
    return 0
