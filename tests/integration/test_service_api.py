"""runneld end to end, through its HTTP API, with real ansible.

Each test talks to a real runneld started by a fixture (127.0.0.1, a free
port, a temp state dir; stopped by pid). The shared daemon runs twice: with
the local bus and with the Redis bus (a redis-server started here on a free
loopback port; skipped with a reason when redis-server is missing).

Environment: RUNNELD (default <repo>/build/service/runneld).
"""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
import requests

from runneld_harness import (  # noqa: F401
    HERE, REPO_ROOT, FIXTURES, RUNNELD, PASSWORD, SECRET_PW, SECRET_BECOME, ACTIVE, AWX_COLLECTION, free_port, wait_for, pid_alive, pids_with_cmdline, Runneld, git, make_git_project, start_redis, setup_world, run_collection_playbook)

pytestmark = pytest.mark.skipif(not os.path.exists(RUNNELD), reason="runneld is not built: " + RUNNELD)


# --------------------------------------------------------------------------
# the shared daemon, on both buses

@pytest.fixture(scope="module", params=["local", "redis"])
def world(request):
    tmp = Path(tempfile.mkdtemp(prefix="runneld-test-"))
    redis = None
    bus = "local"
    if request.param == "redis":
        redis, bus = start_redis(tmp)
    repo, rev = make_git_project(tmp)
    d = Runneld(tmp / "state", bus=bus, extra=["--isolation-base-path", str(tmp)]).start()
    try:
        w = setup_world(d, repo)
        w.update(d=d, tmp=tmp, repo=repo, rev=rev, bus=request.param)
        yield w
    finally:
        d.stop()
        if redis:
            redis.terminate()
            redis.wait()
        shutil.rmtree(tmp, ignore_errors=True)


def launch(d, jt_id, **overrides):
    r = d.req("POST", "/api/v2/job_templates/%d/launch/" % jt_id, json=overrides)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["job"] == body["id"]
    return body


def event_stdout(events):
    return "".join(e["stdout"] + "\n" for e in sorted(events, key=lambda e: e["start_line"]) if e["stdout"])


# --------------------------------------------------------------------------
# the API's surface

def test_root_ping_headers_and_auth(world):
    d = world["d"]
    r = requests.get(d.url("/api/"))
    assert r.status_code == 200
    assert r.headers["X-API-Product-Name"] == "AWX"
    assert r.headers["X-API-Product-Version"]
    assert r.json()["current_version"] == "/api/v2/"
    assert requests.get(d.url("/api/v2/ping/")).json()["version"]
    assert requests.get(d.url("/api/v2/jobs/")).status_code == 401
    assert requests.get(d.url("/api/v2/jobs/"), auth=("admin", "wrong")).status_code == 401
    me = d.get("/api/v2/me/")
    assert me["count"] == 1 and me["results"][0]["username"] == "admin"
    assert me["results"][0]["password"] == "$encrypted$"
    tok = d.post("/api/v2/tokens/", {"description": "t", "application": None, "scope": "write"}, expect=(201,))
    r = requests.get(d.url("/api/v2/me/"), headers={"Authorization": "Bearer " + tok["token"]})
    assert r.status_code == 200 and r.json()["results"][0]["username"] == "admin"
    assert d.req("DELETE", "/api/v2/tokens/%d/" % tok["id"]).status_code == 204
    r = requests.get(d.url("/api/v2/me/"), headers={"Authorization": "Bearer " + tok["token"]})
    assert r.status_code == 401
    assert d.get("/api/v2/config/")["version"]
    # the page
    r = requests.get(d.url("/"))
    assert r.status_code == 200 and "runneld" in r.text
    assert requests.get(d.url("/app.js")).status_code == 200


