"""The web view (webui/) in a real headless browser: Debian's chromium driven by Playwright.

The pages are served by uvicorn on 127.0.0.1 from a small FastAPI app that mounts
``webui.build_router`` with an ``authorize`` of its own (keys from a dict), the way
``memstream serve`` mounts it. The stores hold examples/brief.jsonl, ingested in-process
for app ``acme`` (stored user ids ``acme/…``); the 小忆 records carry the Kafka position a
worker would have recorded for them, so the pages have a topic/partition/offset to show.
Screenshots go to a temporary directory (``WEBUI_SHOTS_DIR`` names another one).
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from pathlib import Path

import pytest

fastapi = pytest.importorskip("fastapi")
uvicorn = pytest.importorskip("uvicorn")
sync_api = pytest.importorskip("playwright.sync_api")

import memstream  # noqa: E402
from domain.envelope import InputEnvelope  # noqa: E402
from domain.values import Cause  # noqa: E402
from tests.conftest import EXAMPLES  # noqa: E402
from webui.diff import diff_html, diff_ops  # noqa: E402

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
KEYS = {"acme-key": "acme", "globex-key": "globex"}
TIMEOUT_MS = 20_000

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"no chromium at {CHROMIUM}")


# ------------------------------------------------------------------ the diff, without a browser

def test_diff_is_character_level_for_chinese_and_word_level_for_latin():
    assert diff_html("用户叫小忆，在上海居住", "用户叫小忆，在成都居住") == \
        "用户叫小忆，在<del>上海</del><ins>成都</ins>居住"
    assert diff_ops("lives in Shanghai now", "lives in Chengdu now") == [
        ("equal", "lives in "), ("delete", "Shanghai"), ("insert", "Chengdu"), ("equal", " now")]
    assert diff_html("<b>", "<i>") == "&lt;<del>b</del><ins>i</ins>&gt;"


# ------------------------------------------------------------------ fixtures

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def store(tmp_path_factory, model_dir):
    ms = memstream.open(tmp_path_factory.mktemp("webui") / "data", extractor="rules", model_dir=model_dir)
    lines = [json.loads(line) for line in (EXAMPLES / "brief.jsonl").read_text(encoding="utf-8").splitlines()
             if line.strip()]
    for offset, item in enumerate(lines):
        item = {**item, "user_id": f"acme/{item['user_id']}", "app_id": "acme"}
        cause = None
        if item["user_id"] == "acme/xiaoyi":
            cause = Cause(event_ids=(item["event_id"],), topic="memstream.messages", partition=2, offset=offset)
        ms.runtime.service.ingest(InputEnvelope.model_validate(item), cause)
    # another app's user of the same name, and a user whose words look like HTML
    ms.add([{"role": "user", "content": "我住在北京，喜欢吃饺子。", "chat_time": "2025-05-01T10:00:00+08:00"}],
           user_id="globex/xiaoyi", app_id="globex", event_id="globex-1")
    ms.add([{"role": "user", "content": "<img src=x onerror=alert(1)> I live in Hangzhou.",
             "chat_time": "2025-05-01T10:00:00+08:00"}], user_id="acme/mallory", app_id="acme", event_id="mallory-1")
    yield ms
    ms.close()


@pytest.fixture(scope="module")
def server(store):
    from fastapi import FastAPI, HTTPException, Request

    import webui

    def authorize(request: Request) -> str:
        scheme, _, key = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() not in ("token", "bearer") or not key:
            raise HTTPException(401, "missing API key")
        if key not in KEYS:
            raise HTTPException(401, "unknown API key")
        return KEYS[key]

    app = FastAPI()
    app.include_router(webui.build_router(lambda: store, authorize))
    port = _free_port()
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not srv.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True, timeout=60_000)
        yield b
        b.close()


@pytest.fixture(scope="module")
def shots(tmp_path_factory) -> Path:
    target = os.environ.get("WEBUI_SHOTS_DIR")
    path = Path(target) if target else tmp_path_factory.mktemp("webui-shots")
    path.mkdir(parents=True, exist_ok=True)
    return path


def _page(browser, width: int = 1100, height: int = 900):
    context = browser.new_context(viewport={"width": width, "height": height}, locale="zh-CN")
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("dialog", lambda dialog: (errors.append("dialog: " + dialog.message), dialog.dismiss()))
    page.errors = errors  # type: ignore[attr-defined]
    return context, page


@pytest.fixture
def acme(browser, server):
    context, page = _page(browser)
    response = page.goto(f"{server}/ui/users/xiaoyi?key=acme-key")
    assert response.status == 200 and page.url == f"{server}/ui/users/xiaoyi"  # the key left the URL
    yield page
    assert page.errors == []  # type: ignore[attr-defined]
    context.close()


def _profile_id(store) -> str:
    facts = [m for m in store.memories(user_id="acme/xiaoyi") if m["kind"] == "fact"]
    assert len(facts) == 1, facts
    return facts[0]["memory_id"]


# ------------------------------------------------------------------ the pages

def test_key_once_becomes_an_httponly_strict_cookie_for_the_view_only(acme, server):
    cookies = {c["name"]: c for c in acme.context.cookies(server + "/ui/")}
    cookie = cookies["memstream_ui_key"]
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and cookie["path"] == "/ui"
    assert acme.evaluate("document.cookie") == ""  # scripts cannot read it


def test_user_page_groups_current_memories_by_kind_with_version_and_stage(acme, store, shots):
    facts = acme.locator("#kind-fact li.memory")
    assert facts.count() == 1
    assert "用户叫小忆，在成都居住" in facts.first.inner_text()
    assert facts.first.locator(".badge.version").inner_text() == "V2"
    assert facts.first.locator(".badge.stage").inner_text() == "fine"
    for kind in ("preference", "tool", "skill", "knowledge"):
        assert acme.locator(f"#kind-{kind}").is_visible()
    episodes = acme.locator("details#kind-episode")
    assert episodes.get_attribute("open") is None  # folded
    assert "上海" not in acme.locator(".kinds").inner_text()  # the 2025 statement is only in V1 now
    acme.screenshot(path=str(shots / "webui-user.png"), full_page=True)

    acme.fill("form.search input[type=search]", "住在哪里")
    acme.click("form.search button")
    acme.wait_for_selector("#results")
    assert "成都" in acme.locator("#results").inner_text()


def test_preferences_show_their_reasoning(browser, server, shots):
    context, page = _page(browser)
    page.goto(f"{server}/ui/users/xiaoming?key=acme-key")
    prefs = page.locator("#kind-preference li.memory")
    assert prefs.count() >= 1
    text = page.locator("#kind-preference").inner_text()
    assert "七天" in text and "Reasoning" in text, text
    context.close()


def test_memory_page_shows_the_v1_to_v2_timeline_with_the_diff(acme, store, server, shots):
    acme.click("#kind-fact li.memory .content a")
    acme.wait_for_selector("ol.timeline")
    memory_id = _profile_id(store)
    assert acme.url == f"{server}/ui/memories/{memory_id}"
    assert acme.locator("p.chain").inner_text() == "V1 → V2"
    v1, v2 = acme.locator("li.version#v1"), acme.locator("li.version#v2")
    assert "用户叫小忆，在上海居住，不能吃辣" in v1.locator(".content").inner_text()
    assert v2.locator(".content del").all_inner_texts()[0] == "上海"
    assert v2.locator(".content ins").all_inner_texts()[0] == "成都"
    # stage, reason and deciding rule of each version
    assert v1.locator(".badge.stage").inner_text() == "fine" and v1.locator(".reason").inner_text() == "new"
    assert v2.locator(".reason").inner_text() == "conflict"
    assert v2.locator(".decided-by").inner_text() == store.history(memory_id)[1]["decided_by"]
    # the source message that caused V2, with its chat_time, and the Kafka position
    v2_sources = v2.locator("ul.sources").first.inner_text()
    assert "2026-04-20T19:00:00+08:00" in v2_sources and "最近我搬去成都了" in v2_sources
    assert "我是小忆" in v1.locator("ul.sources").first.inner_text()
    kafka = v2.locator(".cause .kafka").inner_text()
    assert "memstream.messages" in kafka and "partition 2" in kafka and "offset 3" in kafka
    acme.screenshot(path=str(shots / "webui-memory.png"), full_page=True)


def test_time_control_shows_v1_before_the_second_statement(acme, store, shots):
    acme.fill("input[name=at]", "2026-04-19")  # the change event submits the form (webui.js)
    acme.wait_for_url("**at=2026-04-19**")
    fact = acme.locator("#kind-fact li.memory")
    assert fact.count() == 1 and fact.get_attribute("data-memory-id") == _profile_id(store)
    assert "在上海居住" in fact.inner_text() and fact.locator(".badge.version").inner_text() == "V1"
    assert "2026-04-19" in acme.locator("#asof").inner_text()
    acme.screenshot(path=str(shots / "webui-asof.png"), full_page=True)

    acme.fill("input[name=at]", "2026-04-20")
    acme.wait_for_url("**at=2026-04-20**")
    assert acme.locator("#kind-fact li.memory .badge.version").inner_text() == "V2"
    acme.fill("input[name=at]", "2025-01-01")
    acme.wait_for_url("**at=2025-01-01**")
    assert acme.locator("#kind-fact li.memory").count() == 0  # nothing said yet
    acme.click("a.now")
    assert "成都" in acme.locator("#kind-fact").inner_text()


def test_archived_episode_links_to_the_memory_that_replaced_it(acme, store, server, shots):
    acme.check("input[name=archived]")
    acme.wait_for_url("**archived=1**")
    acme.locator("details#kind-episode summary").click()
    episode = acme.locator("#kind-episode li.memory", has_text="我是小忆，现在在上海居住")
    assert episode.locator(".badge.status-archived").inner_text() == "archived"
    episode.locator(".content a").click()
    acme.wait_for_selector("#superseded")
    assert "replaced by" in acme.locator("#superseded h2").inner_text()
    acme.screenshot(path=str(shots / "webui-episode.png"), full_page=True)
    acme.click("#superseded a.successor")
    acme.wait_for_url(f"{server}/ui/memories/{_profile_id(store)}")
    assert acme.locator("p.chain").inner_text() == "V1 → V2"


def test_a_key_of_another_app_never_opens_acme_users(browser, server, store):
    memory_id = _profile_id(store)
    context, page = _page(browser)
    assert page.goto(f"{server}/ui/users/xiaoyi?key=globex-key").status == 200
    text = page.locator("main").inner_text()
    assert "北京" in text and "上海" not in text and "成都" not in text  # globex's own xiaoyi
    response = page.goto(f"{server}/ui/memories/{memory_id}")
    assert response.status == 404 and "No such memory for this app" in page.content()
    assert "小忆" not in page.locator("main").inner_text()
    # the API's header is honoured too, and a key nobody knows gets the sign-in form
    api = page.request
    assert api.get(f"{server}/ui/memories/{memory_id}", headers={"Authorization": "Token globex-key"}).status == 404
    assert api.get(f"{server}/ui/memories/{memory_id}", headers={"Authorization": "Bearer acme-key"}).status == 200
    context.close()

    context, page = _page(browser)
    response = page.goto(f"{server}/ui/users/xiaoyi?key=nobody")
    assert response.status == 401 and page.locator("form.login").is_visible()
    assert context.cookies(server + "/ui/") == []
    assert page.goto(f"{server}/ui/memories/{memory_id}").status == 401
    context.close()


def test_sign_in_form_and_sign_out(browser, server):
    context, page = _page(browser)
    assert page.goto(f"{server}/ui/users/xiaoyi").status == 401
    page.fill("form.login input[name=key]", "acme-key")
    page.click("form.login button")
    page.wait_for_url(f"{server}/ui/users/xiaoyi")
    assert "成都" in page.locator("#kind-fact").inner_text()
    page.click("form.logout button")
    page.wait_for_url(f"{server}/ui/")
    assert page.locator("form.login").is_visible() and context.cookies(server + "/ui/") == []
    context.close()


def test_user_content_is_escaped(browser, server):
    context, page = _page(browser)
    page.goto(f"{server}/ui/users/mallory?key=acme-key&archived=1")
    page.locator("details#kind-episode summary").click()
    assert "<img src=x onerror=alert(1)>" in page.locator(".kinds").inner_text()
    assert page.locator(".kinds img").count() == 0
    assert page.errors == []  # type: ignore[attr-defined]
    context.close()


def test_phone_width_is_readable(browser, server, store, shots):
    context, page = _page(browser, width=390, height=844)
    page.goto(f"{server}/ui/memories/{_profile_id(store)}?key=acme-key")
    page.wait_for_selector("ol.timeline")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    page.screenshot(path=str(shots / "webui-memory-phone.png"), full_page=True)
    page.goto(f"{server}/ui/users/xiaoyi")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    page.screenshot(path=str(shots / "webui-user-phone.png"), full_page=True)
    context.close()
    assert all((shots / name).stat().st_size > 1000 for name in ("webui-memory-phone.png", "webui-user-phone.png"))


def test_assets_come_from_the_package(server):
    import httpx

    css = httpx.get(f"{server}/ui/static/webui.css", timeout=10)
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    assert httpx.get(f"{server}/ui/static/..%2Fpages.py", timeout=10).status_code == 404
    page = httpx.get(f"{server}/ui/users/xiaoyi", headers={"Authorization": "Token acme-key"}, timeout=10)
    assert "default-src 'none'" in page.headers["content-security-policy"]
    assert "http" not in page.text.split("<main>")[0].replace('http-equiv', '')  # no external asset


def test_as_of_is_computed_from_the_histories_when_memories_cannot_travel(store):
    """The web view's own fallback (webui/timetravel.py) for a ``Memstream`` without time travel."""
    from webui.timetravel import memories_as_of, parse_moment

    class Untravelled:
        def memories(self, *, user_id, include_archived=False, kinds=()):
            return store.runtime.timeline.memories(user_id, include_archived=include_archived, kinds=list(kinds))

        def history(self, memory_id, *, user_id=None):
            return store.runtime.timeline.history(memory_id)

    def facts(moment, clock="said"):
        found, native = memories_as_of(Untravelled(), "acme/xiaoyi", parse_moment(moment), clock)
        assert native is False
        return [m for m in found if m["kind"] == "fact"]

    before = facts("2026-04-19")
    assert len(before) == 1 and before[0]["version"] == 1 and "上海" in before[0]["content"]
    assert facts("2026-04-20")[0]["version"] == 2
    assert facts("2025-03-14") == []
    assert facts("2000-01-01", "recorded") == [] and facts("2999-01-01", "recorded")[0]["version"] == 2


