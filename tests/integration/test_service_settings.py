"""runneld's settings kept once (service/config.c's table) and handed to each worker as one JSON
object on its stdin (service/worker_settings.h): a value set in runneld's config file reaches the
job's env/settings and environment; a worker given a bad object refuses it naming the key, never
echoing a value, before it touches anything."""
import json
import os
import subprocess
from pathlib import Path

from runneld_harness import RUNNELD, Runneld, make_git_project, setup_world

WORKER = str(Path(RUNNELD).parent / "runneld-worker")

GOOD = {"store": "sqlite", "bus": "local", "bus_socket": "/nonexistent/bus.sock", "redis_url": None,
        "redis_queue": None, "isolation_base_path": "/tmp", "projects_root": "/nonexistent/projects",
        "cleanup_paths": True, "job_timeout": 0, "idle_timeout": 0, "cancel_grace_period": 0.5,
        "event_stall_timeout": 120, "task_env": {}}


def test_a_config_file_setting_reaches_the_job(tmp_path):
    repo, _ = make_git_project(tmp_path)
    conf = tmp_path / "runneld.json"
    conf.write_text(json.dumps({"cancel_grace_period": "0.3", "job_timeout": "77", "idle_timeout": "55",
                                "cleanup_paths": "false",
                                "task_env": json.dumps({"X_FROM_SETTINGS": "given-by-config"})}))
    d = Runneld(tmp_path / "state", extra=["--config", str(conf), "--isolation-base-path", str(tmp_path)]).start()
    try:
        w = setup_world(d, repo)
        r = d.req("POST", "/api/v2/job_templates/%d/launch/" % w["jt"]["id"], json={})
        assert r.status_code == 201, r.text
        job = d.wait_job(r.json()["url"])
        assert job["status"] == "successful", job
        pdd = job["private_data_dir"]
        assert pdd and os.path.isdir(pdd), job  # cleanup_paths false: kept
        settings = json.loads((Path(pdd) / "env" / "settings").read_text())
        assert settings["cancel_grace_period"] == 0.3
        assert settings["job_timeout"] == 77 and settings["idle_timeout"] == 55
        assert job["job_env"]["X_FROM_SETTINGS"] == "given-by-config"
    finally:
        d.stop()


def run_worker(args, stdin=None):
    return subprocess.run([WORKER] + args, input=stdin, capture_output=True, text=True, timeout=30)


def test_the_worker_refuses_bad_settings_naming_the_key(tmp_path):
    state = tmp_path / "state"
    missing = dict(GOOD)
    del missing["cancel_grace_period"]
    f = tmp_path / "settings.json"
    f.write_text(json.dumps(missing))
    p = run_worker(["--state-dir", str(state), "--job", "1", "--settings", str(f)])
    assert p.returncode == 2, p
    assert "cancel_grace_period: worker settings (%s): missing" % f in p.stderr, p.stderr

    bad = dict(GOOD, task_env={"HTTP_PROXY": ["http://u:s3cret-xyz@proxy:1"]})
    p = run_worker(["--state-dir", str(state), "--job", "1", "--settings", "-"], stdin=json.dumps(bad))
    assert p.returncode == 2, p
    assert "task_env: worker settings (stdin)" in p.stderr, p.stderr
    assert "s3cret-xyz" not in p.stderr

    p = run_worker(["--state-dir", str(state), "--job", "1", "--settings", "-"],
                   stdin=json.dumps(dict(GOOD, cancel_grace="1")))
    assert p.returncode == 2 and "cancel_grace: worker settings (stdin): unknown key" in p.stderr, p.stderr

    # the old flags are gone: one path carries settings
    p = run_worker(["--state-dir", str(state), "--job", "1", "--cancel-grace", "0.5"])
    assert p.returncode == 2 and "usage:" in p.stderr, p.stderr
    # nothing was touched: not even the state dir
    assert not state.exists()
