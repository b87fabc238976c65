"""Streaming: runnel transmit / worker / process, against each other and against the
real ansible-runner, plus the safety of the worker's and process' stream readers.

Pipelines are compared with a plain `run` of the same engine as the worker (the
worker is the one that runs ansible): normalized events, stdout, status, rc and
command (uuids, times, pids and both private data dirs normalized).
"""

import base64
import io
import json
import os
import random
import resource
import shutil
import signal
import socket
import stat
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from conftest import load_events, read_text, runnel_bin, upstream_bin, runnel_plugin_dirs, \
    upstream_plugin_dir
from normalize import Normalizer, UuidMap

HERE = Path(__file__).resolve().parent
PDDS = HERE / "pdds"
RUNNEL = runnel_bin()[0]
UPSTREAM = upstream_bin()

ERR_PARSE = "Failed to JSON parse a line from transmit stream."
ERR_EXTRACT = "Failed to extract private data directory on worker."

PLAY = """- hosts: all
  gather_facts: false
  tasks:
    - name: say hi
      debug: msg=hi
    - name: run something
      command: echo streamed
"""
INVENTORY = "localhost ansible_connection=local ansible_python_interpreter=/usr/bin/python3\n"


def child_env():
    env = dict(os.environ)
    # ansible-runner and ansible need the system python, not a pyenv one
    env["PATH"] = "/usr/bin:/bin:/usr/sbin:/sbin:" + env.get("PATH", "")
    env.pop("PYTHONPATH", None)
    env.setdefault("ANSIBLE_NOCOLOR", "1")
    return env


def make_pdd(path, play=PLAY):
    (path / "project").mkdir(parents=True)
    (path / "inventory").mkdir()
    (path / "project" / "play.yml").write_text(play)
    (path / "inventory" / "hosts").write_text(INVENTORY)
    return path


def sh(cmd, timeout=120, **kw):
    """Run a shell pipeline; (rc, stdout bytes, stderr text)."""
    p = subprocess.run(cmd, shell=True, capture_output=True, timeout=timeout, env=child_env(), **kw)
    return p.returncode, p.stdout, p.stderr.decode(errors="replace")


