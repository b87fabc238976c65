"""AWX's own command-line client, `awx` (awxkit 21.14.0, ../shared/clients/awx),
driving runneld unchanged: session and token login, create/modify/delete of
organizations, inventories, hosts, groups, credentials, projects and job
templates (their options come from runneld's OPTIONS), `job_templates
launch --monitor`, `ad_hoc_commands create --monitor`, `jobs stdout`,
`jobs monitor` of a job canceled meanwhile (awxkit 21.14.0 has no `jobs
cancel` action: the cancel goes through the API), and the activity
stream's entry of a launch (`activity_stream list`). Every test asserts on
what the CLI printed.

Environment: RUNNELD (default <repo>/build/service/runneld), AWX_CLI (default
<repo>/../shared/clients/awx).
"""

import json
import os
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path

import pytest

from runneld_harness import PASSWORD, REPO_ROOT, RUNNELD, Runneld, make_git_project, wait_for

AWX = os.environ.get("AWX_CLI", str(REPO_ROOT.parent / "shared" / "clients" / "awx"))
if not os.path.exists(AWX):
    AWX = "/work/shared/clients/awx"

pytestmark = [
    pytest.mark.skipif(not os.path.exists(RUNNELD), reason="runneld is not built: " + RUNNELD),
    pytest.mark.skipif(not os.path.exists(AWX), reason="the awx CLI is not at " + AWX),
]

LOCAL = '{"ansible_connection": "local", "ansible_python_interpreter": "/usr/bin/python3"}'


@pytest.fixture(scope="module")
def w():
    tmp = Path(tempfile.mkdtemp(prefix="runneld-awxcli-"))
    repo, _ = make_git_project(tmp)
    d = Runneld(tmp / "state", extra=["--isolation-base-path", str(tmp)]).start()
    try:
        yield {"d": d, "repo": repo, "tmp": tmp}
    finally:
        d.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def awx(d, *args, token=None, fmt="json", ok=True, timeout=300):
    """Run the awx CLI against d; the CompletedProcess (ok: rc 0 asserted)."""
    cmd = [AWX, "--conf.host", d.url(""), "--conf.color", "false", "-f", fmt]
    if token:
        cmd += ["--conf.token", token]
    else:
        cmd += ["--conf.username", "admin", "--conf.password", PASSWORD]
    p = subprocess.run(cmd + [str(a) for a in args], capture_output=True, text=True, timeout=timeout)
    if ok:
        assert p.returncode == 0, (args, p.returncode, p.stdout[-3000:], p.stderr[-3000:])
    return p


def awx_json(d, *args, **kw):
    p = awx(d, *args, **kw)
    return json.loads(p.stdout)


_seq = [0]


def uniq(prefix):
    _seq[0] += 1
    return "%s-%d-%d" % (prefix, os.getpid(), _seq[0])


