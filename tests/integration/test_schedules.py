"""Schedules: AWX's rrule dialect (checked as AWX checks it, expanded by
libical), preview and zoneinfo, the scheduler in runneld (a due run
launches one job; a restart across a due time neither duplicates nor
replays missed runs in a burst), unified_job_templates/, and AWX's own
clients (the awx CLI's `schedules create`, the awx.awx `schedule` module).

Environment: RUNNELD (default <repo>/build/service/runneld), AWX_CLI.
"""

import datetime
import json
import os
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

from runneld_harness import (AWX_COLLECTION, PASSWORD, REPO_ROOT, RUNNELD, Runneld, make_git_project,
                             setup_world, wait_for, run_collection_playbook, own_world)

pytestmark = pytest.mark.skipif(not os.path.exists(RUNNELD), reason="runneld is not built: " + RUNNELD)

AWX = os.environ.get("AWX_CLI", str(REPO_ROOT.parent / "shared" / "clients" / "awx"))
if not os.path.exists(AWX):
    AWX = "/work/shared/clients/awx"


@pytest.fixture(scope="module")
def world():
    with own_world("runneld-sched-") as w:
        yield w


_seq = [0]


def uniq(prefix):
    _seq[0] += 1
    return "%s-%d-%d" % (prefix, os.getpid(), _seq[0])


def utc_stamp(seconds_from_now):
    t = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=seconds_from_now)
    return t.strftime("%Y%m%dT%H%M%SZ")


def preview(d, rrule):
    return d.req("POST", "/api/v2/schedules/preview/", json={"rrule": rrule})


def jobs_of(d, sid):
    return d.get("/api/v2/unified_jobs/?schedule=%d&page_size=200" % sid)["results"]


# --------------------------------------------------------------------------
# the rrule dialect

def test_preview_dst_and_timezones(world):
    d = world["d"]
    # New York leaves EST for EDT on Sunday 2030-03-10: 09:00 local stays 09:00,
    # its UTC time moves from 14:00 to 13:00
    r = preview(d, "DTSTART;TZID=America/New_York:20300301T090000 RRULE:FREQ=DAILY;INTERVAL=1;COUNT=20")
    assert r.status_code == 200, r.text
    p = r.json()
    assert len(p["local"]) == 10 and len(p["utc"]) == 10
    assert p["local"][0] == "2030-03-01T09:00:00-05:00"
    assert p["local"][9] == "2030-03-10T09:00:00-04:00"
    assert all(x.endswith("T09:00:00-05:00") for x in p["local"][:9])
    assert p["utc"][:2] == ["2030-03-01T14:00:00Z", "2030-03-02T14:00:00Z"]
    assert p["utc"][8:] == ["2030-03-09T14:00:00Z", "2030-03-10T13:00:00Z"]
    # 02:30 does not exist on 2030-03-10 in New York: skipped, as AWX skips it
    p = preview(d, "DTSTART;TZID=America/New_York:20300309T023000 RRULE:FREQ=DAILY;INTERVAL=1;COUNT=3").json()
    assert p["local"] == ["2030-03-09T02:30:00-05:00", "2030-03-11T02:30:00-04:00"]
    # a zone south of the equator (Sydney leaves daylight time on 2030-04-07)
    p = preview(d, "DTSTART;TZID=Australia/Sydney:20300405T120000 RRULE:FREQ=DAILY;INTERVAL=1;COUNT=4").json()
    assert p["utc"] == ["2030-04-05T01:00:00Z", "2030-04-06T01:00:00Z", "2030-04-07T02:00:00Z",
                        "2030-04-08T02:00:00Z"]
    # EXRULE takes occurrences out; weekly BYDAY; only runs after now are shown
    p = preview(d, "DTSTART:20300101T000000Z RRULE:FREQ=DAILY;INTERVAL=1;COUNT=10 "
                   "EXRULE:FREQ=DAILY;INTERVAL=2;COUNT=5").json()
    assert p["utc"] == ["2030-01-%02dT00:00:00Z" % n for n in (2, 4, 6, 8, 10)]
    assert p["local"][0] == "2030-01-02T00:00:00+00:00"
    p = preview(d, "DTSTART;TZID=Europe/Paris:20300107T080000 RRULE:FREQ=WEEKLY;INTERVAL=1;BYDAY=MO,FR;COUNT=4").json()
    assert p["local"] == ["2030-01-07T08:00:00+01:00", "2030-01-11T08:00:00+01:00",
                          "2030-01-14T08:00:00+01:00", "2030-01-18T08:00:00+01:00"]
    assert preview(d, "DTSTART:20000101T000000Z RRULE:FREQ=DAILY;INTERVAL=1;COUNT=5").json() == \
        {"local": [], "utc": []}