def test_pagination_filters_ordering(world):
    d = world["d"]
    for i in range(7):
        d.create("organizations", name="page-org-%d" % i)
    p1 = d.get("/api/v2/organizations/?name__icontains=page-org&page_size=3&order_by=-name")
    assert p1["count"] == 7 and len(p1["results"]) == 3
    assert p1["previous"] is None and "page=2" in p1["next"]
    assert [o["name"] for o in p1["results"]] == ["page-org-6", "page-org-5", "page-org-4"]
    p3 = d.get(p1["next"].replace("page=2", "page=3"))
    assert len(p3["results"]) == 1 and p3["next"] is None
    assert d.get("/api/v2/organizations/?name=page-org-2")["count"] == 1
    one = d.get("/api/v2/organizations/?name=page-org-2")["results"][0]
    assert d.get("/api/v2/organizations/?id__in=%d" % one["id"])["count"] == 1
    # the awx.awx collection's name-or-id lookup
    r = d.get("/api/v2/organizations/?or__id=%d&or__name=%d" % (one["id"], one["id"]))
    assert r["count"] == 1 and r["results"][0]["id"] == one["id"]
    assert d.req("GET", "/api/v2/organizations/?page=99").status_code == 404


def test_project_update_from_local_git(world):
    d = world["d"]
    pu = world["project_update"]
    assert pu["status"] == "successful", pu
    proj = d.get("/api/v2/projects/%d/" % world["project"]["id"])
    assert proj["scm_revision"] == world["rev"]
    assert proj["status"] == "successful"
    assert "ok.yml" in d.get("/api/v2/projects/%d/playbooks/" % proj["id"])
    ev = d.all_pages("/api/v2/project_updates/%d/events/" % pu["id"])
    assert ev, "a project update has events"
    r = d.req("GET", "/api/v2/project_updates/%d/stdout/?format=txt" % pu["id"])
    assert r.status_code == 200 and r.text == re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", event_stdout(ev))


def test_template_launch_successful(world):
    d = world["d"]
    job = launch(d, world["jt"]["id"], extra_vars={"greeting": "hi-there"})
    assert job["status"] in ACTIVE
    job = d.wait_job(job["url"])
    assert job["status"] == "successful", job
    assert job["failed"] is False
    assert job["event_processing_finished"] is True
    events = d.all_pages("/api/v2/jobs/%d/job_events/" % job["id"])
    counters = [e["counter"] for e in events]
    assert counters == sorted(counters)
    assert counters == list(range(1, len(events) + 1)), "every event is stored"
    if job.get("emitted_events"):
        assert len(events) == job["emitted_events"]
    names = {e["event"] for e in events}
    assert {"playbook_on_start", "runner_on_ok", "playbook_on_stats"} <= names
    ansi = d.req("GET", "/api/v2/jobs/%d/stdout/?format=ansi" % job["id"])
    assert ansi.status_code == 200
    assert ansi.text == event_stdout(events)
    assert "hi-there" in ansi.text
    txt = d.req("GET", "/api/v2/jobs/%d/stdout/?format=txt" % job["id"]).text
    assert "\x1b[" not in txt and "hi-there" in txt
    dl = d.req("GET", "/api/v2/jobs/%d/stdout/?format=txt_download" % job["id"])
    assert dl.text == txt and "attachment" in dl.headers["Content-Disposition"]
    assert d.req("GET", "/api/v2/jobs/%d/stdout/?format=ansi_download" % job["id"]).text == ansi.text
    js = d.get("/api/v2/jobs/%d/stdout/?format=json" % job["id"])
    assert js["content"] == ansi.text
    assert js["range"]["start"] == 0 and js["range"]["end"] == js["range"]["absolute_end"] > 0
    part = d.get("/api/v2/jobs/%d/stdout/?format=json&start_line=2" % job["id"])
    assert ansi.text.endswith(part["content"]) and part["range"]["start"] == 2
    # filters on events
    ok = d.get("/api/v2/jobs/%d/job_events/?event=runner_on_ok" % job["id"])
    assert ok["count"] >= 1 and all(e["event"] == "runner_on_ok" for e in ok["results"])
    assert d.get("/api/v2/jobs/%d/job_events/?failed=true" % job["id"])["count"] == 0
    gt = d.get("/api/v2/jobs/%d/job_events/?counter__gt=2" % job["id"])
    assert gt["count"] == len(events) - 2
    # what the job ran with
    args = json.loads(job["job_args"]) if isinstance(job["job_args"], str) else job["job_args"]
    assert any("ansible-playbook" in a for a in args), args
    assert job["job_cwd"]
    assert isinstance(job["job_env"], dict) and job["job_env"]
    assert any(k.startswith("ANSIBLE_") for k in job["job_env"])
    sums = d.get("/api/v2/jobs/%d/job_host_summaries/" % job["id"])
    assert sums["count"] == 1 and sums["results"][0]["host_name"] == "localhost"
    assert sums["results"][0]["failed"] is False
    # AWX_CLEANUP_PATHS defaults to true: the private data dir is gone
    pdd = job.get("private_data_dir")
    if pdd:
        assert not os.path.exists(pdd)
    lst = d.get("/api/v2/jobs/?status=successful&order_by=-id")
    assert lst["results"] and lst["results"][0]["status"] == "successful"
    assert d.get("/api/v2/unified_jobs/?id=%d" % job["id"])["count"] == 1
    # relaunch
    r = d.post("/api/v2/jobs/%d/relaunch/" % job["id"], {}, expect=(201,))
    again = d.wait_job(r["url"])
    assert again["status"] == "successful" and again["launch_type"] == "relaunch"


