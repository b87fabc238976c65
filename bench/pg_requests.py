#!/usr/bin/python3
"""What one API request costs PostgreSQL: statements and time (issue 11).

    /usr/bin/python3 bench/pg_requests.py          N (default 1000) of each request

Prints a markdown section for bench/RESULTS.md. A PostgreSQL 15 cluster of
its own (initdb + pg_ctl, loopback, a free port, PostgreSQL's default
durability) with pg_stat_statements loaded, runneld (build/service/) on a
database of it, 20 finished jobs of a one-task playbook. Then, for each of
the requests a client of running jobs makes (the newest event, the jobs
list that names one job or all 20, the job), N times in a row: the statements
PostgreSQL ran per request (pg_stat_statements' calls, reset before each
request kind; each statement is one round trip), the CPU time the
cluster's processes and runneld used per request (/proc), and the median
and p90 wall time of one request (client included), on an idle runneld.
"""
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
import service_bench as sb  # noqa: E402  (Runneld, make_world, wait_for)
from pg_bench import pg_cpu  # noqa: E402
from runneld_harness import PG_BIN, start_postgres  # noqa: E402

N = int(os.environ.get('N', 1000))
JOBS = 20  # launched, of one template; the list of them all is one request


def proc_cpu_s(pid):
    """utime + stime of one process (all its threads), in seconds."""
    with open('/proc/%d/stat' % pid) as f:
        st = f.read()
    fields = st[st.rindex(')') + 2:].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')


def main():
    pg = start_postgres(durable=True)
    try:
        pg.psql("ALTER SYSTEM SET shared_preload_libraries='pg_stat_statements'")
        # restart with the library (the log file: pg_ctl waits on it otherwise)
        subprocess.run(pg.prefix + [os.path.join(PG_BIN, 'pg_ctl'), '-D', pg.data, '-w', '-l',
                                    os.path.join(pg.dir, 'log2'), 'restart'],
                       check=True, capture_output=True, timeout=120)
        with open(os.path.join(pg.data, 'postmaster.pid')) as f:
            pg.pid = int(f.readline())
        pg.create_db('rq')
        pg.psql('CREATE EXTENSION pg_stat_statements', db='rq')
        tmp = tempfile.mkdtemp(prefix='runnel-pgrq-', dir='/var/tmp')
        iso = tempfile.mkdtemp(prefix='runnel-pgrq-', dir='/dev/shm')
        state = os.path.join(tmp, 'state')
        os.makedirs(os.path.join(state, 'projects', 'bench'))
        with open(os.path.join(state, 'projects', 'bench', 'p.yml'), 'w') as f:
            f.write('- hosts: all\n  gather_facts: false\n  tasks:\n    - debug: msg=x\n')
        d = sb.Runneld(state, iso, 'local', store=['--store', pg.url('rq')])
        try:
            jts = sb.make_world(d, 'bench', ['host0001'], ['p.yml'])
            ids = [d.post('/job_templates/%d/launch/' % jts['p.yml'])['id'] for _ in range(JOBS)]
            job = ids[0]
            idq = ','.join(map(str, ids))
            sb.wait_for(lambda: all(j['status'] not in sb.ACTIVE for j in
                                    d.get('/jobs/?id__in=%s&page_size=200' % idq)['results']),
                        300, step=0.5, what='the jobs to finish')
            time.sleep(0.5)
            rows = []
            for what, path in (
                    ('the newest event', '/jobs/%d/job_events/?order_by=-counter&page_size=1' % job),
                    ('the jobs list (id__in), 1 job', '/jobs/?id__in=%d&page_size=200' % job),
                    ('the jobs list (id__in), %d jobs' % JOBS, '/jobs/?id__in=%s&page_size=200' % idq),
                    ('the job', '/jobs/%d/' % job)):
                d.get(path)  # the connection's statements prepared
                pg.psql('SELECT pg_stat_statements_reset()', db='rq')
                times = []
                c0, r0 = pg_cpu(pg), proc_cpu_s(d.proc.pid)
                for _ in range(N):
                    t = time.monotonic()
                    d.get(path)
                    times.append(time.monotonic() - t)
                pg_us = (pg_cpu(pg) - c0) / N * 1e6
                rd_us = (proc_cpu_s(d.proc.pid) - r0) / N * 1e6
                calls = int(pg.psql("SELECT coalesce(sum(calls), 0) FROM pg_stat_statements"
                                    " WHERE query NOT LIKE '%pg_stat_statements%'", db='rq'))
                times.sort()
                rows.append((what, path, calls / N, pg_us, rd_us,
                             statistics.median(times) * 1000, times[int(len(times) * 0.9)] * 1000))
        finally:
            d.stop()
            shutil.rmtree(tmp, ignore_errors=True)
            shutil.rmtree(iso, ignore_errors=True)
    finally:
        pg.stop()
    sb.say('## PostgreSQL: what one API request costs (issue 11)')
    sb.say()
    sb.say('| request | statements (round trips) per request | PostgreSQL CPU µs per request'
           ' | runneld CPU µs per request | median ms | p90 ms |')
    sb.say('|---|---|---|---|---|---|')
    for what, path, per, pg_us, rd_us, p50, p90 in rows:
        if len(path) > 70:
            path = path[:60] + '…'
        sb.say('| %s `%s` | %.1f | %.0f | %.0f | %.2f | %.2f |' % (
            what, path, per, pg_us, rd_us, p50, p90))
    sb.say()
    sb.say('_%d requests of each on an idle runneld; load average %s._' % (N, sb.load()))


if __name__ == '__main__':
    main()
