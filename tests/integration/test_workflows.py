"""Workflows (issue 13): workflow job templates, their nodes and edges, and
workflow jobs run through their graph by runneld's workflow manager, as AWX
21.14.0 has them (awx/main/scheduler/dag_workflow.py, WorkflowManager).

Each test builds its own workflow over the harness world's templates: "OK"
(ok.yml, which fails on the host failhost: a node prompting limit=failhost
fails) and "Sleep" (sleep.yml). Driven through the API, the awx.awx
collection (workflow_job_template with workflow_nodes, workflow_launch with
wait) and the awx CLI (launch --monitor).

Environment: RUNNELD (default <repo>/build/service/runneld).
"""

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
import requests

from runneld_harness import (ACTIVE, AWX_COLLECTION, PASSWORD, REPO_ROOT, RUNNELD, Runneld,
                             make_git_project, setup_world, start_redis, wait_for, run_collection_playbook, own_world)

pytestmark = pytest.mark.skipif(not os.path.exists(RUNNELD), reason="runneld is not built: " + RUNNELD)

PW = "wf-user-pw-3a81"
FINAL = ("successful", "failed", "error", "canceled")


@pytest.fixture(scope="module")
def w():
    with own_world("runneld-workflows-") as w:
        yield w


_seq = [0]


def wfjt(w, d=None, **kw):
    d = d or w["d"]
    _seq[0] += 1
    kw.setdefault("name", "WF-%d" % _seq[0])
    kw.setdefault("organization", w["org"]["id"])
    return d.create("workflow_job_templates", **kw)


def node(w, wf, ujt, identifier, d=None, **kw):
    d = d or w["d"]
    body = dict(unified_job_template=ujt, identifier=identifier, **kw)
    return d.post("/api/v2/workflow_job_templates/%d/workflow_nodes/" % wf["id"], body, expect=(201,))


def link(w, parent, child, edge="success_nodes", d=None):
    d = d or w["d"]
    d.post("/api/v2/workflow_job_template_nodes/%d/%s/" % (parent["id"], edge), {"id": child["id"]},
           expect=(204,))


def launch(w, wf, body=None, d=None):
    d = d or w["d"]
    r = d.post("/api/v2/workflow_job_templates/%d/launch/" % wf["id"], body or {}, expect=(201,))
    assert r["workflow_job"] == r["id"] and r["type"] == "workflow_job", r
    return r


def wait_wf(d, wj, timeout=180):
    def done():
        j = d.get("/api/v2/workflow_jobs/%d/" % wj["id"])
        return j if j["status"] in FINAL else None
    return wait_for(done, timeout=timeout, interval=0.2, what="workflow job %d" % wj["id"])


def job_nodes(d, wj):
    """The workflow job's nodes by identifier."""
    nodes = d.all_pages("/api/v2/workflow_jobs/%d/workflow_nodes/" % wj["id"])
    return {n["identifier"]: n for n in nodes}


def job_of(d, n):
    assert n["job"], n
    return d.get("/api/v2/unified_jobs/%d/" % n["job"])


# ---- templates, nodes, edges ----------------------------------------------

