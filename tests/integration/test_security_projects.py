"""runneld's project fields as a hostile user sends them (issue 9): no shell, no
git argument injection, no module argument injection, no escape from the
projects root, no playbook or listing outside the project. Every test is the
attack: the injected command must not run (its marker file never appears),
the victim directory stays as it was, the request is a 400 naming the field,
and what was stored before is still there.

Values stored before these rules existed are planted straight into the
store's SQLite file: a worker must refuse them at run time too.
"""

import json
import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest

from runneld_harness import REPO_ROOT, Runneld, git, make_git_project, wait_for

RUNNEL = os.environ.get("RUNNEL", str(REPO_ROOT / "build" / "runnel"))

PLAY = "- hosts: all\n  gather_facts: false\n  tasks:\n    - debug: msg=hi\n"


@pytest.fixture(scope="module")
def w(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("secproj")
    repo, rev = make_git_project(tmp)
    d = Runneld(tmp / "state", extra=["--isolation-base-path", str(tmp)]).start()
    root = tmp / "state" / "projects"
    victim = tmp / "victim"
    victim.mkdir()
    (victim / "precious.txt").write_text("keep me\n")
    (victim / "secret.yml").write_text(PLAY)
    org = d.create("organizations", name="Org")
    inv = d.create("inventories", name="Inv", organization=org["id"])
    d.post("/api/v2/inventories/%d/hosts/" % inv["id"],
           {"name": "localhost", "variables": json.dumps(
               {"ansible_connection": "local", "ansible_python_interpreter": "/usr/bin/python3"})},
           expect=(201,))
    ns = dict(d=d, tmp=tmp, repo=repo, rev=rev, root=root, victim=victim, org=org["id"], inv=inv["id"],
              marker=tmp / "pwned", n=[0], cwd=os.getcwd())
    try:
        yield ns
    finally:
        d.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def name(w, prefix="p"):
    w["n"][0] += 1
    return "%s%d" % (prefix, w["n"][0])


def victim_intact(w):
    v = w["victim"]
    return sorted(p.name for p in v.iterdir()) == ["precious.txt", "secret.yml"] and \
        (v / "precious.txt").read_text() == "keep me\n"


def assert_400(r, field):
    assert r.status_code == 400, (r.status_code, r.text)
    assert field in r.json(), r.text
    return r.json()[field][0]


def git_project(w, **fields):
    d = w["d"]
    fields.setdefault("scm_url", "file://%s" % w["repo"])
    p = d.create("projects", name=name(w), organization=w["org"], scm_type="git", **fields)
    cur = p["summary_fields"]["current_update"]
    u = d.wait_job("/api/v2/project_updates/%d/" % cur["id"])
    return d.get(p["url"]), u


def update(w, project):
    d = w["d"]
    r = d.req("POST", "/api/v2/projects/%d/update/" % project["id"], json={})
    assert r.status_code == 202, r.text
    return d.wait_job("/api/v2/project_updates/%d/" % r.json()["id"])


def refused_at_run(w, project, field):
    """An update of a project holding a bad stored value: refused when launched
    (400 naming field) or failed by its worker (explanation naming field)."""
    d = w["d"]
    r = d.req("POST", "/api/v2/projects/%d/update/" % project["id"], json={})
    if r.status_code == 400:
        assert field in r.json(), r.text
        return r.json()[field][0]
    assert r.status_code == 202, r.text
    u = d.wait_job("/api/v2/project_updates/%d/" % r.json()["id"])
    assert u["status"] == "failed" and u["job_explanation"].startswith(field + ":"), u
    return u["job_explanation"]


def plant(w, kind_table, obj_id, **values):
    """Write values into a stored object behind the API's back (a row from before the rules)."""
    db = sqlite3.connect(str(w["tmp"] / "state" / "runneld.db"), timeout=30)
    try:
        for k, v in values.items():
            db.execute("UPDATE %s SET data = json_set(data, '$.%s', ?) WHERE id = ?" % (kind_table, k),
                       (v, obj_id))
        db.commit()
    finally:
        db.close()


# ---------------------------------------------------------------------------
# 1. local_path never reaches a shell


def test_local_path_shell_injection_refused(w):
    d = w["d"]
    evil = "x';touch %s;'" % w["marker"]
    r = d.req("POST", "/api/v2/projects/", json={
        "name": name(w), "organization": w["org"], "scm_type": "git", "scm_url": "file://%s" % w["repo"],
        "scm_delete_on_update": True, "local_path": evil})
    assert "one directory" in assert_400(r, "local_path")
    assert not w["marker"].exists()


def test_delete_on_update_runs_no_shell_with_a_stored_local_path(w):
    # a local_path stored before the rules, in the form a git project keeps
    # (_...), full of shell: the update deletes and clones in C and ansible
    p, u = git_project(w, scm_delete_on_update=True)
    assert u["status"] == "successful", u
    # no '/' in a directory name: the marker is relative to runneld's cwd
    mark = "pwned-lp-%d" % os.getpid()
    evil = "_x';touch %s;'$(touch %s)" % (mark, mark)
    plant(w, "projects", p["id"], local_path=evil)
    for _ in range(2):  # the second update deletes the first checkout
        u = update(w, p)
        assert u["status"] == "successful", u
    assert not (Path(w["cwd"]) / mark).exists() and not list(w["tmp"].rglob(mark))
    assert (w["root"] / evil / "ok.yml").is_file()


def test_delete_on_update_does_not_follow_symlinks_out(w, tmp_path):
    # the repository holds a symlink to the victim; deleting the old checkout
    # removes the link, never what it points to
    repo = tmp_path / "linkrepo"
    shutil.copytree(w["repo"], repo, ignore=shutil.ignore_patterns(".git"))
    os.symlink(str(w["victim"]), str(repo / "outside"))
    os.symlink(str(w["victim"] / "precious.txt"), str(repo / "precious-link.txt"))
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "links")
    p, u = git_project(w, scm_url="file://%s" % repo, scm_delete_on_update=True)
    assert u["status"] == "successful", u
    checkout = w["root"] / p["local_path"]
    assert (checkout / "outside").is_symlink()
    u = update(w, p)
    assert u["status"] == "successful", u
    assert victim_intact(w)
    assert (checkout / "outside").is_symlink()


