"""`awx export` and `awx import` (awxkit 21.14.0, ../shared/clients/awx)
round trip between two runnelds: organizations, credentials, inventories
(hosts, groups, memberships, variables), projects and job templates (their
credentials) exported from one and imported into a fresh one are the same
objects there. Asserts on what the CLI printed and on what the second
runneld then serves.

awxkit's import attaches host<->group memberships by natural key and does
not index the objects it has just created through an inventory's sub-list
(its page class for that POST is a list); against AWX too, the memberships
land on a second `awx import` of the same file, which is what is run here.

Environment: RUNNELD, AWX_CLI (see test_awx_cli.py).
"""

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from runneld_harness import PASSWORD, RUNNELD, Runneld, make_git_project
from test_awx_cli import AWX

pytestmark = [
    pytest.mark.skipif(not os.path.exists(RUNNELD), reason="runneld is not built: " + RUNNELD),
    pytest.mark.skipif(not os.path.exists(AWX), reason="the awx CLI is not at " + AWX),
]

LOCAL = {"ansible_connection": "local", "ansible_python_interpreter": "/usr/bin/python3"}
RESOURCES = ["--organizations", "--credentials", "--inventory", "--projects", "--job_templates"]


def awx(d, *args, stdin=None):
    cmd = [AWX, "--conf.host", d.url(""), "--conf.color", "false", "--conf.username", "admin",
           "--conf.password", PASSWORD] + list(args)
    return subprocess.run(cmd, capture_output=True, text=True, timeout=600, input=stdin)


@pytest.fixture(scope="module")
def pair():
    tmp = Path(tempfile.mkdtemp(prefix="runneld-export-"))
    repo, _ = make_git_project(tmp)
    src = Runneld(tmp / "src", extra=["--isolation-base-path", str(tmp)]).start()
    dst = Runneld(tmp / "dst", extra=["--isolation-base-path", str(tmp)]).start()
    try:
        org = src.create("organizations", name="Export Org", description="moved")
        other = src.create("organizations", name="Other Org")
        mc = src.create("credentials", name="machine", credential_type=1, organization=org["id"],
                        description="ssh", inputs={"username": "deploy", "password": "pw-never-exported"})
        inv = src.create("inventories", name="Export Inv", organization=org["id"],
                         variables=json.dumps({"region": "eu"}))
        src.create("inventories", name="Other Inv", organization=other["id"])
        hosts = {}
        for name in ("web1", "web2", "db1"):
            hosts[name] = src.post("/api/v2/inventories/%d/hosts/" % inv["id"],
                                   {"name": name, "variables": json.dumps(dict(LOCAL, role=name[:-1]))},
                                   expect=(201,))
        web = src.post("/api/v2/inventories/%d/groups/" % inv["id"],
                       {"name": "web", "variables": "http_port: 8080"}, expect=(201,))
        db = src.post("/api/v2/inventories/%d/groups/" % inv["id"], {"name": "db"}, expect=(201,))
        for g, h in ((web, "web1"), (web, "web2"), (db, "db1")):
            src.post("/api/v2/groups/%d/hosts/" % g["id"], {"id": hosts[h]["id"]}, expect=(204,))
        proj = src.create("projects", name="Export Proj", organization=org["id"], scm_type="git",
                          scm_url="file://%s" % repo, description="playbooks")
        src.wait_job("/api/v2/project_updates/%d/" % proj["summary_fields"]["current_update"]["id"])
        jt = src.create("job_templates", name="Deploy", project=proj["id"], inventory=inv["id"],
                        playbook="ok.yml", limit="web", forks=3, verbosity=1,
                        extra_vars="greeting: hi", ask_limit_on_launch=True)
        src.post("/api/v2/job_templates/%d/credentials/" % jt["id"], {"id": mc["id"]}, expect=(204,))
        src.create("job_templates", name="Sleep", project=proj["id"], inventory=inv["id"],
                   playbook="sleep.yml")
        yield {"src": src, "dst": dst, "tmp": tmp}
    finally:
        src.stop()
        dst.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def view(d):
    """What a runneld holds, by names (ids differ between the two)."""
    def by_id(plural):
        return {o["id"]: o for o in d.all_pages("/api/v2/%s/" % plural)}
    orgs = by_id("organizations")
    invs = by_id("inventories")
    projs = by_id("projects")
    creds = by_id("credentials")
    org_name = lambda i: orgs[i]["name"] if i else None  # noqa: E731
    out = {
        "organizations": sorted((o["name"], o["description"]) for o in orgs.values()),
        "credentials": sorted((c["name"], c["description"], org_name(c["organization"]),
                               c["credential_type"], c["inputs"].get("username"))
                              for c in creds.values()),
        "inventories": sorted((i["name"], org_name(i["organization"]),
                               json.loads(i["variables"] or "{}") if i["variables"].startswith("{")
                               else i["variables"]) for i in invs.values()),
        "hosts": sorted((h["name"], invs[h["inventory"]]["name"], json.loads(h["variables"]))
                        for h in d.all_pages("/api/v2/hosts/")),
        "groups": sorted((g["name"], invs[g["inventory"]]["name"], g["variables"],
                          sorted(h["name"] for h in d.all_pages("/api/v2/groups/%d/hosts/" % g["id"])))
                         for g in d.all_pages("/api/v2/groups/")),
        "projects": sorted((p["name"], p["description"], org_name(p["organization"]), p["scm_type"],
                            p["scm_url"]) for p in projs.values()),
        "job_templates": sorted((j["name"], projs[j["project"]]["name"], invs[j["inventory"]]["name"],
                                 j["playbook"], j["limit"], j["forks"], j["verbosity"], j["extra_vars"],
                                 j["ask_limit_on_launch"],
                                 sorted(c["name"] for c in
                                        d.all_pages("/api/v2/job_templates/%d/credentials/" % j["id"])))
                                for j in d.all_pages("/api/v2/job_templates/")),
    }
    return out