def test_template_and_node_crud(w):
    d = w["d"]
    wf = wfjt(w, description="two steps", extra_vars='{"a": 1}', ask_variables_on_launch=True)
    assert wf["type"] == "workflow_job_template" and wf["url"] == "/api/v2/workflow_job_templates/%d/" % wf["id"]
    for rel in ("launch", "workflow_nodes", "workflow_jobs"):
        assert wf["related"][rel] == "/api/v2/workflow_job_templates/%d/%s/" % (wf["id"], rel)
    assert wf["summary_fields"]["organization"]["id"] == w["org"]["id"]
    assert set(wf["summary_fields"]["object_roles"]) >= {"admin_role", "execute_role", "read_role", "approval_role"}
    # one id space with the other unified job templates, listed with them
    assert wf["id"] not in (w["jt"]["id"], w["project"]["id"], w["jt_sleep"]["id"])
    ujts = d.all_pages("/api/v2/unified_job_templates/?type=workflow_job_template")
    assert wf["id"] in [u["id"] for u in ujts] and {u["type"] for u in ujts} == {"workflow_job_template"}
    # the same name in the organization: AWX's words
    r = d.req("POST", "/api/v2/workflow_job_templates/", json={"name": wf["name"], "organization": w["org"]["id"]})
    assert r.status_code == 400, r.text
    assert "WorkflowJobTemplate with this (name, organization) combination already exists." in r.text
    # a node: AWX's default identifier is a uuid; summary_fields name what it runs
    n = d.post("/api/v2/workflow_job_templates/%d/workflow_nodes/" % wf["id"],
               {"unified_job_template": w["jt"]["id"]}, expect=(201,))
    assert len(n["identifier"]) == 36 and n["identifier"].count("-") == 4, n
    assert n["workflow_job_template"] == wf["id"]
    assert n["summary_fields"]["unified_job_template"]["unified_job_type"] == "job"
    assert n["related"]["unified_job_template"] == "/api/v2/job_templates/%d/" % w["jt"]["id"]
    assert n["success_nodes"] == [] and n["all_parents_must_converge"] is False
    # identifiers are unique within a workflow
    r = d.req("POST", "/api/v2/workflow_job_template_nodes/",
              json={"workflow_job_template": wf["id"], "identifier": n["identifier"],
                    "unified_job_template": w["jt"]["id"]})
    assert r.status_code == 400 and "Identifier" in r.text, r.text
    # what a node runs must exist
    r = d.req("POST", "/api/v2/workflow_job_template_nodes/",
              json={"workflow_job_template": wf["id"], "unified_job_template": 987654})
    assert r.status_code == 400 and "unified_job_template" in r.json(), r.text
    # a node's prompts are those what it runs takes (AWX's _accept_or_ignore_job_kwargs)
    r = d.req("POST", "/api/v2/workflow_job_templates/%d/workflow_nodes/" % wf["id"],
              json={"unified_job_template": w["jt_sleep"]["id"], "limit": "localhost"})
    assert r.status_code == 400 and r.json() == {"limit": ["Field is not configured to prompt on launch."]}, r.text
    r = d.req("POST", "/api/v2/workflow_job_templates/%d/workflow_nodes/" % wf["id"],
              json={"unified_job_template": w["project"]["id"], "extra_data": {"x": 1}})
    assert r.status_code == 400 and "cannot accept variables" in r.json()["extra_data"][0], r.text
    # a child created through the edge's sub-list is linked at once
    c = d.post("/api/v2/workflow_job_template_nodes/%d/failure_nodes/" % n["id"],
               {"unified_job_template": w["project"]["id"], "identifier": "upd"}, expect=(201,))
    assert c["workflow_job_template"] == wf["id"]
    got = d.get("/api/v2/workflow_job_template_nodes/%d/" % n["id"])
    assert got["failure_nodes"] == [c["id"]] and got["success_nodes"] == []
    assert [x["id"] for x in d.get("/api/v2/workflow_job_template_nodes/%d/failure_nodes/" % n["id"])["results"]] \
        == [c["id"]]
    # filters work off the field tables
    assert d.get("/api/v2/workflow_job_template_nodes/?workflow_job_template=%d&identifier=upd" % wf["id"])["count"] == 1
    # a node deleted takes its edges with it
    assert d.req("DELETE", "/api/v2/workflow_job_template_nodes/%d/" % c["id"]).status_code == 204
    assert d.get("/api/v2/workflow_job_template_nodes/%d/" % n["id"])["failure_nodes"] == []
    # the template deleted takes its nodes
    assert d.req("DELETE", "/api/v2/workflow_job_templates/%d/" % wf["id"]).status_code == 204
    assert d.req("GET", "/api/v2/workflow_job_template_nodes/%d/" % n["id"]).status_code == 404
    # OPTIONS describes the fields from the same tables
    opts = d.req("OPTIONS", "/api/v2/workflow_job_templates/").json()
    assert "ask_variables_on_launch" in opts["actions"]["POST"]
    assert "identifier" in d.req("OPTIONS", "/api/v2/workflow_job_template_nodes/").json()["actions"]["POST"]


