#!/usr/bin/python3
"""Receiver alone, A/B: two runneld-ctl builds drain the same Redis backlog
into SQLite (state dir on tmpfs), alternately, so that a busy machine's
load falls on both alike. Besides the wall-clock rate it reports the CPU
time the engine and redis-server spent per event, which a loaded machine
does not distort as much.

    /usr/bin/python3 bench/receiver_ab.py A_CTL B_CTL     (N=100000 ROUNDS=4)

A_CTL / B_CTL: paths of runneld-ctl (e.g. a build of main, and build/service/runneld-ctl).
The events are bench/service_bench.py's (20 jobs, ~1.5 KB runner_on_ok and
the like, jobs interleaved, one EOF per job), pushed once into a template
list and copied (COPY) into callback_tasks before each drain.
"""
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import service_bench as sb  # noqa: E402

N = int(os.environ.get('N', 100000))
ROUNDS = int(os.environ.get('ROUNDS', 4))
JOBS = 20


def cputime(pid):
    f = open('/proc/%d/stat' % pid).read().rsplit(')', 1)[1].split()
    return (int(f[11]) + int(f[12])) / os.sysconf('SC_CLK_TCK')


def ctl(exe, state, url, cmds):
    p = subprocess.run([exe, '--state-dir', state, '--bus', 'redis', '--redis-url', url],
                       input='\n'.join(json.dumps(c) for c in cmds) + '\n', capture_output=True, text=True,
                       timeout=120)
    return [json.loads(l) for l in p.stdout.splitlines()[1:] if l.startswith('{')]


def drain(exe, rd, tmp):
    per = N // JOBS
    state = tempfile.mkdtemp(prefix='state-', dir=tmp)
    ids = [a['result']['id'] for a in ctl(exe, state, rd.url, [
        {'cmd': 'create', 'kind': 'jobs', 'fields': {'name': 'rx %d' % i}} for i in range(JOBS)])]
    assert ids == list(range(1, JOBS + 1)), ids  # the events name jobs 1..20
    ctl(exe, state, rd.url, [{'cmd': 'cancel', 'id': j} for j in ids])
    rd.cmd('COPY', 'template', 'callback_tasks', 'REPLACE')
    r0 = cputime(rd.proc.pid)
    t0 = time.monotonic()
    p = subprocess.Popen([exe, '--state-dir', state, '--bus', 'redis', '--redis-url', rd.url],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert json.loads(p.stdout.readline())['ok']
    q = json.dumps({'cmd': 'list', 'kind': 'jobs', 'filters': {'id__in': ','.join(map(str, ids))},
                    'page_size': 200}) + '\n'
    while True:
        p.stdin.write(q)
        p.stdin.flush()
        r = json.loads(p.stdout.readline())['result']['results']
        if sum(x['stored_events'] for x in r) >= per * JOBS and all(x['event_processing_finished'] for x in r):
            break
        time.sleep(0.05)
    wall = time.monotonic() - t0
    cpu, rcpu = cputime(p.pid), cputime(rd.proc.pid) - r0
    p.stdin.write(json.dumps({'cmd': 'shutdown', 'grace': 5}) + '\n')
    p.stdin.flush()
    p.communicate(timeout=60)
    left = rd.cmd('LLEN', 'callback_tasks')
    shutil.rmtree(state, ignore_errors=True)
    return per * JOBS / wall, cpu, rcpu, left


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    exes = {'A': sys.argv[1], 'B': sys.argv[2]}
    tmp = tempfile.mkdtemp(prefix='rx-ab-', dir='/dev/shm')
    rd = sb.Redis(tmp)
    try:
        per = N // JOBS
        created = '2026-01-01T00:00:00.000000'
        gens = [sb.event_texts(j, created, per) for j in range(1, JOBS + 1)]
        for k in range(0, per, 50):
            rd.cmd('RPUSH', 'template', *[evs[i] for i in range(k, min(k + 50, per)) for evs in gens])
        for j in range(1, JOBS + 1):
            rd.cmd('RPUSH', 'template', json.dumps({'event': 'EOF', 'final_counter': per, 'job_id': j}))
        del gens
        res = {'A': [], 'B': []}
        for i in range(ROUNDS):
            for name in ('A', 'B') if i % 2 == 0 else ('B', 'A'):
                eps, cpu, rcpu, left = drain(exes[name], rd, tmp)
                res[name].append((eps, cpu, rcpu))
                print('%s %8.0f events/s  engine CPU %5.1f us/event  redis CPU %4.1f us/event  left %d  load %s' % (
                    name, eps, cpu * 1e6 / N, rcpu * 1e6 / N, left, open('/proc/loadavg').read().split()[0]),
                    flush=True)
        for name in ('A', 'B'):
            v = res[name]
            print('%s (%s): median %.0f events/s, engine CPU %.1f us/event, redis CPU %.1f us/event' % (
                name, exes[name], statistics.median(x[0] for x in v), statistics.median(x[1] for x in v) * 1e6 / N,
                statistics.median(x[2] for x in v) * 1e6 / N))
    finally:
        rd.proc.kill()
        rd.proc.wait()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == '__main__':
    main()
