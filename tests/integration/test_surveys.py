"""Surveys, launch prompts and labels, as AWX 21.14.0 has them.

A real runneld (127.0.0.1, free port, temp state dir, stopped by pid) with
the test project; a template running survey.yml, which prints the text
answers and checks the password answer by its sha1 (never printing it).

Environment: RUNNELD (default <repo>/build/service/runneld).
"""

import hashlib
import json
import os
from pathlib import Path

import pytest

from runneld_harness import AWX_COLLECTION, RUNNELD, own_world, run_collection_playbook

pytestmark = pytest.mark.skipif(not os.path.exists(RUNNELD), reason="runneld is not built: " + RUNNELD)

PW = "Survey-PLANTED-pw-5c2e9"
PW_DEFAULT = "Survey-DEFAULT-pw-81aa"


@pytest.fixture(scope="module")
def world():
    with own_world("runneld-surveys-") as w:
        yield w


def spec(*questions, name="S", description="d"):
    return {"name": name, "description": description, "spec": list(questions)}


def q(variable, type="text", required=False, **kw):
    return dict(question_name="Q " + variable, variable=variable, type=type, required=required, **kw)


def new_template(w, name, **fields):
    base = dict(name=name, project=w["project"]["id"], inventory=w["inv"]["id"], playbook="survey.yml",
                limit="localhost")
    base.update(fields)
    return w["d"].create("job_templates", **base)


def set_spec(d, jt, body, expect=200):
    r = d.req("POST", "/api/v2/job_templates/%d/survey_spec/" % jt["id"], json=body)
    assert r.status_code == expect, r.text
    return r.json()


def launch(d, jt, expect=201, **body):
    r = d.req("POST", "/api/v2/job_templates/%d/launch/" % jt["id"], json=body)
    assert r.status_code == expect, r.text
    return r.json()


# ---- the spec ----------------------------------------------------------

SPEC_ERRORS = [
    ({"description": "d", "spec": [q("a")]}, "Field 'name' is missing from survey spec."),
    ({"name": "n", "description": "d", "spec": "x"},
     "Expected list of items for field 'spec', received str type."),
    ({"name": "n", "description": "d", "spec": []}, "'spec' doesn't contain any items."),
    (spec("nope"), "Survey question 0 is not a json object."),
    (spec({"type": "text", "question_name": "x", "required": False}),
     "'variable' missing from survey question 0"),
    (spec(q("a", required="yes")), "'required' in survey question 0 expected to be boolean."),
    (spec(q("a"), q("a")), "'variable' 'a' duplicated in survey question 1."),
    (spec(q("a", type="date")),
     "'date' in survey question 0 is not one of 'text, textarea, password, multiplechoice, "
     "multiselect, integer, float' allowed question types."),
    (spec(q("a", type="integer", default="x")),
     "Default value x in survey question 0 expected to be integer."),
    (spec(q("a", type="text", default=5)), "Default value 5 in survey question 0 expected to be string."),
    (spec(q("a", min="1")), "The min limit in survey question 0 expected to be integer."),
    (spec(q("a", type="multiplechoice")), "Survey question 0 of type multiplechoice must specify choices."),
    (spec(q("a", type="multiplechoice", choices="x\ny", default="x\ny")),
     "Multiple Choice (Single Select) can only have one default value."),
    (spec(q("a", type="multiselect", choices=["x", "y"], default="x\nz")),
     "Default choice must be answered from the choices listed."),
    (spec(q("a", type="text", default="$encrypted$")),
     "$encrypted$ is a reserved keyword for password question defaults, survey question 0 is type text."),
    (spec(q("a", type="password", default="$encrypted$")),
     "$encrypted$ is a reserved keyword, may not be used for new default in position 0."),
]


@pytest.mark.parametrize("body,message", SPEC_ERRORS)
def test_spec_rejected_with_awx_message(world, body, message):
    d = world["d"]
    if "spec_jt" not in world:
        world["spec_jt"] = new_template(world, "spec-errors")
    jt = world["spec_jt"]
    r = d.req("POST", "/api/v2/job_templates/%d/survey_spec/" % jt["id"], json=body)
    assert r.status_code == 400, r.text
    assert r.json() == {"error": message}
    # nothing stored
    assert d.get("/api/v2/job_templates/%d/survey_spec/" % jt["id"]) == {}


