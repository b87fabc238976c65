#!/usr/bin/python3
"""The callback receiver into PostgreSQL against PostgreSQL's floor (issue 11).

    /usr/bin/python3 bench/pg_bench.py           RX_EVENTS (default 200000) events, 20 jobs
    RX_EVENTS=1000000 /usr/bin/python3 bench/pg_bench.py

Prints a markdown section for bench/RESULTS.md. Everything runs here: a
PostgreSQL 15 cluster of its own (initdb + pg_ctl, loopback, a free port,
PostgreSQL's default durability: fsync on, synchronous_commit on; data dir
on disk under /tmp), a redis-server of its own, runneld-ctl from
build/service/.

Receiver: the jobs' rows made first (then canceled: no worker runs them), the
events pushed into Redis's callback_tasks (jobs interleaved, the shapes of
bench/service_bench.py's receiver benchmark), then `runneld-ctl --store
postgresql://... --bus redis` started and the jobs' stored counts polled until
every job's events are processed. events/s = events / time from the start of
runneld-ctl.

Floor: the very rows the receiver stored, dumped to a file (COPY ... TO), then
COPYed in one statement into a fresh database with the same schema (the
same partitioned events table, its indexes and the jobs' partitions):
events/s = events / wall time of that COPY (psql, its start included). No
receiver, no Redis, no parsing: what PostgreSQL takes to write those rows.

The SQLite receiver on the same events and machine is shown beside it for
context (state dir on disk, as bench/service_bench.py's section 1a).
"""
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, 'bench'))
sys.path.insert(0, os.path.join(ROOT, 'tests', 'integration'))
sys.argv = sys.argv[:1]  # service_bench reads its own options at import
import service_bench as sb  # noqa: E402  (event_texts, Redis, load)
from runneld_harness import PG_BIN, start_postgres  # noqa: E402

RX_EVENTS = int(os.environ.get('RX_EVENTS', 200000))
RX_JOBS = 20
FLOOR_RUNS = int(os.environ.get('FLOOR_RUNS', 3))
CTL_ARGS = os.environ.get('CTL_ARGS', '').split()  # e.g. CTL_ARGS="--batch 5000"
ONLY_PG = os.environ.get('ONLY_PG') == '1'         # the PostgreSQL drain alone
CTL = sb.CTL
COLS = ('job_id, counter, event, event_data, failed, changed, uuid, parent_uuid, host_id, host_name,'
        ' playbook, play, role, task, stdout, start_line, end_line, verbosity, created, modified,'
        ' job_created')


def log(text):
    sys.stderr.write(text + '\n')
    sys.stderr.flush()


def ctl(state, store, redis_url, cmds):
    p = subprocess.run([CTL, '--state-dir', state, '--bus', 'redis', '--redis-url', redis_url] + store,
                       input='\n'.join(json.dumps(c) for c in cmds) + '\n', capture_output=True,
                       text=True, timeout=300)
    ans = [json.loads(line) for line in p.stdout.splitlines() if line.startswith('{')]
    if not ans or not ans[0].get('ok'):
        raise RuntimeError('runneld-ctl: %s %s' % (p.stdout[-500:], p.stderr[-500:]))
    return ans[1:]


def psql(pg, db, sql, **kw):
    return subprocess.run([os.path.join(PG_BIN, 'psql'), '-X', '-q', '-At', '-v', 'ON_ERROR_STOP=1',
                           '-d', pg.url(db), '-c', sql], check=True, capture_output=True, text=True,
                          timeout=3600, **kw).stdout


