"""runneld's system resources, as AWX 21.14.0 has them: settings/ (read, and
changed by superusers for the keys runneld honours), instances/ and
instance_groups/ (this node), metrics/ (Prometheus text with AWX's names),
activity_stream/ (who did what, with the changes, secrets hidden),
created_by/modified_by/launched_by, and runneld's log lines (one per request,
one per job end). Also driven through the awx CLI and the awx.awx collection.

Environment: RUNNELD (default <repo>/build/service/runneld), AWX_CLI.
"""

import json
import os
import re
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest
import requests

from runneld_harness import (PASSWORD, REPO_ROOT, RUNNELD, AWX_COLLECTION, Runneld,
                             make_git_project, setup_world, wait_for, run_collection_playbook)

pytestmark = pytest.mark.skipif(not os.path.exists(RUNNELD), reason="runneld is not built: " + RUNNELD)

AWX = os.environ.get("AWX_CLI", str(REPO_ROOT.parent / "shared" / "clients" / "awx"))
if not os.path.exists(AWX):
    AWX = "/work/shared/clients/awx"

CAPACITY = 3
PLANTED = "PLANTED-sysinfo-s3cret-41c9"


@pytest.fixture(scope="module")
def w():
    tmp = Path(tempfile.mkdtemp(prefix="runneld-sysinfo-"))
    repo, _ = make_git_project(tmp)
    d = Runneld(tmp / "state", extra=["--isolation-base-path", str(tmp),
                                      "--capacity", str(CAPACITY)]).start()
    try:
        world = setup_world(d, repo)
        world.update(d=d, tmp=tmp, repo=repo)
        yield world
    finally:
        d.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def as_user(d, name, superuser=False, auditor=False):
    """A user of d (created once) and a session authenticated as it."""
    found = d.get("/api/v2/users/?username=%s" % name)
    if not found["count"]:
        d.create("users", username=name, password="pw-" + name, is_superuser=superuser,
                 is_system_auditor=auditor)
    s = requests.Session()
    s.auth = (name, "pw-" + name)
    return s


def launch_and_wait(d, jt_id):
    r = d.req("POST", "/api/v2/job_templates/%d/launch/" % jt_id, json={})
    assert r.status_code == 201, r.text
    return d.wait_job("/api/v2/jobs/%d/" % r.json()["id"])


# --------------------------------------------------------------------------
# Prometheus text, parsed strictly (exposition format 0.0.4)

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (-?[0-9.eE+-]+|NaN|[+-]Inf)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(,|$)')


def parse_prometheus(text):
    """{name: [(labels, value)]}; every sample's family has HELP and TYPE first."""
    out, helped, typed = {}, set(), set()
    for line in text.splitlines():
        if not line:
            continue
        if line.startswith("# HELP "):
            helped.add(line.split()[2])
            continue
        if line.startswith("# TYPE "):
            parts = line.split()
            assert parts[3] in ("gauge", "counter", "untyped", "histogram", "summary", "info"), line
            typed.add(parts[2])
            continue
        m = SAMPLE.match(line)
        assert m, "not a Prometheus sample line: %r" % line
        name, labels_text, value = m.group(1), m.group(3) or "", m.group(4)
        assert name in helped and name in typed, "no HELP/TYPE before %s" % name
        labels, pos = {}, 0
        while pos < len(labels_text):
            lm = LABEL.match(labels_text, pos)
            assert lm, "bad labels in %r" % line
            labels[lm.group(1)] = lm.group(2)
            pos = lm.end()
        out.setdefault(name, []).append((labels, float(value)))
    return out


def sample(metrics, name, **labels):
    for lab, v in metrics.get(name, []):
        if all(lab.get(k) == val for k, val in labels.items()):
            return v
    raise AssertionError("no %s%s in %s" % (name, labels, sorted(metrics)))


def metrics_text(d):
    r = d.req("GET", "/api/v2/metrics/", headers={"Accept": "text/plain"})
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"].startswith("text/plain"), r.headers
    return parse_prometheus(r.text)


