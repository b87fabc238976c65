"""runneld's users, teams and roles as AWX 21.14.0 has them (awx/main/access.py,
awx/main/models/rbac.py), enforced on every endpoint (service/api/access.c).

One runneld, one world (setup_world: organization "Org" with an inventory, a
project and two templates), a second organization "Other" with an inventory
and a credential, and six callers:
  nobody   an ordinary user with no role
  member   a member of Org (organizations/N/users/)
  orgadmin an admin of Org (organizations/N/admins/)
  teamer   a member of team "T" of Org, which was given the OK template's
           execute role (roles/N/teams/)
  auditor  a system auditor
  admin    the superuser
The tables below are resource x action x caller -> the status AWX answers,
each group citing the access.py rule it follows.
"""

import json
import os
import shutil
import tempfile
from pathlib import Path

import pytest
import requests

from runneld_harness import (  # noqa: F401
    AWX_COLLECTION, PASSWORD, RUNNELD, Runneld, make_git_project, setup_world, wait_for, run_collection_playbook)

pytestmark = pytest.mark.skipif(not os.path.exists(RUNNELD), reason="runneld is not built: " + RUNNELD)

USERS = ("nobody", "member", "orgadmin", "teamer", "auditor", "admin")
PW = "rbac-user-pw-1"
DENIED = "You do not have permission to perform this action."


@pytest.fixture(scope="module")
def w():
    tmp = Path(tempfile.mkdtemp(prefix="runneld-rbac-"))
    repo, _ = make_git_project(tmp)
    d = Runneld(tmp / "state", extra=["--isolation-base-path", str(tmp)]).start()
    try:
        w = setup_world(d, repo)
        w.update(d=d, tmp=tmp, repo=repo)
        org = w["org"]["id"]
        w["other"] = d.create("organizations", name="Other")
        w["other_inv"] = d.create("inventories", name="OtherInv", organization=w["other"]["id"])
        w["cred"] = d.create("credentials", name="OrgCred", organization=org, credential_type=1,
                             inputs={"username": "u", "password": "PLANTED-rbac-pw"})
        w["other_cred"] = d.create("credentials", name="OtherCred", organization=w["other"]["id"],
                                   credential_type=1, inputs={"username": "u"})
        ids = {"admin": d.get("/api/v2/me/")["results"][0]["id"]}
        for name in USERS[:-1]:
            ids[name] = d.create("users", username=name, password=PW,
                                 is_system_auditor=(name == "auditor"))["id"]
        w["ids"] = ids
        # the grants, through the API as an admin makes them
        d.post("/api/v2/organizations/%d/users/" % org, {"id": ids["member"]}, expect=(204,))
        d.post("/api/v2/organizations/%d/admins/" % org, {"id": ids["orgadmin"]}, expect=(204,))
        w["team"] = d.create("teams", name="T", organization=org)
        d.post("/api/v2/teams/%d/users/" % w["team"]["id"], {"id": ids["teamer"]}, expect=(204,))
        jt = d.get("/api/v2/job_templates/%d/" % w["jt"]["id"])
        w["roles"] = jt["summary_fields"]["object_roles"]
        d.post("/api/v2/roles/%d/teams/" % w["roles"]["execute_role"]["id"], {"id": w["team"]["id"]},
               expect=(204,))
        # a finished job of the template, launched by the admin
        j = d.post("/api/v2/job_templates/%d/launch/" % w["jt"]["id"], {}, expect=(201,))
        w["job"] = d.wait_job("/api/v2/jobs/%d/" % j["id"])
        yield w
    finally:
        d.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def as_user(w, name):
    s = requests.Session()
    s.auth = ("admin", PASSWORD) if name == "admin" else (name, PW)
    return s


def call(w, name, method, path, body=None):
    r = as_user(w, name).request(method, w["d"].url(path), json=body, timeout=60)
    return r


def expand(w, path):
    return path.format(org=w["org"]["id"], other=w["other"]["id"], inv=w["inv"]["id"],
                       other_inv=w["other_inv"]["id"], project=w["project"]["id"], jt=w["jt"]["id"],
                       jt_sleep=w["jt_sleep"]["id"], cred=w["cred"]["id"], other_cred=w["other_cred"]["id"],
                       job=w["job"]["id"], team=w["team"]["id"], host=w["localhost"]["id"],
                       **{"uid_" + k: v for k, v in w["ids"].items()})


# ---------------------------------------------------------------------------
# read: lists show only what the caller may read, counts too; a detail the
# caller may not read is 403 (RetrieveAPIView: the object exists, its
# permission check fails), a missing one 404.