# ---------------------------------------------------------------------------
# 2. scm_url: no git argument injection, known forms only


@pytest.mark.parametrize("url", [
    "--upload-pack=touch${IFS}%(marker)s",
    "-uINJECT",
    "ext::sh -c touch%% %(marker)s",
    "file:///srv/x'y",
    "ext::sh",
    "ssh://-oProxyCommand=touch${IFS}%(marker)s/repo",
    "ssh://git@-oProxyCommand=x/repo",
    "-oProxyCommand=touch:repo",
    "fd::17",
    "git+ssh://host/repo",
    "svn://host/repo",
    "file://%(repo)s dest=%(victim)s",
    "file://%(repo)s\ndest=%(victim)s",
    "file://evil.example/%(repo)s",
    "http://host:99999/repo",
    "relative/repo",
    "https://host/{{ lookup('pipe','touch %(marker)s') }}",
])
def test_scm_url_injection_refused(w, url):
    d = w["d"]
    url = url % {"marker": w["marker"], "repo": w["repo"], "victim": w["victim"]}
    r = d.req("POST", "/api/v2/projects/", json={"name": name(w), "organization": w["org"],
                                                  "scm_type": "git", "scm_url": url})
    assert_400(r, "scm_url")
    assert not w["marker"].exists() and victim_intact(w)