def test_cycle_and_bad_edges_refused(w):
    d = w["d"]
    wf = wfjt(w)
    a, b, c = (node(w, wf, w["jt"]["id"], x) for x in "abc")
    link(w, a, b)
    link(w, b, c, "always_nodes")
    for parent, child, edge in ((c, a, "success_nodes"), (b, a, "failure_nodes"), (a, a, "always_nodes")):
        r = d.req("POST", "/api/v2/workflow_job_template_nodes/%d/%s/" % (parent["id"], edge), json={"id": child["id"]})
        assert r.status_code == 400 and r.json() == {"Error": "Cycle detected."}, r.text
    # a child by two edges of one parent
    r = d.req("POST", "/api/v2/workflow_job_template_nodes/%d/failure_nodes/" % a["id"], json={"id": b["id"]})
    assert r.status_code == 400 and r.json() == {"Error": "Relationship not allowed."}, r.text
    # a node of another workflow
    other = node(w, wfjt(w), w["jt"]["id"], "x")
    r = d.req("POST", "/api/v2/workflow_job_template_nodes/%d/success_nodes/" % a["id"], json={"id": other["id"]})
    assert r.status_code == 400, r.text
    # nothing of the refused edges was kept; re-adding an edge is fine; removing it works
    assert d.get("/api/v2/workflow_job_template_nodes/%d/" % a["id"])["success_nodes"] == [b["id"]]
    assert d.get("/api/v2/workflow_job_template_nodes/%d/" % c["id"])["success_nodes"] == []
    link(w, a, b)
    d.post("/api/v2/workflow_job_template_nodes/%d/success_nodes/" % a["id"], {"id": b["id"], "disassociate": True},
           expect=(204,))
    assert d.get("/api/v2/workflow_job_template_nodes/%d/" % a["id"])["success_nodes"] == []
    # once the edge b -> c is gone, c -> a closes no cycle
    link(w, c, a)


# ---- running ---------------------------------------------------------------

def test_success_path_runs_in_order_with_the_workflows_variables(w):
    d = w["d"]
    wf = wfjt(w, extra_vars=json.dumps({"wf_default": "d1"}), ask_variables_on_launch=True)
    a = node(w, wf, w["jt"]["id"], "A", limit="localhost")
    b = node(w, wf, w["jt"]["id"], "B", extra_data={"greeting": "from-node-B"})
    link(w, a, b)
    info = d.get("/api/v2/workflow_job_templates/%d/launch/" % wf["id"])
    assert info["ask_variables_on_launch"] is True and info["can_start_without_user_input"] is True
    wj = launch(w, wf, {"extra_vars": {"wf_var": "launch-value"}})
    assert wj["status"] in ACTIVE and wj["launch_type"] == "manual"
    done = wait_wf(d, wj)
    assert done["status"] == "successful" and done["failed"] is False, done
    assert done["started"] and done["finished"] and done["job_explanation"] == ""
    nodes = job_nodes(d, wj)
    ja, jb = job_of(d, nodes["A"]), job_of(d, nodes["B"])
    assert ja["status"] == jb["status"] == "successful"
    # B started only after A finished (its success path)
    assert jb["created"] >= ja["finished"], (ja, jb)
    for j in (ja, jb):
        assert j["launch_type"] == "workflow"
        assert j["summary_fields"]["source_workflow_job"]["id"] == wj["id"]
        ev = json.loads(j["extra_vars"])
        # the workflow's variables reach every node's job
        assert ev["wf_var"] == "launch-value" and ev["wf_default"] == "d1", ev
    assert json.loads(jb["extra_vars"])["greeting"] == "from-node-B"
    out = d.req("GET", "/api/v2/jobs/%d/stdout/?format=txt" % jb["id"]).text
    assert "hello localhost from-node-B" in out
    # the nodes show their jobs; the workflow job is a unified job like the others
    assert nodes["B"]["summary_fields"]["job"]["status"] == "successful"
    assert nodes["A"]["success_nodes"] == [nodes["B"]["id"]]
    assert wj["id"] in [j["id"] for j in d.all_pages("/api/v2/unified_jobs/?type=workflow_job")]
    assert [j["id"] for j in d.get("/api/v2/workflow_job_templates/%d/workflow_jobs/" % wf["id"])["results"]] == [wj["id"]]
    # awxkit's monitor reads the jobs of a workflow by unified_job_node__workflow_job
    seen = d.get("/api/v2/unified_jobs/?unified_job_node__workflow_job=%d&order_by=finished" % wj["id"])
    assert sorted(x["id"] for x in seen["results"]) == sorted([ja["id"], jb["id"]])
    tmpl = d.get("/api/v2/workflow_job_templates/%d/" % wf["id"])
    assert tmpl["last_job_run"] and tmpl["last_job_failed"] is False