# (path, {user: count}) -- the count of the list for each caller
LIST_COUNTS = [
    # OrganizationAccess.filtered_queryset: read_role (members, admins, auditors)
    ("/api/v2/organizations/", dict(nobody=0, member=1, orgadmin=1, teamer=0, auditor=2, admin=2)),
    # JobTemplateAccess: read_role (org admin via job_template_admin_role; the
    # team's execute_role implies read_role); an org member reads no template
    ("/api/v2/job_templates/", dict(nobody=0, member=0, orgadmin=2, teamer=1, auditor=2, admin=2)),
    # InventoryAccess: read_role (organization.inventory_admin_role <- admin_role)
    ("/api/v2/inventories/", dict(nobody=0, member=0, orgadmin=1, teamer=0, auditor=2, admin=2)),
    # HostAccess: inventory read_role
    ("/api/v2/hosts/", dict(nobody=0, member=0, orgadmin=3, teamer=0, auditor=3, admin=3)),
    # CredentialAccess: read_role (organization.credential_admin_role)
    ("/api/v2/credentials/", dict(nobody=0, member=0, orgadmin=1, teamer=0, auditor=2, admin=2)),
    # ProjectAccess: read_role
    ("/api/v2/projects/", dict(nobody=0, member=0, orgadmin=1, teamer=0, auditor=1, admin=1)),
    # JobAccess: job_template read_role, or admin/auditor of its organization
    ("/api/v2/jobs/", dict(nobody=0, member=0, orgadmin=1, teamer=1, auditor=1, admin=1)),
    # ProjectUpdateAccess: project read_role
    ("/api/v2/project_updates/", dict(nobody=0, member=0, orgadmin=1, teamer=0, auditor=1, admin=1)),
    # UnifiedJobAccess: the union of the above
    ("/api/v2/unified_jobs/", dict(nobody=0, member=0, orgadmin=2, teamer=1, auditor=2, admin=2)),
    # TeamAccess: ORG_ADMINS_CAN_SEE_ALL_USERS lets org admins/auditors see all;
    # others the teams whose read_role they hold
    ("/api/v2/teams/", dict(nobody=0, member=0, orgadmin=1, teamer=1, auditor=1, admin=1)),
    # CredentialTypeAccess: everyone reads the types
    ("/api/v2/credential_types/", dict(nobody=3, member=3, orgadmin=3, teamer=3, auditor=3, admin=3)),
    # OAuth2TokenAccess / tokens/: one's own (none yet)
    ("/api/v2/tokens/", dict(nobody=0, member=0, orgadmin=0, teamer=0)),
]


@pytest.mark.parametrize("path,counts", LIST_COUNTS, ids=[p for p, _ in LIST_COUNTS])
def test_list_visibility_and_counts(w, path, counts):
    for user, n in counts.items():
        r = call(w, user, "GET", path + "?page_size=1")
        assert r.status_code == 200, (user, r.text)
        body = r.json()
        assert body["count"] == n, (path, user, body["count"], n)
        # the page holds no more than the count allows
        assert len(body["results"]) == min(n, 1), (path, user)


def test_users_list_is_userAccess_filtered_queryset(w):
    """UserAccess.filtered_queryset: oneself, the system administrators and
    auditors, and the members of the organizations one reads; an
    organization admin sees all users (ORG_ADMINS_CAN_SEE_ALL_USERS)."""
    ids = w["ids"]

    def seen(user):
        r = call(w, user, "GET", "/api/v2/users/?page_size=200")
        assert r.status_code == 200
        return {u["id"] for u in r.json()["results"]}
    assert seen("nobody") == {ids["nobody"], ids["admin"], ids["auditor"]}
    # a member reads Org, so sees its members (the admin's direct membership is its admin_role)
    assert ids["member"] in seen("member") and ids["nobody"] not in seen("member")
    assert ids["teamer"] not in seen("nobody")
    assert seen("orgadmin") >= set(ids.values())
    assert seen("auditor") >= set(ids.values())


