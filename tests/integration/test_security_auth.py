"""runneld's trust boundary, part "auth": who may do what, and what a request
may put in the store. Every test is written as the attack (issue 9, items 11
and 12, and their siblings); the rules are AWX 21.14.0's.

Environment: RUNNELD (default <repo>/build/service/runneld).
"""

import base64
import json
import os
import re
import shutil
import socket
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest
import requests

from runneld_harness import (PASSWORD, REPO_ROOT, RUNNELD, Runneld, make_git_project, setup_world,
                             wait_for)

pytestmark = pytest.mark.skipif(not os.path.exists(RUNNELD), reason="runneld is not built: " + RUNNELD)

DENIED = "You do not have permission to perform this action."


@pytest.fixture(scope="module")
def world():
    tmp = Path(tempfile.mkdtemp(prefix="runneld-auth-"))
    repo, _ = make_git_project(tmp)
    d = Runneld(tmp / "state", extra=["--isolation-base-path", str(tmp)]).start()
    try:
        w = setup_world(d, repo)
        w.update(d=d, tmp=tmp)
        yield w
    finally:
        d.stop()
        shutil.rmtree(tmp, ignore_errors=True)


_seq = [0]


def uniq(prefix):
    _seq[0] += 1
    return "%s-%d-%d" % (prefix, os.getpid(), _seq[0])


def mk_user(d, password, superuser=False):
    u = d.create("users", username=uniq("u"), password=password, is_superuser=superuser)
    return u


def as_basic(d, user, password, method, path, **kw):
    kw.setdefault("timeout", 30)
    return requests.request(method, d.url(path), auth=(user, password), **kw)


def as_bearer(d, token, method, path, **kw):
    kw.setdefault("timeout", 30)
    headers = dict(kw.pop("headers", {}))
    headers["Authorization"] = "Bearer " + token
    return requests.request(method, d.url(path), headers=headers, **kw)


def new_token(d, auth, **fields):
    r = requests.post(d.url("/api/v2/tokens/"), auth=auth, json=fields, timeout=30)
    assert r.status_code == 201, r.text
    return r.json()


def iso(s):
    return datetime.strptime(s[:19], "%Y-%m-%dT%H:%M:%S").replace(tzinfo=timezone.utc)


# --------------------------------------------------------------------------
# 11. Basic auth cache, token scopes, expiry, logout

def test_old_password_refused_right_after_change(world):
    d = world["d"]
    u = mk_user(d, "first-pw-1")
    name = u["username"]
    # warm the server's Basic cache with the old password
    for _ in range(2):
        assert as_basic(d, name, "first-pw-1", "GET", "/api/v2/me/").status_code == 200
    r = d.req("PATCH", "/api/v2/users/%d/" % u["id"], json={"password": "second-pw-2"})
    assert r.status_code == 200, r.text
    # at once: the old password is refused, the new one works
    r = as_basic(d, name, "first-pw-1", "GET", "/api/v2/me/")
    assert r.status_code == 401, r.text
    assert as_basic(d, name, "second-pw-2", "GET", "/api/v2/me/").status_code == 200
    # the user changes it again themselves: same rule
    r = as_basic(d, name, "second-pw-2", "PATCH", "/api/v2/users/%d/" % u["id"], json={"password": "third-pw-3"})
    assert r.status_code == 200, r.text
    assert as_basic(d, name, "second-pw-2", "GET", "/api/v2/me/").status_code == 401
    assert as_basic(d, name, "third-pw-3", "GET", "/api/v2/me/").status_code == 200


def test_password_change_keeps_tokens_as_awx(world):
    """AWX keeps a user's OAuth2 tokens valid across a password change."""
    d = world["d"]
    u = mk_user(d, "tok-pw-1")
    tok = new_token(d, (u["username"], "tok-pw-1"))["token"]
    assert d.req("PATCH", "/api/v2/users/%d/" % u["id"], json={"password": "tok-pw-2"}).status_code == 200
    assert as_bearer(d, tok, "GET", "/api/v2/me/").status_code == 200


