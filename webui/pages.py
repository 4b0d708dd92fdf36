"""Server-rendered HTML of the web view. Every value that comes from data is escaped here
(``e()``); the templates are plain strings, so nothing needs a template engine."""

from __future__ import annotations

from html import escape
from typing import Any, Iterable
from urllib.parse import quote, urlencode

from webui.diff import diff_html

KINDS = [
    ("fact", "Facts"),
    ("preference", "Preferences"),
    ("tool", "Tools"),
    ("skill", "Skills"),
    ("knowledge", "Knowledge"),
]
FOLDED = [("episode", "Episodes")]


def e(value: Any) -> str:
    return escape("" if value is None else str(value), quote=True)


def user_href(base: str, user_id: str, **query: str) -> str:
    href = f"{base}/users/{quote(user_id, safe='')}"
    query = {k: v for k, v in query.items() if v}
    return f"{href}?{urlencode(query)}" if query else href


def memory_href(base: str, memory_id: str, version: int | None = None) -> str:
    return f"{base}/memories/{quote(str(memory_id), safe='')}" + (f"#v{version}" if version else "")


def layout(base: str, title: str, body: str, *, app_id: str | None = None) -> str:
    who = ""
    if app_id is not None:
        who = (f'<span class="app">app <b>{e(app_id)}</b></span>'
               f'<form method="post" action="{e(base)}/logout" class="logout">'
               '<button type="submit">Sign out</button></form>')
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>{e(title)} · memstream</title>
<link rel="stylesheet" href="{e(base)}/static/webui.css">
<script src="{e(base)}/static/webui.js" defer></script>
</head>
<body>
<header class="top"><a class="brand" href="{e(base)}/">memstream</a>{who}</header>
<main>
{body}
</main>
</body>
</html>
"""


def login_page(base: str, next_url: str, message: str = "") -> str:
    note = f'<p class="error" role="alert">{e(message)}</p>' if message else ""
    body = f"""<h1>Sign in</h1>
{note}
<p>Use the API key of your app. It is kept in a cookie for this site only.</p>
<form method="post" action="{e(base)}/login" class="login">
<input type="hidden" name="next" value="{e(next_url)}">
<label>API key <input type="password" name="key" autocomplete="current-password" required autofocus></label>
<button type="submit">Sign in</button>
</form>"""
    return layout(base, "Sign in", body)


def error_page(base: str, title: str, message: str, app_id: str | None) -> str:
    return layout(base, title, f'<h1>{e(title)}</h1><p class="error" role="alert">{e(message)}</p>'
                  f'<p><a href="{e(base)}/">Back</a></p>', app_id=app_id)


def index_page(base: str, app_id: str | None) -> str:
    body = f"""<h1>Memories</h1>
<form method="get" action="{e(base)}/go" class="pick">
<label>User id <input type="text" name="user" required autofocus></label>
<button type="submit">Open</button>
</form>"""
    return layout(base, "Memories", body, app_id=app_id)


# --------------------------------------------------------------------- user page

def _utc(stamp: Any) -> str:
    text = str(stamp or "")
    return text[:19].replace("T", " ") + (" UTC" if text.endswith(("+00:00", "Z")) else "")


def _badges(m: dict[str, Any]) -> str:
    status = m.get("status") or ""
    parts = [f'<span class="badge version">V{e(m.get("version"))}</span>',
             f'<span class="badge stage stage-{e(m.get("stage"))}">{e(m.get("stage"))}</span>']
    if status and status != "active":
        parts.append(f'<span class="badge status-{e(status)}">{e(status)}</span>')
    if m.get("score") is not None:
        parts.append(f'<span class="badge score">{float(m["score"]):.3f}</span>')
    return "".join(parts)


def memory_card(base: str, m: dict[str, Any]) -> str:
    extra = []
    if m.get("kind") == "preference":
        if m.get("preference_type"):
            extra.append(f'<p class="meta">{e(m["preference_type"])} preference</p>')
        if m.get("reasoning"):
            extra.append(f'<p class="reasoning"><span>Reasoning</span> {e(m["reasoning"])}</p>')
    if m.get("kind") == "knowledge":
        attrs = m.get("attributes") or {}
        where = " · ".join(str(attrs[k]) for k in ("kb_id", "doc_id", "title") if attrs.get(k))
        if where:
            extra.append(f'<p class="meta">{e(where)}</p>')
    times = [s.get("chat_time") for s in m.get("sources") or [] if s.get("chat_time")]
    said = f' · said {e(max(times)[:10])}' if times else ""
    return f"""<li class="memory" data-memory-id="{e(m.get("memory_id"))}" data-version="{e(m.get("version"))}">