def test_job_meta_variables(world):
    """The awx_* variables a job gets besides its own fields (AWX's
    build_extra_vars_file): its inventory's name and its creator's username
    (as the job shows them in summary_fields), its project's revision and
    branch (the revision also recorded on the job)."""
    d = world["d"]
    names = ("awx_inventory_name", "awx_user_name", "awx_project_revision", "awx_project_scm_branch",
             "awx_job_template_name")
    probe = "meta[" + "|".join("{{ %s }}" % n for n in names) + "]"
    job = d.wait_job(launch(d, world["jt"]["id"], extra_vars={"greeting": probe})["url"])
    assert job["status"] == "successful", job
    assert job["summary_fields"]["inventory"]["name"] == "Inv"
    assert job["summary_fields"]["created_by"]["username"] == "admin"
    assert job["scm_revision"] == world["rev"]
    txt = d.req("GET", "/api/v2/jobs/%d/stdout/?format=txt" % job["id"]).text
    assert "meta[Inv|admin|%s||OK]" % world["rev"] in txt, txt


def test_failed_and_unreachable_hosts(world):
    d = world["d"]
    job = launch(d, world["jt"]["id"], limit="all")
    job = d.wait_job(job["url"])
    assert job["status"] == "failed" and job["failed"] is True
    sums = {s["host_name"]: s for s in d.all_pages("/api/v2/jobs/%d/job_host_summaries/" % job["id"])}
    assert sums["failhost"]["failures"] >= 1 and sums["failhost"]["failed"] is True
    assert sums["badhost"]["dark"] >= 1 and sums["badhost"]["failed"] is True
    assert sums["localhost"]["failed"] is False
    hsc = job["host_status_counts"]
    assert hsc.get("failures") == 1 and hsc.get("dark") == 1
    failed = d.all_pages("/api/v2/jobs/%d/job_events/?failed=true" % job["id"])
    assert {e["event"] for e in failed} >= {"runner_on_failed", "runner_on_unreachable"}
    relaunch = d.get("/api/v2/jobs/%d/relaunch/" % job["id"])
    assert relaunch["retry_counts"]["failed"] == 2
    r = d.post("/api/v2/jobs/%d/relaunch/" % job["id"], {"hosts": "failed"}, expect=(201,))
    again = d.wait_job(r["url"])
    assert set(again["limit"].split(",")) == {"failhost", "badhost"}
    assert {s["host_name"] for s in d.all_pages("/api/v2/jobs/%d/job_host_summaries/" % again["id"])} == \
        {"failhost", "badhost"}


def test_ad_hoc_command(world):
    d = world["d"]
    r = d.post("/api/v2/ad_hoc_commands/", {"inventory": world["inv"]["id"], "limit": "localhost",
                                            "module_name": "command", "module_args": "echo adhoc-xyz"},
               expect=(201,))
    job = d.wait_job(r["url"])
    assert job["status"] == "successful", job
    out = d.req("GET", "/api/v2/ad_hoc_commands/%d/stdout/?format=txt" % job["id"]).text
    assert "adhoc-xyz" in out
    assert d.get("/api/v2/ad_hoc_commands/%d/events/" % job["id"])["count"] > 0


