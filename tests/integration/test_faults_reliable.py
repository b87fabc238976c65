"""runneld killed between taking events off the Redis bus and storing them.

The receiver takes events off the bus in batches and stores each batch in
one transaction. A runneld killed (SIGKILL) after it took a batch and before
the transaction committed must lose none of it: on the Redis bus the
receiver moves what it takes into a processing list of its own and removes
it only once stored; the next runneld on the state dir puts what is left
there back on the queue and stores it, once (the store skips what it has).

Each test is the fault. The window between taking and committing is made
certain, not hoped for: the state dir is a small tmpfs that the test all
but fills (the store then refuses events and the receiver keeps its batch
and retries, as on a full disk), sees the receiver take events off the
queue, and kills runneld then; once more across a restart (the kill lands
while the new runneld replays); and once at a random moment of a job's
flow, the disk freed.
"""

import json
import os
import random
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import threading
import time
from contextlib import contextmanager

import pytest

from runneld_harness import (ACTIVE, RUNNELD, RedisClient, Runneld, ctl, free_port, git,
                             make_git_project, pid_alive, setup_world, start_redis, wait_for)

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


# ----------------------------------------------------------------- helpers

def processing_list(state_dir, queue="callback_tasks"):
    """The receiver's processing list, as bus/redis.c names it."""
    return "%s:processing:%s:%s" % (queue, socket.gethostname(), os.path.realpath(state_dir))


@contextmanager
def disk_all_but_full(state_dir, free=4 << 20):
    """Keep the state dir's filesystem filled up to `free` bytes (a thread
    tops the filler up whenever SQLite frees space, e.g. a WAL checkpointed
    by a restart): the store then refuses events (it keeps the last 8 MiB
    for job records) and the receiver keeps its batch and retries; job
    records are still written."""
    filler = os.path.join(state_dir, "filler")
    stop = threading.Event()

    def top_up(f):
        st = os.statvfs(state_dir)
        size = st.f_bavail * st.f_frsize - free
        chunk = b"\0" * (1 << 20)
        while size > 0:
            f.write(chunk[:min(size, len(chunk))])
            size -= len(chunk)
        f.flush()

    f = open(filler, "wb")
    top_up(f)
    t = threading.Thread(target=lambda: [top_up(f) for _ in iter(lambda: stop.wait(0.02), True)], daemon=True)
    t.start()
    try:
        yield
    finally:
        stop.set()
        t.join()
        f.close()
        os.unlink(filler)


def db_counters(state_dir, job_id):
    """Counters of the job's stored events, read from the file (one row each)."""
    db = sqlite3.connect(os.path.join(state_dir, "runneld.db"), timeout=30)
    try:
        return [r[0] for r in db.execute("SELECT counter FROM events WHERE job_id = ?", (job_id,))]
    finally:
        db.close()


def sent_to_bus(state_dir, job_id):
    """Events the job's worker had sent to the bus (its record in procs/)."""
    with open(os.path.join(state_dir, "procs", "job_%d" % job_id)) as f:
        return int(f.readline().split()[1])


def kill9(d):
    os.kill(d.proc.pid, signal.SIGKILL)
    d.proc.wait()
    d.logf.close()


def project_with_loop(tmp):
    repo, _ = make_git_project(tmp)
    (repo / "loop.yml").write_text(LOOP_PLAYBOOK)
    git(repo, "add", "loop.yml")
    git(repo, "commit", "-q", "-m", "loop")
    return repo


def launch_loop(d, w, n, pad=10):
    jt = d.create("job_templates", name="loop-%d-%f" % (n, time.time()), project=w["project"]["id"],
                  inventory=w["inv"]["id"], playbook="loop.yml", limit="localhost", ask_variables_on_launch=True)
    job = d.post("/api/v2/job_templates/%d/launch/" % jt["id"],
                 {"extra_vars": json.dumps({"n": n, "pad": pad})}, expect=(201,))
    return job["id"]


def assert_every_event_once(d, state_dir, job_id):
    """Every event the runner made is stored exactly once, and the record
    says so: counters 1..emitted_events, no duplicate (in the file and
    through the API), stored_events equal, event_processing_finished true,
    no claim that events were lost."""
    j = d.get("/api/v2/jobs/%d/" % job_id)
    emitted = j["emitted_events"]
    rows = db_counters(state_dir, job_id)
    dup = len(rows) - len(set(rows))
    missing = sorted(set(range(1, emitted + 1)) - set(rows))
    print("job %d: status %s, emitted %d, stored %d (rows %d, duplicates %d, missing %d: %s), finished %s, "
          "explanation %r" % (job_id, j["status"], emitted, j["stored_events"], len(rows), dup, len(missing),
                              missing[:10], j["event_processing_finished"], j["job_explanation"]))
    assert emitted > 0, j
    assert dup == 0, "events stored twice"
    assert not missing, "%d of the job's %d events were never stored (first: %r)" % (
        len(missing), emitted, missing[:10])
    assert set(rows) == set(range(1, emitted + 1)), "rows with counters the runner never made"
    assert j["stored_events"] == emitted, j
    api = [e["counter"] for e in d.all_pages("/api/v2/jobs/%d/job_events/" % job_id)]
    assert sorted(api) == list(range(1, emitted + 1)), "the API lists each event once"
    assert j["event_processing_finished"] is True, j
    said = LOST.search(j["job_explanation"] or "")
    assert not (said and "were lost" in said.group(0)), j["job_explanation"]
    return j


