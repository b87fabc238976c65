"""The two store backends give the same answers.

One runneld on SQLite (its state dir's runneld.db) and one on PostgreSQL (a
throwaway cluster started here: initdb + pg_ctl on a temp dir, loopback, a
free port) are given the same world, run the same job, cancel the same long
job, and are read through the same API requests: objects, lists with
filters and ordering (their labels included), events, host summaries,
stdout (whole and by line ranges). The answers are compared after
normalization: what differs between any two runs (times, uuids, temp
paths, pids, the event rows' own ids) is replaced, and nothing else.

Also here: `--store` refuses a URL with a password and a backend it does not
know, naming the option.

Environment: RUNNELD (default <repo>/build/service/runneld).
"""

import json
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from runneld_harness import (ACTIVE, RUNNELD, Runneld, make_git_project, pids_with_cmdline,
                             setup_world, start_postgres, wait_for)

pytestmark = pytest.mark.skipif(not os.path.exists(RUNNELD), reason="runneld is not built: " + RUNNELD)

UUID_RE = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
TS_RE = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})?")
DELTA_RE = re.compile(r"\b\d+:\d{2}:\d{2}\.\d+\b")
# values that differ on every run whatever the store: compared for type only
VOLATILE = {"created", "modified", "started", "finished", "elapsed", "canceled_on", "job_created",
            "start", "end", "duration", "pid", "worker_pid", "expires", "last_updated",
            "last_job_run", "delta", "event_data"}


def norm(value, tmp, key=None):
    """value with what varies between runs replaced (see the module's doc)."""
    if key in VOLATILE and value is not None:
        return "<%s>" % type(value).__name__
    if key == "job_args" and isinstance(value, str) and value.startswith('["bwrap"'):
        # the sandbox's own line names each side's paths: keep what runs in it
        args = json.loads(value)
        at = next((i for i, a in enumerate(args) if re.search(r"(^|/)ansible(-playbook)?$", a)), 0)
        value = json.dumps(["<sandbox>"] + args[at:])
    if isinstance(value, dict):
        return {k: norm(v, tmp, k) for k, v in value.items()}
    if isinstance(value, list):
        return [norm(v, tmp) for v in value]
    if isinstance(value, str):
        value = value.replace(str(tmp), "<TMP>")
        value = UUID_RE.sub("<UUID>", value)
        value = TS_RE.sub("<TS>", value)
        value = DELTA_RE.sub("<DELTA>", value)
        value = re.sub(r"/(job|project_update|inventory_update|ad_hoc_command)_(\d+)_[A-Za-z0-9_]+",
                       r"/\1_\2_X", value)
        value = re.sub(r"ansible-tmp-[\d.]+-\d+-\d+", "ansible-tmp-X", value)
        value = re.sub(r"\bpid \d+", "pid N", value)
        return value
    return value


def diffs(a, b, where=""):
    """The leaves where a and b differ, as "path: a != b" lines."""
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for k in sorted(set(a) | set(b)):
            if k not in a or k not in b:
                out.append("%s/%s: only in %s" % (where, k, "sqlite" if k in a else "pg"))
            else:
                out += diffs(a[k], b[k], "%s/%s" % (where, k))
        return out
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [d for i, (x, y) in enumerate(zip(a, b)) for d in diffs(x, y, "%s[%d]" % (where, i))]
    return [] if a == b else ["%s: %r != %r" % (where, a, b)]


def norm_events(page, tmp):
    """An events page with the rows' own ids (a sequence each backend keeps
    in its own way) replaced by their rank."""
    out = norm(page, tmp)
    for i, e in enumerate(out["results"]):
        e["id"] = i
        e["url"] = re.sub(r"/\d+/$", "/N/", e["url"])
    return out


@pytest.fixture(scope="module")
def pair():
    tmp = Path(tempfile.mkdtemp(prefix="runneld-backends-"))
    pg = start_postgres(tmp)
    repo, _ = make_git_project(tmp)
    sides = {}
    try:
        for name, store in (("sqlite", []), ("pg", ["--store", pg.create_db("backends")])):
            base = tmp / name
            base.mkdir()
            d = Runneld(base / "state", extra=["--isolation-base-path", str(base)] + store).start()
            sides[name] = {"d": d, "tmp": base}
        for s in sides.values():
            s["w"] = setup_world(s["d"], repo)
            # labels, attached out of id order: the jobs take them (a page's
            # labels are read for all its rows at once: related_names)
            d, w = s["d"], s["w"]
            labs = [d.create("labels", name=n, organization=w["org"]["id"]) for n in ("zeta", "alpha")]
            for lab in reversed(labs):
                d.post("/api/v2/job_templates/%d/labels/" % w["jt"]["id"], {"id": lab["id"]},
                       expect=(204,))
        # the same job on both, then the same long job canceled on both; one
        # fork, so that the hosts' events come in the same order every run
        for s in sides.values():
            d, w = s["d"], s["w"]
            r = d.req("PATCH", "/api/v2/job_templates/%d/" % w["jt"]["id"], json={"forks": 1})
            assert r.status_code == 200, r.text
            r = d.post("/api/v2/job_templates/%d/launch/" % w["jt"]["id"],
                       {"limit": "localhost,failhost", "extra_vars": {"greeting": "hi"}},
                       expect=(201,))
            s["ok"] = d.wait_job(r["url"])
        for s in sides.values():
            d, w = s["d"], s["w"]
            secs = 4000 + (0 if s is sides["sqlite"] else 1)
            r = d.post("/api/v2/job_templates/%d/launch/" % w["jt_sleep"]["id"],
                       {"extra_vars": {"sleep_seconds": secs}}, expect=(201,))
            wait_for(lambda: pids_with_cmdline("sleep %d" % secs), timeout=90,
                     what="ansible's sleep to start")
            d.post(r["url"] + "cancel/", expect=(202,))
            s["canceled"] = d.wait_job(r["url"])
        yield sides, pg
    finally:
        for s in sides.values():
            s["d"].stop()
        pg.stop()
        shutil.rmtree(tmp, ignore_errors=True)