# (path, {user: status})
DETAILS = [
    # JobTemplateAccess read_role
    ("/api/v2/job_templates/{jt}/", dict(nobody=403, member=403, orgadmin=200, teamer=200, auditor=200, admin=200)),
    ("/api/v2/job_templates/{jt_sleep}/", dict(nobody=403, teamer=403, orgadmin=200)),
    ("/api/v2/job_templates/999999/", dict(nobody=404, teamer=404)),
    # CredentialAccess read_role
    ("/api/v2/credentials/{cred}/", dict(nobody=403, member=403, orgadmin=200, teamer=403, auditor=200)),
    ("/api/v2/credentials/{other_cred}/", dict(orgadmin=403, auditor=200, admin=200)),
    # OrganizationAccess read_role
    ("/api/v2/organizations/{org}/", dict(nobody=403, member=200, orgadmin=200, teamer=403)),
    ("/api/v2/organizations/{other}/", dict(member=403, orgadmin=403, auditor=200)),
    # InventoryAccess read_role; HostAccess through the inventory
    ("/api/v2/inventories/{inv}/", dict(nobody=403, member=403, orgadmin=200, teamer=403)),
    ("/api/v2/inventories/{other_inv}/", dict(orgadmin=403)),
    ("/api/v2/hosts/{host}/", dict(nobody=403, orgadmin=200)),
    ("/api/v2/inventories/{inv}/hosts/", dict(nobody=403, orgadmin=200)),
    ("/api/v2/projects/{project}/", dict(nobody=403, teamer=403, orgadmin=200)),
    # JobAccess: job output and events are readable by who reads the job
    ("/api/v2/jobs/{job}/", dict(nobody=403, member=403, orgadmin=200, teamer=200, auditor=200)),
    ("/api/v2/jobs/{job}/stdout/?format=txt", dict(nobody=403, member=403, orgadmin=200, teamer=200)),
    ("/api/v2/jobs/{job}/job_events/", dict(nobody=403, orgadmin=200, teamer=200)),
    ("/api/v2/jobs/{job}/job_host_summaries/", dict(nobody=403, teamer=200)),
    ("/api/v2/jobs/{job}/events/lines/?start_line=0&end_line=5", dict(nobody=403, teamer=200)),
    ("/api/v2/unified_jobs/{job}/", dict(nobody=403, teamer=200)),
    # TeamAccess read_role
    ("/api/v2/teams/{team}/", dict(nobody=403, member=403, teamer=200, orgadmin=200)),
    # SystemJobTemplateAccess: superusers (and auditors read)
    ("/api/v2/system_job_templates/", dict(nobody=403, member=403, orgadmin=403, auditor=200, admin=200)),
    ("/api/v2/system_jobs/", dict(nobody=403, orgadmin=403, admin=200)),
    # roles/N/: visible with its object
    ("/api/v2/roles/999999999/", dict(nobody=404, admin=404)),
]


@pytest.mark.parametrize("path,expect", DETAILS, ids=[p for p, _ in DETAILS])
def test_read_one(w, path, expect):
    for user, status in expect.items():
        r = call(w, user, "GET", expand(w, path))
        assert r.status_code == status, (path, user, r.status_code, r.text[:200])
        if status == 403:
            assert r.json() == {"detail": DENIED}
            # nothing of the object leaks in the refusal
            assert "PLANTED" not in r.text and "localhost" not in r.text


def test_sse_stream_needs_read(w):
    r = call(w, "nobody", "GET", expand(w, "/api/v2/jobs/{job}/events/stream/"))
    assert r.status_code == 403
    s = as_user(w, "teamer").get(w["d"].url(expand(w, "/api/v2/jobs/{job}/events/stream/")), stream=True,
                                 timeout=60)
    assert s.status_code == 200
    s.close()


# ---------------------------------------------------------------------------
# write: (method, path, body, {user: status})