def test_metrics_are_prometheus_text_and_follow_a_job(w):
    d = w["d"]
    host = socket.gethostname()
    before = metrics_text(d)
    for name in ("awx_system_info", "awx_organizations_total", "awx_users_total",
                 "awx_inventories_total", "awx_projects_total", "awx_job_templates_total",
                 "awx_hosts_total", "awx_sessions_total", "awx_running_jobs_total",
                 "awx_pending_jobs_total", "awx_status_total", "awx_instance_capacity",
                 "awx_instance_consumed_capacity", "awx_instance_remaining_capacity",
                 "awx_instance_info", "callback_receiver_events_insert_db",
                 "runneld_events_emitted_total", "runneld_events_lost_total"):
        assert name in before, name
    assert sample(before, "awx_system_info", tower_version="21.14.0") == 1.0
    assert sample(before, "awx_instance_capacity", hostname=host, node_type="hybrid") == CAPACITY
    assert sample(before, "awx_organizations_total") == d.get("/api/v2/organizations/")["count"]
    assert sample(before, "awx_hosts_total", type="all") == d.get("/api/v2/hosts/")["count"]
    ok_before = sample(before, "awx_status_total", status="successful")
    stored_before = sample(before, "callback_receiver_events_insert_db")

    job = launch_and_wait(d, w["jt"]["id"])
    assert job["status"] == "successful", job
    after = metrics_text(d)
    assert sample(after, "awx_status_total", status="successful") == ok_before + 1
    assert sample(after, "callback_receiver_events_insert_db") >= stored_before + job["emitted_events"]
    assert sample(after, "awx_instance_status_total", node=host, status="successful") >= 1
    assert sample(after, "awx_instance_launch_type_total", node=host, launch_type="manual") >= 1
    assert sample(after, "runneld_events_lost_total") == 0

    # AWX's JSON rendering, same figures
    j = d.get("/api/v2/metrics/?format=json")
    st = [s for s in j["awx_status_total"]["samples"] if s["labels"]["status"] == "successful"]
    assert st and st[0]["value"] == ok_before + 1
    assert j["awx_status_total"]["type"] == "gauge" and j["awx_status_total"]["help_text"]
    # dbonly / subsystemonly split the two halves as AWX does
    db = parse_prometheus(d.req("GET", "/api/v2/metrics/?dbonly=1").text)
    assert "awx_status_total" in db and "callback_receiver_events_insert_db" not in db
    sub = parse_prometheus(d.req("GET", "/api/v2/metrics/?subsystemonly=1").text)
    assert "callback_receiver_events_insert_db" in sub and "awx_status_total" not in sub


def test_metrics_for_superusers_and_auditors_only(w):
    d = w["d"]
    plain = as_user(d, "metrics-plain")
    r = plain.get(d.url("/api/v2/metrics/"))
    assert r.status_code == 403, r.text
    auditor = as_user(d, "metrics-auditor", auditor=True)
    r = auditor.get(d.url("/api/v2/metrics/"))
    assert r.status_code == 200 and "awx_status_total" in parse_prometheus(r.text)
    assert requests.get(d.url("/api/v2/metrics/")).status_code == 401


# --------------------------------------------------------------------------
# instances and instance groups

def test_instances_and_groups_describe_this_node(w):
    d = w["d"]
    host = socket.gethostname()
    job = launch_and_wait(d, w["jt"]["id"])
    inst = d.get("/api/v2/instances/")
    assert inst["count"] == 1
    i = inst["results"][0]
    assert i["hostname"] == host and i["node_type"] == "hybrid" and i["enabled"] is True
    assert i["capacity"] == CAPACITY and i["consumed_capacity"] == 0
    assert i["version"] == "21.14.0" and i["heartbeat"] and i["jobs_running"] == 0
    assert i["jobs_total"] >= 1
    assert d.get("/api/v2/instances/%d/" % i["id"])["hostname"] == host
    assert d.req("GET", "/api/v2/instances/99/").status_code == 404
    assert d.get("/api/v2/instances/?hostname=not-%s" % host)["count"] == 0
    groups = d.get("/api/v2/instance_groups/")
    assert groups["count"] == 1
    g = groups["results"][0]
    assert g["name"] == "default" and g["capacity"] == CAPACITY and g["instances"] == 1
    assert d.get("/api/v2/instance_groups/%d/instances/" % g["id"])["results"][0]["hostname"] == host
    # the job says where it ran
    assert job["execution_node"] == host
    assert job["instance_group"] == g["id"]
    assert job["summary_fields"]["instance_group"]["name"] == "default"


