"""Runner completeness (issue 3): daemon mode, ssh keys, roles, bubblewrap,
fact cache, --debug/--logfile. Where ansible-runner can do the same thing,
the test runs both and compares."""
import glob
import json
import os
import shutil
import subprocess
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RUNNEL = os.environ.get("RUNNEL", os.path.join(ROOT, "build", "runnel"))
UPSTREAM = shutil.which("ansible-runner")
HOSTS = "localhost ansible_connection=local ansible_python_interpreter=/usr/bin/python3\n"

pytestmark = pytest.mark.skipif(not os.access(RUNNEL, os.X_OK), reason=f"{RUNNEL} not built")
needs_upstream = pytest.mark.skipif(UPSTREAM is None, reason="ansible-runner not installed")


def tree(path):
    """Every path under `path` with its type and content, to see what changed."""
    out = {}
    for dirpath, dirs, files in os.walk(path):
        for d in dirs:
            out[os.path.relpath(os.path.join(dirpath, d), path)] = "dir"
        for f in files:
            p = os.path.join(dirpath, f)
            with open(p, "rb") as fh:
                out[os.path.relpath(p, path)] = fh.read()
    return out


def events(art):
    evs = []
    for p in glob.glob(os.path.join(art, "job_events", "*.json")):
        if p.endswith("-partial.json"):
            continue
        with open(p) as f:
            evs.append(json.load(f))
    return sorted(evs, key=lambda e: e["counter"])


def process_names():
    return subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout


def agents():
    out = subprocess.run(["pgrep", "-x", "ssh-agent"], capture_output=True, text=True).stdout
    return set(out.split())


# -- daemon mode ---------------------------------------------------------------------------

def daemon_lifecycle(binary, pdd):
    codes = {}
    codes["start"] = subprocess.run([binary, "start", str(pdd), "-p", "x", "-i", "d"],
                                    timeout=60).returncode
    deadline = time.time() + 30
    while not (pdd / "pid").exists() and time.time() < deadline:
        time.sleep(0.05)
    codes["alive"] = subprocess.run([binary, "is-alive", str(pdd)], timeout=30).returncode
    pid = int((pdd / "pid").read_text().split()[0])
    codes["stop"] = subprocess.run([binary, "stop", str(pdd)], timeout=60).returncode
    deadline = time.time() + 30
    while time.time() < deadline and os.path.exists(f"/proc/{pid}") and \
            open(f"/proc/{pid}/stat").read().split(")")[-1].split()[0] != "Z":
        time.sleep(0.05)
    codes["alive_after"] = subprocess.run([binary, "is-alive", str(pdd)], timeout=30).returncode
    codes["stop_again"] = subprocess.run([binary, "stop", str(pdd)], timeout=30).returncode
    return codes


@needs_upstream
def test_daemon_lifecycle_matches_upstream(tmp_path):
    results = {}
    for name, binary in (("runnel", RUNNEL), ("upstream", UPSTREAM)):
        pdd = tmp_path / name / "pdd"
        pdd.mkdir(parents=True)
        (pdd / "args").write_text("sleep 60\n")
        results[name] = daemon_lifecycle(binary, pdd)
        assert (pdd / "daemon.log").exists()
        assert not (pdd / "pid").exists()
    assert results["runnel"] == results["upstream"] == {
        "start": 0, "alive": 0, "stop": 0, "alive_after": 1, "stop_again": 1}


def test_stop_ends_the_whole_job(tmp_path):
    pdd = tmp_path / "pdd"
    pdd.mkdir()
    marker = f"runnel-daemon-test-{os.getpid()}"
    (pdd / "args").write_text(f"bash -c 'sleep 120 & exec -a {marker} sleep 121'\n")
    assert subprocess.run([RUNNEL, "start", str(pdd), "-p", "x", "-i", "d"], timeout=30).returncode == 0
    deadline = time.time() + 10
    while marker not in process_names() and time.time() < deadline:
        time.sleep(0.05)
    assert marker in process_names()
    t0 = time.monotonic()
    assert subprocess.run([RUNNEL, "stop", str(pdd)], timeout=30).returncode == 0
    assert time.monotonic() - t0 < 5
    assert marker not in process_names()
    assert (pdd / "artifacts" / "d" / "status").read_text() == "canceled"
    st = os.stat(pdd / "artifacts" / "d" / "status").st_mode & 0o777
    assert st == 0o600  # not upstream's 0666 from umask 0


