"""The awx.awx collection (21.14.0, Debian's ansible) driving runneld: every
module issue 13 names, in one world (service/awx_collection.yml).

The playbook runs twice. The first run creates (organization, inventory,
hosts, groups with hosts and children, credentials, a git project waited
for, a label, job templates given an `organization` and a `survey_spec`, a
user made in an organization, a team, roles, a schedule, a notification
template), launches, waits, cancels (job_launch, job_wait, job_cancel,
ad_hoc_command, ad_hoc_command_wait, ad_hoc_command_cancel), makes and
deletes tokens and a user, exports and imports. Check-mode tasks report a
change and write nothing. The second run repeats the declarative tasks and
every one reports no change. Each module's registered result is asserted,
and so is what runneld's API serves afterwards.

The export and import modules need awxkit: the copy beside the awx CLI
(../shared/clients/awxkit-21.14.0) is put on PYTHONPATH.

Environment: RUNNELD, AWX_CLI (see test_awx_cli.py).
"""

import json
import os
import shutil
import tempfile
from pathlib import Path

import pytest
import requests

from runneld_harness import (AWX_COLLECTION, FIXTURES, RUNNELD, Runneld, make_git_project,
                             run_collection_playbook)
from test_awx_cli import AWX

AWXKIT = Path(AWX).resolve().parent / "awxkit-21.14.0"
MACHINE_PW = "PLANTED-coll-machine-pw-5521"

pytestmark = [
    pytest.mark.skipif(not os.path.exists(RUNNELD), reason="runneld is not built: " + RUNNELD),
    pytest.mark.skipif(not AWX_COLLECTION.exists(),
                       reason="the awx.awx collection is missing (apt-get install ansible)"),
    pytest.mark.skipif(not AWXKIT.exists(), reason="awxkit is not at %s" % AWXKIT),
]


def run_playbook(d, tmp, phase):
    """Run service/awx_collection.yml in phase; (results dict, playbook output)."""
    pb = tmp / "awx_collection.yml"
    pb.write_text((FIXTURES / "awx_collection.yml").read_text())
    out = tmp / ("results-%s.json" % phase)
    pythonpath = str(AWXKIT) + (":" + os.environ["PYTHONPATH"] if os.environ.get("PYTHONPATH") else "")
    p = run_collection_playbook(d, pb, ["phase=%s" % phase, "out=%s" % out, "scm_url=file://%s" % (tmp / "repo"),
                                        "machine_password=%s" % MACHINE_PW],
                                env={"PYTHONPATH": pythonpath}, timeout=900)
    assert p.returncode == 0, p.stdout[-6000:] + p.stderr[-3000:]
    return json.loads(out.read_text()), p.stdout + p.stderr


@pytest.fixture(scope="module")
def w():
    tmp = Path(tempfile.mkdtemp(prefix="runneld-collection-"))
    make_git_project(tmp)
    d = Runneld(tmp / "state", extra=["--isolation-base-path", str(tmp)]).start()
    try:
        first, first_out = run_playbook(d, tmp, "first")
        again, again_out = run_playbook(d, tmp, "again")
        yield {"d": d, "tmp": tmp, "r": first, "out": first_out, "again": again, "again_out": again_out}
    finally:
        d.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def one(d, plural, **filters):
    """The one object of plural matching filters (asserted unique)."""
    q = "&".join("%s=%s" % kv for kv in filters.items())
    page = d.get("/api/v2/%s/?%s" % (plural, q))
    assert page["count"] == 1, (plural, filters, page)
    return page["results"][0]


def ids(d, path):
    return sorted(o["id"] for o in d.all_pages(path))


def test_check_mode_writes_nothing(w):
    d, r = w["d"], w["r"]
    assert r["org_check"]["changed"] is True
    assert d.get("/api/v2/organizations/?name=cov-org-never")["count"] == 0
    assert r["org_change_check"]["changed"] is True
    assert one(d, "organizations", name="cov-org")["description"] == "coverage"
    assert r["jt_change_check"]["changed"] is True
    assert one(d, "job_templates", name="cov-jt")["limit"] == "localhost"