def test_export_prints_the_objects_with_natural_keys(pair):
    p = awx(pair["src"], "export", *RESOURCES)
    assert p.returncode == 0, p.stderr[-3000:]
    data = json.loads(p.stdout)
    assert sorted(o["name"] for o in data["organizations"]) == ["Export Org", "Other Org"]
    inv = [i for i in data["inventory"] if i["name"] == "Export Inv"][0]
    assert inv["natural_key"] == {"organization": {"name": "Export Org", "type": "organization"},
                                  "name": "Export Inv", "type": "inventory"}
    assert sorted(h["name"] for h in inv["related"]["hosts"]) == ["db1", "web1", "web2"]
    web = [g for g in inv["related"]["groups"] if g["name"] == "web"][0]
    assert sorted(h["name"] for h in web["related"]["hosts"]) == ["web1", "web2"]
    jt = [j for j in data["job_templates"] if j["name"] == "Deploy"][0]
    assert jt["project"]["name"] == "Export Proj" and jt["inventory"]["name"] == "Export Inv"
    assert [c["name"] for c in jt["related"]["credentials"]] == ["machine"]
    # a secret never leaves runneld
    assert "pw-never-exported" not in p.stdout
    # and `awx export` with no resource named walks every exportable list
    p = awx(pair["src"], "export")
    assert p.returncode == 0, p.stderr[-3000:]
    everything = json.loads(p.stdout)
    assert {"users", "teams", "schedules", "workflow_job_templates"} <= set(everything)


def test_import_into_a_fresh_runneld_gives_the_same_objects(pair):
    src, dst = pair["src"], pair["dst"]
    p = awx(src, "export", *RESOURCES)
    assert p.returncode == 0, p.stderr[-3000:]
    exported = p.stdout
    # before: awx import stopped at once ("'ApiV2' object has no attribute 'teams'")
    first = awx(dst, "import", stdin=exported)
    assert "has no attribute" not in first.stderr, first.stderr[-3000:]
    assert "Traceback" not in first.stderr, first.stderr[-3000:]
    second = awx(dst, "import", stdin=exported)
    assert second.returncode == 0, second.stderr[-3000:]
    a, b = view(src), view(dst)
    for key in a:
        assert a[key] == b[key], (key, a[key], b[key])
    # a third import changes nothing and adds nothing
    third = awx(dst, "import", stdin=exported)
    assert third.returncode == 0, third.stderr[-3000:]
    assert view(dst) == b
