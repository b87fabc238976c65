"""Behaviour AWX users rely on (spec awx-api.md section 6), as AWX 21.14.0 has
it: an OpenSSH key without its last newline still works (AWX appends it),
names unique per organization (unique_together / SOFT_UNIQUE_TOGETHER), no
delete of what a running job uses (409, ActiveJobConflict), ad hoc
module_args optional.

Environment: RUNNELD (default <repo>/build/service/runneld).
"""

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from runneld_harness import ACTIVE, RUNNELD, Runneld, free_port, make_git_project, setup_world, wait_for

pytestmark = pytest.mark.skipif(not os.path.exists(RUNNELD), reason="runneld is not built: " + RUNNELD)


@pytest.fixture(scope="module")
def world():
    tmp = Path(tempfile.mkdtemp(prefix="runneld-rules-"))
    repo, _ = make_git_project(tmp)
    d = Runneld(tmp / "state", extra=["--isolation-base-path", str(tmp)]).start()
    try:
        w = setup_world(d, repo)
        w.update(d=d, tmp=tmp)
        yield w
    finally:
        d.stop()
        shutil.rmtree(tmp, ignore_errors=True)


_seq = [0]


def uniq(prefix):
    _seq[0] += 1
    return "%s-%d-%d" % (prefix, os.getpid(), _seq[0])


def machine_type(d):
    return d.get("/api/v2/credential_types/?name=Machine")["results"][0]["id"]


@pytest.mark.skipif(not shutil.which("ssh-keygen"), reason="ssh-keygen is not installed")
def test_openssh_key_without_trailing_newline_works(world):
    d, tmp = world["d"], world["tmp"]
    keyfile = tmp / uniq("key")
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(keyfile)], check=True)
    key = keyfile.read_text()
    assert key.endswith("\n") and "OPENSSH PRIVATE KEY" in key
    cred = d.create("credentials", name=uniq("key"), credential_type=machine_type(d),
                    inputs={"username": "nobody", "ssh_key_data": key.rstrip("\n")})
    assert cred["inputs"]["ssh_key_data"] == "$encrypted$"
    jt = d.create("job_templates", name=uniq("keyed"), project=world["project"]["id"],
                  inventory=world["inv"]["id"], playbook="ok.yml", limit="localhost")
    d.post("/api/v2/job_templates/%d/credentials/" % jt["id"], {"id": cred["id"]}, expect=(204,))
    job = d.post("/api/v2/job_templates/%d/launch/" % jt["id"], {}, expect=(201,))
    done = d.wait_job("/api/v2/jobs/%d/" % job["id"])
    out = d.req("GET", "/api/v2/jobs/%d/stdout/?format=txt" % job["id"]).text
    # without the newline ssh-add says "Error loading key ... error in libcrypto" and the job fails
    assert done["status"] == "successful", (done["job_explanation"], out)
    assert "Error loading key" not in out and "hello localhost" in out
    # the job went through ssh-agent with the key
    assert "ssh-agent" in json.dumps(done.get("job_args", "")), done.get("job_args")


def test_names_unique_per_organization(world):
    d = world["d"]
    org = d.create("organizations", name=uniq("org"))
    other = d.create("organizations", name=uniq("org"))
    name = uniq("inv")
    d.create("inventories", name=name, organization=org["id"])
    r = d.req("POST", "/api/v2/inventories/", json={"name": name, "organization": org["id"]})
    assert r.status_code == 400
    assert r.json() == {"__all__": ["Inventory with this Name and Organization already exists."]}
    # the same name in another organization is fine, and so is a rename onto a free name
    inv2 = d.create("inventories", name=name, organization=other["id"])
    # moving it into the first organization would clash
    r = d.req("PATCH", "/api/v2/inventories/%d/" % inv2["id"], json={"organization": org["id"]})
    assert r.status_code == 400 and "already exists" in r.json()["__all__"][0]
    # a PUT of an object onto itself is no clash
    assert d.req("PATCH", "/api/v2/inventories/%d/" % inv2["id"], json={"name": name}).status_code == 200
    # projects: soft uniqueness, null organization included
    pname = uniq("prj")
    d.create("projects", name=pname, organization=org["id"])
    r = d.req("POST", "/api/v2/projects/", json={"name": pname, "organization": org["id"]})
    assert r.status_code == 400 and r.json()["__all__"] == [
        "Project with this (name, organization) combination already exists."]
    # job templates take the organization of their project
    jname = uniq("jt")
    d.create("job_templates", name=jname, project=world["project"]["id"], playbook="ok.yml")
    r = d.req("POST", "/api/v2/job_templates/", json={"name": jname, "project": world["project"]["id"],
                                                       "playbook": "ok.yml"})
    assert r.status_code == 400 and "JobTemplate with this (name, organization)" in r.json()["__all__"][0]
    # hosts: unique within their inventory
    inv = world["inv"]["id"]
    r = d.req("POST", "/api/v2/inventories/%d/hosts/" % inv, json={"name": "localhost"})
    assert r.status_code == 400 and r.json()["__all__"] == ["Host with this Name and Inventory already exists."]
    # nothing was stored by the refused requests
    assert d.get("/api/v2/inventories/?name=" + name)["count"] == 2
    assert d.get("/api/v2/hosts/?name=localhost&inventory=%d" % inv)["count"] == 1


