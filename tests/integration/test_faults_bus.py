"""runneld under bus and store faults: a job's record is the truth.

A fault (Redis killed, the state dir's disk full) may delay a job's record,
never falsify it: either every event the job emitted is stored exactly once
and event_processing_finished is true, or the job says how many events are
missing ("N of M events were lost" / "were not stored") and
event_processing_finished stays false. Cancel works whatever the bus and the
store do; no process of a job outlives it; its private data dir goes.

Each test is the fault: kill -9 of redis-server mid-job (then a new one on
the same port), a tmpfs state dir that the job's events fill.
"""

import json
import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from runneld_harness import (ACTIVE, Runneld, free_port, git, make_git_project, pid_alive,
                             pids_with_cmdline, setup_world, start_redis, wait_for)

# A loop of debug items: one event per item, at ansible's own pace (a few
# seconds for a few thousand), each `pad` characters long.
LOOP_PLAYBOOK = """\
- name: many events
  hosts: all
  gather_facts: false
  tasks:
    - name: loop
      debug:
        msg: "{{ 'x' * (pad | int) }} {{ item }}"
      loop: "{{ range(n | int) | list }}"
"""

LOST = re.compile(r"(\d+) of (\d+) events were (?:lost|not stored)")


def project_with_loop(tmp):
    """The harness's git project plus loop.yml."""
    repo, _ = make_git_project(tmp)
    (repo / "loop.yml").write_text(LOOP_PLAYBOOK)
    git(repo, "add", "loop.yml")
    git(repo, "commit", "-q", "-m", "loop")
    return repo


def redis_on_port(tmp, port):
    """A redis-server on 127.0.0.1:port (no persistence: a kill -9 loses
    what it held, as the fault does). Its Popen."""
    return start_redis(tmp, port)[0]


def stop_proc(proc):
    if proc and proc.poll() is None:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()


def launch_loop(d, w, n, pad=10, limit="localhost"):
    jt = d.create("job_templates", name="loop-%d-%d-%f" % (n, pad, time.time()), project=w["project"]["id"],
                  inventory=w["inv"]["id"], playbook="loop.yml", limit=limit, ask_variables_on_launch=True)
    job = d.post("/api/v2/job_templates/%d/launch/" % jt["id"],
                 {"extra_vars": json.dumps({"n": n, "pad": pad})}, expect=(201,))
    return "/api/v2/jobs/%d/" % job["id"]


def wait_final(d, url, timeout=240):
    """The job once it left the active states (not waiting for its events)."""
    return wait_for(lambda: (lambda j: j if j["status"] not in ACTIVE else None)(d.get(url)),
                    timeout=timeout, interval=0.25, what="%s to end" % url)


def events_of(d, url):
    return d.all_pages(url + "job_events/")


def assert_record_true(d, url, job):
    """Either every event stored exactly once and processing finished, or the
    job says exactly how many are missing and processing is not finished."""
    events = events_of(d, url)
    counters = [e["counter"] for e in events]
    assert len(counters) == len(set(counters)), "duplicate counters stored"
    assert len(events) == job["stored_events"], (len(events), job["stored_events"])
    emitted, stored = job["emitted_events"], job["stored_events"]
    assert stored <= emitted, job
    said = LOST.search(job["job_explanation"] or "")
    if stored == emitted:
        # all there: nothing may claim a loss
        assert job["event_processing_finished"] is True, job
        return 0
    assert job["event_processing_finished"] is False, job
    assert said, "a job with %d of %d events stored must say so: %r" % (stored, emitted, job["job_explanation"])
    assert int(said.group(2)) == emitted, (said.group(0), emitted)
    assert int(said.group(1)) == emitted - stored, (said.group(0), emitted, stored)
    assert job["status"] in ("error", "canceled"), job["status"]
    return emitted - stored


def assert_job_gone(job, iso):
    """No process of the job is left; its private data dir is gone."""
    wpid = job.get("worker_pid")
    wait_for(lambda: not pid_alive(wpid), timeout=30, what="worker %s to exit" % wpid)
    wait_for(lambda: not pids_with_cmdline(str(iso) + "/"), timeout=30,
             what="no process of a job under %s" % iso)
    left = [p for p in os.listdir(iso) if p.startswith("job_")]
    assert not left, "private data dirs left: %r" % left


@pytest.fixture
def redis_world(tmp_path):
    if not shutil.which("redis-server"):
        pytest.skip("redis-server is not installed (apt-get install redis-server)")
    port = free_port()
    redis = {"proc": redis_on_port(tmp_path, port)}
    iso = tmp_path / "iso"
    iso.mkdir()
    d = Runneld(tmp_path / "state", bus="redis://127.0.0.1:%d" % port,
                extra=["--isolation-base-path", str(iso), "--event-stall-timeout", "20"])
    d.start()
    try:
        repo = project_with_loop(tmp_path)
        w = setup_world(d, repo)
        yield d, w, redis, port, iso, tmp_path
    finally:
        d.stop()
        stop_proc(redis["proc"])


