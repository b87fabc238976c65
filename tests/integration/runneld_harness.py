"""runneld test harness: a real runneld on a free loopback port with a temp
state dir (stopped by pid), a redis-server of its own, a git project and the
world most API tests start from. Shared by every runneld suite.

Environment: RUNNELD (default <repo>/build/service/runneld); RUNNELD_STORE=pg
runs every Runneld of a suite on a throwaway PostgreSQL cluster of its own
(start_postgres) instead of the SQLite file in its state dir.
"""

import atexit
import contextlib
import json
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
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


def run_collection_playbook(d, playbook, extra_vars=(), env=None, timeout=600):
    """Run playbook (a path) with ansible-playbook on localhost, the awx.awx
    collection pointed at runneld d as admin (CONTROLLER_* in the
    environment); extra_vars: "k=v" strings for -e; env: more variables.
    The CompletedProcess (text)."""
    e = dict(os.environ)
    e.update({"CONTROLLER_HOST": d.url(""), "CONTROLLER_USERNAME": "admin",
              "CONTROLLER_PASSWORD": PASSWORD, "CONTROLLER_VERIFY_SSL": "false",
              "ANSIBLE_PYTHON_INTERPRETER": "/usr/bin/python3", "ANSIBLE_LOCALHOST_WARNING": "false",
              "ANSIBLE_INVENTORY_UNPARSED_WARNING": "false"})
    e.update(env or {})
    argv = ["ansible-playbook", "-i", "localhost,", "-c", "local", str(playbook)]
    for v in extra_vars:
        argv += ["-e", v]
    return subprocess.run(argv, env=e, capture_output=True, text=True, timeout=timeout)

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
        # RUNNELD_STORE=pg: a database of its own, kept across restarts
        self.store = [] if "--store" in self.extra else None

    def start(self):
        os.makedirs(self.state_dir, exist_ok=True)
        env = dict(os.environ)
        env["RUNNEL_ADMIN_PASSWORD"] = PASSWORD
        env.update(self.env)
        self.port = free_port()
        if self.store is None:
            self.store = store_args(os.path.basename(self.state_dir))
        args = [RUNNELD, "--state-dir", self.state_dir, "--listen", "127.0.0.1:%d" % self.port,
                "--bus", self.bus] + self.store + self.extra
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


class RedisClient:
    """A tiny RESP client (no dependency): commands and their replies."""

    def __init__(self, url):
        host, port = url[len("redis://"):].split(":")
        self.sock = socket.create_connection((host, int(port)), timeout=10)
        self.buf = b""

    def close(self):
        self.sock.close()

    def _line(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("redis closed the connection")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _exact(self, n):
        while len(self.buf) < n + 2:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("redis closed the connection")
            self.buf += chunk
        data, self.buf = self.buf[:n], self.buf[n + 2:]
        return data

    def _reply(self):
        line = self._line()
        kind, rest = line[:1], line[1:]
        if kind == b"+":
            return rest.decode()
        if kind == b"-":
            raise RuntimeError(rest.decode())
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            return None if n < 0 else self._exact(n)
        if kind == b"*":
            n = int(rest)
            return None if n < 0 else [self._reply() for _ in range(n)]
        raise RuntimeError("redis: %r" % line)

    def cmd(self, *args):
        out = [b"*%d\r\n" % len(args)]
        for a in args:
            a = a if isinstance(a, bytes) else str(a).encode()
            out.append(b"$%d\r\n%s\r\n" % (len(a), a))
        self.sock.sendall(b"".join(out))
        return self._reply()



CTL = os.path.join(os.path.dirname(RUNNELD), "runneld-ctl")


def ctl(state, url, cmds, store=()):
    """runneld-ctl (the engine alone, no HTTP) on state with the Redis bus at
    url and store's --store arguments, given cmds; the answers (each ok)."""
    p = subprocess.run([CTL, "--state-dir", state, "--bus", "redis", "--redis-url", url, *store],
                       input="\n".join(json.dumps(c) for c in cmds) + "\n", capture_output=True, text=True,
                       timeout=120)
    ans = [json.loads(l) for l in p.stdout.splitlines() if l.startswith("{")]
    assert p.returncode == 0 and len(ans) == len(cmds) + 1, (p.returncode, ans, p.stderr[-3000:])
    assert all(a.get("ok") for a in ans), (ans, p.stderr)
    return ans[1:]


PG_BIN = "/usr/lib/postgresql/15/bin"


class Postgres:
    """A throwaway PostgreSQL cluster: initdb + pg_ctl on a new dir under
    /tmp, TCP on 127.0.0.1 (a free port) and its unix socket in that dir,
    trust auth for loopback only. Run as an unprivileged user when we are
    root (initdb refuses root): the "postgres" user Debian's package makes,
    else nobody. stop() ends it (pg_ctl stop -m immediate, then SIGKILL by
    pid) and removes the dir."""

    def __init__(self, durable=False):
        import tempfile
        # under /tmp, not a caller's dir: the server's user must reach it
        self.dir = tempfile.mkdtemp(prefix="runnel-pg-", dir="/tmp")
        # tests: no fsync (a throwaway cluster); benchmarks: PostgreSQL's defaults
        self.durable = durable
        self.data = os.path.join(self.dir, "data")
        self.port = None
        self.user = "runnel"
        self.pid = None
        self.prefix = []

    def _run(self, args, **kw):
        return subprocess.run(self.prefix + args, check=True, capture_output=True, text=True,
                              timeout=kw.pop("timeout", 120), **kw)

    def start(self):
        if not os.path.exists(os.path.join(PG_BIN, "initdb")):
            pytest.skip("PostgreSQL 15 is not installed (apt-get install postgresql)")
        if os.geteuid() == 0:
            for name in ("postgres", "nobody"):
                try:
                    pw = pwd.getpwnam(name)
                    break
                except KeyError:
                    continue
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)
            self.prefix = ["setpriv", "--reuid", str(pw.pw_uid), "--regid", str(pw.pw_gid),
                           "--clear-groups", "--"]
        self._run([os.path.join(PG_BIN, "initdb"), "-D", self.data, "-U", self.user,
                   "--auth=trust", "--encoding=UTF8", "--locale=C", "--no-sync"])
        with open(os.path.join(self.data, "pg_hba.conf"), "w") as f:
            f.write("local all all trust\nhost all all 127.0.0.1/32 trust\n")
        self.port = free_port()
        opts = ("-c listen_addresses=127.0.0.1 -c port=%d -c unix_socket_directories=%s "
                "-c max_connections=200 -c shared_buffers=128MB" % (self.port, self.dir))
        if not self.durable:
            opts += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        self._run([os.path.join(PG_BIN, "pg_ctl"), "-D", self.data, "-o", opts, "-l",
                   os.path.join(self.dir, "log"), "-w", "-t", "60", "start"])
        with open(os.path.join(self.data, "postmaster.pid")) as f:
            self.pid = int(f.readline())
        atexit.register(self.stop)
        return self

    def url(self, db="postgres"):
        return "postgresql://%s@127.0.0.1:%d/%s" % (self.user, self.port, db)

    def psql(self, sql, db="postgres"):
        """Run sql (one statement) through psql; its output, tuples only."""
        return subprocess.run([os.path.join(PG_BIN, "psql"), "-X", "-q", "-At", "-v",
                               "ON_ERROR_STOP=1", "-d", self.url(db), "-c", sql],
                              check=True, capture_output=True, text=True, timeout=60).stdout

    def create_db(self, name):
        """A new empty database; its URL."""
        self.psql('CREATE DATABASE "%s"' % name)
        return self.url(name)

    def stop(self):
        if not self.pid:
            return
        try:
            self._run([os.path.join(PG_BIN, "pg_ctl"), "-D", self.data, "-m", "immediate",
                       "-w", "-t", "30", "stop"])
        except (subprocess.SubprocessError, OSError):
            pass
        if pid_alive(self.pid):
            os.kill(self.pid, signal.SIGKILL)
        self.pid = None
        shutil.rmtree(self.dir, ignore_errors=True)