@pytest.mark.parametrize("url", [
    "https://github.com/ansible/awx.git", "ssh://git@github.com:22/ansible/awx.git",
    "git@github.com:ansible/awx.git", "git://host.example/repo", "file:///srv/repo",
    "/srv/repo", "https://user@[fd00::11]:8443/x.git", "[fd00::11]:example/foo.git",
])
def test_scm_url_known_forms_accepted(w, url):
    # saved only (no update runs for these): a manual project keeps the URL as AWX does
    d = w["d"]
    r = d.req("POST", "/api/v2/projects/", json={"name": name(w), "organization": w["org"], "scm_url": url})
    assert r.status_code == 201, r.text


def test_scm_url_change_refused_keeps_the_stored_one(w):
    p, u = git_project(w)
    d = w["d"]
    r = d.req("PATCH", p["url"], json={"scm_url": "--upload-pack=touch${IFS}%s" % w["marker"]})
    assert_400(r, "scm_url")
    assert d.get(p["url"])["scm_url"] == "file://%s" % w["repo"]


def test_stored_upload_pack_url_refused_by_the_update(w):
    p, u = git_project(w)
    plant(w, "projects", p["id"], scm_url="--upload-pack=touch %s" % w["marker"])
    refused_at_run(w, p, "scm_url")
    assert not w["marker"].exists()


def test_git_module_args_are_not_split(w, tmp_path):
    # a URL with '=' and '&' (legal) reaches the git module as one value
    parent = tmp_path / "a=b&dest=c"
    parent.mkdir()
    repo = parent / "repo"
    shutil.copytree(w["repo"], repo)
    p, u = git_project(w, scm_url="file://%s" % repo)
    assert u["status"] == "successful", u
    assert (w["root"] / p["local_path"] / "ok.yml").is_file()
    args = json.loads(u["job_args"])
    margs = json.loads(args[args.index("-a") + 1])
    assert margs["repo"] == "file://%s" % repo and margs["dest"] == str(w["root"] / p["local_path"])


# ---------------------------------------------------------------------------
# 3. the projects root: local_path, branches, playbooks


@pytest.mark.parametrize("scm", ["git", ""])
@pytest.mark.parametrize("lp", ["%(victim)s", "../victim", "..", ".", "a/b", "-rf", ".hidden",
                                "{{ x }}", "x\ny"])
def test_local_path_outside_the_root_refused(w, scm, lp):
    d = w["d"]
    lp = lp % {"victim": w["victim"]}
    r = d.req("POST", "/api/v2/projects/", json={"name": name(w), "organization": w["org"], "scm_type": scm,
                                                  "scm_url": "file://%s" % w["repo"] if scm else "",
                                                  "local_path": lp})
    assert_400(r, "local_path")
    assert victim_intact(w)


def test_git_project_absolute_local_path_stored_before_is_not_wiped(w):
    p, u = git_project(w, scm_delete_on_update=True)
    plant(w, "projects", p["id"], local_path=str(w["victim"]))
    u = update(w, p)
    assert u["status"] == "successful", u
    assert victim_intact(w)
    assert w["d"].get(p["url"])["local_path"].startswith("_%d__" % p["id"])


def test_git_project_local_path_is_the_servers(w):
    d = w["d"]
    p, u = git_project(w, local_path="mine")  # ignored, as AWX does
    assert p["local_path"] == "_%d__%s" % (p["id"], p["name"].lower())
    r = d.req("PATCH", p["url"], json={"local_path": "other"})
    assert "Cannot change" in assert_400(r, "local_path")
    assert d.get(p["url"])["local_path"] == p["local_path"]


