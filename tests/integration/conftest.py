"""Shared fixtures for the differential suite (runnel vs. ansible-runner).

Environment switches:
  RUNNEL            path of the runnel binary (default: <repo>/build/runnel).
                    RUNNEL=ansible-runner (or "upstream") puts ansible-runner on
                    both sides: the harness self-test, every case must pass.
  ANSIBLE_RUNNER    path of the reference program (default: ansible-runner on
                    PATH, else /usr/bin/ansible-runner).
  RUNNEL_DIFF_REPORT  if set, a JSON file where every case's differences are
                    collected (one entry per case, written as the suite goes).
"""

import json
import os
import shutil
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parents[1]
PDDS = HERE / "pdds"

UPSTREAM_NAMES = ("ansible-runner", "upstream")


def upstream_bin():
    env = os.environ.get("ANSIBLE_RUNNER")
    if env:
        return env
    return shutil.which("ansible-runner") or "/usr/bin/ansible-runner"


def runnel_bin():
    """(path, self_test) for the side under test."""
    env = os.environ.get("RUNNEL")
    if env in UPSTREAM_NAMES:
        return upstream_bin(), True
    path = env or str(REPO_ROOT / "build" / "runnel")
    return path, os.path.realpath(path) == os.path.realpath(upstream_bin())


def upstream_plugin_dir():
    """Where ansible-runner's awx_display callback lives (the <PLUGIN> of upstream)."""
    try:
        out = subprocess.run(
            ["/usr/bin/python3", "-c",
             "import ansible_runner.display_callback.callback as c, os;"
             "print(os.path.dirname(c.__file__))"],
            capture_output=True, text=True, timeout=30, check=True)
        return out.stdout.strip()
    except Exception:  # pragma: no cover - only when upstream is broken
        return "/usr/lib/python3/dist-packages/ansible_runner/display_callback/callback"


def runnel_plugin_dirs():
    dirs = [str(REPO_ROOT / "plugin" / "callback")]
    if os.environ.get("RUNNEL_PLUGIN_DIR"):
        dirs.insert(0, os.environ["RUNNEL_PLUGIN_DIR"])
    return dirs


# --------------------------------------------------------------------------- cases

def load_cases():
    cases = []
    for d in sorted(p for p in PDDS.iterdir() if p.is_dir()):
        meta = json.loads((d / "case.json").read_text())
        meta["name"] = d.name
        meta["src"] = d
        meta.setdefault("options", [])
        meta.setdefault("expect", {})
        meta.setdefault("timeout", 60)
        meta.setdefault("checks", [])
        meta.setdefault("ident", "case-" + d.name)
        cases.append(meta)
    return cases


def copy_pdd(src, dest):
    """Copy a case's PDD (without case.json), keeping modes."""
    shutil.copytree(src, dest, symlinks=True, ignore=shutil.ignore_patterns("case.json"))
    return dest


# --------------------------------------------------------------------------- running

@dataclass
class RunResult:
    side: str
    argv: list
    pdd: Path
    ident: str
    rc: int = None
    stdout: str = ""
    stderr: str = ""
    elapsed: float = 0.0
    killed: bool = False   # our own outer timeout fired
    plugin_dirs: list = field(default_factory=list)

    @property
    def artifact_dir(self):
        return self.pdd / "artifacts" / self.ident


def _child_env():
    env = dict(os.environ)
    # The switches of this harness must not leak into the runners.
    for k in ("RUNNEL", "RUNNEL_DIFF_REPORT", "ANSIBLE_RUNNER", "PYTEST_CURRENT_TEST"):
        env.pop(k, None)
    env["LANG"] = env.get("LANG", "C.UTF-8")
    return env