def drain(tmp, store, label):
    """The receiver alone on store ([] for SQLite): jobs, preload, drain.
    Returns (events/s, seconds, stored, state dir)."""
    state = os.path.join(tmp, 'state-' + label)
    rd = sb.Redis(tmp)
    try:
        ans = ctl(state, store, rd.url, [{'cmd': 'create', 'kind': 'jobs', 'fields': {'name': 'rx %d' % i}}
                                         for i in range(RX_JOBS)])
        jobs = [(a['result']['id'], a['result']['created']) for a in ans]
        ctl(state, store, rd.url, [{'cmd': 'cancel', 'id': j} for j, _ in jobs])
        per = RX_EVENTS // RX_JOBS
        gens = [sb.event_texts(j, c.rstrip('Z'), per) for j, c in jobs]
        for k in range(0, per, 50):
            chunk = [evs[i] for i in range(k, min(per, k + 50)) for evs in gens]
            rd.sock.sendall(sb.Redis.encode('RPUSH', 'callback_tasks', *chunk))
            rd.reply()
        for j, _ in jobs:
            rd.cmd('RPUSH', 'callback_tasks', json.dumps({'event': 'EOF', 'final_counter': per, 'job_id': j}))
        del gens
        log('%s: %d messages preloaded' % (label, rd.cmd('LLEN', 'callback_tasks')))
        ldavg = sb.load()
        t0 = time.monotonic()
        p = subprocess.Popen([CTL, '--state-dir', state, '--bus', 'redis', '--redis-url', rd.url] + store +
                             CTL_ARGS,
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert json.loads(p.stdout.readline())['ok']
        ids = ','.join(str(j) for j, _ in jobs)
        while True:
            p.stdin.write(json.dumps({'cmd': 'list', 'kind': 'jobs', 'filters': {'id__in': ids},
                                      'page_size': 200}) + '\n')
            p.stdin.flush()
            r = json.loads(p.stdout.readline())['result']['results']
            n = sum(x['stored_events'] for x in r)
            if all(x['event_processing_finished'] for x in r) and n >= per * RX_JOBS:
                break
            if time.monotonic() - t0 > 3600:
                raise RuntimeError('%s: not drained after an hour (%d stored)' % (label, n))
            time.sleep(0.1)
        dt = time.monotonic() - t0
        if os.environ.get('BENCH_DEBUG'):
            # CPU seconds per thread of runneld-ctl (where the drain's time went)
            tick = os.sysconf('SC_CLK_TCK')
            for tid in sorted(os.listdir('/proc/%d/task' % p.pid)):
                with open('/proc/%d/task/%s/stat' % (p.pid, tid)) as f:
                    st = f.read()
                name = st[st.index('(') + 1:st.rindex(')')]
                fields = st[st.rindex(')') + 2:].split()
                log('  thread %s: %.2f s CPU' % (name, (int(fields[11]) + int(fields[12])) / tick))
        p.stdin.write(json.dumps({'cmd': 'shutdown', 'grace': 5}) + '\n')
        p.stdin.flush()
        p.communicate(timeout=120)
        log('%s: %d events in %.2f s (load before: %s)' % (label, n, dt, ldavg))
        return n / dt, dt, n, state, ldavg
    finally:
        rd.stop()


def floor(pg, tmp, n_jobs):
    """COPY of the receiver's rows into a fresh database of the same schema;
    the wall times of FLOOR_RUNS runs."""
    rows = os.path.join(tmp, 'events.copy')
    os.chmod(tmp, 0o755)
    with open(rows, 'w') as f:
        subprocess.run([os.path.join(PG_BIN, 'psql'), '-X', '-q', '-d', pg.url('rx'), '-c',
                        'COPY (SELECT %s FROM events ORDER BY id) TO STDOUT' % COLS],
                       stdout=f, check=True, timeout=3600)
    times = []
    for run in range(FLOOR_RUNS):
        db = 'floor%d' % run
        pg.create_db(db)
        # the schema (runneld-ctl makes it) and the jobs' partitions, as in rx
        rd = sb.Redis(tmp)
        try:
            ctl(os.path.join(tmp, 'state-floor%d' % run), ['--store', pg.url(db)], rd.url,
                [{'cmd': 'list', 'kind': 'jobs'}])
        finally:
            rd.stop()
        for part in psql(pg, 'rx', "SELECT c.relname || ' ' || pg_get_expr(c.relpartbound, c.oid)"
                         " FROM pg_inherits i JOIN pg_class c ON c.oid=i.inhrelid JOIN pg_class p"
                         " ON p.oid=i.inhparent WHERE p.relname='events' AND c.relname <> "
                         "'events_default'").splitlines():
            name, bound = part.split(' ', 1)
            psql(pg, db, 'CREATE TABLE %s PARTITION OF events %s' % (name, bound))
        psql(pg, db, 'CHECKPOINT')
        with open(rows) as f:
            t0 = time.monotonic()
            subprocess.run([os.path.join(PG_BIN, 'psql'), '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d',
                            pg.url(db), '-c', 'COPY events(%s) FROM STDIN' % COLS],
                           stdin=f, check=True, timeout=3600)
            times.append(time.monotonic() - t0)
        got = int(psql(pg, db, 'SELECT count(*) FROM events').strip())
        log('floor run %d: %d rows in %.2f s' % (run, got, times[-1]))
        assert got == RX_EVENTS, got
    size = os.path.getsize(rows)
    return times, size


def main():
    tmp = tempfile.mkdtemp(prefix='pgbench-', dir='/var/tmp')
    pg = start_postgres(durable=True)
    out = []
    try:
        pg.create_db('rx')
        pg_rate, pg_s, pg_n, _, pg_load = drain(tmp, ['--store', pg.url('rx')], 'pg')
        if ONLY_PG:
            print('receiver → PostgreSQL: %d events in %.2f s: %.0f/s' % (pg_n, pg_s, pg_rate))
            return
        times, size = floor(pg, tmp, RX_JOBS)
        fl = statistics.median(times)
        fl_rate = RX_EVENTS / fl
        sq_rate, sq_s, sq_n, _, sq_load = drain(tmp, [], 'sqlite')
        ratio = pg_rate / fl_rate
        out.append('## 1c. Receiver alone into PostgreSQL vs PostgreSQL\'s floor (COPY of the same rows)')
        out.append('')
        out.append('Command: `%s/usr/bin/python3 bench/pg_bench.py` (RX_EVENTS=%d, %d jobs, FLOOR_RUNS=%d).'
                   % ('CTL_ARGS="%s" ' % ' '.join(CTL_ARGS) if CTL_ARGS else '', RX_EVENTS, RX_JOBS,
                      FLOOR_RUNS))
        out.append('')
        out.append('| what | events | time | **events/s** |')
        out.append('|---|---|---|---|')
        out.append('| receiver → PostgreSQL (Redis backlog, runneld-ctl) | %d | %.2f s | **%.0f** |'
                   % (pg_n, pg_s, pg_rate))
        out.append('| floor: one `COPY events FROM STDIN` of those rows (%.0f MB), median of %s s | %d | %.2f s | '
                   '**%.0f** |' % (size / 1e6, ', '.join('%.2f' % t for t in times), RX_EVENTS, fl, fl_rate))
        out.append('| (context) receiver → SQLite, state dir on disk, same events | %d | %.2f s | %.0f |'
                   % (sq_n, sq_s, sq_rate))
        out.append('')
        out.append('Target receiver ≥ 0.7× the PostgreSQL floor: %s (%.2f×). Load average before the drains: '
                   '%s (PostgreSQL), %s (SQLite).' % ('**met**' if ratio >= 0.7 else '**MISSED**', ratio,
                                                      pg_load, sq_load))
        out.append('')
        out.append('PostgreSQL 15, a cluster of its own on this machine (data dir on disk, fsync on, '
                   'synchronous_commit on, shared_buffers 128MB); the events table partitioned by the hour of '
                   'the job\'s creation, unique (job_id, counter, job_created), three partial indexes. The '
                   'receiver writes each batch (≤ 1000 events) in one transaction: one probe (the jobs exist, '
                   'none of the batch\'s counters is stored yet), one COPY straight into events, one UPDATE of '
                   'the jobs\' counts (a batch sent again goes through a temp table and INSERT ... ON CONFLICT '
                   'DO NOTHING instead); the floor is one COPY of all the rows and one commit.')
        print('\n'.join(out))
    finally:
        pg.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == '__main__':
    main()