WRITES = [
    # JobTemplateAccess.can_change: admin_role (execute is not enough)
    ("PATCH", "/api/v2/job_templates/{jt}/", {"description": "x"},
     dict(nobody=403, member=403, teamer=403, auditor=403, orgadmin=200, admin=200)),
    # JobTemplateAccess.can_change: a new inventory needs its use_role
    ("PATCH", "/api/v2/job_templates/{jt_sleep}/", {"inventory": "{other_inv}"}, dict(orgadmin=403)),
    # JobTemplateAccess.can_delete: admin_role
    ("DELETE", "/api/v2/job_templates/{jt}/", None, dict(nobody=403, teamer=403, auditor=403)),
    # JobTemplateAccess.can_add: use of the project and inventory
    ("POST", "/api/v2/job_templates/", {"name": "new", "project": "{project}", "inventory": "{inv}",
                                        "playbook": "ok.yml"},
     dict(nobody=403, member=403, teamer=403, auditor=403, orgadmin=201)),
    ("POST", "/api/v2/job_templates/", {"name": "new2", "project": "{project}", "inventory": "{other_inv}",
                                        "playbook": "ok.yml"}, dict(orgadmin=403, admin=201)),
    # UnifiedCredentialsMixin.can_attach: a credential in a template needs its use_role
    ("POST", "/api/v2/job_templates/{jt_sleep}/credentials/", {"id": "{other_cred}"}, dict(orgadmin=403, teamer=403)),
    ("POST", "/api/v2/job_templates/{jt_sleep}/credentials/", {"id": "{cred}"}, dict(teamer=403, orgadmin=204)),
    # JobTemplateAccess.can_start: execute_role (the team's); a prompted
    # inventory needs its use_role
    ("POST", "/api/v2/job_templates/{jt}/launch/", {}, dict(nobody=403, member=403, auditor=403)),
    ("POST", "/api/v2/job_templates/{jt}/launch/", {"inventory": "{other_inv}"}, dict(orgadmin=403)),
    ("POST", "/api/v2/job_templates/{jt_sleep}/launch/", {}, dict(teamer=403)),
    # JobAccess.can_start (relaunch): the template's execute_role
    ("POST", "/api/v2/jobs/{job}/relaunch/", {}, dict(nobody=403, member=403, auditor=403)),
    # JobAccess.can_cancel: one's own job, or the template's admin
    ("POST", "/api/v2/jobs/{job}/cancel/", {}, dict(nobody=403, teamer=403, auditor=403)),
    # JobAccess.can_delete: the organization's admin
    ("DELETE", "/api/v2/jobs/{job}/", None, dict(nobody=403, teamer=403, auditor=403)),
    # OrganizationAccess: superusers create; admin_role changes
    ("POST", "/api/v2/organizations/", {"name": "O3"}, dict(nobody=403, orgadmin=403, auditor=403)),
    ("PATCH", "/api/v2/organizations/{org}/", {"description": "d"},
     dict(nobody=403, member=403, teamer=403, auditor=403, orgadmin=200)),
    # OrganizationAccess.can_change: max_hosts is the superusers'
    ("PATCH", "/api/v2/organizations/{org}/", {"max_hosts": 5}, dict(orgadmin=403)),
    # InventoryAccess.can_add: the organization's inventory_admin_role
    ("POST", "/api/v2/inventories/", {"name": "I2", "organization": "{org}"},
     dict(nobody=403, member=403, teamer=403, auditor=403, orgadmin=201)),
    ("POST", "/api/v2/inventories/", {"name": "I3", "organization": "{other}"}, dict(orgadmin=403)),
    # HostAccess.can_add / can_change: the inventory's admin_role
    ("POST", "/api/v2/inventories/{inv}/hosts/", {"name": "h9"}, dict(nobody=403, member=403, teamer=403, orgadmin=201)),
    ("PATCH", "/api/v2/hosts/{host}/", {"description": "d"}, dict(nobody=403, teamer=403, orgadmin=200)),
    # AdHocCommandAccess.can_add: the inventory's adhoc_role
    ("POST", "/api/v2/ad_hoc_commands/", {"inventory": "{inv}", "module_name": "ping", "limit": "localhost"},
     dict(nobody=403, member=403, teamer=403, auditor=403)),
    # ProjectAccess.can_start (update): update_role
    ("POST", "/api/v2/projects/{project}/update/", {}, dict(nobody=403, member=403, teamer=403, auditor=403)),
    # CredentialAccess: change and delete admin_role; create the org's credential_admin_role
    ("PATCH", "/api/v2/credentials/{cred}/", {"description": "d"},
     dict(nobody=403, member=403, teamer=403, auditor=403, orgadmin=200)),
    ("DELETE", "/api/v2/credentials/{other_cred}/", None, dict(orgadmin=403, nobody=403)),
    ("POST", "/api/v2/credentials/", {"name": "C2", "organization": "{other}", "credential_type": 1},
     dict(orgadmin=403, member=403)),
    # CredentialTypeAccess: superusers only
    ("POST", "/api/v2/credential_types/", {"name": "T2", "kind": "cloud"}, dict(orgadmin=403, auditor=403)),
    # TeamAccess.can_add: the organization's admin_role
    ("POST", "/api/v2/teams/", {"name": "T2", "organization": "{org}"},
     dict(nobody=403, member=403, teamer=403, auditor=403, orgadmin=201)),
    ("POST", "/api/v2/teams/", {"name": "T3", "organization": "{other}"}, dict(orgadmin=403)),
    ("PATCH", "/api/v2/teams/{team}/", {"description": "d"}, dict(teamer=403, member=403, orgadmin=200)),
    # UserAccess.can_add: superusers and organization admins; no system roles
    ("POST", "/api/v2/users/", {"username": "u9", "password": "pw-u9-pw"}, dict(nobody=403, member=403, orgadmin=201)),
    ("POST", "/api/v2/users/", {"username": "u10", "password": "p", "is_superuser": True}, dict(orgadmin=403)),
    # UserAccess.can_change: oneself (no escalation), or one's organizations' users
    ("PATCH", "/api/v2/users/{uid_member}/", {"first_name": "m"}, dict(nobody=403, teamer=403, orgadmin=200)),
    ("PATCH", "/api/v2/users/{uid_nobody}/", {"first_name": "n"}, dict(nobody=200)),
    ("PATCH", "/api/v2/users/{uid_nobody}/", {"is_superuser": True}, dict(nobody=403)),
    ("PATCH", "/api/v2/users/{uid_member}/", {"is_system_auditor": True}, dict(orgadmin=403)),
    # RoleAccess.can_attach: the object's admin_role
    ("POST", "/api/v2/roles/{jt_admin}/users/", {"id": "{uid_nobody}"}, dict(nobody=403, teamer=403, member=403)),
    ("POST", "/api/v2/teams/{team}/users/", {"id": "{uid_nobody}"}, dict(nobody=403, teamer=403, member=403)),
    ("POST", "/api/v2/organizations/{org}/admins/", {"id": "{uid_nobody}"}, dict(nobody=403, member=403, teamer=403)),
]