def test_instance_capacity_is_consumed_by_running_jobs(w):
    d = w["d"]
    r = d.req("POST", "/api/v2/job_templates/%d/launch/" % w["jt_sleep"]["id"],
              json={"extra_vars": {"sleep_seconds": 20}})
    assert r.status_code == 201, r.text
    jid = r.json()["id"]
    try:
        wait_for(lambda: d.get("/api/v2/jobs/%d/" % jid)["status"] == "running", timeout=60,
                 what="the sleep job running")
        i = d.get("/api/v2/instances/")["results"][0]
        assert i["consumed_capacity"] == 1 and i["jobs_running"] == 1
        assert i["percent_capacity_remaining"] == pytest.approx(100.0 * (CAPACITY - 1) / CAPACITY)
        m = metrics_text(d)
        assert sample(m, "awx_running_jobs_total") == 1
        assert sample(m, "awx_instance_remaining_capacity") == CAPACITY - 1
    finally:
        d.req("POST", "/api/v2/jobs/%d/cancel/" % jid, json={})
        d.wait_job("/api/v2/jobs/%d/" % jid, processed=False)


# --------------------------------------------------------------------------
# settings

def test_settings_categories_and_values(w):
    d = w["d"]
    cats = d.get("/api/v2/settings/")
    slugs = {c["slug"]: c["url"] for c in cats["results"]}
    for s in ("all", "system", "jobs", "authentication", "changed"):
        assert slugs[s] == "/api/v2/settings/%s/" % s
    jobs = d.get("/api/v2/settings/jobs/")
    assert jobs["DEFAULT_JOB_TIMEOUT"] == 0
    assert jobs["AWX_ISOLATION_BASE_PATH"] == str(w["tmp"])
    assert jobs["AWX_CLEANUP_PATHS"] is True
    assert "command" in jobs["AD_HOC_COMMANDS"]
    system = d.get("/api/v2/settings/system/")
    assert system["ACTIVITY_STREAM_ENABLED"] is True and "DEFAULT_JOB_TIMEOUT" not in system
    assert d.get("/api/v2/settings/authentication/")["SESSION_COOKIE_AGE"] == 1800
    every = d.get("/api/v2/settings/all/")
    assert set(jobs) <= set(every) and set(system) <= set(every)
    assert d.req("GET", "/api/v2/settings/nope/").status_code == 404


def test_settings_write_is_checked_and_for_superusers(w):
    d = w["d"]
    r = d.req("PATCH", "/api/v2/settings/jobs/", json={"PROJECTS_ROOT": "/tmp"})
    assert r.status_code == 400 and "read-only" in r.json()["PROJECTS_ROOT"][0], r.text
    r = d.req("PATCH", "/api/v2/settings/jobs/", json={"DEFAULT_JOB_TIMEOUT": "soon"})
    assert r.status_code == 400 and "DEFAULT_JOB_TIMEOUT" in r.json(), r.text
    r = d.req("PATCH", "/api/v2/settings/jobs/", json={"ACTIVITY_STREAM_ENABLED": False})
    assert r.status_code == 400 and "ACTIVITY_STREAM_ENABLED" in r.json(), r.text
    # runneld's own state dir never becomes visible to jobs
    r = d.req("PATCH", "/api/v2/settings/jobs/", json={"AWX_ISOLATION_SHOW_PATHS": [d.state_dir]})
    assert r.status_code == 400, r.text
    r = d.req("PATCH", "/api/v2/settings/jobs/", json={"AWX_ISOLATION_SHOW_PATHS": ["/"]})
    assert r.status_code == 400, r.text
    r = d.req("PATCH", "/api/v2/settings/jobs/", json={"AWX_ISOLATION_SHOW_PATHS": ["relative"]})
    assert r.status_code == 400, r.text
    assert d.get("/api/v2/settings/changed/") == {}

    plain = as_user(d, "settings-plain")
    assert plain.get(d.url("/api/v2/settings/all/")).status_code == 403
    r = plain.patch(d.url("/api/v2/settings/jobs/"), json={"DEFAULT_JOB_TIMEOUT": 5})
    assert r.status_code == 403
    auditor = as_user(d, "settings-auditor", auditor=True)
    assert auditor.get(d.url("/api/v2/settings/jobs/")).status_code == 200
    r = auditor.patch(d.url("/api/v2/settings/jobs/"), json={"DEFAULT_JOB_TIMEOUT": 5})
    assert r.status_code == 403
    assert d.get("/api/v2/settings/jobs/")["DEFAULT_JOB_TIMEOUT"] == 0