def test_deleted_user_cached_credentials_and_tokens_refused(world):
    d = world["d"]
    u = mk_user(d, "gone-pw")
    name = u["username"]
    tok = new_token(d, (name, "gone-pw"))["token"]
    assert as_basic(d, name, "gone-pw", "GET", "/api/v2/me/").status_code == 200
    assert as_bearer(d, tok, "GET", "/api/v2/me/").status_code == 200
    assert d.req("DELETE", "/api/v2/users/%d/" % u["id"]).status_code == 204
    assert as_basic(d, name, "gone-pw", "GET", "/api/v2/me/").status_code == 401
    assert as_bearer(d, tok, "GET", "/api/v2/me/").status_code == 401
    # the same name again, another password: the old one opens nothing
    d.create("users", username=name, password="new-owner-pw")
    assert as_basic(d, name, "gone-pw", "GET", "/api/v2/me/").status_code == 401
    assert as_bearer(d, tok, "GET", "/api/v2/me/").status_code == 401
    assert as_basic(d, name, "new-owner-pw", "GET", "/api/v2/me/").status_code == 200


def test_demoted_superuser_loses_rights_at_once(world):
    """runneld has no is_active; taking is_superuser away is the deactivation
    there is: a cached credential or a token must not keep the old rights."""
    d = world["d"]
    u = mk_user(d, "boss-pw", superuser=True)
    tok = new_token(d, (u["username"], "boss-pw"))["token"]
    r = as_basic(d, u["username"], "boss-pw", "POST", "/api/v2/users/", json={"username": uniq("x"), "password": "p"})
    assert r.status_code == 201, r.text
    assert d.req("PATCH", "/api/v2/users/%d/" % u["id"], json={"is_superuser": False}).status_code == 200
    r = as_basic(d, u["username"], "boss-pw", "POST", "/api/v2/users/", json={"username": uniq("y"), "password": "p"})
    assert r.status_code == 403, r.text
    r = as_bearer(d, tok, "POST", "/api/v2/users/", json={"username": uniq("z"), "password": "p"})
    assert r.status_code == 403, r.text


def test_read_token_cannot_write(world):
    d = world["d"]
    org = d.create("organizations", name=uniq("scope-org"))
    tok = new_token(d, ("admin", PASSWORD), scope="read", description="reader")
    assert tok["scope"] == "read"
    t = tok["token"]
    # reads are fine
    assert as_bearer(d, t, "GET", "/api/v2/organizations/%d/" % org["id"]).status_code == 200
    assert as_bearer(d, t, "HEAD", "/api/v2/organizations/").status_code == 200
    # every write is refused, whatever the resource
    attempts = [
        ("POST", "/api/v2/organizations/", {"name": uniq("by-reader")}),
        ("PATCH", "/api/v2/organizations/%d/" % org["id"], {"description": "changed by reader"}),
        ("PUT", "/api/v2/organizations/%d/" % org["id"], {"name": "renamed-by-reader"}),
        ("DELETE", "/api/v2/organizations/%d/" % org["id"], None),
        ("POST", "/api/v2/job_templates/%d/launch/" % world["jt"]["id"], {}),
        ("POST", "/api/v2/tokens/", {"scope": "write"}),
        ("POST", "/api/v2/users/", {"username": uniq("r"), "password": "p"}),
        ("DELETE", "/api/v2/tokens/%d/" % tok["id"], None),
    ]
    for method, path, body in attempts:
        r = as_bearer(d, t, method, path, json=body)
        assert r.status_code == 403, (method, path, r.status_code, r.text)
        assert r.json()["detail"] == DENIED
    now = d.get("/api/v2/organizations/%d/" % org["id"])
    assert now["name"] == org["name"] and now["description"] == org["description"]
    assert d.get("/api/v2/organizations/?name=%s" % "renamed-by-reader")["count"] == 0
    assert d.get("/api/v2/tokens/?description=reader")["count"] >= 1
    # a write token writes
    w = new_token(d, ("admin", PASSWORD), scope="write")["token"]
    r = as_bearer(d, w, "PATCH", "/api/v2/organizations/%d/" % org["id"], json={"description": "by writer"})
    assert r.status_code == 200, r.text
    rw = new_token(d, ("admin", PASSWORD), scope="read write")["token"]
    r = as_bearer(d, rw, "PATCH", "/api/v2/organizations/%d/" % org["id"], json={"description": "by rw"})
    assert r.status_code == 200, r.text