def test_spec_roundtrip_choices_cleaned_and_delete(world):
    d = world["d"]
    jt = new_template(world, "spec-roundtrip")
    assert jt["survey_enabled"] is False and "survey_spec" not in jt
    assert jt["related"]["survey_spec"] == "/api/v2/job_templates/%d/survey_spec/" % jt["id"]
    body = spec(q("pick", type="multiplechoice", choices="a\n\n b\nc\n", default="c"),
                q("many", type="multiselect", choices=["x", "y"], default="x\n\ny"))
    assert set_spec(d, jt, body) == {}
    got = d.get("/api/v2/job_templates/%d/survey_spec/" % jt["id"])
    assert got["spec"][0]["choices"] == "a\n b\nc"
    assert got["spec"][1]["default"] == "x\ny"
    r = d.req("DELETE", "/api/v2/job_templates/%d/survey_spec/" % jt["id"])
    assert r.status_code == 200
    assert d.get("/api/v2/job_templates/%d/survey_spec/" % jt["id"]) == {}
    # the spec is not a template field a client may write
    r = d.req("PATCH", "/api/v2/job_templates/%d/" % jt["id"], json={"survey_spec": body})
    assert d.get("/api/v2/job_templates/%d/survey_spec/" % jt["id"]) == {}


def test_password_default_sealed_shown_encrypted_and_kept(world):
    d = world["d"]
    jt = new_template(world, "spec-password")
    set_spec(d, jt, spec(q("pw", type="password", default=PW_DEFAULT)))
    shown = d.get("/api/v2/job_templates/%d/survey_spec/" % jt["id"])
    assert shown["spec"][0]["default"] == "$encrypted$"
    # sealed at rest: the state db never holds it in clear
    db = Path(d.state_dir) / "runneld.db"
    if db.exists():
        raw = db.read_bytes()
        for wal in db.parent.glob("runneld.db-wal"):
            raw += wal.read_bytes()
        assert PW_DEFAULT.encode() not in raw
    # "$encrypted$" as the default keeps the stored one
    set_spec(d, jt, spec(q("pw", type="password", default="$encrypted$"), name="renamed"))
    shown = d.get("/api/v2/job_templates/%d/survey_spec/" % jt["id"])
    assert shown["name"] == "renamed" and shown["spec"][0]["default"] == "$encrypted$"
    for path in ("/api/v2/job_templates/%d/" % jt["id"], "/api/v2/job_templates/",
                 "/api/v2/job_templates/%d/launch/" % jt["id"]):
        assert PW_DEFAULT not in d.req("GET", path).text
    assert PW_DEFAULT not in d.log()


# ---- launch ------------------------------------------------------------

def test_launch_info_reports_survey(world):
    d = world["d"]
    jt = new_template(world, "launch-info", ask_tags_on_launch=True)
    set_spec(d, jt, spec(q("answer", required=True), q("n", type="integer")))
    info = d.get("/api/v2/job_templates/%d/launch/" % jt["id"])
    assert info["survey_enabled"] is False  # not enabled yet
    assert info["variables_needed_to_start"] == []
    d.req("PATCH", "/api/v2/job_templates/%d/" % jt["id"], json={"survey_enabled": True})
    info = d.get("/api/v2/job_templates/%d/launch/" % jt["id"])
    assert info["survey_enabled"] is True
    assert info["variables_needed_to_start"] == ["answer"]
    assert info["can_start_without_user_input"] is False
    assert info["ask_tags_on_launch"] is True and info["ask_labels_on_launch"] is False
    for k in ("job_tags", "skip_tags", "limit", "extra_vars", "inventory", "credentials", "verbosity",
              "diff_mode", "job_type", "forks", "timeout", "scm_branch"):
        assert k in info["defaults"], k