def test_inventory_update_from_project(world):
    d = world["d"]
    inv = d.create("inventories", name="Imported")
    src = d.post("/api/v2/inventories/%d/inventory_sources/" % inv["id"],
                 {"name": "from-project", "source": "scm", "source_project": world["project"]["id"],
                  "source_path": "inventory/hosts.ini", "overwrite": True}, expect=(201,))
    r = d.post("/api/v2/inventory_sources/%d/update/" % src["id"], expect=(202,))
    assert r["inventory_update"] == r["id"]
    upd = d.wait_job(r["url"])
    assert upd["status"] == "successful", upd
    hosts = {h["name"] for h in d.all_pages("/api/v2/inventories/%d/hosts/" % inv["id"])}
    assert {"web1", "web2", "db1"} <= hosts
    groups = {g["name"]: g for g in d.all_pages("/api/v2/inventories/%d/groups/" % inv["id"])}
    assert {"web", "db"} <= set(groups)
    web_hosts = {h["name"] for h in d.all_pages("/api/v2/groups/%d/hosts/" % groups["web"]["id"])}
    assert web_hosts == {"web1", "web2"}
    # an inventory that fails to parse: the update fails, with an explanation
    bad = d.post("/api/v2/inventories/%d/inventory_sources/" % inv["id"],
                 {"name": "broken", "source": "scm", "source_project": world["project"]["id"],
                  "source_path": "inventory/broken.yml"}, expect=(201,))
    r = d.post("/api/v2/inventory_sources/%d/update/" % bad["id"], expect=(202,))
    upd = d.wait_job(r["url"])
    assert upd["status"] in ("failed", "error"), upd
    assert upd["job_explanation"] or upd["result_traceback"] or \
        d.req("GET", "/api/v2/inventory_updates/%d/stdout/?format=txt" % upd["id"]).text


def test_cancel_running_job(world):
    d = world["d"]
    job = launch(d, world["jt_sleep"]["id"], extra_vars={"sleep_seconds": 3217})
    wait_for(lambda: pids_with_cmdline("sleep 3217"), timeout=60, what="ansible's sleep to start")
    assert d.get(job["url"] + "cancel/")["can_cancel"] is True
    t0 = time.monotonic()
    assert d.req("POST", job["url"] + "cancel/").status_code == 202
    r2 = d.req("POST", job["url"] + "cancel/")  # keep clicking: re-sent while still active
    assert r2.status_code in (202, 405)
    done = wait_for(lambda: (lambda j: j if j["status"] not in ACTIVE else None)(d.get(job["url"])),
                    timeout=10, interval=0.02, what="cancel")
    elapsed = time.monotonic() - t0
    assert done["status"] == "canceled", done
    # no absolute speed on a shared machine (the latency is the benchmark's): the
    # cancel, not the 3217 s sleep, ended the job
    assert elapsed <= 10.0, "canceled in %.2f s" % elapsed
    assert done["cancel_flag"] is True and done["failed"] is True
    wait_for(lambda: not pids_with_cmdline("sleep 3217"), timeout=10, what="the job's processes to end")
    # the worker writes the job's last record, then exits
    wait_for(lambda: not pid_alive(done.get("worker_pid") or 0), timeout=10, what="the worker to exit")
    assert d.get(job["url"] + "cancel/")["can_cancel"] is False
    assert d.req("POST", job["url"] + "cancel/").status_code == 405
    if r2.status_code == 202:
        # the engine's line for each SIGTERM it sends to the worker
        assert d.log().count("job %d: cancel: SIGTERM" % job["id"]) >= 2, d.log()


