"""runneld's API under an event flood: reads stay off the writer's path.

- A flood: 10 jobs x 2,000 synthetic events (bench/producer.c behind an
  `ansible-playbook` shim on runneld's PATH: launch, dispatcher, worker,
  librunnel on a pty, bus, receiver and SQLite are the real path) while
  pollers read the API the way AWX's UI does. Every event is stored exactly
  once (counters 1..2000 per job, no gap, no duplicate), every answer is a
  200 and well formed, and the flood's median latency stays within a generous
  multiple of a quiet baseline measured here first (never an absolute time).
- A held write lock: another process holds SQLite's write lock while a launch
  waits for it inside runneld; reads (lists, details, authentication) must
  not queue behind that waiting writer. The bound is relative to how long the
  lock was held.

Environment: RUNNELD (default <repo>/build/service/runneld).
"""

import json
import os
import random
import shutil
import sqlite3
import statistics
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import pytest
import requests

from runneld_harness import ACTIVE, REPO_ROOT, RUNNELD, Runneld, wait_for

pytestmark = pytest.mark.skipif(not os.path.exists(RUNNELD), reason="runneld is not built: " + RUNNELD)

JOBS = 10
EVENTS = 2000
HOSTS = ["host%04d" % i for i in range(1, 5)]


def build_shim(tmp):
    """The producer, and a directory whose `ansible-playbook` execs it for a
    playbook named events-N.yml (N events) or sleeps for sleep.yml."""
    cc = shutil.which("cc")
    if not cc:
        pytest.skip("no C compiler to build bench/producer.c")
    flags = subprocess.run(["pkg-config", "--cflags", "--libs", "jansson"], capture_output=True, text=True,
                           check=True).stdout.split()
    # both in one directory, shown to the sandboxed jobs (job_isolation_show_paths)
    shimdir = tmp / "shim"
    shimdir.mkdir()
    producer = shimdir / "producer"
    subprocess.run([cc, "-O2", "-o", str(producer), str(REPO_ROOT / "bench" / "producer.c")] + flags, check=True)
    shim = shimdir / "ansible-playbook"
    shim.write_text("""#!/usr/bin/python3
# test_api_load: stands in for ansible-playbook
import os, sys
pb = [a for a in sys.argv[1:] if a.endswith(".yml")]
pb = os.path.basename(pb[-1]) if pb else ""
if pb.startswith("events-"):
    os.execv(%r, [%r, "-n", pb[len("events-"):-len(".yml")], "--inband"])
if pb == "sleep.yml":
    os.execv("/bin/sleep", ["sleep", "3600"])
sys.exit("test shim: unknown playbook " + pb)
""" % (str(producer), str(producer)))
    shim.chmod(0o755)
    return shimdir


@pytest.fixture(scope="module")
def flood_world():
    tmp = Path(tempfile.mkdtemp(prefix="runneld-apiload-"))
    shimdir = build_shim(tmp)
    state = tmp / "state"
    projdir = state / "projects" / "flood"
    projdir.mkdir(parents=True)
    for pb in ("events-%d.yml" % EVENTS, "sleep.yml"):
        (projdir / pb).write_text("- hosts: all\n  gather_facts: false\n  tasks: []\n")
    env = {"PATH": "%s:%s" % (shimdir, os.environ.get("PATH", "/usr/bin:/bin"))}
    iso = tmp / "iso"
    iso.mkdir()
    d = Runneld(state, bus="local", env=env,
                extra=["--capacity", str(JOBS), "--isolation-base-path", str(iso),
                       "--job-isolation-show-paths", json.dumps([str(shimdir)])]).start()
    try:
        org = d.create("organizations", name="Flood")
        inv = d.create("inventories", name="Flood", organization=org["id"])
        local = json.dumps({"ansible_connection": "local", "ansible_python_interpreter": "/usr/bin/python3"})
        for h in HOSTS:
            d.post("/api/v2/inventories/%d/hosts/" % inv["id"], {"name": h, "variables": local}, expect=(201,))
        prj = d.create("projects", name="Flood", organization=org["id"], local_path="flood")
        jt = d.create("job_templates", name="Flood", project=prj["id"], inventory=inv["id"],
                      playbook="events-%d.yml" % EVENTS)
        yield {"d": d, "tmp": tmp, "state": state, "jt": jt, "inv": inv, "prj": prj}
    finally:
        d.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def job_done(d, job_id):
    j = d.get("/api/v2/jobs/%d/" % job_id)
    return j if j["status"] not in ACTIVE and j["event_processing_finished"] else None


