#!/usr/bin/python3
"""Receiver alone vs its SQLite floor, paired runs (A B B A ...): the
receiver (runneld-ctl --bus redis) drains a Redis backlog into SQLite; the
floor (build/floor_sqlite) inserts the very same events, read into rows
beforehand, through the store's one prepared INSERT in large transactions
into a database the store's own code made. State dirs on tmpfs.

    /usr/bin/python3 bench/receiver_floor.py [CTL ...]     (N=1000000 ROUNDS=2 TXN=50000 CTL_ARGS=)

CTL: runneld-ctl builds to drain with (default build/service/runneld-ctl);
each round runs the floor and every CTL once, the order turned round every
other round, so that the machine's load falls on all alike. Prints each run
(with the load average), then the medians and each CTL's ratio to the floor
(median of the per-round ratios). PERF=1: the last drain of the first CTL
under `perf record -g` (perf.data in the current directory).
The events are bench/service_bench.py's (20 jobs, ~1.5 KB runner_on_ok and
the like, jobs interleaved, one EOF per job).
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
from receiver_ab import cputime, ctl  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
N = int(os.environ.get('N', 1000000))
ROUNDS = int(os.environ.get('ROUNDS', 2))
TXN = int(os.environ.get('TXN', 50000))
JOBS = 20
CTL_ARGS = os.environ.get('CTL_ARGS', '').split()  # e.g. CTL_ARGS="--batch 5000"


def load():
    return open('/proc/loadavg').read().split()[0]


def drain(exe, rd, tmp, perf=False):
    per = N // JOBS
    state = tempfile.mkdtemp(prefix='state-', dir=tmp)
    ids = [a['result']['id'] for a in ctl(exe, state, rd.url, [
        {'cmd': 'create', 'kind': 'jobs', 'fields': {'name': 'rx %d' % i}} for i in range(JOBS)])]
    assert ids == list(range(1, JOBS + 1)), ids  # the events name jobs 1..20
    ctl(exe, state, rd.url, [{'cmd': 'cancel', 'id': j} for j in ids])
    rd.cmd('COPY', 'template', 'callback_tasks', 'REPLACE')
    r0 = cputime(rd.proc.pid)
    argv = [exe, '--state-dir', state, '--bus', 'redis', '--redis-url', rd.url] + CTL_ARGS
    if perf:
        argv = ['perf', 'record', '-g', '-o', 'perf.data', '--'] + argv
    t0 = time.monotonic()
    p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
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
    cpu = 0.0 if perf else cputime(p.pid)
    if os.environ.get('BENCH_DEBUG') and not perf:
        # CPU seconds per thread of runneld-ctl: which one is the drain's critical path
        tick = os.sysconf('SC_CLK_TCK')
        per_thread = []
        for tid in sorted(os.listdir('/proc/%d/task' % p.pid)):
            with open('/proc/%d/task/%s/stat' % (p.pid, tid)) as f:
                st = f.read()
            fields = st[st.rindex(')') + 2:].split()
            per_thread.append('%s %.2f' % (st[st.index('(') + 1:st.rindex(')')],
                                           (int(fields[11]) + int(fields[12])) / tick))
        print('  threads (CPU s over %.2f s): %s' % (wall, ', '.join(per_thread)), flush=True)
    rcpu = cputime(rd.proc.pid) - r0
    p.stdin.write(json.dumps({'cmd': 'shutdown', 'grace': 5}) + '\n')
    p.stdin.flush()
    p.communicate(timeout=120)
    left = rd.cmd('LLEN', 'callback_tasks')
    shutil.rmtree(state, ignore_errors=True)
    assert left == 0, left
    return per * JOBS / wall, cpu, rcpu


def floor(tmp, events_file):
    state = tempfile.mkdtemp(prefix='floor-', dir=tmp)
    o = subprocess.run([os.path.join(ROOT, 'build', 'floor_sqlite'), '--txn', str(TXN), state, events_file],
                       capture_output=True, text=True, timeout=1200)
    shutil.rmtree(state, ignore_errors=True)
    if o.returncode:
        sys.exit('floor_sqlite failed: %s' % o.stderr)
    r = json.loads(o.stdout)
    assert r['stored'] == N, r
    return r


def main():
    exes = sys.argv[1:] or [os.path.join(ROOT, 'build', 'service', 'runneld-ctl')]
    tmp = tempfile.mkdtemp(prefix='rx-floor-', dir='/dev/shm')
    rd = sb.Redis(tmp)
    try:
        per = N // JOBS
        created = '2026-01-01T00:00:00.000000'
        events_file = os.path.join(tmp, 'events.jsonl')
        gens = [sb.event_texts(j, created, per) for j in range(1, JOBS + 1)]
        with open(events_file, 'w') as f:
            for k in range(0, per, 50):
                chunk = [evs[i] for i in range(k, min(k + 50, per)) for evs in gens]
                rd.cmd('RPUSH', 'template', *chunk)
                f.write('\n'.join(chunk) + '\n')
        for j in range(1, JOBS + 1):
            rd.cmd('RPUSH', 'template', json.dumps({'event': 'EOF', 'final_counter': per, 'job_id': j}))
        del gens
        print('N=%d events of %d jobs, floor COMMIT every %d rows; load %s' % (N, JOBS, TXN, load()), flush=True)
        names = ['floor'] + ['ctl%d' % i for i in range(len(exes))]
        res = {n: [] for n in names}
        for rnd in range(ROUNDS):
            for name in names if rnd % 2 == 0 else names[::-1]:
                if name == 'floor':
                    r = floor(tmp, events_file)
                    res[name].append(r['rows_per_s'])
                    print('floor %8.0f events/s  CPU %5.1f us/event (%.2f s; reading the texts into rows, untimed: '
                          '%.2f s, CPU %.1f us/event)  load %s' % (
                              r['rows_per_s'], r['cpu_seconds'] * 1e6 / N, r['seconds'], r['parse_seconds'],
                              r['parse_cpu_seconds'] * 1e6 / N, load()), flush=True)
                else:
                    i = int(name[3:])
                    perf = os.environ.get('PERF') == '1' and i == 0 and rnd == ROUNDS - 1
                    eps, cpu, rcpu = drain(exes[i], rd, tmp, perf)
                    res[name].append(eps)
                    print('%s %8.0f events/s  engine CPU %5.1f us/event  redis CPU %4.1f us/event  load %s%s' % (
                        name, eps, cpu * 1e6 / N, rcpu * 1e6 / N, load(), '  (perf)' if perf else ''), flush=True)
        fl = statistics.median(res['floor'])
        print('floor: median %.0f events/s' % fl)
        for i, exe in enumerate(exes):
            v = res['ctl%d' % i]
            ratios = [a / b for a, b in zip(v, res['floor'])]
            print('ctl%d (%s): median %.0f events/s; ratio to the floor per round %s, median %.2fx' % (
                i, exe, statistics.median(v), ' '.join('%.2f' % x for x in ratios), statistics.median(ratios)))
    finally:
        rd.proc.kill()
        rd.proc.wait()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == '__main__':
    main()