def test_no_delete_of_what_a_running_job_uses(world):
    d = world["d"]
    cred = d.create("credentials", name=uniq("c"), credential_type=machine_type(d), inputs={"username": "x"})
    jt = d.create("job_templates", name=uniq("sleepy"), project=world["project"]["id"],
                  inventory=world["inv"]["id"], playbook="sleep.yml", limit="localhost",
                  ask_variables_on_launch=True)
    d.post("/api/v2/job_templates/%d/credentials/" % jt["id"], {"id": cred["id"]}, expect=(204,))
    job = d.post("/api/v2/job_templates/%d/launch/" % jt["id"], {"extra_vars": {"sleep_seconds": 60}},
                 expect=(201,))
    url = "/api/v2/jobs/%d/" % job["id"]
    try:
        wait_for(lambda: d.get(url)["status"] == "running", timeout=120, what="the job to run")
        targets = [("job_templates", jt["id"]), ("inventories", world["inv"]["id"]),
                   ("projects", world["project"]["id"]), ("credentials", cred["id"]),
                   ("organizations", world["org"]["id"]), ("hosts", world["localhost"]["id"])]
        for plural, oid in targets:
            r = d.req("DELETE", "/api/v2/%s/%d/" % (plural, oid))
            assert r.status_code == 409, (plural, r.status_code, r.text)
            assert r.json() == {"error": "Resource is being used by running jobs.",
                                "active_jobs": [{"id": job["id"], "type": "job"}]}, plural
            assert d.req("GET", "/api/v2/%s/%d/" % (plural, oid)).status_code == 200, plural
        assert "used by 1 running job(s)" in d.log()
    finally:
        d.post(url + "cancel/", {}, expect=(202, 405))
    done = d.wait_job(url)
    assert done["status"] == "canceled"
    # once the job is over the template and credential go
    assert d.req("DELETE", "/api/v2/job_templates/%d/" % jt["id"]).status_code == 204
    assert d.req("DELETE", "/api/v2/credentials/%d/" % cred["id"]).status_code == 204


def test_ad_hoc_module_args_optional(world):
    d = world["d"]
    inv = world["inv"]["id"]
    # the awx.awx collection sends unset options as null
    r = d.req("POST", "/api/v2/ad_hoc_commands/", json={"inventory": inv, "module_name": "ping",
                                                         "module_args": None, "limit": "localhost",
                                                         "forks": None, "credential": None})
    assert r.status_code == 201, r.text
    done = d.wait_job("/api/v2/ad_hoc_commands/%d/" % r.json()["id"])
    assert done["status"] == "successful" and done["module_args"] == ""
    r = d.req("POST", "/api/v2/ad_hoc_commands/", json={"inventory": inv, "module_name": "shell"})
    assert r.status_code == 400 and r.json() == {"module_args": ["No argument passed to shell module."]}
    r = d.req("POST", "/api/v2/ad_hoc_commands/", json={"inventory": inv, "module_name": "ping",
                                                         "verbosity": 9})
    assert r.status_code == 400 and "verbosity" in r.json()
    r = d.req("POST", "/api/v2/ad_hoc_commands/", json={"inventory": inv, "module_name": "ping",
                                                         "bogus": 1})
    assert r.status_code == 400 and "bogus" in r.json()
    assert [j for j in d.get("/api/v2/ad_hoc_commands/")["results"] if j["status"] in ACTIVE] == []


