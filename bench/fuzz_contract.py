"""Fuzz the input contract: random valid and mutated envelopes through ``parse_record``,
then a sample of the valid ones through the in-process ingest path.

    .venv/bin/python -m bench.fuzz_contract [--lines 20000] [--ingest 500] [--seed 23]

Writes ``bench/results/fuzz_contract.json``. What must hold: no crash (an exception other
than ValueError from ``parse_record``, or from ingesting a valid envelope), and no line
neither processed nor reported when the file is read back through ``read_jsonl``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from application.jsonl import BadLine, parse_record, read_jsonl
from domain.envelope import (MAX_CONTENT_CHARS, MAX_ENVELOPE_BYTES, MAX_INFO_BYTES, MAX_MESSAGES, MAX_TAG_CHARS,
                             MAX_TAGS, InputEnvelope)

RESULTS = Path(__file__).resolve().parent / "results" / "fuzz_contract.json"

USERS = ["ana", "bruno", "小明", "李华", "zoë", "Cafe\u0301", "  padded  ", "u-😀", "O'Brien", "user_42"]
SENTENCES = [
    "I live in {city} and I love {thing}.", "My name is {name}.", "I'm allergic to {thing}.",
    "Next month I'm flying to {city}.", "我住在{city}，我喜欢{thing}。", "我下周去{city}出差 ✈️",
    "I prefer tea over coffee ☕", "Remind me to call mom on Friday.", "我对花生过敏。", "I work as a {job}.",
]
FILL = {"city": ["Lisbon", "Berlin", "成都", "北京", "São Paulo"], "thing": ["hiking", "火锅", "sushi", "jazz", "peanuts"],
        "name": ["Ana", "Bruno", "小明"], "job": ["nurse", "teacher", "程序员"]}

POISONS = ["deep", "surrogate", "nul", "nan", "numeric_time", "digit_time", "kb_user", "blank_user",
           "too_many_messages", "too_many_tags", "long_tag", "big_info", "long_content", "oversize",
           "truncated", "not_object", "wrong_type", "huge_number", "byte_flip", "tool_without_name", "empty_text",
           "extra_field", "bad_utf8"]


def sentence(rng: random.Random) -> str:
    text = rng.choice(SENTENCES)
    for key, options in FILL.items():
        text = text.replace("{" + key + "}", rng.choice(options))
    return text


def valid_envelope(rng: random.Random, n: int) -> dict:
    messages = []
    for i in range(rng.randint(1, 5)):
        if rng.random() < 0.1:
            messages.append({"role": "tool", "tool_name": "weather", "tool_input": {"city": rng.choice(FILL["city"])},
                             "tool_output": {"temp": rng.uniform(-10, 35), "ok": True}, "latency_ms": rng.randint(1, 900)})
            continue
        msg = {"role": rng.choice(["user", "user", "assistant"]), "content": sentence(rng), "message_id": f"m{n}.{i}"}
        if rng.random() < 0.5:
            msg["chat_time"] = f"2025-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}T{rng.randint(0, 23):02d}:00:00" \
                               + rng.choice(["Z", "+08:00", "", "-05:00"])
        if rng.random() < 0.1:
            msg["content"] = [{"type": "text", "text": msg["content"]},
                              {"type": "image_url", "image_url": {"url": "https://x/y.png"}, "caption": "a photo 📷"}]
        messages.append(msg)
    if all(m["role"] == "tool" for m in messages):
        messages.append({"role": "user", "content": sentence(rng)})
    env = {"event_id": f"fuzz-{n}", "user_id": rng.choice(USERS), "conversation_id": f"c{rng.randint(1, 50)}",
           "messages": messages}
    if rng.random() < 0.3:
        env["tags"] = rng.sample(["travel", "food", "健康", "work", "😀"], rng.randint(1, 3))
    if rng.random() < 0.3:
        env["info"] = {"source": rng.choice(["app", "web", "微信"]), "nested": {"a": [1, 2, {"b": None}]}}
    return env


def mutate(rng: random.Random, env: dict, kind: str) -> str | bytes:
    msg = env["messages"][0]
    if kind == "deep":
        d = rng.choice([40, 100, 1000, 5000])
        return json.dumps(env)[:-1] + ', "info": ' + '{"a":' * d + "1" + "}" * d + "}"
    if kind in ("surrogate", "nul"):
        bad = rng.choice(["\ud800", "\udfff", "\ud83d"]) if kind == "surrogate" else "\x00"
        target = rng.choice(["user_id", "content", "tag", "info_value", "info_key", "event_id"])
        if target == "user_id":
            env["user_id"] += bad
        elif target == "content":
            msg["content"] = (msg["content"] if isinstance(msg.get("content"), str) else "x") + bad
            msg.setdefault("role", "user")
        elif target == "tag":
            env["tags"] = ["ok", "t" + bad]
        elif target == "info_value":
            env["info"] = {"k": ["v", {"w": bad}]}
        elif target == "info_key":
            env["info"] = {"k" + bad: 1}
        else:
            env["event_id"] += bad
        return json.dumps(env)  # ensure_ascii: written as \\u escapes, as a client would
    if kind == "nan":
        return json.dumps(env)[:-1] + ', "info": {"x": %s}}' % rng.choice(["NaN", "Infinity", "-Infinity", "1e999"])
    if kind == "numeric_time":
        msg["chat_time"] = rng.choice([253402300800, 0, 1.7e9, -1, True])
    elif kind == "digit_time":
        msg["chat_time"] = rng.choice(["1700000000", "0001-01-01T00:00:00+05:00", "tomorrow", ""])
    elif kind == "kb_user":
        env["user_id"] = "kb:" + rng.choice(["handbook", "x", ""])
    elif kind == "blank_user":
        env["user_id"] = rng.choice(["", " ", "\t", "\u3000 "])
    elif kind == "too_many_messages":
        env["messages"] = [{"role": "user", "content": "hi"}] * rng.randint(MAX_MESSAGES + 1, 300)
    elif kind == "too_many_tags":
        env["tags"] = [f"t{i}" for i in range(rng.randint(MAX_TAGS + 1, 100))]
    elif kind == "long_tag":
        env["tags"] = ["x" * rng.randint(MAX_TAG_CHARS + 1, 10_000)]
    elif kind == "big_info":
        env["info"] = {"blob": "y" * rng.randint(MAX_INFO_BYTES, 4 * MAX_INFO_BYTES)}
    elif kind == "long_content":
        msg["content"], msg["role"] = "z" * (MAX_CONTENT_CHARS + rng.randint(1, 1000)), "user"
    elif kind == "oversize":
        env["messages"] = [{"role": "user", "content": "汉" * 60_000}] * rng.randint(3, 6)
        return json.dumps(env, ensure_ascii=False)
    elif kind == "truncated":
        text = json.dumps(env, ensure_ascii=False)
        return text[: rng.randint(0, len(text) - 1)]
    elif kind == "not_object":
        return json.dumps(rng.choice([[env], "text", 42, None, True, []]))
    elif kind == "wrong_type":
        field = rng.choice(["user_id", "messages", "tags", "info", "content", "role", "latency_ms"])
        value = rng.choice([5, 1.5, None, [], {}, "s", True, [1, 2]])
        if field in ("content", "role", "latency_ms"):
            msg[field] = value
        else:
            env[field] = value
    elif kind == "huge_number":
        return json.dumps(env)[:-1] + ', "info": {"n": %s}}' % ("9" * rng.choice([50, 101, 5000, 50_000]))
    elif kind == "byte_flip":
        raw = bytearray(json.dumps(env, ensure_ascii=False).encode())
        for _ in range(rng.randint(1, 4)):
            raw[rng.randrange(len(raw))] = rng.randrange(256)
        return bytes(raw).replace(b"\n", b" ").replace(b"\r", b" ")
    elif kind == "tool_without_name":
        env["messages"] = [{"role": "tool", "tool_output": "x"}]
    elif kind == "empty_text":
        env["messages"] = [{"role": "user", "content": rng.choice(["", []])}]
    elif kind == "extra_field":
        env[rng.choice(["surprise", "userId", "\ud800"])] = 1
    elif kind == "bad_utf8":
        return json.dumps(env, ensure_ascii=False).encode()[:-2] + b"\xff\xfe}"
    return json.dumps(env, ensure_ascii=rng.random() < 0.5)


def reason_class(reason: str) -> str:
    rules = [("internal error", "internal"), ("nests", "depth"), ("lone surrogate", "surrogate"),
             ("NUL character", "nul"), ("is not valid JSON", "nan_infinity"), ("must be finite", "nan_infinity"),
             ("finite number", "nan_infinity"), ("ISO 8601", "time"), ("out of range once", "time"),
             ("reserved for knowledge", "reserved_user"), ("must not be blank", "blank"),
             ("at least 1 character", "blank"), ("record is", "envelope_bytes"), ("a number of", "number_length"),
             ("the limit is", "limit"), ("at most", "limit"), ("not valid UTF-8", "malformed"),
             ("invalid JSON", "malformed"), ("expected a JSON object", "malformed")]
    for needle, name in rules:
        if needle in reason:
            return name
    return "schema"


def build_runtime_in_process(data_dir: Path):
    os.environ["MEMSTREAM_KAFKA_URL"] = ""
    os.environ["MEMSTREAM_DATA_DIR"] = str(data_dir)
    try:
        from memstream.bootstrap import build_runtime
    except ImportError:  # the layout before the cli/ move
        from application.bootstrap import build_runtime  # type: ignore[no-redef]
    from application.settings import Settings

    return build_runtime(Settings(data_dir=data_dir))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lines", type=int, default=20_000)
    ap.add_argument("--ingest", type=int, default=500, help="valid envelopes sent through in-process ingest")
    ap.add_argument("--seed", type=int, default=23)
    ap.add_argument("--poison-share", type=float, default=0.6)
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args(argv)
    rng = random.Random(args.seed)

    lines: list[tuple[str, bytes]] = []
    for n in range(args.lines):
        env = valid_envelope(rng, n)
        if rng.random() < args.poison_share:
            kind = rng.choice(POISONS)
            raw = mutate(rng, env, kind)
        else:
            kind, raw = "valid", json.dumps(env, ensure_ascii=rng.random() < 0.5)
        lines.append((kind, raw if isinstance(raw, bytes) else raw.encode("utf-8", "surrogatepass")))

    started = time.perf_counter()
    outcome: Counter[str] = Counter()
    by_reason: Counter[str] = Counter()
    by_kind: dict[str, Counter[str]] = {}
    crashes: list[dict] = []
    valid: list[InputEnvelope] = []
    for number, (kind, raw) in enumerate(lines, start=1):
        seen = by_kind.setdefault(kind, Counter())
        try:
            env = parse_record(raw, InputEnvelope)
        except ValueError as e:
            outcome["rejected"] += 1
            by_reason[reason_class(str(e))] += 1
            seen["rejected"] += 1
            if "\n" in str(e):
                crashes.append({"line": number, "kind": kind, "error": "multi-line reason"})
        except BaseException as e:  # noqa: BLE001 - what the fuzz run exists to find
            outcome["crashes"] += 1
            seen["crashes"] += 1
            crashes.append({"line": number, "kind": kind, "error": f"{type(e).__name__}: {str(e)[:200]}"})
        else:
            outcome["valid"] += 1
            seen["valid"] += 1
            valid.append(env)
    parse_seconds = time.perf_counter() - started

    with tempfile.TemporaryDirectory(prefix="fuzz-contract-") as tmp:
        path = Path(tmp) / "fuzz.jsonl"
        path.write_bytes(b"\n".join(raw for _, raw in lines) + b"\n")
        read_back = Counter("valid" if not isinstance(item, BadLine) else "reported"
                            for _, item in read_jsonl(path, InputEnvelope))
        unaccounted = len(lines) - sum(read_back.values())

        sample = rng.sample(valid, min(args.ingest, len(valid)))
        ingest = Counter()
        started = time.perf_counter()
        runtime = build_runtime_in_process(Path(tmp) / "data")
        try:
            for env in sample:
                try:
                    result = runtime.service.ingest(env)
                except Exception as e:  # noqa: BLE001
                    ingest["crashes"] += 1
                    crashes.append({"ingest": env.event_id, "error": f"{type(e).__name__}: {str(e)[:200]}"})
                    continue
                ingest["ingested"] += 1
                ingest["duplicates"] += int(result.duplicate)
                ingest["memories_created"] += len(result.created)
            stored_users = sorted({env.user_id for env in sample})
            data_bytes = sum(f.stat().st_size for f in (Path(tmp) / "data").rglob("*") if f.is_file())
        finally:
            runtime.close()
        ingest_seconds = time.perf_counter() - started

    report = {
        "command": "python -m bench.fuzz_contract " + " ".join(argv if argv is not None else sys.argv[1:]),
        "seed": args.seed, "lines": len(lines), "valid": outcome["valid"], "rejected": outcome["rejected"],
        "rejected_by_reason": dict(sorted(by_reason.items())), "crashes": outcome["crashes"] + ingest["crashes"],
        "parse_crashes": outcome["crashes"], "ingest_crashes": ingest["crashes"],
        "unaccounted_lines": unaccounted, "read_back": dict(read_back),
        "by_generated_kind": {k: dict(v) for k, v in sorted(by_kind.items())},
        "ingest": {"sampled_valid": len(sample), **{k: ingest[k] for k in ("ingested", "duplicates", "memories_created")},
                   "users": len(stored_users), "data_dir_bytes": data_bytes, "seconds": round(ingest_seconds, 1)},
        "parse_seconds": round(parse_seconds, 2),
        "limits": {"envelope_bytes": MAX_ENVELOPE_BYTES, "messages": MAX_MESSAGES, "tags": MAX_TAGS,
                   "tag_chars": MAX_TAG_CHARS, "info_bytes": MAX_INFO_BYTES, "content_chars": MAX_CONTENT_CHARS},
        "crash_examples": crashes[:20],
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(json.dumps({k: report[k] for k in ("lines", "valid", "rejected", "rejected_by_reason", "crashes",
                                             "unaccounted_lines", "ingest")}, ensure_ascii=False, indent=2))
    return 0 if report["crashes"] == 0 and unaccounted == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