def test_bad_rrules_rejected_with_awx_messages(world):
    d = world["d"]
    tz_msg = "rrule parsing failed validation: A valid TZID must be provided (e.g., America/New_York)"
    cases = [
        ("RRULE:FREQ=DAILY;INTERVAL=1",
         ["Valid DTSTART required in rrule. Value should start with: DTSTART:YYYYMMDDTHHMMSSZ", tz_msg]),
        ("DTSTART:20300101T000000 RRULE:FREQ=DAILY;INTERVAL=1",
         ["DTSTART cannot be a naive datetime.  Specify ;TZINFO= or YYYYMMDDTHHMMSSZZ.", tz_msg]),
        ("DTSTART:20300101T000000Z RRULE:FREQ=DAILY;INTERVAL=1;COUNT=1000",
         ["COUNT > 999 is unsupported: RULE:FREQ=DAILY;INTERVAL=1;COUNT=1000"]),
        ("DTSTART:20300101T000000Z RRULE:FREQ=SECONDLY;INTERVAL=1",
         ["SECONDLY is not supported: RULE:FREQ=SECONDLY;INTERVAL=1"]),
        ("DTSTART:20300101T000000Z RRULE:FREQ=DAILY",
         ["INTERVAL required in rrule: RULE:FREQ=DAILY"]),
        ("DTSTART:20300101T000000Z RRULE:FREQ=MONTHLY;INTERVAL=1;BYDAY=2MO",
         ["BYDAY with numeric prefix not supported: RULE:FREQ=MONTHLY;INTERVAL=1;BYDAY=2MO"]),
        ("DTSTART:20300101T000000Z RRULE:FREQ=DAILY;INTERVAL=1;COUNT=2;UNTIL=20300201T000000Z",
         ["RRULE may not contain both COUNT and UNTIL: RULE:FREQ=DAILY;INTERVAL=1;COUNT=2;UNTIL=20300201T000000Z"]),
        ("DTSTART:20300101T000000Z DTSTART:20300102T000000Z RRULE:FREQ=DAILY;INTERVAL=1",
         ["Multiple DTSTART is not supported."]),
        ("DTSTART:20300101T000000Z", ["One or more rule required in rrule."]),
        ("DTSTART:20300101T000000Z RRULE:FREQ=DAILY;INTERVAL=1 EXDATE:20300102T000000Z",
         ["EXDATE not allowed in rrule."]),
        ("DTSTART:20300101T000000Z RRULE:FREQ=DAILY;INTERVAL=1 RDATE:20300102T000000Z",
         ["RDATE not allowed in rrule."]),
        ("DTSTART;TZID=Mars/Olympus_Mons:20300101T000000 RRULE:FREQ=DAILY;INTERVAL=1", [tz_msg]),
    ]
    for rrule, want in cases:
        r = preview(d, rrule)
        assert r.status_code == 400 and r.json() == {"rrule": want}, (rrule, r.text)
        # the same check guards the schedule itself, and nothing is stored
        r = d.req("POST", "/api/v2/schedules/", json={"name": uniq("bad"), "rrule": rrule,
                                                       "unified_job_template": world["jt"]["id"]})
        assert r.status_code == 400 and r.json() == {"rrule": want}, (rrule, r.text)
    r = preview(d, "DTSTART:20300101T000000Z RRULE:FREQ=FORTNIGHTLY;INTERVAL=1")
    assert r.status_code == 400 and r.json()["rrule"][0].startswith("rrule parsing failed validation: ")
    assert d.get("/api/v2/schedules/?name__startswith=bad-")["count"] == 0