def test_settings_change_is_honoured_by_the_next_job(w):
    d = w["d"]
    r = d.req("PATCH", "/api/v2/settings/jobs/",
              json={"AWX_TASK_ENV": {"RUNNELD_SYSINFO_MARK": "from-settings"}})
    assert r.status_code == 200, r.text
    assert r.json()["AWX_TASK_ENV"] == {"RUNNELD_SYSINFO_MARK": "from-settings"}
    assert d.get("/api/v2/settings/changed/") == {"AWX_TASK_ENV": {"RUNNELD_SYSINFO_MARK": "from-settings"}}
    try:
        job = launch_and_wait(d, w["jt"]["id"])
        assert job["status"] == "successful", job
        assert job["job_env"].get("RUNNELD_SYSINFO_MARK") == "from-settings", job["job_env"]
        # the change is in the activity stream, with who made it
        acts = d.get("/api/v2/activity_stream/?object1=setting&order_by=-id")["results"]
        assert acts and acts[0]["changes"]["AWX_TASK_ENV"][1] == {"RUNNELD_SYSINFO_MARK": "from-settings"}
        assert acts[0]["summary_fields"]["actor"]["username"] == "admin"
    finally:
        r = d.req("DELETE", "/api/v2/settings/jobs/")
        assert r.status_code == 204, r.text
    assert d.get("/api/v2/settings/changed/") == {}
    job = launch_and_wait(d, w["jt"]["id"])
    assert "RUNNELD_SYSINFO_MARK" not in job["job_env"]


def test_default_job_timeout_setting_ends_a_long_job(w):
    d = w["d"]
    r = d.req("PATCH", "/api/v2/settings/all/", json={"DEFAULT_JOB_TIMEOUT": 2})
    assert r.status_code == 200 and r.json()["DEFAULT_JOB_TIMEOUT"] == 2, r.text
    try:
        r = d.req("POST", "/api/v2/job_templates/%d/launch/" % w["jt_sleep"]["id"],
                  json={"extra_vars": {"sleep_seconds": 60}})
        assert r.status_code == 201, r.text
        job = d.wait_job("/api/v2/jobs/%d/" % r.json()["id"], timeout=90, processed=False)
        assert job["status"] in ("failed", "error"), job
        assert "timed out" in job["job_explanation"].lower() or "timeout" in job["job_explanation"].lower(), job
        assert job["elapsed"] < 50, job
    finally:
        d.req("PATCH", "/api/v2/settings/all/", json={"DEFAULT_JOB_TIMEOUT": 0})


# --------------------------------------------------------------------------
# activity stream, created_by / modified_by / launched_by

