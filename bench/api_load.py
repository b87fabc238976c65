#!/usr/bin/python3
"""API latency under an event flood (issue 9).

    /usr/bin/python3 bench/api_load.py [--jobs 30] [--events 2000] [--pollers 6] [--period 1.0]
                                       [--runneld LABEL=PATH ...] [--rounds N]

runneld (build/service/runneld unless --runneld names others) on a free
loopback port, local bus, state on disk. JOBS jobs of EVENTS synthetic events
each (bench/producer.c behind an `ansible-playbook` shim, as in
bench/service_bench.py: launch, dispatcher, worker, librunnel, bus, receiver
and SQLite are the real path) are launched at once. POLLERS processes (one
per UI user, as browsers are) use the API the way AWX's UI does while the flood lasts: the jobs list, one job's
detail, its events page (newest first), its host summaries, its stdout, the
templates / inventories / hosts / projects lists, a round every PERIOD
seconds. Every request's latency is recorded; the table gives p50 / p99 / max per
endpoint and overall, for a quiet baseline (the same pollers, no job running)
and for the flood. Every job must end with all its events stored exactly once
(stored_events == emitted_events == EVENTS, and the events list counts them).

Several --runneld binaries (LABEL=PATH) run in turn, ROUNDS times each,
alternating, so that a before/after comparison sees the same machine load.
The Markdown section goes to stdout (bench/all appends it to RESULTS.md);
progress to stderr.
"""
import argparse
import multiprocessing
import os
import queue
import random
import shutil
import sys
import tempfile
import time

import requests

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import service_bench as sb  # noqa: E402  (Runneld, make_world, the producer shim)

ACTIVE = ('new', 'pending', 'waiting', 'running')


def log(text):
    print('  .. ' + text, file=sys.stderr, flush=True)


def pct(xs, p):
    return sb.pct(xs, p)


class Poller:
    """One UI user (a process of its own, as a browser is): a round of the
    UI's reads every period, until told to stop. phase: a shared
    integer, 0 quiet, 1 flood, 2 stop. Samples and errors come back on q."""

    def __init__(self, base, auth, jt, seed, period, phase, q):
        self.base, self.jt, self.period, self.phase, self.q = base, jt, period, phase, q
        self.rng = random.Random(seed)
        self.samples = []   # (endpoint, seconds, phase name)
        self.errors = []
        self.s = requests.Session()
        self.s.headers['Authorization'] = auth

    def get(self, endpoint, path, check):
        ph = 'flood' if self.phase.value else 'quiet'
        t = time.monotonic()
        try:
            r = self.s.get(self.base + path, timeout=120)
            body = r.content
        except requests.RequestException as e:
            self.errors.append('%s: %s' % (path, e))
            return None
        self.samples.append((endpoint, time.monotonic() - t, ph))
        if r.status_code != 200:
            self.errors.append('%s: %d %s' % (path, r.status_code, body[:200]))
            return None
        try:
            v = r.json() if check != 'text' else body
        except ValueError:
            self.errors.append('%s: not JSON: %r' % (path, body[:200]))
            return None
        if check == 'list' and not (isinstance(v, dict) and isinstance(v.get('results'), list) and 'count' in v):
            self.errors.append('%s: not a list page: %r' % (path, body[:200]))
        if check == 'one' and not (isinstance(v, dict) and 'id' in v):
            self.errors.append('%s: not an object: %r' % (path, body[:200]))
        if check == 'text' and not r.headers.get('Content-Type', '').startswith('text/plain'):
            self.errors.append('%s: stdout is not text: %r' % (path, r.headers))
        return v

    def round(self):
        jobs = self.get('jobs list', '/unified_jobs/?order_by=-id&page_size=20', 'list')
        ids = [x['id'] for x in jobs['results'] if x.get('type') == 'job'] if jobs else []
        if ids:
            # the user opens a job of the list, as in AWX's UI
            j = self.rng.choice(ids)
            self.get('job detail', '/jobs/%d/' % j, 'one')
            self.get('job events', '/jobs/%d/job_events/?order_by=-counter&page_size=50' % j, 'list')
            self.get('job host summaries', '/jobs/%d/job_host_summaries/' % j, 'list')
            self.get('job stdout', '/jobs/%d/stdout/?format=txt' % j, 'text')
        other = self.rng.choice([('templates list', '/job_templates/'), ('inventories list', '/inventories/'),
                                 ('hosts list', '/hosts/'), ('projects list', '/projects/'),
                                 ('template jobs', '/job_templates/%d/jobs/?order_by=-id&page_size=20' % self.jt)])
        self.get(other[0], other[1], 'list')

    def run(self):
        # a round every period (± 20%), as a page refreshing itself: the
        # load offered does not depend on how fast the server answers, so
        # that runs compare (a round that ends late starts the next at once)
        nxt = time.monotonic() + self.period * self.rng.random()
        while self.phase.value < 2:
            time.sleep(max(0.0, nxt - time.monotonic()))
            self.round()
            nxt = max(nxt + self.period * (0.8 + 0.4 * self.rng.random()), time.monotonic())
        self.q.put((self.samples, self.errors))