class Poller(threading.Thread):
    """A UI user: the jobs list, a job of it (detail, newest events, host
    summaries, stdout), another list; records (endpoint, seconds, phase) and
    every answer that is not a well-formed 200."""

    def __init__(self, d, jt_id, seed):
        super().__init__(daemon=True)
        self.d, self.jt_id = d, jt_id
        self.rng = random.Random(seed)
        self.s = requests.Session()
        self.s.auth = d.session.auth
        self.phase = "quiet"
        self.stop = False
        self.samples, self.problems = [], []

    def get(self, endpoint, path, shape):
        t = time.monotonic()
        try:
            r = self.s.get(self.d.url("/api/v2" + path), timeout=120)
        except requests.RequestException as e:
            self.problems.append("%s: %s" % (path, e))
            return None
        self.samples.append((endpoint, time.monotonic() - t, self.phase))
        if r.status_code != 200:
            self.problems.append("%s: %d %s" % (path, r.status_code, r.text[:200]))
            return None
        if shape == "text":
            # (empty while the job has no event yet)
            if not r.headers.get("Content-Type", "").startswith("text/plain"):
                self.problems.append("%s: stdout is not text: %r" % (path, r.headers))
            return r.text
        try:
            v = r.json()
        except ValueError:
            self.problems.append("%s: not JSON: %r" % (path, r.text[:200]))
            return None
        if shape == "list":
            ok = (isinstance(v, dict) and isinstance(v.get("results"), list) and isinstance(v.get("count"), int)
                  and "next" in v and "previous" in v and len(v["results"]) <= v["count"])
        else:
            ok = isinstance(v, dict) and isinstance(v.get("id"), int) and v.get("type") == shape
        if not ok:
            self.problems.append("%s: malformed: %r" % (path, r.text[:300]))
        return v

    def run(self):
        while not self.stop:
            jobs = self.get("jobs list", "/unified_jobs/?order_by=-id&page_size=20", "list")
            ids = [x["id"] for x in (jobs or {}).get("results", []) if x.get("type") == "job"]
            if ids:
                j = self.rng.choice(ids)
                self.get("job detail", "/jobs/%d/" % j, "job")
                self.get("job events", "/jobs/%d/job_events/?order_by=-counter&page_size=50" % j, "list")
                self.get("host summaries", "/jobs/%d/job_host_summaries/" % j, "list")
                self.get("job stdout", "/jobs/%d/stdout/?format=txt" % j, "text")
            name, path = self.rng.choice([("templates", "/job_templates/"), ("inventories", "/inventories/"),
                                          ("hosts", "/hosts/"), ("projects", "/projects/"),
                                          ("template jobs", "/job_templates/%d/jobs/" % self.jt_id)])
            self.get(name, path, "list")
            time.sleep(0.05 + 0.1 * self.rng.random())


def phase_times(pollers, phase):
    return sorted(dt for p in pollers for _, dt, ph in p.samples if ph == phase)


