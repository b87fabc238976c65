"""AWX's list grammar through runneld's API (awx/api/filters.py, DRF's
SearchFilter, OrderByBackend): or__, chain__, not__, repeated keys, related
lookups through foreign keys, reverse keys and many-to-many relations,
every lookup, search= over AWX's search fields, <relation>__search, type=,
multi-field and related order_by, and the errors as AWX words them (400
{"detail"}; 403 for a secret). Also `organization` on job templates, derived
from the project's as AWX does.

One runneld per module on the backend RUNNELD_STORE names (scripts/run-tests
runs this file on SQLite and again on PostgreSQL).

Environment: RUNNELD (default <repo>/build/service/runneld).
"""

import os
import shutil
import tempfile
from pathlib import Path
from urllib.parse import urlencode

import pytest

from runneld_harness import RUNNELD, Runneld, make_git_project

pytestmark = pytest.mark.skipif(not os.path.exists(RUNNELD), reason="runneld is not built: " + RUNNELD)


@pytest.fixture(scope="module")
def w():
    tmp = Path(tempfile.mkdtemp(prefix="runneld-filters-"))
    repo, _ = make_git_project(tmp)
    d = Runneld(tmp / "state", extra=["--isolation-base-path", str(tmp)]).start()
    try:
        o = {"d": d}
        o["oa"] = d.create("organizations", name="Alpha Org", description="first")
        o["ob"] = d.create("organizations", name="Beta Org", description="second web")
        o["ia"] = d.create("inventories", name="inv-a", organization=o["oa"]["id"])
        o["ib"] = d.create("inventories", name="inv-b", organization=o["ob"]["id"])
        hosts = {}
        for name, inv, desc in (("web1", "ia", "frontend"), ("web2", "ia", ""), ("db1", "ia", "database"),
                                ("edge", "ib", "frontend")):
            hosts[name] = d.post("/api/v2/inventories/%d/hosts/" % o[inv]["id"],
                                 {"name": name, "description": desc}, expect=(201,))
        o["h"] = hosts
        ga = d.post("/api/v2/inventories/%d/groups/" % o["ia"]["id"], {"name": "ga"}, expect=(201,))
        gb = d.post("/api/v2/inventories/%d/groups/" % o["ia"]["id"], {"name": "gb"}, expect=(201,))
        o["ga"], o["gb"] = ga, gb
        # web1 in ga and gb; web2 in ga only; db1 and edge in none
        for g, h in ((ga, "web1"), (gb, "web1"), (ga, "web2")):
            d.post("/api/v2/groups/%d/hosts/" % g["id"], {"id": hosts[h]["id"]}, expect=(204,))
        o["pa"] = d.create("projects", name="proj-a", organization=o["oa"]["id"], scm_type="git",
                           scm_url="file://%s" % repo)
        o["pb"] = d.create("projects", name="proj-b", organization=o["ob"]["id"], scm_type="git",
                           scm_url="file://%s" % repo)
        for p in ("pa", "pb"):
            cur = o[p]["summary_fields"]["current_update"]["id"]
            d.wait_job("/api/v2/project_updates/%d/" % cur)
        o["ja"] = d.create("job_templates", name="jt-a", project=o["pa"]["id"], inventory=o["ia"]["id"],
                           playbook="ok.yml")
        o["jb"] = d.create("job_templates", name="jt-b", project=o["pb"]["id"], inventory=o["ia"]["id"],
                           playbook="ok.yml")
        o["cred"] = d.create("credentials", name="machine", credential_type=1, organization=o["oa"]["id"],
                             inputs={"username": "u", "password": "s3cret-pw"})
        yield o
    finally:
        d.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def names(d, plural, args):
    """The names a list gives for the query string args (a list of pairs:
    repeated keys kept), in its order."""
    r = d.req("GET", "/api/v2/%s/?%s" % (plural, urlencode(list(args) + [("page_size", 200)])))
    assert r.status_code == 200, (args, r.status_code, r.text)
    return [o["name"] for o in r.json()["results"]]


def refused(d, plural, args, status=400):
    r = d.req("GET", "/api/v2/%s/?%s" % (plural, urlencode(list(args))))
    assert r.status_code == status, (args, r.status_code, r.text)
    body = r.json()
    assert list(body) == ["detail"], body
    return body["detail"]


def test_or_groups_and_repeated_keys(w):
    d = w["d"]
    # before: or__ ran one query per key, so a repeated key kept only its last value
    assert names(d, "hosts", [("or__name", "web1"), ("or__name", "db1"), ("order_by", "name")]) == ["db1", "web1"]
    # or__ is one group, ANDed with the plain filters
    assert names(d, "hosts", [("or__name", "web1"), ("or__name", "edge"),
                              ("inventory", w["ia"]["id"])]) == ["web1"]
    assert names(d, "hosts", [("or__not__name", "web1"), ("or__name", "web1"),
                              ("order_by", "name")]) == ["db1", "edge", "web1", "web2"]
    # a plain key repeated: both conditions hold
    assert names(d, "hosts", [("name__startswith", "web"), ("name__endswith", "2")]) == ["web2"]
    assert names(d, "hosts", [("name__icontains", "e"), ("name__icontains", "b")]) == ["web1", "web2"]