def test_session_login_and_token(w):
    d = w["d"]
    out = awx_json(d, "me")
    assert out["results"][0]["username"] == "admin"
    assert "User admin logged in (user 1, session login)" in d.log()
    # a write through the session (the CLI sends the CSRF token it was given)
    name = uniq("org")
    assert awx_json(d, "organizations", "create", "--name", name)["name"] == name
    # a token, as `awx login` prints it, used with --conf.token
    tok = d.post("/api/v2/users/1/personal_tokens/", {"description": "AWX CLI", "scope": "write"})["token"]
    out = awx_json(d, "organizations", "list", "--name", name, token=tok)
    assert out["count"] == 1 and out["results"][0]["name"] == name
    p = awx(d, "organizations", "list", token="not-a-token", ok=False)
    assert p.returncode != 0 and "Valid credentials were not provided." in p.stderr
    p = subprocess.run([AWX, "--conf.host", d.url(""), "--conf.color", "false", "--conf.username", "admin",
                        "--conf.password", "wrong", "organizations", "list"],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode != 0 and name not in p.stdout


def test_create_offers_the_api_fields(w):
    d = w["d"]
    # (the CLI prints the help of an action with required options on stderr, rc 2)
    p = awx(d, "job_templates", "create", "--help", fmt="human", ok=False)
    out = p.stdout + p.stderr
    for opt in ("--name TEXT", "--project ID", "--playbook TEXT", "--job_type {run,check}",
                "--verbosity {0,1,2,3,4,5}", "--ask_limit_on_launch BOOLEAN"):
        assert opt in out, out
    p = awx(d, "job_templates", "launch", "--help", fmt="human", ok=False)
    out = p.stdout + p.stderr
    assert "--extra_vars JSON/YAML" in out and "--monitor" in out, out


def test_organization_inventory_host_group_crud(w):
    d = w["d"]
    org = uniq("Org")
    o = awx_json(d, "organizations", "create", "--name", org, "--description", "first")
    assert o["name"] == org and o["description"] == "first"
    o = awx_json(d, "organizations", "modify", o["id"], "--description", "second")
    assert o["description"] == "second"
    inv = awx_json(d, "inventory", "create", "--name", "Inv", "--organization", org,
                   "--variables", '{"site": "one"}')
    assert inv["organization"] == o["id"] and json.loads(inv["variables"]) == {"site": "one"}
    # a second inventory of that name in that organization is refused, as AWX does
    p = awx(d, "inventory", "create", "--name", "Inv", "--organization", org, ok=False)
    assert p.returncode != 0
    assert "Inventory with this Name and Organization already exists." in p.stdout + p.stderr
    host = awx_json(d, "hosts", "create", "--name", "localhost", "--inventory", inv["id"],
                    "--variables", LOCAL)
    assert host["inventory"] == inv["id"] and host["enabled"] is True
    host = awx_json(d, "hosts", "modify", host["id"], "--enabled", "false")
    assert host["enabled"] is False
    grp = awx_json(d, "groups", "create", "--name", "web", "--inventory", inv["id"])
    assert grp["inventory"] == inv["id"]
    p = awx(d, "hosts", "list", "--inventory", inv["id"], fmt="human")
    assert "localhost" in p.stdout
    awx(d, "groups", "delete", grp["id"])
    awx(d, "hosts", "delete", host["id"])
    assert awx_json(d, "hosts", "list", "--inventory", inv["id"])["count"] == 0
    awx(d, "inventory", "delete", inv["id"])
    p = awx(d, "inventory", "get", inv["id"], ok=False)
    assert p.returncode != 0
    awx(d, "organizations", "delete", o["id"])
    assert awx_json(d, "organizations", "list", "--name", org)["count"] == 0


def test_credential_crud(w):
    d = w["d"]
    name = uniq("cred")
    c = awx_json(d, "credentials", "create", "--name", name, "--credential_type", "Machine",
                 "--inputs", '{"username": "deploy", "password": "PLANTED-cli-pw-42"}')
    assert c["inputs"] == {"username": "deploy", "password": "$encrypted$"}
    assert "PLANTED-cli-pw-42" not in json.dumps(c)
    c = awx_json(d, "credentials", "modify", c["id"], "--description", "for deploys")
    assert c["description"] == "for deploys" and c["inputs"]["password"] == "$encrypted$"
    # unique per organization and type (AWX's unique_together): set one, and repeat it
    org = awx_json(d, "organizations", "create", "--name", uniq("Org"))
    awx(d, "credentials", "modify", c["id"], "--organization", org["id"])
    p = awx(d, "credentials", "create", "--name", name, "--credential_type", "Machine",
            "--organization", org["id"], ok=False)
    assert "Credential with this Organization, Name and Credential type already exists." in p.stdout + p.stderr
    awx(d, "credentials", "delete", c["id"])
    assert awx_json(d, "credentials", "list", "--name", name)["count"] == 0


def test_project_template_launch_monitor_and_stdout(w):
    d = w["d"]
    org = awx_json(d, "organizations", "create", "--name", uniq("Org"))
    inv = awx_json(d, "inventory", "create", "--name", "Inv", "--organization", org["id"])
    awx(d, "hosts", "create", "--name", "localhost", "--inventory", inv["id"], "--variables", LOCAL)
    pname = uniq("Proj")
    prj = awx_json(d, "projects", "create", "--name", pname, "--organization", org["id"],
                   "--scm_type", "git", "--scm_url", "file://%s" % w["repo"], "--wait")
    assert prj["name"] == pname
    assert awx_json(d, "projects", "get", prj["id"])["status"] == "successful"
    jt = awx_json(d, "job_templates", "create", "--name", "Hello", "--project", prj["id"],
                  "--inventory", inv["id"], "--playbook", "ok.yml", "--ask_variables_on_launch", "true")
    assert jt["playbook"] == "ok.yml" and jt["ask_variables_on_launch"] is True
    jt = awx_json(d, "job_templates", "modify", jt["id"], "--limit", "localhost")
    assert jt["limit"] == "localhost"
    p = awx(d, "job_templates", "launch", jt["id"], "--monitor", "--extra_vars", '{"greeting": "from-cli"}',
            fmt="human")
    assert "hello localhost from-cli" in p.stdout, p.stdout
    assert "TASK [run a command]" in p.stdout and "PLAY RECAP" in p.stdout
    job = awx_json(d, "jobs", "list", "--job_template", jt["id"])["results"][0]
    assert job["status"] == "successful" and job["launch_type"] == "manual"
    out = awx(d, "jobs", "stdout", job["id"], fmt="human").stdout
    assert "hello localhost from-cli" in out and "localhost" in out and "ok=" in out
    # the same name again in this organization is refused
    p = awx(d, "job_templates", "create", "--name", "Hello", "--project", prj["id"], "--playbook", "ok.yml",
            ok=False)
    assert "JobTemplate with this (name, organization) combination already exists." in p.stdout + p.stderr
    awx(d, "job_templates", "delete", jt["id"])
    assert awx_json(d, "job_templates", "list", "--name", "Hello")["count"] == 0


def test_ad_hoc_command_without_module_args(w):
    d = w["d"]
    org = awx_json(d, "organizations", "create", "--name", uniq("Org"))
    inv = awx_json(d, "inventory", "create", "--name", "AdHoc", "--organization", org["id"])
    awx(d, "hosts", "create", "--name", "localhost", "--inventory", inv["id"], "--variables", LOCAL)
    # (the CLI itself insists on a credential for ad hoc commands)
    cred = awx_json(d, "credentials", "create", "--name", uniq("m"), "--credential_type", "Machine",
                    "--inputs", '{"username": "nobody"}')
    p = awx(d, "ad_hoc_commands", "create", "--inventory", inv["id"], "--credential", cred["id"],
            "--module_name", "ping", "--monitor", fmt="human")
    assert "localhost | SUCCESS" in p.stdout and '"ping": "pong"' in p.stdout, p.stdout
    cmd = awx_json(d, "ad_hoc_commands", "list", "--inventory", inv["id"])["results"][0]
    assert cmd["status"] == "successful" and cmd["module_name"] == "ping" and cmd["module_args"] == ""
    out = awx(d, "ad_hoc_commands", "stdout", cmd["id"], fmt="human").stdout
    assert "pong" in out
    # command without arguments is refused as AWX refuses it
    p = awx(d, "ad_hoc_commands", "create", "--inventory", inv["id"], "--credential", cred["id"],
            "--module_name", "command", ok=False)
    assert "No argument passed to command module." in p.stdout + p.stderr


def test_job_canceled_while_the_cli_follows_it(w):
    """awxkit 21.14.0's CLI has no `jobs cancel` action (its actions are the
    OPTIONS ones, list/get/modify/delete, plus launch, stdout, monitor): a
    job is canceled through the API (as the awx.awx job_cancel module and
    the web page do) while `awx jobs monitor` follows it; the CLI sees the
    job end canceled, and `jobs get` / `jobs stdout` show it so."""
    d = w["d"]
    org = awx_json(d, "organizations", "create", "--name", uniq("Org"))
    inv = awx_json(d, "inventory", "create", "--name", "Cancel", "--organization", org["id"])
    awx(d, "hosts", "create", "--name", "localhost", "--inventory", inv["id"], "--variables", LOCAL)
    prj = awx_json(d, "projects", "create", "--name", uniq("Proj"), "--organization", org["id"],
                   "--scm_type", "git", "--scm_url", "file://%s" % w["repo"], "--wait")
    jt = awx_json(d, "job_templates", "create", "--name", uniq("Sleep"), "--project", prj["id"],
                  "--inventory", inv["id"], "--playbook", "sleep.yml", "--ask_variables_on_launch", "true")
    job = awx_json(d, "job_templates", "launch", jt["id"], "--extra_vars", '{"sleep_seconds": 120}')
    assert job["status"] in ("pending", "waiting", "running") and job["job_template"] == jt["id"]
    mon = subprocess.Popen([AWX, "--conf.host", d.url(""), "--conf.color", "false", "-f", "json",
                            "--conf.username", "admin", "--conf.password", PASSWORD,
                            "jobs", "monitor", str(job["id"])],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           env=dict(os.environ, PYTHONUNBUFFERED="1"))
    watchdog = threading.Timer(300, mon.kill)
    watchdog.start()
    try:
        # cancel once the monitor has printed the play's last task before the sleep
        seen = []
        for line in mon.stdout:
            seen.append(line)
            if "about to sleep" in line:
                break
        assert d.get("/api/v2/jobs/%d/cancel/" % job["id"]) == {"can_cancel": True}, "".join(seen)
        d.post("/api/v2/jobs/%d/cancel/" % job["id"], expect=(202,))
        rest, err = mon.communicate(timeout=240)
        out = "".join(seen) + rest
    finally:
        watchdog.cancel()
        if mon.poll() is None:
            mon.kill()
            mon.wait()
    assert mon.returncode == 0, (out[-3000:], err[-3000:])
    # the monitor printed the output up to the cancel and stopped once the
    # job ended canceled (awxkit's monitor loop ends on "canceled")
    assert "about to sleep" in out, out
    assert out.rstrip().endswith("------End of Standard Out Stream--------"), out
    got = awx_json(d, "jobs", "get", job["id"])
    assert got["status"] == "canceled" and got["cancel_flag"] is True and got["failed"] is True
    assert awx_json(d, "jobs", "list", "--status", "canceled", "--job_template", jt["id"])["count"] == 1
    assert "about to sleep" in awx(d, "jobs", "stdout", job["id"], fmt="human").stdout
    # a second cancel of the ended job is refused, as AWX refuses it
    r = d.req("POST", "/api/v2/jobs/%d/cancel/" % job["id"], json={})
    assert r.status_code == 405


def test_activity_stream_records_the_launch(w):
    """AWX writes a "create" entry for each job it launches (its
    UnifiedJobTemplate.create_unified_job, once credentials and labels are
    attached): who launched it, the job's fields, its credentials as
    "name (id)" and labels by name. The awx CLI lists it."""
    d = w["d"]
    org = awx_json(d, "organizations", "create", "--name", uniq("Org"))
    inv = awx_json(d, "inventory", "create", "--name", "Acts", "--organization", org["id"])
    awx(d, "hosts", "create", "--name", "localhost", "--inventory", inv["id"], "--variables", LOCAL)
    prj = awx_json(d, "projects", "create", "--name", uniq("Proj"), "--organization", org["id"],
                   "--scm_type", "git", "--scm_url", "file://%s" % w["repo"], "--wait")
    jt = awx_json(d, "job_templates", "create", "--name", uniq("Acts"), "--project", prj["id"],
                  "--inventory", inv["id"], "--playbook", "ok.yml")
    cname = uniq("m")
    cred = awx_json(d, "credentials", "create", "--name", cname, "--credential_type", "Machine",
                    "--inputs", '{"username": "nobody"}')
    d.post("/api/v2/job_templates/%d/credentials/" % jt["id"], {"id": cred["id"]}, expect=(204,))
    label = d.create("labels", name=uniq("lab"), organization=org["id"])
    d.post("/api/v2/job_templates/%d/labels/" % jt["id"], {"id": label["id"]}, expect=(204,))
    p = awx(d, "job_templates", "launch", jt["id"], "--monitor", fmt="human")
    assert "PLAY RECAP" in p.stdout
    job = awx_json(d, "jobs", "list", "--job_template", jt["id"])["results"][0]
    acts = awx_json(d, "activity_stream", "list", "--object1", "job", "--operation", "create")
    mine = [a for a in acts["results"] if a["summary_fields"].get("job", [{}])[0].get("id") == job["id"]]
    assert len(mine) == 1, acts
    a = mine[0]
    assert a["summary_fields"]["actor"]["username"] == "admin"
    assert a["related"]["job"] == ["/api/v2/jobs/%d/" % job["id"]]
    assert a["changes"]["id"] == job["id"] and a["changes"]["job_template"] == jt["id"]
    assert a["changes"]["playbook"] == "ok.yml" and a["changes"]["inventory"] == inv["id"]
    assert a["changes"]["credentials"] == ["%s (%d)" % (cname, cred["id"])]
    assert a["changes"]["labels"] == [label["name"]]
    # the job's own activity_stream/ holds just that entry
    own = d.get("/api/v2/jobs/%d/activity_stream/" % job["id"])
    assert [e["id"] for e in own["results"]] == [a["id"]]
    # and an ad hoc command's launch is recorded too, a project update's is not (as AWX)
    cmd = d.post("/api/v2/ad_hoc_commands/", {"inventory": inv["id"], "credential": cred["id"],
                                             "module_name": "ping", "limit": "localhost"}, expect=(201,))
    e = d.get("/api/v2/ad_hoc_commands/%d/activity_stream/" % cmd["id"])["results"]
    assert len(e) == 1 and e[0]["operation"] == "create" and e[0]["changes"]["module_name"] == "ping"
    assert d.get("/api/v2/activity_stream/?object1=project_update")["count"] == 0
    d.wait_job("/api/v2/ad_hoc_commands/%d/" % cmd["id"])