def test_stale_pidfile_is_reported(tmp_path):
    pdd = tmp_path / "pdd"
    pdd.mkdir()
    (pdd / "pid").write_text("999999\n")
    r = subprocess.run([RUNNEL, "is-alive", str(pdd)], capture_output=True, text=True, timeout=10)
    assert r.returncode == 1 and "stale pidfile" in r.stderr
    r = subprocess.run([RUNNEL, "stop", str(pdd)], capture_output=True, text=True, timeout=10)
    assert r.returncode == 1 and "stale pidfile" in r.stderr and "999999" in r.stderr
    assert not (pdd / "pid").exists()


# -- ssh keys ------------------------------------------------------------------------------

@pytest.fixture
def ssh_key(tmp_path):
    key = tmp_path / "id_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "runnel-test",
                    "-f", str(key)], check=True)
    return key.read_text()


@needs_upstream
def test_ssh_key_loaded_in_agent_like_upstream(tmp_path, ssh_key):
    before = agents()
    outs = {}
    for name, binary in (("runnel", RUNNEL), ("upstream", UPSTREAM)):
        pdd = tmp_path / name
        (pdd / "env").mkdir(parents=True)
        (pdd / "env" / "ssh_key").write_text(ssh_key)
        (pdd / "args").write_text("ssh-add -l\n")
        r = subprocess.run([binary, "run", str(pdd), "-p", "x", "-i", "k"], capture_output=True,
                           text=True, timeout=60)
        assert r.returncode == 0, r.stdout + r.stderr
        art = pdd / "artifacts" / "k"
        outs[name] = (art / "stdout").read_text().replace(str(pdd), "<PDD>")
        cmd = json.loads((art / "command").read_text())["command"]
        assert cmd[:3] == ["ssh-agent", "sh", "-c"]
        assert not (art / "ssh_key_data").exists()  # the FIFO is gone
        if name == "runnel":
            assert agents() <= before, "runnel left an ssh-agent running"
    assert "runnel-test (ED25519)" in outs["runnel"]
    assert outs["runnel"] == outs["upstream"]
    # upstream's agent outlives its job; end the ones it left (we started them)
    for pid in agents() - before:
        subprocess.run(["kill", pid])


def test_malformed_key_fails_clearly_and_leaves_nothing(tmp_path):
    before = agents()
    pdd = tmp_path / "pdd"
    (pdd / "env").mkdir(parents=True)
    (pdd / "env" / "ssh_key").write_text("-----BEGIN OPENSSH PRIVATE KEY-----\nnot a key\n")
    (pdd / "args").write_text("ssh-add -l\n")
    r = subprocess.run([RUNNEL, "run", str(pdd), "-p", "x", "-i", "k"], capture_output=True,
                       text=True, timeout=60)
    assert r.returncode != 0
    out = (pdd / "artifacts" / "k" / "stdout").read_text()
    assert "Error loading key" in out
    assert (pdd / "artifacts" / "k" / "status").read_text() == "failed"
    assert agents() <= before


def test_unreadable_key_fails_clearly(tmp_path):
    pdd = tmp_path / "pdd"
    (pdd / "env" / "ssh_key").mkdir(parents=True)  # a directory where the key should be
    (pdd / "args").write_text("true\n")
    r = subprocess.run([RUNNEL, "run", str(pdd), "-p", "x"], capture_output=True, text=True,
                       timeout=30)
    assert r.returncode == 1
    assert "env/ssh_key" in r.stderr


# -- roles -------------------------------------------------------------------------------------

def make_role_pdd(pdd):
    (pdd / "roles" / "greet" / "tasks").mkdir(parents=True)
    (pdd / "roles" / "greet" / "tasks" / "main.yml").write_text(
        "- debug: msg='hello {{ who }} {{ n + 1 }}'\n")
    (pdd / "inventory").mkdir()
    (pdd / "inventory" / "hosts").write_text(HOSTS)