def test_chain_on_a_multi_valued_relation(w):
    d = w["d"]
    # in one filter() a single group must be both ga and gb: none; chain__: each its own
    assert names(d, "hosts", [("groups__name", "ga"), ("groups__name", "gb")]) == []
    assert names(d, "hosts", [("chain__groups__name", "ga"), ("chain__groups__name", "gb")]) == ["web1"]
    assert names(d, "hosts", [("groups", w["gb"]["id"])]) == ["web1"]
    assert names(d, "hosts", [("not__groups__name", "ga"), ("order_by", "name")]) == ["db1", "edge"]
    assert names(d, "groups", [("hosts__name", "web2")]) == ["ga"]
    # the reverse of a foreign key, several hops
    assert names(d, "inventories", [("hosts__name", "edge")]) == ["inv-b"]
    assert names(d, "organizations", [("inventories__hosts__groups__name", "gb")]) == ["Alpha Org"]


def test_related_lookups_through_foreign_keys(w):
    d = w["d"]
    assert names(d, "hosts", [("inventory__organization__name", "Beta Org")]) == ["edge"]
    assert names(d, "hosts", [("inventory__organization__name__istartswith", "alpha"),
                              ("order_by", "-name")]) == ["web2", "web1", "db1"]
    assert names(d, "job_templates", [("project__organization__description__icontains", "WEB")]) == ["jt-b"]
    assert names(d, "hosts", [("inventory__organization", w["ob"]["id"])]) == ["edge"]
    assert names(d, "hosts", [("inventory__organization__in", "%d,%d" % (w["oa"]["id"], w["ob"]["id"])),
                              ("name__regex", "^(web1|edge)$"), ("order_by", "name")]) == ["edge", "web1"]


@pytest.mark.parametrize("lookup,value,want", [
    ("exact", "web1", ["web1"]),
    ("iexact", "WEB1", ["web1"]),
    ("contains", "eb", ["web1", "web2"]),
    ("icontains", "EB", ["web1", "web2"]),
    ("startswith", "we", ["web1", "web2"]),
    ("istartswith", "WE", ["web1", "web2"]),
    ("endswith", "1", ["db1", "web1"]),
    ("iendswith", "EB1", ["web1"]),
    ("regex", "^[dw][a-z]+1$", ["db1", "web1"]),
    ("iregex", "^EDGE$", ["edge"]),
    ("in", "edge,db1,nosuch", ["db1", "edge"]),
])
def test_every_text_lookup(w, lookup, value, want):
    assert names(w["d"], "hosts", [("name__" + lookup, value), ("order_by", "name")]) == want


def test_case_and_wildcards_are_text(w):
    d = w["d"]
    # before: startswith/endswith ignored case, and % and _ in a value were LIKE's wildcards
    assert names(d, "hosts", [("name__startswith", "WEB")]) == []
    assert names(d, "hosts", [("name__endswith", "B1")]) == []
    assert names(d, "hosts", [("name__icontains", "%")]) == []
    assert names(d, "hosts", [("name__istartswith", "w_b")]) == []
    assert names(d, "hosts", [("name__iendswith", "_1")]) == []
    assert names(d, "hosts", [("name__endswith", "")]) == names(d, "hosts", [])


def test_number_and_null_lookups(w):
    d, h = w["d"], w["h"]
    ids = sorted(x["id"] for x in h.values())
    assert names(d, "hosts", [("id__gt", ids[1]), ("id__lte", ids[2])]) == [n for n, x in h.items()
                                                                             if x["id"] == ids[2]]
    assert len(names(d, "hosts", [("id__gte", ids[0]), ("id__lt", ids[3])])) == 3
    assert names(d, "hosts", [("last_job__isnull", "false")]) == []
    assert len(names(d, "hosts", [("last_job__isnull", "True")])) == 4
    assert names(d, "hosts", [("last_job", "null"), ("name", "edge")]) == ["edge"]
    assert names(d, "organizations", [("pk", w["ob"]["id"])]) == ["Beta Org"]


def test_search(w):
    d = w["d"]
    # AWX's search fields of a host: name and description; every term somewhere
    assert names(d, "hosts", [("search", "front"), ("order_by", "name")]) == ["edge", "web1"]
    assert names(d, "hosts", [("search", "front web")]) == ["web1"]
    assert names(d, "hosts", [("search", "front,edge")]) == ["edge"]
    assert names(d, "organizations", [("search", "web")]) == ["Beta Org"]
    # <relation>__search: the related object's name/description
    assert names(d, "hosts", [("inventory__search", "inv-b")]) == ["edge"]
    assert names(d, "hosts", [("groups__search", "gb")]) == ["web1"]
    assert names(d, "hosts", [("groups__search", "ga,gb")]) == ["web1"]
    assert refused(d, "hosts", [("name__search", "x")]) == "name is not searchable"


