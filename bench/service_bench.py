#!/usr/bin/python3
"""runneld benchmarks (issue 5): receiver alone, end to end, freshness, memory, cancel.

    /usr/bin/python3 bench/service_bench.py            full run, writes bench/RESULTS-service.md
    /usr/bin/python3 bench/service_bench.py --quick    smoke run (small N), writes bench/RESULTS-service-quick.md
    /usr/bin/python3 bench/service_bench.py --only receiver,e2e,ansible,cancel

Everything runs on this machine: a redis-server started here on a free
loopback port (stopped by pid), runneld / runneld-ctl from build/service/, the
state dirs on disk (/var/tmp), private data dirs on tmpfs.

Two sources of events, named with every figure:
  - producer: bench/producer.c (the runner benchmark's synthetic producer,
    ~1 KB events of ansible's shape, at full speed) stands in for
    ansible-playbook: runneld's job runs a project playbook as usual, but a
    small `ansible-playbook` script first on runneld's PATH execs the producer
    (events-N.yml: N events) or `sleep` (sleep.yml). Everything else is the
    real path: API launch, dispatcher, runneld-worker, librunnel on a pty,
    bus, receiver, SQLite.
  - ansible: real ansible-playbook, a `debug` task over a loop of N items on
    localhost (ansible_connection=local): ansible itself is then the
    bottleneck on 2 cores; the figure says how far runneld keeps up with it.
"""
import atexit
import bisect
import datetime
import json
import os
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

import requests

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(ROOT, 'bench')
BUILD = os.path.join(ROOT, 'build', 'service')
RUNNELD = os.path.join(BUILD, 'runneld')
CTL = os.path.join(BUILD, 'runneld-ctl')

args = sys.argv[1:]
QUICK = '--quick' in args or 'QUICK=1' in args or os.environ.get('QUICK') == '1'
ONLY = None
for i, a in enumerate(args):
    if a == '--only' and i + 1 < len(args):
        ONLY = set(args[i + 1].split(','))

RX_EVENTS = int(os.environ.get('RX_EVENTS', 100000 if QUICK else 1000000))   # receiver alone
RX_JOBS = 20
E2E_JOBS = 50
E2E_PER_JOB = int(os.environ.get('E2E_PER_JOB', 1000 if QUICK else 10000))   # producer events per job
ANS_JOBS = 50
ANS_ITEMS = 20 if QUICK else 200            # loop items per real ansible job
CANCEL_REPS = 3 if QUICK else 9
DISK = '/var/tmp/runneld-bench-%d' % os.getuid()
TMPFS = '/dev/shm/runneld-bench-%d' % os.getuid()
OUT = os.path.join(BENCH, 'RESULTS-service-quick.md' if QUICK else 'RESULTS-service.md')
# STORE=pg: runneld's store is PostgreSQL (a throwaway cluster of its own, a
# database per run: runneld_harness.start_postgres); E2E_BUSES=redis: the
# end-to-end runs on those buses only
STORE = os.environ.get('STORE', 'sqlite')
E2E_BUSES = os.environ.get('E2E_BUSES', 'local,redis').split(',')
_pg = None


def store_argv(name):
    """runneld's --store arguments: none for SQLite, else a new database."""
    global _pg
    if STORE != 'pg':
        return []
    if _pg is None:
        sys.path.insert(0, os.path.join(ROOT, 'tests', 'integration'))
        from runneld_harness import start_postgres
        _pg = start_postgres(durable=True)
        atexit.register(_pg.stop)
    db = re.sub(r'[^a-z0-9]', '_', name.lower())
    _pg.create_db(db)
    return ['--store', _pg.url(db)]
PW = 'bench-admin-pw'

lines = []


def say(text=''):
    print(text, flush=True)
    lines.append(text)


def log(text):
    print('  .. ' + text, file=sys.stderr, flush=True)


def load():
    return ' '.join(open('/proc/loadavg').read().split()[:3])


def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def pct(xs, p):
    xs = sorted(xs)
    if not xs:
        return None
    k = min(len(xs) - 1, max(0, int(round(p / 100.0 * (len(xs) - 1)))))
    return xs[k]


def verdict(ok):
    return 'met' if ok else '**MISSED**'


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def wait_for(fn, timeout, step=0.05, what='condition'):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = fn()
        if v:
            return v
        time.sleep(step)
    raise RuntimeError('timed out waiting for ' + what)


# ----------------------------------------------------------------- processes

def proc_children(pid):
    out = []
    try:
        for tid in os.listdir('/proc/%d/task' % pid):
            with open('/proc/%d/task/%s/children' % (pid, tid)) as f:
                out += [int(x) for x in f.read().split()]
    except OSError:
        pass
    return out


def descendants(pid):
    seen, todo = [], [pid]
    while todo:
        p = todo.pop()
        for c in proc_children(p):
            if c not in seen:
                seen.append(c)
                todo.append(c)
    return seen


def alive(pid):
    try:
        with open('/proc/%d/stat' % pid) as f:
            return f.read().rsplit(')', 1)[1].split()[0] != 'Z'
    except OSError:
        return False


def comm(pid):
    try:
        with open('/proc/%d/comm' % pid) as f:
            return f.read().strip()
    except OSError:
        return ''


def mem_kib(pid):
    """(PSS, RSS) in KiB from smaps_rollup, or None."""
    try:
        pss = rss = 0
        with open('/proc/%d/smaps_rollup' % pid) as f:
            for line in f:
                if line.startswith('Pss:'):
                    pss = int(line.split()[1])
                elif line.startswith('Rss:'):
                    rss = int(line.split()[1])
        return pss, rss
    except OSError:
        return None


# ----------------------------------------------------------------- redis