@pytest.fixture
def reliable_world(tmp_path):
    """redis-server, a runneld on the Redis bus whose state dir is a small
    tmpfs of its own (so that the test can all but fill it), the loop
    project."""
    if not shutil.which("redis-server"):
        pytest.skip("redis-server is not installed (apt-get install redis-server)")
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs as the state dir needs root (.ci/run runs as root)")
    state = tmp_path / "state"
    state.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64m,mode=0700", "tmpfs", str(state)],
                       capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip("cannot mount a tmpfs here: %s" % r.stderr.strip())
    redis, url = start_redis(tmp_path)
    iso = tmp_path / "iso"
    iso.mkdir()
    extra = ["--isolation-base-path", str(iso), "--projects-root", str(tmp_path / "projects"),
             "--event-stall-timeout", "30"]
    d = Runneld(state, bus=url, extra=extra)
    daemons = [d]
    try:
        d.start()
        repo = project_with_loop(tmp_path)
        w = setup_world(d, repo)
        yield d, w, url, extra, daemons, tmp_path
    finally:
        for dd in daemons:
            if dd.proc and dd.proc.poll() is None:
                dd.stop()
        redis.terminate()
        redis.wait()
        subprocess.run(["umount", "-l", str(state)], capture_output=True)


# ----------------------------------------------------------------- tests

def test_runneld_killed_between_take_and_commit_loses_nothing(reliable_world):
    """A flood job on the Redis bus; runneld SIGKILLed three times while its
    events flow, restarted each time: (1) mid-job, with a batch taken off
    the bus and its transaction waiting; (2) while the restarted runneld
    replays, its batch waiting the same way; (3) at a random moment of a
    second job. Every event of each job is stored exactly once and the
    job's record is true."""
    d, w, url, extra, daemons, tmp = reliable_world
    state = d.state_dir
    rc = RedisClient(url)
    proc_list = processing_list(state)
    try:
        # 1. mid-job: events cannot be committed (the disk is all but full),
        # the receiver has taken a batch
        job1 = launch_loop(d, w, 2500)
        wait_for(lambda: d.get("/api/v2/jobs/%d/" % job1)["stored_events"] >= 200, timeout=180,
                 interval=0.05, what="job %d to store its first events" % job1)
        worker1 = d.get("/api/v2/jobs/%d/" % job1)["worker_pid"]
        with disk_all_but_full(state):
            stored_before = len(db_counters(state, job1))

            def taken():
                # sent by the worker, neither stored nor on the queue: the
                # receiver took them off the bus and cannot commit them
                return sent_to_bus(state, job1) - len(db_counters(state, job1)) - rc.cmd("LLEN", "callback_tasks")
            wait_for(lambda: taken() >= 5 and "events wait until space is freed" in d.log(), timeout=30,
                     interval=0.05, what="the receiver to take events it cannot store")
            time.sleep(0.2)
            stored_before = len(db_counters(state, job1))
            print("kill 1: %d stored, %d taken and not stored (%d in the processing list), %d on the queue" % (
                stored_before, taken(), rc.cmd("LLEN", proc_list), rc.cmd("LLEN", "callback_tasks")))
            kill9(d)
            # the worker got SIGTERM with runneld gone: it ends the job and sends the rest
            wait_for(lambda: not pid_alive(worker1), timeout=60, what="job %d's worker to end" % job1)
            assert len(db_counters(state, job1)) == stored_before

            # 2. the restarted runneld replays, cannot commit, and is killed too.
            # What it replays is what is on the queue plus what runneld 1 took
            # and never acked (the worker may have sent everything before kill 1).
            queued = rc.cmd("LLEN", "callback_tasks")
            unacked = rc.cmd("LLEN", proc_list)
            assert queued + unacked > 0, "nothing to replay for the restart: the test proves nothing"
            d2 = Runneld(state, bus=url, extra=extra)
            daemons.append(d2)
            d2.start()
            # the receiver puts back what its predecessor took, then takes
            # events off the queue into its processing list again
            wait_for(lambda: (unacked == 0 or "were put back on it" in d2.log())
                     and rc.cmd("LLEN", proc_list) > 0, timeout=30, interval=0.02,
                     what="the restarted receiver to take events")
            time.sleep(0.5)  # it tries to store them, and cannot
            print("kill 2: %d on the queue, %d in the processing list" % (
                rc.cmd("LLEN", "callback_tasks"), rc.cmd("LLEN", proc_list)))
            assert len(db_counters(state, job1)) == stored_before
            kill9(d2)

        # 3. space again, and a second job killed at a random moment of its flow
        d3 = Runneld(state, bus=url, extra=extra).start()
        daemons.append(d3)
        job2 = launch_loop(d3, w, 1500)
        at = random.randint(50, 900)
        wait_for(lambda: d3.get("/api/v2/jobs/%d/" % job2)["stored_events"] >= at, timeout=300,
                 interval=0.02, what="job %d to store %d events" % (job2, at))
        worker2 = d3.get("/api/v2/jobs/%d/" % job2)["worker_pid"]
        kill9(d3)
        print("kill 3: after %d events of job %d" % (at, job2))
        wait_for(lambda: not pid_alive(worker2), timeout=60, what="job %d's worker to end" % job2)

        d4 = Runneld(state, bus=url, extra=extra).start()
        daemons.append(d4)
        for job in (job1, job2):
            j = wait_for(lambda: (lambda j: j if j["status"] not in ACTIVE else None)(
                d4.get("/api/v2/jobs/%d/" % job)), timeout=90, interval=0.25, what="job %d to end" % job)
            assert j["status"] in ("failed", "error"), j  # runneld stopped under it
            try:
                wait_for(lambda: d4.get("/api/v2/jobs/%d/" % job)["event_processing_finished"], timeout=30,
                         interval=0.25, what="job %d's events all stored" % job)
            except AssertionError:
                pass  # what is missing is said next
            assert_every_event_once(d4, state, job)
        assert rc.cmd("LLEN", "callback_tasks") == 0
        # acks go out with the receiver's next take (up to its 200 ms idle wait later)
        wait_for(lambda: rc.cmd("LLEN", proc_list) == 0, timeout=5, interval=0.05,
                 what="the stored events to be acked")
        assert "were put back on it" in d4.log(), "the replay is logged"
    finally:
        rc.close()


