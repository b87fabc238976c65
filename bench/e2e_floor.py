#!/usr/bin/python3
"""The floors under the end-to-end benchmark (bench/service_bench.py, section
2-4: 50 jobs x 10,000 events, Redis bus), measured on this machine now:

  source alone   50 producers (bench/producer.c --inband, 10,000 events each)
                 at once, their output to /dev/null: the events the jobs can
                 make per second with nothing reading them;
  through ptys   the same 50 producers at once, each on a pty of its own read
                 to EOF by bench/ptycat.c (forkpty, 24x80, bytes discarded):
                 what a runner must read before it does anything with the
                 events, the pty floor of 50 concurrent jobs (events in-band);
  with the pipe  the same, each producer also given an event pipe as runnel
                 gives one (ptycat --pipe): the JSON through the pipe, only
                 uuid markers and text through the pty (lib/evpipe.h);
  Redis alone    redis-benchmark on a redis-server of its own: RPUSH then
                 LPOP of 500,000 messages of ~1.5 KB (the events' size), 50
                 clients, pipelined 100 deep: what the bus carries in and out
                 per second with no producer, runner or store.

    /usr/bin/python3 bench/e2e_floor.py      (JOBS=50 PER_JOB=10000 ROUNDS=3)

Prints each run with the load average, then the medians. The end-to-end rate
cannot pass the slower of the two (nor, on 2 cores, their combination: the
machine runs both at once besides the workers, the receiver and the store).
"""
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import service_bench as sb  # noqa: E402

JOBS = int(os.environ.get('JOBS', 50))
PER_JOB = int(os.environ.get('PER_JOB', 10000))
ROUNDS = int(os.environ.get('ROUNDS', 3))


def load():
    return open('/proc/loadavg').read().split()[0]


def producers(exe):
    t0 = time.monotonic()
    ps = [subprocess.Popen([exe, '--inband', '-n', str(PER_JOB)], stdout=subprocess.DEVNULL)
          for _ in range(JOBS)]
    for p in ps:
        assert p.wait() == 0
    return JOBS * PER_JOB / (time.monotonic() - t0)


def producers_on_ptys(ptycat, exe, pipe=False):
    t0 = time.monotonic()
    ps = [subprocess.Popen([ptycat] + (['--pipe'] if pipe else []) + ['--', exe, '--inband', '-n', str(PER_JOB)],
                           stdout=subprocess.DEVNULL)
          for _ in range(JOBS)]
    for p in ps:
        assert p.wait() == 0
    return JOBS * PER_JOB / (time.monotonic() - t0)


def redis_alone(tmp):
    rd = sb.Redis(tmp)
    try:
        port = rd.url.rsplit(':', 1)[1].split('/')[0]
        n = JOBS * PER_JOB
        out = {}
        for test in ('rpush', 'lpop'):
            o = subprocess.run(['redis-benchmark', '-p', port, '-t', test, '-n', str(n), '-d', '1500', '-c', '50',
                                '-P', '100', '-q', '--csv'], capture_output=True, text=True, timeout=600).stdout
            line = [x for x in o.splitlines() if x.upper().startswith('"%s' % test.upper())][0]
            out[test] = float(line.split(',')[1].strip('"'))
        return out
    finally:
        rd.proc.kill()
        rd.proc.wait()


def main():
    tmp = tempfile.mkdtemp(prefix='e2e-floor-', dir='/dev/shm')
    try:
        exe = os.path.join(tmp, 'producer')
        jansson = subprocess.run(['pkg-config', '--libs', 'jansson'], capture_output=True, text=True).stdout.split()
        subprocess.run(['cc', '-O2', '-o', exe, os.path.join(sb.BENCH, 'producer.c')] + jansson, check=True)
        ptycat = os.path.join(tmp, 'ptycat')
        subprocess.run(['cc', '-O2', '-o', ptycat, os.path.join(sb.BENCH, 'ptycat.c'), '-lutil'], check=True)
        src, pty, piped, push, pop = [], [], [], [], []
        for i in range(ROUNDS):
            ld = load()
            src.append(producers(exe))
            pty.append(producers_on_ptys(ptycat, exe))
            piped.append(producers_on_ptys(ptycat, exe, pipe=True))
            r = redis_alone(tmp)
            push.append(r['rpush'])
            pop.append(r['lpop'])
            print('round %d: %d producers %.0f events/s, on ptys %.0f events/s, with the pipe %.0f events/s; '
                  'Redis alone RPUSH %.0f/s, LPOP %.0f/s (load before %s)'
                  % (i + 1, JOBS, src[-1], pty[-1], piped[-1], push[-1], pop[-1], ld), flush=True)
        print('medians: source alone %.0f events/s; through ptys %.0f events/s; with the pipe %.0f events/s; '
              'Redis alone RPUSH %.0f/s, LPOP %.0f/s'
              % (statistics.median(src), statistics.median(pty), statistics.median(piped),
                 statistics.median(push), statistics.median(pop)))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == '__main__':
    main()