def parse_stream(data):
    """Split a stream into its lines: dicts, and ('zip', bytes) for zipfile payloads.

    Raises on anything that is not a JSON line where one is expected."""
    out = []
    pos = 0
    while pos < len(data):
        nl = data.index(b"\n", pos)
        obj = json.loads(data[pos:nl])
        pos = nl + 1
        out.append(obj)
        if isinstance(obj, dict) and "zipfile" in obj:
            n = obj["zipfile"]
            enc = 4 * ((n + 2) // 3)
            out.append(("zip", base64.b64decode(data[pos:pos + enc], validate=True)))
            pos += enc
    return out


def lines_of(data):
    """Last JSON lines of a worker output (for error payloads)."""
    return [json.loads(x) for x in data.decode().splitlines() if x.strip()]


# ----------------------------------------------------------------- normalization

def normalized(pdd, artifact_dir, other_pdds=()):
    """Events, stdout, status, rc and command of one artifact dir, comparable."""
    n = Normalizer(pdd, runnel_plugin_dirs() + [upstream_plugin_dir()])
    for p in other_pdds:
        for q in {str(p), os.path.realpath(p)}:
            n.path_subs.append((q, "<PDD>"))
    n.path_subs.sort(key=lambda x: -len(x[0]))
    out = {}
    out["status"] = read_text(artifact_dir / "status")
    out["rc"] = read_text(artifact_dir / "rc")
    stdout = read_text(artifact_dir / "stdout")
    out["stdout"] = None if stdout is None else n.console(stdout, UuidMap())
    cmd = json.loads((artifact_dir / "command").read_text())
    out["command"] = n.command(cmd)
    names, events = load_events(artifact_dir)
    umap = UuidMap()
    evs = [n.event(ev, umap) for _, ev in events]
    for ev in evs:
        ev.pop("runner_ident", None)  # the ident differs by design
    out["events"] = evs
    out["event_files"] = sorted(
        "ok" if name == f"{ev.get('counter')}-{ev.get('uuid')}.json" else name
        for name, ev in events)
    return out


def assert_same(a, b, what):
    if a != b:
        import difflib
        sa = json.dumps(a, indent=1, sort_keys=True).splitlines()
        sb = json.dumps(b, indent=1, sort_keys=True).splitlines()
        diff = "\n".join(list(difflib.unified_diff(sa, sb, "plain run", what, lineterm=""))[:80])
        pytest.fail(f"{what} differs from the plain run:\n{diff}")


def plain_run(binary, tmp, name):
    pdd = make_pdd(tmp / name)
    rc, out, err = sh(f"{binary} run {pdd} -p play.yml -i streamed", timeout=180)
    assert rc == 0, err
    return normalized(pdd, pdd / "artifacts" / "streamed"), out.decode()


PIPELINES = {
    # name: (transmit, worker, process, engine of the worker)
    "upstream-transmit|runnel-worker|upstream-process": (UPSTREAM, RUNNEL, UPSTREAM, RUNNEL),
    "runnel-transmit|upstream-worker|runnel-process": (RUNNEL, UPSTREAM, RUNNEL, UPSTREAM),
    "runnel-transmit|runnel-worker|runnel-process": (RUNNEL, RUNNEL, RUNNEL, RUNNEL),
}


@pytest.fixture(scope="module")
def plain_runs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("plain")
    return {RUNNEL: plain_run(RUNNEL, tmp, "runnel"), UPSTREAM: plain_run(UPSTREAM, tmp, "upstream")}


@pytest.mark.parametrize("name", list(PIPELINES))
def test_pipeline_interop(name, tmp_path, plain_runs):
    transmit, worker, process, engine = PIPELINES[name]
    src = make_pdd(tmp_path / "src")
    wpdd = tmp_path / "worker"
    dest = tmp_path / "dest"
    rc, out, err = sh(f"{transmit} transmit {src} -p play.yml -i streamed"
                      f" | {worker} worker --private-data-dir {wpdd}"
                      f" | {process} process {dest} -i streamed", timeout=180)
    assert rc == 0, err
    adir = dest / "artifacts" / "streamed"
    got = normalized(dest, adir, other_pdds=[wpdd, src])
    want, want_console = plain_runs[engine]
    assert_same(want, got, name)
    # the console: every event's stdout (process prints empty ones as blank lines)
    text = [x for x in out.decode().splitlines() if x.strip()]
    plain = [x for x in want_console.splitlines() if x.strip()]
    assert len(text) == len(plain), (text, plain)
    assert text == plain or [s.strip() for s in text] == [s.strip() for s in plain]


def test_transmit_kwargs_match_upstream(tmp_path):
    pdd = make_pdd(tmp_path / "p")
    opts = "-p play.yml -i abc --limit localhost --forks 3 -vv --omit-event-data"
    _, theirs, _ = sh(f"{UPSTREAM} transmit {pdd} {opts}")
    rc, ours, err = sh(f"{RUNNEL} transmit {pdd} {opts}")
    assert rc == 0, err
    k_theirs = json.loads(theirs.split(b"\n", 1)[0])["kwargs"]
    k_ours = json.loads(ours.split(b"\n", 1)[0])["kwargs"]
    assert k_ours == k_theirs
    # the rest of the stream: a zipfile line, base64 without newlines, eof
    lines = parse_stream(ours)
    assert "zipfile" in lines[1] and lines[2][0] == "zip" and lines[3] == {"eof": True}
    assert len(lines) == 4


def test_transmit_cmdline_persisted_like_upstream(tmp_path):
    a = make_pdd(tmp_path / "a")
    b = make_pdd(tmp_path / "b")
    _, theirs, _ = sh(f"{UPSTREAM} transmit {a} -p play.yml -i x --cmdline '-e y=1'")
    rc, ours, _ = sh(f"{RUNNEL} transmit {b} -p play.yml -i x --cmdline '-e y=1'")
    assert rc == 0
    assert (a / "env" / "cmdline").read_text() == (b / "env" / "cmdline").read_text() == "-e y=1"
    k_theirs = json.loads(theirs.split(b"\n", 1)[0])["kwargs"]
    k_ours = json.loads(ours.split(b"\n", 1)[0])["kwargs"]
    assert "cmdline" not in k_ours and "cmdline" not in k_theirs


# ----------------------------------------------------------------- zip layout

def fancy_tree(root):
    """Files with modes and old mtimes, symlinks (relative, absolute, to a dir), a FIFO,
    an empty dir, a non-ASCII name."""
    (root / "project" / "sub" / "deep").mkdir(parents=True)
    (root / "empty").mkdir()
    (root / "project" / "run.sh").write_text("#!/bin/sh\necho hi\n")
    os.chmod(root / "project" / "run.sh", 0o750)
    (root / "project" / "sub" / "deep" / "data.txt").write_text("deep\n" * 1000)
    os.chmod(root / "project" / "sub" / "deep" / "data.txt", 0o640)
    (root / "project" / "héllo.txt").write_text("unicode name\n")
    os.utime(root / "project" / "sub" / "deep" / "data.txt", (631152000, 631152000))  # 1990
    os.symlink("sub/deep/data.txt", root / "project" / "rel-link")
    os.symlink("/etc/hostname", root / "project" / "abs-link")
    os.symlink("sub", root / "project" / "dir-link")
    os.symlink("dangling-target", root / "dangling")
    os.mkfifo(root / "project" / "fifo")
    os.chmod(root / "empty", 0o711)
    return root


def tree(root):
    """{relpath: (kind, mode, mtime//2*2, content or target)} without following links."""
    out = {}
    for dirpath, dirs, files in os.walk(root):
        for name in dirs + files:
            p = Path(dirpath) / name
            rel = str(p.relative_to(root))
            st = p.lstat()
            if stat.S_ISLNK(st.st_mode):
                out[rel] = ("link", None, None, os.readlink(p))
            elif stat.S_ISDIR(st.st_mode):
                out[rel] = ("dir", oct(st.st_mode & 0o7777), None, None)
            elif stat.S_ISREG(st.st_mode):
                out[rel] = ("file", oct(st.st_mode & 0o7777), int(st.st_mtime) // 2 * 2,
                            p.read_bytes())
    return out


def test_zip_layout_as_upstream(tmp_path):
    root = fancy_tree(tmp_path / "pdd")
    rc, data, err = sh(f"{RUNNEL} transmit {root} -p play.yml -i x")
    assert rc == 0, err
    zdata = parse_stream(data)[2][1]
    z = zipfile.ZipFile(io.BytesIO(zdata))
    infos = {i.filename: i for i in z.infolist()}
    assert "project/fifo" not in infos
    for i in infos.values():
        assert not i.filename.startswith("/") and ".." not in i.filename.split("/")
    link = infos["project/rel-link"]
    assert link.external_attr >> 16 == 0o777 | 0xA000
    assert z.read(link) == b"sub/deep/data.txt"
    assert z.read(infos["project/dir-link"]) == b"sub"
    assert infos["project/run.sh"].external_attr >> 16 == stat.S_IFREG | 0o750
    assert infos["project/run.sh"].compress_type == zipfile.ZIP_DEFLATED
    assert infos["empty/"].external_attr >> 16 == stat.S_IFDIR | 0o711
    assert infos["empty/"].external_attr & 0x10
    assert infos["project/sub/deep/data.txt"].date_time[:3] == (1990, 1, 1) or \
        time.localtime(631152000)[:3] == infos["project/sub/deep/data.txt"].date_time[:3]
    assert "project/héllo.txt" in infos
    assert z.testzip() is None


def upstream_unstream(stream_file, target):
    code = (
        "import sys, json\n"
        "from ansible_runner.utils.streaming import unstream_dir\n"
        "f = open(sys.argv[1], 'rb')\n"
        "while True:\n"
        "    d = json.loads(f.readline())\n"
        "    if 'zipfile' in d:\n"
        "        unstream_dir(f, d['zipfile'], sys.argv[2]); break\n")
    subprocess.run(["/usr/bin/python3", "-c", code, str(stream_file), str(target)], check=True,
                   env=child_env(), timeout=60)


def upstream_stream(source, stream_file):
    code = (
        "import sys\n"
        "from ansible_runner.utils.streaming import stream_dir\n"
        "with open(sys.argv[2], 'wb') as out:\n"
        "    stream_dir(sys.argv[1], out)\n"
        "    out.write(b'{\"eof\": true}\\n')\n")
    subprocess.run(["/usr/bin/python3", "-c", code, str(source), str(stream_file)], check=True,
                   env=child_env(), timeout=60)


@pytest.mark.asan
def test_zip_roundtrip_with_upstream_both_ways(tmp_path):
    root = fancy_tree(tmp_path / "pdd")
    want = {k: v for k, v in tree(root).items() if k != "project/fifo"}

    # runnel's zip, upstream's extraction
    rc, data, _ = sh(f"{RUNNEL} transmit {root} -p play.yml -i x")
    assert rc == 0
    (tmp_path / "s1").write_bytes(data)
    upstream_unstream(tmp_path / "s1", tmp_path / "up")
    got = tree(tmp_path / "up")
    for k, v in want.items():
        assert got[k][0] == v[0] and got[k][3] == v[3], k
        if v[0] == "file":
            assert got[k][1:3] == v[1:3], k

    # upstream's zip, runnel's extraction (process extracts a zipfile payload)
    upstream_stream(root, tmp_path / "s2")
    dest = tmp_path / "dest"
    rc, _, err = sh(f"{RUNNEL} process {dest} -i x < {tmp_path / 's2'}")
    assert rc == 0, err
    got = tree(dest / "artifacts" / "x")
    got.pop("job_events", None)
    assert set(got) == set(want)
    for k, v in want.items():
        if v[0] == "link":
            assert got[k] == v, k
        elif v[0] == "file":
            assert got[k] == v, k
        else:
            assert got[k][0] == "dir", k
    # our own roundtrip also restores directory modes
    rc, data, _ = sh(f"{RUNNEL} transmit {root} -p play.yml -i x")
    (tmp_path / "s3").write_bytes(data)
    rc, _, err = sh(f"{RUNNEL} process {tmp_path / 'dest2'} -i x < {tmp_path / 's3'}")
    assert rc == 0, err
    got = tree(tmp_path / "dest2" / "artifacts" / "x")
    got.pop("job_events", None)
    assert got == want


# ----------------------------------------------------------------- safety

def stream_with_zip(zbytes, kwargs=None):
    kw = json.dumps({"kwargs": kwargs or {"playbook": "play.yml", "ident": "s"}}).encode()
    return (kw + b"\n" + json.dumps({"zipfile": len(zbytes)}).encode() + b"\n" +
            base64.b64encode(zbytes) + b'{"eof": true}\n')


def crafted_zip(entries):
    """entries: (name, content, mode or None)."""
    b = io.BytesIO()
    with zipfile.ZipFile(b, "w", zipfile.ZIP_DEFLATED) as z:
        for name, content, mode in entries:
            zi = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
            zi.create_system = 3
            if mode is not None:
                zi.external_attr = mode << 16
            z.writestr(zi, content)
    return b.getvalue()


def run_worker(stream, wpdd, timeout=30, extra=""):
    p = subprocess.run(f"{RUNNEL} worker --private-data-dir {wpdd} {extra}", shell=True,
                       input=stream, capture_output=True, timeout=timeout, env=child_env())
    return p.returncode, p.stdout


def assert_error_payload(out, explanation):
    lines = lines_of(out)
    assert lines[-1] == {"eof": True}, lines
    assert lines[-2]["status"] == "error", lines
    assert lines[-2]["job_explanation"] == explanation, lines


ESCAPES = {
    "dotdot": [("../evil", b"x", 0o100644)],
    "dotdot-deep": [("project/../../evil", b"x", 0o100644)],
    "absolute": [("{outside}/evil", b"x", 0o100644)],
    "symlink-dir-abs": [("link", "{outside}", 0o120777), ("link/evil", b"x", 0o100644)],
    "symlink-dir-rel": [("link", "../outside", 0o120777), ("link/evil", b"x", 0o100644)],
    "symlink-nested": [("project/l", "../..", 0o120777), ("project/l/outside/evil", b"x", 0o100644)],
}


@pytest.mark.parametrize("case", list(ESCAPES))
@pytest.mark.asan
def test_worker_refuses_escapes(case, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    wpdd = tmp_path / "w"
    entries = [(n.format(outside=outside), c.format(outside=outside) if isinstance(c, str) else c, m)
               for n, c, m in ESCAPES[case]]
    rc, out = run_worker(stream_with_zip(crafted_zip(entries)), wpdd)
    assert_error_payload(out, ERR_EXTRACT)
    assert list(outside.iterdir()) == []
    assert not (tmp_path / "evil").exists()
    assert rc != 0


@pytest.mark.filterwarnings("ignore:Duplicate name")
def test_worker_never_writes_through_an_existing_symlink(tmp_path):
    outside = tmp_path / "outside.txt"
    outside.write_text("precious")
    zbytes = crafted_zip([("project/evil", str(outside), 0o120777),
                          ("project/evil", b"overwritten", 0o100644),
                          ("project/play.yml", PLAY.encode(), 0o100644),
                          ("inventory/hosts", INVENTORY.encode(), 0o100644)])
    rc, out = run_worker(stream_with_zip(zbytes), tmp_path / "w", timeout=120)
    assert outside.read_text() == "precious"
    assert (tmp_path / "w" / "project" / "evil").read_text() == "overwritten"
    assert parse_stream(out)[-1] == {"eof": True}


def good_transmit_stream(tmp_path):
    pdd = make_pdd(tmp_path / "good")
    (pdd / "project" / "padding.txt").write_text("some text to make the zip longer\n" * 300)
    rc, data, _ = sh(f"{RUNNEL} transmit {pdd} -p play.yml -i cut")
    assert rc == 0
    return data


def test_worker_cut_streams_end_with_error(tmp_path):
    data = good_transmit_stream(tmp_path)
    eof_at = data.rindex(b'{"eof": true}')
    rng = random.Random(4)
    points = sorted({0, 1, eof_at, eof_at + 5} | {rng.randrange(0, eof_at) for _ in range(40)})
    for i, cut in enumerate(points):
        rc, out = run_worker(data[:cut], tmp_path / f"w{i}", timeout=20)
        lines = lines_of(out)
        assert lines[-1] == {"eof": True}, (cut, lines)
        assert lines[-2]["status"] == "error", (cut, lines)
        assert lines[-2]["job_explanation"] in (ERR_PARSE, ERR_EXTRACT), (cut, lines)
        assert not any(x.get("status") == "starting" for x in lines)


GARBAGE = [
    b"",
    b"\n",
    b"not json\n",
    b"[1, 2, 3]\n",
    b"null\n",
    b'{"kwargs": {}}\n{"zipfile": 100}\n!!!!not base64!!!!' + b"A" * 200 + b'{"eof": true}\n',
    b'{"kwargs": {}}\n{"zipfile": -5}\n{"eof": true}\n',
    b'{"kwargs": {}}\n{"zipfile": "big"}\n{"eof": true}\n',
    b'{"kwargs": {}}\n{"zipfile": 1000000000}\nQUJD',
    b'{"kwargs": {}}\n{"zipfile": 12}\n' + base64.b64encode(b"not a zip!!!") + b'{"eof": true}\n',
    b'{"kwargs": {}}\n' + os.urandom(3000),
    b"\x00\xff" * 5000,
    b"{" * 100000,
]


@pytest.mark.asan
def test_worker_garbage_ends_with_error(tmp_path):
    rng = random.Random(7)
    cases = GARBAGE + [bytes(rng.randrange(256) for _ in range(rng.randrange(1, 5000)))
                       for _ in range(10)]
    for i, data in enumerate(cases):
        rc, out = run_worker(data, tmp_path / f"w{i}", timeout=20)
        lines = lines_of(out)
        assert lines[-1] == {"eof": True}, (i, lines)
        assert lines[-2]["status"] == "error", (i, lines)
        assert lines[-2]["job_explanation"] in (ERR_PARSE, ERR_EXTRACT), (i, lines)
        assert rc != 0


@pytest.mark.asan
def test_process_cut_and_garbage_never_hang(tmp_path):
    src = make_pdd(tmp_path / "src")
    rc, data, err = sh(f"{RUNNEL} transmit {src} -p play.yml -i x | {RUNNEL} worker", timeout=180)
    assert rc == 0, err
    eof_at = data.rindex(b'{"eof": true}')
    rng = random.Random(11)
    points = sorted({0, eof_at} | {rng.randrange(0, eof_at) for _ in range(30)})
    for i, cut in enumerate(points):
        dest = tmp_path / f"p{i}"
        p = subprocess.run([RUNNEL, "process", str(dest), "-i", "x", "-q"], input=data[:cut],
                           capture_output=True, timeout=20)
        assert p.returncode == 1, (cut, p.stderr)
        assert list((tmp_path).glob("p*/../evil")) == []
    for i, g in enumerate(GARBAGE):
        p = subprocess.run([RUNNEL, "process", str(tmp_path / f"g{i}"), "-q"], input=g,
                           capture_output=True, timeout=20)
        assert p.returncode == 1
    # the whole stream is fine
    p = subprocess.run([RUNNEL, "process", str(tmp_path / "whole"), "-i", "x", "-q"], input=data,
                       capture_output=True, timeout=20)
    assert p.returncode == 0, p.stderr


def test_keepalive_lines_never_inside_another_line(tmp_path):
    play = """- hosts: all
  gather_facts: false
  tasks:
    - name: many items
      debug: msg="item {{ item }}"
      loop: "{{ range(0, 150) | list }}"
    - name: quiet for a while
      command: sleep 1.5
"""
    pdd = make_pdd(tmp_path / "src", play)
    rc, out, err = sh(f"{RUNNEL} transmit {pdd} -p play.yml -i ka | "
                      f"{RUNNEL} worker --keepalive-seconds 0.02", timeout=180)
    assert rc == 0, err
    lines = parse_stream(out)  # raises if any line is corrupt
    kinds = [x.get("event") if isinstance(x, dict) else "zip" for x in lines]
    keepalives = [x for x in lines if isinstance(x, dict) and x.get("event") == "keepalive"]
    assert len(keepalives) >= 10, kinds
    assert all(k == {"event": "keepalive", "counter": 0, "uuid": 0} for k in keepalives)
    assert lines[-1] == {"eof": True}
    statuses = [x["status"] for x in lines if isinstance(x, dict) and "status" in x]
    assert statuses == ["starting", "running", "successful"]
    # and process ignores them
    dest = tmp_path / "dest"
    p = subprocess.run([RUNNEL, "process", str(dest), "-i", "ka", "-q"], input=out,
                       capture_output=True, timeout=60)
    assert p.returncode == 0
    names = os.listdir(dest / "artifacts" / "ka" / "job_events")
    assert not any(n.startswith("0-") for n in names)


def test_worker_without_keepalive_sends_none(tmp_path):
    pdd = make_pdd(tmp_path / "src", PLAY)
    rc, out, err = sh(f"{RUNNEL} transmit {pdd} -p play.yml -i k0 | {RUNNEL} worker", timeout=180)
    assert rc == 0, err
    assert not [x for x in parse_stream(out) if isinstance(x, dict) and x.get("event") == "keepalive"]


def test_worker_delete_and_temp_dirs(tmp_path):
    pdd = make_pdd(tmp_path / "src")
    wpdd = tmp_path / "w"
    wpdd.mkdir()
    (wpdd / "stale").write_text("old")
    rc, out, err = sh(f"{RUNNEL} transmit {pdd} -p play.yml -i d | "
                      f"{RUNNEL} worker --private-data-dir {wpdd} --delete", timeout=180)
    assert rc == 0, err
    assert not wpdd.exists()
    assert lines_of(out.split(b"\n{\"zipfile\"")[0])[-1]["status"] == "successful"


# ----------------------------------------------------------------- memory

def peak_rss_kb(cmd, **kw):
    kw.setdefault("stdout", subprocess.DEVNULL)
    p = subprocess.run(["/usr/bin/time", "-f", "%M"] + cmd, stderr=subprocess.PIPE, **kw)
    assert p.returncode == 0, p.stderr[-2000:]
    return int(p.stderr.decode().strip().splitlines()[-1]), p


@pytest.mark.skipif(not os.path.exists("/usr/bin/time"), reason="/usr/bin/time (package time) is missing")
def test_flat_memory_transmit_and_extract(tmp_path):
    pdd = make_pdd(tmp_path / "big")
    with open(pdd / "project" / "blob", "wb") as f:
        for _ in range(64):
            f.write(os.urandom(1 << 20))
    stream = tmp_path / "stream"
    with open(stream, "wb") as out:
        rss, _ = peak_rss_kb([RUNNEL, "transmit", str(pdd), "-p", "play.yml", "-i", "m"],
                             stdout=out, timeout=300)
    assert rss < 32 * 1024, f"transmit of 64 MiB peaked at {rss} KiB"
    with open(stream, "rb") as inp:
        rss, _ = peak_rss_kb([RUNNEL, "process", str(tmp_path / "dest"), "-i", "m", "-q"],
                             stdin=inp, timeout=300)
    assert rss < 32 * 1024, f"extracting 64 MiB peaked at {rss} KiB"
    assert (tmp_path / "dest" / "artifacts" / "m" / "project" / "blob").stat().st_size == 64 << 20


# ----------------------------------------------------------------- ssh

def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


@pytest.fixture
def sshd(tmp_path):
    sshd_bin = "/usr/sbin/sshd"
    if not os.path.exists(sshd_bin):
        pytest.skip("/usr/sbin/sshd is missing (Debian package openssh-server)")
    if os.geteuid() != 0:
        pytest.skip("sshd needs to run as root here")
    d = tmp_path / "ssh"
    d.mkdir()
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(d / "host")], check=True)
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(d / "client")], check=True)
    shutil.copy(d / "client.pub", d / "authorized_keys")
    port = free_port()
    pidfile = d / "sshd.pid"
    (d / "sshd_config").write_text(
        f"Port {port}\nListenAddress 127.0.0.1\nHostKey {d / 'host'}\n"
        f"AuthorizedKeysFile {d / 'authorized_keys'}\nStrictModes no\nPidFile {pidfile}\n"
        "PasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\n"
        "PermitRootLogin yes\nPubkeyAuthentication yes\n")
    Path("/run/sshd").mkdir(exist_ok=True)  # privilege separation dir
    proc = subprocess.Popen([sshd_bin, "-D", "-e", "-f", str(d / "sshd_config")],
                            stdout=subprocess.DEVNULL, stderr=open(d / "sshd.log", "wb"))
    try:
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if proc.poll() is not None:
                    pytest.skip("sshd could not start: " + (d / "sshd.log").read_text()[-500:])
                time.sleep(0.1)
        else:
            pytest.skip("sshd did not listen within 10 s")
        yield {"port": port, "key": d / "client", "dir": d}
    finally:
        proc.terminate()  # by its own pid, never by name
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_remote_run_over_ssh(sshd, tmp_path):
    src = make_pdd(tmp_path / "src")
    dest = tmp_path / "dest"
    ssh = (f"ssh -p {sshd['port']} -i {sshd['key']} -o StrictHostKeyChecking=no "
           f"-o UserKnownHostsFile=/dev/null -o BatchMode=yes -o LogLevel=ERROR 127.0.0.1")
    runnel = os.path.abspath(RUNNEL)
    remote = f"PATH=/usr/bin:/bin {runnel} worker --delete --private-data-dir {tmp_path / 'remote'}"
    rc, out, err = sh(f"{RUNNEL} transmit {src} -p play.yml -i remote | {ssh} '{remote}' | "
                      f"{RUNNEL} process {dest} -i remote", timeout=180)
    assert rc == 0, err
    adir = dest / "artifacts" / "remote"
    assert (adir / "status").read_text() == "successful"
    assert (adir / "rc").read_text() == "0"
    names, events = load_events(adir)
    assert [e["event"] for _, e in events][-1] == "playbook_on_stats"
    assert b"say hi" in out
    assert not (tmp_path / "remote").exists()