def test_schedule_fields_and_crud(world):
    d = world["d"]
    jt = world["jt"]
    rrule = "DTSTART;TZID=America/New_York:20300101T090000 RRULE:FREQ=DAILY;INTERVAL=1;UNTIL=20300103T090000"
    s = d.create("schedules", name=uniq("s"), rrule=rrule, unified_job_template=jt["id"],
                 limit="localhost", extra_data={"greeting": "hi"})
    # the naive UNTIL is New York time, stored as UTC (AWX's coerce_naive_until)
    assert s["rrule"].endswith("UNTIL=20300103T140000Z")
    assert s["timezone"] == "America/New_York" and s["until"] == "2030-01-03T09:00:00"
    assert s["dtstart"] == "2030-01-01T14:00:00Z" and s["dtend"] == "2030-01-03T14:00:00Z"
    assert s["next_run"] == "2030-01-01T14:00:00Z" and s["enabled"] is True
    assert s["type"] == "schedule" and s["url"] == "/api/v2/schedules/%d/" % s["id"]
    assert s["related"]["unified_job_template"] == "/api/v2/job_templates/%d/" % jt["id"]
    assert s["related"]["unified_jobs"] == s["url"] + "unified_jobs/"
    sf = s["summary_fields"]["unified_job_template"]
    assert sf["id"] == jt["id"] and sf["name"] == "OK" and sf["unified_job_type"] == "job"
    assert s["summary_fields"]["inventory"]["id"] == world["inv"]["id"]
    # nested list and AWX's unique (template, name)
    nested = d.get("/api/v2/job_templates/%d/schedules/" % jt["id"])
    assert s["id"] in [x["id"] for x in nested["results"]]
    r = d.req("POST", "/api/v2/job_templates/%d/schedules/" % jt["id"], json={"name": s["name"], "rrule": rrule})
    assert r.status_code == 400 and r.json() == {
        "__all__": ["Schedule with this Unified job template and Name already exists."]}
    # disabling clears next_run; computed fields are read-only (ignored, as AWX)
    s2 = d.req("PATCH", s["url"], json={"enabled": False}).json()
    assert s2["enabled"] is False and s2["next_run"] is None
    r = d.req("PATCH", s["url"], json={"next_run": "2031-01-01T00:00:00Z", "enabled": True})
    assert r.status_code == 200 and r.json()["next_run"] == "2030-01-01T14:00:00Z", r.text
    # prompts the template does not ask for are refused as AWX refuses them
    r = d.req("POST", "/api/v2/schedules/", json={"name": uniq("s"), "rrule": rrule,
                                                   "unified_job_template": jt["id"], "job_tags": "x"})
    assert r.status_code == 400 and r.json() == {"job_tags": ["Field is not configured to prompt on launch."]}
    r = d.req("POST", "/api/v2/schedules/", json={"name": uniq("s"), "rrule": rrule,
                                                   "unified_job_template": world["jt_sleep"]["id"],
                                                   "limit": "nothere"})
    assert r.status_code == 400 and r.json() == {"limit": ["Field is not configured to prompt on launch."]}
    r = d.req("POST", "/api/v2/schedules/", json={"name": uniq("s"), "rrule": rrule,
                                                   "unified_job_template": 999999})
    assert r.status_code == 400 and r.json() == {
        "unified_job_template": ['Invalid pk "999999" - object does not exist.']}
    r = d.req("POST", "/api/v2/schedules/", json={"name": uniq("s"), "rrule": rrule,
                                                   "unified_job_template": jt["id"], "bogus": 1})
    assert r.status_code == 400 and "bogus" in r.json()
    # delete
    assert d.req("DELETE", s["url"]).status_code == 204
    assert d.req("GET", s["url"]).status_code == 404


