"""The callback receiver stores event batches side by side where the store
takes them so.

PostgreSQL takes batches on several connections at once (store.h's
event_writers) and the receiver then runs that many storing threads; SQLite
has one writer at a time and the receiver one storing thread. Each test
drains a Redis backlog of interleaved events of many jobs through
runneld-ctl, in small batches so that many are stored at once, and checks
what storing side by side must not break: every event stored once, each
job's counts, event_processing_finished only once every event is in, the
host summaries and parent flags of playbook_on_stats (its batch waits for
the batches before it), and no deadlock between the writers (each locks
its jobs' rows in id order; PostgreSQL's log would say "deadlock detected").
"""

import json
import os
import random
import re
import subprocess
import time

import pytest

from runneld_harness import CTL, RedisClient, ctl, pids_with_cmdline, start_postgres, start_redis, wait_for

pytestmark = [pytest.mark.skipif(not os.access(CTL, os.X_OK), reason="runneld-ctl not built: " + CTL),
              pytest.mark.asan]  # the receiver's threads under ASan too (make check-asan)

JOBS = 16
PER = 1200  # events per job: start, play, 399 tasks of 3 events, stats
FAILED_TASK = (PER - 3) // 3  # the last task: its second host fails


def uuid(job, counter):
    return "00000000-0000-4000-8000-%06d%06d" % (job, counter)


def job_events(job, created):
    """PER events of one job as a worker sends them: playbook and play
    start, tasks each with a runner_on_ok per host (host2 fails the last
    task), playbook_on_stats last; with what the stats say."""
    out = []
    pb, play = uuid(job, 1), uuid(job, 2)
    task, task_no, hosts_done = None, 0, 2
    oks = {"host1": 0, "host2": 0}
    changed = 0
    for c in range(1, PER + 1):
        ev = {"uuid": uuid(job, c), "counter": c, "created": "2026-01-01T12:00:00.%06d" % c,
              "stdout": "line %d" % c, "start_line": c - 1, "end_line": c, "job_id": job,
              "job_created": created, "runner_ident": str(job)}
        if c == 1:
            ev.update(event="playbook_on_start", event_data={"playbook": "site.yml"})
        elif c == 2:
            ev.update(event="playbook_on_play_start", parent_uuid=pb, event_data={"play": "fleet"})
        elif c == PER:
            ev.update(event="playbook_on_stats", parent_uuid=pb, event_data={
                "ok": oks, "failures": {"host2": 1}, "changed": {"host1": changed}, "dark": {},
                "skipped": {}, "processed": {"host1": 1, "host2": 1}, "ignored": {}, "rescued": {}})
        elif hosts_done == 2:
            task_no += 1
            task, hosts_done = uuid(job, c), 0
            ev.update(event="playbook_on_task_start", parent_uuid=play,
                      event_data={"task": "task %d" % task_no, "play_uuid": play})
        else:
            hosts_done += 1
            host = "host%d" % hosts_done
            failed = task_no == FAILED_TASK and host == "host2"
            ch = host == "host1" and task_no % 3 == 0
            if not failed:
                oks[host] += 1
            changed += ch
            ev.update(event="runner_on_failed" if failed else "runner_on_ok", parent_uuid=task, host_name=host,
                      event_data={"host": host, "task": "task %d" % task_no, "res": {"changed": ch}})
        out.append(json.dumps(ev))
    return out, oks, changed


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, tmp_path):
    """(--store arguments, the PostgreSQL cluster's log or None, writers expected)."""
    if request.param == "sqlite":
        yield [], None, 1
        return
    pg = start_postgres()
    try:
        pg.create_db("rx")
        yield ["--store", pg.url("rx")], os.path.join(pg.dir, "log"), 2
    finally:
        pg.stop()