def test_activity_stream_records_create_update_delete_with_actor(w):
    d = w["d"]
    org = d.create("organizations", name="act-org")
    r = d.req("PATCH", "/api/v2/organizations/%d/" % org["id"], json={"description": "changed"})
    assert r.status_code == 200, r.text
    assert d.req("DELETE", "/api/v2/organizations/%d/" % org["id"]).status_code == 204
    entries = d.get("/api/v2/activity_stream/?object1=organization&object1_id=%d&order_by=id"
                    % org["id"])["results"]
    ops = [e["operation"] for e in entries]
    assert ops == ["create", "update", "delete"], entries
    create, update, delete = entries
    assert create["changes"]["name"] == "act-org"
    assert update["changes"] == {"description": ["", "changed"]} or \
        update["changes"]["description"] == ["", "changed"], update["changes"]
    assert delete["changes"]["name"] == "act-org"
    for e in entries:
        assert e["type"] == "activity_stream" and e["object1"] == "organization"
        assert e["summary_fields"]["actor"]["username"] == "admin"
        assert e["summary_fields"]["organization"][0]["name"] == "act-org"
        assert e["timestamp"]
    # one entry by id; filters and ordering are the list grammar's
    assert d.get("/api/v2/activity_stream/%d/" % update["id"])["operation"] == "update"
    latest = d.get("/api/v2/activity_stream/?operation=delete&order_by=-id")["results"][0]
    assert latest["id"] == delete["id"]
    # an update that changes nothing is not recorded (as AWX)
    org2 = d.create("organizations", name="act-org2")
    n = d.get("/api/v2/organizations/%d/activity_stream/" % org2["id"])["count"]
    d.req("PATCH", "/api/v2/organizations/%d/" % org2["id"], json={"name": "act-org2"})
    assert d.get("/api/v2/organizations/%d/activity_stream/" % org2["id"])["count"] == n == 1


def test_activity_stream_hides_secrets(w):
    d = w["d"]
    cred = d.create("credentials", name="act-cred", credential_type=1,
                    inputs={"username": "u", "password": PLANTED})
    d.req("PATCH", "/api/v2/credentials/%d/" % cred["id"],
          json={"inputs": {"username": "u", "password": PLANTED + "-2"}})
    user = d.create("users", username="act-user", password=PLANTED)
    d.req("PATCH", "/api/v2/users/%d/" % user["id"], json={"password": PLANTED + "-3"})
    everything = d.req("GET", "/api/v2/activity_stream/?page_size=200").text
    assert PLANTED not in everything
    c = d.get("/api/v2/credentials/%d/activity_stream/?order_by=id" % cred["id"])["results"]
    assert c[0]["operation"] == "create" and c[0]["changes"]["inputs"]["password"] == "$encrypted$"
    assert c[1]["operation"] == "update"
    assert c[1]["changes"]["inputs"][1]["password"] == "$encrypted$"
    u = d.get("/api/v2/users/%d/activity_stream/?order_by=id" % user["id"])["results"]
    assert [e["operation"] for e in u] == ["create", "update"]
    assert u[1]["changes"]["password"] == ["$encrypted$", "$encrypted$"]
    assert PLANTED not in d.log()


def test_activity_stream_records_associations(w):
    d = w["d"]
    cred = d.create("credentials", name="act-assoc", credential_type=1, inputs={"username": "x"})
    jt = w["jt"]["id"]
    d.post("/api/v2/job_templates/%d/credentials/" % jt, {"id": cred["id"]}, expect=(204,))
    d.post("/api/v2/job_templates/%d/credentials/" % jt, {"id": cred["id"], "disassociate": True},
           expect=(204,))
    es = d.get("/api/v2/job_templates/%d/activity_stream/?object2=credential&order_by=id" % jt)["results"]
    assert [e["operation"] for e in es] == ["associate", "disassociate"], es
    assert es[0]["object2_id"] == cred["id"] and es[0]["object_association"] == "credentials"
    assert es[0]["summary_fields"]["credential"][0]["name"] == "act-assoc"
    # a host put in a group from the host's side, and its variables changed
    inv = w["inv"]["id"]
    group = d.post("/api/v2/inventories/%d/groups/" % inv, {"name": "act_group"}, expect=(201,))
    host = w["localhost"]["id"]
    d.post("/api/v2/hosts/%d/groups/" % host, {"id": group["id"]}, expect=(204,))
    es = d.get("/api/v2/groups/%d/activity_stream/?operation=associate" % group["id"])["results"]
    assert len(es) == 1 and es[0]["object2"] == "host" and es[0]["object2_id"] == host
    r = d.req("PATCH", "/api/v2/groups/%d/variable_data/" % group["id"], json={"act_var": 1})
    assert r.status_code == 200, r.text
    es = d.get("/api/v2/groups/%d/activity_stream/?operation=update" % group["id"])["results"]
    assert len(es) == 1 and "act_var" in es[0]["changes"]["variables"][1], es


