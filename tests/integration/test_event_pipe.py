"""The event pipe (lib/evpipe.h): runnel hands the job a pipe as fd 3, named by
RUNNEL_EVENT_FD="3:<inode>"; the plugin writes each event's JSON there as one
line before the marker, which then names only the uuid.

The children here are small Python scripts speaking that protocol (the real
plugin is covered by the differential suite, big_events among its cases), so
that each rule of the runner's side is checked on its own: the record is
taken, whatever comes before it on the pipe; a marker without a record keeps
its own payload; a record larger than the pipe holds does not stall the job;
and the synthetic producer's 20,000 events are the same either way.
"""
import base64
import json
import os
import re
import shutil
import subprocess

import pytest

from test_run_behaviour import PY, ROOT, RUNNEL, artifacts, make_pdd, run

pytestmark = pytest.mark.skipif(not os.access(RUNNEL, os.X_OK), reason=f"{RUNNEL} not built")

# The child's side: check the variable as the plugin does, then write what
# STEPS says: ("pipe", text) to the pipe, ("pty", text) to stdout,
# ("marker", obj) as a marker on stdout.
CHILD = r'''
import base64, json, os, stat, sys
spec = os.environ.get("RUNNEL_EVENT_FD", "")
fd, inode = (int(x) for x in spec.split(":"))
st = os.fstat(fd)
assert stat.S_ISFIFO(st.st_mode) and st.st_ino == inode, spec
def marker(obj):
    b = base64.b64encode(json.dumps(obj).encode()).decode()
    return "\x1b[K" + "".join("%s\x1b[%dD" % (b[i:i + 78], len(b[i:i + 78])) for i in range(0, len(b), 78)) + "\x1b[K"
for kind, what in json.load(open(sys.argv[1])):
    if kind == "pipe":
        data = what.encode()
        while data:
            data = data[os.write(fd, data):]
    elif kind == "pty":
        sys.stdout.write(what)
        sys.stdout.flush()
    else:
        sys.stdout.write(marker(what))
        sys.stdout.flush()
'''

U1 = "11111111-1111-4111-8111-111111111111"
U2 = "22222222-2222-4222-8222-222222222222"
U3 = "33333333-3333-4333-8333-333333333333"


def record(uuid, event="runner_on_ok", **data):
    return json.dumps({"event": event, "uuid": uuid, "event_data": data}, separators=(",", ":")) + "\n"


def run_steps(tmp_path, steps, timeout=60):
    (tmp_path / "child.py").write_text(CHILD)
    (tmp_path / "steps.json").write_text(json.dumps(steps))
    pdd = make_pdd(tmp_path, args="%s %s %s" % (PY, tmp_path / "child.py", tmp_path / "steps.json"))
    r = run(pdd, "-p", "unused.yml", timeout=timeout)
    assert r.returncode == 0, r.stderr
    return artifacts(pdd)["events"]


@pytest.mark.asan
def test_marker_takes_its_record_from_the_pipe(tmp_path):
    events = run_steps(tmp_path, [
        ["pipe", record(U1, task="first")], ["marker", {"uuid": U1}], ["pty", "ok: one\n"], ["marker", {}],
        ["pipe", record(U2, event="runner_on_failed", task="second")], ["marker", {"uuid": U2}],
        ["pty", "failed: two\n"], ["marker", {}],
    ])
    assert [(e["event"], e["uuid"], e["event_data"]["task"], e["stdout"], e["counter"]) for e in events] == [
        ("runner_on_ok", U1, "first", "ok: one", 1),
        ("runner_on_failed", U2, "second", "failed: two", 2),
    ]