def test_token_scope_must_be_awx_words(world):
    d = world["d"]
    for bad in ["admin", "read read", "", "write,read", "READ"]:
        r = d.req("POST", "/api/v2/tokens/", json={"scope": bad})
        assert r.status_code == 400, (bad, r.text)
        assert "scope" in r.json(), r.text
    tok = new_token(d, ("admin", PASSWORD), scope="read")
    # a PATCH cannot smuggle in a scope either
    r = d.req("PATCH", "/api/v2/tokens/%d/" % tok["id"], json={"scope": "sudo"})
    assert r.status_code == 400 and "scope" in r.json(), r.text
    assert d.get("/api/v2/tokens/%d/" % tok["id"])["scope"] == "read"


def test_tokens_carry_expires_as_awx(world):
    d = world["d"]
    before = datetime.now(timezone.utc)
    tok = new_token(d, ("admin", PASSWORD))
    assert tok["expires"], tok
    # AWX's default ACCESS_TOKEN_EXPIRE_SECONDS is 31536000000 s (about 1000 years)
    delta = (iso(tok["expires"]) - before).total_seconds()
    assert abs(delta - 31536000000) < 3600, tok["expires"]
    assert d.get("/api/v2/tokens/%d/" % tok["id"])["expires"] == tok["expires"]


def test_token_read_only_fields_ignored(world):
    d = world["d"]
    other = mk_user(d, "other-pw")
    tok = new_token(d, ("admin", PASSWORD), user=other["id"], expires="2000-01-01T00:00:00Z",
                    description="ro")
    me = d.get("/api/v2/me/")["results"][0]
    assert tok["user"] == me["id"]
    assert iso(tok["expires"]).year > 2100
    assert as_bearer(d, tok["token"], "GET", "/api/v2/me/").json()["results"][0]["id"] == me["id"]
    r = d.req("PATCH", "/api/v2/tokens/%d/" % tok["id"], json={"expires": "2000-01-01T00:00:00Z",
                                                              "user": other["id"]})
    assert r.status_code == 200, r.text
    got = d.get("/api/v2/tokens/%d/" % tok["id"])
    assert got["expires"] == tok["expires"] and got["user"] == me["id"]


def test_token_shown_only_at_creation(world):
    d = world["d"]
    tok = new_token(d, ("admin", PASSWORD), description="shown-once")
    secret = tok["token"]
    assert re.fullmatch(r"[0-9a-f]{32,}", secret), tok
    one = d.req("GET", "/api/v2/tokens/%d/" % tok["id"])
    assert one.json()["token"] == "************"
    assert secret not in one.text
    lst = d.req("GET", "/api/v2/tokens/?page_size=200")
    assert secret not in lst.text
    mine = [t for t in lst.json()["results"] if t["id"] == tok["id"]]
    assert mine and mine[0]["token"] == "************"
    r = d.req("PATCH", "/api/v2/tokens/%d/" % tok["id"], json={"description": "renamed"})
    assert r.status_code == 200 and secret not in r.text and r.json()["token"] == "************"


@pytest.fixture(scope="module")
def short_tokens():
    """A runneld whose tokens live 2 seconds."""
    tmp = Path(tempfile.mkdtemp(prefix="runneld-auth-exp-"))
    d = Runneld(tmp / "state", extra=["--isolation-base-path", str(tmp), "--token-expire-seconds", "2"]).start()
    try:
        yield d
    finally:
        d.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def test_expired_token_refused(short_tokens):
    d = short_tokens
    tok = new_token(d, ("admin", PASSWORD))
    assert tok["expires"]
    assert (iso(tok["expires"]) - datetime.now(timezone.utc)).total_seconds() < 60
    assert as_bearer(d, tok["token"], "GET", "/api/v2/me/").status_code == 200
    wait_for(lambda: as_bearer(d, tok["token"], "GET", "/api/v2/me/").status_code == 401, timeout=20,
             interval=0.5, what="the token to expire")
    # once expired, it stays refused, for writes as for reads
    assert as_bearer(d, tok["token"], "POST", "/api/v2/organizations/", json={"name": "late"}).status_code == 401
    assert d.get("/api/v2/organizations/?name=late")["count"] == 0