def test_long_rules_expand_quickly_and_exactly(world):
    d = world["d"]
    # a run every minute until 2100: dtend is the last one, found without walking 39M minutes
    start = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M00Z")  # on the minute
    rrule = "DTSTART:%s RRULE:FREQ=MINUTELY;INTERVAL=1;UNTIL=21000101T000000Z" % start
    s = d.req("POST", "/api/v2/schedules/", json={"name": uniq("long"), "rrule": rrule,
                                                   "unified_job_template": world["jt"]["id"], "enabled": False},
              timeout=20)
    assert s.status_code == 201, s.text
    assert s.json()["dtend"] == "2100-01-01T00:00:00Z"
    # every 3 weeks on Monday and Friday since 1990, New York time: the next runs keep the phase
    p = preview(d, "DTSTART;TZID=America/New_York:19900101T013000 RRULE:FREQ=WEEKLY;INTERVAL=3;BYDAY=MO,FR").json()
    assert len(p["local"]) == 10
    days = [datetime.date.fromisoformat(x[:10]) for x in p["local"]]
    assert all(x[10:19] == "T01:30:00" for x in p["local"])
    assert {x.weekday() for x in days} == {0, 4}
    mondays = [x for x in days if x.weekday() == 0]
    assert all((m - datetime.date(1990, 1, 1)).days % 21 == 0 for m in mondays), mondays


def test_zoneinfo(world):
    z = world["d"].get("/api/v2/schedules/zoneinfo/")
    assert "America/New_York" in z["zones"] and "UTC" in z["zones"]
    assert z["zones"] == sorted(z["zones"])
    assert z["links"].get("US/Eastern") == "America/New_York"
    # a link is a valid TZID too
    r = preview(world["d"], "DTSTART;TZID=US/Eastern:20300701T090000 RRULE:FREQ=DAILY;INTERVAL=1;COUNT=1")
    assert r.status_code == 200 and r.json()["utc"] == ["2030-07-01T13:00:00Z"], r.text


def test_unified_job_templates(world):
    d = world["d"]
    all_ = d.all_pages("/api/v2/unified_job_templates/")
    kinds = {(x["type"], x["id"]) for x in all_}
    assert ("job_template", world["jt"]["id"]) in kinds
    assert ("project", world["project"]["id"]) in kinds
    assert ("system_job_template", 1) in kinds
    # one id space: a template's id names it alone (a schedule's unified_job_template)
    ids = [x["id"] for x in all_]
    assert len(ids) == len(set(ids)), sorted(kinds)
    one = d.get("/api/v2/unified_job_templates/?name=OK")
    assert one["count"] == 1 and one["results"][0]["id"] == world["jt"]["id"]
    assert one["results"][0]["playbook"] == "ok.yml" and "next_job_run" in one["results"][0]
    p = d.get("/api/v2/unified_job_templates/?type=project")
    assert p["count"] >= 1 and {x["type"] for x in p["results"]} == {"project"}
    names = [x["name"] for x in d.get("/api/v2/unified_job_templates/?order_by=-name&page_size=200")["results"]]
    assert names == sorted(names, reverse=True)
    pg = d.get("/api/v2/unified_job_templates/?page_size=1&page=2")
    assert len(pg["results"]) == 1 and pg["previous"] and pg["count"] == len(all_)


# --------------------------------------------------------------------------
# the scheduler

def test_due_schedule_launches_exactly_one_job(world):
    d = world["d"]
    jt = world["jt"]
    rrule = "DTSTART:%s RRULE:FREQ=MINUTELY;INTERVAL=1;COUNT=1" % utc_stamp(4)
    s = d.create("schedules", name=uniq("due"), rrule=rrule, unified_job_template=jt["id"],
                 limit="localhost", extra_data={"from_schedule": "yes"})
    assert s["next_run"] is not None
    jobs = wait_for(lambda: jobs_of(d, s["id"]), timeout=120, what="the scheduled job")
    j = d.wait_job("/api/v2/jobs/%d/" % jobs[0]["id"])
    assert j["launch_type"] == "scheduled" and j["schedule"] == s["id"]
    assert j["summary_fields"]["schedule"]["name"] == s["name"]
    assert j["limit"] == "localhost" and json.loads(j["extra_vars"])["from_schedule"] == "yes"
    assert j["status"] == "successful", j["job_explanation"]
    time.sleep(3)  # several scheduler passes later: still one
    assert len(jobs_of(d, s["id"])) == 1
    s = d.get(s["url"])
    assert s["next_run"] is None  # COUNT=1: no more runs
    assert [x["id"] for x in d.get(s["url"] + "unified_jobs/")["results"]] == [j["id"]]


