"""Streaming commands: worker, demo, deadletters."""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import gc
import json
import os
import re
import sys
import time
import unicodedata
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable, Iterable

from memstream.bootstrap import build_runtime
from application.dead_letters import DeadLetterBox
from application.settings import Settings
from cli.main import CommandError, check_broker, hold_data_dir
from cli.render import emit_json

TANSU_SESSION_TIMEOUT = 2.0
"""Seconds: on Tansu every group join waits half the session timeout (docs/design.md)."""
STAGES = {"messages": "fast", "fine": "fine", "knowledge": "knowledge", "offline": "offline"}
ROLE_PARTS = {"all": "fast, fine, knowledge, projections, offline", "agents": "fast, fine, knowledge"}


def _need_broker(settings: Settings) -> None:
    if not settings.kafka_url:
        raise CommandError("MEMSTREAM_KAFKA_URL is not set: the worker needs a Kafka broker (host:port; "
                           "`memstream broker` starts one)")


def session_timeout_for(settings: Settings) -> Settings:
    """MEMSTREAM_SESSION_TIMEOUT unless set: 10 s fits Kafka (whose brokers refuse less than
    6 s by default), 2 s fits Tansu, detected from the cluster id it reports."""
    if "session_timeout" in settings.model_fields_set:
        return settings
    from streams.broker import is_tansu

    if is_tansu(settings.kafka_url):
        return settings.model_copy(update={"session_timeout": TANSU_SESSION_TIMEOUT})
    return settings


class WorkerStatus:
    """The worker's lines on stderr: one when it is ready (roles, partitions, data dir), then
    one every ``every`` seconds while records move (records/s per stage, lag when known).
    ``quiet`` silences both; ``as_json`` prints each as a JSON object."""

    def __init__(self, settings: Settings, role: str, every: float, quiet: bool = False,
                 as_json: bool = False, out: Any = None) -> None:
        self.settings, self.role, self.every = settings, role, every
        self.quiet, self.as_json = quiet, as_json
        self.out = out or sys.stderr
        self.readied = False
        self._last: Counter[str] = Counter()
        self._last_at = time.monotonic()

    def say(self, text: str, data: dict[str, Any]) -> None:
        if self.quiet:
            return
        line = json.dumps(data, ensure_ascii=False) if self.as_json else f"memstream worker: {text}"
        print(line, file=self.out, flush=True)

    def ready(self, partitions: Iterable[tuple[str, int]] | None = None) -> None:
        roles = ROLE_PARTS.get(self.role, self.role)
        owned: dict[str, list[int]] = {}
        for topic, partition in sorted(partitions or ()):
            owned.setdefault(topic.removeprefix(self.settings.topic_prefix + "."), []).append(partition)
        where = ("; partitions " + ", ".join(f"{t} {','.join(map(str, ps))}" for t, ps in owned.items())
                 if owned else ("; owns no partitions yet" if partitions is not None else ""))
        first, self.readied = not self.readied, True
        self.say(f"{'ready' if first else 'partitions reassigned'}: role {self.role} ({roles}){where}; "
                 f"data dir {self.settings.data_dir}; broker {self.settings.kafka_url}",
                 {"event": "ready" if first else "assigned", "role": self.role, "partitions": owned,
                  "data_dir": str(self.settings.data_dir), "broker": self.settings.kafka_url})

    def progress(self, counts: Counter[str], lag: dict[str, int] | None = None) -> None:
        now = time.monotonic()
        elapsed, self._last_at = max(now - self._last_at, 1e-6), now
        lag = {k: v for k, v in (lag or {}).items() if v > 0}
        moved = {k: v - self._last.get(k, 0) for k, v in counts.items() if v - self._last.get(k, 0) > 0}
        self._last = Counter(counts)
        if not moved and not any((lag or {}).values()):
            return  # idle: nothing to say
        rates = {k: round(v / elapsed, 1) for k, v in moved.items()}
        text = ", ".join(f"{k} {r:g}/s" for k, r in sorted(rates.items())) or "idle"
        if lag:
            text += "; lag " + ", ".join(f"{k} {v}" for k, v in sorted(lag.items()))
        self.say(text, {"event": "progress", "per_second": rates, "lag": lag or {}})


def _faust_counts(app: Any, prefix: str) -> tuple[Counter[str], dict[str, int]]:
    """Records received per stage and lag per stage, from Faust's monitor (no broker call)."""
    from streams.projection_loop import MOVED

    counts: Counter[str] = Counter()
    lag: Counter[str] = Counter()
    monitor = app.monitor
    for topic, n in monitor.messages_received_by_topic.items():
        counts[STAGES.get(topic.removeprefix(prefix + "."), topic)] += n
    for tp, end in monitor.tp_end_offsets.items():
        read = monitor.tp_read_offsets.get(tp)
        if read is not None:
            lag[STAGES.get(tp.topic.removeprefix(prefix + "."), tp.topic)] += max(0, end - read - 1)
    counts.update(MOVED)
    return counts, dict(lag)


