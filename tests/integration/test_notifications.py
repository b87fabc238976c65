"""Notifications (issue 13 item 5): notification_templates/ of type webhook,
email and slack, attached to job templates, projects and organizations for
started/success/error, delivered with libcurl to sinks of this test's own (an
HTTP server and an SMTP server, aiosmtpd, on 127.0.0.1), each send recorded
in notifications/ and jobs/N/notifications/; a sink that refuses is recorded
as failed and the job is still successful; secrets never in an answer, the
log or the store's file; AWX's own clients (the `awx` CLI, the awx.awx
`notification_template` module) create templates.

Environment: RUNNELD (default <repo>/build/service/runneld), AWX_CLI.
"""

import json
import os
import shutil
import subprocess
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from runneld_harness import (AWX_COLLECTION, PASSWORD, REPO_ROOT, RUNNELD, Runneld, free_port,
                             make_git_project, setup_world, wait_for, run_collection_playbook)

pytestmark = pytest.mark.skipif(not os.path.exists(RUNNELD), reason="runneld is not built: " + RUNNELD)

AWX = os.environ.get("AWX_CLI", str(REPO_ROOT.parent / "shared" / "clients" / "awx"))
if not os.path.exists(AWX):
    AWX = "/work/shared/clients/awx"

WEBHOOK_PASSWORD = "hook-Secret-7391"
SMTP_PASSWORD = "smtp-Secret-4410"
SLACK_TOKEN = "xoxb-Secret-5521"
SECRETS = (WEBHOOK_PASSWORD, SMTP_PASSWORD, SLACK_TOKEN)


class HttpSink:
    """An HTTP server recording each request (method, path, headers, JSON
    body); answers 200 {"ok": true} (what slack's chat.postMessage says)."""

    def __init__(self):
        self.requests = []
        sink = self

        class H(BaseHTTPRequestHandler):
            def _take(self):
                n = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(n) if n else b""
                try:
                    body = json.loads(raw) if raw else None
                except ValueError:
                    body = raw.decode(errors="replace")
                sink.requests.append({"method": self.command, "path": self.path,
                                      "headers": dict(self.headers), "body": body})
                out = b'{"ok": true}'
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

            do_POST = do_PUT = _take

            def log_message(self, *a):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path="/hook"):
        return "http://127.0.0.1:%d%s" % (self.port, path)

    def on(self, path):
        return [r for r in self.requests if r["path"] == path]

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


class SmtpSink:
    """An SMTP server (aiosmtpd) recording each mail: sender, recipients,
    the message text."""

    def __init__(self):
        from aiosmtpd.controller import Controller
        self.mails = []
        sink = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):
                sink.mails.append({"from": envelope.mail_from, "to": list(envelope.rcpt_tos),
                                   "text": envelope.content.decode("utf-8", errors="replace")})
                return "250 OK"

        self.port = free_port()
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self):
        self.controller.stop()


@pytest.fixture(scope="module")
def w():
    tmp = Path(tempfile.mkdtemp(prefix="runneld-notify-"))
    repo, _ = make_git_project(tmp)
    http = HttpSink()
    smtp = SmtpSink()
    d = Runneld(tmp / "state", extra=["--isolation-base-path", str(tmp)]).start()
    try:
        world = setup_world(d, repo)
        world.update({"d": d, "http": http, "smtp": smtp, "tmp": tmp, "repo": repo})
        yield world
    finally:
        d.stop()
        http.stop()
        smtp.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def webhook(w, name, path="/hook", **conf):
    c = {"url": w["http"].url(path), "http_method": "POST", "headers": {"X-Test": "yes"},
         "username": "hookuser", "password": WEBHOOK_PASSWORD}
    c.update(conf)
    return c


def make_nt(w, name, ntype, conf, messages=None, expect=(201,)):
    body = {"name": name, "organization": w["org"]["id"], "notification_type": ntype,
            "notification_configuration": conf}
    if messages is not None:
        body["messages"] = messages
    r = w["d"].req("POST", "/api/v2/notification_templates/", json=body)
    assert r.status_code in expect, r.text
    return r.json()


