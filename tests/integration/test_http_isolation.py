"""Cross-app isolation through real HTTP: the same user id under two apps is two users,
and no key reads, finds, changes or follows another app's memories and inputs.

The property test draws apps, keys and user ids (the same user ids under several apps
on purpose), writes a distinct fact for every (app, user), then checks every read
each key can make."""

from __future__ import annotations

import itertools
import unicodedata
import uuid

import pytest
from hypothesis import HealthCheck, given, settings as hsettings, strategies as st

from api.auth import KeyRing
from application.settings import Settings
from tests.integration.test_http_api import add, client, live_server

def _normal(user_id: str) -> str:
    return unicodedata.normalize("NFC", user_id.strip())


WORDS = ["Oslo", "Lima", "Quito", "Hanoi", "Accra", "Dakar", "Minsk", "Riga", "Sofia", "Tunis", "Perth", "Cusco"]


@pytest.fixture(scope="module")
def server(tmp_path_factory, model_dir):
    settings = Settings(data_dir=tmp_path_factory.mktemp("iso") / "data", model_dir=model_dir,
                        extractor="rules", api_keys="k1=one,k2=two", kafka_url="")
    with live_server(settings) as (base, app):
        yield base, app


def test_same_user_id_in_two_apps_is_two_users(server):
    base, _ = server
    with client(base, "k1") as one, client(base, "k2") as two:
        add(one, "alice", "I live in Oslo.")
        add(two, "alice", "I live in Lima.")
        mine = one.post("/get/memory", json={"user_id": "alice"}).json()["data"]["memory_detail_list"]
        theirs = two.post("/get/memory", json={"user_id": "alice"}).json()["data"]["memory_detail_list"]
        assert mine and theirs and {m["id"] for m in mine}.isdisjoint({m["id"] for m in theirs})
        assert all("Lima" not in m["memory_value"] for m in mine)
        hits = one.post("/search/memory", json={"user_id": "alice", "query": "Lima"}).json()["data"]
        assert all("Lima" not in m["memory_value"] for m in hits["memory_detail_list"])
        foreign = theirs[0]["id"]
        assert one.get(f"/v1/memories/{foreign}").status_code == 404
        assert one.get(f"/v1/memories/{foreign}/history").status_code == 404
        assert one.post("/delete/memory", json={"user_id": "alice", "memory_ids": [foreign]}).json()["data"] == {
            "deleted": [], "not_found": [foreign]}
        assert one.post("/add/feedback", json={"user_id": "alice", "memory_id": foreign,
                                               "feedback_content": "hijacked"}).status_code == 404
        assert two.get(f"/v1/memories/{foreign}").json()["data"]["status"] == "active"
        # a user id that spells another app's stored id stays inside the caller's app
        assert one.post("/get/memory", json={"user_id": "two/alice"}).json()["data"]["total"] == 0


app_ids = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_.", min_size=1, max_size=8)
user_ids = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc", "Zs", "Zl", "Zp")), min_size=1,
                   max_size=12).filter(lambda u: u.strip() and not _normal(u).startswith("kb:"))


@hsettings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                   HealthCheck.too_slow])
@given(apps=st.lists(app_ids, min_size=2, max_size=3, unique=True),
       users=st.lists(user_ids, min_size=1, max_size=2, unique_by=lambda u: _normal(u)))
def test_nothing_crosses_an_app(server, apps, users):
    base, app = server
    keys = {a: f"key-{uuid.uuid4().hex}" for a in apps}
    previous = app.state.keys
    app.state.keys = KeyRing(",".join(f"{k}={a}" for a, k in keys.items()))
    run = uuid.uuid4().hex[:8]
    try:
        written: dict[tuple[str, str], dict] = {}
        for index, (a, user) in enumerate(itertools.product(apps, users)):
            word = f"{WORDS[index % len(WORDS)]}{run}{index}"
            with client(base, keys[a]) as c:
                task = add(c, user, f"I live in {word}.")["task_id"]
                written[(a, user)] = {"word": word, "task": task}
        for a in apps:
            with client(base, keys[a]) as c:
                for user in users:
                    own = written[(a, user)]["word"]
                    others = [v["word"] for (oa, ou), v in written.items() if (oa, ou) != (a, user)]
                    listed = c.post("/get/memory", json={"user_id": user, "size": 100}).json()["data"]
                    texts = " ".join(m["memory_value"] for m in listed["memory_detail_list"])
                    assert own in texts
                    assert not any(w in texts for w in others), (a, user)
                    assert all(m["user_id"] == user for m in listed["memory_detail_list"])
                    for other in others:
                        found = c.post("/search/memory", json={"user_id": user, "query": other}).json()["data"]
                        shown = " ".join(m["memory_value"] for lst in found.values() for m in lst)
                        assert not any(w in shown for w in others)
                    native = c.get("/v1/memories", params={"user_id": user}).json()["data"]
                    assert all(m["app_id"] == a and m["user_id"] == user for m in native)
                for (oa, ou), v in written.items():
                    status = c.post("/get/status", json={"task_id": v["task"]})
                    raw = c.get(f"/v1/inputs/{v['task']}")
                    if oa == a:
                        assert status.status_code == 200 and raw.json()["data"]["user_id"] == ou
                    else:
                        assert status.status_code == 404 and raw.status_code == 404
                    if oa != a:
                        assert c.post("/search/memory", json={"user_id": ou, "query": "x", "app_id": oa}
                                      ).status_code == 403
    finally:
        app.state.keys = previous