class Redis:
    def __init__(self, tmp):
        self.port = free_port()
        self.proc = subprocess.Popen(['redis-server', '--port', str(self.port), '--bind', '127.0.0.1', '--save', '',
                                      '--appendonly', 'no', '--dir', tmp],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        self.url = 'redis://127.0.0.1:%d' % self.port
        wait_for(self._up, 10, what='redis-server')
        self.sock = socket.create_connection(('127.0.0.1', self.port))
        self.buf = b''

    def _up(self):
        try:
            with socket.create_connection(('127.0.0.1', self.port), timeout=0.5) as s:
                s.sendall(b'PING\r\n')
                return s.recv(16).startswith(b'+PONG')
        except OSError:
            return False

    def _line(self):
        while b'\r\n' not in self.buf:
            self.buf += self.sock.recv(65536)
        line, self.buf = self.buf.split(b'\r\n', 1)
        return line

    def reply(self):
        line = self._line()
        t, rest = line[:1], line[1:]
        if t in (b'+', b':'):
            return int(rest) if t == b':' else rest.decode()
        if t == b'-':
            raise RuntimeError(rest.decode())
        if t == b'$':
            n = int(rest)
            if n < 0:
                return None
            while len(self.buf) < n + 2:
                self.buf += self.sock.recv(65536)
            v, self.buf = self.buf[:n], self.buf[n + 2:]
            return v
        if t == b'*':
            n = int(rest)
            return None if n < 0 else [self.reply() for _ in range(n)]
        raise RuntimeError('redis: %r' % line)

    @staticmethod
    def encode(*parts):
        out = [b'*%d\r\n' % len(parts)]
        for p in parts:
            if isinstance(p, str):
                p = p.encode()
            out.append(b'$%d\r\n' % len(p))
            out.append(p)
            out.append(b'\r\n')
        return b''.join(out)

    def cmd(self, *parts):
        self.sock.sendall(self.encode(*parts))
        return self.reply()

    def stop(self):
        self.sock.close()
        os.kill(self.proc.pid, signal.SIGTERM)
        self.proc.wait()


# ----------------------------------------------------------------- runneld

class Runneld:
    """runneld (HTTP API) on a free port, state on disk, stopped by pid."""

    def __init__(self, state, iso, bus, path_prefix=None, capacity=E2E_JOBS, store=()):
        self.state, self.iso = state, iso
        os.makedirs(state, exist_ok=True)
        os.makedirs(iso, exist_ok=True)
        self.port = free_port()
        env = dict(os.environ, RUNNEL_ADMIN_PASSWORD=PW)
        show = []
        if path_prefix:
            env['PATH'] = path_prefix + ':' + env['PATH']
            # jobs run under bubblewrap: the shim's dir must be shown to them,
            # or ansible-playbook is found in /usr/bin (real ansible)
            show = ['--job-isolation-show-paths', json.dumps([path_prefix])]
        self.log_path = state + '.log'
        self.logf = open(self.log_path, 'ab')
        self.argv = [RUNNELD, '--state-dir', state, '--listen', '127.0.0.1:%d' % self.port, '--bus', bus,
                     '--capacity', str(capacity), '--isolation-base-path', iso] + show + list(store)
        self.proc = subprocess.Popen(self.argv, stdout=self.logf, stderr=self.logf, env=env, start_new_session=True)
        self.base = 'http://127.0.0.1:%d/api/v2' % self.port
        self.s = requests.Session()
        wait_for(self._up, 30, 0.1, 'runneld')
        self.s.auth = ('admin', PW)
        tok = self.post('/tokens/', {'description': 'bench', 'application': None, 'scope': 'write'})
        self.s.auth = None
        self.s.headers['Authorization'] = 'Bearer ' + tok['token']

    def _up(self):
        if self.proc.poll() is not None:
            raise RuntimeError('runneld exited: ' + open(self.log_path).read()[-2000:])
        try:
            return self.s.get(self.base + '/ping/', timeout=2).ok
        except requests.ConnectionError:
            return False

    def get(self, path):
        r = self.s.get(self.base + path, timeout=60)
        r.raise_for_status()
        return r.json()

    def post(self, path, data=None, ok=(200, 201, 202, 204)):
        r = self.s.post(self.base + path, json=data or {}, timeout=60)
        if r.status_code not in ok:
            raise RuntimeError('%s: %d %s' % (path, r.status_code, r.text[:500]))
        return r.json() if r.text else None

    def stop(self):
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.logf.close()


def make_world(d, project_dir, hosts, playbooks):
    """Inventory (hosts), a manual project at project_dir, one template per playbook."""
    org = d.post('/organizations/', {'name': 'bench'})
    inv = d.post('/inventories/', {'name': 'bench', 'organization': org['id']})
    for h in hosts:
        d.post('/inventories/%d/hosts/' % inv['id'], {'name': h, 'variables': json.dumps(
            {'ansible_connection': 'local', 'ansible_python_interpreter': '/usr/bin/python3'})})
    prj = d.post('/projects/', {'name': 'bench', 'organization': org['id'], 'local_path': project_dir})
    jts = {}
    for pb in playbooks:
        jts[pb] = d.post('/job_templates/', {'name': pb, 'project': prj['id'], 'inventory': inv['id'],
                                             'playbook': pb})['id']
    return jts


ACTIVE = ('new', 'pending', 'waiting', 'running')


# ----------------------------------------------------------------- the producer shim

def build_tools():
    subprocess.run(['ninja', '-C', os.path.join(ROOT, 'build')], check=True, stdout=subprocess.DEVNULL)
    # the producer beside the shim: jobs (under bubblewrap) are shown that dir only
    bindir = os.path.join(TMPFS, 'shim')
    os.makedirs(bindir, exist_ok=True)
    jansson = subprocess.run(['pkg-config', '--cflags', '--libs', 'jansson'], capture_output=True,
                             text=True).stdout.split()
    producer = os.path.join(bindir, 'producer')
    subprocess.run(['cc', '-O2', '-o', producer, os.path.join(BENCH, 'producer.c')] + jansson, check=True)
    shimdir = os.path.join(TMPFS, 'shim')
    os.makedirs(shimdir, exist_ok=True)
    shim = os.path.join(shimdir, 'ansible-playbook')
    with open(shim, 'w') as f:
        f.write('''#!/bin/sh
# runneld bench: stands in for ansible-playbook (see bench/service_bench.py)
pb=
for a; do case "$a" in *.yml) pb="$a";; esac; done
case "$pb" in
  *sleep.yml) exec sleep 3600.%d ;;
  *events-*.yml) n=${pb##*events-}; n=${n%%.yml}; exec %s -n "$n" --inband ;;
esac
echo "bench shim: unknown playbook $pb" >&2
exit 2
''' % (os.getpid() % 1000, producer))
    os.chmod(shim, 0o755)
    return producer, shimdir


# ----------------------------------------------------------------- 1. receiver alone

def event_texts(job_id, job_created, n, counter0=1):
    """n realistic events of one job, as runnel's worker pushes them (the
    producer's shapes: playbook_on_start, play, task_start + runner_on_ok x4,
    ..., playbook_on_stats), with job_id, job_created, host_name added."""
    rnd = random.Random(job_id)

    def uid():
        h = '%032x' % rnd.getrandbits(128)
        return '%s-%s-4%s-a%s-%s' % (h[:8], h[8:12], h[13:16], h[17:20], h[20:32])
    pb, play = uid(), uid()
    base = datetime.datetime(2026, 1, 1, 12, 0, 0)
    out = []
    line = 0
    task_no, host_no, task = 0, 0, pb
    for i in range(n):
        c = counter0 + i
        created = (base + datetime.timedelta(microseconds=37 * c)).strftime('%Y-%m-%dT%H:%M:%S.%f')
        u = uid()
        host = None
        if i == 0:
            ev, parent, u = 'playbook_on_start', None, pb
            ed = ('{"playbook": "site.yml", "playbook_uuid": "%s", "uuid": "%s", "extra_vars": {}, '
                  '"check_mode": false}' % (pb, pb))
            stdout, nl = 'ansible-playbook [core 2.14.18]', 1
        elif i == 1:
            ev, parent, u = 'playbook_on_play_start', pb, play
            ed = ('{"playbook": "site.yml", "playbook_uuid": "%s", "play": "Configure the fleet", "play_uuid": "%s", '
                  '"play_pattern": "all", "name": "Configure the fleet", "pattern": "all", "uuid": "%s"}'
                  % (pb, play, play))
            stdout, nl = '\\r\\nPLAY [Configure the fleet] ******************************************', 2
        elif i == n - 1:
            ev, parent = 'playbook_on_stats', pb
            ed = ('{"playbook": "site.yml", "playbook_uuid": "%s", "changed": {"host0001": %d}, "dark": {}, '
                  '"failures": {}, "ignored": {}, "ok": {"host0001": %d, "host0002": %d}, "processed": '
                  '{"host0001": 1, "host0002": 1}, "rescued": {}, "skipped": {}, "artifact_data": {}, "uuid": "%s"}'
                  % (pb, task_no // 3, task_no, task_no, u))
            stdout, nl = '\\r\\nPLAY RECAP *********\\r\\nhost0001 : ok=%d changed=%d' % (task_no, task_no // 3), 3
        elif host_no == 0:
            task_no += 1
            task = u
            ev, parent = 'playbook_on_task_start', play
            ed = ('{"playbook": "site.yml", "playbook_uuid": "%s", "play": "Configure the fleet", "play_uuid": "%s", '
                  '"play_pattern": "all", "task": "Check service %d", "task_uuid": "%s", "task_action": '
                  '"ansible.builtin.command", "resolved_action": "ansible.builtin.command", "task_args": "", '
                  '"task_path": "/srv/project/site.yml:%d", "role": "", "name": "Check service %d", '
                  '"is_conditional": false, "uuid": "%s"}' % (pb, play, task_no, task, 10 + 4 * task_no, task_no, u))
            stdout, nl = '\\r\\nTASK [Check service %d] ***********************************' % task_no, 2
            host_no = 1
        else:
            h = host_no
            ch = 'true' if task_no % 3 == 0 else 'false'
            host = 'host%04d' % h
            ev, parent = 'runner_on_ok', task
            ed = ('{"playbook": "site.yml", "playbook_uuid": "%s", "play": "Configure the fleet", "play_uuid": "%s", '
                  '"play_pattern": "all", "task": "Check service %d", "task_uuid": "%s", "task_action": '
                  '"ansible.builtin.command", "resolved_action": "ansible.builtin.command", "task_args": "", '
                  '"task_path": "/srv/project/site.yml:%d", "role": "", "host": "%s", "remote_addr": "%s", '
                  '"res": {"changed": %s, "stdout": "service-%d is running", "stderr": "", "rc": 0, "cmd": '
                  '["systemctl", "is-active", "service-%d"], "start": "%s", "end": "%s", "delta": "0:00:00.004521", '
                  '"msg": "", "invocation": {"module_args": {"_raw_params": "systemctl is-active service-%d", '
                  '"_uses_shell": false, "stdin_add_newline": true, "strip_empty_ends": true}}, "stdout_lines": '
                  '["service-%d is running"], "stderr_lines": [], "_ansible_no_log": false}, "start": "%s", '
                  '"end": "%s", "duration": 0.231, "event_loop": null, "uuid": "%s"}'
                  % (pb, play, task_no, task, 10 + 4 * task_no, host, host, ch, task_no, task_no, created, created,
                     task_no, task_no, created, created, u))
            stdout = '%s: [%s] => {\\r\\n    \\"msg\\": \\"service-%d is running\\"\\r\\n}' % (
                'changed' if ch == 'true' else 'ok', host, task_no)
            nl = 3
            host_no = 1 if h == 4 else h + 1
            if h == 4:
                host_no = 0
        text = ('{"event": "%s", "pid": 4242, "uuid": "%s", "created": "%s", %s"event_data": %s, "counter": %d, '
                '"stdout": "%s", "start_line": %d, "end_line": %d, "runner_ident": "%d", "job_id": %d, '
                '"job_created": "%s"%s}' % (
                    ev, u, created, '"parent_uuid": "%s", ' % parent if parent else '', ed, c, stdout, line,
                    line + nl, job_id, job_id, job_created, ', "host_name": "%s"' % host if host else ''))
        line += nl
        out.append(text)
    return out


def ctl_session(state, redis_url, cmds):
    """Run runneld-ctl with commands; return the answers."""
    p = subprocess.run([CTL, '--state-dir', state, '--bus', 'redis', '--redis-url', redis_url],
                       input='\n'.join(json.dumps(c) for c in cmds) + '\n', capture_output=True, text=True,
                       timeout=120)
    ans = [json.loads(l) for l in p.stdout.splitlines() if l.startswith('{')]
    return ans[1:]


def bench_receiver(results, where):
    """where: 'disk' (the state dir on /var/tmp, ext4) or 'tmpfs' (/dev/shm:
    the same work without the block device)."""
    say('## 1%s. Receiver alone: a Redis backlog drained into SQLite, state dir on %s' % (
        'a' if where == 'disk' else 'b', 'disk (ext4)' if where == 'disk' else 'tmpfs'))
    say()
    tmp = tempfile.mkdtemp(prefix='rx-', dir=DISK if where == 'disk' else TMPFS)
    state = os.path.join(tmp, 'state')
    rd = Redis(tmp)
    try:
        # the jobs (rows only: created, then canceled so no worker runs them)
        ans = ctl_session(state, rd.url, [{'cmd': 'create', 'kind': 'jobs', 'fields': {'name': 'rx %d' % i}}
                                          for i in range(RX_JOBS)])
        jobs = [(a['result']['id'], a['result']['created']) for a in ans]
        ctl_session(state, rd.url, [{'cmd': 'cancel', 'id': j} for j, _ in jobs])
        per = RX_EVENTS // RX_JOBS
        log('preloading %d events into callback_tasks' % RX_EVENTS)
        t0 = time.monotonic()
        nbytes = 0
        gens = [(j, c, event_texts(j, c.rstrip('Z'), per)) for j, c in jobs]
        # interleave the jobs as a busy control node would
        chunk = []
        pending = 0
        for k in range(per):
            for j, c, evs in gens:
                chunk.append(evs[k])
            if len(chunk) >= 1000 or k == per - 1:
                nbytes += sum(len(x) for x in chunk)
                rd.sock.sendall(Redis.encode('RPUSH', 'callback_tasks', *chunk))
                pending += 1
                chunk = []
                if pending >= 16:
                    for _ in range(pending):
                        rd.reply()
                    pending = 0
        for _ in range(pending):
            rd.reply()
        for j, c in jobs:
            rd.cmd('RPUSH', 'callback_tasks', json.dumps({'event': 'EOF', 'final_counter': per, 'job_id': j}))
        n_list = rd.cmd('LLEN', 'callback_tasks')
        log('preloaded %d messages (%.0f MB) in %.1fs' % (n_list, nbytes / 1e6, time.monotonic() - t0))
        del gens
        sample = event_texts(1, '2026-01-01T00:00:00.000000', 7)[4]
        # drain: start the engine (runneld-ctl: the engine with its receiver, no HTTP)
        ldavg = load()
        t_start = time.monotonic()
        # BENCH_WRAP="perf record -g -o /tmp/rx.data" profiles the drain
        wrap = os.environ.get('BENCH_WRAP', '').split()
        extra = os.environ.get('BENCH_CTL_ARGS', '').split()   # e.g. --batch 2000
        p = subprocess.Popen(wrap + [CTL, '--state-dir', state, '--bus', 'redis', '--redis-url', rd.url] + extra,
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert json.loads(p.stdout.readline())['ok']
        t_ready = time.monotonic()
        ids = ','.join(str(j) for j, _ in jobs)
        samples = []

        def stored():
            p.stdin.write(json.dumps({'cmd': 'list', 'kind': 'jobs', 'filters': {'id__in': ids},
                                      'page_size': 200}) + '\n')
            p.stdin.flush()
            r = json.loads(p.stdout.readline())['result']['results']
            return sum(x['stored_events'] for x in r), all(x['event_processing_finished'] for x in r)
        peak = None
        while True:
            n, fin = stored()
            now = time.monotonic()
            samples.append((now, n))
            m = mem_kib(p.pid)
            if m and (peak is None or m[1] > peak[1]):
                peak = m
            if fin and n >= per * RX_JOBS:
                break
            if now - t_start > 1800:
                raise RuntimeError('receiver: not drained after 30 min (%d stored)' % n)
            time.sleep(0.1)
        t_end = samples[-1][0]
        if os.environ.get('BENCH_DEBUG'):
            log(' '.join('%.2f:%d' % (t - t_start, n) for t, n in samples))
        left = rd.cmd('LLEN', 'callback_tasks')
        p.stdin.write(json.dumps({'cmd': 'shutdown', 'grace': 5}) + '\n')
        p.stdin.flush()
        p.communicate(timeout=60)
        total = samples[-1][1]
        first = next(t for t, n in samples if n > 0)
        rate_all = total / (t_end - t_start)
        rate_ready = total / (t_end - t_ready)
        # the middle 80%
        t10 = next(t for t, n in samples if n >= total * 0.1)
        n10 = next(n for t, n in samples if n >= total * 0.1)
        t90 = next(t for t, n in samples if n >= total * 0.9)
        n90 = next(n for t, n in samples if n >= total * 0.9)
        rate_mid = (n90 - n10) / (t90 - t10) if t90 > t10 else None
        dbsize = sum(os.path.getsize(os.path.join(state, f)) for f in os.listdir(state) if f.startswith('runneld.db'))
        say('| events | jobs | stored | left in Redis | drain time | **events/s** (from runneld-ctl start) | '
            'events/s (from ready) | events/s (middle 80%) | peak RSS / PSS of the engine | DB size |')
        say('|---|---|---|---|---|---|---|---|---|---|')
        say('| %d (%.0f MB) | %d | %d | %d | %.2f s | **%.0f** | %.0f | %s | %.0f / %.0f MiB | %.0f MB |' % (
            RX_EVENTS, nbytes / 1e6, RX_JOBS, total, left, t_end - t_start, rate_all, rate_ready,
            '%.0f' % rate_mid if rate_mid else '-', peak[1] / 1024, peak[0] / 1024, dbsize / 1e6))
        say()
        say('Target ≥ 100,000 events/s: %s (%.0f/s). AWX\'s published figure: ~1,300 events/s with 4 '
            'callback receiver workers. First rows stored %.2f s after start; load average before: %s.' % (
                verdict(rate_all >= 100000), rate_all, first - t_start, ldavg))
        say()
        say('Method: %d job rows created with `runneld-ctl` (then canceled, so that no worker runs them); %d '
            'events (%d per job, jobs interleaved) pushed with RPUSH into `callback_tasks` on a redis-server '
            'started here (%s, no persistence), then one EOF per job; then `runneld-ctl --bus redis` (the engine: '
            'its callback receiver threads, BLPOP/LPOP 1000 → one transaction per batch of ≤ 1000 events into SQLite, '
            'state dir on %s, WAL, synchronous=NORMAL) is started and the stored count (`events_stored` of the jobs) '
            'polled every 0.1 s until every job reports event_processing_finished; then exactly %d rows must be '
            'stored. A typical runner_on_ok message (%d bytes):' % (
                RX_JOBS, RX_EVENTS, per, rd.url, where, RX_EVENTS, len(sample)))
        say()
        say('```json')
        say(sample)
        say('```')
        say()
        results['receiver_eps_' + where] = rate_all
        results['receiver_exact_' + where] = total == RX_EVENTS and left == 0
        if total != RX_EVENTS:
            say('**Stored %d rows, expected %d.**' % (total, RX_EVENTS))
            say()
    finally:
        rd.stop()
        shutil.rmtree(tmp, ignore_errors=True)


# ----------------------------------------------------------------- 2-4. end to end

class Sampler(threading.Thread):
    """Every 0.25 s: memory of runneld + runneld-worker processes, running jobs."""

    def __init__(self, d):
        super().__init__(daemon=True)
        self.d, self.stop_flag, self.rows = d, False, []

    def run(self):
        while not self.stop_flag:
            pids = [self.d.proc.pid] + [p for p in descendants(self.d.proc.pid) if comm(p) == 'runneld-worker']
            workers = len(pids) - 1
            pss = rss = 0
            for p in pids:
                m = mem_kib(p)
                if m:
                    pss += m[0]
                    rss += m[1]
            self.rows.append((time.monotonic(), workers, pss, rss))
            time.sleep(0.25)


class Freshness(threading.Thread):
    """Polls the newest visible event of a few jobs, in turn
    (`job_events/?order_by=-counter&page_size=1`); afterwards (latencies())
    each of their events counts with (the first poll that saw its counter or a
    later one − its `created`, stamped by the producer / ansible when it made
    the event). A job's events are stored in counter order, so a visible
    counter means every event before it is visible too."""

    def __init__(self, d, job_ids):
        super().__init__(daemon=True)
        self.d, self.jobs, self.stop_flag = d, job_ids, False
        self.lat, self.gaps = [], []
        self.polls = {j: [] for j in job_ids}   # (time, newest visible counter)
        self.s = requests.Session()
        self.s.headers.update(d.s.headers)

    def add(self, job_id):
        self.polls[job_id] = []
        self.jobs = self.jobs + [job_id]

    def run(self):
        seen_at = {}
        while not self.stop_flag:
            for j in self.jobs:
                if self.stop_flag:
                    break
                try:
                    r = self.s.get(self.d.base + '/jobs/%d/job_events/?order_by=-counter&page_size=1' % j,
                                   timeout=30).json()
                except (requests.RequestException, ValueError):
                    continue
                now = time.time()
                if seen_at.get(j) is not None:
                    self.gaps.append(now - seen_at[j])
                seen_at[j] = now
                if r['results']:
                    self.polls[j].append((now, r['results'][0]['counter']))
            time.sleep(0.01)

    def latencies(self):
        """Read every event of the polled jobs; fill self.lat."""
        for j in self.jobs:
            times = [t for t, _ in self.polls[j]]
            counters = [c for _, c in self.polls[j]]
            url = '/jobs/%d/job_events/?order_by=counter&page_size=200' % j
            while url:
                r = self.s.get(self.d.base + url[len('/api/v2'):] if url.startswith('/api/v2') else
                               self.d.base + url, timeout=60).json()
                for e in r['results']:
                    k = bisect.bisect_left(counters, e['counter'])
                    if k == len(counters):
                        continue    # first seen after the polls ended
                    try:
                        t = datetime.datetime.strptime(e['created'].rstrip('Z'), '%Y-%m-%dT%H:%M:%S.%f').replace(
                            tzinfo=datetime.timezone.utc).timestamp()
                    except ValueError:
                        continue
                    self.lat.append(times[k] - t)
                    if os.environ.get('BENCH_DEBUG') and e['counter'] % 500 == 1:
                        log('job %d counter %d: created %.3f, seen %.3f, visible counter then %d' % (
                            j, e['counter'], t % 100, times[k] % 100, counters[k]))
                url = r.get('next')


def run_e2e(label, bus_kind, shimdir, playbook, per_job, njobs, source, mark=None):
    """Launch njobs jobs at once; measure rate, freshness, memory.
    mark, if given, is called with 'start' just before the first launch and
    with 'end' once every job is done, while runneld and Redis still run
    (bench/pg_e2e_floor.py counts their CPU between the two)."""
    tmp = tempfile.mkdtemp(prefix='e2e-', dir=DISK)
    iso = tempfile.mkdtemp(prefix='e2e-', dir=TMPFS)
    rd = Redis(tmp) if bus_kind == 'redis' else None
    d = None
    try:
        state = os.path.join(tmp, 'state')
        projdir = os.path.join(state, 'projects', 'bench')
        os.makedirs(projdir)
        with open(os.path.join(projdir, playbook), 'w') as f:
            f.write('- hosts: all\n  gather_facts: false\n  tasks:\n    - debug:\n        msg: "item {{ item }}"\n'
                    '      loop: "{{ range(%d) | list }}"\n' % per_job)
        d = Runneld(state, iso, rd.url if rd else 'local', path_prefix=shimdir, capacity=njobs,
                    store=store_argv('e2e_%s_%d' % (label, os.getpid())))
        hosts = ['host%04d' % i for i in range(1, 5)] if source == 'producer' else ['localhost']
        jts = make_world(d, 'bench', hosts, [playbook])
        ldavg = load()
        mem = Sampler(d)
        mem.start()
        if mark:
            mark('start')
        t0 = time.monotonic()
        # the freshness poller follows every 10th job from its launch on
        fresh = Freshness(d, [])
        fresh.start()
        ids = []
        for i in range(njobs):
            ids.append(d.post('/job_templates/%d/launch/' % jts[playbook])['id'])
            if i % 10 == 0:
                fresh.add(ids[-1])
        t_launched = time.monotonic()
        counts = []
        idq = ','.join(map(str, ids))
        while True:
            r = d.get('/jobs/?id__in=%s&page_size=200' % idq)['results']
            now = time.monotonic()
            n = sum(x['stored_events'] for x in r)
            counts.append((now, n))
            if all(x['status'] not in ACTIVE and x['event_processing_finished'] for x in r):
                break
            if now - t0 > 3600:
                raise RuntimeError('e2e: jobs not done after 1 h')
            time.sleep(0.5)
        t_end = time.monotonic()
        if mark:
            mark('end')
        fresh.stop_flag = True
        mem.stop_flag = True
        fresh.join(60)
        mem.join(10)
        fresh.latencies()
        statuses = sorted(set(x['status'] for x in r))
        emitted = sum(x.get('emitted_events') or 0 for x in r)
        total = counts[-1][1]
        # exactly once: every job's counters 1..N, no gaps, no duplicates
        exact = all(x['stored_events'] == x.get('emitted_events') for x in r)
        first_t = next((t for t, n in counts if n > 0), t0)
        rate_wall = total / (t_end - t0)
        t10 = next(t for t, n in counts if n >= total * 0.1)
        n10 = next(n for t, n in counts if n >= total * 0.1)
        t90 = next(t for t, n in counts if n >= total * 0.9)
        n90 = next(n for t, n in counts if n >= total * 0.9)
        rate_mid = (n90 - n10) / (t90 - t10) if t90 > t10 else float('nan')
        # memory while (nearly) all jobs ran
        busy = [row for row in mem.rows if row[1] >= max(1, int(njobs * 0.9))]
        if not busy:
            mx = max(r_[1] for r_ in mem.rows) if mem.rows else 0
            busy = [row for row in mem.rows if row[1] == mx and mx > 0]
        per_pss = med([row[2] / row[1] for row in busy]) if busy else None
        per_rss = med([row[3] / row[1] for row in busy]) if busy else None
        max_pss = max((row[2] / row[1] for row in busy), default=None)
        d_rss = mem_kib(d.proc.pid)
        res = {
            'label': label, 'bus': bus_kind, 'source': source, 'jobs': njobs, 'per_job': per_job, 'total': total,
            'emitted': emitted, 'exact': exact, 'statuses': statuses, 'wall': t_end - t0,
            'launch': t_launched - t0, 'first': first_t - t0, 'rate_wall': rate_wall, 'rate_mid': rate_mid,
            'lat_n': len(fresh.lat), 'p50': pct(fresh.lat, 50), 'p99': pct(fresh.lat, 99),
            'pmax': max(fresh.lat) if fresh.lat else None, 'gap': med(fresh.gaps),
            'mem_pss': per_pss, 'mem_rss': per_rss, 'mem_pss_max': max_pss, 'mem_samples': len(busy),
            'runneld_rss': d_rss[1] if d_rss else None, 'load': ldavg, 'load_after': load(),
        }
        log('%s: %s' % (label, json.dumps({k: v for k, v in res.items()})))
        if os.environ.get('BENCH_DEBUG'):
            log('launches took %.2f s' % (t_launched - t0))
        return res
    finally:
        if d:
            d.stop()
            if os.environ.get('BENCH_DEBUG'):  # its request lines give each launch's time
                shutil.copy(d.log_path, '/tmp/e2e-%s-runneld.log' % label)
        if rd:
            rd.stop()
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(iso, ignore_errors=True)


def e2e_table(rows, results):
    say('| source | bus | jobs × events | stored / emitted | statuses | wall s | **events/s** (launch → all '
        'stored) | events/s (middle 80%) | freshness p50 / **p99** / max s (samples) | mem per running job: '
        'PSS median (max) / RSS | load before → after |')
    say('|---|---|---|---|---|---|---|---|---|---|---|')
    for r in rows:
        say('| %s | %s | %d × %d | %d / %d%s | %s | %.1f | **%.0f** | %.0f | %s / **%s** / %s (%d, poll gap %s s) | '
            '%s (%s) / %s MiB | %s → %s |' % (
                r['source'], r['bus'], r['jobs'], r['per_job'], r['total'], r['emitted'],
                '' if r['exact'] else ' **(mismatch)**', '/'.join(r['statuses']), r['wall'], r['rate_wall'],
                r['rate_mid'], '%.3f' % r['p50'] if r['p50'] is not None else '-',
                '%.3f' % r['p99'] if r['p99'] is not None else '-', '%.3f' % r['pmax'] if r['pmax'] else '-',
                r['lat_n'], '%.3f' % r['gap'] if r['gap'] else '-',
                '%.2f' % (r['mem_pss'] / 1024) if r['mem_pss'] else '-',
                '%.2f' % (r['mem_pss_max'] / 1024) if r['mem_pss_max'] else '-',
                '%.2f' % (r['mem_rss'] / 1024) if r['mem_rss'] else '-', r['load'], r['load_after']))
        results['e2e_%s_%s' % (r['source'], r['bus'])] = r
    say()


def bench_e2e(results, shimdir):
    say('## 2-4. End to end: %d concurrent jobs → runner → bus → receiver → %s (+ freshness, memory)' % (
        E2E_JOBS, 'PostgreSQL' if STORE == 'pg' else 'SQLite'))
    say()
    rows = []
    for bus in E2E_BUSES:
        if bus == 'redis' and not shutil.which('redis-server'):
            say('(redis-server missing: the Redis bus is not measured)')
            continue
        log('e2e producer, %s bus' % bus)
        rows.append(run_e2e('producer-' + bus, bus, shimdir, 'events-%d.yml' % E2E_PER_JOB, E2E_PER_JOB, E2E_JOBS,
                            'producer'))
    e2e_table(rows, results)
    for r in rows:
        say('- producer, %s bus: end to end target ≥ 25,000 events/s: %s (%.0f/s launch → all stored; %.0f/s over '
            'the middle 80%%); freshness p99 ≤ 1.5 s: %s (%.3f s); memory ≤ 4 MiB per running job: %s (PSS %.2f '
            'MiB median).' % (r['bus'], verdict(r['rate_wall'] >= 25000), r['rate_wall'], r['rate_mid'],
                              verdict(r['p99'] is not None and r['p99'] <= 1.5), r['p99'] or -1,
                              verdict(r['mem_pss'] is not None and r['mem_pss'] <= 4096),
                              (r['mem_pss'] or 0) / 1024))
    say()
    say('Method: runneld (the daemon, HTTP API, `--capacity %d`, state dir on disk, private data dirs on tmpfs) '
        'with the producer shim first on its PATH; one inventory (host0001..host0004, the hosts the producer\'s '
        'events name, so host_id is looked up), a manual project, one template; %d launches through '
        '`POST /api/v2/job_templates/N/launch/` back to back, then `GET /api/v2/jobs/?id__in=...` every 0.5 s '
        'until every job is finished with event_processing_finished. events/s = stored events / (first launch → '
        'all stored), so it includes the launches, dispatch, worker start-up and the tail; the middle-80%% rate '
        'is between 10%% and 90%% of the events stored. Each job\'s stored_events must equal its emitted_events '
        '(exactly once per job and counter; the store\'s unique (job, counter) makes a retry a no-op).' % (
            E2E_JOBS, E2E_JOBS))
    say()
    say('Freshness: a thread polls `GET /api/v2/jobs/N/job_events/?order_by=-counter&page_size=1` (the newest '
        'visible event) for every 10th job in turn (5 jobs) while the load runs, every 10 ms; afterwards every '
        'event of those jobs is read and counts with (the first poll that saw its counter or a later one − its '
        '`created`), `created` being stamped by the producer when it made the event (the producer\'s stdout is '
        'fully buffered, 64 KiB, so this includes that buffering too). A job\'s events are stored in counter '
        'order, so a visible counter means the events before it are visible. The poll gap per job (column) is '
        'how much later than visible an event may be seen: the figures are upper bounds.')
    say()
    say('Memory: every 0.25 s, the PSS and RSS (/proc/PID/smaps_rollup) of runneld plus every runneld-worker '
        'process (the producer / ansible and their children are excluded), divided by the number of '
        'runneld-worker processes; the median over the samples where ≥ 90%% of the jobs were running. PSS counts '
        'shared pages (libraries, the worker binary) once across the processes; RSS counts them in every process.')
    say()


def bench_ansible(results, shimdir):
    say('## 2b. End to end with real ansible (%d jobs, `debug` over %d loop items, ansible_connection=local)' % (
        ANS_JOBS, ANS_ITEMS))
    say()
    rows = []
    for bus in ('local', 'redis'):
        if bus == 'redis' and not shutil.which('redis-server'):
            continue
        log('e2e ansible, %s bus' % bus)
        rows.append(run_e2e('ansible-' + bus, bus, None, 'loop.yml', ANS_ITEMS, ANS_JOBS, 'ansible'))
    e2e_table(rows, results)
    say('Each job emits ~%d events (playbook_on_start, play, task start, %d runner_item_on_ok, one runner_on_ok '
        'holding every item\'s result, stats). Here ansible-playbook itself (≈ 1.5 s of CPU to start, then '
        'milliseconds per item) is the bottleneck: 50 of them on 2 cores. The figure says how the service keeps '
        'up with real ansible; it is not the service\'s ceiling (section 2 is). Freshness here is measured from '
        'the event\'s `created`, stamped by ansible\'s callback plugin.' % (ANS_ITEMS + 5, ANS_ITEMS))
    say()


# ----------------------------------------------------------------- 5. cancel

def cancel_once(d, jt, marker):
    job = d.post('/job_templates/%d/launch/' % jt)
    jid = job['id']
    # running, and the job's leaf process (sleep) exists
    def running():
        j = d.get('/jobs/%d/' % jid)
        if j['status'] != 'running' or not j.get('worker_pid'):
            return None
        pids = descendants(j['worker_pid'])
        for p in pids:
            try:
                with open('/proc/%d/cmdline' % p, 'rb') as f:
                    if marker.encode() in f.read():
                        return j['worker_pid'], pids
            except OSError:
                pass
        return None
    wpid, pids = wait_for(running, 120, 0.05, 'job %d running' % jid)
    time.sleep(0.3)
    pids = [wpid] + descendants(wpid)
    t0 = time.monotonic()
    d.post('/jobs/%d/cancel/' % jid, ok=(202,))
    t_status = None
    while True:
        now = time.monotonic()
        if t_status is None and d.get('/jobs/%d/' % jid)['status'] == 'canceled':
            t_status = now
        gone = not any(alive(p) for p in pids)
        if t_status is not None and gone:
            return now - t0, t_status - t0, d.get('/jobs/%d/' % jid)['status']
        if now - t0 > 30:
            return None, None, 'timeout'
        time.sleep(0.002)


def bench_cancel(results, shimdir):
    say('## 5. Cancel: POST /api/v2/jobs/N/cancel/ → job `canceled` and its processes gone')
    say()
    say('| job | runs | **median s** | runs (s) | median to `canceled` status | statuses |')
    say('|---|---|---|---|---|---|')
    for label, shim, pb in (('producer shim: `sleep` as ansible-playbook', shimdir, 'sleep.yml'),
                            ('real ansible: `command: sleep`', None, 'sleep-real.yml')):
        tmp = tempfile.mkdtemp(prefix='cancel-', dir=DISK)
        iso = tempfile.mkdtemp(prefix='cancel-', dir=TMPFS)
        d = None
        try:
            state = os.path.join(tmp, 'state')
            projdir = os.path.join(state, 'projects', 'bench')
            os.makedirs(projdir)
            marker = '3600.%d' % (os.getpid() % 1000) if shim else '3599.%d' % (os.getpid() % 1000)
            with open(os.path.join(projdir, pb), 'w') as f:
                f.write('- hosts: all\n  gather_facts: false\n  tasks:\n    - command: sleep %s\n' % marker)
            d = Runneld(state, iso, 'local', path_prefix=shim, capacity=4)
            jts = make_world(d, 'bench', ['localhost'], [pb])
            runs = [cancel_once(d, jts[pb], marker) for _ in range(CANCEL_REPS)]
            m = med(r[0] for r in runs)
            say('| %s | %d | **%s** | %s | %s | %s |' % (
                label, len(runs), '%.3f' % m if m is not None else '-',
                ', '.join('%.3f' % r[0] if r[0] is not None else 'timeout' for r in runs),
                '%.3f' % med(r[1] for r in runs) if med(r[1] for r in runs) is not None else '-',
                '/'.join(sorted(set(r[2] for r in runs)))))
            results['cancel_' + ('shim' if shim else 'ansible')] = m
        finally:
            if d:
                d.stop()
            shutil.rmtree(tmp, ignore_errors=True)
            shutil.rmtree(iso, ignore_errors=True)
    say()
    ms = results.get('cancel_shim')
    ma = results.get('cancel_ansible')
    say('Target median ≤ 100 ms: producer shim %s (%s s), real ansible %s (%s s).' % (
        verdict(ms is not None and ms <= 0.1), '%.3f' % ms if ms is not None else '-',
        verdict(ma is not None and ma <= 0.1), '%.3f' % ma if ma is not None else '-'))
    say()
    say('Method: launch, wait until the job is `running` and its `sleep` process exists, 0.3 s more, note the '
        'runneld-worker and all its descendants, POST cancel; the time runs until the API shows `canceled` and '
        'none of those processes is alive (zombies count as gone), polled every 2 ms. runneld\'s '
        'cancel_grace_period is 0.5 s (SIGTERM to ansible\'s process group, SIGKILL after that).')
    say()


# ----------------------------------------------------------------- main

def machine_note():
    cpu = ''
    for line in open('/proc/cpuinfo'):
        if line.startswith('model name'):
            cpu = line.split(':', 1)[1].strip()
            break
    mem = os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2 ** 30
    disk = subprocess.run(['df', '-T', '/var/tmp'], capture_output=True, text=True).stdout.splitlines()[-1].split()
    return '%d CPUs (%s), %.0f GiB RAM; shared with other sessions (load average %s at start); /var/tmp = %s %s' % (
        os.cpu_count(), cpu, mem, load(), disk[0], disk[1])


def main():
    t_start = time.time()
    os.makedirs(DISK, exist_ok=True)
    os.makedirs(TMPFS, exist_ok=True)
    producer, shimdir = build_tools()
    commit = subprocess.run(['git', '-C', ROOT, 'rev-parse', '--short', 'HEAD'], capture_output=True,
                            text=True).stdout.strip()
    dirty = subprocess.run(['git', '-C', ROOT, 'status', '--porcelain', '--', 'service'], capture_output=True,
                           text=True).stdout.strip()
    redis_v = subprocess.run(['redis-server', '--version'], capture_output=True, text=True).stdout.split()[2]
    say('# runneld benchmarks (issue 5)%s' % (' — QUICK smoke run, not the figures of record' if QUICK else ''))
    say()
    say('- Command: `/usr/bin/python3 bench/service_bench.py%s`' % (' ' + ' '.join(args) if args else ''))
    say('- Date: %s' % datetime.datetime.now().astimezone().strftime('%Y-%m-%d %H:%M %Z'))
    say('- Machine: %s' % machine_note())
    say('- Versions: runneld at commit %s%s; redis-server %s; SQLite %s' % (
        commit, ' + uncommitted changes in service/' if dirty else '', redis_v,
        subprocess.run(['/usr/bin/python3', '-c', 'import sqlite3; print(sqlite3.sqlite_version)'],
                       capture_output=True, text=True).stdout.strip()))
    say('- Every figure comes from one run under whatever else the shared machine was doing (load averages are '
        'given per section); misses are reported as measured.')
    say()
    results = {}
    sections = (('receiver', lambda: (bench_receiver(results, 'disk'), bench_receiver(results, 'tmpfs'))), ('e2e', lambda: bench_e2e(results, shimdir)),
                ('ansible', lambda: bench_ansible(results, shimdir)), ('cancel', lambda: bench_cancel(results, shimdir)))
    for name, fn in sections:
        if ONLY is None or name in ONLY:
            log('--- ' + name)
            fn()
    say('## Summary')
    say()
    say('| target | figure | |')
    say('|---|---|---|')
    for where in ('disk', 'tmpfs'):
        if 'receiver_eps_' + where in results:
            say('| receiver alone ≥ 100,000 events/s, state dir on %s | %.0f/s | %s |' % (
                where, results['receiver_eps_' + where], verdict(results['receiver_eps_' + where] >= 100000)))
    for bus in ('local', 'redis'):
        r = results.get('e2e_producer_%s' % bus)
        if r:
            say('| end to end ≥ 25,000 events/s, %s bus (producer) | %.0f/s | %s |' % (
                bus, r['rate_wall'], verdict(r['rate_wall'] >= 25000)))
            say('| freshness p99 ≤ 1.5 s, %s bus (producer) | %.3f s | %s |' % (
                bus, r['p99'] or -1, verdict(r['p99'] is not None and r['p99'] <= 1.5)))
            say('| memory ≤ 4 MiB per running job, %s bus (producer) | %.2f MiB PSS | %s |' % (
                bus, (r['mem_pss'] or 0) / 1024, verdict(r['mem_pss'] is not None and r['mem_pss'] <= 4096)))
    for bus in ('local', 'redis'):
        r = results.get('e2e_ansible_%s' % bus)
        if r:
            say('| end to end with real ansible, %s bus (context, ansible-bound) | %.0f/s, freshness p99 %.3f s, '
                '%.2f MiB PSS per job | |' % (bus, r['rate_wall'], r['p99'] or -1, (r['mem_pss'] or 0) / 1024))
    for k, lbl in (('cancel_shim', 'producer shim'), ('cancel_ansible', 'real ansible')):
        if results.get(k) is not None:
            say('| cancel median ≤ 100 ms (%s) | %.3f s | %s |' % (lbl, results[k], verdict(results[k] <= 0.1)))
    say()
    say('_Total bench time: %.1f min._' % ((time.time() - t_start) / 60))
    if ONLY is None:
        with open(OUT, 'w') as f:
            f.write('\n'.join(lines) + '\n')
        print('\nwrote %s' % os.path.relpath(OUT, ROOT))
    shutil.rmtree(TMPFS, ignore_errors=True)
    shutil.rmtree(DISK, ignore_errors=True)


if __name__ == '__main__':
    main()