def test_web_logout_ends_its_session(world):
    """The calls the page makes (service/web/auth.js): the session login of
    /api/login/ with the CSRF token of the csrftoken cookie, then POST
    /api/logout/: the session is refused afterwards, however its cookie was
    kept. The page itself, in a browser, is tests/integration/test_web_browser.py
    (test_logout_leaves_nothing_and_ends_the_session: nothing left on screen)."""
    d = world["d"]
    src = (REPO_ROOT / "service" / "web" / "auth.js").read_text()
    assert '"/api/logout/"' in src and 'method: "POST"' in src and "X-CSRFToken" in src
    s = requests.Session()
    s.get(d.url("/api/login/"), timeout=30)
    csrf = s.cookies.get("csrftoken")
    r = s.post(d.url("/api/login/"), data={"username": "admin", "password": PASSWORD, "next": "/api/v2/"},
               headers={"X-CSRFToken": csrf}, allow_redirects=False, timeout=30)
    assert r.status_code == 302, r.text
    sid = s.cookies.get("awx_sessionid")
    assert sid and "httponly" in r.headers["Set-Cookie"].lower()
    kept = {"Cookie": "awx_sessionid=%s" % sid}
    assert requests.get(d.url("/api/v2/me/"), headers=kept, timeout=30).status_code == 200
    r = s.post(d.url("/api/logout/"), headers={"X-CSRFToken": s.cookies.get("csrftoken")}, allow_redirects=False,
               timeout=30)
    assert r.status_code in (200, 302), r.text
    # ended server-side: a copy of the cookie kept anywhere is now useless
    assert requests.get(d.url("/api/v2/me/"), headers=kept, timeout=30).status_code == 401


# --------------------------------------------------------------------------
# 12. input details: NUL, invalid UTF-8, variables validated on save,
#     managed credential types

def test_nul_in_json_string_refused_naming_field(world):
    d = world["d"]
    before = d.get("/api/v2/organizations/")["count"]
    cases = [
        ("POST", "/api/v2/organizations/", {"name": "evil\u0000tail"}, "name"),
        ("POST", "/api/v2/organizations/", {"name": uniq("ok"), "description": "a\u0000b"}, "description"),
        ("POST", "/api/v2/inventories/", {"name": uniq("inv"), "variables": "a: 1\u0000"}, "variables"),
        ("POST", "/api/v2/job_templates/", {"name": uniq("jt"), "project": world["project"]["id"],
                                             "inventory": world["inv"]["id"], "playbook": "ok.yml",
                                             "extra_vars": {"x": ["fine", "bad\u0000"]}}, "extra_vars"),
        ("PATCH", "/api/v2/job_templates/%d/" % world["jt"]["id"], {"extra_vars": "{\"a\": \"\u0000\"}"},
         "extra_vars"),
        ("PATCH", "/api/v2/organizations/%d/" % world["org"]["id"], {"name": "Org\u0000hidden"}, "name"),
        ("POST", "/api/v2/job_templates/%d/launch/" % world["jt"]["id"], {"extra_vars": {"k": "v\u0000"}},
         "extra_vars"),
        ("POST", "/api/v2/ad_hoc_commands/", {"inventory": world["inv"]["id"], "module_name": "ping",
                                               "module_args": "x\u0000y"}, "module_args"),
    ]
    for method, path, body, field in cases:
        r = d.req(method, path, data=json.dumps(body), headers={"Content-Type": "application/json"})
        assert r.status_code == 400, (path, body, r.status_code, r.text)
        assert field in r.json(), (path, r.text)
        assert "Null characters are not allowed" in r.json()[field][0]
    # a NUL in a key: jansson itself refuses it while parsing (400, the key quoted)
    r = d.req("POST", "/api/v2/job_templates/%d/launch/" % world["jt"]["id"],
              data=json.dumps({"extra_vars": {"k\u0000": 1}}), headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and "NUL" in r.json()["detail"], r.text
    assert d.get("/api/v2/organizations/")["count"] == before
    assert d.get("/api/v2/organizations/%d/" % world["org"]["id"])["name"] == "Org"
    assert d.get("/api/v2/job_templates/%d/" % world["jt"]["id"])["extra_vars"] == world["jt"]["extra_vars"]


def raw_get(d, target, headers=b""):
    """Send a raw HTTP/1.1 GET (bytes target) with admin Basic auth; (status, body)."""
    basic = base64.b64encode(("admin:" + PASSWORD).encode())
    req = (b"GET " + target + b" HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Basic " + basic +
           b"\r\nConnection: close\r\n" + headers + b"\r\n")
    with socket.create_connection(("127.0.0.1", d.port), timeout=30) as s:
        s.sendall(req)
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    if not data:
        return None, b""
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), body