def test_organization_inventory_hosts(w):
    d, r = w["d"], w["r"]
    org = one(d, "organizations", name="cov-org")
    assert r["org"]["changed"] is True and r["org"]["id"] == org["id"]
    inv = one(d, "inventories", name="cov-inv")
    assert r["inv"]["changed"] is True and r["inv"]["id"] == inv["id"]
    assert inv["organization"] == org["id"] and json.loads(inv["variables"]) == {"site": "one"}
    web1 = one(d, "hosts", name="web1", inventory=inv["id"])
    assert r["host_web1"]["id"] == web1["id"] and json.loads(web1["variables"])["tier"] == "web"
    assert r["host"]["id"] == one(d, "hosts", name="localhost", inventory=inv["id"])["id"]
    assert inv["total_hosts"] == 2


def test_groups_with_hosts_and_children(w):
    d, r = w["d"], w["r"]
    web = one(d, "groups", name="cov-web")
    assert r["group"]["changed"] is True and r["group"]["id"] == web["id"]
    assert web["description"] == "web servers" and json.loads(web["variables"]) == {"http_port": 8080}
    assert [h["name"] for h in d.all_pages("/api/v2/groups/%d/hosts/" % web["id"])] == ["web1"]
    parent = one(d, "groups", name="cov-all")
    assert r["group_parent"]["id"] == parent["id"]
    assert [g["name"] for g in d.all_pages("/api/v2/groups/%d/children/" % parent["id"])] == ["cov-web"]


def test_credentials_keep_their_secret(w):
    d, r = w["d"], w["r"]
    org = one(d, "organizations", name="cov-org")
    machine = d.get("/api/v2/credential_types/?name=Machine")["results"][0]
    c = one(d, "credentials", name="cov-machine")
    assert r["cred"]["changed"] is True and r["cred"]["id"] == c["id"]
    assert c["organization"] == org["id"] and c["credential_type"] == machine["id"]
    assert c["description"] == "deploys"
    assert c["inputs"] == {"username": "deploy", "password": "$encrypted$"}
    # the secret is in neither the playbook's output (no_log) nor any answer
    assert MACHINE_PW not in w["out"] and MACHINE_PW not in json.dumps(r)
    assert MACHINE_PW not in d.req("GET", "/api/v2/credentials/?page_size=200").text


def test_project_waited_for(w):
    d, r = w["d"], w["r"]
    p = one(d, "projects", name="cov-proj")
    assert r["proj"]["changed"] is True and r["proj"]["id"] == p["id"]
    # wait: true returned only once the update ended
    assert p["status"] == "successful" and p["scm_revision"]
    updates = d.get("/api/v2/projects/%d/project_updates/" % p["id"])
    assert updates["count"] == 1 and updates["results"][0]["status"] == "successful"


def test_job_template_with_organization_survey_and_label(w):
    d, r = w["d"], w["r"]
    org = one(d, "organizations", name="cov-org")
    jt = one(d, "job_templates", name="cov-jt")
    assert r["jt"]["changed"] is True and r["jt"]["id"] == jt["id"]
    # AWX's job template shows its project's organization (read-only)
    assert jt["organization"] == org["id"]
    assert jt["summary_fields"]["organization"]["name"] == "cov-org"
    assert jt["related"]["organization"] == "/api/v2/organizations/%d/" % org["id"]
    assert one(d, "job_templates", name="cov-jt", organization=org["id"])["id"] == jt["id"]
    assert jt["survey_enabled"] is True
    spec = d.get("/api/v2/job_templates/%d/survey_spec/" % jt["id"])
    assert [q["variable"] for q in spec["spec"]] == ["greeting"]
    assert [lb["name"] for lb in d.all_pages("/api/v2/job_templates/%d/labels/" % jt["id"])] == ["cov-label"]
    assert r["label"]["id"] == one(d, "labels", name="cov-label")["id"]
    sleep = one(d, "job_templates", name="cov-sleep")
    assert r["jt_sleep"]["id"] == sleep["id"] and sleep["organization"] == org["id"]