def test_activity_stream_shows_a_user_only_its_own(w):
    d = w["d"]
    d.create("organizations", name="act-admin-only")
    plain = as_user(d, "act-plain")
    mine = plain.get(d.url("/api/v2/activity_stream/")).json()
    assert all(e["summary_fields"]["actor"]["username"] == "act-plain" for e in mine["results"])
    admin_entries = d.get("/api/v2/activity_stream/?order_by=-id")["results"]
    hidden = [e for e in admin_entries if e["summary_fields"].get("actor", {}).get("username") == "admin"][0]
    assert plain.get(d.url("/api/v2/activity_stream/%d/" % hidden["id"])).status_code == 404
    auditor = as_user(d, "act-auditor", auditor=True)
    assert auditor.get(d.url("/api/v2/activity_stream/")).json()["count"] >= len(admin_entries)


def test_activity_stream_can_be_turned_off(w):
    d = w["d"]
    r = d.req("PATCH", "/api/v2/settings/system/", json={"ACTIVITY_STREAM_ENABLED": False})
    assert r.status_code == 200, r.text
    try:
        org = d.create("organizations", name="act-quiet")
        assert d.get("/api/v2/organizations/%d/activity_stream/" % org["id"])["count"] == 0
    finally:
        d.req("PATCH", "/api/v2/settings/system/", json={"ACTIVITY_STREAM_ENABLED": True})
    org2 = d.create("organizations", name="act-loud")
    assert d.get("/api/v2/organizations/%d/activity_stream/" % org2["id"])["count"] == 1


def test_created_by_modified_by_launched_by(w):
    d = w["d"]
    org = d.create("organizations", name="by-org")
    assert org["summary_fields"]["created_by"]["username"] == "admin"
    assert org["summary_fields"]["modified_by"]["username"] == "admin"
    other = as_user(d, "by-other", superuser=True)
    r = other.patch(d.url("/api/v2/organizations/%d/" % org["id"]), json={"description": "x"})
    assert r.status_code == 200, r.text
    o = d.get("/api/v2/organizations/%d/" % org["id"])
    assert o["summary_fields"]["created_by"]["username"] == "admin"
    assert o["summary_fields"]["modified_by"]["username"] == "by-other"
    assert o["related"]["created_by"].startswith("/api/v2/users/")
    # a job says who launched it
    r = other.post(d.url("/api/v2/job_templates/%d/launch/" % w["jt"]["id"]), json={})
    assert r.status_code == 201, r.text
    job = d.wait_job("/api/v2/jobs/%d/" % r.json()["id"])
    assert job["launched_by"]["name"] == "by-other" and job["launched_by"]["type"] == "user"
    assert job["summary_fields"]["created_by"]["username"] == "by-other"


# --------------------------------------------------------------------------
# runneld's log

def test_log_has_a_line_per_request_and_per_job_end(w):
    d = w["d"]
    token = d.post("/api/v2/users/1/personal_tokens/", {"scope": "read"}, expect=(201,))["token"]
    r = requests.get(d.url("/api/v2/ping/?token=%s" % token))
    assert r.status_code == 200
    r = requests.get(d.url("/api/v2/me/"), headers={"Authorization": "Bearer " + token})
    assert r.status_code == 200
    d.req("GET", "/api/v2/organizations/999999/")
    job = launch_and_wait(d, w["jt"]["id"])
    log = wait_for(lambda: (lambda t: t if "job %d: job finished" % job["id"] in t else None)(d.log()),
                   timeout=30, what="the job's end in the log")
    assert re.search(r"request: GET /api/v2/ping/ 200 [0-9.]+ms user=-", log), log[-2000:]
    assert re.search(r"request: GET /api/v2/me/ 200 [0-9.]+ms user=admin", log)
    assert re.search(r"request: GET /api/v2/organizations/999999/ 404 [0-9.]+ms user=admin", log)
    assert re.search(r"request: POST /api/v2/job_templates/%d/launch/ 201 " % w["jt"]["id"], log)
    assert re.search(r"job %d: job finished: successful" % job["id"], log)
    assert token not in log and PASSWORD not in log