def start_runner(side, binary, pdd, case, plugin_dirs):
    argv = [binary, "run", str(pdd), "-i", case["ident"], *case["options"]]
    res = RunResult(side=side, argv=argv, pdd=Path(pdd), ident=case["ident"],
                    plugin_dirs=plugin_dirs)
    t0 = time.monotonic()
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, cwd=str(Path(pdd).parent),
                            env=_child_env(), start_new_session=True)

    def wait():
        try:
            out, err = proc.communicate(timeout=case["timeout"])
        except subprocess.TimeoutExpired:
            res.killed = True
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            out, err = proc.communicate()
        res.elapsed = time.monotonic() - t0
        res.rc = proc.returncode
        res.stdout = out.decode("utf-8", "surrogateescape")
        res.stderr = err.decode("utf-8", "surrogateescape")

    th = threading.Thread(target=wait, daemon=True)
    th.start()
    return th, res


def run_pair(case, tmp_path, upstream, runnel, runnel_plugins, upstream_plugins):
    """Run both sides of a case concurrently, each in its own copy of the PDD.

    The two PDD paths have the same length (a/pdd, b/pdd) so that any text that
    ansible wraps at 80 columns wraps the same way on both sides.
    """
    pdd_a = copy_pdd(case["src"], tmp_path / "a" / "pdd")
    pdd_b = copy_pdd(case["src"], tmp_path / "b" / "pdd")
    ta, ra = start_runner("upstream", upstream, pdd_a, case, upstream_plugins)
    tb, rb = start_runner("runnel", runnel, pdd_b, case, runnel_plugins)
    ta.join()
    tb.join()
    return ra, rb


# --------------------------------------------------------------------------- artifacts

def read_text(path):
    try:
        return Path(path).read_bytes().decode("utf-8", "surrogateescape")
    except FileNotFoundError:
        return None


def load_json(path):
    try:
        return json.loads(Path(path).read_text())
    except FileNotFoundError:
        return None
    except ValueError as e:
        return {"<unparsable json>": str(e)}


def load_events(artifact_dir):
    """job_events/*.json sorted by counter; also the raw file names."""
    jdir = Path(artifact_dir) / "job_events"
    if not jdir.is_dir():
        return [], []
    names = sorted(os.listdir(jdir))
    events = []
    for n in names:
        if n.endswith(".json") and not n.endswith("-partial.json"):
            ev = load_json(jdir / n)
            events.append((n, ev))
    events.sort(key=lambda x: (x[1].get("counter", 0) if isinstance(x[1], dict) else 0, x[0]))
    return names, events


def file_modes(root):
    """{relative path: octal mode string} for every entry under root (root itself is '.')."""
    root = Path(root)
    if not root.exists():
        return {}
    out = {".": oct(root.stat().st_mode & 0o7777)}
    for dirpath, dirnames, filenames in os.walk(root):
        for n in dirnames + filenames:
            p = Path(dirpath) / n
            out[str(p.relative_to(root))] = oct(p.lstat().st_mode & 0o7777)
    return out


# --------------------------------------------------------------------------- fixtures

@pytest.fixture(scope="session")
def upstream():
    path = upstream_bin()
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        pytest.skip(f"ansible-runner not found at {path}")
    return path


@pytest.fixture(scope="session")
def runnel():
    path, self_test = runnel_bin()
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        pytest.skip(f"runnel binary not found at {path} (build it with meson, or set "
                    f"RUNNEL=/path/to/runnel; RUNNEL=ansible-runner runs the harness self-test)")
    return path


@pytest.fixture(scope="session")
def self_test():
    return runnel_bin()[1]


@pytest.fixture(scope="session")
def plugin_dirs(self_test):
    up = [upstream_plugin_dir()]
    return up, (up if self_test else runnel_plugin_dirs())


_report_lock = threading.Lock()


@pytest.fixture(scope="session")
def diff_report():
    """Collects per-case differences; written to $RUNNEL_DIFF_REPORT if set."""
    path = os.environ.get("RUNNEL_DIFF_REPORT")
    data = {}

    def record(case, diffs, ra, rb):
        with _report_lock:
            data[case] = {"differences": diffs,
                          "upstream": {"rc": ra.rc, "elapsed": round(ra.elapsed, 2)},
                          "runnel": {"rc": rb.rc, "elapsed": round(rb.elapsed, 2),
                                     "stderr": rb.stderr[-2000:]}}
            if path:
                Path(path).write_text(json.dumps(data, indent=2, ensure_ascii=False))
    return record
