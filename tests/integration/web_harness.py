"""The world the web page's suites start from: a runneld of their own with a
git project of tests/integration/web/project (live.yml prints a mark, waits,
prints another and fails on failhost; many.yml prints `count` lines; sleep.yml
sleeps to be canceled), an inventory of two local hosts (localhost, failhost)
and a template per playbook. Built on runneld_harness; nothing copied."""

import json
import shutil
from pathlib import Path

from runneld_harness import HERE, Runneld, git

WEB_PROJECT = HERE / "web" / "project"
LOCAL = {"ansible_connection": "local", "ansible_python_interpreter": "/usr/bin/python3"}


def make_web_project(root):
    repo = Path(root) / "web-repo"
    shutil.copytree(WEB_PROJECT, repo)
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "web test project")
    return repo


def start_web_world(tmp, bus="local"):
    """(Runneld, world dict) with the objects above; the caller stops it."""
    tmp = Path(tmp)
    repo = make_web_project(tmp)
    d = Runneld(tmp / "state", bus=bus, extra=["--isolation-base-path", str(tmp)]).start()
    try:
        w = {"d": d, "tmp": tmp}
        w["org"] = d.create("organizations", name="WebOrg")
        w["inv"] = d.create("inventories", name="WebInv", organization=w["org"]["id"])
        inv = w["inv"]["id"]
        for name in ("localhost", "failhost"):
            w[name] = d.post("/api/v2/inventories/%d/hosts/" % inv,
                             {"name": name, "variables": json.dumps(LOCAL)}, expect=(201,))
        w["project"] = d.create("projects", name="WebProj", organization=w["org"]["id"],
                                scm_type="git", scm_url="file://%s" % repo)
        cur = w["project"]["summary_fields"]["current_update"]
        d.wait_job("/api/v2/project_updates/%d/" % cur["id"])
        common = dict(project=w["project"]["id"], inventory=inv)
        w["jt_live"] = d.create("job_templates", name="Live", playbook="live.yml",
                                ask_limit_on_launch=True, ask_variables_on_launch=True, **common)
        w["jt_many"] = d.create("job_templates", name="Many", playbook="many.yml", limit="localhost",
                                ask_variables_on_launch=True, **common)
        w["jt_sleep"] = d.create("job_templates", name="Sleep", playbook="sleep.yml",
                                 limit="localhost", **common)
        return d, w
    except BaseException:
        d.stop()
        raise