def test_manual_project_chooses_a_directory_under_the_root(w):
    d = w["d"]
    root = w["root"]
    (root / "manual_a").mkdir()
    (root / "manual_a" / "site.yml").write_text(PLAY)
    os.symlink(str(w["victim"]), str(root / "linked_victim"))
    (root / "_looks_like_git").mkdir()
    cfg = d.get("/api/v2/config/")
    assert "manual_a" in cfg["project_local_paths"]
    assert "linked_victim" not in cfg["project_local_paths"]
    assert "_looks_like_git" not in cfg["project_local_paths"]
    p = d.create("projects", name=name(w), organization=w["org"], local_path="manual_a")
    assert "manual_a" not in d.get("/api/v2/config/")["project_local_paths"]
    for lp, words in (("manual_a", "already being used"), ("linked_victim", "not a directory"),
                      ("missing_dir", "not a directory"), ("_looks_like_git", "'_'")):
        r = d.req("POST", "/api/v2/projects/", json={"name": name(w), "local_path": lp})
        assert words in assert_400(r, "local_path"), lp
    # its own directory stays valid in a PUT of what GET gave
    r = d.req("PUT", p["url"], json=d.get(p["url"]))
    assert r.status_code == 200, r.text


@pytest.mark.parametrize("branch", ["main\ndest=/x", "a'b", 'a"b', "main dest=%(victim)s", "-b", "--upload-pack=x",
                                    "a..b", "main.lock", "x@{1}", "x:y", "x~1", "{{x}}", ".hidden", "x/"])
def test_scm_branch_refused(w, branch):
    d = w["d"]
    branch = branch % {"victim": w["victim"]}
    r = d.req("POST", "/api/v2/projects/", json={"name": name(w), "organization": w["org"], "scm_type": "git",
                                                  "scm_url": "file://%s" % w["repo"], "scm_branch": branch})
    assert_400(r, "scm_branch")


def test_scm_branch_and_refspec_accepted(w):
    p, u = git_project(w, scm_branch="main", scm_refspec="+refs/heads/*:refs/remotes/origin/*")
    assert u["status"] == "successful", u
    assert u["scm_revision"] == w["rev"]


@pytest.mark.parametrize("refspec", ["--upload-pack=x", "refs/*/x/*:y", "a b", "+refs/x:refs/y\n", "^refs/x"])
def test_scm_refspec_refused(w, refspec):
    d = w["d"]
    r = d.req("POST", "/api/v2/projects/", json={"name": name(w), "organization": w["org"], "scm_type": "git",
                                                  "scm_url": "file://%s" % w["repo"], "scm_refspec": refspec})
    assert_400(r, "scm_refspec")


def test_stored_branch_with_newline_refused_by_the_update(w):
    p, u = git_project(w)
    plant(w, "projects", p["id"], scm_branch="main\ndest=%s" % w["victim"])
    refused_at_run(w, p, "scm_branch")
    assert victim_intact(w)


def test_scm_type_unknown_refused(w):
    r = w["d"].req("POST", "/api/v2/projects/", json={"name": name(w), "scm_type": "svn",
                                                       "scm_url": "svn://host/x"})
    assert_400(r, "scm_type")


def test_playbooks_listing_stays_in_the_project(w):
    d = w["d"]
    root = w["root"]
    proj = root / "listing"
    (proj / "sub").mkdir(parents=True)
    (proj / "site.yml").write_text(PLAY)
    (proj / "sub" / "deep.yml").write_text(PLAY)
    os.symlink(str(w["victim"] / "secret.yml"), str(proj / "escape.yml"))
    os.symlink(str(w["victim"]), str(proj / "linked"))
    os.mkfifo(str(proj / "fifo.yml"))
    p = d.create("projects", name=name(w), organization=w["org"], local_path="listing")
    assert d.get("/api/v2/projects/%d/playbooks/" % p["id"]) == ["site.yml", "sub/deep.yml"]


def test_manual_project_stored_outside_the_root_cannot_run(w):
    d = w["d"]
    (w["root"] / "runme").mkdir()
    (w["root"] / "runme" / "site.yml").write_text(PLAY)
    p = d.create("projects", name=name(w), organization=w["org"], local_path="runme")
    jt = d.create("job_templates", name=name(w, "jt"), project=p["id"], inventory=w["inv"], playbook="site.yml")
    plant(w, "projects", p["id"], local_path=str(w["victim"]))
    assert d.get("/api/v2/projects/%d/playbooks/" % p["id"]) == []
    r = d.req("POST", "/api/v2/job_templates/%d/launch/" % jt["id"], json={})
    assert_400(r, "local_path")