def attach(w, plural, obj_id, event, nt_id):
    r = w["d"].req("POST", "/api/v2/%s/%d/notification_templates_%s/" % (plural, obj_id, event),
                   json={"id": nt_id})
    assert r.status_code == 204, r.text


def detach(w, plural, obj_id, event, nt_id):
    r = w["d"].req("POST", "/api/v2/%s/%d/notification_templates_%s/" % (plural, obj_id, event),
                   json={"id": nt_id, "disassociate": True})
    assert r.status_code == 204, r.text


def launch(w, jt_id, **overrides):
    r = w["d"].req("POST", "/api/v2/job_templates/%d/launch/" % jt_id, json=overrides)
    assert r.status_code == 201, r.text
    return w["d"].wait_job("/api/v2/jobs/%d/" % r.json()["id"])


def job_notifications(w, job_id, count):
    """The notifications of a job once count of them are no longer pending."""
    def done():
        res = w["d"].get("/api/v2/jobs/%d/notifications/" % job_id)["results"]
        if len(res) >= count and all(n["status"] != "pending" for n in res):
            return res
        return None
    return wait_for(done, timeout=60, interval=0.2, what="notifications of job %d" % job_id)


def no_secret_in(text, where):
    for s in SECRETS:
        assert s not in text, "a secret in %s" % where


# ---------------------------------------------------------------------------
# templates: validation and secrets


def test_configuration_checked_per_type_as_awx(w):
    d = w["d"]
    r = d.req("POST", "/api/v2/notification_templates/",
              json={"name": "bad1", "organization": w["org"]["id"], "notification_type": "email",
                    "notification_configuration": {"host": "x"}})
    assert r.status_code == 400
    assert "Missing required fields for Notification Configuration" in r.text
    assert "'port'" in r.text and "'recipients'" in r.text
    bad_method = webhook(w, "x", http_method="GET")
    r = d.req("POST", "/api/v2/notification_templates/",
              json={"name": "bad2", "organization": w["org"]["id"], "notification_type": "webhook",
                    "notification_configuration": bad_method})
    assert r.status_code == 400 and "HTTP method must be either 'POST' or 'PUT'." in r.text
    r = d.req("POST", "/api/v2/notification_templates/",
              json={"name": "bad3", "organization": w["org"]["id"], "notification_type": "slack",
                    "notification_configuration": {"token": "t", "channels": []}})
    assert r.status_code == 400 and "No values specified for field 'channels'" in r.text
    r = d.req("POST", "/api/v2/notification_templates/",
              json={"name": "bad4", "organization": w["org"]["id"], "notification_type": "slack",
                    "notification_configuration": {"token": 5, "channels": ["#a"]}})
    assert r.status_code == 400 and "Configuration field 'token' incorrect type, expected password" in r.text
    r = d.req("POST", "/api/v2/notification_templates/",
              json={"name": "bad5", "organization": w["org"]["id"], "notification_type": "irc",
                    "notification_configuration": {}})
    assert r.status_code == 400 and "notification_type" in r.json()
    # organization is required, as AWX's
    r = d.req("POST", "/api/v2/notification_templates/",
              json={"name": "bad6", "notification_type": "webhook",
                    "notification_configuration": webhook(w, "x")})
    assert r.status_code == 400 and "organization" in r.json()


def test_messages_checked_and_what_cannot_be_rendered_refused(w):
    conf = webhook(w, "m")
    r = make_nt(w, "msg1", "webhook", conf, {"started": {"message": "{% if job.id %}x{% endif %}"}},
                expect=(400,))
    assert "Unable to render message" in json.dumps(r) and "{%" in json.dumps(r)
    r = make_nt(w, "msg2", "webhook", conf, {"success": {"message": "{{ job.id | upper }}"}},
                expect=(400,))
    assert "Unable to render message" in json.dumps(r)
    r = make_nt(w, "msg3", "webhook", conf, {"error": {"message": "{{ job.nope }}"}}, expect=(400,))
    assert "Field 'nope' unavailable" in json.dumps(r)
    r = make_nt(w, "msg4", "webhook", conf, {"error": {"message": "a\nb"}}, expect=(400,))
    assert "Messages cannot contain newlines" in json.dumps(r)
    r = make_nt(w, "msg5", "webhook", conf, {"error": {"body": "[1, 2]"}}, expect=(400,))
    assert "should be a json dictionary" in json.dumps(r)
    r = make_nt(w, "msg6", "webhook", conf, {"finished": None}, expect=(400,))
    assert "Event 'finished' invalid" in json.dumps(r)
    ok = make_nt(w, "msg7", "webhook", conf,
                 {"success": {"message": "{{ job_friendly_name }} {{ job.id }}",
                              "body": "{\"id\": {{ job.id }}}"}})
    # an update of one event keeps the others (AWX's merge of messages)
    r = w["d"].req("PATCH", "/api/v2/notification_templates/%d/" % ok["id"],
                   json={"messages": {"error": {"message": "E {{ job.status }}"}}})
    assert r.status_code == 200, r.text
    m = r.json()["messages"]
    assert m["success"]["message"] == "{{ job_friendly_name }} {{ job.id }}"
    assert m["error"]["message"] == "E {{ job.status }}"