def test_project_schedule_runs_an_update(world):
    d = world["d"]
    rrule = "DTSTART:%s RRULE:FREQ=MINUTELY;INTERVAL=1;COUNT=1" % utc_stamp(4)
    s = d.post("/api/v2/projects/%d/schedules/" % world["project"]["id"], {"name": uniq("pu"), "rrule": rrule},
               expect=(201,))
    assert s["summary_fields"]["unified_job_template"]["unified_job_type"] == "project_update"
    jobs = wait_for(lambda: jobs_of(d, s["id"]), timeout=120, what="the scheduled project update")
    assert jobs[0]["type"] == "project_update" and jobs[0]["launch_type"] == "scheduled"
    d.wait_job("/api/v2/project_updates/%d/" % jobs[0]["id"])
    r = d.req("POST", "/api/v2/projects/%d/schedules/" % world["project"]["id"],
              json={"name": uniq("pu"), "rrule": rrule, "limit": "x"})
    assert r.status_code == 400 and r.json() == {"limit": ["Field is not allowed on launch."]}


def test_system_job_template_schedule(world):
    d = world["d"]
    base = "/api/v2/system_job_templates/1/schedules/"
    rrule = "DTSTART:20300101T000000Z RRULE:FREQ=MINUTELY;INTERVAL=1;COUNT=1"
    r = d.req("POST", base, json={"name": uniq("sys"), "rrule": rrule, "extra_data": {"days": 30, "color": "red"}})
    assert r.status_code == 400 and r.json() == {"extra_data": ["Variables color are not allowed for system jobs."]}
    r = d.req("POST", base, json={"name": uniq("sys"), "rrule": rrule, "extra_data": {"days": -1}})
    assert r.status_code == 400 and r.json() == {"extra_data": ["days must be a positive integer."]}
    rrule = "DTSTART:%s RRULE:FREQ=MINUTELY;INTERVAL=1;COUNT=1" % utc_stamp(4)
    s = d.post(base, {"name": uniq("sys"), "rrule": rrule, "extra_data": {"days": 3650}}, expect=(201,))
    assert s["summary_fields"]["unified_job_template"]["unified_job_type"] == "system_job"
    jobs = wait_for(lambda: jobs_of(d, s["id"]), timeout=120, what="the scheduled cleanup")
    j = d.wait_job("/api/v2/system_jobs/%d/" % jobs[0]["id"])
    assert j["launch_type"] == "scheduled" and json.loads(j["extra_vars"]) == {"days": 3650}
    assert [x["id"] for x in d.get(base)["results"]] == [s["id"]]


def test_template_delete_deletes_its_schedules(world):
    d = world["d"]
    jt = d.create("job_templates", name=uniq("gone"), project=world["project"]["id"],
                  inventory=world["inv"]["id"], playbook="ok.yml")
    s = d.post("/api/v2/job_templates/%d/schedules/" % jt["id"],
               {"name": "x", "rrule": "DTSTART:20300101T000000Z RRULE:FREQ=DAILY;INTERVAL=1"}, expect=(201,))
    assert d.req("DELETE", "/api/v2/job_templates/%d/" % jt["id"]).status_code == 204
    assert d.req("GET", s["url"]).status_code == 404
    # its id is never given to another template
    jt2 = d.create("projects", name=uniq("p"), organization=world["org"]["id"], scm_type="git",
                   scm_url="file://%s" % world["repo"])
    assert jt2["id"] > jt["id"]