def test_log_says_why_a_job_failed(w):
    d = w["d"]
    r = d.req("POST", "/api/v2/job_templates/%d/launch/" % w["jt_sleep"]["id"],
              json={"extra_vars": {"sleep_seconds": 30}})
    jid = r.json()["id"]
    wait_for(lambda: d.get("/api/v2/jobs/%d/" % jid)["status"] == "running", timeout=60,
             what="running")
    d.req("POST", "/api/v2/jobs/%d/cancel/" % jid, json={})
    job = d.wait_job("/api/v2/jobs/%d/" % jid, processed=False)
    assert job["status"] == "canceled"
    wait_for(lambda: re.search(r"job %d: job finished: canceled" % jid, d.log()), timeout=30,
             what="the canceled job's line")


# --------------------------------------------------------------------------
# AWX's clients

def awx_cli(d, *args):
    cmd = [AWX, "--conf.host", d.url(""), "--conf.color", "false", "-f", "json",
           "--conf.username", "admin", "--conf.password", PASSWORD] + [str(a) for a in args]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, (args, p.stdout[-3000:], p.stderr[-3000:])
    return json.loads(p.stdout)


@pytest.mark.skipif(not os.path.exists(AWX), reason="the awx CLI is not at " + AWX)
def test_awx_cli_settings_and_instances(w):
    d = w["d"]
    s = awx_cli(d, "settings", "list")
    assert s["DEFAULT_JOB_TIMEOUT"] == 0 and s["ACTIVITY_STREAM_ENABLED"] is True
    inst = awx_cli(d, "instances", "list")
    assert inst["count"] == 1 and inst["results"][0]["hostname"] == socket.gethostname()
    groups = awx_cli(d, "instance_groups", "list")
    assert groups["results"][0]["name"] == "default"
    acts = awx_cli(d, "activity_stream", "list", "--operation", "create")
    assert acts["count"] >= 1 and all(a["operation"] == "create" for a in acts["results"])
    awx_cli(d, "settings", "modify", "DEFAULT_JOB_TIMEOUT", "7")
    try:
        assert d.get("/api/v2/settings/jobs/")["DEFAULT_JOB_TIMEOUT"] == 7
    finally:
        d.req("PATCH", "/api/v2/settings/jobs/", json={"DEFAULT_JOB_TIMEOUT": 0})


def test_awx_collection_settings_module(w):
    if not AWX_COLLECTION.exists():
        pytest.skip("the awx.awx collection is missing (apt-get install ansible)")
    d = w["d"]
    pb = Path(w["tmp"]) / "settings.yml"
    pb.write_text("""
- hosts: localhost
  gather_facts: false
  tasks:
    - name: one setting
      awx.awx.settings:
        name: DEFAULT_JOB_TIMEOUT
        value: 11
      register: one
    - assert:
        that: [one is changed, one.value == 11]
    - name: the same again changes nothing
      awx.awx.settings:
        name: DEFAULT_JOB_TIMEOUT
        value: 11
      register: again
    - assert:
        that: [again is not changed]
    - name: several
      awx.awx.settings:
        settings:
          AWX_CLEANUP_PATHS: true
          DEFAULT_JOB_TIMEOUT: 0
      register: several
    - assert:
        that: [several is changed]
    - name: a read-only one is refused
      awx.awx.settings:
        name: PROJECTS_ROOT
        value: /elsewhere
      register: ro
      ignore_errors: true
    - assert:
        that: [ro is failed]
""")
    out = run_collection_playbook(d, pb, timeout=300)
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-2000:]
    assert d.get("/api/v2/settings/jobs/")["DEFAULT_JOB_TIMEOUT"] == 0
    changes = d.get("/api/v2/activity_stream/?object1=setting&order_by=-id")["results"]
    assert any(c["changes"].get("DEFAULT_JOB_TIMEOUT", [None, None])[1] == 11 for c in changes)
