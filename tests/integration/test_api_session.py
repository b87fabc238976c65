"""runneld's session login and OPTIONS metadata, as AWX 21.14.0 answers them
(awx/api/generics.py LoggedLoginView, awx/main/middleware.py
SessionTimeoutMiddleware, awx/api/metadata.py), and users/N/personal_tokens/.
Each test is the attack or the client's expectation.

Environment: RUNNELD (default <repo>/build/service/runneld).
"""

import os
import re
import shutil
import tempfile
import time
from pathlib import Path

import pytest
import requests

from runneld_harness import PASSWORD, RUNNELD, Runneld, wait_for

pytestmark = pytest.mark.skipif(not os.path.exists(RUNNELD), reason="runneld is not built: " + RUNNELD)

IDLE = 3  # --session-cookie-age of the test server, seconds


@pytest.fixture(scope="module")
def d():
    tmp = Path(tempfile.mkdtemp(prefix="runneld-session-"))
    srv = Runneld(tmp / "state", extra=["--isolation-base-path", str(tmp),
                                        "--session-cookie-age", str(IDLE)]).start()
    try:
        yield srv
    finally:
        srv.stop()
        shutil.rmtree(tmp, ignore_errors=True)


_seq = [0]


def uniq(prefix):
    _seq[0] += 1
    return "%s-%d-%d" % (prefix, os.getpid(), _seq[0])


def login(d, username="admin", password=PASSWORD, next_="/api/v2/me/"):
    """Log in as the awx CLI does; returns the requests.Session and the login response."""
    s = requests.Session()
    r = s.get(d.url("/api/"), timeout=30)
    assert r.status_code == 200
    token = s.cookies.get("csrftoken")
    assert token and len(token) == 64, r.headers
    r = s.post(d.url("/api/login/"), data={"username": username, "password": password, "next": next_},
               headers={"X-CSRFToken": token, "Referer": d.url("/api/login/")}, allow_redirects=False,
               timeout=30)
    return s, r


def unsafe(s, d, method, path, **kw):
    """A write through a session, with the CSRF header the CLI sends."""
    kw.setdefault("headers", {})["X-CSRFToken"] = s.cookies.get("csrftoken")
    return s.request(method, d.url(path), timeout=30, **kw)


def test_login_answers_as_awx(d):
    s, r = login(d)
    assert r.status_code == 302, r.text
    assert r.headers["Location"] == "/api/v2/me/"
    assert r.headers["X-API-Session-Cookie-Name"] == "awx_sessionid"
    cookies = r.headers["Set-Cookie"]
    assert re.search(r"awx_sessionid=[0-9a-f]{64}; Max-Age=%d; Path=/; SameSite=Lax; HttpOnly" % IDLE,
                     cookies), cookies
    # the CSRF token is renewed at login (Django's rotate_token)
    assert s.cookies.get("awx_sessionid")
    me = s.get(d.url("/api/v2/me/"), timeout=30)
    assert me.status_code == 200 and me.json()["results"][0]["username"] == "admin"
    assert me.headers["Session-Timeout"] == str(IDLE)
    assert "User admin logged in" in d.log()
    # the session is stored as a hash: its id is not in runneld's log or state files
    sid = s.cookies.get("awx_sessionid")
    assert sid not in d.log()
    for root, _, files in os.walk(d.state_dir):
        for f in files:
            if not os.path.isfile(os.path.join(root, f)):
                continue  # the bus socket
            with open(os.path.join(root, f), "rb") as fh:
                assert sid.encode() not in fh.read(), f


def test_login_form_and_next_stays_on_this_server(d):
    s = requests.Session()
    r = s.get(d.url("/api/login/?next=/api/v2/"), timeout=30)
    assert r.status_code == 200 and "text/html" in r.headers["Content-Type"]
    tok = s.cookies.get("csrftoken")
    assert 'name="csrfmiddlewaretoken" value="%s"' % tok in r.text
    # the form field is accepted in place of the header (a browser's post)
    r = s.post(d.url("/api/login/"), data={"username": "admin", "password": PASSWORD,
                                            "next": "//evil.example/", "csrfmiddlewaretoken": tok},
               allow_redirects=False, timeout=30)
    assert r.status_code == 302 and r.headers["Location"] == "/api/", r.headers
    r = requests.get(d.url("/api/login/"), headers={"Accept": "application/json"}, timeout=30)
    assert r.status_code == 406


def test_login_refused_without_csrf(d):
    s = requests.Session()
    # no cookie at all
    r = s.post(d.url("/api/login/"), data={"username": "admin", "password": PASSWORD},
               allow_redirects=False, timeout=30)
    assert r.status_code == 403 and "CSRF" in r.json()["detail"]
    s.get(d.url("/api/"), timeout=30)
    # a cookie, but no header
    r = s.post(d.url("/api/login/"), data={"username": "admin", "password": PASSWORD},
               allow_redirects=False, timeout=30)
    assert r.status_code == 403 and "CSRF" in r.json()["detail"]
    # a token this server never made, in both places
    s.cookies.set("csrftoken", "a" * 64)
    r = s.post(d.url("/api/login/"), data={"username": "admin", "password": PASSWORD},
               headers={"X-CSRFToken": "a" * 64}, allow_redirects=False, timeout=30)
    assert r.status_code == 403
    assert "awx_sessionid" not in r.headers.get("Set-Cookie", "")