@pytest.mark.skipif(os.environ.get("RUNNELD_STORE") == "pg", reason="edits the SQLite file directly")
def test_restart_across_due_time_no_duplicate_no_burst(tmp_path):
    repo, _ = make_git_project(tmp_path)
    d = Runneld(tmp_path / "state", extra=["--isolation-base-path", str(tmp_path)]).start()
    try:
        w = setup_world(d, repo)
        # every 10 minutes, from 5 minutes ago (the next run is minutes away, even on a slow machine)
        start = (datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=5))
        rrule = "DTSTART:%s RRULE:FREQ=MINUTELY;INTERVAL=10" % start.strftime("%Y%m%dT%H%M%SZ")
        s = d.create("schedules", name="every-10-minutes", rrule=rrule, unified_job_template=w["jt"]["id"])
        assert s["next_run"] > datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    finally:
        d.stop()
    # runneld was down while ten runs fell due (its next_run 100 minutes ago)
    missed = (datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=100)).strftime(
        "%Y-%m-%dT%H:%M:%SZ")
    db = sqlite3.connect(str(tmp_path / "state" / "runneld.db"))
    with db:
        db.execute("UPDATE schedules SET data=json_set(data,'$.next_run',?) WHERE id=?", (missed, s["id"]))
    db.close()
    d = Runneld(tmp_path / "state", extra=["--isolation-base-path", str(tmp_path)]).start()
    try:
        jobs = wait_for(lambda: jobs_of(d, s["id"]), timeout=120, what="the catch-up run")
        time.sleep(3)
        jobs = jobs_of(d, s["id"])
        assert len(jobs) == 1, jobs  # one catch-up, not ten
        now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        nr = d.get(s["url"])["next_run"]
        assert nr > now, (nr, now)  # the next run is in the future again
        d.wait_job("/api/v2/jobs/%d/" % jobs[0]["id"])
    finally:
        d.stop()
    # restarted again before the next run is due: the run already launched is not launched again
    d = Runneld(tmp_path / "state", extra=["--isolation-base-path", str(tmp_path)]).start()
    try:
        time.sleep(2.5)
        if d.get(s["url"])["next_run"] == nr:
            assert len(jobs_of(d, s["id"])) == 1
        assert "schedule %d: job %d launched" % (s["id"], jobs[0]["id"]) not in \
            d.log()[d.log_offset:]
    finally:
        d.stop()


# --------------------------------------------------------------------------
# AWX's clients

@pytest.mark.skipif(not os.path.exists(AWX), reason="the awx CLI is missing")
def test_awx_cli_schedules_create(world):
    d = world["d"]
    name = uniq("cli")
    rrule = "DTSTART;TZID=Europe/Berlin:20300601T060000 RRULE:FREQ=WEEKLY;INTERVAL=1;BYDAY=MO"
    cmd = [AWX, "--conf.host", d.url(""), "--conf.color", "false", "-f", "json",
           "--conf.username", "admin", "--conf.password", PASSWORD,
           "schedules", "create", "--name", name, "--rrule", rrule,
           "--unified_job_template", str(world["jt"]["id"])]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stdout + p.stderr
    out = json.loads(p.stdout)
    assert out["name"] == name and out["timezone"] == "Europe/Berlin"
    assert out["next_run"] == "2030-06-03T04:00:00Z"  # the first Monday, 06:00 CEST
    listed = subprocess.run(cmd[:-8] + ["schedules", "list", "--name", name], capture_output=True, text=True,
                            timeout=300)
    assert listed.returncode == 0 and json.loads(listed.stdout)["count"] == 1, listed.stderr


@pytest.mark.skipif(not AWX_COLLECTION.exists(), reason="the awx.awx collection is missing")
def test_awx_collection_schedule_module(world):
    d = world["d"]
    tmp = Path(world["tmp"])
    pb = tmp / "schedule.yml"
    pb.write_text("""
- hosts: localhost
  gather_facts: false
  tasks:
    - name: a schedule by the template's name
      awx.awx.schedule:
        name: collection-schedule
        unified_job_template: OK
        rrule: "DTSTART;TZID=America/New_York:20300101T090000 RRULE:FREQ=DAILY;INTERVAL=1"
        limit: localhost
        state: present
      register: created
    - assert:
        that: created is changed
    - name: the same again changes nothing
      awx.awx.schedule:
        name: collection-schedule
        unified_job_template: OK
        rrule: "DTSTART;TZID=America/New_York:20300101T090000 RRULE:FREQ=DAILY;INTERVAL=1"
        limit: localhost
        state: present
      register: again
    - assert:
        that: again is not changed
    - name: disabled
      awx.awx.schedule:
        name: collection-schedule
        unified_job_template: OK
        enabled: false
""")
    out = run_collection_playbook(d, pb)
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-4000:]
    s = d.get("/api/v2/schedules/?name=collection-schedule")
    assert s["count"] == 1
    s = s["results"][0]
    assert s["unified_job_template"] == world["jt"]["id"] and s["limit"] == "localhost"
    assert s["enabled"] is False and s["next_run"] is None and s["timezone"] == "America/New_York"