def poller_main(*args):
    Poller(*args).run()


class Pollers:
    """n Poller processes; stop() gathers their samples and errors."""

    def __init__(self, d, jt, n, period):
        ctx = multiprocessing.get_context('fork')
        self.phase = ctx.Value('i', 0)
        self.q = ctx.Queue()
        self.procs = [ctx.Process(target=poller_main, daemon=True,
                                  args=(d.base, d.s.headers['Authorization'], jt, i, period, self.phase, self.q))
                      for i in range(n)]
        for p in self.procs:
            p.start()
        self.samples, self.errors = [], []

    def flood(self):
        self.phase.value = 1

    def stop(self):
        if self.phase.value == 2:
            return
        self.phase.value = 2
        for _ in self.procs:
            try:
                smp, err = self.q.get(timeout=300)
            except queue.Empty:
                self.errors.append('a poller did not report')
                break
            self.samples.extend(smp)
            self.errors.extend(err)
        for p in self.procs:
            p.join(30)
            if p.is_alive():
                p.kill()


def summarize(samples, phase):
    by = {}
    for ep, dt, ph in samples:
        if ph == phase:
            by.setdefault(ep, []).append(dt)
    allx = [dt for ep, dt, ph in samples if ph == phase]
    return by, allx


def run_once(label, exe, shimdir, njobs, nevents, npollers, period, quiet_s):
    """One runneld, a quiet baseline, then the flood. Returns the figures."""
    sb.RUNNELD = exe
    tmp = tempfile.mkdtemp(prefix='apiload-', dir=sb.DISK)
    iso = tempfile.mkdtemp(prefix='apiload-', dir=sb.TMPFS)
    d = None
    pollers = None
    try:
        state = os.path.join(tmp, 'state')
        pb = 'events-%d.yml' % nevents
        projdir = os.path.join(state, 'projects', 'bench')
        os.makedirs(projdir)
        with open(os.path.join(projdir, pb), 'w') as f:
            f.write('- hosts: all\n  gather_facts: false\n  tasks: []\n')   # the shim runs the producer
        d = sb.Runneld(state, iso, 'local', path_prefix=shimdir, capacity=njobs)
        jt = sb.make_world(d, 'bench', ['host%04d' % i for i in range(1, 5)], [pb])[pb]
        # one finished job, so that the quiet baseline reads a job of the same size
        first = d.post('/job_templates/%d/launch/' % jt)['id']
        sb.wait_for(lambda: (lambda j: j['status'] not in ACTIVE and j['event_processing_finished'])(
            d.get('/jobs/%d/' % first)), 300, 0.2, 'the first job')
        pollers = Pollers(d, jt, npollers, period)
        time.sleep(quiet_s)
        load_before = sb.load()
        t0 = time.monotonic()
        pollers.flood()
        ids = [d.post('/job_templates/%d/launch/' % jt)['id'] for _ in range(njobs)]
        idq = ','.join(map(str, ids))
        loads = []
        while True:
            r = d.get('/jobs/?id__in=%s&page_size=200' % idq)['results']
            loads.append(float(open('/proc/loadavg').read().split()[0]))
            if all(x['status'] not in ACTIVE and x['event_processing_finished'] for x in r):
                break
            if time.monotonic() - t0 > 1800:
                raise RuntimeError('api_load: jobs not done after 30 min')
            time.sleep(0.5)
        wall = time.monotonic() - t0
        pollers.stop()
        # every event stored exactly once
        bad = []
        for x in r:
            n = d.get('/jobs/%d/job_events/?page_size=1' % x['id'])['count']
            if not (x['status'] == 'successful' and x['stored_events'] == nevents and
                    x.get('emitted_events') == nevents and n == nevents):
                bad.append((x['id'], x['status'], x['stored_events'], x.get('emitted_events'), n))
        samples, errors = pollers.samples, pollers.errors
        res = {'label': label, 'exe': exe, 'wall': wall, 'events': njobs * nevents, 'bad': bad,
               'errors': errors, 'samples': samples, 'load_before': load_before,
               'load_max': max(loads) if loads else None, 'load_after': sb.load()}
        by, allx = summarize(samples, 'flood')
        log('%s: flood %.1f s, %d requests, p50 %.3f p99 %.3f max %.3f s, load %s -> %s, bad %d, errors %d' % (
            label, wall, len(allx), pct(allx, 50) or -1, pct(allx, 99) or -1, max(allx, default=-1),
            load_before, res['load_after'], len(bad), len(errors)))
        return res
    finally:
        if pollers:
            pollers.stop()
        if d:
            d.stop()
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(iso, ignore_errors=True)


def fmt(x):
    return '–' if x is None else '%.3f' % x