def test_invalid_utf8_filter_is_400_not_unfiltered_list(world):
    d = world["d"]
    d.create("organizations", name=uniq("utf8"))
    total = d.get("/api/v2/organizations/")["count"]
    assert total >= 2
    # a filter value that is not UTF-8 must not be dropped (that widens the list)
    r = d.req("GET", "/api/v2/organizations/?name=%FF%FE")
    assert r.status_code == 400, r.text
    assert "name" in r.json(), r.text
    r = d.req("GET", "/api/v2/organizations/?name__icontains=%C0%AF")  # overlong "/"
    assert r.status_code == 400 and "name__icontains" in r.json(), r.text
    r = d.req("GET", "/api/v2/organizations/?name=Org%00junk")  # a NUL would cut the value
    assert r.status_code == 400 and "name" in r.json(), r.text
    # raw bytes on the wire, same answer
    status, body = raw_get(d, b"/api/v2/organizations/?name=\xff")
    assert status == 400 and b"name" in body, body
    # a parameter name that is not UTF-8 is named (escaped)
    r = d.req("GET", "/api/v2/organizations/?na%FFme=Org")
    assert r.status_code == 400, r.text
    assert "na\\xffme" in r.json(), r.text
    # the path too
    r = d.req("GET", "/api/v2/organizations/%FF/")
    assert r.status_code == 400, r.text
    # a body that is not UTF-8 is refused too (never stored cut or mangled)
    r = d.req("POST", "/api/v2/organizations/", data=b'{"name": "bad\xff"}', headers={"Content-Type": "application/json"})
    assert r.status_code == 400, r.text
    assert d.get("/api/v2/organizations/")["count"] == total
    # valid UTF-8 filters still work
    r = d.req("GET", "/api/v2/organizations/?name=%C3%A9t%C3%A9")
    assert r.status_code == 200 and r.json()["count"] == 0


def test_bad_yaml_variables_refused_on_save(world):
    d = world["d"]
    jt = world["jt"]
    proj, inv = world["project"]["id"], world["inv"]["id"]
    bad_texts = ["a: [1, 2", "- just\n- a list\n", "plain string", "a: 1\n b: 2\n\tc: 3", "{\"a\": 1"]
    for text in bad_texts:
        r = d.req("POST", "/api/v2/job_templates/", json={"name": uniq("badjt"), "project": proj, "inventory": inv,
                                                          "playbook": "ok.yml", "extra_vars": text})
        assert r.status_code == 400 and "extra_vars" in r.json(), (text, r.text)
        r = d.req("PATCH", "/api/v2/job_templates/%d/" % jt["id"], json={"extra_vars": text})
        assert r.status_code == 400 and "extra_vars" in r.json(), (text, r.text)
    assert d.get("/api/v2/job_templates/%d/" % jt["id"])["extra_vars"] == jt["extra_vars"]
    assert d.get("/api/v2/job_templates/?name__startswith=badjt")["count"] == 0
    # inventories, hosts, groups: variables
    host = world["localhost"]
    r = d.req("PATCH", "/api/v2/hosts/%d/" % host["id"], json={"variables": "a: [unclosed"})
    assert r.status_code == 400 and "variables" in r.json(), r.text
    assert d.get("/api/v2/hosts/%d/" % host["id"])["variables"] == host["variables"]
    r = d.req("POST", "/api/v2/inventories/", json={"name": uniq("badinv"), "variables": "- 1\n- 2"})
    assert r.status_code == 400 and "variables" in r.json(), r.text
    r = d.req("POST", "/api/v2/inventories/%d/groups/" % inv, json={"name": uniq("g"), "variables": "k: {"})
    assert r.status_code == 400 and "variables" in r.json(), r.text
    r = d.req("POST", "/api/v2/inventories/%d/hosts/" % inv, json={"name": uniq("h"), "variables": "42"})
    assert r.status_code == 400 and "variables" in r.json(), r.text
    # launch bodies and ad hoc commands
    jobs_before = d.get("/api/v2/unified_jobs/")["count"]
    r = d.req("POST", "/api/v2/job_templates/%d/launch/" % jt["id"], json={"extra_vars": "a: [1"})
    assert r.status_code == 400 and "extra_vars" in r.json(), r.text
    r = d.req("POST", "/api/v2/ad_hoc_commands/", json={"inventory": inv, "module_name": "ping",
                                                        "limit": "localhost", "extra_vars": "x: ["})
    assert r.status_code == 400 and "extra_vars" in r.json(), r.text
    assert d.get("/api/v2/unified_jobs/")["count"] == jobs_before
    # what AWX accepts is still accepted: YAML and JSON mappings, blank, null
    for good in ["a: 1\nb: [x, y]\n", "{\"a\": 1}", "", "---\n", "# just a comment\n"]:
        r = d.req("POST", "/api/v2/job_templates/", json={"name": uniq("goodjt"), "project": proj,
                                                          "inventory": inv, "playbook": "ok.yml",
                                                          "extra_vars": good})
        assert r.status_code == 201, (good, r.text)