def test_failure_path_and_workflow_failure(w):
    d = w["d"]
    # A fails; its failure path C runs, its success path B does not: handled, successful
    wf = wfjt(w)
    a = node(w, wf, w["jt"]["id"], "A", limit="failhost")
    b = node(w, wf, w["jt"]["id"], "B")
    c = node(w, wf, w["jt"]["id"], "C", limit="localhost")
    link(w, a, b)
    link(w, a, c, "failure_nodes")
    done = wait_wf(d, launch(w, wf))
    nodes = job_nodes(d, done)
    assert job_of(d, nodes["A"])["status"] == "failed"
    assert job_of(d, nodes["C"])["status"] == "successful"
    assert nodes["B"]["job"] is None and nodes["B"]["do_not_run"] is True
    assert done["status"] == "successful", done
    # A fails with no failure or always path: the workflow fails, in AWX's words
    wf2 = wfjt(w)
    a2 = node(w, wf2, w["jt"]["id"], "A", limit="failhost")
    b2 = node(w, wf2, w["jt"]["id"], "B")
    link(w, a2, b2)
    done2 = wait_wf(d, launch(w, wf2))
    assert done2["status"] == "failed" and done2["failed"] is True
    assert done2["job_explanation"] == "No error handling paths found, marking workflow as failed"
    n2 = job_nodes(d, done2)
    assert n2["B"]["do_not_run"] is True and n2["B"]["job"] is None
    assert d.get("/api/v2/workflow_job_templates/%d/" % wf2["id"])["last_job_failed"] is True


def test_always_edges_and_convergence(w):
    d = w["d"]
    wf = wfjt(w)
    a = node(w, wf, w["jt"]["id"], "A", limit="localhost")           # succeeds
    b = node(w, wf, w["jt"]["id"], "B", limit="failhost")            # fails
    c = node(w, wf, w["jt"]["id"], "C", limit="localhost")           # always after B
    dd = node(w, wf, w["jt"]["id"], "D", all_parents_must_converge=True)  # success of A and of B: B fails
    e = node(w, wf, w["jt"]["id"], "E", limit="localhost", all_parents_must_converge=True)  # A ok, B failed
    link(w, b, c, "always_nodes")
    link(w, a, dd)
    link(w, b, dd)
    link(w, a, e)
    link(w, b, e, "failure_nodes")
    done = wait_wf(d, launch(w, wf))
    nodes = job_nodes(d, done)
    assert job_of(d, nodes["B"])["status"] == "failed"
    assert job_of(d, nodes["C"])["status"] == "successful"
    assert nodes["D"]["do_not_run"] is True and nodes["D"]["job"] is None
    je = job_of(d, nodes["E"])
    assert je["status"] == "successful"
    # E waited for both of its parents
    assert je["created"] >= max(job_of(d, nodes[x])["finished"] for x in "AB")
    # B failed but has an always path: handled
    assert done["status"] == "successful", done


