"""What a runneld job can see under job isolation, written as the attacks
(issue 9's sibling: jobs ran as runneld's user and could read its secrets).

Every job, ad hoc command, inventory update and project update runs its
ansible under bubblewrap: runneld's state dir (secret.key, runneld.db,
procs/, the bus socket), the other jobs' private data dirs and the projects
root are hidden; the job runs its own copy of the project. Each test is the
attack, and checks the real secret (the bytes of <state>/secret.key, a value
planted in another running job's private data dir) never reaches the job's
output or events, and that nothing was written where the job tried to.
A control runneld with job_isolation false shows the same attack reads the
key (so the checks can fail). A sandbox that cannot start ends the job
`error` saying so: never unsandboxed.
"""

import base64
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from runneld_harness import (ACTIVE, RUNNELD, Runneld, git, make_git_project, pid_alive, pids_with_cmdline,
                             setup_world, wait_for)

pytestmark = [
    pytest.mark.skipif(not os.path.exists(RUNNELD), reason="runneld is not built: " + RUNNELD),
    pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap is not installed"),
]

LOCAL = {"ansible_connection": "local", "ansible_python_interpreter": "/usr/bin/python3"}
PLANTED = "PLANTED-other-job-secret-5c81e"
SQLITE_B64 = base64.b64encode(b"SQLite format 3").decode()[:16]

# Every read, listing and write is tried and its failure ignored: the job
# itself succeeds, and its events say what each attempt gave.
ATTACK = """\
- hosts: all
  gather_facts: false
  tasks:
    - name: read
      shell: "base64 -w0 {{ item }} && echo ' READ''-OK'"
      loop: "{{ reads }}"
      ignore_errors: true
    - name: list
      command: "ls -A {{ item }}"
      loop: "{{ lists }}"
      ignore_errors: true
    - name: write
      copy:
        content: "pwned by a job\\n"
        dest: "{{ item }}"
      loop: "{{ writes }}"
      ignore_errors: true
    - name: unmount
      command: "umount {{ item }}"
      loop: "{{ lists }}"
      ignore_errors: true
    - name: descriptors
      shell: "ls -l /proc/[0-9]*/fd/ 2>/dev/null"
    - name: control
      command: cat attack.yml
"""

# The ssh key of a Machine credential reaches the job through ssh-agent.
AGENT = """\
- hosts: all
  gather_facts: false
  tasks:
    - name: agent
      command: ssh-add -l
    - name: where
      command: pwd
"""

# A job that leaves its session: a daemon a process group kill would miss.
ESCAPE = """\
- hosts: all
  gather_facts: false
  tasks:
    - name: a daemon in a session of its own
      shell: "setsid sleep {{ nap }} > /dev/null 2>&1 < /dev/null &"
    - name: the job's own sleep
      command: "sleep {{ nap }}"
"""

# An inventory source script that tries the same from an inventory update.
STEAL = """\
#!/usr/bin/python3
import base64, json, os
loot = {}
for i, p in enumerate(%(reads)r):
    try:
        with open(p, "rb") as f:
            loot["r%%d" %% i] = "READ-OK " + base64.b64encode(f.read()).decode()
    except OSError as e:
        loot["r%%d" %% i] = "ERR %%s" %% e.strerror
for i, p in enumerate(%(writes)r):
    try:
        with open(p, "w") as f:
            f.write("pwned by an inventory update")
        loot["w%%d" %% i] = "WROTE"
    except OSError as e:
        loot["w%%d" %% i] = "ERR %%s" %% e.strerror
print(json.dumps({"all": {"hosts": ["loot"]}, "_meta": {"hostvars": {"loot": {"loot": loot}}}}))
"""


def b64(data):
    return base64.b64encode(data).decode()