<div class="head">{_badges(m)}<span class="key">{e(m.get("key"))}</span></div>
<p class="content"><a href="{e(memory_href(base, m["memory_id"]))}">{e(m.get("content"))}</a></p>
{"".join(extra)}<p class="meta">recorded {e(_utc(m.get("updated_at")))}{said}</p>
</li>"""


def _group(base: str, kind: str, title: str, items: list[dict[str, Any]], folded: bool) -> str:
    cards = "\n".join(memory_card(base, m) for m in items)
    inner = f'<ul class="memories">{cards}</ul>' if items else '<p class="empty">none</p>'
    head = f'{e(title)} <span class="count">{len(items)}</span>'
    if folded:
        return f'<details class="group" id="kind-{e(kind)}"><summary><h2>{head}</h2></summary>{inner}</details>'
    return f'<section class="group" id="kind-{e(kind)}"><h2>{head}</h2>{inner}</section>'


def grouped(base: str, memories: Iterable[dict[str, Any]]) -> str:
    by_kind: dict[str, list[dict[str, Any]]] = {}
    for m in memories:
        by_kind.setdefault(m.get("kind") or "other", []).append(m)
    known = {k for k, _ in KINDS + FOLDED}
    sections = [_group(base, k, t, by_kind.get(k, []), False) for k, t in KINDS]
    for kind in sorted(set(by_kind) - known):
        sections.append(_group(base, kind, kind, by_kind[kind], False))
    sections += [_group(base, k, t, by_kind.get(k, []), True) for k, t in FOLDED]
    return "\n".join(sections)


def user_page(base: str, app_id: str | None, user_id: str, memories: list[dict[str, Any]], *,
              query: str = "", results: list[dict[str, Any]] | None = None, at: str = "",
              clock: str = "said", archived: bool = False, time_note: str = "") -> str:
    here = user_href(base, user_id)
    search = f"""<form method="get" action="{e(here)}" class="search" role="search">
<input type="search" name="q" value="{e(query)}" placeholder="Search this user's memories" aria-label="Search">
<button type="submit">Search</button>
</form>"""
    said_sel = " selected" if clock == "said" else ""
    rec_sel = " selected" if clock == "recorded" else ""
    now_link = f' <a href="{e(here)}" class="now">now</a>' if at else ""
    travel = f"""<form method="get" action="{e(here)}" class="timetravel" id="timetravel">
<label>As of <input type="date" name="at" value="{e(at)}" data-autosubmit></label>
<label>by <select name="by" data-autosubmit>
<option value="said"{said_sel}>when said</option><option value="recorded"{rec_sel}>when recorded</option>
</select></label>
<label class="check"><input type="checkbox" name="archived" value="1"{" checked" if archived else ""} data-autosubmit> archived too</label>
<button type="submit">Show</button>{now_link}
</form>"""
    parts = [f'<h1>User <span class="uid">{e(user_id)}</span></h1>', search, travel]
    if results is not None:
        cards = "\n".join(memory_card(base, m) for m in results)
        parts.append(f'<section class="results" id="results"><h2>Results for “{e(query)}” '
                     f'<span class="count">{len(results)}</span></h2>'
                     + (f'<ul class="memories">{cards}</ul>' if results else '<p class="empty">no match</p>')
                     + "</section>")
    if at:
        parts.append(f'<p class="asof" id="asof">Memories as of <b>{e(at)}</b> '
                     f'({"when said" if clock == "said" else "when recorded"}).{e(time_note)}</p>')
    if not memories:
        parts.append('<p class="empty" id="no-memories">No memories for this user.</p>')
    parts.append(f'<div class="kinds">{grouped(base, memories)}</div>')
    return layout(base, f"User {user_id}", "\n".join(parts), app_id=app_id)


# --------------------------------------------------------------------- memory page

def _message_text(message: dict[str, Any] | None) -> str:
    if not message:
        return ""
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = []
        for part in content:
            if isinstance(part, dict):
                texts.append(str(part.get("text") or part.get("caption") or f"[{part.get('type')}]"))
        return " ".join(texts)
    if message.get("tool_name"):
        return f"{message.get('tool_name')}: {message.get('tool_output') or ''}"
    return ""


def _source_rows(sources: list[dict[str, Any]], messages: dict[tuple[str, str], dict[str, Any]]) -> str:
    rows = []
    for s in sources:
        msg = messages.get((str(s.get("event_id")), str(s.get("message_id"))))
        rows.append(f"""<li class="source">