def test_cancel_stops_the_running_node_and_the_rest(w):
    d = w["d"]
    wf = wfjt(w)
    a = node(w, wf, w["jt_sleep"]["id"], "A", extra_data={"sleep_seconds": 60})
    b = node(w, wf, w["jt"]["id"], "B")
    link(w, a, b, "always_nodes")
    wj = launch(w, wf)

    def a_running():
        n = job_nodes(d, wj)["A"]
        return n["job"] and job_of(d, n)["status"] == "running" and n
    wait_for(a_running, timeout=90, what="node A's job running")
    assert d.get("/api/v2/workflow_jobs/%d/cancel/" % wj["id"]) == {"can_cancel": True}
    assert d.req("POST", "/api/v2/workflow_jobs/%d/cancel/" % wj["id"]).status_code == 202
    done = wait_wf(d, wj, timeout=60)
    assert done["status"] == "canceled" and done["cancel_flag"] is True
    nodes = job_nodes(d, wj)
    assert job_of(d, nodes["A"])["status"] == "canceled"
    assert nodes["B"]["job"] is None and nodes["B"]["do_not_run"] is True
    # a finished workflow job cannot be canceled again
    assert d.req("POST", "/api/v2/workflow_jobs/%d/cancel/" % wj["id"]).status_code == 405


def test_a_node_that_cannot_start_fails_its_job_not_the_manager(w):
    d = w["d"]
    jt = d.create("job_templates", name="NoInv", project=w["project"]["id"], playbook="ok.yml",
                  ask_inventory_on_launch=True)
    wf = wfjt(w)
    a = node(w, wf, jt["id"], "A")
    c = node(w, wf, w["jt"]["id"], "C", limit="localhost")
    link(w, a, c, "failure_nodes")
    done = wait_wf(d, launch(w, wf))
    nodes = job_nodes(d, done)
    ja = job_of(d, nodes["A"])
    assert ja["status"] == "failed" and ja["launch_type"] == "workflow"
    assert ja["job_explanation"].startswith("Job spawned from workflow could not start"), ja
    assert job_of(d, nodes["C"])["status"] == "successful"
    assert done["status"] == "successful"


# ---- RBAC --------------------------------------------------------------------

def test_rbac_read_execute_and_visibility(w):
    d = w["d"]
    uid = d.create("users", username="wfuser", password=PW)["id"]
    d.create("users", username="wfoutsider", password=PW)
    d.post("/api/v2/organizations/%d/users/" % w["org"]["id"], {"id": uid}, expect=(204,))
    wf = wfjt(w)  # no nodes: a launch ends at once, successful
    s = requests.Session()
    s.auth = ("wfuser", PW)
    o = requests.Session()
    o.auth = ("wfoutsider", PW)
    url = d.url("/api/v2/workflow_job_templates/%d/" % wf["id"])
    # an organization member without a role does not see it
    assert wf["id"] not in [x["id"] for x in s.get(d.url("/api/v2/workflow_job_templates/")).json()["results"]]
    assert s.get(url).status_code == 403
    roles = wf["summary_fields"]["object_roles"]
    d.post("/api/v2/roles/%d/users/" % roles["read_role"]["id"], {"id": uid}, expect=(204,))
    assert s.get(url).status_code == 200
    # read is no execute
    r = s.post(d.url("/api/v2/workflow_job_templates/%d/launch/" % wf["id"]), json={})
    assert r.status_code == 403, r.text
    assert s.patch(url, json={"description": "x"}).status_code == 403
    assert d.get("/api/v2/workflow_job_templates/%d/" % wf["id"])["description"] == ""
    # nor may it add nodes
    r = s.post(d.url("/api/v2/workflow_job_templates/%d/workflow_nodes/" % wf["id"]),
               json={"unified_job_template": w["jt"]["id"]})
    assert r.status_code == 403, r.text
    d.post("/api/v2/roles/%d/users/" % roles["execute_role"]["id"], {"id": uid}, expect=(204,))
    r = s.post(d.url("/api/v2/workflow_job_templates/%d/launch/" % wf["id"]), json={})
    assert r.status_code == 201, r.text
    wj = r.json()
    done = wait_wf(d, wj)
    assert done["status"] == "successful" and done["launched_by"]["id"] == uid
    # relaunch: execute on the template
    r = s.post(d.url("/api/v2/workflow_jobs/%d/relaunch/" % wj["id"]), json={})
    assert r.status_code == 201, r.text
    again = wait_wf(d, r.json())
    assert again["launch_type"] == "relaunch" and again["status"] == "successful"
    assert again["workflow_job_template"] == wf["id"] and again["id"] != wj["id"]
    # the launcher reads it; a user of no organization does not
    assert s.get(d.url("/api/v2/workflow_jobs/%d/" % wj["id"])).status_code == 200
    assert o.get(d.url("/api/v2/workflow_jobs/%d/" % wj["id"])).status_code == 403
    assert o.get(d.url("/api/v2/workflow_jobs/")).json()["count"] == 0
    assert o.get(d.url("/api/v2/workflow_job_templates/")).json()["count"] == 0
    assert o.get(d.url("/api/v2/unified_jobs/?type=workflow_job")).json()["count"] == 0
    # creating one takes the organization's workflow_admin_role
    r = s.post(d.url("/api/v2/workflow_job_templates/"), json={"name": "mine", "organization": w["org"]["id"]})
    assert r.status_code == 403, r.text
    org = d.get("/api/v2/organizations/%d/" % w["org"]["id"])
    d.post("/api/v2/roles/%d/users/" % org["summary_fields"]["object_roles"]["workflow_admin_role"]["id"],
           {"id": uid}, expect=(204,))
    r = s.post(d.url("/api/v2/workflow_job_templates/"), json={"name": "mine", "organization": w["org"]["id"]})
    assert r.status_code == 201, r.text


