"""What a runneld job can see, written as the attacks (issue 9, items 4-6).

- runneld's own environment (RUNNEL_ADMIN_PASSWORD, a planted variable)
  never reaches a worker or a job: a playbook and an ad hoc `debug` print
  lookup('env', ...) and find nothing; job_env is the real environment.
- host and group names cannot change the inventory ansible reads: names with
  control characters are a 400 naming `name`; odd but legal names (spaces,
  unicode, range patterns, INI syntax) give exactly the hosts stored.
- a YAML alias bomb is a 400 naming the field wherever runneld takes
  variables, and runneld's memory stays flat; the runner (`runnel run`)
  refuses one in env/extravars, env/envvars or the inventory, naming the file.
"""

import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from runneld_harness import (  # noqa: F401
    REPO_ROOT, RUNNELD, PASSWORD, Runneld, git, make_git_project, setup_world, wait_for, pids_with_cmdline)

pytestmark = pytest.mark.skipif(not os.path.exists(RUNNELD), reason="runneld is not built: " + RUNNELD)

RUNNEL = os.environ.get("RUNNEL", str(REPO_ROOT / "build" / "runnel"))
PLANTED = "PLANTED-daemon-value-41c7"
PLANTED_NAME = "RUNNELD_TEST_PLANTED_SECRET"
LOCAL = {"ansible_connection": "local", "ansible_python_interpreter": "/usr/bin/python3"}
# runneld's task_env setting (AWX_TASK_ENV): what every job gets on purpose
TASK_ENV = {"RUNNELD_TEST_TASK_VAR": "given-by-task-env", "HTTP_PROXY": "http://u:proxy-pw-31@proxy.invalid:3128"}

# what a clean job environment may hold besides what the runner and the job type add
BASIC = {"PATH", "HOME", "USER", "LOGNAME", "LANG", "LANGUAGE", "TZ", "TMPDIR"}
ADDED = set(TASK_ENV) | {"JOB_ID", "INVENTORY_ID", "PROJECT_REVISION", "MAX_EVENT_RES", "PYTHONUNBUFFERED",
         "ORIGINAL_STDOUT_CALLBACK", "AD_HOC_COMMAND_ID"}

# The 342-byte "billion laughs": 9^9 strings once expanded.
BOMB = "".join(
    ["a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n"] +
    ["%s: &%s [%s]\n" % (c, c, ",".join(["*" + p] * 9)) for p, c in zip("abcdefgh", "bcdefghi")])


@pytest.fixture(scope="module")
def world():
    tmp = Path(tempfile.mkdtemp(prefix="runneld-jobenv-"))
    repo, rev = make_git_project(tmp)
    # runneld starts with a secret of its own and the admin password (the harness's)
    d = Runneld(tmp / "state", extra=["--isolation-base-path", str(tmp), "--task-env", json.dumps(TASK_ENV)],
                env={PLANTED_NAME: PLANTED, "AWS_SECRET_ACCESS_KEY": PLANTED,
                     "ANSIBLE_PLANTED_SETTING": PLANTED}).start()
    try:
        w = setup_world(d, repo)
        w.update(d=d, tmp=tmp)
        yield w
    finally:
        d.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def read_environ(pid):
    with open("/proc/%d/environ" % pid, "rb") as f:
        return f.read()