def fill(w, v):
    if isinstance(v, str) and v.startswith("{") and v.endswith("}"):
        key = v[1:-1]
        if key == "jt_admin":
            return w["roles"]["admin_role"]["id"]
        return int(expand(w, v))
    if isinstance(v, dict):
        return {k: fill(w, x) for k, x in v.items()}
    return v


@pytest.mark.parametrize("method,path,body,expect", WRITES,
                         ids=["%s %s %s" % (m, p, sorted(e)) for m, p, b, e in WRITES])
def test_write(w, method, path, body, expect):
    p = expand(w, path.replace("{jt_admin}", str(w["roles"]["admin_role"]["id"])))
    for user, status in expect.items():
        r = call(w, user, method, p, fill(w, body) if body is not None else None)
        assert r.status_code == status, (method, p, user, r.status_code, r.text[:300])
        if status == 403:
            assert r.json() == {"detail": DENIED}


def test_refused_writes_change_nothing(w):
    d = w["d"]
    before = d.get("/api/v2/job_templates/%d/" % w["jt"]["id"])
    for user in ("nobody", "member", "teamer", "auditor"):
        r = call(w, user, "PATCH", "/api/v2/job_templates/%d/" % w["jt"]["id"], {"playbook": "sleep.yml"})
        assert r.status_code == 403
    assert d.get("/api/v2/job_templates/%d/" % w["jt"]["id"])["playbook"] == before["playbook"]
    assert d.get("/api/v2/job_templates/%d/" % w["jt"]["id"])["id"] == w["jt"]["id"]


def test_cleanup_jobs_days_0_by_an_ordinary_user_is_refused_and_deletes_nothing(w):
    """The reported attack: an ordinary user's cleanup_jobs days=0 (AWX:
    SystemJobTemplateAccess.can_start is the superusers')."""
    d = w["d"]
    sjts = d.get("/api/v2/system_job_templates/")["results"]
    cleanup = [s for s in sjts if s.get("job_type") == "cleanup_jobs"][0]
    before = d.get("/api/v2/unified_jobs/?page_size=1")["count"]
    assert before >= 2
    for user in ("nobody", "member", "orgadmin", "teamer", "auditor"):
        r = call(w, user, "POST", "/api/v2/system_job_templates/%d/launch/" % cleanup["id"],
                 {"extra_vars": {"days": 0}})
        assert r.status_code == 403, (user, r.text)
    assert d.get("/api/v2/system_jobs/")["count"] == 0
    assert d.get("/api/v2/unified_jobs/?page_size=1")["count"] == before
    assert d.get("/api/v2/jobs/%d/" % w["job"]["id"])["status"] == "successful"