def test_bad_password_is_401_and_logged(d):
    s, r = login(d, password="not-the-password")
    assert r.status_code == 401
    assert "awx_sessionid" not in r.headers.get("Set-Cookie", "")
    assert 'Login failed for user "admin"' in d.log()
    assert "not-the-password" not in d.log()


def test_unsafe_method_needs_csrf_header(d):
    s, r = login(d)
    assert r.status_code == 302
    # the session authenticates, but a write without the header is refused
    r = s.post(d.url("/api/v2/organizations/"), json={"name": uniq("o")}, timeout=30)
    assert r.status_code == 403 and r.json()["detail"].startswith("CSRF Failed"), r.text
    # a header that is not the session's token
    r = s.post(d.url("/api/v2/organizations/"), json={"name": uniq("o")},
               headers={"X-CSRFToken": "0" * 64}, timeout=30)
    assert r.status_code == 403
    # another login's token does not fit this session
    s2, _ = login(d)
    r = s.post(d.url("/api/v2/organizations/"), json={"name": uniq("o")},
               headers={"X-CSRFToken": s2.cookies.get("csrftoken")}, timeout=30)
    assert r.status_code == 403
    name = uniq("o")
    r = unsafe(s, d, "POST", "/api/v2/organizations/", json={"name": name})
    assert r.status_code == 201 and r.json()["name"] == name
    # reads need no token
    assert s.get(d.url("/api/v2/organizations/?name=" + name), timeout=30).json()["count"] == 1


def test_logout_ends_the_session(d):
    s, _ = login(d)
    sid = s.cookies.get("awx_sessionid")
    assert s.get(d.url("/api/v2/me/"), timeout=30).status_code == 200
    r = s.get(d.url("/api/logout/"), allow_redirects=False, timeout=30)
    assert r.status_code == 302 and r.headers["Location"] == "/api/"
    assert "awx_sessionid=\"\"" in r.headers["Set-Cookie"]
    # the old cookie, replayed, is dead on the server side
    r = requests.get(d.url("/api/v2/me/"), cookies={"awx_sessionid": sid}, timeout=30)
    assert r.status_code == 401


def test_idle_session_expires(d):
    s, _ = login(d)
    sid = s.cookies.get("awx_sessionid")
    # activity keeps it alive past its idle time
    for _ in range(3):
        time.sleep(IDLE / 2.0)
        assert s.get(d.url("/api/v2/me/"), timeout=30).status_code == 200
    time.sleep(IDLE + 1.5)
    r = requests.get(d.url("/api/v2/me/"), cookies={"awx_sessionid": sid}, timeout=30)
    assert r.status_code == 401


def test_password_change_ends_sessions(d):
    name, pw = uniq("u"), "first-Passw0rd!"
    u = d.create("users", username=name, password=pw)
    s, r = login(d, name, pw)
    assert r.status_code == 302
    assert s.get(d.url("/api/v2/me/"), timeout=30).json()["results"][0]["username"] == name
    r = d.req("PATCH", "/api/v2/users/%d/" % u["id"], json={"password": "second-Passw0rd!"})
    assert r.status_code == 200
    assert s.get(d.url("/api/v2/me/"), timeout=30).status_code == 401
    # and a new login with the new password works
    s, r = login(d, name, "second-Passw0rd!")
    assert r.status_code == 302
    # a deleted user's session dies too
    assert d.req("DELETE", "/api/v2/users/%d/" % u["id"]).status_code == 204
    assert s.get(d.url("/api/v2/me/"), timeout=30).status_code == 401


def test_personal_tokens_are_the_callers_only(d):
    pw = "tok-Passw0rd!"
    a = d.create("users", username=uniq("a"), password=pw)
    b = d.create("users", username=uniq("b"), password=pw)
    auth_a = (a["username"], pw)
    r = requests.post(d.url("/api/v2/users/%d/personal_tokens/" % a["id"]), auth=auth_a,
                      json={"description": "AWX CLI", "application": None, "scope": "write"}, timeout=30)
    assert r.status_code == 201, r.text
    tok = r.json()
    assert tok["type"] == "o_auth2_access_token" and tok["user"] == a["id"] and len(tok["token"]) > 20
    me = requests.get(d.url("/api/v2/me/"), headers={"Authorization": "Bearer " + tok["token"]}, timeout=30)
    assert me.json()["results"][0]["username"] == a["username"]
    # a's list holds a's token, shown censored
    lst = requests.get(d.url("/api/v2/users/%d/personal_tokens/" % a["id"]), auth=auth_a, timeout=30).json()
    assert [t["id"] for t in lst["results"]] == [tok["id"]]
    assert lst["results"][0]["token"] != tok["token"]
    # another user's tokens: neither created nor listed, even by a superuser
    r = requests.post(d.url("/api/v2/users/%d/personal_tokens/" % b["id"]), auth=auth_a, json={}, timeout=30)
    assert r.status_code == 403
    r = requests.get(d.url("/api/v2/users/%d/personal_tokens/" % b["id"]), auth=auth_a, timeout=30)
    assert r.status_code == 403
    r = d.req("POST", "/api/v2/users/%d/personal_tokens/" % a["id"], json={})
    assert r.status_code == 403
    assert requests.get(d.url("/api/v2/users/%d/personal_tokens/" % b["id"]),
                        auth=(b["username"], pw), timeout=30).json()["count"] == 0