def event(job_id, counter, name="verbose"):
    return json.dumps({"event": name, "uuid": "00000000-0000-4000-8000-%012d" % counter, "counter": counter,
                       "created": "2026-01-01T12:00:00.%06d" % counter, "stdout": "line %d" % counter,
                       "start_line": counter - 1, "end_line": counter, "job_id": job_id,
                       "event_data": {}, "runner_ident": str(job_id)})


def test_processing_list_left_by_a_dead_runneld_is_stored_at_start(tmp_path):
    """What a dead runneld left in its processing list (taken, never acked)
    is stored by the next runneld on the state dir, before and with what
    waits on the queue, each event once (one of them also sits on the queue
    again: stored once); a processing list of another runneld (another
    state dir) is left alone; both lists end empty, the job complete."""
    if not shutil.which("redis-server"):
        pytest.skip("redis-server is not installed (apt-get install redis-server)")
    redis, url = start_redis(tmp_path)
    state = str(tmp_path / "state")
    rc = RedisClient(url)
    try:
        ans = ctl(state, url, [{"cmd": "create", "kind": "jobs", "fields": {"name": "replayed"}}])
        job = ans[0]["result"]["id"]
        ctl(state, url, [{"cmd": "cancel", "id": job}])  # a row no worker runs
        mine = processing_list(state)
        other = processing_list(str(tmp_path / "another-state"))
        # the dead receiver had taken 1..40 (not acked); 41..45 and the EOF wait on the queue,
        # with 7 again (a producer retried it)
        rc.cmd("RPUSH", mine, *[event(job, c) for c in range(1, 41)])
        rc.cmd("RPUSH", "callback_tasks", *([event(job, 7)] + [event(job, c) for c in range(41, 46)] +
                                             [json.dumps({"event": "EOF", "final_counter": 45, "job_id": job})]))
        rc.cmd("RPUSH", other, event(job, 99))
        d = Runneld(state, bus=url).start()
        try:
            j = wait_for(lambda: (lambda j: j if j["event_processing_finished"] else None)(
                d.get("/api/v2/jobs/%d/" % job)), timeout=60, what="the replayed events stored")
            rows = db_counters(state, job)
            assert sorted(rows) == list(range(1, 46)), rows
            assert j["stored_events"] == j["emitted_events"] == 45, j
            assert rc.cmd("LLEN", mine) == 0 and rc.cmd("LLEN", "callback_tasks") == 0
            assert rc.cmd("LRANGE", other, 0, -1) == [event(job, 99).encode()], "another runneld's list"
            assert "40 messages taken off the bus but not acked" in d.log(), d.log()[-2000:]
        finally:
            d.stop()
    finally:
        rc.close()
        redis.terminate()
        redis.wait()
