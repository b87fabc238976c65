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
runneld-ctl. The events are pushed once, into a list of their own, and
copied (Redis COPY) into callback_tasks before each drain; every drain goes
into a new database, whose jobs get the same ids.

Floor: the very rows the receiver stored, dumped to a file (COPY ... TO), then
COPYed in one statement into a fresh database with the same schema (the
same partitioned events table, its indexes and the jobs' partitions):
events/s = events / wall time of that COPY (psql, its start included). No
receiver, no Redis, no parsing: what PostgreSQL takes to write those rows.

A first drain warms the cluster and is not counted: its rows are the floor's,
and it makes the WAL segments that a running cluster recycles (a new
cluster writes each one full of zeros first, which would fall on whichever
of the two ran first). Then paired rounds (ROUNDS, default 2): floor then
receiver, receiver then floor, ...; the figure is the median of the
per-round ratios, since a shared machine's load moves both alike within a
round. Beside the wall-clock rates: the cluster's CPU per event
(postmaster, backends) in each, and runneld-ctl's.
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
ROUNDS = int(os.environ.get('ROUNDS', 2))  # paired rounds: receiver, floor / floor, receiver
CTL_ARGS = os.environ.get('CTL_ARGS', '').split()  # e.g. CTL_ARGS="--batch 5000"
ONLY_PG = os.environ.get('ONLY_PG') == '1'         # the PostgreSQL drain alone
CTL = sb.CTL
FLOOR_BATCH = int(os.environ.get('FLOOR_BATCH', 0))  # >0: the floor COPYs that many rows per transaction
POLL = float(os.environ.get('POLL', 0.1))  # s between two reads of the stored counts
COLS = ('job_id, counter, event, event_data, failed, changed, uuid, parent_uuid, host_id, host_name,'
        ' playbook, play, role, task, stdout, start_line, end_line, verbosity, created, modified,'
        ' job_created')


def log(text):
    sys.stderr.write(text + '\n')
    sys.stderr.flush()


def proc_table():
    """{pid: the fields of /proc/PID/stat after the command} of every live
    process: [0] state, [1] ppid, [11:15] utime, stime, cutime, cstime."""
    out = {}
    for pid in os.listdir('/proc'):
        if not pid.isdigit():
            continue
        try:
            with open('/proc/%s/stat' % pid) as f:
                st = f.read()
        except OSError:
            continue
        out[int(pid)] = st[st.rindex(')') + 2:].split()
    return out


def pg_cpu(pg):
    """CPU seconds of the cluster so far: the postmaster with the backends it
    reaped (cutime/cstime), plus the live ones."""
    tick = os.sysconf('SC_CLK_TCK')
    with open(os.path.join(pg.data, 'postmaster.pid')) as f:
        pm = int(f.readline())
    total = 0
    for pid, fields in proc_table().items():
        if pid == pm:
            total += sum(int(x) for x in fields[11:15])
        elif int(fields[1]) == pm:
            total += int(fields[11]) + int(fields[12])
    return total / tick


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


def drain(tmp, rd, store, label, pg=None):
    """The receiver alone on store ([] for SQLite): jobs, the backlog copied
    into callback_tasks (pushed the first time), drain. Returns (events/s,
    seconds, stored, state dir, load, CPU s of runneld-ctl, CPU s of the
    cluster)."""
    state = os.path.join(tmp, 'state-' + label)
    ans = ctl(state, store, rd.url, [{'cmd': 'create', 'kind': 'jobs', 'fields': {'name': 'rx %d' % i}}
                                     for i in range(RX_JOBS)])
    jobs = [(a['result']['id'], a['result']['created']) for a in ans]
    ctl(state, store, rd.url, [{'cmd': 'cancel', 'id': j} for j, _ in jobs])
    per = RX_EVENTS // RX_JOBS
    if not rd.cmd('EXISTS', 'backlog'):
        gens = [sb.event_texts(j, c.rstrip('Z'), per) for j, c in jobs]
        for k in range(0, per, 50):
            chunk = [evs[i] for i in range(k, min(per, k + 50)) for evs in gens]
            rd.sock.sendall(sb.Redis.encode('RPUSH', 'backlog', *chunk))
            rd.reply()
        for j, _ in jobs:
            rd.cmd('RPUSH', 'backlog', json.dumps({'event': 'EOF', 'final_counter': per, 'job_id': j}))
        del gens
        rd.backlog_jobs = [j for j, _ in jobs]
    # the backlog names its jobs by id: a new database gives them the same ones
    assert [j for j, _ in jobs] == rd.backlog_jobs, (jobs, rd.backlog_jobs)
    rd.cmd('DEL', 'callback_tasks')
    rd.cmd('COPY', 'backlog', 'callback_tasks')
    log('%s: %d messages preloaded' % (label, rd.cmd('LLEN', 'callback_tasks')))
    ldavg = sb.load()
    c0 = pg_cpu(pg) if pg else 0
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
        time.sleep(POLL)
    dt = time.monotonic() - t0
    pgc = pg_cpu(pg) - c0 if pg else 0
    with open('/proc/%d/stat' % p.pid) as f:
        st = f.read()
    fields = st[st.rindex(')') + 2:].split()
    ctl_cpu = (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')
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
    log('%s: %d events in %.2f s: %.0f/s, runneld-ctl CPU %.1f us/event, PostgreSQL CPU %.1f us/event '
        '(load before: %s)' % (label, n, dt, n / dt, ctl_cpu * 1e6 / n, pgc * 1e6 / n, ldavg))
    return n / dt, dt, n, state, ldavg, ctl_cpu, pgc


def dump_rows(pg, tmp, db):
    """The rows the receiver stored in db, as COPY text in a file."""
    rows = os.path.join(tmp, 'events.copy')
    os.chmod(tmp, 0o755)
    with open(rows, 'w') as f:
        subprocess.run([os.path.join(PG_BIN, 'psql'), '-X', '-q', '-d', pg.url(db), '-c',
                        'COPY (SELECT %s FROM events ORDER BY id) TO STDOUT' % COLS],
                       stdout=f, check=True, timeout=3600)
    return rows


def floor(pg, tmp, rows, src_db, run):
    """One COPY of the receiver's rows into a fresh database of the same
    schema: (wall seconds, CPU seconds of the cluster, load before)."""
    db = 'floor%d' % run
    pg.create_db(db)
    # the schema (runneld-ctl makes it) and the jobs' partitions, as in src_db
    rd = sb.Redis(tmp)
    try:
        ctl(os.path.join(tmp, 'state-floor%d' % run), ['--store', pg.url(db)], rd.url,
            [{'cmd': 'list', 'kind': 'jobs'}])
    finally:
        rd.stop()
    for part in psql(pg, src_db, "SELECT c.relname || ' ' || pg_get_expr(c.relpartbound, c.oid)"
                     " FROM pg_inherits i JOIN pg_class c ON c.oid=i.inhrelid JOIN pg_class p"
                     " ON p.oid=i.inhparent WHERE p.relname='events' AND c.relname <> "
                     "'events_default'").splitlines():
        name, bound = part.split(' ', 1)
        psql(pg, db, 'CREATE TABLE %s PARTITION OF events %s' % (name, bound))
    psql(pg, db, 'CHECKPOINT')
    ldavg = sb.load()
    argv = [os.path.join(PG_BIN, 'psql'), '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', pg.url(db)]
    if FLOOR_BATCH:
        # one COPY (one transaction) per FLOOR_BATCH rows, in one session
        script = rows + '.batches'
        with open(rows) as f, open(script, 'w') as o:
            lines = f.readlines()
            for k in range(0, len(lines), FLOOR_BATCH):
                o.write('COPY events(%s) FROM STDIN;\n' % COLS)
                o.writelines(lines[k:k + FLOOR_BATCH])
                o.write('\\.\n')
        rows, argv = script, argv + ['-f', '-']
    else:
        argv += ['-c', 'COPY events(%s) FROM STDIN' % COLS]
    with open(rows) as f:
        c0 = pg_cpu(pg)
        t0 = time.monotonic()
        subprocess.run(argv, stdin=f, check=True, timeout=3600)
        dt = time.monotonic() - t0
        pgc = pg_cpu(pg) - c0
    got = int(psql(pg, db, 'SELECT count(*) FROM events').strip())
    log('floor run %d: %d rows in %.2f s: %.0f/s, PostgreSQL CPU %.1f us/event (load before: %s)'
        % (run, got, dt, got / dt, pgc * 1e6 / got, ldavg))
    assert got == RX_EVENTS, got
    psql(pg, 'postgres', 'DROP DATABASE %s' % db)
    return dt, pgc, ldavg


def main():
    tmp = tempfile.mkdtemp(prefix='pgbench-', dir='/var/tmp')
    pg = start_postgres(durable=True)
    rd = sb.Redis(tmp)
    out = []
    try:
        rx, fl = [], []  # per round: (events/s, seconds, load, ctl CPU, pg CPU)
        # the warm-up drain (not counted): the floor's rows, the cluster's WAL
        pg.create_db('rx0')
        rate, _, n, _, _, _, _ = drain(tmp, rd, ['--store', pg.url('rx0')], 'warm-up', pg)
        assert n == RX_EVENTS, n
        rows, src = dump_rows(pg, tmp, 'rx0'), 'rx0'
        if ONLY_PG:
            print('receiver → PostgreSQL: %.0f/s' % rate)
            return
        for rnd in range(ROUNDS):
            for what in ('floor', 'rx') if rnd % 2 == 0 else ('rx', 'floor'):
                if what == 'rx':
                    db = 'rx%d' % (rnd + 1)
                    pg.create_db(db)
                    rate, dt, n, _, ld, ccpu, pgc = drain(tmp, rd, ['--store', pg.url(db)], 'pg', pg)
                    assert n == RX_EVENTS, n
                    rx.append((rate, dt, ld, ccpu, pgc))
                    psql(pg, 'postgres', 'DROP DATABASE %s' % db)
                else:
                    dt, pgc, ld = floor(pg, tmp, rows, src, rnd)
                    fl.append((RX_EVENTS / dt, dt, ld, 0, pgc))
        size = os.path.getsize(rows)
        ratios = [a[0] / b[0] for a, b in zip(rx, fl)]
        ratio = statistics.median(ratios)
        cpu_rx = statistics.median(x[4] for x in rx) * 1e6 / RX_EVENTS
        cpu_fl = statistics.median(x[4] for x in fl) * 1e6 / RX_EVENTS
        ctl_cpu = statistics.median(x[3] for x in rx) * 1e6 / RX_EVENTS
        out.append('Command: `%s/usr/bin/python3 bench/pg_bench.py` (RX_EVENTS=%d, %d jobs, ROUNDS=%d), %s'
                   % ('CTL_ARGS="%s" ' % ' '.join(CTL_ARGS) if CTL_ARGS else '', RX_EVENTS, RX_JOBS, ROUNDS,
                      time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())))
        out.append('')
        out.append('| round | receiver → PostgreSQL events/s (s, load before) | floor: one COPY of the same rows '
                   '(%.0f MB) events/s (s, load before) | ratio |' % (size / 1e6))
        out.append('|---|---|---|---|')
        for i, (a, b) in enumerate(zip(rx, fl)):
            out.append('| %d (%s) | %.0f (%.2f s, %s) | %.0f (%.2f s, %s) | %.2f× |' % (
                i + 1, 'floor first' if i % 2 == 0 else 'receiver first', a[0], a[1], a[2], b[0], b[1], b[2],
                ratios[i]))
        out.append('')
        out.append('Receiver ≥ 0.7× the PostgreSQL floor: %s (median of the per-round ratios %.2f×). CPU per '
                   'event, medians: PostgreSQL %.1f µs for the receiver\'s batches vs %.1f µs for the floor\'s '
                   'COPY; runneld-ctl %.1f µs.' % ('**met**' if ratio >= 0.7 else '**MISSED**', ratio, cpu_rx,
                                                   cpu_fl, ctl_cpu))
        print('\n'.join(out))
    finally:
        rd.stop()
        pg.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == '__main__':
    main()