def test_options_list_shows_create_fields(d):
    r = d.req("OPTIONS", "/api/v2/job_templates/")
    assert r.status_code == 200
    m = r.json()
    assert m["name"] == "Job Template List" and "application/json" in m["renders"]
    post, get = m["actions"]["POST"], m["actions"]["GET"]
    assert post["name"] == {"type": "string", "required": True, "label": "Name",
                            "help_text": "Name of this job template.", "max_length": 512}
    assert post["job_type"]["type"] == "choice" and post["job_type"]["default"] == "run"
    assert [c[0] for c in post["job_type"]["choices"]] == ["run", "check"]
    assert post["inventory"]["type"] == "id" and post["verbosity"]["choices"][0] == [0, "0 (Normal)"]
    assert "status" not in post and "id" not in post  # read-only fields only in GET
    assert get["id"]["type"] == "integer" and get["status"]["filterable"] is True
    assert "required" not in get["name"] and "default" not in get["name"]
    assert m["types"] == ["job_template"] and "name" in m["search_fields"]
    assert "PUT" not in m["actions"]
    # the same table validates: what OPTIONS offers is what is accepted
    r = d.req("POST", "/api/v2/job_templates/", json={"name": uniq("jt"), "job_type": "scan"})
    assert r.status_code == 400 and r.json() == {"job_type": ['"scan" is not a valid choice.']}
    r = d.req("POST", "/api/v2/organizations/", json={"name": "x" * 513})
    assert r.status_code == 400 and "512" in r.json()["name"][0]


def test_options_detail_and_actions(d):
    org = d.create("organizations", name=uniq("o"))
    r = d.req("OPTIONS", "/api/v2/organizations/%d/" % org["id"])
    m = r.json()
    assert set(m["actions"]) == {"GET", "PUT"}
    assert "PUT" in r.headers["Allow"] and "DELETE" in r.headers["Allow"]
    # the awx CLI reads the Allow header of OPTIONS <list>/1/ for modify/delete
    assert "PUT" in d.req("OPTIONS", "/api/v2/job_templates/1/").headers["Allow"]
    launch = d.req("OPTIONS", "/api/v2/job_templates/1/launch/").json()
    assert launch["actions"]["POST"]["extra_vars"]["type"] == "json"
    assert launch["actions"]["POST"]["credentials"]["type"] == "list_of_ids"
    assert launch["actions"]["POST"]["limit"]["type"] == "string"
    upd = d.req("OPTIONS", "/api/v2/projects/1/update/").json()
    assert upd["actions"]["POST"] == {}
    adhoc = d.req("OPTIONS", "/api/v2/ad_hoc_commands/").json()["actions"]["POST"]
    assert adhoc["inventory"]["required"] is True and adhoc["module_args"]["required"] is False
    assert "ping" in [c[0] for c in adhoc["module_name"]["choices"]]
    users = d.req("OPTIONS", "/api/v2/users/").json()["actions"]
    assert users["POST"]["password"]["write_only"] is True and "password" not in users["GET"]
    # OPTIONS needs a login, as any other method
    assert requests.options(d.url("/api/v2/job_templates/"), timeout=30).status_code == 401


def test_options_methods_follow_the_callers_role(d):
    pw = "opt-Passw0rd!"
    u = d.create("users", username=uniq("plain"), password=pw)
    auth = (u["username"], pw)
    m = requests.options(d.url("/api/v2/users/"), auth=auth, timeout=30).json()
    assert set(m["actions"]) == {"GET"}  # only superusers create users
    m = requests.options(d.url("/api/v2/credential_types/"), auth=auth, timeout=30).json()
    assert "POST" not in m["actions"]
    m = requests.options(d.url("/api/v2/inventories/"), auth=auth, timeout=30).json()
    # AWX's InventoryAccess.can_add(None): an organization's inventory_admin_role (test_rbac.py)
    assert "POST" not in m["actions"]
    # a managed credential type is read-only, even for the superuser
    ct = d.get("/api/v2/credential_types/?name=Machine")["results"][0]
    assert set(d.req("OPTIONS", "/api/v2/credential_types/%d/" % ct["id"]).json()["actions"]) == {"GET"}
    # a read token shows no write
    tok = d.post("/api/v2/tokens/", {"scope": "read"})["token"]
    m = requests.options(d.url("/api/v2/inventories/"), headers={"Authorization": "Bearer " + tok},
                         timeout=30).json()
    assert set(m["actions"]) == {"GET"}
