"""runneld's process faults (the fault suite's process half): a worker killed
with SIGKILL mid-job, runneld itself killed with SIGKILL mid-job and started
again on the same state dir, a second runneld on a state dir in use.

AWX's promise: a job's record is the truth; a fault may delay a job's record,
never falsify it. So each test checks the record (status, explanation,
emitted vs stored events, no event lost or duplicated) and the machine (no
process of the job left, its private data dir gone).

A job's processes are found as the acceptance asks: by its private data dir
(each test has an isolation base of its own) in /proc/*/cmdline or environ,
and by the unique nap of its sleep in the command line.
"""

import json
import os
import re
import random
import signal
import socket
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

from runneld_harness import (PASSWORD, RUNNELD, Runneld, git, make_git_project, pid_alive,
                             pids_with_cmdline, setup_world, start_redis, wait_for)

FINAL = ("successful", "failed", "error", "canceled")

# A playbook whose job leaves its process group and session: what a process
# group kill misses. The daemon holds the nap in its command line.
ESCAPE = """
- hosts: all
  gather_facts: false
  tasks:
    - name: started
      debug:
        msg: started
    - name: a daemon in a session of its own
      shell: "setsid sleep {{ nap }} > /dev/null 2>&1 < /dev/null &"
    - name: the job's own sleep
      command: "sleep {{ nap }}"
"""

# Events in a burst once a file appears, then a long sleep.
BURST = """
- hosts: all
  gather_facts: false
  tasks:
    - name: started
      debug:
        msg: started
    - name: wait for the go
      wait_for:
        path: "{{ go_file }}"
        timeout: 120
    - name: burst
      debug:
        msg: "item {{ item }}"
      loop: "{{ range(40) | list }}"
    - name: nap
      command: "sleep {{ nap }}"
"""


def job_pids(iso, nap=None):
    """Live processes that belong to a job under the isolation base iso: the
    path in their command line or environment, or the nap in the command line."""
    iso = (str(iso) + "/").encode()  # a private data dir below it (runneld's own argv has iso)
    found = set()
    for d in os.listdir("/proc"):
        if not d.isdigit() or int(d) == os.getpid():
            continue
        pid = int(d)
        try:
            with open("/proc/%d/cmdline" % pid, "rb") as f:
                cmd = f.read()
            with open("/proc/%d/environ" % pid, "rb") as f:
                env = f.read()
        except OSError:
            continue
        if not pid_alive(pid):
            continue
        if iso in cmd or iso in env:
            found.add(pid)
    if nap:
        found.update(pids_with_cmdline("sleep %s" % nap))
    return found


def describe(pids):
    out = []
    for p in sorted(pids):
        try:
            out.append("%d: %s" % (p, open("/proc/%d/cmdline" % p, "rb").read().replace(b"\0", b" ")
                                   .decode(errors="replace")[:200]))
        except OSError:
            out.append("%d: gone" % p)
    return "; ".join(out)