LAUNCH_ERRORS = [
    ({}, ["'answer' value missing"]),
    ({"answer": 5}, ["Value 5 for 'answer' expected to be a string."]),
    ({"answer": "a"}, ["'answer' value a is too small (length is 1 must be at least 2)."]),
    ({"answer": "abcdefg"}, ["'answer' value abcdefg is too large (must be no more than 5)."]),
    ({"answer": "ok", "n": "3"}, ["Value 3 for 'n' expected to be an integer."]),
    ({"answer": "ok", "n": 3.5}, ["Value 3.5 for 'n' expected to be an integer."]),
    ({"answer": "ok", "n": 0}, ["'n' value 0 is too small (must be at least 1)."]),
    ({"answer": "ok", "n": 11}, ["'n' value 11 is too large (must be no more than 10)."]),
    ({"answer": "ok", "f": "x"}, ["Value x for 'f' expected to be a numeric type."]),
    ({"answer": "ok", "f": 9.5}, ["'f' value 9.5 is too large (must be no more than 2)."]),
    ({"answer": "ok", "pick": "z"}, ["Value z for 'pick' expected to be one of ['a', 'b']."]),
    ({"answer": "ok", "many": "x"}, ["'many' value is expected to be a list."]),
    ({"answer": "ok", "many": ["x", "q"]}, ["Value q for 'many' expected to be one of ['x', 'y']."]),
    ({"n": 0}, ["'answer' value missing", "'n' value 0 is too small (must be at least 1)."]),
]


@pytest.fixture(scope="module")
def typed_jt(world):
    d = world["d"]
    jt = new_template(world, "typed", survey_enabled=True)
    set_spec(d, jt, spec(q("answer", required=True, min=2, max=5), q("n", type="integer", min=1, max=10),
                         q("f", type="float", max=2), q("pick", type="multiplechoice", choices="a\nb"),
                         q("many", type="multiselect", choices=["x", "y"]),
                         q("notes", type="textarea")))
    return jt


@pytest.mark.parametrize("answers,errors", LAUNCH_ERRORS)
def test_launch_answers_validated(world, typed_jt, answers, errors):
    d = world["d"]
    before = d.get("/api/v2/job_templates/%d/jobs/" % typed_jt["id"])["count"]
    body = launch(d, typed_jt, expect=400, extra_vars=answers)
    assert body == {"variables_needed_to_start": errors}
    assert d.get("/api/v2/job_templates/%d/jobs/" % typed_jt["id"])["count"] == before


def test_launch_survey_answers_reach_playbook(world, typed_jt):
    d = world["d"]
    # answers are taken although ask_variables_on_launch is off; other vars are ignored
    body = launch(d, typed_jt, extra_vars={"answer": "hey", "n": 7, "pick": "b", "many": ["y"],
                                           "other": 1})
    assert body["ignored_fields"] == {"extra_vars": {"other": 1}}
    job = d.wait_job("/api/v2/jobs/%d/" % body["id"])
    ev = json.loads(job["extra_vars"])
    assert ev["answer"] == "hey" and ev["n"] == 7 and ev["many"] == ["y"] and "other" not in ev
    out = d.req("GET", "/api/v2/jobs/%d/stdout/?format=txt" % body["id"]).text
    assert "answer=hey n=7 pick=b" in out


