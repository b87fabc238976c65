"""runneld test harness: a real runneld on a free loopback port with a temp
state dir (stopped by pid), a redis-server of its own, a git project and the
world most API tests start from. Shared by every runneld suite.

Environment: RUNNELD (default <repo>/build/service/runneld).
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest
import requests

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parents[1]
FIXTURES = HERE / "service"
RUNNELD = os.environ.get("RUNNELD", str(REPO_ROOT / "build" / "service" / "runneld"))
PASSWORD = "admin-pw-for-tests"
SECRET_PW = "PLANTED-s3cret-Passw0rd-7d1e"
SECRET_BECOME = "PLANTED-become-9f3a"
ACTIVE = ("new", "pending", "waiting", "running")
AWX_COLLECTION = Path("/usr/lib/python3/dist-packages/ansible_collections/awx/awx")

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(fn, timeout=60.0, interval=0.1, what="condition"):
    """Call fn until it returns a truthy value; fail after timeout."""
    end = time.monotonic() + timeout
    last = None
    while time.monotonic() < end:
        last = fn()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError("timed out waiting for %s (last: %r)" % (what, last))


def pid_alive(pid):
    if not pid:
        return False
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().split(") ")[-1][0] != "Z"
    except OSError:
        return False


def pids_with_cmdline(needle):
    """Pids of processes whose command line holds needle."""
    found = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % d, "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if needle in cmd and int(d) != os.getpid() and pid_alive(int(d)):
            found.append(int(d))
    return found


class Runneld:
    """A runneld process with its state dir, log file and an API client."""

    def __init__(self, state_dir, bus="local", extra=(), env=None):
        self.state_dir = str(state_dir)
        self.bus = bus
        self.extra = list(extra)
        self.env = dict(env or {})
        self.log_path = os.path.join(self.state_dir + ".log")
        self.proc = None
        self.port = None

    def start(self):
        os.makedirs(self.state_dir, exist_ok=True)
        env = dict(os.environ)
        env["RUNNEL_ADMIN_PASSWORD"] = PASSWORD
        env.update(self.env)
        self.port = free_port()
        args = [RUNNELD, "--state-dir", self.state_dir, "--listen", "127.0.0.1:%d" % self.port,
                "--bus", self.bus] + self.extra
        self.log_offset = os.path.getsize(self.log_path) if os.path.exists(self.log_path) else 0
        self.logf = open(self.log_path, "ab")
        self.proc = subprocess.Popen(args, stdout=self.logf, stderr=self.logf, env=env,
                                     start_new_session=True)
        wait_for(self._listening, timeout=30, what="runneld listening")
        self.session = requests.Session()
        self.session.auth = ("admin", PASSWORD)
        return self

    def _listening(self):
        if self.proc.poll() is not None:
            raise AssertionError("runneld exited: %s" % self.log())
        try:
            return requests.get(self.url("/api/v2/ping/"), timeout=2).status_code == 200
        except requests.ConnectionError:
            return False

    def url(self, path):
        return "http://127.0.0.1:%d%s" % (self.port, path)

    def log(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode(errors="replace")

    def stop(self, sig=signal.SIGTERM, timeout=30):
        if self.proc and self.proc.poll() is None:
            os.kill(self.proc.pid, sig)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        if self.proc:
            self.logf.close()
        return self.proc.returncode if self.proc else None

    # API calls: return the response; .json() where useful
    def req(self, method, path, **kw):
        kw.setdefault("timeout", 30)
        if "json" in kw or method in ("POST", "PUT", "PATCH"):
            kw.setdefault("headers", {})
        return self.session.request(method, self.url(path), **kw)

    def get(self, path, **kw):
        r = self.req("GET", path, **kw)
        assert r.status_code == 200, (path, r.status_code, r.text)
        return r.json()

    def post(self, path, data=None, expect=(200, 201, 202, 204)):
        r = self.req("POST", path, json=data if data is not None else {})
        assert r.status_code in expect, (path, r.status_code, r.text)
        return r.json() if r.text else None

    def create(self, plural, **fields):
        return self.post("/api/v2/%s/" % plural, fields, expect=(201,))

    def all_pages(self, path):
        out = []
        url = path + ("&" if "?" in path else "?") + "page_size=200"
        while url:
            page = self.get(url)
            out.extend(page["results"])
            url = page["next"]
        return out

    def wait_job(self, job_url, timeout=120, processed=True):
        def done():
            j = self.get(job_url)
            if j["status"] in ACTIVE:
                return None
            if processed and not j.get("event_processing_finished"):
                return None
            return j
        return wait_for(done, timeout=timeout, interval=0.2, what="job %s to finish" % job_url)


def git(cwd, *args):
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", "-c", "init.defaultBranch=main"] + list(args),
                   cwd=cwd, check=True, capture_output=True)


def make_git_project(root):
    """A git repository holding the test playbooks and inventories."""
    repo = Path(root) / "repo"
    shutil.copytree(FIXTURES / "project", repo)
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "test project")
    rev = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, check=True, capture_output=True,
                         text=True).stdout.strip()
    return repo, rev


def start_redis(tmp, port=None):
    """A redis-server on 127.0.0.1 (a free port unless given), no persistence:
    a kill -9 loses what it held. (Popen, "redis://127.0.0.1:PORT")."""
    exe = shutil.which("redis-server")
    if not exe:
        pytest.skip("redis-server is not installed (apt-get install redis-server)")
    port = port or free_port()
    proc = subprocess.Popen([exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "no", "--dir", str(tmp)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)

    def up():
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
                s.sendall(b"PING\r\n")
                return s.recv(16).startswith(b"+PONG")
        except OSError:
            return proc.poll() is not None and pytest.fail("redis-server on %d exited" % port)
    wait_for(up, timeout=15, what="redis-server on port %d" % port)
    return proc, "redis://127.0.0.1:%d" % port


def setup_world(d, repo):
    """Organization, inventory with hosts, a git project (updated), templates."""
    w = {}
    w["org"] = d.create("organizations", name="Org")
    w["inv"] = d.create("inventories", name="Inv", organization=w["org"]["id"])
    inv = w["inv"]["id"]
    local = {"ansible_connection": "local", "ansible_python_interpreter": "/usr/bin/python3"}
    w["localhost"] = d.post("/api/v2/inventories/%d/hosts/" % inv,
                            {"name": "localhost", "variables": json.dumps(local)}, expect=(201,))
    d.post("/api/v2/inventories/%d/hosts/" % inv, {"name": "failhost", "variables": json.dumps(local)},
           expect=(201,))
    d.post("/api/v2/inventories/%d/hosts/" % inv,
           {"name": "badhost", "variables": json.dumps({"ansible_connection": "ssh", "ansible_host": "127.0.0.1",
                                                        "ansible_port": 1, "ansible_user": "nobody"})},
           expect=(201,))
    w["project"] = d.create("projects", name="Proj", organization=w["org"]["id"], scm_type="git",
                            scm_url="file://%s" % repo)
    cur = w["project"]["summary_fields"].get("current_update")
    assert cur, w["project"]
    w["project_update"] = d.wait_job("/api/v2/project_updates/%d/" % cur["id"])
    w["jt"] = d.create("job_templates", name="OK", project=w["project"]["id"], inventory=inv,
                       playbook="ok.yml", limit="localhost", ask_limit_on_launch=True,
                       ask_variables_on_launch=True)
    w["jt_sleep"] = d.create("job_templates", name="Sleep", project=w["project"]["id"], inventory=inv,
                             playbook="sleep.yml", limit="localhost", ask_variables_on_launch=True)
    return w