# ---- restart -----------------------------------------------------------------

@pytest.mark.parametrize("bus", ["local", "redis"])
def test_restart_mid_workflow_resumes_and_runs_no_node_twice(bus):
    tmp = Path(tempfile.mkdtemp(prefix="runneld-wf-restart-"))
    redis = None
    if bus == "redis":
        redis, bus = start_redis(tmp)
    repo, _ = make_git_project(tmp)
    d = Runneld(tmp / "state", bus=bus, extra=["--isolation-base-path", str(tmp)]).start()
    try:
        world = setup_world(d, repo)
        world["d"] = d
        wf = wfjt(world)
        a = node(world, wf, world["jt_sleep"]["id"], "A", extra_data={"sleep_seconds": 30})
        b = node(world, wf, world["jt"]["id"], "B", limit="localhost")
        c = node(world, wf, world["jt"]["id"], "C", limit="localhost")
        link(world, a, b)
        link(world, a, c, "failure_nodes")
        wj = launch(world, wf)

        def a_running():
            n = job_nodes(d, wj)["A"]
            return n["job"] and job_of(d, n)["status"] == "running" and n
        na = wait_for(a_running, timeout=90, what="node A's job running")
        # stopped mid-workflow: A's job ends (runneld's shutdown), the workflow waits
        d.stop()
        d.start()
        done = wait_wf(d, wj, timeout=120)
        nodes = job_nodes(d, wj)
        ja = job_of(d, nodes["A"])
        assert ja["id"] == na["job"] and ja["status"] in ("failed", "error", "canceled")
        # resumed on its failure path, and A ran once
        assert job_of(d, nodes["C"])["status"] == "successful"
        assert nodes["B"]["do_not_run"] is True and nodes["B"]["job"] is None
        assert done["status"] == "successful", done
        spawned = d.get("/api/v2/unified_jobs/?source_workflow_job_node=%d" % nodes["A"]["id"])
        assert spawned["count"] == 1
        assert d.get("/api/v2/unified_jobs/?unified_job_node__workflow_job=%d" % wj["id"])["count"] == 2
    finally:
        d.stop()
        if redis:
            redis.kill()
            redis.wait()
        shutil.rmtree(tmp, ignore_errors=True)


# ---- clients ------------------------------------------------------------------