def credential_type(d, name):
    found = d.get("/api/v2/credential_types/?name=%s" % requests.utils.quote(name))["results"]
    assert found, name
    return found[0]


def test_managed_credential_type_is_read_only(world):
    d = world["d"]
    machine = credential_type(d, "Machine")
    assert machine["managed"] is True
    # turn its secrets into plain text, rename it, delete it: all refused, even for a superuser
    plain_inputs = {"fields": [{"id": f["id"], "label": f["label"], "type": "string"}
                               for f in machine["inputs"]["fields"]]}
    for method, body in [("PATCH", {"inputs": plain_inputs}), ("PUT", dict(machine, inputs=plain_inputs)),
                         ("PATCH", {"name": "Not Machine"}), ("PATCH", {"managed": False}), ("DELETE", None)]:
        r = d.req(method, "/api/v2/credential_types/%d/" % machine["id"], json=body)
        assert r.status_code == 403, (method, r.status_code, r.text)
        assert "managed credential types" in r.json()["detail"]
    after = d.get("/api/v2/credential_types/%d/" % machine["id"])
    assert after["inputs"] == machine["inputs"] and after["name"] == "Machine" and after["managed"] is True
    # a credential of it still hides its secret
    cred = d.create("credentials", name=uniq("m"), credential_type=machine["id"],
                    inputs={"username": "u", "password": "PLANTED-managed-pw"})
    assert "PLANTED-managed-pw" not in d.req("GET", "/api/v2/credentials/%d/" % cred["id"]).text
    for name in ["Source Control", "Vault"]:
        ct = credential_type(d, name)
        assert d.req("DELETE", "/api/v2/credential_types/%d/" % ct["id"]).status_code == 403


def test_custom_credential_types_rules(world):
    d = world["d"]
    inputs = {"fields": [{"id": "api_token", "label": "Token", "type": "string", "secret": True}]}
    # only superusers create, change or delete credential types (AWX's CredentialTypeAccess)
    u = mk_user(d, "plain-pw")
    r = as_basic(d, u["username"], "plain-pw", "POST", "/api/v2/credential_types/",
                 json={"name": uniq("ct"), "kind": "cloud", "inputs": inputs})
    assert r.status_code == 403, r.text
    ct = d.create("credential_types", name=uniq("ct"), kind="cloud", inputs=inputs, managed=True)
    assert ct["managed"] is False  # read-only field: ignored
    r = as_basic(d, u["username"], "plain-pw", "PATCH", "/api/v2/credential_types/%d/" % ct["id"],
                 json={"description": "mine now"})
    assert r.status_code == 403, r.text
    r = as_basic(d, u["username"], "plain-pw", "DELETE", "/api/v2/credential_types/%d/" % ct["id"])
    assert r.status_code == 403, r.text
    # unused: the superuser may change its inputs
    inputs2 = {"fields": inputs["fields"] + [{"id": "url", "label": "URL", "type": "string"}]}
    r = d.req("PATCH", "/api/v2/credential_types/%d/" % ct["id"], json={"inputs": inputs2})
    assert r.status_code == 200, r.text
    # in use: inputs are frozen (secret would become plain), other fields are not, no delete
    d.create("credentials", name=uniq("c"), credential_type=ct["id"], inputs={"api_token": "PLANTED-tok"})
    plain = {"fields": [{"id": "api_token", "label": "Token", "type": "string"}]}
    r = d.req("PATCH", "/api/v2/credential_types/%d/" % ct["id"], json={"inputs": plain})
    assert r.status_code == 403 and "in use" in r.json()["detail"], r.text
    r = d.req("PATCH", "/api/v2/credential_types/%d/" % ct["id"], json={"description": "still editable"})
    assert r.status_code == 200, r.text
    r = d.req("DELETE", "/api/v2/credential_types/%d/" % ct["id"])
    assert r.status_code == 403 and "in use" in r.json()["detail"], r.text
    assert d.get("/api/v2/credential_types/%d/" % ct["id"])["inputs"] == inputs2
    spare = d.create("credential_types", name=uniq("spare"), kind="cloud", inputs=inputs)
    assert d.req("DELETE", "/api/v2/credential_types/%d/" % spare["id"]).status_code == 204