def test_user_team_role(w):
    d, r = w["d"], w["r"]
    org = one(d, "organizations", name="cov-org")
    u = one(d, "users", username="cov-user")
    assert r["user"]["changed"] is True and r["user"]["id"] == u["id"]
    assert u["email"] == "cov@example.com" and u["first_name"] == "Cov"
    # made through organizations/N/users/: a member of it
    assert u["id"] in ids(d, "/api/v2/organizations/%d/users/" % org["id"])
    t = one(d, "teams", name="cov-team")
    assert r["team"]["id"] == t["id"] and t["organization"] == org["id"]
    assert ids(d, "/api/v2/teams/%d/users/" % t["id"]) == [u["id"]]
    assert r["role_member"]["changed"] is True and r["role_execute"]["changed"] is True
    # through the team, the user may start the template
    jt = one(d, "job_templates", name="cov-jt")
    s = requests.Session()
    s.auth = ("cov-user", "cov-user-pw-1")
    got = s.get(d.url("/api/v2/job_templates/%d/" % jt["id"]), timeout=30)
    assert got.status_code == 200 and got.json()["summary_fields"]["user_capabilities"]["start"] is True
    # a user deleted
    assert r["user_gone"]["changed"] is True and r["user_deleted"]["changed"] is True
    assert d.get("/api/v2/users/?username=cov-gone")["count"] == 0


def test_schedule_and_notification_template(w):
    d, r = w["d"], w["r"]
    jt = one(d, "job_templates", name="cov-jt")
    s = one(d, "schedules", name="cov-schedule")
    assert r["schedule"]["changed"] is True and r["schedule"]["id"] == s["id"]
    assert s["unified_job_template"] == jt["id"] and s["timezone"] == "Europe/Paris"
    assert s["next_run"] and s["next_run"].startswith("2035-01-01T08:00:00")
    n = one(d, "notification_templates", name="cov-hook")
    assert r["notification"]["id"] == n["id"] and n["notification_type"] == "webhook"
    assert n["notification_configuration"]["headers"] == {"X-Cov": "1"}


def test_job_launch_wait_and_cancel(w):
    d, r = w["d"], w["r"]
    jt = one(d, "job_templates", name="cov-jt")
    assert r["launched"]["changed"] is True
    job = d.get("/api/v2/jobs/%d/" % r["launched"]["id"])
    assert job["job_template"] == jt["id"] and job["launch_type"] == "manual"
    assert r["waited"]["status"] == "successful" and job["status"] == "successful"
    assert r["waited"]["id"] == job["id"] and r["waited"]["finished"] == job["finished"]
    out = d.req("GET", "/api/v2/jobs/%d/stdout/?format=txt" % job["id"]).text
    # the survey's default answered the question
    assert "hello localhost from-survey" in out, out
    # the launch is in the activity stream as AWX records it: by admin (the
    # module's token), with the job's labels
    acts = d.get("/api/v2/jobs/%d/activity_stream/" % job["id"])["results"]
    assert len(acts) == 1 and acts[0]["operation"] == "create", acts
    assert acts[0]["summary_fields"]["actor"]["username"] == "admin"
    assert acts[0]["changes"]["labels"] == ["cov-label"] and acts[0]["changes"]["job_template"] == jt["id"]
    # a finished job: nothing to cancel, and a failure when asked to fail
    assert r["cancel_done"]["changed"] is False
    assert r["cancel_done_strict"]["failed"] is True
    assert r["cancel_done_strict"]["msg"] == "Job is not running"
    # the long one, canceled
    assert r["canceled"]["changed"] is True
    gone = d.wait_job("/api/v2/jobs/%d/" % r["launched_sleep"]["id"], timeout=120)
    assert gone["status"] == "canceled" and gone["cancel_flag"] is True
    assert r["waited_canceled"]["failed"] is True and r["waited_canceled"]["status"] == "canceled"


