#!/usr/bin/python3
"""End to end on PostgreSQL against its floor (issue 11).

    /usr/bin/python3 bench/pg_e2e_floor.py            ROUNDS (default 3) pairs
    ROUNDS=5 /usr/bin/python3 bench/pg_e2e_floor.py

Prints a markdown section for bench/RESULTS.md.

Each round runs bench/service_bench.py's end-to-end benchmark (50 jobs x
10,000 events from the producer, Redis bus, runneld's HTTP API; see its
"Method") twice, once on SQLite and once on PostgreSQL (the order alternates
from round to round: the machine is shared and its load moves), and counts
the CPU each run used between the first launch and the moment every job's
events are stored:

- the run's processes: this script (the launches, the status polls, the
  freshness poller), runneld with its workers and their jobs (a reaped
  child's CPU is in its parent's), redis-server;
- PostgreSQL's: the postmaster, its backends and helpers (bench/pg_bench.py
  pg_cpu), in the PostgreSQL run.

After each PostgreSQL run, its events are dumped (COPY ... TO) and COPYed in
one statement into a fresh database of the same schema and partitions
(bench/pg_bench.py floor): PostgreSQL's CPU for that COPY is the least any
PostgreSQL store pays to keep those rows.

The floor is the run with PostgreSQL doing nothing but the COPY of its
rows, everything else as measured. Two ways to count "everything else",
and the floor takes the cheaper:

    from the PostgreSQL run: its CPU - PostgreSQL's CPU in it + the COPY's
    from the SQLite run:     its CPU - runneld's storing threads (rn-store:
                             SQLite's inserts and what any writer does;
                             rn-checkpoint) + the COPY's
    floor wall = floor CPU / (cores x u), u = the higher utilization of the
                 round's two runs (a run's CPU / (cores x its wall))
    floor rate = events / floor wall

The second counts the pipeline at SQLite's pace: a slower run also polls
longer (the freshness poller, the status polls, the workers' back-pressure
waits), which the first keeps. u is what this pipeline reaches on this
machine: the launches are one after another and the jobs start and end
unevenly, so neither run keeps both cores busy all the time. The floor is
generous to PostgreSQL: it keeps none of what a store must also do
besides the COPY (the jobs' status writes, the connections, the client's
side of the COPY; the API's reads too, but for the SQLite run's, made in
runneld's own threads), and it takes the better utilization of the two.
"""
import json
import os
import re
import shutil
import statistics
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, 'bench'))
sys.argv = sys.argv[:1]  # service_bench reads its own options at import
import service_bench as sb  # noqa: E402
import pg_bench  # noqa: E402  (pg_cpu, dump_rows, floor)

ROUNDS = int(os.environ.get('ROUNDS', 3))
CORES = os.cpu_count()
TARGET = 25000


def descendants(procs):
    """The pids of this process's live descendants in procs (proc_table)."""
    me, out = os.getpid(), []
    for pid in procs:
        if pid == me:
            continue
        p, hops = pid, 0
        while p not in (0, 1, me) and hops < 64:
            p, hops = int(procs[p][1]) if p in procs else 0, hops + 1
        if p == me:
            out.append(pid)
    return out


def tree_cpu():
    """CPU seconds of this process and every live descendant (each with what
    its reaped children used)."""
    procs = pg_bench.proc_table()
    return sum(int(x) for pid in [os.getpid()] + descendants(procs) if pid in procs
               for x in procs[pid][11:15]) / os.sysconf('SC_CLK_TCK')