def test_secret_never_leaks(world):
    d = world["d"]
    key = Path(world["tmp"]) / "id_test"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    key_text = key.read_text()
    key_marker = key_text.strip().splitlines()[1]
    cred = d.create("credentials", name="machine", credential_type=1,
                    inputs={"username": "tester", "password": SECRET_PW, "ssh_key_data": key_text,
                            "become_method": "sudo", "become_password": SECRET_BECOME})
    assert cred["inputs"]["password"] == "$encrypted$"
    assert cred["inputs"]["ssh_key_data"] == "$encrypted$"
    assert cred["inputs"]["username"] == "tester"
    jt = d.create("job_templates", name="WithCred", project=world["project"]["id"], inventory=world["inv"]["id"],
                  playbook="ok.yml", limit="localhost")
    assert d.req("POST", "/api/v2/job_templates/%d/credentials/" % jt["id"], json={"id": cred["id"]}).status_code == 204
    assert d.get("/api/v2/job_templates/%d/credentials/" % jt["id"])["count"] == 1
    job = d.wait_job(launch(d, jt["id"])["url"])
    texts = [d.req("GET", p).text for p in (
        "/api/v2/credentials/", "/api/v2/credentials/%d/" % cred["id"], job["url"],
        "/api/v2/jobs/?page_size=200", "/api/v2/unified_jobs/?page_size=200",
        "/api/v2/jobs/%d/stdout/?format=ansi" % job["id"], "/api/v2/jobs/%d/stdout/?format=json" % job["id"],
        "/api/v2/jobs/%d/credentials/" % job["id"], "/api/v2/job_templates/%d/launch/" % jt["id"])]
    texts += [json.dumps(e) for e in d.all_pages("/api/v2/jobs/%d/job_events/" % job["id"])]
    texts.append(json.dumps(d.get(job["url"])["job_env"]))
    texts.append(d.log())
    for secret in (SECRET_PW, SECRET_BECOME, key_marker):
        for t in texts:
            assert secret not in t
    # the store keeps it encrypted at rest, too
    db = Path(d.state_dir) / "runneld.db"
    if db.exists():
        raw = db.read_bytes()
        assert SECRET_PW.encode() not in raw and key_marker.encode() not in raw


def test_bad_input(world):
    d = world["d"]
    s = d.session
    u = d.url
    hdr = {"Content-Type": "application/json"}
    r = s.post(u("/api/v2/organizations/"), data="{not json", headers=hdr)
    assert r.status_code == 400 and "detail" in r.json()
    r = s.post(u("/api/v2/organizations/"), json={"name": 42})
    assert r.status_code == 400 and "name" in r.json()
    r = s.post(u("/api/v2/organizations/"), json={"name": "x", "no_such_field": 1})
    assert r.status_code == 400 and "no_such_field" in r.json()
    r = s.post(u("/api/v2/organizations/"), json={})
    assert r.status_code == 400 and "name" in r.json()
    r = s.post(u("/api/v2/organizations/"), json=[1, 2])
    assert r.status_code == 400
    r = s.post(u("/api/v2/organizations/"), data=b'{"name": "' + b"x" * (2 << 20) + b'"}', headers=hdr)
    assert r.status_code == 413
    r = s.post(u("/api/v2/job_templates/"), json={"name": "escape", "project": world["project"]["id"],
                                                  "inventory": world["inv"]["id"], "playbook": "../../../etc/passwd"})
    assert r.status_code == 400 and "playbook" in r.json(), r.text
    r = s.post(u("/api/v2/job_templates/"), json={"name": "escape2", "project": world["project"]["id"],
                                                  "inventory": world["inv"]["id"], "playbook": "/etc/passwd"})
    assert r.status_code == 400 and "playbook" in r.json(), r.text
    r = s.post(u("/api/v2/job_templates/"), json={"name": "missing", "project": world["project"]["id"],
                                                  "inventory": world["inv"]["id"], "playbook": "nope.yml"})
    assert r.status_code == 400 and "playbook" in r.json(), r.text
    r = s.post(u("/api/v2/job_templates/%d/launch/" % world["jt"]["id"]), json={"bogus": 1})
    assert r.status_code == 400 and "bogus" in r.json()
    r = s.post(u("/api/v2/job_templates/%d/launch/" % world["jt"]["id"]), json={"verbosity": "loud"})
    assert r.status_code == 400 and "verbosity" in r.json()
    r = s.post(u("/api/v2/job_templates/%d/launch/" % world["jt"]["id"]), json={"credentials": "1"})
    assert r.status_code == 400 and "credentials" in r.json()
    r = s.post(u("/api/v2/job_templates/%d/launch/" % world["jt"]["id"]), data="[", headers=hdr)
    assert r.status_code == 400
    r = s.post(u("/api/v2/hosts/"), json={"name": "h", "inventory": "abc"})
    assert r.status_code == 400 and "inventory" in r.json()
    r = s.post(u("/api/v2/hosts/"), json={"name": "h", "inventory": 999999})
    assert r.status_code == 400 and "inventory" in r.json()
    r = s.post(u("/api/v2/ad_hoc_commands/"), json={"inventory": world["inv"]["id"], "forks": "many"})
    assert r.status_code == 400 and "forks" in r.json()
    assert s.get(u("/api/v2/jobs/999999/")).status_code == 404
    # a job's sub-lists: 404 for no such job, and for one of another kind
    for sub in ("job_events", "job_host_summaries", "credentials"):
        assert s.get(u("/api/v2/jobs/999999/%s/" % sub)).status_code == 404
    pu = s.get(u("/api/v2/project_updates/")).json()["results"]
    assert pu, "the world's project was updated"
    assert s.get(u("/api/v2/jobs/%d/job_events/" % pu[0]["id"])).status_code == 404
    assert s.get(u("/api/v2/project_updates/%d/events/" % pu[0]["id"])).status_code == 200
    assert s.get(u("/api/v2/no_such_thing/")).status_code == 404
    assert s.delete(u("/api/v2/ping/")).status_code == 405
    assert s.post(u("/api/v2/jobs/")).status_code == 405
    assert s.get(u("/api/v2/jobs/?no_such_field=1")).status_code == 400
    # still alive
    assert requests.get(u("/api/v2/ping/")).status_code == 200