# The requests both backends answer; {ok}/{canceled} are the two jobs' ids.
OBJECT_PATHS = [
    "/api/v2/jobs/{ok}/",
    "/api/v2/jobs/{canceled}/",
    "/api/v2/jobs/?order_by=-id",
    "/api/v2/unified_jobs/?order_by=id",
    "/api/v2/unified_jobs/?status=canceled",
    "/api/v2/jobs/?failed=true&order_by=name",
    "/api/v2/jobs/?status__in=successful,failed&not__status=canceled",
    "/api/v2/hosts/?order_by=-name",
    "/api/v2/hosts/?name__icontains=HOST&order_by=name",
    "/api/v2/hosts/?name__startswith=fail",
    "/api/v2/hosts/?last_job__isnull=false",
    "/api/v2/hosts/?inventory__organization__name__icontains=or&order_by=-id",
    "/api/v2/job_templates/?project__organization__name=Org&not__inventory__name=Nope",
    "/api/v2/inventories/",
    "/api/v2/organizations/?search=or",
    "/api/v2/projects/",
    "/api/v2/project_updates/?order_by=-created",
    "/api/v2/job_templates/?order_by=-playbook,name",
    "/api/v2/job_templates/?ask_limit_on_launch=true",
    "/api/v2/credential_types/?order_by=-name&page_size=2&page=2",
    "/api/v2/users/",
    "/api/v2/labels/",
    "/api/v2/jobs/{ok}/labels/",
    "/api/v2/jobs/{ok}/job_host_summaries/",
    "/api/v2/jobs/{ok}/job_host_summaries/?failed=true",
    "/api/v2/jobs/{canceled}/job_host_summaries/",
]

EVENT_PATHS = [
    "/api/v2/jobs/{ok}/job_events/?page_size=200",
    "/api/v2/jobs/{ok}/job_events/?failed=true",
    "/api/v2/jobs/{ok}/job_events/?changed=true&order_by=-counter",
    "/api/v2/jobs/{ok}/job_events/?event__startswith=runner_on&host_name=failhost",
    "/api/v2/jobs/{ok}/job_events/?search=ran-a-command",
    "/api/v2/jobs/{ok}/job_events/?counter__gt=3&counter__lte=8&page_size=2&page=2",
    "/api/v2/jobs/{canceled}/job_events/?page_size=200",
    "/api/v2/project_updates/{update}/events/?order_by=-counter&page_size=5",
]

STDOUT_PATHS = [
    "/api/v2/jobs/{ok}/stdout/?format=txt",
    "/api/v2/jobs/{ok}/stdout/?format=json",
    "/api/v2/jobs/{ok}/stdout/?format=json&start_line=3&end_line=9",
    "/api/v2/jobs/{canceled}/stdout/?format=txt",
]


def ids(s):
    return {"ok": s["ok"]["id"], "canceled": s["canceled"]["id"],
            "update": s["w"]["project_update"]["id"]}


def both(sides, path, as_text=False):
    out = {}
    for name, s in sides.items():
        r = s["d"].req("GET", path.format(**ids(s)))
        assert r.status_code == 200, (name, path, r.status_code, r.text)
        out[name] = r.text if as_text else r.json()
    return out["sqlite"], out["pg"]


def test_same_ids_and_outcomes(pair):
    sides, _ = pair
    a, b = sides["sqlite"], sides["pg"]
    assert ids(a) == ids(b)
    assert a["ok"]["status"] == b["ok"]["status"] == "failed"  # failhost fails, as the playbook says
    assert a["canceled"]["status"] == b["canceled"]["status"] == "canceled"
    assert a["canceled"]["event_processing_finished"] and b["canceled"]["event_processing_finished"]
    assert b["ok"]["stored_events"] == a["ok"]["stored_events"] > 5