def add_status(app: Any, status: WorkerStatus) -> None:
    """The ready line on each assignment, the progress line on a Faust timer."""

    @app.on_partitions_assigned.connect
    async def on_assigned(sender: Any, assigned: Any, **kwargs: Any) -> None:  # noqa: ARG001
        status.ready((tp.topic, tp.partition) for tp in assigned)

    if status.every > 0 and not status.quiet:

        @app.timer(status.every, name="memstream.progress")
        async def report() -> None:
            status.progress(*_faust_counts(app, status.settings.topic_prefix))


AUTOGROUP = Path("/proc/self/autogroup")


def tune_for_role(settings: Settings, role: str) -> Settings:
    """A streaming worker's process settings: one embedding thread unless configured,
    and a ``--role fine`` process lowers its priority (docs/design.md: Fast records at once,
    Fine organises when it can). Niceness is inherited by the threads started later."""
    if not settings.embed_threads:
        settings = settings.model_copy(update={"embed_threads": 1})
    if role == "fine" and settings.fine_nice:
        os.nice(settings.fine_nice)
        lower_session_priority(settings.fine_nice)
    return settings


def lower_session_priority(nice: int, autogroup: Path = AUTOGROUP) -> bool:
    """Give the process's session the same niceness, when the process leads it.

    Why: with Linux's autogroup scheduling (on by default on desktop and many server
    kernels, and on this machine), the CPU is first shared equally between *sessions*;
    a process's own niceness only ranks it inside its session. A worker started in a
    session of its own (as `memstream demo`, a supervisor or the benchmark start it)
    was thus not deprioritised at all. Only a session leader does this: otherwise the
    write would lower the priority of the whole session it was started from (a shell).
    Returns whether the session's niceness was set."""
    if os.getsid(0) != os.getpid():
        return False
    try:
        autogroup.write_text(str(nice))
    except OSError:  # no autogroup support, or not allowed: process niceness still applies
        return False
    return True


def preload(runtime: Any, role: str) -> None:
    """Load the embedding model before joining the group, not with the first records.

    Why: a Fine worker that loaded it lazily (for embed-ahead) spent ~2 s of CPU on its
    first batch (a py-spy profile), while the other stages had traffic to serve. A
    ``fast`` worker never embeds, nor does a Fine stage without embed-ahead unless a
    similarity check needs it (then it still loads on first use)."""
    if role in ("all", "projections"):
        runtime.read_side  # noqa: B018 - the model and the index
    elif role in ("agents", "fine") and runtime.settings.embed_ahead:
        runtime.embedder  # noqa: B018


def freeze_startup_objects() -> None:
    """Move everything built at start-up (modules, Faust, the model) out of the
    collector's reach. Why: full collections otherwise scan all of it; in a `--role
    fast` process at 200 msg/s they paused everything for 40-60 ms, twice in 10 s."""
    gc.collect()
    gc.freeze()


def worker(args: argparse.Namespace, settings: Settings) -> int:
    """Run the Faust worker until SIGTERM / SIGINT."""
    _need_broker(settings)
    check_broker(settings)
    embedded = args.role in ("all", "projections")  # these project into the data dir's index
    from cli.write import writable_data_dir

    writable_data_dir(settings)  # not a store among someone else's files
    with hold_data_dir(settings, "worker") if embedded else contextlib.nullcontext():
        return _work(args, session_timeout_for(settings))


def _work(args: argparse.Namespace, settings: Settings) -> int:
    from streams.app import build_app
    from streams.topics import ensure_topics, topic_specs_for

    asyncio.run(ensure_topics(settings.kafka_url, topic_specs_for(settings)))
    settings = tune_for_role(settings, args.role)
    status = WorkerStatus(settings, args.role, args.progress_every, quiet=getattr(args, "quiet", False),
                          as_json=args.json)
    runtime = build_runtime(settings, sync_projections=False, with_vectors=args.role in ("all", "projections"))
    try:
        preload(runtime, args.role)
        if args.role == "projections":
            from streams.projection_loop import MOVED, run_projection_worker

            freeze_startup_objects()
            return run_projection_worker(settings, runtime, on_ready=status.ready,
                                         progress=lambda: status.progress(Counter(MOVED)),
                                         every=0 if status.quiet else args.progress_every)
        app = build_app(settings, runtime, role=args.role, web_port=args.web_port)
        add_status(app, status)
        from streams.faust_worker import run_worker

        freeze_startup_objects()
        return run_worker(app, verbose=args.verbose if hasattr(args, "verbose") else False)
    finally:
        runtime.close()


def demo(args: argparse.Namespace, settings: Settings) -> int:
    from cli.demo import run_demo

    return run_demo(settings, as_json=args.json)