def report(runs, a, cmd):
    out = []
    say = out.append
    say('## API latency under an event flood (issue 9)')
    say('')
    say('- Command: `%s` (%s; load before the first run %s)' % (
        cmd, time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime()), runs[0]['load_before'] if runs else '?'))
    say('- %d jobs × %d events (synthetic producer, local bus) launched at once; %d pollers read the API the way '
        'AWX\'s UI does (unified jobs list, job detail, job events page newest first, host summaries, stdout as '
        'text, one of the templates / inventories / hosts / projects / template jobs lists; a round every %.2f s '
        '± 20%%, or at once when the previous one ended late) before (quiet: one finished job, nothing running) and throughout the flood. Latency is request '
        'sent → whole body read, in seconds.' % (a.jobs, a.events, a.pollers, a.period))
    say('')
    say('| runneld | round | phase | requests | p50 | p99 | max | flood wall s | events stored | load before → '
        'max → after | non-200 / malformed |')
    say('|---|---|---|---|---|---|---|---|---|---|---|')
    for i, r in enumerate(runs):
        for ph in ('quiet', 'flood'):
            by, allx = summarize(r['samples'], ph)
            say('| %s | %d | %s | %d | %s | %s | %s | %s | %s | %s | %s |' % (
                r['label'], r['round'], ph, len(allx), fmt(pct(allx, 50)), fmt(pct(allx, 99)),
                fmt(max(allx, default=None)), '%.1f' % r['wall'] if ph == 'flood' else '',
                ('%d, all exactly once' % r['events'] if not r['bad'] else '**%d jobs short: %r**' % (
                    len(r['bad']), r['bad'][:3])) if ph == 'flood' else '',
                '%s → %.2f → %s' % (r['load_before'], r['load_max'] or 0, r['load_after']) if ph == 'flood' else '',
                len(r['errors']) if ph == 'flood' else ''))
    say('')
    say('Per endpoint: quiet p50 / p99 → flood p50 / p99 / max s (flood requests):')
    say('')
    labels = []
    for r in runs:
        if r['label'] not in labels:
            labels.append(r['label'])
    say('| endpoint | ' + ' | '.join(labels) + ' |')
    say('|---|' + '---|' * len(labels))
    eps = sorted({ep for r in runs for ep, _, _ in r['samples']})
    for ep in eps:
        cells = []
        for lb in labels:
            qs = [dt for r in runs if r['label'] == lb for e, dt, ph in r['samples'] if e == ep and ph == 'quiet']
            xs = [dt for r in runs if r['label'] == lb for e, dt, ph in r['samples'] if e == ep and ph == 'flood']
            cells.append('%s / %s → %s / %s / %s (%d)' % (fmt(pct(qs, 50)), fmt(pct(qs, 99)), fmt(pct(xs, 50)),
                                                         fmt(pct(xs, 99)), fmt(max(xs, default=None)), len(xs)))
        say('| %s | %s |' % (ep, ' | '.join(cells)))
    for r in runs:
        for e in r['errors'][:5]:
            say('- %s: %s' % (r['label'], e))
    return '\n'.join(out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--jobs', type=int, default=30)
    ap.add_argument('--events', type=int, default=2000)
    ap.add_argument('--pollers', type=int, default=6)
    ap.add_argument('--period', type=float, default=1.0, help='seconds between a poller\'s rounds')
    ap.add_argument('--quiet', type=float, default=8.0, help='seconds of quiet baseline')
    ap.add_argument('--rounds', type=int, default=1)
    ap.add_argument('--runneld', action='append', default=[], metavar='LABEL=PATH')
    a = ap.parse_args()
    bins = []
    for spec in a.runneld or ['this tree=' + sb.RUNNELD]:
        label, _, path = spec.partition('=')
        bins.append((label, os.path.abspath(path or label)))
    # directories of this run only (service_bench.py's may be in use by another run)
    sb.DISK = '/var/tmp/runneld-apiload-%d-%d' % (os.getuid(), os.getpid())
    sb.TMPFS = '/dev/shm/runneld-apiload-%d-%d' % (os.getuid(), os.getpid())
    os.makedirs(sb.DISK, exist_ok=True)
    os.makedirs(sb.TMPFS, exist_ok=True)
    _, shimdir = sb.build_tools()
    runs = []
    for rnd in range(1, a.rounds + 1):
        for label, exe in bins:
            log('round %d: %s (%s)' % (rnd, label, exe))
            r = run_once(label, exe, shimdir, a.jobs, a.events, a.pollers, a.period, a.quiet)
            r['round'] = rnd
            runs.append(r)
    cmd = '/usr/bin/python3 bench/api_load.py ' + ' '.join(sys.argv[1:])
    print(report(runs, a, cmd.strip()))
    shutil.rmtree(sb.TMPFS, ignore_errors=True)
    shutil.rmtree(sb.DISK, ignore_errors=True)
    if any(r['bad'] or r['errors'] for r in runs):
        log('FAILED: events missing or API errors (see the table)')
        sys.exit(1)


if __name__ == '__main__':
    main()
