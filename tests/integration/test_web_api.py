"""The API side of the web page: events/stream/ (Server-Sent Events) and
events/lines/ (the events covering a window of output lines), against a
real runneld running real playbooks.

Environment: RUNNELD (default <repo>/build/service/runneld).
"""

import http.client
import json
import os
import shutil
import signal
import tempfile
import threading
import time
from pathlib import Path

import pytest
import requests

from runneld_harness import RUNNELD, wait_for
from web_harness import start_web_world

pytestmark = pytest.mark.skipif(not os.path.exists(RUNNELD), reason="runneld is not built: " + RUNNELD)


@pytest.fixture(scope="module")
def world():
    tmp = Path(tempfile.mkdtemp(prefix="runneld-web-api-"))
    d, w = start_web_world(tmp)
    try:
        yield w
    finally:
        d.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def launch(d, jt, **extra):
    r = d.req("POST", "/api/v2/job_templates/%d/launch/" % jt["id"], json=extra)
    assert r.status_code == 201, r.text
    return r.json()


class SSE:
    """Read a text/event-stream response into (name, id, data) messages."""

    def __init__(self, resp):
        self.resp = resp
        self.lines = resp.iter_lines(decode_unicode=True)

    def __iter__(self):
        name, ident, data = None, None, []
        for line in self.lines:
            if line == "":
                if data or name:
                    yield name or "message", ident, "\n".join(data)
                name, ident, data = None, None, []
            elif line.startswith(":"):
                continue
            else:
                field, _, value = line.partition(":")
                value = value[1:] if value.startswith(" ") else value
                if field == "event":
                    name = value
                elif field == "id":
                    ident = value
                elif field == "data":
                    data.append(value)


def read_stream(d, path, stop_at="end", timeout=120, on_message=None):
    """Every message of a stream until stop_at (or the stream closes)."""
    got = []
    with d.session.get(d.url(path), stream=True, timeout=timeout) as r:
        assert r.status_code == 200, r.text
        assert r.headers["Content-Type"].startswith("text/event-stream")
        for name, ident, data in SSE(r):
            msg = (name, ident, json.loads(data))
            got.append(msg)
            if on_message:
                on_message(msg)
            if name == stop_at:
                break
    return got


def stream_events(msgs):
    return [e for name, _, data in msgs if name == "events" for e in data]


def test_stream_requires_authentication(world):
    d = world["d"]
    job = launch(d, world["jt_many"], extra_vars={"count": 2})
    r = requests.get(d.url("/api/v2/jobs/%d/events/stream/" % job["id"]), timeout=10)
    assert r.status_code == 401
    r = requests.get(d.url("/api/v2/jobs/%d/events/lines/" % job["id"]), timeout=10)
    assert r.status_code == 401
    r = d.req("GET", "/api/v2/jobs/999999/events/stream/")
    assert r.status_code == 404
    r = d.req("GET", "/api/v2/jobs/%d/events/stream/?after=x" % job["id"])
    assert r.status_code == 400 and "after" in r.json()
    d.wait_job("/api/v2/jobs/%d/" % job["id"])


def test_stream_sends_every_event_of_a_running_job_then_ends(world):
    d = world["d"]
    job = launch(d, world["jt_live"], extra_vars={"pause": 2})
    t0 = time.monotonic()
    msgs = read_stream(d, "/api/v2/jobs/%d/events/stream/?after=0" % job["id"])
    assert time.monotonic() - t0 >= 1.5  # it followed the job while it ran
    names = [m[0] for m in msgs]
    assert names[-1] == "end", names
    statuses = [m[2]["status"] for m in msgs if m[0] == "status"]
    assert "running" in statuses and statuses[-1] == "failed", statuses
    evs = stream_events(msgs)
    counters = [e["counter"] for e in evs]
    assert counters == sorted(counters) and len(set(counters)) == len(counters)
    stored = d.all_pages("/api/v2/jobs/%d/job_events/" % job["id"])
    assert counters == [e["counter"] for e in stored]
    # each batch's id is its last counter (what a reconnecting client passes back)
    for name, ident, data in msgs:
        if name == "events":
            assert int(ident) == data[-1]["counter"]
    # the slim events carry what a line needs, not event_data
    assert all("event_data" not in e and "stdout" in e and "start_line" in e for e in evs)
    text = "".join(e["stdout"] + "\n" for e in evs if e["stdout"])
    assert "LIVE-FIRST localhost" in text and "LIVE-SECOND failhost" in text
    assert msgs[-1][2]["status"] == "failed"