def test_order_by_several_fields(w):
    d = w["d"]
    assert names(d, "hosts", [("order_by", "-inventory,name")]) == ["edge", "db1", "web1", "web2"]
    assert names(d, "hosts", [("order_by", "description,-name")]) == ["web2", "db1", "web1", "edge"]
    assert names(d, "hosts", [("order_by", "-inventory__organization__name,-name")]) == \
        ["edge", "web2", "web1", "db1"]
    assert refused(d, "hosts", [("order_by", "name,-nosuch")]) == "Host has no field named 'nosuch'"


def test_type(w):
    d = w["d"]
    assert names(d, "unified_jobs", [("type", "job")]) == []
    assert len(names(d, "unified_jobs", [("type", "project_update,job")])) >= 2
    assert names(d, "hosts", [("type", "group")]) == []
    assert len(names(d, "hosts", [("type", "host")])) == 4


def test_job_templates_organization_from_project(w):
    d = w["d"]
    # before: ?organization= on job templates was refused (the awx.awx collection's lookup)
    assert names(d, "job_templates", [("organization", w["ob"]["id"])]) == ["jt-b"]
    assert names(d, "job_templates", [("name", "jt-a"), ("organization", w["oa"]["id"])]) == ["jt-a"]
    assert names(d, "job_templates", [("organization__name", "Alpha Org")]) == ["jt-a"]
    assert names(d, "job_templates", [("order_by", "-organization")]) == ["jt-b", "jt-a"]
    assert names(d, "organizations", [("order_by", "name")])[0] == "Alpha Org"
    # it follows the project: moved to Beta, jt-a is Beta's
    r = d.req("PATCH", "/api/v2/projects/%d/" % w["pa"]["id"], json={"organization": w["ob"]["id"]})
    assert r.status_code == 200, r.text
    try:
        assert names(d, "job_templates", [("organization", w["ob"]["id"]), ("order_by", "name")]) == \
            ["jt-a", "jt-b"]
        assert names(d, "job_templates", [("organization", w["oa"]["id"])]) == []
    finally:
        d.req("PATCH", "/api/v2/projects/%d/" % w["pa"]["id"], json={"organization": w["oa"]["id"]})


@pytest.mark.parametrize("plural,args,message", [
    ("hosts", [("nosuch", "1")], "Host has no field named 'nosuch'"),
    ("hosts", [("inventory__nosuch", "1")], "Inventory has no field named 'nosuch'"),
    ("hosts", [("name__nolookup", "1")], "No related model for field nolookup."),
    ("hosts", [("id", "abc")], '["\u201cabc\u201d value must be an integer."]'),
    ("hosts", [("inventory", "abc")], "Invalid inventory id: abc"),
    ("hosts", [("enabled", "maybe")], 'Unable to convert "maybe" to boolean'),
    ("hosts", [("id__in", "")], "cannot provide empty value for __in"),
    ("hosts", [("id__iexact", "1")], "id is not a text field and cannot be filtered by case-insensitive search"),
    ("hosts", [("__exact", "1")], "Query string field name not provided."),
    ("groups", [("children__children__name", "x")], "Loops not allowed in filters, detected on field children."),
    ("job_templates", [("order_by", "nosuch")], "JobTemplate has no field named 'nosuch'"),
])
def test_refused_as_awx(w, plural, args, message):
    assert refused(w["d"], plural, args) == message


def test_bad_regex_refused_not_500(w):
    detail = refused(w["d"], "hosts", [("name__regex", "(")])
    assert "parenthesis" in detail


@pytest.mark.parametrize("plural,key,message", [
    ("users", "password__startswith", "Filtering on password is not allowed."),
    ("credentials", "inputs__icontains", "Filtering on password fields is not allowed."),
    ("job_templates", "extra_vars__icontains", "Filtering on extra_vars is not allowed."),
    ("hosts", "last_job__job_env__icontains", "Filtering on job_env is not allowed."),
])
def test_secrets_never_filtered(w, plural, key, message):
    # the attack: guess a secret one character at a time through a filter
    assert refused(w["d"], plural, [(key, "s3cret")], status=403) == message


def test_route_filters_cannot_be_widened(w):
    d = w["d"]
    # the inventory's hosts list keeps its own inventory whatever the query says
    r = d.get("/api/v2/inventories/%d/hosts/?%s" % (w["ia"]["id"], urlencode(
        [("or__inventory", w["ib"]["id"]), ("or__name", "edge"), ("inventory", w["ib"]["id"])])))
    assert r["count"] == 0
    r = d.get("/api/v2/inventories/%d/hosts/?or__name=edge&or__name=web1" % w["ia"]["id"])
    assert [x["name"] for x in r["results"]] == ["web1"]