@pytest.mark.asan
def test_what_comes_before_the_record_is_skipped(tmp_path):
    # garbage, a line that is not an object, a record without a marker, and a
    # record whose parent_uuid is the uuid looked for: the marker still gets
    # its own record
    parent_of = json.dumps({"event": "x", "uuid": U3, "parent_uuid": U1}) + "\n"
    events = run_steps(tmp_path, [
        ["pipe", "\x00\xff not json\n[1, 2]\n" + record(U2, task="orphan") + parent_of + record(U1, task="mine")],
        ["marker", {"uuid": U1}], ["pty", "text\n"], ["marker", {}],
    ])
    assert [(e["event"], e["uuid"], e["event_data"]["task"]) for e in events] == [("runner_on_ok", U1, "mine")]


@pytest.mark.asan
def test_marker_without_a_record_keeps_its_payload(tmp_path):
    # the record of U2 never comes: its marker stays what it carried (as with
    # upstream's plugin without its partial file); U1's, sent before, is kept
    # for U1, which comes after
    events = run_steps(tmp_path, [
        ["pipe", record(U1, task="later")],
        ["marker", {"uuid": U2}], ["pty", "no record\n"], ["marker", {}],
        ["marker", {"uuid": U1}], ["pty", "with record\n"], ["marker", {}],
    ])
    assert [(e["uuid"], e.get("event"), e["stdout"]) for e in events] == [
        (U2, None, "no record"), (U1, "runner_on_ok", "with record")]
    assert events[1]["event_data"]["task"] == "later"


@pytest.mark.asan
def test_record_larger_than_the_pipe(tmp_path):
    big = "y" * (3 << 20)  # 3 MiB: the pipe holds 64 KiB; the writer waits for the reader
    steps = []
    for i, u in enumerate((U1, U2, U3)):
        steps += [["pipe", record(u, task="t%d" % i, msg=big)], ["marker", {"uuid": u}], ["pty", "line %d\n" % i],
                  ["marker", {}]]
    events = run_steps(tmp_path, steps)
    assert [(e["uuid"], e["event_data"]["task"], len(e["event_data"]["msg"])) for e in events] == [
        (U1, "t0", len(big)), (U2, "t1", len(big)), (U3, "t2", len(big))]


@pytest.mark.asan
def test_exec_failure_with_the_pipe(tmp_path):
    # the pipe is made before the fork: an exec that fails still ends as upstream's
    pdd = make_pdd(tmp_path, args="/nonexistent/ansible-playbook")
    r = run(pdd, "-p", "x.yml")
    a = artifacts(pdd)
    assert a["rc"] == "127" and r.returncode != 0
    assert [e["event"] for e in a["events"]] == ["verbose"]


def producer(tmp_path):
    cc = shutil.which("cc") or shutil.which("gcc")
    if not cc:
        pytest.skip("no C compiler to build bench/producer.c")
    exe = tmp_path / "producer"
    flags = subprocess.run(["pkg-config", "--libs", "jansson"], capture_output=True, text=True).stdout.split()
    subprocess.run([cc, "-O2", "-o", str(exe), os.path.join(ROOT, "bench", "producer.c")] + flags, check=True)
    return exe


def test_producer_events_are_the_same_through_the_pipe(tmp_path):
    # bench/producer.c's uuids are seeded: the same 20,000 events in-band (the
    # variable removed) and through the pipe, but for their times and pid
    exe = producer(tmp_path)
    runs = {}
    for mode, args in (("inband", "env -u RUNNEL_EVENT_FD %s --inband -n 20000" % exe),
                       ("pipe", "sh -c 'test -n \"$RUNNEL_EVENT_FD\" && exec %s --inband -n 20000'" % exe)):
        pdd = make_pdd(tmp_path / mode, args=args)
        r = run(pdd, "-p", "x.yml", timeout=120)
        assert r.returncode == 0, r.stderr
        a = artifacts(pdd)
        stamp = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+")
        events = [stamp.sub("<time>", json.dumps(e, sort_keys=True)) for e in a["events"]]
        runs[mode] = ([re.sub(r'"pid": \d+', '"pid": 0', e) for e in events], a["stdout"])
    assert len(runs["pipe"][0]) == 20000
    assert runs["pipe"][0] == runs["inband"][0]
    assert runs["pipe"][1] == runs["inband"][1]
