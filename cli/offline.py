"""``memstream reconcile``: the Offline stage on demand.

Sweeps one user (``--user``), or every user whose memories changed since the last
sweep (and every user holding a plan whose date has passed since), and prints each
change with the rule that decided it; with the Anthropic extractor configured, Claude
reviews each swept user too (``review:anthropic:MODEL`` in the rule column). ``--dry-run`` prints
the same plan and writes nothing.
"""

from __future__ import annotations

import argparse

from application.offline_stage import OfflineStage, describe
from application.settings import Settings
from cli.main import CommandError
from cli.render import emit_json
from memstream.bootstrap import build_runtime


def reconcile(args: argparse.Namespace, settings: Settings) -> int:
    if not settings.event_store and not (settings.data_dir / "events.sqlite").exists():
        raise CommandError(f"no memstream data in {settings.data_dir} (check --data-dir / MEMSTREAM_DATA_DIR)")
    runtime = build_runtime(settings, with_vectors=False)
    try:
        stage = OfflineStage.for_runtime(runtime)
        report = stage.sweep([args.user] if args.user else None, dry_run=args.dry_run)
        if report.changes and not args.dry_run:
            runtime.catch_up()
    finally:
        runtime.close()
    if args.json:
        emit_json(report.to_dict())
        return 0
    for line in describe(report.changes):
        print(line)
    done = "planned (dry run, nothing written)" if args.dry_run else "made"
    print(f"swept {report.users} user(s): {len(report.changes)} change(s) {done}")
    return 0