def descends_from(pid, ancestors):
    """Is pid a descendant of one of ancestors (by the ppid chain)?"""
    while pid > 1:
        try:
            with open("/proc/%d/stat" % pid) as f:
                pid = int(f.read().rsplit(") ", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            return False
        if pid in ancestors:
            return True
    return False


def env_names(raw):
    return {e.split(b"=", 1)[0].decode() for e in raw.split(b"\0") if b"=" in e}


def job_stdout(d, kind, job_id):
    return d.req("GET", "/api/v2/%s/%d/stdout/?format=txt" % (kind, job_id)).text


def assert_clean_job_env(job_env):
    for name in (PLANTED_NAME, "AWS_SECRET_ACCESS_KEY", "ANSIBLE_PLANTED_SETTING", "RUNNEL_ADMIN_PASSWORD"):
        assert name not in job_env, (name, sorted(job_env))
    assert PLANTED not in json.dumps(job_env) and PASSWORD not in json.dumps(job_env)
    # nothing of the test runner's own environment but the basic allowlist,
    # and nothing else than what the runner and the job type add
    leaked = (set(os.environ) - BASIC - ADDED) & set(job_env)
    leaked = {k for k in leaked if not k.startswith(("LC_", "ANSIBLE_", "RUNNER_", "AWX_"))}
    assert not leaked, leaked
    others = {k for k in job_env if k not in BASIC | ADDED and not k.startswith(("LC_", "ANSIBLE_", "RUNNER_"))}
    assert others <= {"AWX_PRIVATE_DATA_DIR", "AWX_ISOLATED_DATA_DIR"}, others
    assert job_env["PATH"]


# --------------------------------------------------------------------------
# item 4: the environment

LOOKUPS = ("[{{ lookup('env', 'RUNNEL_ADMIN_PASSWORD') }}][{{ lookup('env', '%s') }}]"
           "[{{ lookup('env', 'AWS_SECRET_ACCESS_KEY') }}][{{ lookup('env', 'JOB_ID') }}]"
           "[{{ lookup('env', 'RUNNELD_TEST_TASK_VAR') }}]" % PLANTED_NAME)


def test_playbook_cannot_read_the_daemon_environment(world):
    d = world["d"]
    r = d.req("POST", "/api/v2/job_templates/%d/launch/" % world["jt"]["id"],
              json={"extra_vars": {"greeting": LOOKUPS}, "limit": "localhost"})
    assert r.status_code == 201, r.text
    job = d.wait_job("/api/v2/jobs/%d/" % r.json()["id"])
    assert job["status"] == "successful", job
    out = job_stdout(d, "jobs", job["id"])
    # JOB_ID is the control: the lookups ran, and found nothing of runneld's
    assert "hello localhost [][][][%d][given-by-task-env]" % job["id"] in out, out
    assert PASSWORD not in out and PLANTED not in out
    assert_clean_job_env(job["job_env"])
    assert job["job_env"]["JOB_ID"] == str(job["id"])
    # task_env reaches the job, its URL password redacted in job_env
    assert job["job_env"]["RUNNELD_TEST_TASK_VAR"] == "given-by-task-env"
    assert job["job_env"]["HTTP_PROXY"] == "http://u:**********@proxy.invalid:3128"


def test_ad_hoc_debug_cannot_read_the_daemon_environment(world):
    d = world["d"]
    r = d.post("/api/v2/ad_hoc_commands/", {"inventory": world["inv"]["id"], "limit": "localhost",
                                            "module_name": "command", "module_args": "echo %s" % LOOKUPS},
               expect=(201,))
    job = d.wait_job(r["url"])
    assert job["status"] == "successful", job
    out = job_stdout(d, "ad_hoc_commands", job["id"])
    assert "[][][][%d][given-by-task-env]" % job["id"] in out, out
    assert PASSWORD not in out and PLANTED not in out
    assert_clean_job_env(job["job_env"])


def test_admin_password_is_gone_from_runneld_and_workers_get_a_minimal_environment(world):
    d = world["d"]
    raw = read_environ(d.proc.pid)
    assert PASSWORD.encode() not in raw
    assert "RUNNEL_ADMIN_PASSWORD" not in env_names(raw)
    # the planted variable is runneld's own (it is not unset); its workers and jobs never get it
    assert PLANTED.encode() in raw
    r = d.req("POST", "/api/v2/job_templates/%d/launch/" % world["jt_sleep"]["id"],
              json={"extra_vars": {"sleep_seconds": 30}})
    assert r.status_code == 201, r.text
    url = "/api/v2/jobs/%d/" % r.json()["id"]
    try:
        wait_for(lambda: d.get(url)["status"] == "running", timeout=60, what="job running")
        workers = wait_for(lambda: pids_with_cmdline("runneld-worker --state-dir %s" % d.state_dir),
                           timeout=30, what="the worker")
        # the job's own processes (ansible-playbook and its sleep) are the worker's descendants
        # (only those: another suite on the machine may run the same sleep)
        sleeper = wait_for(lambda: [p for p in pids_with_cmdline("sleep 30")
                                    if p not in workers and descends_from(p, workers)],
                           timeout=60, what="the job's sleep")
        for pid in workers + sleeper:
            env = read_environ(pid)
            assert PASSWORD.encode() not in env and PLANTED.encode() not in env, pid
            names = env_names(env)
            assert PLANTED_NAME not in names and "AWS_SECRET_ACCESS_KEY" not in names, (pid, names)
        extra = {n for n in env_names(read_environ(workers[0])) if n not in BASIC and not n.startswith("LC_")}
        assert extra <= {"RUNNEL_PLUGIN_DIR", "AWX_LIB_DIRECTORY", "ASAN_OPTIONS", "UBSAN_OPTIONS",
                         "LSAN_OPTIONS"}, extra
        # runneld's settings reach the worker on its stdin (one JSON object), not on its command
        # line nor in its environment: task_env's proxy password is in neither
        for pid in workers:
            with open("/proc/%d/cmdline" % pid, "rb") as f:
                cmdline = f.read()
            assert b"proxy-pw-31" not in cmdline and b"proxy-pw-31" not in read_environ(pid), pid
            assert cmdline.split(b"\0")[1:] == [b"--state-dir", str(d.state_dir).encode(), b"--job",
                                                str(r.json()["id"]).encode(), b"--settings", b"-", b""], cmdline
        # job_env is the environment ansible-playbook really got (secret-looking values redacted)
        playbook = [p for p in pids_with_cmdline("ansible-playbook") if descends_from(p, workers)]
        assert playbook  # ansible-playbook, and the workers it forks (same environment)
        real = dict(e.decode().split("=", 1) for e in read_environ(min(playbook)).split(b"\0") if b"=" in e)
        # but for the event pipe's handle: "3:<inode>" names an fd of that process alone, which
        # the runner adds at the fork (lib/evpipe.h) and the plugin takes out of the environment
        # before the job's commands run; job_env is the environment to run the job again with
        assert re.fullmatch(r"3:\d+", real.pop("RUNNEL_EVENT_FD")), real
        job_env = d.get(url)["job_env"]
        assert set(real) == set(job_env)
        assert {k: v for k, v in real.items() if "**********" not in job_env[k]} == \
            {k: v for k, v in job_env.items() if "**********" not in v}
        assert real["HTTP_PROXY"] == TASK_ENV["HTTP_PROXY"]
    finally:
        d.post(url + "cancel/", expect=(202, 405))
        d.wait_job(url)


# --------------------------------------------------------------------------
# item 5: names

INJECTED = "h\n[evil]\nh2 ansible_connection=local"


@pytest.mark.parametrize("name", [INJECTED, "h\r\nx", "tab\there", "bell\x07", "del\x7f", "nel\u0085x",
                                  "   ", "\n"])
def test_host_names_with_control_characters_are_refused(world, name):
    d = world["d"]
    inv = world["inv"]["id"]
    r = d.req("POST", "/api/v2/inventories/%d/hosts/" % inv, json={"name": name, "variables": json.dumps(LOCAL)})
    assert r.status_code == 400, r.text
    assert list(r.json()) == ["name"], r.text
    r = d.req("POST", "/api/v2/hosts/", json={"name": name, "inventory": inv})
    assert r.status_code == 400 and "name" in r.json(), r.text
    r = d.req("POST", "/api/v2/inventories/%d/groups/" % inv, json={"name": name})
    assert r.status_code == 400 and list(r.json()) == ["name"], r.text
    # and a rename of an existing host
    h = world["localhost"]
    r = d.req("PATCH", "/api/v2/hosts/%d/" % h["id"], json={"name": name})
    assert r.status_code == 400 and list(r.json()) == ["name"], r.text
    assert all(x["name"] != name for x in d.all_pages("/api/v2/inventories/%d/hosts/" % inv))


@pytest.mark.parametrize("name", ["all", "_meta"])
def test_reserved_group_names_are_refused(world, name):
    d = world["d"]
    r = d.req("POST", "/api/v2/inventories/%d/groups/" % world["inv"]["id"], json={"name": name})
    assert r.status_code == 400, r.text
    assert r.json() == {"name": ["Invalid group name."]}


def test_host_name_with_a_bad_port_is_refused(world):
    d = world["d"]
    r = d.req("POST", "/api/v2/inventories/%d/hosts/" % world["inv"]["id"], json={"name": "web:99999"})
    assert r.status_code == 400, r.text
    assert list(r.json()) == ["name"] and "port" in r.json()["name"][0], r.text


# (a name holding Jinja, "{{ 7*7 }}", is stored and reaches ansible as it is,
# but `debug var=groups` templates what it prints: not comparable here)
ODD_HOSTS = ["web 1", "h\u00e9llo-\u00fc", "r[1:3:1]", "x ansible_connection=ssh", "[evil]", "a,b", "h#c",
             "q'\"\\"]
ODD_GROUPS = ["my group", "g[1:2]", "[children]", "g=1"]


def test_odd_names_give_exactly_the_stored_inventory(world):
    d = world["d"]
    inv = d.create("inventories", name="Odd", organization=world["org"]["id"])["id"]
    hosts = {}
    for n in ODD_HOSTS:
        hosts[n] = d.post("/api/v2/inventories/%d/hosts/" % inv, {"name": n, "variables": json.dumps(LOCAL)},
                          expect=(201,))["id"]
    groups = {}
    for i, g in enumerate(ODD_GROUPS):
        groups[g] = d.post("/api/v2/inventories/%d/groups/" % inv, {"name": g}, expect=(201,))["id"]
        # each group gets one host, the last one none: ungrouped holds the rest
        d.post("/api/v2/groups/%d/hosts/" % groups[g], {"id": hosts[ODD_HOSTS[i]]}, expect=(204,))
    # (AWX's AD_HOC_COMMANDS has no debug: ping hands back its data)
    r = d.post("/api/v2/ad_hoc_commands/", {"inventory": inv, "module_name": "ping",
                                            "module_args": "data={{ groups | to_json }}",
                                            "limit": "all"}, expect=(201,))
    job = d.wait_job(r["url"])
    assert job["status"] == "successful", (job, job_stdout(d, "ad_hoc_commands", job["id"]))
    events = d.all_pages("/api/v2/ad_hoc_commands/%d/events/" % job["id"])
    ok = [e for e in events if e["event"] == "runner_on_ok"]
    # one result per stored host, under its stored name and id: nothing added, nothing split
    assert sorted(e["host_name"] for e in ok) == sorted(ODD_HOSTS)
    assert {e["host_name"]: e["host"] for e in ok} == hosts
    seen = ok[0]["event_data"]["res"]["ping"]
    if isinstance(seen, str):
        seen = json.loads(seen)
    want = {g: [ODD_HOSTS[i]] for i, g in enumerate(ODD_GROUPS)}
    want["ungrouped"] = sorted(ODD_HOSTS[len(ODD_GROUPS):])
    want["all"] = sorted(ODD_HOSTS)
    assert {k: sorted(v) for k, v in seen.items()} == want


# --------------------------------------------------------------------------
# item 6: YAML alias bombs

def vm_hwm_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    raise AssertionError("no VmHWM")


def assert_bomb_refused(r, field):
    assert r.status_code == 400, (r.status_code, r.text[:300])
    body = r.json()
    assert list(body) == [field], body
    assert "alias expansion exceeds" in body[field][0], body


def test_alias_bombs_are_refused_where_runneld_takes_variables(world):
    d = world["d"]
    inv = world["inv"]["id"]
    before = vm_hwm_kib(d.proc.pid)
    assert_bomb_refused(d.req("POST", "/api/v2/inventories/%d/hosts/" % inv,
                              json={"name": "bomb-host", "variables": BOMB}), "variables")
    assert_bomb_refused(d.req("PATCH", "/api/v2/hosts/%d/" % world["localhost"]["id"],
                              json={"variables": BOMB}), "variables")
    assert_bomb_refused(d.req("POST", "/api/v2/inventories/%d/groups/" % inv,
                              json={"name": "bomb-group", "variables": BOMB}), "variables")
    assert_bomb_refused(d.req("PATCH", "/api/v2/inventories/%d/" % inv, json={"variables": BOMB}), "variables")
    assert_bomb_refused(d.req("PATCH", "/api/v2/job_templates/%d/" % world["jt"]["id"],
                              json={"extra_vars": BOMB}), "extra_vars")
    assert_bomb_refused(d.req("POST", "/api/v2/ad_hoc_commands/",
                              json={"inventory": inv, "limit": "localhost", "module_name": "ping",
                                    "extra_vars": BOMB}), "extra_vars")
    r = d.req("POST", "/api/v2/job_templates/%d/launch/" % world["jt"]["id"], json={"extra_vars": BOMB})
    assert r.status_code == 400 and "extra_vars" in r.json(), r.text
    # the variables were never expanded: runneld's peak memory barely moved
    grown = vm_hwm_kib(d.proc.pid) - before
    assert grown < 64 * 1024, "runneld's peak RSS grew by %d KiB" % grown
    # nothing was stored
    assert d.get("/api/v2/hosts/%d/" % world["localhost"]["id"])["variables"] != BOMB
    assert not [h for h in d.all_pages("/api/v2/inventories/%d/hosts/" % inv) if h["name"] == "bomb-host"]


def test_aliases_within_the_bound_still_work(world):
    d = world["d"]
    yaml_vars = ("ansible_connection: local\nansible_python_interpreter: /usr/bin/python3\n"
                 "base: &b {word: aliased}\nfrom_alias: *b\n")
    h = d.post("/api/v2/inventories/%d/hosts/" % world["inv"]["id"], {"name": "yamlhost", "variables": yaml_vars},
               expect=(201,))
    try:
        r = d.post("/api/v2/ad_hoc_commands/", {"inventory": world["inv"]["id"], "limit": "yamlhost",
                                                "module_name": "command", "module_args": "echo {{ from_alias.word }}"},
                   expect=(201,))
        job = d.wait_job(r["url"])
        assert job["status"] == "successful", job
        assert "aliased" in job_stdout(d, "ad_hoc_commands", job["id"])
    finally:
        d.req("DELETE", "/api/v2/hosts/%d/" % h["id"])


def test_inventory_update_refuses_a_bomb_in_the_source(world):
    d = world["d"]
    repo = world["tmp"] / "bombrepo"
    repo.mkdir()
    (repo / "inventory").mkdir()
    (repo / "inventory" / "bomb.yml").write_text(BOMB)
    (repo / "ok.yml").write_text("- hosts: all\n  tasks: []\n")
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "a bomb")
    proj = d.create("projects", name="BombProj", organization=world["org"]["id"], scm_type="git",
                    scm_url="file://%s" % repo)
    upd = d.wait_job("/api/v2/project_updates/%d/" % proj["summary_fields"]["current_update"]["id"])
    assert upd["status"] == "successful", upd
    inv = d.create("inventories", name="BombImport", organization=world["org"]["id"])
    src = d.post("/api/v2/inventories/%d/inventory_sources/" % inv["id"],
                 {"name": "bomb", "source": "scm", "source_project": proj["id"], "source_path": "inventory/bomb.yml"},
                 expect=(201,))
    before = vm_hwm_kib(d.proc.pid)
    r = d.post("/api/v2/inventory_sources/%d/update/" % src["id"], expect=(202,))
    upd = d.wait_job(r["url"])
    assert upd["status"] == "failed", upd
    assert "source_path: " in upd["job_explanation"], upd
    assert "bomb.yml: YAML alias expansion exceeds" in upd["job_explanation"], upd
    assert vm_hwm_kib(d.proc.pid) - before < 64 * 1024
    assert d.all_pages("/api/v2/inventories/%d/hosts/" % inv["id"]) == []


def runner_pdd(tmp):
    pdd = Path(tmp) / "pdd"
    (pdd / "env").mkdir(parents=True)
    (pdd / "project").mkdir()
    (pdd / "inventory").mkdir()
    (pdd / "project" / "p.yml").write_text(
        "- hosts: localhost\n  gather_facts: false\n  tasks:\n    - debug: {msg: ran}\n")
    (pdd / "inventory" / "hosts").write_text(
        "localhost ansible_connection=local ansible_python_interpreter=/usr/bin/python3\n")
    return pdd


@pytest.mark.parametrize("where", ["env/extravars", "env/envvars", "env/settings", "env/passwords",
                                   "inventory/bomb.yml"])
def test_runner_refuses_a_bomb_naming_the_file(tmp_path, where):
    pdd = runner_pdd(tmp_path)
    (pdd / where).write_text(BOMB)
    p = subprocess.run([RUNNEL, "run", str(pdd), "-p", "p.yml"], capture_output=True, text=True, timeout=120)
    assert p.returncode != 0, p
    assert "%s: YAML alias expansion exceeds" % (pdd / where) in p.stderr, p.stderr
    # refused before anything ran
    assert not list((pdd / "artifacts").glob("*/job_events/*"))


def test_runner_runs_the_same_files_without_the_bomb(tmp_path):
    pdd = runner_pdd(tmp_path)
    (pdd / "env" / "extravars").write_text("base: &b {word: aliased}\nother: *b\n")
    p = subprocess.run([RUNNEL, "run", str(pdd), "-p", "p.yml"], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, (p.stdout, p.stderr)
    assert "ran" in p.stdout