def test_flood_every_event_stored_once_and_api_answers_throughout(flood_world):
    d, jt = flood_world["d"], flood_world["jt"]
    # one finished job of the same size, so that the quiet phase reads one
    first = d.post("/api/v2/job_templates/%d/launch/" % jt["id"], expect=(201,))["id"]
    wait_for(lambda: job_done(d, first), timeout=300, interval=0.2, what="the first job")
    pollers = [Poller(d, jt["id"], i) for i in range(3)]
    for p in pollers:
        p.start()
    try:
        time.sleep(4)
        for p in pollers:
            p.phase = "flood"
        ids = [d.post("/api/v2/job_templates/%d/launch/" % jt["id"], expect=(201,))["id"] for _ in range(JOBS)]
        idq = ",".join(map(str, ids))

        def all_done():
            r = d.get("/api/v2/jobs/?id__in=%s&page_size=200" % idq)["results"]
            return r if len(r) == JOBS and all(
                x["status"] not in ACTIVE and x["event_processing_finished"] for x in r) else None
        jobs = wait_for(all_done, timeout=900, interval=0.5, what="the flood's jobs")
    finally:
        for p in pollers:
            p.stop = True
        for p in pollers:
            p.join(180)
    problems = [x for p in pollers for x in p.problems]
    assert not problems, problems[:10]
    # every event stored exactly once
    for j in jobs + [d.get("/api/v2/jobs/%d/" % first)]:
        assert j["status"] == "successful", j
        assert j["emitted_events"] == EVENTS and j["stored_events"] == EVENTS, j
        counters = [e["counter"] for e in d.all_pages("/api/v2/jobs/%d/job_events/?order_by=counter" % j["id"])]
        assert counters == list(range(1, EVENTS + 1)), (j["id"], len(counters), len(set(counters)))
        hs = d.get("/api/v2/jobs/%d/job_host_summaries/" % j["id"])
        assert hs["count"] >= 1 and {h["host_name"] for h in hs["results"]} <= set(HOSTS), hs
    quiet, flood = phase_times(pollers, "quiet"), phase_times(pollers, "flood")
    # the pollers really read during the flood, every kind of request
    assert len(quiet) >= 20 and len(flood) >= 20, (len(quiet), len(flood))
    seen = {ep for p in pollers for ep, _, ph in p.samples if ph == "flood"}
    assert {"jobs list", "job detail", "job events", "host summaries", "job stdout"} <= seen, seen
    # generous, relative: the flood's median within 50x the quiet median
    # (or 10x the quiet p99, whichever is larger)
    q50, q99 = statistics.median(quiet), quiet[int(0.99 * (len(quiet) - 1))]
    f50 = statistics.median(flood)
    assert f50 <= max(50 * q50, 10 * q99), ("flood median %.3f s vs quiet median %.3f s, p99 %.3f s" %
                                            (f50, q50, q99))


def test_reads_do_not_queue_behind_a_writer_waiting_for_the_lock(flood_world):
    """Another process holds SQLite's write lock; a launch (which writes)
    waits for it inside runneld. Meanwhile reads must answer: in WAL mode
    readers never need that lock, so only a shared connection or mutex
    could make them wait."""
    d, jt = flood_world["d"], flood_world["jt"]
    # the sleeping playbook: the job stays running and writes nothing more
    sleeper = d.create("job_templates", name="Sleeper", project=flood_world["prj"]["id"],
                       inventory=flood_world["inv"]["id"], playbook="sleep.yml")
    d.get("/api/v2/jobs/")  # the session's Basic credential is checked (and cached) before the lock
    hold = 6.0
    db = sqlite3.connect(str(flood_world["state"] / "runneld.db"), timeout=30, isolation_level=None)
    launched = {}

    def launch():
        t = time.monotonic()
        r = requests.post(d.url("/api/v2/job_templates/%d/launch/" % sleeper["id"]), json={},
                          auth=d.session.auth, timeout=60)
        launched.update(status=r.status_code, body=r.json(), took=time.monotonic() - t)

    reads = []

    def read():
        paths = ["/api/v2/jobs/", "/api/v2/jobs/?order_by=-id&page_size=20", "/api/v2/job_templates/",
                 "/api/v2/job_templates/%d/" % jt["id"], "/api/v2/hosts/", "/api/v2/me/", "/api/v2/unified_jobs/"]
        s = requests.Session()
        s.auth = d.session.auth
        for path in paths:
            t = time.monotonic()
            r = s.get(d.url(path), timeout=60)
            reads.append((path, r.status_code, time.monotonic() - t, t - t_locked))

    db.execute("BEGIN IMMEDIATE")
    try:
        t_locked = time.monotonic()
        writer = threading.Thread(target=launch, daemon=True)
        writer.start()
        time.sleep(0.5)  # the launch is now waiting for the write lock
        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        time.sleep(hold - 0.5)
    finally:
        db.execute("ROLLBACK")
        db.close()
    reader.join(60)
    writer.join(60)
    assert len(reads) == 7 and all(code == 200 for _, code, _, _ in reads), reads
    # each read answered while the writer waited, well below the hold time
    # (a read queued behind the waiting writer takes until the lock goes,
    # hold - 0.5 s; the margin is for a loaded machine's run queue)
    assert max(dt for _, _, dt, _ in reads) < hold / 3, reads
    # the launch did wait for the lock: the condition under test happened
    assert launched.get("status") == 201, launched
    assert launched["took"] >= hold / 2, launched
    job = launched["body"]["id"]
    wait_for(lambda: d.get("/api/v2/jobs/%d/" % job)["status"] == "running", timeout=120, what="the sleeper")
    d.post("/api/v2/jobs/%d/cancel/" % job, expect=(202,))
    wait_for(lambda: job_done(d, job), timeout=120, what="the canceled sleeper")