# ---------------------------------------------------------------------------
# playbooks of a template: inside the project, at save and at launch


@pytest.fixture(scope="module")
def manual(w):
    d = w["d"]
    proj = w["root"] / "pbcheck"
    proj.mkdir()
    (proj / "site.yml").write_text(PLAY)
    (proj / "later.yml").write_text(PLAY)
    os.symlink(str(w["victim"] / "secret.yml"), str(proj / "escape.yml"))
    p = d.create("projects", name="pbcheck", organization=w["org"], local_path="pbcheck")
    return dict(project=p, dir=proj)


@pytest.mark.parametrize("pb", ["../victim/secret.yml", "%(victim)s/secret.yml", "escape.yml", "-i/etc/hosts",
                                "./site.yml", "sub/../../x.yml", "missing.yml"])
def test_template_playbook_outside_refused_at_save(w, manual, pb):
    d = w["d"]
    pb = pb % {"victim": w["victim"]}
    r = d.req("POST", "/api/v2/job_templates/", json={"name": name(w, "jt"), "project": manual["project"]["id"],
                                                       "inventory": w["inv"], "playbook": pb})
    assert_400(r, "playbook")


def test_template_playbook_checked_again_at_launch(w, manual):
    d = w["d"]
    jt = d.create("job_templates", name=name(w, "jt"), project=manual["project"]["id"], inventory=w["inv"],
                  playbook="later.yml")
    target = manual["dir"] / "later.yml"
    target.unlink()
    os.symlink(str(w["victim"] / "secret.yml"), str(target))
    r = d.req("POST", "/api/v2/job_templates/%d/launch/" % jt["id"], json={})
    assert "outside the project" in assert_400(r, "playbook")


# ---------------------------------------------------------------------------
# other fields that reach ansible's command line


@pytest.mark.parametrize("field,value", [
    ("limit", "--become"), ("limit", "-K"), ("limit", "@/etc/passwd"), ("limit", "web,@/etc/passwd"),
    ("job_tags", "--tags=x"), ("skip_tags", "-x"), ("limit", "a\nb"),
])
def test_template_cli_fields_refused(w, manual, field, value):
    r = w["d"].req("POST", "/api/v2/job_templates/", json={
        "name": name(w, "jt"), "project": manual["project"]["id"], "inventory": w["inv"],
        "playbook": "site.yml", field: value})
    assert_400(r, field)


def test_launch_limit_refused(w, manual):
    d = w["d"]
    jt = d.create("job_templates", name=name(w, "jt"), project=manual["project"]["id"], inventory=w["inv"],
                  playbook="site.yml", ask_limit_on_launch=True)
    r = d.req("POST", "/api/v2/job_templates/%d/launch/" % jt["id"], json={"limit": "--module-path=/tmp"})
    assert_400(r, "limit")


def test_ad_hoc_host_pattern_refused(w):
    r = w["d"].req("POST", "/api/v2/ad_hoc_commands/", json={
        "inventory": w["inv"], "limit": "--playbook-dir=/", "module_name": "ping"})
    assert_400(r, "limit")


@pytest.mark.parametrize("path", ["../../etc/hosts", "/etc/hosts", "-i"])
def test_inventory_source_path_refused(w, manual, path):
    r = w["d"].req("POST", "/api/v2/inventory_sources/", json={
        "name": name(w, "src"), "inventory": w["inv"], "source": "scm",
        "source_project": manual["project"]["id"], "source_path": path})
    assert_400(r, "source_path")


# ---------------------------------------------------------------------------
# siblings: no shell in the API's version probe, directory isolation, ssh-agent


def test_config_ansible_version_without_a_shell(w):
    cfg = w["d"].get("/api/v2/config/")
    out = subprocess.run(["ansible", "--version"], capture_output=True, text=True).stdout
    assert cfg["ansible_version"] and cfg["ansible_version"] in out.splitlines()[0]