def test_stream_resumes_after_a_counter(world):
    d = world["d"]
    job = launch(d, world["jt_many"], extra_vars={"count": 5})
    d.wait_job("/api/v2/jobs/%d/" % job["id"])
    stored = d.all_pages("/api/v2/jobs/%d/job_events/" % job["id"])
    mid = stored[len(stored) // 2]["counter"]
    msgs = read_stream(d, "/api/v2/jobs/%d/events/stream/?after=%d" % (job["id"], mid))
    assert [e["counter"] for e in stream_events(msgs)] == [e["counter"] for e in stored if e["counter"] > mid]
    assert msgs[-1][0] == "end"


def test_stream_of_a_project_update(world):
    d = world["d"]
    upd = d.post("/api/v2/projects/%d/update/" % world["project"]["id"], expect=(202,))
    msgs = read_stream(d, "/api/v2/project_updates/%d/events/stream/" % upd["id"])
    assert msgs[-1][0] == "end" and msgs[-1][2]["status"] == "successful"
    assert stream_events(msgs)


def test_lines_place_every_line_of_the_output(world):
    d = world["d"]
    job = launch(d, world["jt_many"], extra_vars={"count": 40})
    d.wait_job("/api/v2/jobs/%d/" % job["id"])
    full = requests.get(d.url("/api/v2/jobs/%d/stdout/?format=ansi" % job["id"]),
                        auth=d.session.auth, timeout=30).text
    want = full.split("\n")
    if want and want[-1] == "":
        want.pop()
    for window in (1, 3, 7, 50, 2000):
        got = {}
        start = 0
        while True:
            r = d.get("/api/v2/jobs/%d/events/lines/?start_line=%d&end_line=%d" % (job["id"], start, start + window))
            total = r["absolute_end"]
            for e in r["events"]:
                for i, line in enumerate(e["stdout"].split("\n")):
                    got[e["start_line"] + i] = line
            start += window
            if start >= total:
                break
        # the last event may count a final empty line its text does not hold
        assert len(want) <= total <= len(want) + 1
        assert [got.get(i) for i in range(len(want))] == want, window
    # a window in the middle holds the event that started before it
    r = d.get("/api/v2/jobs/%d/events/lines/?start_line=%d&end_line=%d" % (job["id"], 10, 12))
    assert r["events"][0]["start_line"] <= 10 < r["events"][0]["end_line"]
    assert r["events"][-1]["start_line"] < 12
    # past the end: nothing
    r = d.get("/api/v2/jobs/%d/events/lines/?start_line=%d&end_line=%d" % (job["id"], total + 5, total + 10))
    assert r["events"] == []
    # the tail: the last N lines
    r = d.get("/api/v2/jobs/%d/events/lines/?start_line=-5" % job["id"])
    assert r["start_line"] == total - 5 and r["end_line"] == total
    assert r["events"][-1]["end_line"] == total and r["events"][0]["start_line"] <= total - 5
    bad = d.req("GET", "/api/v2/jobs/%d/events/lines/?start_line=9&end_line=3" % job["id"])
    assert bad.status_code == 400 and "end_line" in bad.json()
    bad = d.req("GET", "/api/v2/jobs/%d/events/lines/?start_line=x" % job["id"])
    assert bad.status_code == 400 and "start_line" in bad.json()


def test_stream_ends_when_runneld_stops(tmp_path):
    d, w = start_web_world(tmp_path)
    try:
        job = launch(d, w["jt_sleep"])
        seen = threading.Event()
        done = threading.Event()

        def follow():
            try:
                read_stream(d, "/api/v2/jobs/%d/events/stream/" % job["id"],
                            on_message=lambda m: m[0] == "events" and seen.set())
            except requests.RequestException:
                pass
            done.set()
        threading.Thread(target=follow, daemon=True).start()
        assert seen.wait(60), "no events streamed"
        t0 = time.monotonic()
        rc = d.stop(sig=signal.SIGTERM, timeout=30)
        assert rc == 0, d.log()
        assert time.monotonic() - t0 < 20
        assert done.wait(10)
    finally:
        d.stop()


def test_page_files_are_served_and_nothing_else(world):
    d = world["d"]
    r = requests.get(d.url("/"), timeout=10)
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/html")
    csp = r.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-eval" not in csp
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert 'src="/app.js"' in r.text
    for path in ("/app.js", "/output.js", "/vendor/ansi_up.js"):
        r = requests.get(d.url(path), timeout=10)
        assert r.status_code == 200 and r.headers["Content-Type"].startswith("application/javascript"), path
    assert "export class AnsiUp" in requests.get(d.url("/vendor/ansi_up.js"), timeout=10).text
    # nothing outside web_dir, no hidden file, no deeper path (sent as written: no client
    # normalizes the dots away)
    for path in ("/../README.md", "/vendor/../app.js", "/%2e%2e/README.md", "/.git/config", "/vendor/.x",
                 "/vendor//ansi_up.js", "/a/b/c.js", "/vendor/", "/nope.js", "/vendor/../../README.md"):
        c = http.client.HTTPConnection("127.0.0.1", d.port, timeout=10)
        c.request("GET", path)
        status = c.getresponse().status
        c.close()
        assert status == 404, (path, status)
    r = requests.post(d.url("/app.js"), timeout=10)
    assert r.status_code == 405


# what a line of output needs (the whole event comes from the events list, on a click)
SLIM_KEYS = ("counter", "event", "host_name", "task", "failed", "changed", "stdout", "start_line",
             "end_line", "created")


def test_stream_and_lines_rows_are_the_events_own_fields(world):
    """The slim rows (read straight from the columns, event_data unread)
    say what the events list says, parents' failed/changed flags included."""
    d = world["d"]
    job = launch(d, world["jt_live"], extra_vars={"pause": 0})
    d.wait_job("/api/v2/jobs/%d/" % job["id"])
    full = d.all_pages("/api/v2/jobs/%d/job_events/" % job["id"])
    want = [{k: e[k] for k in SLIM_KEYS} for e in full]
    # a parent flagged by its failed child (the "fail on failhost" task and its play)
    assert any(e["event"].startswith("playbook_on") and e["failed"] for e in want), want
    assert any(not e["event"].startswith("playbook_on") and e["changed"] for e in want), want
    msgs = read_stream(d, "/api/v2/jobs/%d/events/stream/?after=0" % job["id"])
    got = stream_events(msgs)
    assert [set(e) for e in got] == [set(SLIM_KEYS)] * len(want)
    assert got == want
    lines = d.get("/api/v2/jobs/%d/events/lines/?start_line=0&end_line=2000" % job["id"])
    assert lines["events"] == [e for e in want if e["end_line"] > e["start_line"]]
