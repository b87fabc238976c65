"""`make demo` (scripts/demo-service) against an earlier demo still running:
it stops the earlier demo's own runneld (the pid in the state dir's lock) and
leaves any other runneld on that state dir alone, saying where it runs.
RUNNEL_DEMO_RUN points the demo at a directory of the test's own.
"""

import os
import re
import shutil
import signal
import subprocess
import sys

import pytest

from runneld_harness import PASSWORD, REPO_ROOT, RUNNELD, free_port, pid_alive, wait_for

DEMO = REPO_ROOT / "scripts" / "demo-service"
DEMO_RUNNELD = REPO_ROOT / "build" / "service" / "runneld"

pytestmark = pytest.mark.skipif(os.path.realpath(RUNNELD) != os.path.realpath(DEMO_RUNNELD),
                                reason="the demo runs this checkout's build/service/runneld")


def start_runneld(exe, state, log):
    """A runneld on state, as the demo starts it (its own session)."""
    os.makedirs(state, exist_ok=True)
    env = dict(os.environ, RUNNEL_ADMIN_PASSWORD=PASSWORD)
    p = subprocess.Popen([str(exe), "--listen", "127.0.0.1:%d" % free_port(), "--state-dir", str(state)],
                         stdout=log, stderr=log, env=env, start_new_session=True)
    lock = os.path.join(str(state), "runneld.lock")

    def holds():
        assert p.poll() is None, "runneld exited"
        return os.path.exists(lock) and open(lock).read().strip() == str(p.pid)
    wait_for(holds, timeout=30, what="runneld holding its lock")
    return p


def run_demo(run, timeout=300):
    env = dict(os.environ, RUNNEL_DEMO_RUN=str(run))
    return subprocess.run([sys.executable, str(DEMO)], capture_output=True, text=True, timeout=timeout,
                          env=env)


def stop(p):
    if p.poll() is None:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def test_demo_leaves_another_runneld_alone(tmp_path):
    run = tmp_path / "run"
    other = tmp_path / "other"
    other.mkdir()
    exe = other / "runneld"  # not this checkout's runneld: not the demo's own
    shutil.copy2(DEMO_RUNNELD, exe)
    with open(tmp_path / "other.log", "wb") as log:
        p = start_runneld(exe, run / "state", log)
    try:
        r = run_demo(run, timeout=60)
        assert r.returncode != 0
        assert "a runneld (pid %d) is running on %s" % (p.pid, run / "state") in r.stderr, r.stderr
        assert "left running" in r.stderr
        assert p.poll() is None, "the demo stopped a runneld that is not its own"
        assert (run / "state" / "runneld.db").exists(), "the demo deleted the state dir under it"
    finally:
        stop(p)


def test_demo_stops_the_earlier_demo_first(tmp_path):
    run = tmp_path / "run"
    # an earlier demo's runneld: this checkout's, on the demo's state dir
    with open(tmp_path / "earlier.log", "wb") as log:
        earlier = start_runneld(DEMO_RUNNELD, run / "state", log)
    demo_pid = None
    try:
        r = run_demo(run)
        assert r.returncode == 0, r.stdout + r.stderr
        assert "stopping the earlier demo's runneld (pid %d)" % earlier.pid in r.stdout, r.stdout
        assert earlier.wait(timeout=30) == 0  # it shut down cleanly (SIGTERM)
        m = re.search(r"runneld is still running \(pid (\d+)", r.stdout)
        assert m, r.stdout
        demo_pid = int(m.group(1))
        assert pid_alive(demo_pid)
        assert open(run / "state" / "runneld.lock").read().strip() == str(demo_pid)
        assert re.search(r"== job \d+: successful", r.stdout), r.stdout
    finally:
        stop(earlier)
        if demo_pid and pid_alive(demo_pid):
            os.kill(demo_pid, signal.SIGTERM)
            wait_for(lambda: not pid_alive(demo_pid), timeout=30, what="the demo's runneld to stop")