def runnel_pdd(parent, key=None):
    pdd = parent
    (pdd / "project").mkdir(parents=True)
    (pdd / "project" / "site.yml").write_text(PLAY)
    (pdd / "inventory").mkdir()
    (pdd / "inventory" / "hosts").write_text(
        "localhost ansible_connection=local ansible_python_interpreter=/usr/bin/python3\n")
    if key:
        (pdd / "env").mkdir()
        (pdd / "env" / "ssh_key").write_text(key)
    return pdd


@pytest.mark.skipif(not os.access(RUNNEL, os.X_OK), reason="runnel not built")
def test_directory_isolation_copy_with_shell_in_the_path(tmp_path):
    marker = tmp_path / "pwned-cp"
    pdd = runnel_pdd(tmp_path / ("pdd';touch %s;'$(touch %s)" % (marker, marker)))
    base = tmp_path / "di"
    base.mkdir()
    r = subprocess.run([RUNNEL, "run", str(pdd), "-p", "site.yml", "--directory-isolation-base-path", str(base)],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    assert not marker.exists()


@pytest.mark.skipif(not shutil.which("ssh-agent") or not shutil.which("ssh-keygen"), reason="no openssh-client")
@pytest.mark.skipif(not os.access(RUNNEL, os.X_OK), reason="runnel not built")
def test_ssh_agent_cleanup_with_shell_in_the_path(tmp_path):
    marker = tmp_path / "pwned-rm"
    keyfile = tmp_path / "k"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(keyfile)], check=True)
    pdd = runnel_pdd(tmp_path / ("pdd;touch ${IFS}%s;x" % marker), key=keyfile.read_text())
    r = subprocess.run([RUNNEL, "run", str(pdd), "-p", "site.yml"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    assert not marker.exists()
    assert not list(pdd.glob("artifacts/*/ssh_key_data"))


def test_manual_project_turned_git_does_not_wipe_its_directory(w):
    # the git checkout goes to a directory of its own (_<id>__<slug>), never
    # to the directory the manual project used
    d = w["d"]
    own = w["root"] / "turned"
    own.mkdir()
    (own / "site.yml").write_text(PLAY)
    p = d.create("projects", name=name(w), organization=w["org"], local_path="turned")
    r = d.req("PATCH", p["url"], json={"scm_type": "git", "scm_url": "file://%s" % w["repo"],
                                       "scm_delete_on_update": True})
    assert r.status_code == 200, r.text
    u = update(w, p)
    assert u["status"] == "successful", u
    assert sorted(x.name for x in own.iterdir()) == ["site.yml"]
    lp = d.get(p["url"])["local_path"]
    assert lp.startswith("_%d__" % p["id"]) and (w["root"] / lp / "ok.yml").is_file()


def test_vault_id_with_a_source_refused(w):
    # ansible reads --vault-id ID@SOURCE as a password file or a script to run
    d = w["d"]
    vault = d.get("/api/v2/credential_types/?name=Vault")["results"][0]
    for vid in ("x@/tmp/script", "-x"):
        r = d.req("POST", "/api/v2/credentials/", json={
            "name": name(w, "vault"), "organization": w["org"], "credential_type": vault["id"],
            "inputs": {"vault_password": "pw", "vault_id": vid}})
        assert "vault_id" in assert_400(r, "inputs"), vid
    ok = d.create("credentials", name=name(w, "vault"), organization=w["org"], credential_type=vault["id"],
                  inputs={"vault_password": "pw", "vault_id": "prod"})
    r = d.req("PATCH", "/api/v2/credentials/%d/" % ok["id"], json={"inputs": {"vault_password": "pw",
                                                                              "vault_id": "a@b"}})
    assert_400(r, "inputs")
    assert d.get("/api/v2/credentials/%d/" % ok["id"])["inputs"]["vault_id"] == "prod"