def test_password_answer_never_shown(world):
    d = world["d"]
    sha = hashlib.sha1(PW.encode()).hexdigest()
    jt = new_template(world, "pw", survey_enabled=True, extra_vars=json.dumps({"expected_pw_sha1": sha}))
    set_spec(d, jt, spec(q("pw", type="password", required=True, min=4)))
    body = launch(d, jt, extra_vars={"pw": PW})
    job = d.wait_job("/api/v2/jobs/%d/" % body["id"])
    # the playbook's assert on its sha1 passed: the worker had it
    assert job["status"] == "successful", d.req("GET", "/api/v2/jobs/%d/stdout/?format=txt" % body["id"]).text
    assert json.loads(job["extra_vars"])["pw"] == "$encrypted$"
    assert "survey_passwords" not in job
    sealed = json.loads(d.req("GET", "/api/v2/jobs/%d/" % body["id"]).text)
    assert "survey_passwords" not in sealed
    texts = [json.dumps(body), json.dumps(job), d.req("GET", "/api/v2/jobs/").text,
             d.req("GET", "/api/v2/job_templates/%d/jobs/" % jt["id"]).text,
             d.req("GET", "/api/v2/unified_jobs/").text,
             d.req("GET", "/api/v2/jobs/%d/job_events/?page_size=200" % body["id"]).text,
             d.req("GET", "/api/v2/jobs/%d/stdout/?format=txt" % body["id"]).text, d.log(),
             # the launch's activity stream entry (AWX: display_extra_vars)
             d.req("GET", "/api/v2/jobs/%d/activity_stream/" % body["id"]).text,
             d.req("GET", "/api/v2/activity_stream/?page_size=200").text]
    launched = d.get("/api/v2/jobs/%d/activity_stream/" % body["id"])["results"]
    assert len(launched) == 1 and json.loads(launched[0]["changes"]["extra_vars"])["pw"] == "$encrypted$"
    for t in texts:
        # neither the answer nor its sealed form is shown
        assert PW not in t and "survey_passwords" not in t
    assert PW not in json.dumps(job["job_env"]) and PW not in job["job_args"]
    # relaunch keeps the answer (sealed) and runs with it again
    r = d.req("POST", "/api/v2/jobs/%d/relaunch/" % body["id"], json={})
    assert r.status_code == 201, r.text
    assert PW not in r.text
    j2 = d.wait_job("/api/v2/jobs/%d/" % r.json()["id"])
    assert j2["status"] == "successful"


def test_password_default_used_for_encrypted_answer(world):
    d = world["d"]
    sha = hashlib.sha1(PW_DEFAULT.encode()).hexdigest()
    jt = new_template(world, "pw-default", survey_enabled=True,
                      extra_vars=json.dumps({"expected_pw_sha1": sha}))
    set_spec(d, jt, spec(q("pw", type="password", required=True, default=PW_DEFAULT)))
    info = d.get("/api/v2/job_templates/%d/launch/" % jt["id"])
    assert PW_DEFAULT not in json.dumps(info)
    body = launch(d, jt, extra_vars={"pw": "$encrypted$"})
    job = d.wait_job("/api/v2/jobs/%d/" % body["id"])
    assert job["status"] == "successful"
    assert json.loads(job["extra_vars"])["pw"] == "$encrypted$"
    # as AWX: a required question is answered even when it has a default
    assert launch(d, jt, expect=400) == {"variables_needed_to_start": ["'pw' value missing"]}
    # a wrong password fails the playbook's check: the answer, not the default, is used
    body = launch(d, jt, extra_vars={"pw": "another-one"})
    assert d.wait_job("/api/v2/jobs/%d/" % body["id"])["status"] == "failed"


def test_required_password_without_default_is_missing(world):
    d = world["d"]
    jt = new_template(world, "pw-missing", survey_enabled=True)
    set_spec(d, jt, spec(q("pw", type="password", required=True)))
    assert launch(d, jt, expect=400, extra_vars={"pw": "$encrypted$"}) == {
        "variables_needed_to_start": ["'pw' value missing"]}


def test_survey_defaults_fill_unanswered(world):
    d = world["d"]
    jt = new_template(world, "defaults", survey_enabled=True, extra_vars='{"answer": "tmpl", "n": 1}')
    set_spec(d, jt, spec(q("answer", default="dflt"), q("n", type="integer", default=99, max=10)))
    body = launch(d, jt)
    job = d.wait_job("/api/v2/jobs/%d/" % body["id"])
    ev = json.loads(job["extra_vars"])
    # a valid default wins over the template's vars; an invalid one (99 > max) is left out
    assert ev == {"answer": "dflt", "n": 1}


# ---- prompts -------------------------------------------------------------