@pytest.fixture(scope="module")
def world():
    tmp = Path(tempfile.mkdtemp(prefix="runneld-isolate-"))
    state, iso = tmp / "state", tmp / "iso"
    iso.mkdir()
    root = state / "projects"
    repo, _ = make_git_project(tmp)
    (repo / "attack.yml").write_text(ATTACK)
    (repo / "agent.yml").write_text(AGENT)
    (repo / "escape.yml").write_text(ESCAPE)
    steal = repo / "steal_inventory.py"
    steal.write_text(STEAL % {"reads": [str(state / "secret.key"), str(state / "runneld.db")],
                              "writes": [str(root / "pwned-by-inventory"), str(state / "pwned-by-inventory")]})
    steal.chmod(0o755)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "attacks")
    d = Runneld(state, extra=["--isolation-base-path", str(iso)]).start()
    try:
        w = setup_world(d, repo)
        inv, proj = w["inv"]["id"], w["project"]["id"]
        w["attack"] = d.create("job_templates", name="Attack", project=proj, inventory=inv, playbook="attack.yml",
                               limit="localhost", ask_variables_on_launch=True)
        w["escape"] = d.create("job_templates", name="Escape", project=proj, inventory=inv, playbook="escape.yml",
                               limit="localhost", ask_variables_on_launch=True)
        w.update(d=d, tmp=tmp, state=state, iso=iso, root=root, repo=repo,
                 key=(state / "secret.key").read_bytes())
        assert len(w["key"]) == 32
        yield w
    finally:
        d.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def launch(d, jt, **extra_vars):
    r = d.req("POST", "/api/v2/job_templates/%d/launch/" % jt["id"], json={"extra_vars": extra_vars})
    assert r.status_code == 201, r.text
    return "/api/v2/jobs/%d/" % r.json()["id"]


def stdout_of(d, url):
    return d.req("GET", url + "stdout/?format=txt").text


def events_of(d, url):
    kind = "events" if "ad_hoc" in url else "job_events"
    return d.all_pages(url + kind + "/")


def item_results(events, task):
    """(ok, failed) lists of the loop items' results of a task."""
    ok = [e["event_data"]["res"] for e in events
          if e["event"] == "runner_item_on_ok" and e["event_data"].get("task") == task]
    failed = [e["event_data"]["res"] for e in events
              if e["event"] == "runner_item_on_failed" and e["event_data"].get("task") == task]
    return ok, failed


def assert_no_secret(w, *texts):
    key = w["key"]
    for t in texts:
        assert b64(key) not in t
        assert key.hex() not in t
        assert SQLITE_B64 not in t
        assert PLANTED not in t
        assert "READ-OK" not in t


def test_playbook_cannot_read_state_other_jobs_or_write_projects(world):
    d, state, iso, root = world["d"], world["state"], world["iso"], world["root"]
    # another job, running: its private data dir holds a planted value
    slow = launch(d, world["jt_sleep"], sleep_seconds=600, planted=PLANTED)
    try:
        wait_for(lambda: d.get(slow)["status"] == "running", timeout=90, what="the slow job running")
        slow_id = d.get(slow)["id"]
        other = wait_for(lambda: [p for p in iso.iterdir() if p.name.startswith("job_%d_" % slow_id)
                                  and (p / "env" / "extravars").exists()], timeout=60, what="its private data dir")[0]
        assert PLANTED in (other / "env" / "extravars").read_text()  # the control: it is there to steal
        worker = d.get(slow)["worker_pid"]
        # no process of the job holds a descriptor of runneld's state dir: the
        # sandbox hides its paths, /proc/<pid>/fd/N must not reopen them
        wait_for(lambda: pids_with_cmdline("sleep 600"), timeout=120, what="the slow job's sleep")
        for pid in pids_with_cmdline(str(other)) + pids_with_cmdline("sleep 600"):
            for fd in os.listdir("/proc/%d/fd" % pid):
                try:
                    target = os.readlink("/proc/%d/fd/%s" % (pid, fd))
                except OSError:
                    continue
                assert not target.startswith(str(state)), (pid, open("/proc/%d/cmdline" % pid).read(), target)
        project_dir = root / world["project"]["local_path"]
        before = sorted(p.name for p in root.iterdir())
        reads = [state / "secret.key", state / "runneld.db", other / "env" / "extravars",
                 "/proc/%d/root%s/secret.key" % (d.proc.pid, state), "/proc/%d/root%s/secret.key" % (worker, state),
                 "/proc/%d/environ" % d.proc.pid, project_dir / "ok.yml"]
        lists = [state, iso, other, root]
        writes = [project_dir / "pwned.yml", root / "pwned-new.yml", state / "pwned", other / "pwned"]
        url = launch(d, world["attack"], reads=[str(p) for p in reads], lists=[str(p) for p in lists],
                     writes=[str(p) for p in writes])
        job = d.wait_job(url, timeout=300)
        assert job["status"] == "successful", (job, stdout_of(d, url))
        assert json.loads(job["job_args"])[0] == "bwrap"
        events = events_of(d, url)
        out = stdout_of(d, url)
        # every read failed; nothing of the key, the db or the other job came out
        ok, failed = item_results(events, "read")
        assert ok == [] and len(failed) == len(reads), (ok, failed)
        assert all("No such file" in r.get("stderr", "") for r in failed), failed
        assert_no_secret(world, out, json.dumps(events), json.dumps(job))
        # listings show nothing of what is hidden
        ok, failed = item_results(events, "list")
        for r in ok + failed:
            for name in ("secret.key", "runneld.db", "procs", "extravars", other.name,
                         world["project"]["local_path"]):
                assert name not in r.get("stdout", ""), (name, r)
        fds = [e["event_data"]["res"] for e in events if e["event"] == "runner_on_ok"
               and e["event_data"].get("task") == "descriptors"]
        assert fds and "/proc/1/fd" in fds[0]["stdout"], fds
        assert str(state) not in fds[0]["stdout"] and "runneld.db" not in fds[0]["stdout"], fds[0]["stdout"]
        # unmounting what hides a path needs a capability the job does not have
        ok, failed = item_results(events, "unmount")
        assert ok == [] and len(failed) == len(lists), ok
        # nothing written reached the real paths
        for p in writes:
            assert not p.exists(), p
        assert sorted(p.name for p in root.iterdir()) == before
        assert "pwned" not in (project_dir / "ok.yml").read_text()
        # the control: the job read its own copy of the project
        ctl = [e for e in events if e["event"] == "runner_on_ok" and e["event_data"].get("task") == "control"]
        assert ctl and "ignore_errors: true" in ctl[0]["event_data"]["res"]["stdout"], ctl
        assert d.get(slow)["status"] == "running"  # the other job was not disturbed
    finally:
        d.post(slow + "cancel/", expect=(202, 405))
        d.wait_job(slow, timeout=120)


