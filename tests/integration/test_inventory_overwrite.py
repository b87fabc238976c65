"""An inventory source with `overwrite: true` removes only the hosts and
groups it imported itself (AWX's inventory_source.hosts / .groups): hosts
and groups added by hand stay. Before, every host the source did not name
was deleted, hand-made ones included (data loss). `overwrite_vars`: an
imported host's variables replaced; without it merged over what it has.

One runneld on the backend RUNNELD_STORE names (scripts/run-tests runs it
on PostgreSQL too). Environment: RUNNELD.
"""

import json
import os
import shutil
import tempfile
from pathlib import Path

import pytest

from runneld_harness import RUNNELD, Runneld, git

pytestmark = pytest.mark.skipif(not os.path.exists(RUNNELD), reason="runneld is not built: " + RUNNELD)

LOCAL = "ansible_connection=local ansible_python_interpreter=/usr/bin/python3"


def write_inventory(repo, text, msg):
    (repo / "inv.ini").write_text(text)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", msg)


@pytest.fixture
def env():
    tmp = Path(tempfile.mkdtemp(prefix="runneld-overwrite-"))
    repo = tmp / "repo"
    repo.mkdir()
    (repo / "ok.yml").write_text("- hosts: all\n  tasks: []\n")
    git(repo, "init", "-q")
    write_inventory(repo, "[web]\nweb1 x=1 %s\nweb2 %s\n[db]\ndb1 %s\n" % (LOCAL, LOCAL, LOCAL), "v1")
    d = Runneld(tmp / "state", extra=["--isolation-base-path", str(tmp)]).start()
    try:
        org = d.create("organizations", name="O")
        proj = d.create("projects", name="P", organization=org["id"], scm_type="git",
                        scm_url="file://%s" % repo)
        d.wait_job("/api/v2/project_updates/%d/" % proj["summary_fields"]["current_update"]["id"])
        inv = d.create("inventories", name="I", organization=org["id"])
        yield {"d": d, "repo": repo, "proj": proj, "inv": inv}
    finally:
        d.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def sync(d, src):
    r = d.post("/api/v2/inventory_sources/%d/update/" % src["id"], expect=(202,))
    u = d.wait_job(r["url"])
    assert u["status"] == "successful", u
    return u


def refresh_project(d, proj):
    r = d.post("/api/v2/projects/%d/update/" % proj["id"], expect=(202,))
    d.wait_job(r["url"])


def names(d, inv, what):
    return sorted(x["name"] for x in d.all_pages("/api/v2/inventories/%d/%s/" % (inv["id"], what)))


def test_overwrite_keeps_what_was_added_by_hand(env):
    d, inv, repo = env["d"], env["inv"], env["repo"]
    src = d.post("/api/v2/inventories/%d/inventory_sources/" % inv["id"],
                 {"name": "S", "source": "scm", "source_project": env["proj"]["id"],
                  "source_path": "inv.ini", "overwrite": True}, expect=(201,))
    # by hand, before and after the first sync
    manual = d.post("/api/v2/inventories/%d/hosts/" % inv["id"], {"name": "manual"}, expect=(201,))
    sync(d, src)
    mine = d.post("/api/v2/inventories/%d/groups/" % inv["id"], {"name": "mine"}, expect=(201,))
    d.post("/api/v2/groups/%d/hosts/" % mine["id"], {"id": manual["id"]}, expect=(204,))
    d.post("/api/v2/inventories/%d/hosts/" % inv["id"], {"name": "later"}, expect=(201,))
    assert names(d, inv, "hosts") == ["db1", "later", "manual", "web1", "web2"]
    assert names(d, inv, "groups") == ["db", "mine", "web"]

    # the source drops web2 and the db group
    write_inventory(repo, "[web]\nweb1 x=1 %s\n" % LOCAL, "v2")
    refresh_project(d, env["proj"])
    sync(d, src)
    assert names(d, inv, "hosts") == ["later", "manual", "web1"]
    assert names(d, inv, "groups") == ["mine", "web"]
    # the hand-made group keeps its hand-added host
    members = d.all_pages("/api/v2/groups/%d/hosts/" % mine["id"])
    assert [h["name"] for h in members] == ["manual"]


def test_overwrite_vars(env):
    d, inv = env["d"], env["inv"]
    src = d.post("/api/v2/inventories/%d/inventory_sources/" % inv["id"],
                 {"name": "S", "source": "scm", "source_project": env["proj"]["id"],
                  "source_path": "inv.ini", "overwrite": False, "overwrite_vars": False},
                 expect=(201,))
    sync(d, src)
    web1 = [h for h in d.all_pages("/api/v2/inventories/%d/hosts/" % inv["id"]) if h["name"] == "web1"][0]
    v = json.loads(web1["variables"])
    assert v["x"] == 1
    v["mine"] = "kept"
    r = d.req("PATCH", "/api/v2/hosts/%d/" % web1["id"], json={"variables": json.dumps(v)})
    assert r.status_code == 200, r.text
    sync(d, src)
    v = json.loads(d.get("/api/v2/hosts/%d/" % web1["id"])["variables"])
    assert v["mine"] == "kept" and v["x"] == 1
    r = d.req("PATCH", "/api/v2/inventory_sources/%d/" % src["id"], json={"overwrite_vars": True})
    assert r.status_code == 200, r.text
    sync(d, src)
    v = json.loads(d.get("/api/v2/hosts/%d/" % web1["id"])["variables"])
    assert "mine" not in v and v["x"] == 1


def test_without_overwrite_nothing_goes(env):
    d, inv, repo = env["d"], env["inv"], env["repo"]
    src = d.post("/api/v2/inventories/%d/inventory_sources/" % inv["id"],
                 {"name": "S", "source": "scm", "source_project": env["proj"]["id"],
                  "source_path": "inv.ini", "overwrite": False}, expect=(201,))
    sync(d, src)
    write_inventory(repo, "[web]\nweb1 %s\n" % LOCAL, "v2")
    refresh_project(d, env["proj"])
    sync(d, src)
    assert names(d, inv, "hosts") == ["db1", "web1", "web2"]
    assert names(d, inv, "groups") == ["db", "web"]