def test_ad_hoc_command_wait_and_cancel(w):
    d, r = w["d"], w["r"]
    cred = one(d, "credentials", name="cov-local")
    assert r["adhoc"]["changed"] is True and r["adhoc"]["status"] == "successful"
    cmd = d.get("/api/v2/ad_hoc_commands/%d/" % r["adhoc"]["id"])
    assert cmd["status"] == "successful" and cmd["module_name"] == "ping"
    assert cmd["module_args"] == "" and cmd["credential"] == cred["id"] and cmd["limit"] == "localhost"
    out = d.req("GET", "/api/v2/ad_hoc_commands/%d/stdout/?format=txt" % cmd["id"]).text
    assert "localhost | SUCCESS" in out and "pong" in out, out
    assert r["adhoc_waited"]["status"] == "successful" and r["adhoc_waited"]["id"] == cmd["id"]
    assert r["adhoc_cancel_done"]["changed"] is False
    # the long one: the cancel module returned once it could no longer be canceled
    assert r["adhoc_canceled"]["changed"] is True
    long = d.get("/api/v2/ad_hoc_commands/%d/" % r["adhoc_sleep"]["id"])
    assert long["status"] == "canceled" and long["module_args"] == "sleep 120"
    assert d.get("/api/v2/ad_hoc_commands/%d/cancel/" % long["id"]) == {"can_cancel": False}
    assert r["adhoc_waited_canceled"]["failed"] is True
    assert r["adhoc_waited_canceled"]["status"] == "canceled"


def test_tokens(w):
    d, r = w["d"], w["r"]
    tok = r["token"]["ansible_facts"]["controller_token"]
    assert r["token"]["changed"] is True and tok["scope"] == "write" and tok["description"] == "cov token"
    # the token the module returned works as a Bearer token
    me = requests.get(d.url("/api/v2/me/"), headers={"Authorization": "Bearer " + tok["token"]}, timeout=30)
    assert me.status_code == 200 and me.json()["results"][0]["username"] == "admin"
    listed = d.get("/api/v2/tokens/%d/" % tok["id"])
    assert listed["description"] == "cov token" and listed["token"] == "************"
    # the second one, deleted by its id, is gone and no longer works
    tok2 = r["token2"]["ansible_facts"]["controller_token"]
    assert tok2["scope"] == "read" and r["token2_deleted"]["changed"] is True
    assert d.req("GET", "/api/v2/tokens/%d/" % tok2["id"]).status_code == 404
    assert requests.get(d.url("/api/v2/me/"), headers={"Authorization": "Bearer " + tok2["token"]},
                        timeout=30).status_code == 401


def test_export_and_import(w):
    d, r = w["d"], w["r"]
    assets = r["exported"]["assets"]
    assert r["exported"]["changed"] is False
    assert [o["name"] for o in assets["organizations"]] == ["cov-org"]
    assert assets["organizations"][0]["description"] == "coverage"
    proj = assets["projects"][0]
    assert proj["name"] == "cov-proj" and proj["organization"]["name"] == "cov-org"
    assert proj["scm_url"].startswith("file://")
    cred = assets["credentials"][0]
    assert cred["name"] == "cov-machine" and cred["inputs"]["username"] == "deploy"
    assert MACHINE_PW not in json.dumps(assets)
    # the imported copy under a new name
    assert r["imported"]["changed"] is True
    imp = one(d, "organizations", name="cov-imported")
    assert imp["description"] == "imported"
    assert one(d, "organizations", name="cov-org")["description"] == "coverage"


def test_second_run_changes_nothing(w):
    again = w["again"]
    declarative = ["org", "inv", "host", "host_web1", "group", "group_parent", "cred", "cred_local",
                   "proj", "label", "jt", "jt_sleep", "user", "team", "role_member", "role_execute",
                   "schedule"]
    changed = [k for k in declarative if again[k].get("changed") is not False]
    assert changed == [], {k: again[k] for k in changed}
    # and each found the object the first run made (a webhook template
    # changes again, against AWX too: its serializer fills the options left
    # out, username, password, disable_ssl_verification, with defaults)
    for k in declarative + ["notification"]:
        if "id" in w["r"][k]:
            assert again[k].get("id") == w["r"][k]["id"], k
    # check mode still reports what it would do
    assert again["org_check"]["changed"] is True and again["jt_change_check"]["changed"] is True
    # nothing launched the second time
    assert again["launched"].get("skipped") is True