def test_backlog_stored_side_by_side_once_each(store, tmp_path):
    store_args, pg_log, writers = store
    redis, url = start_redis(tmp_path)
    state = str(tmp_path / "state")
    rc = RedisClient(url)
    proc = None
    try:
        ans = ctl(state, url, [{"cmd": "create", "kind": "jobs", "fields": {"name": "rx %d" % i}}
                               for i in range(JOBS)], store_args)
        jobs = [(a["result"]["id"], a["result"]["created"].rstrip("Z")) for a in ans]
        ctl(state, url, [{"cmd": "cancel", "id": j} for j, _ in jobs], store_args)  # rows no worker runs
        made = {j: job_events(j, created) for j, created in jobs}
        # jobs interleaved (each batch holds events of many), then the stats and EOFs of all: their
        # batch comes right after the one with the last (failed) tasks, and must wait for it
        # (the jobs in another order in each chunk: two batches name them in different orders)
        rnd = random.Random(11)
        for k in range(0, PER - 1, 50):
            order = [j for j, _ in jobs]
            rnd.shuffle(order)
            rc.cmd("RPUSH", "callback_tasks", *[e for j in order for e in made[j][0][k:min(k + 50, PER - 1)]])
        rc.cmd("RPUSH", "callback_tasks", *[made[j][0][PER - 1] for j, _ in jobs])
        for j, _ in jobs:
            rc.cmd("RPUSH", "callback_tasks", json.dumps({"event": "EOF", "final_counter": PER, "job_id": j}))

        proc = subprocess.Popen([CTL, "--state-dir", state, "--bus", "redis", "--redis-url", url,
                                 "--batch", "300", *store_args],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert json.loads(proc.stdout.readline())["ok"]

        def storing_threads():
            names = []
            for tid in os.listdir("/proc/%d/task" % proc.pid):
                with open("/proc/%d/task/%s/comm" % (proc.pid, tid)) as f:
                    names.append(f.read().strip())
            return names.count("rn-store")
        # exactly that many: a thread a storing thread starts (SQLite's checkpointer, started
        # with the first batch) carries its creator's name until it names itself, so a look
        # in between counts one too many; the count settles at the storing threads
        wait_for(lambda: storing_threads() == writers, timeout=10, what="%d storing threads" % writers)
        time.sleep(0.2)
        assert storing_threads() == writers

        def ask(cmd):
            proc.stdin.write(json.dumps(cmd) + "\n")
            proc.stdin.flush()
            a = json.loads(proc.stdout.readline())
            assert a["ok"], a
            return a["result"]

        ids = ",".join(str(j) for j, _ in jobs)

        def finished():
            rows = ask({"cmd": "list", "kind": "jobs", "filters": {"id__in": ids}, "page_size": 200})["results"]
            for r in rows:
                assert r["stored_events"] <= PER, r  # never more than were sent
                # the EOF (emitted_events) is applied once every batch before it is stored
                assert r["emitted_events"] == 0 or r["stored_events"] == r["emitted_events"] == PER, r
            done = all(r["emitted_events"] == PER and r["event_processing_finished"] for r in rows)
            return rows if done else None
        rows = wait_for(finished, timeout=120, what="the backlog stored")
        assert len(rows) == JOBS
        for r in rows:
            assert r["stored_events"] == r["emitted_events"] == PER, r

        for j, _ in jobs:
            page = ask({"cmd": "events", "id": j, "page_size": 1})
            assert page["count"] == PER, (j, page["count"])  # once each
            _, oks, changed = made[j]
            sums = {s["host_name"]: s for s in ask({"cmd": "summaries", "id": j})["results"]}
            assert sorted(sums) == ["host1", "host2"], sums
            assert sums["host2"]["failed"] is True and sums["host2"]["failures"] == 1, sums["host2"]
            assert sums["host1"]["failed"] is False and sums["host1"]["changed"] == changed, sums["host1"]
            assert sums["host1"]["ok"] == oks["host1"], sums["host1"]
            # parent flags from the stats: the failed task and its play are failed, the task before not
            def task_start(k):
                return ask({"cmd": "events", "id": j, "filters": {"uuid": uuid(j, 3 * k)}})["results"][0]
            assert task_start(FAILED_TASK)["failed"] is True, task_start(FAILED_TASK)
            assert task_start(FAILED_TASK - 1)["failed"] is False, task_start(FAILED_TASK - 1)
            play = ask({"cmd": "events", "id": j, "filters": {"event": "playbook_on_play_start"}})["results"]
            assert play[0]["failed"] is True, play
        assert rc.cmd("LLEN", "callback_tasks") == 0, "all taken"

        ask({"cmd": "shutdown", "grace": 5})
        _, err = proc.communicate(timeout=60)
        rc_exit, proc = proc.returncode, None
        assert rc_exit == 0, err[-3000:]
        assert "retrying" not in err and "not stored" not in err, err[-3000:]
        # each EOF was applied with its job's events all stored (its batch waited for those before it)
        received = re.findall(r"job (\d+): events received \(final_counter (\d+), stored (\d+)\)", err)
        assert sorted(int(j) for j, _, _ in received) == sorted(j for j, _ in jobs), err[-3000:]
        assert all(f == s == str(PER) for _, f, s in received), received
        if pg_log:
            with open(pg_log) as f:
                log = f.read()
            assert "deadlock detected" not in log, log[-3000:]
    finally:
        if proc:
            proc.kill()
            proc.wait()
        rc.close()
        redis.terminate()
        redis.wait()
        assert not pids_with_cmdline(state), "runneld-ctl left running"