def test_team_member_launches_through_the_team_role(w):
    d = w["d"]
    r = call(w, "teamer", "POST", "/api/v2/job_templates/%d/launch/" % w["jt"]["id"], {})
    assert r.status_code == 201, r.text
    job = d.wait_job("/api/v2/jobs/%d/" % r.json()["id"])
    assert job["status"] == "successful"
    assert job["created_by"] == w["ids"]["teamer"]
    # the teamer reads its job and its output
    r = call(w, "teamer", "GET", "/api/v2/jobs/%d/stdout/?format=txt" % job["id"])
    assert r.status_code == 200 and "PLAY" in r.text
    # nobody does not
    assert call(w, "nobody", "GET", "/api/v2/jobs/%d/stdout/?format=txt" % job["id"]).status_code == 403


def test_summary_fields_object_roles_and_user_capabilities(w):
    jt = w["jt"]["id"]
    body = call(w, "teamer", "GET", "/api/v2/job_templates/%d/" % jt).json()
    roles = body["summary_fields"]["object_roles"]
    assert set(roles) == {"admin_role", "execute_role", "read_role"}
    assert roles["execute_role"]["name"] == "Execute"
    assert roles["admin_role"]["description"] == "Can manage all aspects of the job template"
    caps = body["summary_fields"]["user_capabilities"]
    assert caps["start"] is True and caps["edit"] is False and caps["delete"] is False
    caps = call(w, "orgadmin", "GET", "/api/v2/job_templates/%d/" % jt).json()["summary_fields"]["user_capabilities"]
    assert caps["start"] and caps["edit"] and caps["delete"] and caps["copy"]
    # in a list too
    res = call(w, "teamer", "GET", "/api/v2/job_templates/").json()["results"]
    assert res[0]["summary_fields"]["user_capabilities"]["start"] is True
    org = call(w, "member", "GET", "/api/v2/organizations/%d/" % w["org"]["id"]).json()
    assert org["summary_fields"]["user_capabilities"] == {"edit": False, "delete": False}
    assert "member_role" in org["summary_fields"]["object_roles"]
    inv = call(w, "orgadmin", "GET", "/api/v2/inventories/%d/" % w["inv"]["id"]).json()
    assert set(inv["summary_fields"]["object_roles"]) == {"admin_role", "update_role", "adhoc_role",
                                                          "use_role", "read_role"}


def test_role_endpoints(w):
    d = w["d"]
    ids = w["ids"]
    exe = w["roles"]["execute_role"]["id"]
    role = d.get("/api/v2/roles/%d/" % exe)
    assert role["name"] == "Execute" and role["summary_fields"]["resource_id"] == w["jt"]["id"]
    assert role["summary_fields"]["resource_type"] == "job_template"
    assert [t["id"] for t in d.get("/api/v2/roles/%d/teams/" % exe)["results"]] == [w["team"]["id"]]
    assert [r["id"] for r in d.get("/api/v2/teams/%d/roles/" % w["team"]["id"])["results"]] == [exe]
    assert [u["id"] for u in d.get("/api/v2/teams/%d/users/" % w["team"]["id"])["results"]] == [ids["teamer"]]
    assert [t["id"] for t in d.get("/api/v2/users/%d/teams/" % ids["teamer"])["results"]] == [w["team"]["id"]]
    users = {u["id"] for u in d.get("/api/v2/organizations/%d/users/" % w["org"]["id"])["results"]}
    assert users == {ids["member"]}
    admins = {u["id"] for u in d.get("/api/v2/organizations/%d/admins/" % w["org"]["id"])["results"]}
    assert admins == {ids["orgadmin"]}
    mine = d.get("/api/v2/users/%d/roles/" % ids["member"])["results"]
    assert [r["name"] for r in mine] == ["Member"]
    assert mine[0]["summary_fields"]["resource_name"] == "Org"
    # roles/: nobody sees only the system roles; the teamer the template's
    assert call(w, "nobody", "GET", "/api/v2/roles/").json()["count"] == 2
    seen = {r["id"] for r in call(w, "teamer", "GET", "/api/v2/roles/?page_size=200").json()["results"]}
    assert exe in seen and w["roles"]["admin_role"]["id"] in seen
    # a role of an object one cannot read: 403
    assert call(w, "nobody", "GET", "/api/v2/roles/%d/" % exe).status_code == 403
    # a credential role for a user outside its organization (RoleUsersList.post)
    cred = d.get("/api/v2/credentials/%d/" % w["cred"]["id"])
    use = cred["summary_fields"]["object_roles"]["use_role"]["id"]
    r = d.req("POST", "/api/v2/roles/%d/users/" % use, json={"id": ids["nobody"]})
    assert r.status_code == 400 and "not in the credentials' organization" in r.json()["msg"]
    # an organization role to a team (RoleTeamsList.post)
    org_member = d.get("/api/v2/organizations/%d/" % w["org"]["id"])["summary_fields"]["object_roles"]["member_role"]["id"]
    r = d.req("POST", "/api/v2/roles/%d/teams/" % org_member, json={"id": w["team"]["id"]})
    assert r.status_code == 400