def test_secrets_sealed_never_shown_and_kept_on_update(w):
    d = w["d"]
    nt = make_nt(w, "sealed", "webhook", webhook(w, "s", path="/sealed"))
    assert nt["notification_configuration"]["password"] == "$encrypted$"
    assert nt["notification_configuration"]["username"] == "hookuser"
    assert nt["related"]["test"].endswith("/notification_templates/%d/test/" % nt["id"])
    got = d.get("/api/v2/notification_templates/%d/" % nt["id"])
    assert got["notification_configuration"]["password"] == "$encrypted$"
    listed = d.get("/api/v2/notification_templates/?name=sealed")["results"][0]
    assert listed["notification_configuration"]["password"] == "$encrypted$"
    # a PUT of what GET showed ("$encrypted$") keeps the password
    got["notification_configuration"]["headers"] = {"X-Kept": "1"}
    r = d.req("PUT", "/api/v2/notification_templates/%d/" % nt["id"],
              json={k: got[k] for k in ("name", "organization", "notification_type",
                                        "notification_configuration", "messages")})
    assert r.status_code == 200, r.text
    no_secret_in(r.text, "the PUT's answer")
    # the test notification carries it (basic auth), as the sink sees
    t = d.post("/api/v2/notification_templates/%d/test/" % nt["id"], expect=(202,))
    assert t["notification"] == t["id"]
    wait_for(lambda: w["http"].on("/sealed"), timeout=30, what="the test webhook")
    req = w["http"].on("/sealed")[0]
    import base64
    assert req["headers"]["Authorization"] == "Basic " + base64.b64encode(
        ("hookuser:" + WEBHOOK_PASSWORD).encode()).decode()
    assert req["headers"]["X-Kept"] == "1"
    assert req["body"] == {"body": "Test Notification %d http://127.0.0.1:%d" % (nt["id"], d.port)}
    n = wait_for(lambda: (lambda x: x if x["status"] != "pending" else None)(
        d.get("/api/v2/notifications/%d/" % t["id"])), timeout=30, what="sent")
    assert n["status"] == "successful" and n["notifications_sent"] == 1
    assert n["subject"] == "Notification Test %d http://127.0.0.1:%d" % (nt["id"], d.port)
    # copy/: the copy keeps the secret (sealed again), not "$encrypted$"
    cp = d.post("/api/v2/notification_templates/%d/copy/" % nt["id"], {"name": "sealed copy"},
                expect=(201,))
    assert cp["notification_configuration"]["password"] == "$encrypted$"
    t2 = d.post("/api/v2/notification_templates/%d/test/" % cp["id"], expect=(202,))
    wait_for(lambda: len(w["http"].on("/sealed")) >= 2, timeout=30, what="the copy's test webhook")
    assert w["http"].on("/sealed")[1]["headers"]["Authorization"] == req["headers"]["Authorization"]
    assert d.get("/api/v2/notification_templates/%d/notifications/" % cp["id"])["results"][0]["id"] == t2["id"]
    # never in the store's files nor the log
    state = Path(d.state_dir)
    for f in state.glob("runneld.db*"):
        no_secret_in(f.read_bytes().decode("latin-1"), f.name)
    no_secret_in(d.log(), "runneld's log")