@pytest.mark.parametrize("path", OBJECT_PATHS)
def test_objects_and_lists_same(pair, path):
    sides, _ = pair
    a, b = both(sides, path)
    na = norm(a, sides["sqlite"]["tmp"])
    nb = norm(b, sides["pg"]["tmp"])
    # the cancel sleeps differ by one second so that each side can find its own
    text_a = json.dumps(na, sort_keys=True).replace("4000", "SECS")
    text_b = json.dumps(nb, sort_keys=True).replace("4001", "SECS")
    assert not diffs(json.loads(text_a), json.loads(text_b)), (path, diffs(json.loads(text_a), json.loads(text_b)))
    if isinstance(a, dict) and "count" in a:
        assert a["count"] == b["count"]


@pytest.mark.parametrize("path", EVENT_PATHS)
def test_events_same(pair, path):
    sides, _ = pair
    a, b = both(sides, path)
    na, nb = norm_events(a, sides["sqlite"]["tmp"]), norm_events(b, sides["pg"]["tmp"])
    text_a = json.dumps(na, sort_keys=True).replace("4000", "SECS")
    text_b = json.dumps(nb, sort_keys=True).replace("4001", "SECS")
    assert not diffs(json.loads(text_a), json.loads(text_b)), (path, diffs(json.loads(text_a), json.loads(text_b)))
    assert a["count"] == b["count"]
    if "page_size=200" in path:
        assert a["count"] > 3 and len(a["results"]) == a["count"]


@pytest.mark.parametrize("path", STDOUT_PATHS)
def test_stdout_same(pair, path):
    sides, _ = pair
    a, b = both(sides, path, as_text=True)
    a = norm(a, sides["sqlite"]["tmp"]).replace("4000", "SECS")
    b = norm(b, sides["pg"]["tmp"]).replace("4001", "SECS")
    assert a == b, path
    assert "hello" in a or "about to sleep" in a or '"range"' in a


def test_pg_events_partitioned_and_unique(pair):
    """The PostgreSQL side keeps events in a partition of their job's hour,
    at most once per (job, counter)."""
    sides, pg = pair
    s = sides["pg"]
    job = s["ok"]["id"]
    parts = pg.psql("SELECT count(*) FROM pg_inherits i JOIN pg_class c ON c.oid=i.inhrelid"
                    " JOIN pg_class p ON p.oid=i.inhparent WHERE p.relname='events'"
                    " AND c.relname <> 'events_default'", db="backends").strip()
    assert int(parts) >= 1
    where = pg.psql("SELECT DISTINCT tableoid::regclass FROM events WHERE job_id=%d" % job,
                    db="backends").split()
    assert len(where) == 1 and where[0].startswith("events_2"), where
    dup = pg.psql("SELECT count(*) FROM (SELECT job_id, counter FROM events GROUP BY 1, 2"
                  " HAVING count(*) > 1) x", db="backends").strip()
    assert dup == "0"
    stored = pg.psql("SELECT count(*) FROM events WHERE job_id=%d" % job, db="backends").strip()
    assert int(stored) == s["ok"]["stored_events"]


def test_pg_secrets_sealed(pair):
    """A credential's secret input is not in the PostgreSQL database in clear."""
    sides, pg = pair
    d = sides["pg"]["d"]
    c = d.create("credentials", name="m", credential_type=1,
                 inputs={"username": "u", "password": "PLANTED-pg-secret-5521"})
    assert c["inputs"]["password"] == "$encrypted$"
    found = pg.psql("SELECT count(*) FROM credentials WHERE data::text LIKE '%PLANTED-pg%'"
                    " OR secret LIKE '%PLANTED-pg%'", db="backends").strip()
    assert found == "0"
    dump = subprocess.run(["/usr/lib/postgresql/15/bin/pg_dump", "-d", pg.url("backends")],
                          capture_output=True, text=True, check=True).stdout
    assert "PLANTED-pg-secret" not in dump and "credentials" in dump


@pytest.mark.parametrize("store,why", [
    ("postgresql://u:hunter2pw@127.0.0.1:1/x", "password"),
    ("mysql://u:hunter2pw@127.0.0.1/x", "unknown backend 'mysql'"),
    ("sqlite:relative.db", "absolute path"),
])
def test_store_option_refused(tmp_path, store, why):
    r = subprocess.run([RUNNELD, "--state-dir", str(tmp_path / "s"), "--listen", "127.0.0.1:1",
                        "--store", store], capture_output=True, text=True, timeout=60)
    assert r.returncode != 0
    assert why in r.stderr and "store" in r.stderr, r.stderr
    assert "hunter2pw" not in r.stderr + r.stdout


def test_sqlite_path(tmp_path):
    """--store sqlite:PATH keeps the database there, not in the state dir."""
    db = tmp_path / "elsewhere" / "jobs.db"
    db.parent.mkdir()
    d = Runneld(tmp_path / "state", extra=["--store", "sqlite:%s" % db]).start()
    try:
        d.create("organizations", name="kept-elsewhere")
    finally:
        d.stop()
    assert db.exists() and db.stat().st_size > 0
    assert not (tmp_path / "state" / "runneld.db").exists()
    assert b"kept-elsewhere" in db.read_bytes() + (db.parent / "jobs.db-wal").read_bytes() \
        if (db.parent / "jobs.db-wal").exists() else b"kept-elsewhere" in db.read_bytes()