def test_prompts_ignored_unless_asked(world):
    d = world["d"]
    inv2 = d.create("inventories", name="Inv2", organization=world["org"]["id"])
    jt = new_template(world, "prompts-off", playbook="ok.yml")
    asks = dict(limit="nohost", job_tags="t", skip_tags="s", job_type="check", verbosity=3, diff_mode=True,
                forks=3, timeout=77, inventory=inv2["id"], scm_branch="dev", extra_vars={"x": 1})
    body = launch(d, jt, **asks)
    assert body["ignored_fields"] == asks
    job = d.wait_job("/api/v2/jobs/%d/" % body["id"])
    assert job["limit"] == "localhost" and job["job_type"] == "run" and job["verbosity"] == 0
    assert job["inventory"] == world["inv"]["id"] and job["forks"] == 0 and job["timeout"] == 0
    # a value equal to the template's is no prompt: neither taken nor ignored
    body = launch(d, jt, limit="localhost", verbosity=0, job_type="run")
    assert body["ignored_fields"] == {}


def test_prompts_applied_when_asked_and_kept_on_relaunch(world):
    d = world["d"]
    inv2 = d.create("inventories", name="Inv3", organization=world["org"]["id"])
    d.post("/api/v2/inventories/%d/hosts/" % inv2["id"],
           {"name": "localhost", "variables": json.dumps({"ansible_connection": "local",
                                                          "ansible_python_interpreter": "/usr/bin/python3"})},
           expect=(201,))
    flags = {f: True for f in ("ask_limit_on_launch", "ask_tags_on_launch", "ask_skip_tags_on_launch",
                               "ask_job_type_on_launch", "ask_verbosity_on_launch", "ask_diff_mode_on_launch",
                               "ask_forks_on_launch", "ask_timeout_on_launch", "ask_inventory_on_launch",
                               "ask_variables_on_launch")}
    jt = new_template(world, "prompts-on", playbook="ok.yml", **flags)
    asks = dict(limit="localhost,nohost", job_tags="t1", skip_tags="s1", job_type="check", verbosity=2,
                diff_mode=True, forks=4, timeout=300, inventory=inv2["id"], extra_vars={"greeting": "hi"})
    body = launch(d, jt, **asks)
    assert body["ignored_fields"] == {}
    job = d.wait_job("/api/v2/jobs/%d/" % body["id"])
    for k in ("limit", "job_tags", "skip_tags", "job_type", "verbosity", "diff_mode", "forks", "timeout",
              "inventory"):
        assert job[k] == asks[k], k
    assert json.loads(job["extra_vars"]) == {"greeting": "hi"}
    r = d.req("POST", "/api/v2/jobs/%d/relaunch/" % body["id"], json={})
    assert r.status_code == 201, r.text
    j2 = d.get("/api/v2/jobs/%d/" % r.json()["id"])
    for k in ("limit", "job_tags", "skip_tags", "job_type", "verbosity", "diff_mode", "forks", "timeout",
              "inventory", "extra_vars"):
        assert j2[k] == job[k], k


def test_credentials_beyond_template_ignored(world):
    d = world["d"]
    jt = new_template(world, "creds-off", playbook="ok.yml")
    ct = d.get("/api/v2/credential_types/?kind=ssh")["results"][0]["id"]
    cred = d.create("credentials", name="m-creds-off", credential_type=ct, organization=world["org"]["id"],
                    inputs={"username": "u"})
    body = launch(d, jt, credentials=[cred["id"]])
    assert body["ignored_fields"] == {"credentials": [cred["id"]]}
    assert d.get("/api/v2/jobs/%d/credentials/" % body["id"])["count"] == 0


# ---- labels --------------------------------------------------------------

def test_labels_crud_as_awx(world):
    d = world["d"]
    org = world["org"]["id"]
    lab = d.create("labels", name="blue", organization=org)
    assert lab["type"] == "label" and lab["url"] == "/api/v2/labels/%d/" % lab["id"]
    assert lab["summary_fields"]["organization"]["id"] == org
    r = d.req("POST", "/api/v2/labels/", json={"name": "blue", "organization": org})
    assert r.status_code == 400 and "already exists" in r.text, r.text
    r = d.req("POST", "/api/v2/labels/", json={"name": "noorg"})
    assert r.status_code == 400 and r.json() == {"organization": ["This field is required."]}
    r = d.req("PATCH", "/api/v2/labels/%d/" % lab["id"], json={"name": "navy"})
    assert r.status_code == 200 and r.json()["name"] == "navy"
    assert [x["name"] for x in d.get("/api/v2/labels/?name=navy")["results"]] == ["navy"]
    # AWX's LabelDetail has no DELETE
    assert d.req("DELETE", "/api/v2/labels/%d/" % lab["id"]).status_code == 405
    assert d.get("/api/v2/labels/%d/" % lab["id"])["name"] == "navy"