@pytest.mark.parametrize("args", ["cat {state}/secret.key", "base64 -w0 {state}/runneld.db",
                                  "cat /proc/{runneld}/root{state}/secret.key"])
def test_ad_hoc_command_cannot_read_the_key(world, args):
    d = world["d"]
    module_args = args.format(state=world["state"], runneld=d.proc.pid)
    r = d.post("/api/v2/ad_hoc_commands/", {"inventory": world["inv"]["id"], "limit": "localhost",
                                            "module_name": "command", "module_args": module_args}, expect=(201,))
    job = d.wait_job(r["url"], timeout=300)
    assert job["status"] == "failed", job
    assert json.loads(job["job_args"])[0] == "bwrap"
    out = stdout_of(d, r["url"])
    assert "No such file or directory" in out, out
    assert_no_secret(world, out, json.dumps(events_of(d, r["url"])))
    assert world["key"].decode("latin-1") not in out


def test_inventory_update_script_cannot_read_the_key(world):
    d, state, root = world["d"], world["state"], world["root"]
    inv = d.create("inventories", name="Stolen", organization=world["org"]["id"])
    src = d.post("/api/v2/inventories/%d/inventory_sources/" % inv["id"],
                 {"name": "steal", "source": "scm", "source_project": world["project"]["id"],
                  "source_path": "steal_inventory.py", "overwrite": True}, expect=(201,))
    r = d.post("/api/v2/inventory_sources/%d/update/" % src["id"], expect=(202,))
    upd = d.wait_job(r["url"], timeout=300)
    assert upd["status"] == "successful", (upd, stdout_of(d, r["url"]))
    assert json.loads(upd["job_args"])[0] == "bwrap"
    hosts = d.all_pages("/api/v2/inventories/%d/hosts/" % inv["id"])
    assert [h["name"] for h in hosts] == ["loot"]  # the script ran, and its output was imported
    loot = json.loads(hosts[0]["variables"])["loot"]
    assert set(loot) == {"r0", "r1", "w0", "w1"}, loot
    assert loot["r0"].startswith("ERR ") and loot["r1"].startswith("ERR "), loot
    # a write may land in what stands in for a hidden dir (the job's own, gone with
    # it), never in the real one
    assert_no_secret(world, hosts[0]["variables"], stdout_of(d, r["url"]))
    assert not (root / "pwned-by-inventory").exists() and not (state / "pwned-by-inventory").exists()