def test_only_superusers_manage_templates(w):
    d = w["d"]
    u = d.create("users", username="plainuser", password="plain-pass-1")
    import requests
    s = requests.Session()
    s.auth = ("plainuser", "plain-pass-1")
    r = s.post(d.url("/api/v2/notification_templates/"),
               json={"name": "nope", "organization": w["org"]["id"], "notification_type": "webhook",
                     "notification_configuration": webhook(w, "x")})
    assert r.status_code == 403
    r = s.get(d.url("/api/v2/notification_templates/"))
    assert r.status_code == 200 and r.json()["count"] == 0
    r = s.post(d.url("/api/v2/job_templates/%d/notification_templates_success/" % w["jt"]["id"]),
               json={"id": 1})
    assert r.status_code == 403
    assert u["id"]


# ---------------------------------------------------------------------------
# delivery


def test_started_success_error_delivered_with_the_jobs_fields(w):
    d, http, smtp = w["d"], w["http"], w["smtp"]
    body = ('{"id": {{ job.id }}, "name": "{{ job.name }}", "status": "{{ job.status }}",'
            ' "friendly": "{{ job_friendly_name }}", "url": "{{ url }}",'
            ' "inventory": "{{ job.summary_fields.inventory.name }}"}')
    hook = make_nt(w, "jobhook", "webhook", webhook(w, "j", path="/jobs"),
                   {"started": {"message": "S {{ job.id }}", "body": body},
                    "success": {"message": "OK {{ job.id }}", "body": body},
                    "error": {"message": "ERR {{ job.id }}", "body": body}})
    mail = make_nt(w, "jobmail", "email",
                   {"host": "127.0.0.1", "port": smtp.port, "username": "", "password": SMTP_PASSWORD,
                    "use_tls": False, "use_ssl": False, "sender": "runneld@example.com",
                    "recipients": ["ops@example.com", "dev@example.com"]})
    slack = make_nt(w, "jobslack", "slack",
                    {"token": SLACK_TOKEN, "channels": ["#ops"], "api_url": http.url("/slack")})
    jt = w["jt"]["id"]
    for ev in ("started", "success", "error"):
        attach(w, "job_templates", jt, ev, hook["id"])
    attach(w, "organizations", w["org"]["id"], "success", mail["id"])
    attach(w, "organizations", w["org"]["id"], "error", mail["id"])
    attach(w, "projects", w["project"]["id"], "started", slack["id"])
    listed = d.get("/api/v2/job_templates/%d/notification_templates_started/" % jt)
    assert [x["id"] for x in listed["results"]] == [hook["id"]]
    try:
        job = launch(w, jt)
        assert job["status"] == "successful"
        notes = job_notifications(w, job["id"], 4)
        assert sorted(n["notification_type"] for n in notes) == ["email", "slack", "webhook", "webhook"]
        assert all(n["status"] == "successful" for n in notes), notes
        posts = [r for r in http.on("/jobs") if r["body"]["id"] == job["id"]]
        assert [p["body"]["status"] for p in posts] == ["running", "successful"]
        ok = posts[1]["body"]
        assert ok["name"] == job["name"] and ok["friendly"] == "Job" and ok["inventory"] == "Inv"
        assert ok["url"] == "http://127.0.0.1:%d/#/jobs/%d" % (d.port, job["id"])
        assert posts[0]["headers"]["X-Test"] == "yes"
        subjects = sorted(n["subject"] for n in notes)
        assert "OK %d" % job["id"] in subjects and "S %d" % job["id"] in subjects
        # the mail: AWX's default subject and body, to both recipients
        m = [x for x in smtp.mails if "#%d " % job["id"] in x["text"]]
        assert len(m) == 1, smtp.mails
        assert m[0]["from"] == "runneld@example.com"
        assert m[0]["to"] == ["ops@example.com", "dev@example.com"]
        assert "Subject: Job #%d 'OK' successful: http://127.0.0.1:%d/#/jobs/%d" % (
            job["id"], d.port, job["id"]) in m[0]["text"]
        assert "\"status\": \"successful\"" in m[0]["text"] and "\"localhost\"" in m[0]["text"]
        # slack: chat.postMessage with the token, the channel without '#'
        sl = http.on("/slack")[-1]
        assert sl["headers"]["Authorization"] == "Bearer " + SLACK_TOKEN
        assert sl["body"]["channel"] == "ops"
        assert sl["body"]["text"] == "Job #%d 'OK' running: http://127.0.0.1:%d/#/jobs/%d" % (
            job["id"], d.port, job["id"])
        # the failed job: error to the webhook and the mail, no success
        bad = launch(w, jt, limit="failhost")
        assert bad["status"] == "failed"
        notes = job_notifications(w, bad["id"], 4)
        subjects = sorted(n["subject"] for n in notes if n["notification_type"] == "webhook")
        assert subjects == sorted(["S %d" % bad["id"], "ERR %d" % bad["id"]])
        posts = [r for r in http.on("/jobs") if r["body"]["id"] == bad["id"]]
        assert [p["body"]["status"] for p in posts] == ["running", "failed"]
        assert any("Job #%d 'OK' failed" % bad["id"] in x["text"] for x in smtp.mails)
        # each notification: in notifications/ and its template's list
        mine = d.get("/api/v2/notification_templates/%d/notifications/" % hook["id"])
        assert mine["count"] == 4
        assert d.get("/api/v2/notifications/%d/" % notes[0]["id"])["id"] == notes[0]["id"]
    finally:
        for ev in ("started", "success", "error"):
            detach(w, "job_templates", jt, ev, hook["id"])
        detach(w, "organizations", w["org"]["id"], "success", mail["id"])
        detach(w, "organizations", w["org"]["id"], "error", mail["id"])
        detach(w, "projects", w["project"]["id"], "started", slack["id"])
    no_secret_in(d.log(), "runneld's log")
    for n in d.get("/api/v2/notifications/?page_size=200")["results"]:
        no_secret_in(json.dumps(n), "notification %d" % n["id"])