@needs_upstream
def test_role_mode_matches_upstream_and_leaves_pdd(tmp_path):
    got = {}
    for name, binary in (("runnel", RUNNEL), ("upstream", UPSTREAM)):
        pdd = tmp_path / name
        pdd.mkdir()
        make_role_pdd(pdd)
        before = tree(pdd)
        # upstream finds PDD/roles only through --roles-path (its role_manager's
        # ANSIBLE_ROLES_PATH never reaches run()); runnel also looks there without it
        r = subprocess.run([binary, "run", str(pdd), "-r", "greet", "--role-vars", "who=world n=41",
                            "--role-skip-facts", "--hosts", "localhost", "-i", "r",
                            "--roles-path", str(pdd / "roles")],
                           capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stdout + r.stderr
        after = {k: v for k, v in tree(pdd).items() if not k.startswith("artifacts")}
        assert after == before, "the private data dir was not left as it was found"
        evs = events(pdd / "artifacts" / "r")
        got[name] = [(e["event"], e["event_data"].get("role"), e["event_data"].get("task"),
                      (e["event_data"].get("res") or {}).get("msg")) for e in evs]
    assert got["runnel"] == got["upstream"]
    assert ("runner_on_ok", "greet", "debug", "hello world 42") in got["runnel"]


def test_missing_role_fails_clearly(tmp_path):
    pdd = tmp_path / "pdd"
    pdd.mkdir()
    make_role_pdd(pdd)
    r = subprocess.run([RUNNEL, "run", str(pdd), "-r", "nosuchrole", "--hosts", "localhost",
                        "-i", "r"], capture_output=True, text=True, timeout=120)
    assert r.returncode != 0
    assert "nosuchrole" in (pdd / "artifacts" / "r" / "stdout").read_text()
    assert (pdd / "artifacts" / "r" / "status").read_text() == "failed"


# -- bubblewrap ----------------------------------------------------------------------------

@pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap not installed")
def test_bubblewrap_hides_paths_and_limits_writes(tmp_path):
    secret = tmp_path / "secret"
    secret.mkdir()
    (secret / "file").write_text("topsecret")
    pdd = tmp_path / "pdd"
    (pdd / "project").mkdir(parents=True)
    (pdd / "inventory").mkdir()
    (pdd / "inventory" / "hosts").write_text(HOSTS)
    outside = tmp_path / "outside"
    (pdd / "project" / "p.yml").write_text(f"""
- hosts: all
  gather_facts: false
  tasks:
    - command: cat {secret}/file
      register: r
      ignore_errors: true
    - copy: {{content: "x", dest: "{outside}"}}
    - copy: {{content: "x", dest: "{{{{ playbook_dir }}}}/inside"}}
""")
    r = subprocess.run([RUNNEL, "run", str(pdd), "-p", "p.yml", "-i", "b", "--process-isolation",
                        "--process-isolation-executable", "bwrap",
                        "--process-isolation-hide-paths", str(secret)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    out = (pdd / "artifacts" / "b" / "stdout").read_text()
    assert "topsecret" not in out
    assert "No such file or directory" in out
    assert (pdd / "project" / "inside").exists()  # the private data dir is writable
    assert not outside.exists()  # the write went into the sandbox's own /tmp
    cmd = json.loads((pdd / "artifacts" / "b" / "command").read_text())["command"]
    assert cmd[0] == "bwrap" and "--die-with-parent" in cmd
    assert glob.glob("/tmp/ansible_runner_pi_*") == [] or all(
        not p.startswith(str(tmp_path)) for p in glob.glob("/tmp/ansible_runner_pi_*"))


def test_isolation_path_that_does_not_exist(tmp_path):
    pdd = tmp_path / "pdd"
    pdd.mkdir()
    (pdd / "args").write_text("true\n")
    r = subprocess.run([RUNNEL, "run", str(pdd), "-p", "x", "--process-isolation",
                        "--process-isolation-executable", "bwrap",
                        "--process-isolation-path", str(tmp_path / "nope")],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 1
    assert "process_isolation_path" in r.stderr and str(tmp_path / "nope") in r.stderr


def test_container_command_line(tmp_path):
    """podman cannot run here: check the command line runnel builds for it."""
    pdd = tmp_path / "pdd"
    (pdd / "project").mkdir(parents=True)
    (pdd / "inventory").mkdir()
    (pdd / "inventory" / "hosts").write_text(HOSTS)
    (pdd / "project" / "p.yml").write_text("- hosts: all\n  tasks: []\n")
    mount = tmp_path / "data"
    mount.mkdir()
    subprocess.run([RUNNEL, "run", str(pdd), "-p", "p.yml", "-i", "c", "--process-isolation",
                    "--process-isolation-executable", "podman", "--container-image", "img:1",
                    "--container-volume-mount", f"{mount}:/data:Z",
                    "--container-option=--net=host"], capture_output=True, timeout=30)
    doc = json.loads((pdd / "artifacts" / "c" / "command").read_text())
    cmd = doc["command"]
    assert cmd[:7] == ["podman", "run", "--rm", "--tty", "--interactive", "--workdir",
                       "/runner/project"]
    assert ["-v", f"{pdd}/:/runner/:Z"] == cmd[7:9]
    assert ["-v", f"{mount}/:/data/:Z"] == cmd[9:11]
    i = cmd.index("--env-file")
    assert cmd[i + 1] == f"{pdd}/artifacts/c/env.list"
    assert cmd[i + 2:i + 6] == ["--quiet", "--name", "ansible_runner_c", "--net=host"]
    assert cmd[i + 6:] == ["img:1", "ansible-playbook", "-i", "/runner/inventory/hosts", "p.yml"]
    env = doc["env"]
    assert env["AWX_ISOLATED_DATA_DIR"] == "/runner/artifacts/c"
    assert env["ANSIBLE_CALLBACK_PLUGINS"] == "/runner/artifacts/c/callback"
    assert "PATH" not in env  # the container's environment is the job's only
    assert (pdd / "artifacts" / "c" / "callback" / "awx_display.py").exists()


# -- fact cache ----------------------------------------------------------------------------

@needs_upstream
def test_fact_cache_carries_over_like_upstream(tmp_path):
    play1 = "- hosts: all\n  gather_facts: false\n  tasks:\n    - set_fact: {color: blue, cacheable: true}\n"
    play2 = "- hosts: all\n  gather_facts: false\n  tasks:\n    - debug: var=color\n"
    seen = {}
    for name, binary in (("runnel", RUNNEL), ("upstream", UPSTREAM)):
        pdd = tmp_path / name
        (pdd / "project").mkdir(parents=True)
        (pdd / "inventory").mkdir()
        (pdd / "inventory" / "hosts").write_text(HOSTS)
        (pdd / "project" / "one.yml").write_text(play1)
        (pdd / "project" / "two.yml").write_text(play2)
        for play in ("one.yml", "two.yml"):
            r = subprocess.run([binary, "run", str(pdd), "-p", play, "-i", "fc"],
                               capture_output=True, text=True, timeout=120)
            assert r.returncode == 0, r.stdout + r.stderr
        facts = json.loads((pdd / "artifacts" / "fc" / "fact_cache" / "localhost").read_text())
        res = [e["event_data"]["res"] for e in events(pdd / "artifacts" / "fc")
               if e["event"] == "runner_on_ok" and e["event_data"].get("task_action") == "debug"]
        seen[name] = (facts.get("color"), res[-1].get("color"))
    assert seen["runnel"] == seen["upstream"] == ("blue", "blue")


# -- debug ---------------------------------------------------------------------------------

def test_logfile_has_debug_lines_without_secrets(tmp_path):
    pdd = tmp_path / "pdd"
    (pdd / "env").mkdir(parents=True)
    (pdd / "env" / "envvars").write_text(json.dumps({"DB_PASSWORD": "s3cr3t-value"}))
    (pdd / "args").write_text("true\n")
    log = tmp_path / "runnel.log"
    r = subprocess.run([RUNNEL, "run", str(pdd), "-p", "x", "--logfile", str(log)],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0
    text = log.read_text()
    assert "command: true" in text and "status successful" in text
    assert "DB_PASSWORD=**********" in text
    assert "s3cr3t-value" not in text + r.stderr + r.stdout


# -- worker info and cleanup -----------------------------------------------------------------

def test_worker_info_shape_matches_upstream(tmp_path):
    import yaml
    env = dict(os.environ, HOME=str(tmp_path))
    ours = yaml.safe_load(subprocess.run([RUNNEL, "worker", "--worker-info"], env=env,
                                         capture_output=True, text=True, timeout=30).stdout)
    assert set(ours) == {"cpu_count", "errors", "mem_in_bytes", "runner_version", "uuid"}
    assert ours["errors"] == [] and ours["cpu_count"] == os.cpu_count()
    assert isinstance(ours["mem_in_bytes"], int) and ours["mem_in_bytes"] > 0
    saved = (tmp_path / ".ansible_runner_uuid").read_text().strip()
    assert ours["uuid"] == saved  # persisted, as upstream
    assert os.stat(tmp_path / ".ansible_runner_uuid").st_mode & 0o777 == 0o600
    again = yaml.safe_load(subprocess.run([RUNNEL, "worker", "--worker-info"], env=env,
                                          capture_output=True, text=True, timeout=30).stdout)
    assert again["uuid"] == ours["uuid"]
    if UPSTREAM:
        theirs = yaml.safe_load(subprocess.run([UPSTREAM, "worker", "--worker-info"], env=env,
                                               capture_output=True, text=True, timeout=60).stdout)
        assert set(theirs) == set(ours)
        assert theirs["uuid"] == ours["uuid"]  # one node, one identity
        assert theirs["cpu_count"] == ours["cpu_count"]
        assert theirs["mem_in_bytes"] == ours["mem_in_bytes"]


def test_worker_cleanup(tmp_path):
    old = [tmp_path / f".ansible-runner-{i}" for i in range(3)]
    for d in old:
        (d / "artifacts").mkdir(parents=True)
        os.utime(d, (time.time() - 7200, time.time() - 7200))
    fresh = tmp_path / ".ansible-runner-fresh"
    fresh.mkdir()
    excluded = tmp_path / ".ansible-runner-keepme"
    excluded.mkdir()
    os.utime(excluded, (time.time() - 7200, time.time() - 7200))
    # a running daemon's private data dir is never removed
    running = tmp_path / ".ansible-runner-running"
    running.mkdir()
    (running / "args").write_text("sleep 60\n")
    assert subprocess.run([RUNNEL, "start", str(running), "-p", "x", "-i", "r"],
                          timeout=30).returncode == 0
    # the daemon makes artifacts/ in the dir once it runs (after `start` returned): age the
    # dir after that, or the new entry makes it look fresh to the grace period
    deadline = time.monotonic() + 30
    while not (running / "artifacts" / "r" / "command").exists():
        assert time.monotonic() < deadline, "the daemon did not start its job"
        time.sleep(0.05)
    os.utime(running, (time.time() - 7200, time.time() - 7200))
    try:
        r = subprocess.run([RUNNEL, "worker", "cleanup", "--file-pattern",
                            str(tmp_path / ".ansible-runner-*"), "--exclude-strings", "keepme",
                            "--grace-period", "60"], capture_output=True, text=True, timeout=30)
        assert r.returncode == 0, r.stderr
        assert "Removed 3 private data dir(s)" in r.stdout and "(changed: True)" in r.stdout
        assert "Excluding running project" in r.stdout
        assert not any(d.exists() for d in old)
        assert fresh.exists() and excluded.exists() and running.exists()
    finally:
        subprocess.run([RUNNEL, "stop", str(running)], timeout=30)
    r = subprocess.run([RUNNEL, "worker", "cleanup", "--file-pattern", "/usr"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode != 0 and "Refusing to continue" in r.stderr