def test_search_under_the_time_control(acme, store):
    import inspect

    acme.goto(acme.url + "?at=2026-04-19&q=" + "住在哪里")
    results = acme.locator("#results").inner_text()
    if "valid_at" in inspect.signature(store.search).parameters:
        assert "上海" in results and "成都" not in results  # searched as of that day
    else:
        assert "the current memories" in acme.locator("#asof").inner_text()


@pytest.fixture(scope="module")
def api_server(store):
    """``memstream serve``'s own app (api/server.py), which mounts the web view itself."""
    server_module = pytest.importorskip("api.server")
    from application.settings import Settings

    settings = Settings(data_dir=store.settings.data_dir, api_keys="acme-key=acme,globex-key=globex")
    app = server_module.create_app(settings, ms=store)
    if not getattr(app.state, "ui_mounted", True):
        pytest.skip("api/ did not mount the web view")
    port = _free_port()
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not srv.started:
        assert thread.is_alive() and time.monotonic() < deadline, "memstream serve's app did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(timeout=15)


def test_mounted_by_the_http_api_with_its_keys(browser, api_server, store):
    memory_id = _profile_id(store)
    context, page = _page(browser)
    assert page.goto(f"{api_server}/ui/memories/{memory_id}?key=acme-key").status == 200
    assert page.locator("p.chain").inner_text() == "V1 → V2"
    assert page.locator("li.version#v2 .content ins").all_inner_texts()[0] == "成都"
    context.close()
    context, page = _page(browser)
    assert page.goto(f"{api_server}/ui/memories/{memory_id}?key=globex-key").status == 404
    assert "小忆" not in page.locator("main").inner_text()
    assert page.goto(f"{api_server}/ui/users/xiaoyi?key=wrong").status == 401
    context.close()