AGE = re.compile(r"^(\d+(?:\.\d+)?)\s*([smhdw])$")
AGE_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def cutoff(value: str, now: datetime | None = None) -> datetime:
    """``--all-older-than``: an age (30m, 12h, 7d, 2w) or an ISO 8601 time (UTC if no zone)."""
    now = now or datetime.now(timezone.utc)
    match = AGE.match(value.strip().lower())
    if match:
        return now - timedelta(**{AGE_UNITS[match.group(2)]: float(match.group(1))})
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise CommandError(f"--all-older-than {value!r} is neither an age (30m, 12h, 7d) "
                           "nor an ISO 8601 time") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _owned_by(user: str | None) -> Any:
    """A filter for letters of one user's records (their Kafka key is the user_id), or None."""
    if user is None:
        return None
    from domain.envelope import normalise_user_id

    try:
        wanted = normalise_user_id(user)
    except ValueError as e:
        raise CommandError(f"--user: {e}") from None

    def owned(letter: dict[str, Any]) -> bool:
        key = letter.get("key")
        return bool(key) and unicodedata.normalize("NFC", str(key).strip()) == wanted

    return owned


def _chosen(box: DeadLetterBox, ids: list[str], owned: Any = None) -> list[dict[str, Any]]:
    every = [d for d in box.recent(limit=None) if owned is None or owned(d)]
    chosen = []
    for wanted in ids:
        matches = [d for d in every if d["id"].startswith(wanted.lower())] if wanted else []
        if not matches:
            raise CommandError(f"no dead letter with id {wanted!r} (`memstream deadletters` lists them)")
        if len(matches) > 1:
            raise CommandError(f"{wanted!r} is ambiguous: {', '.join(d['id'] for d in matches[:5])}")
        chosen.append(matches[0])
    return chosen


def deadletters(args: argparse.Namespace, settings: Settings) -> int:
    from cli.read import existing_store

    if args.limit < 1:
        raise CommandError("--limit must be at least 1")
    if args.resubmit:
        if not settings.kafka_url:
            raise CommandError("--resubmit needs MEMSTREAM_KAFKA_URL (the records go back to their topic)")
        check_broker(settings)
    if args.again and not args.resubmit:
        raise CommandError("--again goes with --resubmit")
    owned = _owned_by(getattr(args, "user", None))
    runtime = build_runtime(existing_store(settings), with_vectors=False, sync_projections=False)
    dropped: list[dict[str, Any]] = []
    try:
        box = DeadLetterBox(runtime.store)
        if args.drop or args.all_older_than:
            if args.drop:
                dropped = _chosen(box, args.drop, owned)
            else:
                before = cutoff(args.all_older_than)
                dropped = [d for d in box.recent(limit=None) if datetime.fromisoformat(d["recorded_at"]) < before
                           and (owned is None or owned(d))]
            for letter in dropped:
                box.drop(letter["id"], reason="dropped with memstream deadletters")
            letters = dropped
        elif owned is None:
            letters = box.recent(limit=args.limit)
        else:
            letters = [d for d in box.recent(limit=None) if owned(d)][:args.limit]
        if args.resubmit:
            from streams.publish import send_all

            # A letter goes back once: resubmitting again would publish it twice (and the
            # next run four times). --again is for a letter whose resubmission failed too.
            letters = [d for d in letters if args.again or not d["resubmissions"]]
            for letter in letters:
                value = base64.b64decode(letter["value_b64"])
                key = letter["key"].encode() if letter["key"] else None
                asyncio.run(send_all(settings.kafka_url, letter["topic"], [(key, value)]))
                box.mark_resubmitted(letter["id"], letter["topic"])
                letter["resubmissions"] += 1
    finally:
        runtime.close()
    public = [{k: v for k, v in d.items() if k != "value_b64"} for d in letters]
    if args.drop or args.all_older_than:
        if args.json:
            emit_json({"dropped": public})
        else:
            for d in letters:
                print(f"dropped {d['id']}  {d['topic']}[{d['partition']}]@{d['offset']}  {d['reason'][:80]}")
            print(f"dropped {len(letters)} dead letter(s): they stay in the event log, "
                  "but are no longer listed or resubmitted", file=sys.stderr)
        return 0
    if args.json:
        emit_json({"dead_letters": public})
        return 0
    if not letters:
        print("no dead letters" if not args.resubmit else "no dead letters to re-submit "
              "(each goes back once; --again sends those already re-submitted)")
    for d in letters:
        print(f"{d['id']}  {d['topic']}[{d['partition']}]@{d['offset']}  {d['stage']}/{d['error_type']}  "
              f"{d['size']} bytes  recorded {d['recorded_at'][:19]}  resubmitted {d['resubmissions']}x\n"
              f"    reason: {d['reason']}")
    if args.resubmit:
        print(f"re-submitted {len(letters)} records", file=sys.stderr)
    return 0