COLLECTION_PLAYBOOK = """
- hosts: localhost
  gather_facts: false
  tasks:
    - name: the workflow and its nodes
      awx.awx.workflow_job_template:
        name: coll-wf
        organization: Org
        extra_vars: {from_collection: "yes"}
        workflow_nodes:
          - identifier: first
            unified_job_template: {name: OK, type: job_template}
            limit: localhost
            related:
              success_nodes: [{identifier: second}]
              failure_nodes: [{identifier: handler}]
          - identifier: second
            unified_job_template: {name: OK, type: job_template}
            extra_data: {greeting: from-collection}
          - identifier: handler
            unified_job_template: {name: Proj, type: project}
    - name: run it
      awx.awx.workflow_launch:
        workflow_template: coll-wf
        organization: Org
        wait: true
        timeout: 300
      register: run
    - assert:
        that: [run.status == "successful"]
"""


def test_awx_collection_workflow_job_template_and_launch(w):
    if not AWX_COLLECTION.exists():
        pytest.skip("the awx.awx collection is missing (apt-get install ansible)")
    d = w["d"]
    pb = Path(w["tmp"]) / "workflows_collection.yml"
    pb.write_text(COLLECTION_PLAYBOOK)
    out = run_collection_playbook(d, pb)
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-4000:]
    wf = d.get("/api/v2/workflow_job_templates/?name=coll-wf")["results"][0]
    nodes = {n["identifier"]: n for n in d.all_pages("/api/v2/workflow_job_templates/%d/workflow_nodes/" % wf["id"])}
    assert set(nodes) == {"first", "second", "handler"}
    assert nodes["first"]["success_nodes"] == [nodes["second"]["id"]]
    assert nodes["first"]["failure_nodes"] == [nodes["handler"]["id"]]
    assert nodes["handler"]["unified_job_template"] == w["project"]["id"]
    wj = d.get("/api/v2/workflow_jobs/?workflow_job_template=%d" % wf["id"])["results"][0]
    assert wj["status"] == "successful"
    got = job_nodes(d, wj)
    second = job_of(d, got["second"])
    assert "hello localhost from-collection" in d.req("GET", "/api/v2/jobs/%d/stdout/?format=txt" % second["id"]).text
    assert got["handler"]["do_not_run"] is True
    # run again: the module finds everything as it is (no new nodes)
    out = run_collection_playbook(d, pb)
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-4000:]
    assert d.get("/api/v2/workflow_job_template_nodes/?workflow_job_template=%d" % wf["id"])["count"] == 3


def awx_cli():
    p = os.environ.get("AWX_CLI", str(REPO_ROOT.parent / "shared" / "clients" / "awx"))
    return p if os.path.exists(p) else "/work/shared/clients/awx"


def test_awx_cli_create_nodes_and_launch_monitor(w):
    exe = awx_cli()
    if not os.path.exists(exe):
        pytest.skip("the awx CLI is missing")
    d = w["d"]

    def awx(*args, fmt="json"):
        cmd = [exe, "--conf.host", d.url(""), "--conf.color", "false", "-f", fmt,
               "--conf.username", "admin", "--conf.password", PASSWORD] + [str(a) for a in args]
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
        assert p.returncode == 0, (args, p.stdout[-3000:], p.stderr[-3000:])
        return p

    wf = json.loads(awx("workflow_job_templates", "create", "--name", "cli-wf", "--organization",
                        w["org"]["id"]).stdout)
    assert wf["type"] == "workflow_job_template"
    n = json.loads(awx("workflow_job_template_nodes", "create", "--workflow_job_template", wf["id"],
                       "--unified_job_template", w["jt"]["id"], "--identifier", "only",
                       "--limit", "localhost").stdout)
    assert n["identifier"] == "only" and n["workflow_job_template"] == wf["id"]
    p = awx("workflow_job_templates", "launch", wf["id"], "--monitor", fmt="human")
    assert "Launching cli-wf" in p.stdout, p.stdout
    assert "OK successful" in p.stdout, p.stdout
    wj = d.get("/api/v2/workflow_jobs/?workflow_job_template=%d" % wf["id"])["results"][0]
    assert wj["status"] == "successful"
