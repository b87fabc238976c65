"""Path options of `runnel run` given absolute or relative, as ansible-runner
takes them (os.path.join: an absolute value stands alone).

The role run with an absolute --inventory once joined it to PDD/inventory/,
then freed a pointer into argv on the way out (munmap_chunk(): invalid
pointer); these tests are marked `asan` so that `make check-asan` runs them
against the sanitizer build too.
"""
import json
import os
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RUNNEL = os.environ.get("RUNNEL", os.path.join(ROOT, "build", "runnel"))

pytestmark = pytest.mark.skipif(not os.access(RUNNEL, os.X_OK), reason=f"{RUNNEL} not built")

HOST = "testhost ansible_connection=local ansible_python_interpreter=/usr/bin/python3\n"


def world(tmp_path):
    """A role in tmp/roles, an inventory file outside the PDD, an empty PDD."""
    tasks = tmp_path / "roles" / "hello" / "tasks"
    tasks.mkdir(parents=True)
    (tasks / "main.yml").write_text("- debug:\n    msg: hello from the role {{ greeting | default('') }}\n")
    (tmp_path / "inv").write_text(HOST)
    pdd = tmp_path / "pdd"
    pdd.mkdir()
    return pdd


def run(argv, cwd, timeout=120):
    return subprocess.run([RUNNEL, *argv], capture_output=True, text=True, timeout=timeout,
                          cwd=str(cwd), stdin=subprocess.DEVNULL)


def events(pdd, ident):
    d = pdd / "artifacts" / ident / "job_events"
    return [json.loads(p.read_text()) for p in sorted(d.iterdir())]


def sanitizer_clean(r):
    for bad in ("munmap_chunk", "invalid pointer", "AddressSanitizer", "runtime error:",
                "LeakSanitizer", "double free"):
        assert bad not in r.stderr, r.stderr[-3000:]


@pytest.mark.asan
def test_role_with_absolute_inventory_and_roles_path(tmp_path):
    pdd = world(tmp_path)
    r = run(["run", "-r", "hello", "--hosts", "testhost", "--roles-path",
             str(tmp_path / "roles"), "--inventory", str(tmp_path / "inv"), "--role-skip-facts",
             "-i", "abs", "--role-vars", "greeting=there", str(pdd)], tmp_path)
    sanitizer_clean(r)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    assert "does not exist" not in r.stderr
    assert "hello from the role there" in r.stdout
    ok = [e for e in events(pdd, "abs") if e.get("event") == "runner_on_ok"]
    assert [e["event_data"]["host"] for e in ok] == ["testhost"]
    # the generated playbook and project dir are taken away again
    assert not (pdd / "project").exists()
    cmd = json.loads((pdd / "artifacts" / "abs" / "command").read_text())["command"]
    assert str(tmp_path / "inv") in cmd


@pytest.mark.asan
def test_role_with_relative_inventory_is_under_pdd_inventory(tmp_path):
    pdd = world(tmp_path)
    (pdd / "inventory").mkdir()
    (pdd / "inventory" / "mine").write_text(HOST)
    r = run(["run", str(pdd), "-r", "hello", "--hosts", "testhost", "--roles-path",
             "roles", "--inventory", "mine", "--role-skip-facts", "-i", "rel"], tmp_path)
    sanitizer_clean(r)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    cmd = json.loads((pdd / "artifacts" / "rel" / "command").read_text())["command"]
    assert str(pdd / "inventory" / "mine") in cmd


@pytest.mark.asan
@pytest.mark.parametrize("inv", ["ABS", "nope"])
def test_role_with_missing_inventory_fails_cleanly(tmp_path, inv):
    pdd = world(tmp_path)
    value = str(tmp_path / "missing") if inv == "ABS" else inv
    r = run(["run", str(pdd), "-r", "hello", "--hosts", "testhost", "--roles-path",
             str(tmp_path / "roles"), "--inventory", value], tmp_path, timeout=30)
    sanitizer_clean(r)
    assert r.returncode == 1
    want = value if inv == "ABS" else str(pdd / "inventory" / value)
    assert f"location specified by --inventory does not exist: {want}" in r.stderr
    assert "//" not in r.stderr
    assert not (pdd / "project").exists()


@pytest.mark.asan
def test_playbook_with_absolute_paths_outside_pdd(tmp_path):
    """--inventory, --project-dir and --artifact-dir absolute and elsewhere."""
    pdd = world(tmp_path)
    proj = tmp_path / "proj"
    proj.mkdir()
    (proj / "p.yml").write_text("- hosts: all\n  gather_facts: false\n  tasks:\n"
                                "    - debug: msg=from-proj\n")
    arts = tmp_path / "arts"
    r = run(["run", str(pdd), "-p", "p.yml", "--inventory", str(tmp_path / "inv"),
             "--project-dir", str(proj), "--artifact-dir", str(arts), "-i", "pb"], tmp_path)
    sanitizer_clean(r)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    assert "from-proj" in r.stdout
    assert (arts / "pb" / "rc").read_text() == "0"
    assert not (pdd / "artifacts").exists()


@pytest.mark.asan
def test_start_takes_relative_paths_from_where_it_was_started(tmp_path):
    """`start` runs its job as a daemon from /: a relative --project-dir,
    --artifact-dir or --inventory still means the caller's directory."""
    pdd = world(tmp_path)
    (tmp_path / "proj").mkdir()
    (tmp_path / "proj" / "p.yml").write_text("- hosts: all\n  gather_facts: false\n  tasks:\n"
                                             "    - debug: msg=from-start\n")
    r = run(["start", "pdd", "-p", "p.yml", "--project-dir", "proj", "--artifact-dir", "arts",
             "--inventory", "inv", "-i", "st"], tmp_path, timeout=30)
    assert r.returncode == 0, r.stderr
    import time
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and (pdd / "pid").exists():
        time.sleep(0.2)
    assert not (pdd / "pid").exists(), "the daemon did not finish"
    log = (pdd / "daemon.log").read_text() if (pdd / "daemon.log").exists() else ""
    sanitizer_clean(subprocess.CompletedProcess([], 0, "", log))
    assert (tmp_path / "arts" / "st" / "rc").read_text() == "0", log
    assert "from-start" in (tmp_path / "arts" / "st" / "stdout").read_text()
    cmd = json.loads((tmp_path / "arts" / "st" / "command").read_text())
    assert str(tmp_path / "inv") in cmd["command"]
    assert cmd["cwd"] == str(tmp_path / "proj")