def test_job_template_organization_is_the_projects(world):
    """AWX 21.14.0's job template has a read-only organization, its
    project's (JobOptionsSerializer read_only_fields; JobTemplate.save): the
    awx.awx job_template module sends `organization`, which is accepted and
    ignored, and the template shows, filters and orders by its project's."""
    d = world["d"]
    org, prj = world["org"], world["project"]
    other = d.create("organizations", name=uniq("org"))
    jt = d.create("job_templates", name=uniq("jt"), project=prj["id"], inventory=world["inv"]["id"],
                  playbook="ok.yml", organization=other["id"])
    assert jt["organization"] == org["id"]
    assert jt["summary_fields"]["organization"] == {"id": org["id"], "name": org["name"]}
    assert jt["related"]["organization"] == "/api/v2/organizations/%d/" % org["id"]
    # a change of it is ignored, as any read-only field
    r = d.req("PATCH", "/api/v2/job_templates/%d/" % jt["id"], json={"organization": other["id"]})
    assert r.status_code == 200 and r.json()["organization"] == org["id"]
    # the name lookup the module makes
    found = d.get("/api/v2/job_templates/?name=%s&organization=%d" % (jt["name"], org["id"]))
    assert [j["id"] for j in found["results"]] == [jt["id"]]
    assert d.get("/api/v2/job_templates/?name=%s&organization=%d" % (jt["name"], other["id"]))["count"] == 0
    # the project moves: the template follows
    try:
        r = d.req("PATCH", "/api/v2/projects/%d/" % prj["id"], json={"organization": other["id"]})
        assert r.status_code == 200, r.text
        assert d.get("/api/v2/job_templates/%d/" % jt["id"])["organization"] == other["id"]
        r = d.req("PATCH", "/api/v2/projects/%d/" % prj["id"], json={"organization": None})
        assert r.status_code == 200, r.text
        moved = d.get("/api/v2/job_templates/%d/" % jt["id"])
        assert moved["organization"] is None and "organization" not in moved["summary_fields"]
    finally:
        d.req("PATCH", "/api/v2/projects/%d/" % prj["id"], json={"organization": org["id"]})
    # OPTIONS shows it read-only: in GET, not in POST
    opts = d.req("OPTIONS", "/api/v2/job_templates/").json()["actions"]
    assert "organization" in opts["GET"] and "organization" not in opts["POST"]
    d.req("DELETE", "/api/v2/job_templates/%d/" % jt["id"])


@pytest.mark.skipif(not shutil.which("ssh-keygen") or not os.path.exists("/usr/sbin/sshd") or os.geteuid() != 0,
                    reason="needs ssh-keygen, /usr/sbin/sshd and root (sshd's privilege separation)")
def test_openssh_key_without_trailing_newline_over_ssh(world):
    """The key without its last newline logs a job in over ssh: an sshd of
    this test on a free loopback port takes only that key, the job's host
    connects to it as root, and the play runs there."""
    d, tmp = world["d"], world["tmp"]
    sshdir = tmp / uniq("sshd")
    sshdir.mkdir(mode=0o700)
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(sshdir / "host")], check=True)
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(sshdir / "user")], check=True)
    (sshdir / "authorized_keys").write_text((sshdir / "user.pub").read_text())
    os.makedirs("/run/sshd", mode=0o755, exist_ok=True)  # sshd's privilege separation dir
    port = free_port()
    (sshdir / "sshd_config").write_text(
        "ListenAddress 127.0.0.1:%d\nHostKey %s\nAuthorizedKeysFile %s\nPermitRootLogin prohibit-password\n"
        "PasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\nStrictModes no\n"
        "PidFile %s\n" % (port, sshdir / "host", sshdir / "authorized_keys", sshdir / "sshd.pid"))
    sshd = subprocess.Popen(["/usr/sbin/sshd", "-D", "-e", "-f", str(sshdir / "sshd_config")],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        wait_for(lambda: _listening(port), timeout=30, what="sshd listening")
        key = (sshdir / "user").read_text()
        assert key.endswith("\n")
        cred = d.create("credentials", name=uniq("ssh"), credential_type=machine_type(d),
                        inputs={"username": "root", "ssh_key_data": key.rstrip("\n")})
        inv = d.create("inventories", name=uniq("ssh"), organization=world["org"]["id"])
        d.post("/api/v2/inventories/%d/hosts/" % inv["id"],
               {"name": "over-ssh", "variables": json.dumps({
                   "ansible_host": "127.0.0.1", "ansible_port": port, "ansible_connection": "ssh",
                   "ansible_python_interpreter": "/usr/bin/python3"})}, expect=(201,))
        jt = d.create("job_templates", name=uniq("ssh"), project=world["project"]["id"],
                      inventory=inv["id"], playbook="ok.yml")
        d.post("/api/v2/job_templates/%d/credentials/" % jt["id"], {"id": cred["id"]}, expect=(204,))
        job = d.post("/api/v2/job_templates/%d/launch/" % jt["id"], {}, expect=(201,))
        done = d.wait_job("/api/v2/jobs/%d/" % job["id"], timeout=240)
        out = d.req("GET", "/api/v2/jobs/%d/stdout/?format=txt" % job["id"]).text
        assert done["status"] == "successful", (done["job_explanation"], out)
        assert "hello over-ssh" in out and "changed: [over-ssh]" in out, out
        assert "Error loading key" not in out
    finally:
        sshd.terminate()
        try:
            log, _ = sshd.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            sshd.kill()
            log, _ = sshd.communicate()
    # the sshd saw the key accepted for root
    assert "Accepted publickey for root" in log, log[-3000:]


def _listening(port):
    import socket
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False