def test_redis_killed_mid_job(redis_world):
    """kill -9 of redis-server while a job streams a few thousand events, a
    new redis-server on the same port: the receiver reconnects, the worker
    keeps its events until the bus is back, the record is true, and a later
    job stores all its events."""
    d, w, redis, port, iso, tmp = redis_world
    url = launch_loop(d, w, 3000)
    wait_for(lambda: d.get(url)["stored_events"] >= 200, timeout=180, interval=0.05,
             what="the job to store its first events")
    os.kill(redis["proc"].pid, signal.SIGKILL)
    redis["proc"].wait()
    time.sleep(1.5)  # the bus is down: both ends fail and retry
    assert d.get(url)["status"] == "running", "the job must wait for the bus, not end"
    redis["proc"] = redis_on_port(tmp, port)
    job = wait_final(d, url)
    # give the receiver time to store what is on its way, then judge
    time.sleep(2)
    job = d.get(url)
    missing = assert_record_true(d, url, job)
    print("redis killed mid-job: status %s, emitted %d, stored %d, finished %s, explanation %r" % (
        job["status"], job["emitted_events"], job["stored_events"], job["event_processing_finished"],
        job["job_explanation"]))
    assert job["emitted_events"] > 3000, job["emitted_events"]  # every item, whatever was lost
    if missing:
        assert job["status"] == "error", job
    else:
        assert job["status"] == "successful", job
    assert_job_gone(job, iso)
    log = d.log()
    assert "the bus is back" in log, log[-3000:]
    # a later job stores all its events
    url2 = launch_loop(d, w, 50)
    job2 = d.wait_job(url2, timeout=180)
    assert job2["status"] == "successful", job2
    assert job2["stored_events"] == job2["emitted_events"] > 50
    assert_record_true(d, url2, job2)
    assert_job_gone(job2, iso)


def test_redis_killed_with_a_backlog(redis_world):
    """Redis dies holding events the receiver had not taken yet (runneld is
    stopped meanwhile, so they pile up in the list): those are truly lost.
    The job must not claim them: it ends error saying exactly how many of
    how many were lost, event_processing_finished stays false, the events
    that did arrive are stored once each."""
    d, w, redis, port, iso, tmp = redis_world
    url = launch_loop(d, w, 3000)
    wait_for(lambda: d.get(url)["stored_events"] >= 200, timeout=180, interval=0.05,
             what="the job to store its first events")
    os.kill(d.proc.pid, signal.SIGSTOP)  # the receiver stops taking events
    try:
        time.sleep(3)  # ansible goes on: its events wait in Redis
        os.kill(redis["proc"].pid, signal.SIGKILL)
        redis["proc"].wait()
        redis["proc"] = redis_on_port(tmp, port)
    finally:
        os.kill(d.proc.pid, signal.SIGCONT)
    job = wait_final(d, url)
    print("redis killed with a backlog: status %s, emitted %d, stored %d, finished %s, explanation %r" % (
        job["status"], job["emitted_events"], job["stored_events"], job["event_processing_finished"],
        job["job_explanation"]))
    missing = assert_record_true(d, url, job)
    assert missing > 0, "events held by the killed Redis cannot have been stored"
    assert job["status"] == "error", job
    assert "events were lost" in job["job_explanation"], job["job_explanation"]
    assert_job_gone(job, iso)
    time.sleep(1)
    assert d.get(url)["event_processing_finished"] is False


def test_redis_down_past_the_bound(redis_world):
    """Redis stays down longer than event_stall_timeout: the worker does not
    end silently successful: the job ends error and says how many events
    could not be delivered; no process is left."""
    d, w, redis, port, iso, tmp = redis_world
    url = launch_loop(d, w, 3000)
    wait_for(lambda: d.get(url)["stored_events"] >= 100, timeout=180, interval=0.05,
             what="the job to store its first events")
    os.kill(redis["proc"].pid, signal.SIGKILL)
    redis["proc"].wait()
    t0 = time.monotonic()
    job = wait_final(d, url, timeout=180)
    waited = time.monotonic() - t0
    assert waited >= 10, "the worker gave up after %.1f s, before its bound (20 s)" % waited
    assert job["status"] == "error", job
    missing = assert_record_true(d, url, job)
    assert missing > 0
    assert "could not be delivered to the event bus" in job["job_explanation"], job["job_explanation"]
    assert "redis" in (job["result_traceback"] or ""), job["result_traceback"]
    assert_job_gone(job, iso)
    # the bus comes back: the next job is whole
    redis["proc"] = redis_on_port(tmp, port)
    url2 = launch_loop(d, w, 20)
    job2 = d.wait_job(url2, timeout=180)
    assert job2["status"] == "successful" and job2["stored_events"] == job2["emitted_events"], job2