def test_template_labels_attach_launch_relaunch_detach(world):
    d = world["d"]
    org = world["org"]["id"]
    jt = new_template(world, "labelled", playbook="ok.yml")
    path = "/api/v2/job_templates/%d/labels/" % jt["id"]
    r = d.req("POST", path, json={"name": "prod", "organization": org})
    assert r.status_code == 201, r.text
    prod = r.json()
    # the same name and organization again attaches the existing label
    other = new_template(world, "labelled-2", playbook="ok.yml")
    r = d.req("POST", "/api/v2/job_templates/%d/labels/" % other["id"], json={"name": "prod", "organization": org})
    assert r.status_code == 204, r.text
    assert d.get("/api/v2/labels/?name=prod")["count"] == 1
    got = d.get("/api/v2/job_templates/%d/" % jt["id"])
    assert got["summary_fields"]["labels"] == {"count": 1, "results": [{"id": prod["id"], "name": "prod"}]}
    assert d.get(path)["results"][0]["id"] == prod["id"]
    info = d.get("/api/v2/job_templates/%d/launch/" % jt["id"])
    assert info["defaults"]["labels"] == [{"id": prod["id"], "name": "prod"}]
    # not asked: the job takes the template's labels, prompted ones are ignored
    extra = d.create("labels", name="extra", organization=org)
    body = launch(d, jt, labels=[extra["id"]])
    assert body["ignored_fields"] == {"labels": [extra["id"]]}
    assert [x["id"] for x in d.get("/api/v2/jobs/%d/labels/" % body["id"])["results"]] == [prod["id"]]
    # asked: the prompted labels replace them, and a relaunch keeps them
    d.req("PATCH", "/api/v2/job_templates/%d/" % jt["id"], json={"ask_labels_on_launch": True})
    assert launch(d, jt, expect=400, labels=[999999]) == {
        "labels": ['Invalid pk "999999" - object does not exist.']}
    body = launch(d, jt, labels=[extra["id"]])
    assert body["ignored_fields"] == {}
    job = d.get("/api/v2/jobs/%d/" % body["id"])
    assert job["summary_fields"]["labels"]["results"] == [{"id": extra["id"], "name": "extra"}]
    d.wait_job("/api/v2/jobs/%d/" % body["id"])
    r = d.req("POST", "/api/v2/jobs/%d/relaunch/" % body["id"], json={})
    assert r.status_code == 201, r.text
    assert [x["id"] for x in d.get("/api/v2/jobs/%d/labels/" % r.json()["id"])["results"]] == [extra["id"]]
    assert d.req("POST", "/api/v2/jobs/%d/labels/" % body["id"], json={"id": prod["id"]}).status_code == 405
    # detaching: a label still used elsewhere stays, the last detach deletes it
    lone = d.create("labels", name="lone", organization=org)
    assert d.req("POST", path, json={"id": lone["id"]}).status_code == 204
    assert d.req("POST", path, json={"id": prod["id"], "disassociate": True}).status_code == 204
    assert d.req("GET", "/api/v2/labels/%d/" % prod["id"]).status_code == 200
    assert d.req("POST", path, json={"id": lone["id"], "disassociate": True}).status_code == 204
    assert d.req("GET", "/api/v2/labels/%d/" % lone["id"]).status_code == 404