def test_refused_sink_recorded_failed_job_still_successful(w):
    d = w["d"]
    dead = free_port()
    nt = make_nt(w, "deadhook", "webhook",
                 dict(webhook(w, "x"), url="http://127.0.0.1:%d/x" % dead))
    deadmail = make_nt(w, "deadmail", "email",
                       {"host": "127.0.0.1", "port": dead, "username": "u", "password": SMTP_PASSWORD,
                        "use_tls": False, "use_ssl": False, "sender": "a@example.com",
                        "recipients": ["b@example.com"]})
    attach(w, "job_templates", w["jt"]["id"], "success", nt["id"])
    attach(w, "job_templates", w["jt"]["id"], "success", deadmail["id"])
    try:
        job = launch(w, w["jt"]["id"])
        assert job["status"] == "successful" and not job["failed"]
        notes = job_notifications(w, job["id"], 2)
        assert all(n["status"] == "failed" for n in notes), notes
        for n in notes:
            assert n["error"] and ("onnect" in n["error"]), n["error"]
            assert n["notifications_sent"] == 0
            no_secret_in(n["error"], "the error")
        assert d.get("/api/v2/jobs/%d/" % job["id"])["status"] == "successful"
    finally:
        detach(w, "job_templates", w["jt"]["id"], "success", nt["id"])
        detach(w, "job_templates", w["jt"]["id"], "success", deadmail["id"])
    no_secret_in(d.log(), "runneld's log")


def test_delete_template_removes_its_notifications(w):
    d = w["d"]
    nt = make_nt(w, "short-lived", "webhook", webhook(w, "x", path="/short"))
    t = d.post("/api/v2/notification_templates/%d/test/" % nt["id"], expect=(202,))
    wait_for(lambda: d.get("/api/v2/notifications/%d/" % t["id"])["status"] != "pending", timeout=30)
    assert d.req("DELETE", "/api/v2/notification_templates/%d/" % nt["id"]).status_code == 204
    assert d.req("GET", "/api/v2/notifications/%d/" % t["id"]).status_code == 404
    assert d.req("GET", "/api/v2/notification_templates/%d/" % nt["id"]).status_code == 404


# ---------------------------------------------------------------------------
# AWX's clients