@pytest.mark.parametrize("where", ["{state}", "{state}/projects/{lp}", "{iso}"])
def test_project_update_cannot_clone_a_hidden_directory(world, where):
    d = world["d"]
    path = where.format(state=world["state"], iso=world["iso"], lp=world["project"]["local_path"])
    p = d.create("projects", name="Peek %s" % where, organization=world["org"]["id"], scm_type="git",
                 scm_url="file://%s" % path)
    upd = d.wait_job("/api/v2/project_updates/%d/" % p["summary_fields"]["current_update"]["id"], timeout=300)
    assert upd["status"] in ("failed", "error"), upd
    assert "scm_url" in upd["job_explanation"] and "hidden from jobs" in upd["job_explanation"], upd
    # the update of a visible repository works (setup_world's) and fills only its own directory
    assert (world["root"] / world["project"]["local_path"] / "attack.yml").is_file()


def test_machine_credential_ssh_key_reaches_the_sandboxed_job(world):
    d, tmp = world["d"], world["tmp"]
    key = tmp / "id_isolate"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "isolate-test", "-f", str(key)], check=True)
    fingerprint = subprocess.run(["ssh-keygen", "-lf", str(key) + ".pub"], check=True, capture_output=True,
                                 text=True).stdout.split()[1]
    cred = d.create("credentials", name="machine-isolate", credential_type=1,
                    inputs={"username": "root", "ssh_key_data": key.read_text()})
    jt = d.create("job_templates", name="Agent", project=world["project"]["id"], inventory=world["inv"]["id"],
                  playbook="agent.yml", limit="localhost")
    assert d.req("POST", "/api/v2/job_templates/%d/credentials/" % jt["id"], json={"id": cred["id"]}).status_code == 204
    url = launch(d, jt)
    job = d.wait_job(url, timeout=300)
    out = stdout_of(d, url)
    assert job["status"] == "successful", (job, out)
    events = events_of(d, url)
    res = {e["event_data"]["task"]: e["event_data"]["res"] for e in events if e["event"] == "runner_on_ok"}
    # the agent inside the sandbox holds the credential's key
    assert fingerprint in res["agent"]["stdout"], res["agent"]
    # the playbook ran from the job's own copy of the project, in its private data dir
    assert res["where"]["stdout"] == job["job_cwd"], (res["where"], job["job_cwd"])
    assert job["job_cwd"].startswith("%s/job_%d_" % (world["iso"], job["id"])) and job["job_cwd"].endswith("/project")
    secret_line = key.read_text().strip().splitlines()[1]
    assert secret_line not in out and secret_line not in json.dumps(events)
    assert not [p for p in world["iso"].iterdir() if p.name.startswith("job_%d_" % job["id"])]


def test_cancel_ends_a_sandboxed_job_at_once(world):
    d, iso = world["d"], world["iso"]
    nap = "%d.%04d" % (700 + os.getpid() % 100, int(time.time() * 1000) % 10000)
    url = launch(d, world["jt_sleep"], sleep_seconds=nap)
    wait_for(lambda: pids_with_cmdline("sleep %s" % nap), timeout=120, what="the job's sleep")
    job_id = d.get(url)["id"]
    assert [p for p in iso.iterdir() if p.name.startswith("job_%d_" % job_id)]
    t0 = time.monotonic()
    d.post(url + "cancel/", expect=(202,))
    job = wait_for(lambda: (lambda j: j if j["status"] not in ACTIVE else None)(d.get(url)), timeout=60,
                   interval=0.05, what="the job to end")
    took = time.monotonic() - t0
    assert job["status"] == "canceled", job
    wait_for(lambda: not pids_with_cmdline("sleep %s" % nap), timeout=10, what="the sandboxed sleep to end")
    wait_for(lambda: not pids_with_cmdline("%s/job_%d_" % (iso, job_id)), timeout=10, what="the sandbox to end")
    assert not [p for p in iso.iterdir() if p.name.startswith("job_%d_" % job_id)]
    assert took < 30, took  # generous under load: the grace period is 0.5 s