def start_postgres(tmp=None, durable=False):
    """A throwaway PostgreSQL cluster (see Postgres; tmp is not used: the
    cluster lives in a dir of its own under /tmp), stopped at exit at the
    latest. Its url(db) is what runneld's --store takes."""
    return Postgres(durable=durable).start()


_shared_pg = None


class _ClusterAt:
    """A cluster someone else started (RUNNEL_TEST_PG_URL: its admin URL)."""

    def __init__(self, url):
        self.admin = url

    def create_db(self, name):
        subprocess.run([os.path.join(PG_BIN, "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d",
                        self.admin, "-c", 'CREATE DATABASE "%s"' % name],
                       check=True, capture_output=True, text=True, timeout=60)
        return self.admin.rsplit("/", 1)[0] + "/" + name


def store_args(name):
    """runneld's --store arguments for a Runneld of a suite: none (SQLite)
    unless RUNNELD_STORE=pg, then a new database named after name on the
    cluster of RUNNEL_TEST_PG_URL (scripts/run-tests starts one), else on
    one this test process starts."""
    global _shared_pg
    if os.environ.get("RUNNELD_STORE", "sqlite") not in ("pg", "postgresql"):
        return []
    if _shared_pg is None:
        url = os.environ.get("RUNNEL_TEST_PG_URL")
        _shared_pg = _ClusterAt(url) if url else start_postgres()
    db = "t_%s_%d" % (re.sub(r"[^a-z0-9]", "_", name.lower())[-40:], free_port())
    return ["--store", _shared_pg.create_db(db)]


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


@contextlib.contextmanager
def own_world(prefix):
    """A runneld of its own in a new temp dir (prefix), with a git project and
    setup_world's objects: yields that world with d, tmp and repo added; the
    daemon is stopped and the dir removed afterwards. For a test module's
    fixture: `with own_world("runneld-x-") as w: yield w`."""
    tmp = Path(tempfile.mkdtemp(prefix=prefix))
    repo, _ = make_git_project(tmp)
    d = Runneld(tmp / "state", extra=["--isolation-base-path", str(tmp)]).start()
    try:
        w = setup_world(d, repo)
        w.update(d=d, tmp=tmp, repo=repo)
        yield w
    finally:
        d.stop()
        shutil.rmtree(tmp, ignore_errors=True)