def store_threads_cpu():
    """CPU seconds of runneld's storing threads: its writers (rn-store) and
    SQLite's checkpointer (rn-checkpoint)."""
    total = 0.0
    for pid in descendants(pg_bench.proc_table()):
        try:
            with open('/proc/%d/comm' % pid) as f:
                if f.read().strip() != 'runneld':
                    continue
            tids = os.listdir('/proc/%d/task' % pid)
        except OSError:
            continue
        for tid in tids:
            try:
                with open('/proc/%d/task/%s/stat' % (pid, tid)) as f:
                    st = f.read()
            except OSError:
                continue
            if st[st.index('(') + 1:st.rindex(')')] in ('rn-store', 'rn-checkpoint'):
                fields = st[st.rindex(')') + 2:].split()
                total += (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')
    return total


def one_run(label, store, shimdir):
    """One e2e run on store ('sqlite' or 'pg'): the e2e results plus its
    CPU: 'cpu' (all of it) and 'pg_cpu' (PostgreSQL's part)."""
    sb.STORE = store
    marks = {}

    def mark(what):
        pg = sb._pg if store == 'pg' else None
        marks[what] = (tree_cpu(), pg_bench.pg_cpu(pg) if pg else 0.0, store_threads_cpu())

    res = sb.run_e2e(label, 'redis', shimdir, 'events-%d.yml' % sb.E2E_PER_JOB, sb.E2E_PER_JOB, sb.E2E_JOBS,
                     'producer', mark=mark)
    (t0, p0, s0), (t1, p1, s1) = marks['start'], marks['end']
    res['pg_cpu'] = p1 - p0
    res['store_cpu'] = s1 - s0
    res['cpu'] = (t1 - t0) + res['pg_cpu']
    res['util'] = res['cpu'] / (CORES * res['wall'])
    sb.log('%s: CPU %.1f s (PostgreSQL %.1f s, storing threads %.1f s), utilization %.2f' % (
        label, res['cpu'], res['pg_cpu'], res['store_cpu'], res['util']))
    return res


def copy_floor(res, rnd, tmp):
    """PostgreSQL's CPU to COPY the rows of PostgreSQL run res (its database
    is then dropped)."""
    pg = sb._pg
    db = re.sub(r'[^a-z0-9]', '_', ('e2e_%s_%d' % (res['label'], os.getpid())).lower())
    pg_bench.RX_EVENTS = res['total']
    rows = pg_bench.dump_rows(pg, tmp, db)
    dt, pgc, ld = pg_bench.floor(pg, tmp, rows, db, rnd)
    os.unlink(rows)
    pg_bench.psql(pg, 'postgres', 'DROP DATABASE %s' % db)
    return pgc, dt, ld


def main():
    os.makedirs(sb.DISK, exist_ok=True)
    os.makedirs(sb.TMPFS, exist_ok=True)
    _, shimdir = sb.build_tools()
    tmp = tempfile.mkdtemp(prefix='pg-e2e-floor-', dir='/var/tmp')
    rows = []
    try:
        for rnd in range(1, ROUNDS + 1):
            order = ('sqlite', 'pg') if rnd % 2 else ('pg', 'sqlite')
            got = {}
            for store in order:
                got[store] = one_run('%s-r%d' % (store, rnd), store, shimdir)
            pg, sq = got['pg'], got['sqlite']
            copy_cpu, copy_s, _ = copy_floor(pg, rnd, tmp)
            u = max(pg['util'], sq['util'])
            # the PostgreSQL run without PostgreSQL's work but the COPY; the
            # SQLite run without its storing threads (SQLite's inserts and
            # checkpoints, and the writers' own work any store has) plus the
            # COPY: the run as long as SQLite's, its pollers polling less
            floor_pg = pg['cpu'] - pg['pg_cpu'] + copy_cpu
            floor_sq = sq['cpu'] - sq['store_cpu'] + copy_cpu
            floor_cpu = min(floor_pg, floor_sq)
            floor_rate = pg['total'] / (floor_cpu / (CORES * u))
            rows.append(dict(round=rnd, order=order, sq=sq, pg=pg, copy_cpu=copy_cpu, copy_s=copy_s, u=u,
                             floor_pg=floor_pg, floor_sq=floor_sq, floor_cpu=floor_cpu, floor_rate=floor_rate))
            sb.log('round %d: %s' % (rnd, json.dumps({k: v for k, v in rows[-1].items()
                                                      if k not in ('sq', 'pg')})))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(sb.TMPFS, ignore_errors=True)
    report(rows)


def report(rows):
    out = ['Command: `/usr/bin/python3 bench/pg_e2e_floor.py` (ROUNDS=%d, %d jobs x %d events, Redis bus), %s'
           % (ROUNDS, sb.E2E_JOBS, sb.E2E_PER_JOB, time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())), '',
           '| round (first) | SQLite events/s (CPU s, of it storing threads, util, load) | PostgreSQL events/s '
           '(CPU s, of it PostgreSQL, util, load) | COPY of the run\'s rows: PostgreSQL CPU s | floor CPU s: from '
           'the PostgreSQL run / from the SQLite run | PostgreSQL floor **events/s** | PostgreSQL / SQLite | '
           'PostgreSQL / its floor |',
           '|---|---|---|---|---|---|---|---|']
    for r in rows:
        sq, pg = r['sq'], r['pg']
        out.append('| %d (%s) | %.0f (%.1f, %.1f, %.2f, %s) | %.0f (%.1f, %.1f, %.2f, %s) | %.1f | %.1f / %.1f | '
                   '**%.0f** | %.2f× | %.2f× |' % (
                       r['round'], 'SQLite' if r['order'][0] == 'sqlite' else 'PostgreSQL',
                       sq['rate_wall'], sq['cpu'], sq['store_cpu'], sq['util'], sq['load'].split()[0],
                       pg['rate_wall'], pg['cpu'], pg['pg_cpu'], pg['util'], pg['load'].split()[0],
                       r['copy_cpu'], r['floor_pg'], r['floor_sq'], r['floor_rate'],
                       pg['rate_wall'] / sq['rate_wall'], pg['rate_wall'] / r['floor_rate']))
    fl = statistics.median(r['floor_rate'] for r in rows)
    out.append('')
    out.append('Medians: SQLite %.0f/s, PostgreSQL %.0f/s, PostgreSQL\'s floor %.0f/s (per round: %s). '
               'PostgreSQL\'s floor reaches the 25,000/s target: %s.' % (
                   statistics.median(r['sq']['rate_wall'] for r in rows),
                   statistics.median(r['pg']['rate_wall'] for r in rows), fl,
                   ', '.join('%.0f' % r['floor_rate'] for r in rows),
                   'yes' if fl >= TARGET else '**no**'))
    print('\n'.join(out))


if __name__ == '__main__':
    main()