def test_a_killed_worker_takes_its_whole_sandbox_along(world):
    """kill -9 of a sandboxed job's worker: every process of the job ends at
    once, the daemon that left ansible's session too (the sandbox's pid
    namespace dies with it), and runneld records what happened."""
    d, iso = world["d"], world["iso"]
    nap = "%d.%04d" % (800 + os.getpid() % 100, int(time.time() * 1000) % 10000)
    url = launch(d, world["escape"], nap=nap)
    wait_for(lambda: len(pids_with_cmdline("sleep %s" % nap)) >= 2, timeout=120, what="both sleeps")
    job = d.get(url)
    sessions = {open("/proc/%d/stat" % p).read().rsplit(") ", 1)[1].split()[4] for p in pids_with_cmdline("sleep %s" % nap)}
    assert len(sessions) >= 2, "the daemon did not leave ansible's session"
    os.kill(job["worker_pid"], signal.SIGKILL)
    wait_for(lambda: not pids_with_cmdline("sleep %s" % nap), timeout=15, what="the job's processes to end")
    j = d.wait_job(url, timeout=60)
    assert j["status"] == "error" and "killed by signal 9" in j["job_explanation"], j
    wait_for(lambda: not [p for p in iso.iterdir() if p.name.startswith("job_%d_" % j["id"])], timeout=30,
             what="its private data dir removed")


# --------------------------------------------------------------------------
# runneld's own settings: a manual project (no update needed) in a fresh state dir


def manual_world(tmp, extra):
    state = tmp / "state"
    (state / "projects" / "manual").mkdir(parents=True)
    (state / "projects" / "manual" / "read.yml").write_text(
        "- hosts: all\n  gather_facts: false\n  tasks:\n"
        "    - command: base64 -w0 {{ key }}\n"
        "      register: r\n"
        "    - debug:\n"
        "        var: r.stdout\n")
    d = Runneld(state, extra=["--isolation-base-path", str(tmp)] + extra).start()
    org = d.create("organizations", name="Org")
    inv = d.create("inventories", name="Inv", organization=org["id"])
    d.post("/api/v2/inventories/%d/hosts/" % inv["id"], {"name": "localhost", "variables": json.dumps(LOCAL)},
           expect=(201,))
    proj = d.create("projects", name="Manual", organization=org["id"], local_path="manual")
    jt = d.create("job_templates", name="Read", project=proj["id"], inventory=inv["id"], playbook="read.yml",
                  ask_variables_on_launch=True)
    return d, state, inv, jt


def test_without_job_isolation_the_same_read_succeeds(tmp_path):
    """The control, and what job_isolation false means: the job reads the key."""
    d, state, _, jt = manual_world(tmp_path, ["--job-isolation", "false"])
    try:
        url = launch(d, jt, key=str(state / "secret.key"))
        job = d.wait_job(url, timeout=300)
        assert job["status"] == "successful", job
        assert json.loads(job["job_args"])[0] == "ansible-playbook"
        assert b64((state / "secret.key").read_bytes()) in stdout_of(d, url)
    finally:
        d.stop()


@pytest.mark.parametrize("exe", ["missing", "/bin/false"])
def test_a_sandbox_that_cannot_start_ends_the_job_error(tmp_path, exe):
    path = str(tmp_path / "no-such-bwrap") if exe == "missing" else exe
    d, state, inv, jt = manual_world(tmp_path, ["--job-isolation-executable", path])
    try:
        url = launch(d, jt, key=str(state / "secret.key"))
        job = d.wait_job(url, timeout=300)
        assert job["status"] == "error", job
        why = job["job_explanation"]
        assert "job_isolation" in why and "sandbox" in why and path in why, why
        assert ("was not found" in why) if exe == "missing" else ("cannot start (exit code 1)" in why), why
        assert "never runs a job unsandboxed" in why
        # nothing ran: no ansible event, the key never read
        events = events_of(d, url)
        assert all(e["event"] == "verbose" for e in events), events
        assert b64((state / "secret.key").read_bytes()) not in stdout_of(d, url)
        # an ad hoc command the same
        r = d.post("/api/v2/ad_hoc_commands/", {"inventory": inv["id"], "module_name": "command",
                                                "module_args": "cat %s/secret.key" % state}, expect=(201,))
        ah = d.wait_job(r["url"], timeout=300)
        assert ah["status"] == "error" and "job_isolation" in ah["job_explanation"], ah
    finally:
        d.stop()


def test_bad_isolation_settings_are_refused_at_start(tmp_path):
    for extra, name in ((["--job-isolation", "maybe"], "job_isolation"),
                        (["--job-isolation-show-paths", "relative/path"], "job_isolation_show_paths"),
                        (["--job-isolation-hide-paths", '["not/absolute"]'], "job_isolation_hide_paths")):
        p = subprocess.run([RUNNELD, "--state-dir", str(tmp_path / "s"), "--listen", "127.0.0.1:0"] + extra,
                           capture_output=True, text=True, timeout=60)
        assert p.returncode != 0 and name in p.stderr, (extra, p.returncode, p.stderr)