<div class="meta"><span class="chat-time">{e(s.get("chat_time") or "no chat_time")}</span> · {e(s.get("role"))}
· message <code>{e(s.get("message_id"))}</code> · event <code>{e(s.get("event_id"))}</code></div>
<blockquote>{e(_message_text(msg)) or '<span class="empty">(text not recorded)</span>'}</blockquote>
</li>""")
    return f'<ul class="sources">{"".join(rows)}</ul>'


def _cause(cause: dict[str, Any] | None) -> str:
    cause = cause or {}
    if cause.get("topic"):
        where = (f'<span class="kafka">topic <code>{e(cause.get("topic"))}</code> · partition '
                 f'<code>{e(cause.get("partition"))}</code> · offset <code>{e(cause.get("offset"))}</code></span>')
    else:
        where = '<span class="kafka none">in-process (no Kafka position)</span>'
    return f'<p class="cause"><span>Cause</span> {where}</p>'


_FIELDS = ("status", "kind", "key", "preference_type", "reasoning", "confidence", "tags", "superseded_by")


def _changed_fields(old: dict[str, Any], new: dict[str, Any]) -> str:
    rows = []
    for name in _FIELDS:
        if old.get(name) != new.get(name):
            rows.append(f'<li><code>{e(name)}</code> <del>{e(old.get(name))}</del> → <ins>{e(new.get(name))}</ins></li>')
    return f'<ul class="fields">{"".join(rows)}</ul>' if rows else ""


def _split_sources(version: dict[str, Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The sources that caused this version, and the earlier ones it carries."""
    cause = version.get("cause") or {}
    message_ids, event_ids = set(cause.get("message_ids") or []), set(cause.get("event_ids") or [])
    sources = list(version.get("sources") or [])
    caused = [s for s in sources if (s.get("message_id") in message_ids if message_ids else s.get("event_id") in event_ids)]
    if not caused:
        return sources, []
    return caused, [s for s in sources if s not in caused]


def version_card(version: dict[str, Any], previous: dict[str, Any] | None,
                 messages: dict[tuple[str, str], dict[str, Any]]) -> str:
    n = version.get("version")
    if previous is None:
        text = f'<p class="content">{e(version.get("content"))}</p>'
    elif previous.get("content") == version.get("content"):
        text = f'<p class="content">{e(version.get("content"))}</p><p class="meta">content unchanged</p>'
    else:
        text = (f'<p class="content diff" aria-label="changes from V{e(previous.get("version"))}">'
                f'{diff_html(previous.get("content") or "", version.get("content") or "")}</p>')
    fields = _changed_fields(previous, version) if previous is not None else ""
    caused, earlier = _split_sources(version)
    earlier_html = (f'<details class="earlier"><summary>{len(earlier)} earlier source(s)</summary>'
                    f'{_source_rows(earlier, messages)}</details>') if earlier else ""
    reasoning = (f'<p class="reasoning"><span>Reasoning</span> {e(version.get("reasoning"))}</p>'
                 if version.get("reasoning") else "")
    return f"""<li class="version" id="v{e(n)}" data-version="{e(n)}">
<div class="head"><span class="badge version">V{e(n)}</span>
<span class="badge stage stage-{e(version.get("stage"))}">{e(version.get("stage"))}</span>
<span class="badge status-{e(version.get("status"))}">{e(version.get("status"))}</span>
<span class="recorded">recorded {e(_utc(version.get("updated_at")))}</span></div>
<dl class="why"><dt>reason</dt><dd class="reason">{e(version.get("reason"))}</dd>
<dt>decided by</dt><dd class="decided-by"><code>{e(version.get("decided_by"))}</code></dd></dl>
{text}{fields}{reasoning}
{_cause(version.get("cause"))}
<h3>Source messages</h3>
{_source_rows(caused, messages)}{earlier_html}
</li>"""


def memory_page(base: str, app_id: str | None, user_id: str, versions: list[dict[str, Any]],
                successors: list[dict[str, Any]], messages: dict[tuple[str, str], dict[str, Any]]) -> str:
    current = versions[-1]
    chain = " → ".join(f'<a href="#v{e(v.get("version"))}">V{e(v.get("version"))}</a>' for v in versions)
    parts = [f'<p class="crumbs"><a href="{e(user_href(base, user_id))}">User {e(user_id)}</a> › memory</p>',
             f'<h1><span class="kind">{e(current.get("kind"))}</span> <span class="key">{e(current.get("key"))}</span></h1>',
             f'<p class="memory-id"><code>{e(current.get("memory_id"))}</code></p>',
             f'<p class="current content">{e(current.get("content"))}</p>',
             f'<p class="chain">{chain}</p>']
    if current.get("status") == "archived":
        if successors:
            links = "".join(f'<li><a class="successor" href="{e(memory_href(base, s["memory_id"]))}">'
                            f'{e(s.get("content"))}</a> <span class="badge version">V{e(s.get("version"))}</span> '
                            f'<span class="meta">{e(s.get("kind"))}</span></li>' for s in successors)
            parts.append(f'<section class="superseded" id="superseded"><h2>Archived — replaced by</h2>'
                         f'<ul>{links}</ul></section>')
        else:
            parts.append('<section class="superseded" id="superseded"><h2>Archived</h2>'
                         f'<p>reason: {e(current.get("reason"))}; no successor</p></section>')
    cards = []
    previous = None
    for v in versions:
        cards.append(version_card(v, previous, messages))
        previous = v
    parts.append(f'<h2>Timeline</h2><ol class="timeline">{"".join(cards)}</ol>')
    return layout(base, f"Memory {current.get('key') or current.get('memory_id')}", "\n".join(parts), app_id=app_id)