def wait_job_gone(iso, nap, timeout=10):
    """Wait until no process of the job is left; fail naming what is."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        left = job_pids(iso, nap)
        if not left:
            return
        time.sleep(0.05)
    raise AssertionError("processes of the job left: " + describe(job_pids(iso, nap)))


def redis_llen(url, queue="callback_tasks"):
    host, port = url[len("redis://"):].split(":")
    with socket.create_connection((host, int(port)), timeout=5) as s:
        s.sendall(b"LLEN %s\r\n" % queue.encode())
        reply = s.recv(64)
    assert reply.startswith(b":"), reply
    return int(reply[1:].split(b"\r\n")[0])


def stored_in_db(state_dir, job_id):
    """Events of the job in the store, read from the file (runneld is stopped)."""
    db = sqlite3.connect(os.path.join(state_dir, "runneld.db"), timeout=30)
    try:
        return db.execute("SELECT count(*) FROM events WHERE job_id = ?", (job_id,)).fetchone()[0]
    finally:
        db.close()


def nap_value():
    # a sleep no other test runs: its command line finds it
    return "%d.%04d" % (random.randint(200, 299), random.randint(0, 9999))


@pytest.fixture(params=["local", "redis"])
def world(request, tmp_path):
    """A runneld (local or Redis bus) with an isolation base of its own, the
    test project with ESCAPE and BURST added, and the usual world."""
    redis = None
    bus = "local"
    if request.param == "redis":
        redis, bus = start_redis(tmp_path)
    iso = tmp_path / "iso"
    iso.mkdir()
    repo, _ = make_git_project(tmp_path)
    (repo / "escape.yml").write_text(ESCAPE)
    (repo / "burst.yml").write_text(BURST)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "fault playbooks")
    # the go file of BURST is where jobs can see it: jobs run sandboxed, and
    # a show path (AWX_ISOLATION_SHOW_PATHS) is how an operator shares one
    gate = tmp_path / "gate"
    gate.mkdir()
    extra = ["--isolation-base-path", str(iso), "--job-isolation-show-paths", json.dumps([str(gate)])]
    d = Runneld(tmp_path / "state", bus=bus, extra=extra).start()
    w = setup_world(d, repo)
    inv, proj = w["inv"]["id"], w["project"]["id"]
    for name, playbook in (("Escape", "escape.yml"), ("Burst", "burst.yml")):
        w[name] = d.create("job_templates", name=name, project=proj, inventory=inv, playbook=playbook,
                           limit="localhost", ask_variables_on_launch=True)

    class World:
        pass

    x = World()
    x.d, x.w, x.iso, x.tmp, x.bus, x.extra, x.redis = d, w, iso, tmp_path, bus, extra, redis
    x.daemons = [d]
    yield x
    for dd in x.daemons:
        dd.stop()
    for pid in job_pids(iso):
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    if redis:
        redis.terminate()
        redis.wait()


def launch(d, jt, **extra_vars):
    r = d.post("/api/v2/job_templates/%d/launch/" % jt["id"], {"extra_vars": json.dumps(extra_vars)},
               expect=(201,))
    return r["job"]


def counters(d, job_id):
    evs = d.all_pages("/api/v2/jobs/%d/job_events/?order_by=counter" % job_id)
    return [e["counter"] for e in evs]


def assert_no_event_lost_or_twice(d, job_id, before):
    c = counters(d, job_id)
    assert len(c) == len(set(c)), "an event was stored twice: %r" % c
    assert set(before) <= set(c), "an event stored before the fault is gone"
    return c


def test_worker_sigkill_ends_the_whole_job(world):
    d, w, iso = world.d, world.w, world.iso
    nap = nap_value()
    job_id = launch(d, w["Escape"], nap=nap)
    # both sleeps run: the job's own and the daemon in a session of its own
    wait_for(lambda: len(pids_with_cmdline("sleep %s" % nap)) >= 2, timeout=90,
             what="the job's sleeps")
    job = d.get("/api/v2/jobs/%d/" % job_id)
    assert job["status"] == "running"
    worker = job["worker_pid"]
    before = job_pids(iso, nap)
    assert pid_alive(worker) and len(before) >= 3, describe(before)  # ansible, sleeps
    sessions = {int(open("/proc/%d/stat" % p).read().rsplit(") ", 1)[1].split()[4]) for p in before
                if pid_alive(p)}
    assert len(sessions) >= 2, "the playbook did not leave ansible's session"
    pdds = list(iso.iterdir())
    assert len(pdds) == 1 and pdds[0].name.startswith("job_%d_" % job_id), pdds

    os.kill(worker, signal.SIGKILL)
    t0 = time.monotonic()
    # no process of the job is left, within a short bound
    wait_job_gone(iso, nap)
    gone_after = time.monotonic() - t0
    j = d.wait_job("/api/v2/jobs/%d/" % job_id, timeout=30)
    assert j["status"] == "error", j
    why = j["job_explanation"]
    assert "killed by signal 9 (SIGKILL)" in why, why
    assert "pid %d" % worker in why, why
    assert "removed its private data dir %s" % pdds[0] in why, why
    # the figures in the explanation are the record's, and they are true
    stored = d.get("/api/v2/jobs/%d/job_events/?page_size=1" % job_id)["count"]
    assert j["emitted_events"] == stored == j["stored_events"], j
    assert "%d of the %d events the worker had sent were stored" % (stored, stored) in why, why
    assert stored >= 3, stored
    c = assert_no_event_lost_or_twice(d, job_id, [])
    assert c == list(range(1, len(c) + 1)), c
    assert j["event_processing_finished"] is True
    assert list(iso.iterdir()) == [], "the private data dir was left behind"
    assert gone_after < 10
    assert "ended" in d.log() and "process" in d.log()
    # later jobs still run
    ok = launch(d, w["jt"])
    j2 = d.wait_job("/api/v2/jobs/%d/" % ok, timeout=120)
    assert j2["status"] == "successful", j2
    assert j2["emitted_events"] == j2["stored_events"] > 0
    assert list(iso.iterdir()) == []
    assert not os.path.exists(os.path.join(d.state_dir, "procs", "job_%d" % job_id))


def test_worker_sigkill_keeps_the_private_data_dir_on_purpose(tmp_path):
    iso = tmp_path / "iso"
    iso.mkdir()
    repo, _ = make_git_project(tmp_path)
    d = Runneld(tmp_path / "state", extra=["--isolation-base-path", str(iso)],
                env={"AWX_CLEANUP_PATHS": "false"}).start()
    try:
        w = setup_world(d, repo)
        nap = nap_value()
        job_id = launch(d, w["jt_sleep"], sleep_seconds=nap)
        wait_for(lambda: pids_with_cmdline("sleep %s" % nap), timeout=90, what="the job's sleep")
        worker = d.get("/api/v2/jobs/%d/" % job_id)["worker_pid"]
        pdd = [p for p in iso.iterdir() if p.name.startswith("job_%d_" % job_id)]
        assert len(pdd) == 1
        os.kill(worker, signal.SIGKILL)
        j = d.wait_job("/api/v2/jobs/%d/" % job_id, timeout=30)
        assert j["status"] == "error", j
        assert "kept its private data dir %s (AWX_CLEANUP_PATHS=false)" % pdd[0] in j["job_explanation"]
        assert j["private_data_dir"] == str(pdd[0])
        assert pdd[0].is_dir() and (pdd[0] / "env" / "extravars").exists()
        wait_job_gone(iso, nap)
    finally:
        d.stop()


def test_runneld_sigkill_mid_job_then_restart(world):
    """kill -9 of runneld while its job's events are still on the bus (runneld
    was stopped while the job emitted a burst), then runneld again on the same
    state dir: the record is true, nothing stored is lost or stored twice,
    nothing of the job is left."""
    d, w, iso = world.d, world.w, world.iso
    nap = nap_value()
    go = world.tmp / "gate" / "go"
    job_id = launch(d, w["Burst"], nap=nap, go_file=str(go))
    wait_for(lambda: any(e["event"] == "runner_on_ok" for e in
                         d.all_pages("/api/v2/jobs/%d/job_events/" % job_id)),
             timeout=90, what="the first task's event stored")
    before = counters(d, job_id)
    assert before
    os.kill(d.proc.pid, signal.SIGSTOP)  # the receiver reads nothing from now on
    try:
        go.write_text("go")
        wait_for(lambda: pids_with_cmdline("sleep %s" % nap), timeout=90,
                 what="the burst sent and the nap running")
        time.sleep(0.3)
        # what the store holds and what the bus holds as runneld dies
        stored_at_kill = stored_in_db(d.state_dir, job_id)
        on_bus = redis_llen(world.bus) if world.bus != "local" else 0
    finally:
        os.kill(d.proc.pid, signal.SIGKILL)
        os.kill(d.proc.pid, signal.SIGCONT)
    d.proc.wait()
    d.logf.close()

    d2 = Runneld(d.state_dir, bus=world.bus, extra=world.extra).start()
    world.daemons.append(d2)
    j = d2.wait_job("/api/v2/jobs/%d/" % job_id, timeout=60, processed=False)
    why = j["job_explanation"]
    # a shutdown fails the job; events its worker could not see stored make
    # it an error that says how many (the bus-fault rule)
    unstored = re.search(r"\d+ of the \d+ events|\d+ of \d+ events", why)
    assert j["status"] == ("error" if unstored else "failed"), (j["status"], why)
    assert "runneld" in why and "stopped" in why, why
    wait_job_gone(iso, nap)
    assert list(iso.iterdir()) == [], "the private data dir was left behind"
    emitted = j["emitted_events"]
    assert emitted >= len(before) + 40, j  # the worker sent the burst
    if world.bus == "local":
        # what was in runneld's socket when it died is gone; the record says so
        j = d2.get("/api/v2/jobs/%d/" % job_id)
        c = assert_no_event_lost_or_twice(d2, job_id, before)
        assert j["stored_events"] == len(c) <= emitted
        if len(c) < emitted:
            assert "%d of the %d events it emitted were on runneld's local bus and are lost" % (
                emitted - len(c), emitted) in j["job_explanation"], j
            assert j["event_processing_finished"] is False
    else:
        # Redis kept them: every event that was on the bus is stored, once
        # (an event the dead runneld had taken off the bus but not stored yet
        # is the receiver's to keep: see the report)
        assert on_bus >= 40, on_bus
        wait_for(lambda: d2.get("/api/v2/jobs/%d/" % job_id)["stored_events"] >= stored_at_kill + on_bus,
                 timeout=60, what="the events on the bus stored")
        j = d2.get("/api/v2/jobs/%d/" % job_id)
        c = assert_no_event_lost_or_twice(d2, job_id, before)
        assert len(c) == j["stored_events"] <= j["emitted_events"], (len(c), j)
        assert max(c) == j["emitted_events"], (c, j)  # the last one sent is there
        if len(c) == j["emitted_events"]:
            assert j["event_processing_finished"] is True
    assert not os.listdir(os.path.join(d.state_dir, "procs"))
    # the restarted runneld runs jobs
    ok = launch(d2, w["jt"])
    assert d2.wait_job("/api/v2/jobs/%d/" % ok, timeout=120)["status"] == "successful"


def test_runneld_sigkill_while_worker_is_killed_too(world):
    """runneld and the worker both die at once (kill -9 of each): the next
    runneld ends the job's processes itself and fails the job saying so.
    Without job isolation: in its sandbox a job's processes die with its
    worker (test_security_isolation.py), so nothing would be left to reap."""
    w, iso = world.w, world.iso
    world.d.stop()
    extra = world.extra + ["--job-isolation", "false"]
    d = Runneld(world.d.state_dir, bus=world.bus, extra=extra).start()
    world.daemons.append(d)
    nap = nap_value()
    job_id = launch(d, w["Escape"], nap=nap)
    wait_for(lambda: len(pids_with_cmdline("sleep %s" % nap)) >= 2, timeout=90, what="the job's sleeps")
    job = d.get("/api/v2/jobs/%d/" % job_id)
    before = counters(d, job_id)
    os.kill(job["worker_pid"], signal.SIGKILL)
    os.kill(d.proc.pid, signal.SIGKILL)
    d.proc.wait()
    d.logf.close()
    assert job_pids(iso, nap), "nothing left to reap: the test proves nothing"
    d2 = Runneld(d.state_dir, bus=world.bus, extra=extra).start()
    world.daemons.append(d2)
    assert not job_pids(iso, nap), "the restarted runneld left the job's processes running: " + \
        describe(job_pids(iso, nap))
    j = d2.get("/api/v2/jobs/%d/" % job_id)
    assert j["status"] == "failed", j
    why = j["job_explanation"]
    assert "runneld stopped while this job ran" in why, why
    assert "remaining process" in why and "removed its private data dir" in why, why
    assert list(iso.iterdir()) == []
    c = assert_no_event_lost_or_twice(d2, job_id, before)
    assert j["emitted_events"] >= len(c)


def test_second_runneld_refuses_and_touches_nothing(tmp_path):
    iso = tmp_path / "iso"
    iso.mkdir()
    repo, _ = make_git_project(tmp_path)
    d = Runneld(tmp_path / "state", extra=["--isolation-base-path", str(iso)]).start()
    try:
        w = setup_world(d, repo)
        job_id = launch(d, w["jt_sleep"], sleep_seconds=3)
        wait_for(lambda: d.get("/api/v2/jobs/%d/" % job_id)["status"] == "running", timeout=60,
                 what="the job running")
        worker = d.get("/api/v2/jobs/%d/" % job_id)["worker_pid"]
        sock = os.path.join(d.state_dir, "bus.sock")
        st = os.stat(sock)
        env = dict(os.environ, RUNNEL_ADMIN_PASSWORD=PASSWORD)
        second = subprocess.run([RUNNELD, "--state-dir", d.state_dir, "--listen", "127.0.0.1:0",
                                 "--isolation-base-path", str(iso)],
                                capture_output=True, text=True, timeout=30, env=env)
        assert second.returncode != 0
        out = second.stdout + second.stderr
        assert "in use by runneld pid %d" % d.proc.pid in out, out
        # it touched nothing: the bus socket is the first one's, the worker runs
        st2 = os.stat(sock)
        assert (st2.st_ino, st2.st_mtime_ns) == (st.st_ino, st.st_mtime_ns)
        assert pid_alive(worker)
        assert open(os.path.join(d.state_dir, "runneld.lock")).read().strip() == str(d.proc.pid)
        j = d.wait_job("/api/v2/jobs/%d/" % job_id, timeout=120)
        assert j["status"] == "successful", j
        assert j["emitted_events"] == j["stored_events"] > 0
        assert d.proc.poll() is None
    finally:
        d.stop()
    # once the first one is gone, the state dir is free again
    d2 = Runneld(tmp_path / "state", extra=["--isolation-base-path", str(iso)]).start()
    try:
        assert d2.proc.poll() is None
    finally:
        d2.stop()


def test_shutdown_with_a_hung_worker(tmp_path):
    """SIGTERM to runneld while a worker is hung (stopped): after the
    shutdown grace runneld kills the worker; the job's other processes are
    ended with it, its private data dir removed, and the job fails saying so."""
    iso = tmp_path / "iso"
    iso.mkdir()
    repo, _ = make_git_project(tmp_path)
    d = Runneld(tmp_path / "state", extra=["--isolation-base-path", str(iso), "--shutdown-grace", "1"]).start()
    try:
        w = setup_world(d, repo)
        nap = nap_value()
        job_id = launch(d, w["jt_sleep"], sleep_seconds=nap)
        wait_for(lambda: pids_with_cmdline("sleep %s" % nap), timeout=90, what="the job's sleep")
        worker = d.get("/api/v2/jobs/%d/" % job_id)["worker_pid"]
        os.kill(worker, signal.SIGSTOP)
        assert d.stop(signal.SIGTERM, timeout=30) == 0
        assert not pid_alive(worker)
        wait_job_gone(iso, nap)
        assert list(iso.iterdir()) == []
    finally:
        d.stop()
    d2 = Runneld(tmp_path / "state", extra=["--isolation-base-path", str(iso)]).start()
    try:
        j = d2.get("/api/v2/jobs/%d/" % job_id)
        assert j["status"] == "failed", j
        why = j["job_explanation"]
        assert "killed by signal 9 (SIGKILL) while runneld was shutting down" in why, why
        assert "removed its private data dir" in why, why
        assert j["emitted_events"] >= j["stored_events"] > 0
    finally:
        d2.stop()