def test_labels_on_list_pages_as_on_each_object(world):
    """A page's labels (asked for all its rows at once) are each row's own,
    as the row's GET and its labels/ list show them: by id, whatever the
    order they were made or attached in; none is {"count": 0, "results": []}."""
    d = world["d"]
    org = world["org"]["id"]
    labs = [d.create("labels", name=n, organization=org) for n in ("zeta", "alpha", "mid")]
    jts = [new_template(world, "list-labels-%d" % i, playbook="ok.yml") for i in range(3)]
    for jt, attach in ((jts[0], [labs[2], labs[0]]), (jts[1], [labs[1]]), (jts[2], [])):
        for lab in attach:
            r = d.req("POST", "/api/v2/job_templates/%d/labels/" % jt["id"], json={"id": lab["id"]})
            assert r.status_code == 204, r.text
    jobs = [launch(d, jt) for jt in (jts[0], jts[1], jts[2], jts[0])]
    for j in jobs:
        d.wait_job("/api/v2/jobs/%d/" % j["id"])

    def summary(labels):
        res = sorted(({"id": x["id"], "name": x["name"]} for x in labels), key=lambda x: x["id"])
        return {"count": len(res), "results": res}

    want_jt = {jts[0]["id"]: summary([labs[2], labs[0]]), jts[1]["id"]: summary([labs[1]]),
               jts[2]["id"]: summary([])}
    page = d.get("/api/v2/jobs/?id__in=%s&order_by=-id" % ",".join(str(j["id"]) for j in jobs))
    assert [j["id"] for j in page["results"]] == sorted((j["id"] for j in jobs), reverse=True)
    for j in page["results"]:
        assert j["summary_fields"]["labels"] == want_jt[j["job_template"]], j["id"]
        assert j["related"]["labels"] == "/api/v2/jobs/%d/labels/" % j["id"]
        one = d.get("/api/v2/jobs/%d/" % j["id"])
        assert one["summary_fields"]["labels"] == j["summary_fields"]["labels"]
        listed = d.get("/api/v2/jobs/%d/labels/" % j["id"])["results"]
        assert summary(listed) == j["summary_fields"]["labels"]
    # a template's jobs, and the templates themselves
    page = d.get("/api/v2/job_templates/%d/jobs/?order_by=id" % jts[0]["id"])
    assert [j["summary_fields"]["labels"] for j in page["results"]] == [want_jt[jts[0]["id"]]] * 2
    page = d.get("/api/v2/job_templates/?id__in=%s" % ",".join(str(t["id"]) for t in jts))
    assert {t["id"]: t["summary_fields"]["labels"] for t in page["results"]} == want_jt
    for t in page["results"]:
        assert d.get("/api/v2/job_templates/%d/" % t["id"])["summary_fields"] == t["summary_fields"]


# ---- the awx.awx collection ---------------------------------------------

def test_awx_collection_survey_and_label(world):
    if not AWX_COLLECTION.exists():
        pytest.skip("the awx.awx collection is missing (apt-get install ansible)")
    d = world["d"]
    tmp = Path(world["tmp"])
    pb = tmp / "surveys_collection.yml"
    pb.write_text((Path(__file__).resolve().parent / "service" / "surveys_collection.yml").read_text())
    repo = Path(d.state_dir).parent / "repo"
    out = run_collection_playbook(d, pb, ["scm_url=file://%s" % repo])
    assert out.returncode == 0, out.stdout + out.stderr
    jt = d.get("/api/v2/job_templates/?name=coll-survey-jt")["results"][0]
    assert jt["survey_enabled"] is True
    assert [x["name"] for x in jt["summary_fields"]["labels"]["results"]] == ["coll-label"]
    spec = d.get("/api/v2/job_templates/%d/survey_spec/" % jt["id"])
    assert [x["variable"] for x in spec["spec"]] == ["answer", "n", "pick"]
    job = d.get("/api/v2/jobs/?job_template=%d&order_by=-id" % jt["id"])["results"][0]
    assert job["status"] == "successful"
    assert [x["name"] for x in job["summary_fields"]["labels"]["results"]] == ["coll-label"]
    stdout = d.req("GET", "/api/v2/jobs/%d/stdout/?format=txt" % job["id"]).text
    assert "answer=from-collection n=3 pick=b" in stdout
