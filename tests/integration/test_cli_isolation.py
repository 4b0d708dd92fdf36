"""No CLI read path shows one user another user's content (a property test).

One data dir holds users whose ids look alike or are LIKE wildcards ("alice", "Alice",
"al", "a_b", "a%b", ...), each with a secret word of their own, and every user's first
input uses the *same* event_id (event ids are unique per user, domain/raw_input.py).
Hypothesis draws a reader (one of them or a stranger), a target and an id prefix, and
runs every read command as that reader: ``memories``, ``search`` (including a
``--queries`` line that asks for the target), ``history`` by the target's full memory
id and by a drawn prefix. The reader may see only their own words. The HTTP API has its
property test in test_http_isolation.py (users of one app and across apps).
``deadletters --user`` lists only the letters of that user's records (without it, it is
an operator command over the whole store).
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
import unicodedata
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings as hsettings, strategies as st

from cli.main import main

USERS = ["alice", "Alice", "al", "a_b", "a%b", "bob", "用户甲"]
SECRETS = {user: f"Zorvik{i}q{i * 7}x" for i, user in enumerate(USERS)}


def cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = main(list(argv))
    return rc, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def store(tmp_path_factory, model_dir):
    base = tmp_path_factory.mktemp("cli-iso")
    lines = []
    for user in USERS:
        for n, text in enumerate([f"I live in {SECRETS[user]}.", f"My favourite dish is {SECRETS[user]} stew."]):
            lines.append(json.dumps({"event_id": "shared-0" if n == 0 else f"{user}-{n}", "user_id": user,
                                     "conversation_id": "c", "messages": [{"role": "user", "content": text,
                                     "chat_time": f"2025-01-0{n + 1}T10:00:00Z"}]}, ensure_ascii=False))
    path = base / "in.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    data = base / "data"
    rc, out, err = cli("ingest", "--data-dir", str(data), "-q", "--json", str(path))
    assert rc == 0, err
    assert json.loads(out)["accepted"] == len(lines) and json.loads(out)["duplicates"] == 0
    from adapters.event_store import open_application
    from application.dead_letters import DeadLetterBox
    from application.settings import Settings

    store = open_application(Settings(data_dir=data).event_store_url)
    try:  # one dead letter per user, keyed by the user as the topics are
        box = DeadLetterBox(store)
        for offset, user in enumerate(USERS):
            value = json.dumps({"user_id": user, "messages": [{"content": f"poison {SECRETS[user]}"}]},
                               ensure_ascii=False).encode()
            box.record(topic="memstream.messages", partition=0, offset=offset, key=user.encode(), value=value,
                       reason=f"invalid_record near {SECRETS[user]}", error_type="invalid_record", stage="fast",
                       tracking=None)
    finally:
        store.close()
    ids = {}
    for user in USERS:
        rc, out, err = cli("memories", "--data-dir", str(data), "--json", "--all", f"--user={user}")
        assert rc == 0, err
        ids[user] = [m["memory_id"] for m in json.loads(out)["memories"]]
        assert ids[user], f"{user} has memories"
    return data, ids, base


def others(reader: str) -> list[str]:
    me = unicodedata.normalize("NFC", reader.strip())
    return [SECRETS[u] for u in USERS if u != me]


def assert_clean(text: str, reader: str, where: str) -> None:
    leaked = [w for w in others(reader) if w in text]
    assert not leaked, f"{where}: {reader!r} saw {leaked}"


readers = st.one_of(st.sampled_from(USERS), st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=6).filter(
    lambda u: u.strip() and not unicodedata.normalize("NFC", u.strip()).startswith("kb:")))
prefixes = st.text(alphabet="0123456789abcdef-%_", min_size=1, max_size=8)


@hsettings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(reader=readers, target=st.sampled_from(USERS), prefix=prefixes)
def test_no_read_path_shows_another_users_content(store, reader, target, prefix):
    data, ids, base = store
    d = ("--data-dir", str(data))
    me = unicodedata.normalize("NFC", reader.strip())

    rc, out, err = cli("memories", *d, "--json", "--all", f"--user={reader}")
    assert rc == 0, err
    listed = json.loads(out)["memories"]
    assert all(m["user_id"] == me for m in listed)
    assert_clean(out, reader, "memories")
    if me in SECRETS:
        assert SECRETS[me] in out, "a user sees their own memories"

    queries = base / f"q-{abs(hash((reader, target)))}.jsonl"
    lines = [json.dumps({"id": str(i), "query": w}) for i, w in enumerate([SECRETS[u] for u in USERS])]
    lines.append(json.dumps({"id": "switch", "query": SECRETS[target], "user": target}, ensure_ascii=False))
    queries.write_text("\n".join(lines) + "\n", encoding="utf-8")
    rc, out, err = cli("search", *d, "--json", f"--user={reader}", "--queries", str(queries))
    assert rc in (0, 2), err  # 2: the line naming another user is rejected
    if target != me:
        assert rc == 2 and "switch" not in [json.loads(x).get("id") for x in out.splitlines() if x.strip()]
    assert_clean(out + err, reader, "search")
    if me in SECRETS:
        assert SECRETS[me] in out, "a user finds their own memories"

    for memory_id in ids[target]:
        rc, out, err = cli("history", *d, "--json", f"--user={reader}", "--", memory_id)
        if target == me:
            assert rc == 0, err
        else:
            assert rc == 1 and out == "", (rc, out)
        assert_clean(out + err, reader, "history by id")

    rc, out, err = cli("deadletters", *d, "--json", f"--user={reader}")
    assert rc == 0, err
    letters = json.loads(out)["dead_letters"]
    shown = out + " ".join(base64.b64decode(x.get("value_b64") or "").decode("utf-8", "replace") for x in letters)
    assert all(x["key"] == me for x in letters)
    assert_clean(shown, reader, "deadletters")
    if me in SECRETS:
        assert len(letters) == 1 and SECRETS[me] in shown

    rc, out, err = cli("history", *d, "--json", f"--user={reader}", "--", prefix)
    assert rc in (0, 1), err
    if rc == 0:
        assert all(v["user_id"] == me for v in json.loads(out)["versions"])
    assert_clean(out + err, reader, "history by prefix")