def test_org_admin_grants_and_revokes(w):
    """RoleAccess.can_attach: the org admin administers the template's roles."""
    ids = w["ids"]
    adm = w["roles"]["admin_role"]["id"]
    jt = "/api/v2/job_templates/%d/" % w["jt_sleep"]["id"]
    sleep_roles = call(w, "admin", "GET", jt).json()["summary_fields"]["object_roles"]
    read = sleep_roles["read_role"]["id"]
    assert call(w, "member", "GET", jt).status_code == 403
    r = call(w, "orgadmin", "POST", "/api/v2/roles/%d/users/" % read, {"id": ids["member"]})
    assert r.status_code == 204, r.text
    assert call(w, "member", "GET", jt).status_code == 200
    # read is not launch
    assert call(w, "member", "POST", jt + "launch/", {}).status_code == 403
    r = call(w, "orgadmin", "POST", "/api/v2/roles/%d/users/" % read, {"id": ids["member"], "disassociate": True})
    assert r.status_code == 204
    assert call(w, "member", "GET", jt).status_code == 403
    # the user side: users/N/roles/
    r = call(w, "orgadmin", "POST", "/api/v2/users/%d/roles/" % ids["member"], {"id": adm})
    assert r.status_code == 204
    assert call(w, "member", "PATCH", "/api/v2/job_templates/%d/" % w["jt"]["id"],
                {"description": "by member"}).status_code == 200
    r = call(w, "orgadmin", "POST", "/api/v2/users/%d/roles/" % ids["member"], {"id": adm, "disassociate": True})
    assert r.status_code == 204
    assert call(w, "member", "PATCH", "/api/v2/job_templates/%d/" % w["jt"]["id"],
                {"description": "again"}).status_code == 403


def test_tokens_are_the_callers_and_read_scope_only_reads(w):
    ids = w["ids"]
    r = call(w, "teamer", "POST", "/api/v2/users/%d/personal_tokens/" % ids["teamer"], {"scope": "read"})
    assert r.status_code == 201, r.text
    tok = r.json()["token"]
    h = {"Authorization": "Bearer " + tok}
    u = w["d"].url
    assert requests.get(u("/api/v2/job_templates/%d/" % w["jt"]["id"]), headers=h).status_code == 200
    assert requests.post(u("/api/v2/job_templates/%d/launch/" % w["jt"]["id"]), headers=h, json={}).status_code == 403
    # the token reads only what its user reads
    assert requests.get(u("/api/v2/credentials/%d/" % w["cred"]["id"]), headers=h).status_code == 403
    # another user's tokens: not listed, not readable, not creatable
    assert call(w, "nobody", "GET", "/api/v2/tokens/").json()["count"] == 0
    tid = r.json()["id"]
    assert call(w, "nobody", "GET", "/api/v2/tokens/%d/" % tid).status_code == 404
    assert call(w, "nobody", "POST", "/api/v2/users/%d/personal_tokens/" % ids["teamer"], {}).status_code == 403
    me = call(w, "nobody", "GET", "/api/v2/me/").json()
    assert me["count"] == 1 and me["results"][0]["id"] == ids["nobody"]


def test_options_show_only_allowed_methods(w):
    r = call(w, "teamer", "OPTIONS", "/api/v2/job_templates/%d/" % w["jt"]["id"])
    assert r.status_code == 200
    assert "PUT" not in r.json().get("actions", {})
    r = call(w, "orgadmin", "OPTIONS", "/api/v2/job_templates/%d/" % w["jt"]["id"])
    assert "PUT" in r.json().get("actions", {})
    r = call(w, "nobody", "OPTIONS", "/api/v2/organizations/")
    assert "POST" not in r.json().get("actions", {})
    # InventoryAccess.can_add(None): an organization's inventory_admin_role
    assert "POST" not in call(w, "nobody", "OPTIONS", "/api/v2/inventories/").json()["actions"]
    assert "POST" in call(w, "orgadmin", "OPTIONS", "/api/v2/inventories/").json()["actions"]
    # UserAccess.can_add: organization admins create users
    assert "POST" in call(w, "orgadmin", "OPTIONS", "/api/v2/users/").json()["actions"]
    assert "POST" not in call(w, "member", "OPTIONS", "/api/v2/users/").json()["actions"]