def test_cancel_while_redis_is_down(redis_world):
    """Cancel works while the worker holds its events for a dead bus: the job
    is canceled promptly and says what was not delivered."""
    d, w, redis, port, iso, tmp = redis_world
    url = launch_loop(d, w, 3000)
    wait_for(lambda: d.get(url)["stored_events"] >= 100, timeout=180, interval=0.05,
             what="the job to store its first events")
    os.kill(redis["proc"].pid, signal.SIGKILL)
    redis["proc"].wait()
    time.sleep(2)
    assert d.get(url)["status"] == "running"
    r = d.req("POST", url + "cancel/")
    assert r.status_code == 202, r.text
    t0 = time.monotonic()
    job = wait_final(d, url, timeout=60)
    assert time.monotonic() - t0 < 15, "cancel took %.1f s" % (time.monotonic() - t0)
    assert job["status"] == "canceled", job
    assert_record_true(d, url, job)
    assert_job_gone(job, iso)


# ------------------------------------------------------------------ full disk

def mount_tmpfs(path, size):
    path.mkdir(parents=True, exist_ok=True)
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%s,mode=0700" % size, "tmpfs", str(path)],
                       capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip("cannot mount a tmpfs here: %s" % r.stderr.strip())


def umount(path):
    subprocess.run(["umount", "-l", str(path)], capture_output=True)


@pytest.fixture
def full_disk_world(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs as the state dir needs root (.ci/run runs as root)")
    state = tmp_path / "state"
    mount_tmpfs(state, "32m")
    iso = tmp_path / "iso"
    iso.mkdir()
    d = Runneld(state, extra=["--isolation-base-path", str(iso), "--projects-root", str(tmp_path / "projects"),
                              "--event-stall-timeout", "15"])
    try:
        d.start()
        repo = project_with_loop(tmp_path)
        w = setup_world(d, repo)
        yield d, w, state, iso
    finally:
        d.stop()
        umount(state)


def fill_then(d, w, state):
    """A job whose events are more than the state dir holds: returns its
    URL once the store failed (the disk is full), and the events stored by
    a job before it."""
    before = launch_loop(d, w, 30)
    before_job = d.wait_job(before, timeout=180)
    assert before_job["status"] == "successful"
    url = launch_loop(d, w, 4000, pad=4000)
    wait_for(lambda: "storing" in d.log() and "failed" in d.log(), timeout=240, interval=0.5,
             what="the store to fail (disk full)")
    return url, before, before_job


def test_full_disk_job_ends_with_true_record(full_disk_world):
    """The state dir fills up mid-job: the receiver keeps its batch and
    retries (nothing dropped on the floor); the job does not end successful
    over missing events: it ends error with the missing count. Nothing
    stored before is lost, and after a restart the accounting stays true."""
    d, w, state, iso = full_disk_world
    url, before, before_job = fill_then(d, w, state)
    job = wait_final(d, url, timeout=240)
    assert job["status"] == "error", job
    missing = assert_record_true(d, url, job)
    assert missing > 0, job
    assert_job_gone(job, iso)
    # nothing stored before is lost
    again = d.get(before)
    assert again["stored_events"] == before_job["stored_events"] == before_job["emitted_events"]
    assert len(events_of(d, before)) == before_job["stored_events"]
    # a restart keeps the truth: emitted is not lowered to what was stored
    d.stop()
    d.start()
    after = d.get(url)
    assert after["emitted_events"] == job["emitted_events"], (after["emitted_events"], job["emitted_events"])
    assert after["stored_events"] <= after["emitted_events"]
    assert LOST.search(after["job_explanation"]), after["job_explanation"]
    assert after["event_processing_finished"] is (after["stored_events"] == after["emitted_events"])


def test_full_disk_cancel_works(full_disk_world):
    """Cancel of a running job under a full disk: the worker is held by a
    bus that does not move (the receiver cannot store), the signal frees
    it: the job ends canceled, says how many events are missing, and no
    process is left."""
    d, w, state, iso = full_disk_world
    url, _, _ = fill_then(d, w, state)
    time.sleep(2)
    assert d.get(url)["status"] == "running"
    r = d.req("POST", url + "cancel/")
    assert r.status_code == 202, r.text
    job = wait_final(d, url, timeout=60)
    assert job["status"] == "canceled", job
    assert_record_true(d, url, job)
    assert_job_gone(job, iso)