def test_awx_collection(world):
    if not AWX_COLLECTION.exists():
        pytest.skip("the awx.awx collection is missing (apt-get install ansible)")
    d = world["d"]
    tmp = Path(world["tmp"])
    pb = tmp / "collection.yml"
    pb.write_text((FIXTURES / "collection.yml").read_text())
    out = run_collection_playbook(d, pb, ["scm_url=file://%s" % world["repo"]])
    assert out.returncode == 0, out.stdout + out.stderr
    jobs = d.get("/api/v2/jobs/?name=collection-jt&order_by=-id")
    assert jobs["count"] >= 1 and jobs["results"][0]["status"] == "successful"


# --------------------------------------------------------------------------
# daemons of their own: lifecycle

@pytest.fixture
def own(tmp_path):
    """Start runnelds of this test's own (stopped at the end)."""
    started = []
    repo, rev = make_git_project(tmp_path)

    def start(name="state", **kw):
        kw.setdefault("extra", [])
        kw["extra"] = list(kw["extra"]) + ["--isolation-base-path", str(tmp_path)]
        d = Runneld(tmp_path / name, **kw).start()
        started.append(d)
        return d
    start.repo = repo
    start.tmp = tmp_path
    yield start
    for d in started:
        d.stop(signal.SIGKILL)
    for needle in ("sleep 4321", "sleep 4322", "sleep 4323"):
        for pid in pids_with_cmdline(needle):
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass


def test_cancel_pending_and_sigterm_shutdown(own):
    d = own(extra=["--capacity", "1"])
    w = setup_world(d, own.repo)
    a = launch(d, w["jt_sleep"]["id"], extra_vars={"sleep_seconds": 4321})
    wait_for(lambda: d.get(a["url"])["status"] == "running", timeout=60, what="job a running")
    b = launch(d, w["jt_sleep"]["id"], extra_vars={"sleep_seconds": 4322})
    time.sleep(0.5)
    assert d.get(b["url"])["status"] in ("pending", "waiting")
    assert d.req("POST", b["url"] + "cancel/").status_code == 202
    bj = wait_for(lambda: (lambda j: j if j["status"] not in ACTIVE else None)(d.get(b["url"])), timeout=5,
                  what="pending job canceled")
    assert bj["status"] == "canceled"
    assert not pids_with_cmdline("sleep 4322")
    wait_for(lambda: pids_with_cmdline("sleep 4321"), timeout=60, what="job a's ansible")
    rc = d.stop(signal.SIGTERM, timeout=30)
    assert rc == 0, d.log()
    assert not pids_with_cmdline("sleep 4321")
    d.start()
    aj = d.get(a["url"])
    assert aj["status"] == "failed", aj
    assert "shutdown" in aj["job_explanation"], aj["job_explanation"]
    assert "shutting down" in d.log()


def test_kill9_then_restart_reaps(own):
    d = own()
    w = setup_world(d, own.repo)
    a = launch(d, w["jt_sleep"]["id"], extra_vars={"sleep_seconds": 4323})
    wait_for(lambda: pids_with_cmdline("sleep 4323"), timeout=60, what="ansible's sleep")
    before = wait_for(lambda: d.get("/api/v2/jobs/%d/job_events/" % a["id"])["count"], timeout=10,
                      what="events stored")
    pu_events = d.get("/api/v2/project_updates/%d/events/" % w["project_update"]["id"])["count"]
    d.stop(signal.SIGKILL)
    d.start()
    aj = wait_for(lambda: (lambda j: j if j["status"] not in ACTIVE else None)(d.get(a["url"])), timeout=30,
                  what="reaped")
    assert aj["status"] == "failed", aj
    assert aj["job_explanation"], aj
    assert d.get("/api/v2/jobs/%d/job_events/" % a["id"])["count"] >= before
    assert d.get("/api/v2/project_updates/%d/events/" % w["project_update"]["id"])["count"] == pu_events
    assert d.get(w["jt"]["url"])["name"] == "OK"
    # and it still works
    job = d.wait_job(launch(d, w["jt"]["id"])["url"])
    assert job["status"] == "successful"


@pytest.mark.parametrize("cleanup", ["false", "true"])
def test_cleanup_paths(own, cleanup):
    d = own(extra=["--cleanup-paths", cleanup])
    w = setup_world(d, own.repo)
    job = d.wait_job(launch(d, w["jt"]["id"])["url"])
    assert job["status"] == "successful"
    pdd = job["private_data_dir"]
    if cleanup == "false":
        assert pdd and os.path.isdir(pdd), job
        assert os.path.basename(pdd).startswith("job_%d_" % job["id"])
        assert (os.stat(pdd).st_mode & 0o777) == 0o700
    else:
        assert not pdd or not os.path.exists(pdd)
        assert not list(Path(own.tmp).glob("job_%d_*" % job["id"]))
    # a canceled job too
    c = launch(d, w["jt_sleep"]["id"], extra_vars={"sleep_seconds": 4321})
    wait_for(lambda: pids_with_cmdline("sleep 4321"), timeout=60, what="sleep")
    d.post(c["url"] + "cancel/", expect=(202,))
    cj = d.wait_job(c["url"], processed=False)
    assert cj["status"] == "canceled"
    left = list(Path(own.tmp).glob("job_%d_*" % c["id"]))
    assert bool(left) == (cleanup == "false")


def test_system_job_cleanup(own):
    d = own()
    w = setup_world(d, own.repo)
    r = d.post("/api/v2/ad_hoc_commands/", {"inventory": w["inv"]["id"], "limit": "localhost",
                                            "module_name": "ping"}, expect=(201,))
    old = d.wait_job(r["url"])
    assert old["status"] == "successful"
    sjt = d.get("/api/v2/system_job_templates/")["results"][0]
    assert sjt["job_type"] == "cleanup_jobs"
    r = d.post(sjt["related"]["launch"], {"extra_vars": {"days": 0}}, expect=(201,))
    sj = d.wait_job(r["url"])
    assert sj["status"] == "successful", sj
    assert d.req("GET", old["url"]).status_code == 404
    assert d.get(sj["url"])["status"] == "successful"