def test_revoking_the_team_role_takes_access_away(w):
    exe = w["roles"]["execute_role"]["id"]
    assert call(w, "teamer", "GET", "/api/v2/job_templates/%d/" % w["jt"]["id"]).status_code == 200
    # the team member may not take it from the team (RoleAccess: admin_role)
    r = call(w, "teamer", "POST", "/api/v2/roles/%d/teams/" % exe, {"id": w["team"]["id"], "disassociate": True})
    assert r.status_code == 403
    r = call(w, "orgadmin", "POST", "/api/v2/roles/%d/teams/" % exe, {"id": w["team"]["id"], "disassociate": True})
    assert r.status_code == 204
    assert call(w, "teamer", "GET", "/api/v2/job_templates/%d/" % w["jt"]["id"]).status_code == 403
    assert call(w, "teamer", "GET", "/api/v2/jobs/%d/" % w["job"]["id"]).status_code == 403
    assert call(w, "teamer", "GET", "/api/v2/jobs/?page_size=1").json()["count"] == 0
    r = call(w, "orgadmin", "POST", "/api/v2/roles/%d/teams/" % exe, {"id": w["team"]["id"]})
    assert r.status_code == 204
    assert call(w, "teamer", "GET", "/api/v2/job_templates/%d/" % w["jt"]["id"]).status_code == 200


def test_deleting_a_team_forgets_its_roles(w):
    d = w["d"]
    t = d.create("teams", name="Gone", organization=w["org"]["id"])
    d.post("/api/v2/teams/%d/users/" % t["id"], {"id": w["ids"]["nobody"]}, expect=(204,))
    d.post("/api/v2/roles/%d/teams/" % w["roles"]["read_role"]["id"], {"id": t["id"]}, expect=(204,))
    assert call(w, "nobody", "GET", "/api/v2/job_templates/%d/" % w["jt"]["id"]).status_code == 200
    assert d.req("DELETE", "/api/v2/teams/%d/" % t["id"]).status_code == 204
    assert call(w, "nobody", "GET", "/api/v2/job_templates/%d/" % w["jt"]["id"]).status_code == 403
    assert t["id"] not in [x["id"] for x in d.get("/api/v2/roles/%d/teams/" % w["roles"]["read_role"]["id"])["results"]]


COLLECTION_PB = """
- hosts: localhost
  gather_facts: false
  tasks:
    - awx.awx.user:
        username: coll-user
        password: coll-user-pw-1
        email: c@example.com
        update_secrets: false
    - awx.awx.team:
        name: coll-team
        organization: Org
    - awx.awx.role:
        user: coll-user
        target_team: coll-team
        role: member
    - awx.awx.role:
        team: coll-team
        job_template: OK
        role: execute
    - awx.awx.role:
        user: coll-user
        organization: Org
        role: member
"""


def test_awx_collection_user_team_role(w):
    if not AWX_COLLECTION.exists():
        pytest.skip("the awx.awx collection is missing (apt-get install ansible)")
    d = w["d"]
    pb = Path(w["tmp"]) / "rbac.yml"
    pb.write_text(COLLECTION_PB)
    for run in range(2):
        out = run_collection_playbook(d, pb)
        assert out.returncode == 0, out.stdout + out.stderr
        if run == 1:  # the second run changes nothing
            assert "changed=0" in out.stdout, out.stdout
    u = d.get("/api/v2/users/?username=coll-user")["results"][0]
    t = d.get("/api/v2/teams/?name=coll-team")["results"][0]
    assert [x["id"] for x in d.get("/api/v2/teams/%d/users/" % t["id"])["results"]] == [u["id"]]
    s = requests.Session()
    s.auth = ("coll-user", "coll-user-pw-1")
    r = s.get(d.url("/api/v2/job_templates/%d/" % w["jt"]["id"]))
    assert r.status_code == 200 and r.json()["summary_fields"]["user_capabilities"]["start"] is True
    assert s.get(d.url("/api/v2/credentials/%d/" % w["cred"]["id"])).status_code == 403
    # state: absent takes the role back
    pb.write_text(COLLECTION_PB.replace("        role: execute\n", "        role: execute\n        state: absent\n"))
    out = run_collection_playbook(d, pb)
    assert out.returncode == 0, out.stdout + out.stderr
    assert s.get(d.url("/api/v2/job_templates/%d/" % w["jt"]["id"])).status_code == 403