# --------------------------------------------------------------------------
# siblings: other ways a request could change what is stored

def test_read_only_fields_not_writable(world):
    d = world["d"]
    org = d.create("organizations", name=uniq("ro"))
    r = d.req("PATCH", "/api/v2/organizations/%d/" % org["id"],
              json={"id": org["id"] + 1000, "created": "2000-01-01T00:00:00Z", "type": "user",
                    "url": "/api/v2/users/1/", "description": "ok"})
    assert r.status_code == 200, r.text
    got = d.get("/api/v2/organizations/%d/" % org["id"])
    assert got["id"] == org["id"] and got["created"] == org["created"] and got["type"] == "organization"
    assert got["description"] == "ok"
    assert d.req("GET", "/api/v2/organizations/%d/" % (org["id"] + 1000)).status_code == 404
    # a job's status is the engine's: no PATCH/PUT, no POST to the list
    job = d.get("/api/v2/jobs/?page_size=1")["results"] or d.get("/api/v2/project_updates/?page_size=1")["results"]
    assert job
    url = job[0]["url"]
    for method in ("PATCH", "PUT"):
        r = d.req(method, url, json={"status": "successful", "failed": False})
        assert r.status_code == 405, (method, r.text)
    r = d.req("POST", "/api/v2/jobs/", json={"status": "successful", "name": "forged"})
    assert r.status_code in (400, 403, 405), r.text
    assert d.get(url)["status"] == job[0]["status"]
    assert d.get("/api/v2/jobs/?name=forged")["count"] == 0


def test_basic_with_nul_refused(world):
    d = world["d"]
    for cred in [b"admin:" + PASSWORD.encode() + b"\x00junk", b"admin\x00x:" + PASSWORD.encode()]:
        h = {"Authorization": "Basic " + base64.b64encode(cred).decode()}
        r = requests.get(d.url("/api/v2/me/"), headers=h, timeout=30)
        assert r.status_code == 401, (cred, r.text)


def test_huge_body_is_413(world):
    d = world["d"]
    before = d.get("/api/v2/organizations/")["count"]
    big = json.dumps({"name": uniq("big"), "description": "x" * (2 * 1024 * 1024)})
    r = d.req("POST", "/api/v2/organizations/", data=big, headers={"Content-Type": "application/json"})
    assert r.status_code == 413, r.status_code
    assert "too large" in r.json()["detail"]

    # chunked (no Content-Length): the cap still holds
    def gen():
        yield b'{"name": "' + uniq("chunked").encode() + b'", "description": "'
        for _ in range(40):
            yield b"y" * 65536
        yield b'"}'
    r = d.req("POST", "/api/v2/organizations/", data=gen(), headers={"Content-Type": "application/json"})
    assert r.status_code == 413, r.status_code
    assert d.get("/api/v2/organizations/")["count"] == before


def test_very_long_query_and_header_nul_refused_cleanly(world):
    d = world["d"]
    # a query string far beyond what a filter needs: a clear 4xx, never a 200 with the list
    status, _ = raw_get(d, b"/api/v2/organizations/?name=" + b"a" * 200000)
    assert status == 414, status
    # a NUL inside a header name: refused by the HTTP layer
    status, _ = raw_get(d, b"/api/v2/organizations/", headers=b"X-E\x00vil: 1\r\n")
    assert status is None or 400 <= status < 500, status
    # and the server is still there
    assert d.req("GET", "/api/v2/ping/").status_code == 200