@pytest.mark.skipif(not os.path.exists(AWX), reason="the awx CLI is not at " + AWX)
def test_awx_cli_notification_templates_create(w):
    d = w["d"]
    conf = json.dumps(webhook(w, "cli", path="/cli"))
    p = subprocess.run([AWX, "--conf.host", d.url(""), "--conf.color", "false", "-f", "json",
                        "--conf.username", "admin", "--conf.password", PASSWORD,
                        "notification_templates", "create", "--name", "from-cli",
                        "--organization", str(w["org"]["id"]), "--notification_type", "webhook",
                        "--notification_configuration", conf],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stdout + p.stderr
    out = json.loads(p.stdout)
    assert out["name"] == "from-cli" and out["notification_type"] == "webhook"
    assert out["notification_configuration"]["password"] == "$encrypted$"
    no_secret_in(p.stdout, "the CLI's output")
    p = subprocess.run([AWX, "--conf.host", d.url(""), "--conf.color", "false", "-f", "json",
                        "--conf.username", "admin", "--conf.password", PASSWORD,
                        "notification_templates", "list", "--name", "from-cli"],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stdout + p.stderr
    assert json.loads(p.stdout)["results"][0]["id"] == out["id"]


COLLECTION_PLAY = """
- hosts: localhost
  gather_facts: false
  tasks:
    - name: a webhook template
      awx.awx.notification_template:
        name: from-collection
        organization: Org
        notification_type: webhook
        notification_configuration:
          url: "{{ hook_url }}"
          http_method: POST
          headers: {X-From: collection}
          username: u
          password: "{{ hook_password }}"
        messages:
          success: {message: "done {{ '{{' }} job.id {{ '}}' }}", body: null}
      register: created
    - name: the same again changes nothing
      awx.awx.notification_template:
        name: from-collection
        organization: Org
        notification_type: webhook
        notification_configuration:
          url: "{{ hook_url }}"
          http_method: POST
          headers: {X-From: collection}
          username: u
          password: "{{ hook_password }}"
      register: again
    - assert:
        that: [created is changed]
"""


def test_awx_collection_notification_template(w):
    if not AWX_COLLECTION.exists():
        pytest.skip("the awx.awx collection is missing (apt-get install ansible)")
    d = w["d"]
    pb = Path(w["tmp"]) / "notify.yml"
    pb.write_text(COLLECTION_PLAY)
    out = run_collection_playbook(d, pb, ["hook_url=%s" % w["http"].url("/coll"),
                                          "hook_password=%s" % WEBHOOK_PASSWORD])
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-4000:]
    nt = d.get("/api/v2/notification_templates/?name=from-collection")["results"][0]
    assert nt["notification_configuration"]["url"] == w["http"].url("/coll")
    assert nt["notification_configuration"]["password"] == "$encrypted$"
    assert nt["messages"]["success"]["message"] == "done {{ job.id }}"
    t = d.post("/api/v2/notification_templates/%d/test/" % nt["id"], expect=(202,))
    wait_for(lambda: w["http"].on("/coll"), timeout=30, what="the collection's template's test")
    assert w["http"].on("/coll")[0]["headers"]["X-From"] == "collection"
    assert t["notification"]


def test_restart_sends_nothing_again(w):
    """After a restart, jobs that ended before it get no notification again,
    and a job after it still does (once)."""
    d = w["d"]
    nt = make_nt(w, "after-restart", "webhook", webhook(w, "r", path="/restart"))
    attach(w, "job_templates", w["jt"]["id"], "success", nt["id"])
    try:
        before = launch(w, w["jt"]["id"])
        job_notifications(w, before["id"], 1)
        count = d.get("/api/v2/notifications/")["count"]
        d.stop()
        d.start()
        after = launch(w, w["jt"]["id"])
        notes = job_notifications(w, after["id"], 1)
        assert [n["status"] for n in notes] == ["successful"]
        import time
        time.sleep(1.5)  # a few of the watcher's looks
        assert d.get("/api/v2/notifications/")["count"] == count + 1
        assert len(d.get("/api/v2/jobs/%d/notifications/" % before["id"])["results"]) == 1
        assert [r["body"]["id"] for r in w["http"].on("/restart")] == [before["id"], after["id"]]
    finally:
        detach(w, "job_templates", w["jt"]["id"], "success", nt["id"])
