#!/usr/bin/python3
"""The web page under load (issue 14), in headless Chromium (selenium):

    /usr/bin/python3 bench/web_bench.py [--lines 1000000] [--flood-events 100000]

1. A job of LINES output lines (synthetic producer events, bench/producer.c
   behind the `ansible-playbook` shim of bench/service_bench.py, so that the
   real path stores them: worker, librunnel, bus, receiver, SQLite). The
   browser opens its page: time to first paint (the hash set → the last
   line of the output drawn, no placeholder left in view); then scrolling:
   a continuous scroll (400 px per frame for 3 s: frame times p50 / p99 /
   max, frames over 50 ms) and 30 jumps to random places (jump → every row in
   view drawn: p50 / p99 / max).
2. A flood: a job of FLOOD_EVENTS events produced at full speed, its page
   open from the launch. Every 100 ms the bench reads the newest stored
   counter (API) and the newest counter the page has drawn; the lag at a
   sample is how long ago the store first had an event the page has not got
   yet (0 when the page has everything). The store's rate over the flood is
   given beside it. At the end, the events the page got live must be all of
   the job's events, each once.

The Markdown section goes to stdout (append it to bench/RESULTS.md); progress
to stderr.
"""
import argparse
import json
import os
import random
import shutil
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import service_bench as sb  # noqa: E402

from selenium import webdriver  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402

ACTIVE = ('new', 'pending', 'waiting', 'running')


def log(text):
    print('  .. ' + text, file=sys.stderr, flush=True)


def browser():
    o = webdriver.ChromeOptions()
    o.binary_location = shutil.which('chromium') or '/usr/bin/chromium'
    for a in ('--headless=new', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--window-size=1400,1000'):
        o.add_argument(a)
    return webdriver.Chrome(service=Service(shutil.which('chromedriver') or '/usr/bin/chromedriver'), options=o)


def login(b, base):
    b.get(base + '#/jobs')
    sb.wait_for(lambda: b.find_elements(By.CSS_SELECTOR, '#login:not([hidden])'), 30, 0.1, 'login form')
    b.find_element(By.ID, 'username').send_keys('admin')
    b.find_element(By.ID, 'password').send_keys(sb.PW)
    b.find_element(By.ID, 'login-submit').click()
    sb.wait_for(lambda: b.find_elements(By.CSS_SELECTOR, '#nav:not([hidden])'), 30, 0.1, 'logged in')


def wait_job(d, jid, timeout=1800):
    return sb.wait_for(lambda: (lambda j: j if j['status'] not in ACTIVE and j['event_processing_finished'] else None)(
        d.get('/jobs/%d/' % jid)), timeout, 0.5, 'job %d' % jid)


# In the page: set the hash, then resolve with the ms until the last line is drawn.
FIRST_PAINT_JS = '''
const [hash, total, done] = [arguments[0], arguments[1], arguments[arguments.length - 1]];
const t0 = performance.now();
location.hash = hash;
(function check() {
  const rows = [...document.querySelectorAll('#output .line')];
  const lastLine = Math.max(-1, ...rows.map((r) => Number(r.dataset.line)));
  if (lastLine === total - 1 && !rows.some((r) => r.classList.contains('loading'))
      && document.getElementById('output').scrollTop > 0) done(performance.now() - t0);
  else requestAnimationFrame(check);
})();
'''

# Continuous scroll up: 400 px a frame for 3 s; the frame times.
SCROLL_JS = '''
const done = arguments[arguments.length - 1];
const o = document.getElementById('output');
document.getElementById('output-follow').textContent === 'Stop following' && document.getElementById('output-follow').click();
const times = [];
let last = performance.now();
const end = last + 3000;
(function step(now) {
  times.push(now - last); last = now;
  o.scrollTop = Math.max(0, o.scrollTop - 400);
  if (now < end) requestAnimationFrame(step); else done(times.slice(1));
})(performance.now());
'''

# Jump to a line; resolve with the ms until every row in view is drawn.
JUMP_JS = '''
const [line, done] = [arguments[0], arguments[arguments.length - 1]];
const o = document.getElementById('output');
const t0 = performance.now();
o.scrollTop = line * 18;
(function check() {
  const rows = [...document.querySelectorAll('#output .line')];
  const first = Math.floor(o.scrollTop / 18);
  const inView = rows.filter((r) => Number(r.dataset.line) >= first && Number(r.dataset.line) < first + o.clientHeight / 18 - 1);
  if (inView.length > 10 && !inView.some((r) => r.classList.contains('loading'))) done(performance.now() - t0);
  else requestAnimationFrame(check);
})();
'''


# The page's live path alone, at full speed: the big job's whole event stream
# from counter 0 (events/stream/) into an OutputView (the job page's own
# modules), following its end; resolve with [events, ms].
INGEST_JS = '''
const [base, done] = [arguments[0], arguments[arguments.length - 1]];
Promise.all([import("/output.js"), import("/api.js")]).then(([o, a]) => {
  const view = new o.OutputView({ linesPath: base + "events/lines/", eventsPath: base + "job_events/", onLine: () => {} });
  view.el.id = "ingest";
  document.body.append(view.el);
  let n = 0;
  const t0 = performance.now();
  const s = a.stream(base + "events/stream/?after=0", (name, data) => {
    if (name === "events") { view.addEvents(data, { live: true }); n += data.length; }
  });
  s.done.then(() => { const ms = performance.now() - t0; view.close(); view.el.remove(); done([n, ms]); });
});
'''


def read_counting(r):
    """The events in an events/stream/ response, read to its end in 64 KiB
    chunks (requests' iter_lines is quadratic on lines of a few 100 KB)."""
    n, tail = 0, b''
    for chunk in r.iter_content(chunk_size=1 << 16):
        buf = tail + chunk
        n += buf.count(b'{"counter":')  # a slim row's first key
        if b'\nevent: end\n' in buf:
            break
        # keep what may be the start of a token cut by the chunk's end
        cut = len(buf) - 12
        n -= buf[cut:].count(b'{"counter":')
        tail = buf[cut:]
    return n


# The events of a synthetic flood written straight into the store (SQLite)
# at a steady rate: (counter, created) -> a row of the events table.
def flood_row(job_id, job_created, c, line, now):
    host = 'host%04d' % (c % 4 + 1)
    stdout = '\x1b[0;32mok: [%s] => {"msg": "flood event %d"}\x1b[0m\n\x1b[0;32m  (line two of %d)\x1b[0m' % (host, c, c)
    return (job_id, c, 'runner_on_ok', '{}', 0, 0, 'u-%d' % c, 'p-%d' % (c // 5), host, 'flood.yml', 'flood',
            '', 'task %d' % (c // 5), stdout, line, line + 2, 0, now, now, job_created)


FLOOD_SQL = ('INSERT INTO events(job_id, counter, event, event_data, failed, changed, uuid, parent_uuid,'
             ' host_name, playbook, play, role, task, stdout, start_line, end_line, verbosity, created,'
             ' modified, job_created) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)')


def store_flood(db, job_id, job_created, rate, seconds, commits):
    """Write rate events/s for seconds into db in a transaction every 20 ms;
    commits gets (monotonic time, last counter) after each."""
    import sqlite3
    con = sqlite3.connect(db, timeout=30, isolation_level=None)
    per = max(1, int(rate * 0.02))
    c, line, t0 = 0, 0, time.monotonic()
    while c < rate * seconds:
        rows = []
        t = time.time()
        now = time.strftime('%Y-%m-%dT%H:%M:%S', time.gmtime(t)) + '.%06dZ' % (t % 1 * 1e6)
        for _ in range(per):
            c += 1
            rows.append(flood_row(job_id, job_created, c, line, now))
            line += 2
        con.execute('BEGIN IMMEDIATE')
        con.executemany(FLOOD_SQL, rows)
        con.execute('COMMIT')
        commits.append((time.time(), c))
        pause = t0 + c / rate - time.monotonic()
        if pause > 0:
            time.sleep(pause)
    con.close()


def follow_ids(port, headers, path, seen, stop):
    """Read an events/stream/ response, noting (wall clock, id) per batch
    into seen as its bytes arrive (read1: no waiting for a full buffer),
    until its end or stop is set."""
    import http.client
    c = http.client.HTTPConnection('127.0.0.1', port, timeout=600)
    c.request('GET', path, headers=headers)
    r = c.getresponse()
    tail = b''
    try:
        while not stop.is_set():
            chunk = r.read1(1 << 16)
            if not chunk:
                return
            t = time.time()
            lines = (tail + chunk).split(b'\n')
            tail = lines.pop()
            for ln in lines:
                if ln.startswith(b'id: '):
                    seen.append((t, int(ln[4:])))
    finally:
        c.close()


def commit_lags(commits, arrivals):
    """Each commit's lag: from (wall clock, last counter) to the first
    arrival (wall clock, counter) at or past it."""
    lags, k = [], 0
    for tc, c in commits:
        while k < len(arrivals) and arrivals[k][1] < c:
            k += 1
        lags.append(arrivals[k][0] - tc if k < len(arrivals) else float('inf'))
    return lags


def pct(xs, p):
    return sb.pct(xs, p)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--lines', type=int, default=1000000)
    ap.add_argument('--flood-events', type=int, default=100000)
    ap.add_argument('--store-flood-rate', type=int, default=10000)
    ap.add_argument('--store-flood-seconds', type=int, default=10)
    a = ap.parse_args()
    # tools and state of this run's own (other benches share service_bench's dirs)
    sb.DISK = tempfile.mkdtemp(prefix='runneld-webbench-', dir='/var/tmp')
    sb.TMPFS = tempfile.mkdtemp(prefix='runneld-webbench-', dir='/dev/shm')
    producer, shimdir = sb.build_tools()
    # jobs run sandboxed (job_isolation): they see the shim and the producer
    os.environ['RUNNELD_JOB_ISOLATION_SHOW_PATHS'] = json.dumps([sb.TMPFS])
    tmp = tempfile.mkdtemp(prefix='webbench-', dir=sb.DISK)
    iso = tempfile.mkdtemp(prefix='webbench-', dir=sb.TMPFS)
    d = b = None
    out = []
    try:
        state = os.path.join(tmp, 'state')
        # the producer's events average ~2.4 lines: enough events for LINES
        n_big = int(a.lines / 2.3) + 1000
        pbs = ['events-%d.yml' % n_big, 'events-%d.yml' % a.flood_events, 'sleep.yml']
        projdir = os.path.join(state, 'projects', 'bench')
        os.makedirs(projdir)
        for pb in pbs:
            with open(os.path.join(projdir, pb), 'w') as f:
                f.write('- hosts: all\n  gather_facts: false\n  tasks: []\n')
        d = sb.Runneld(state, iso, 'local', path_prefix=shimdir, capacity=4)
        jts = sb.make_world(d, 'bench', ['host%04d' % i for i in range(1, 5)], pbs)
        base = 'http://127.0.0.1:%d/' % d.port
        log('big job: %d events' % n_big)
        t0 = time.monotonic()
        big = d.post('/job_templates/%d/launch/' % jts[pbs[0]])['id']
        job = wait_job(d, big)
        lines = d.get('/jobs/%d/events/lines/?start_line=-1' % big)['absolute_end']
        if job['status'] != 'successful' or lines < a.lines:
            out_txt = d.s.get(d.base + '/jobs/%d/stdout/?format=txt' % big, timeout=60).text
            sys.exit('the big job: %s, %d lines: %s\n%s' % (job['status'], lines, job.get('job_explanation'), out_txt[:3000]))
        log('big job %d: %d lines, stored in %.0f s' % (big, lines, time.monotonic() - t0))
        b = browser()
        b.set_script_timeout(300)
        login(b, base)
        paints = []
        for i in range(3):
            b.execute_script("location.hash = '#/jobs'")
            time.sleep(1)
            paints.append(b.execute_async_script(FIRST_PAINT_JS, '#/jobs/%d' % big, lines))
        frames = b.execute_async_script(SCROLL_JS)
        rnd = random.Random(14)
        jumps = [b.execute_async_script(JUMP_JS, rnd.randrange(0, lines - 100)) for _ in range(30)]
        # the server's part alone: the same stream read by a plain client
        t0 = time.monotonic()
        n_srv = 0
        with d.s.get(d.base + '/jobs/%d/events/stream/?after=0' % big, stream=True, timeout=600) as r:
            n_srv = read_counting(r)
        srv_s = time.monotonic() - t0
        log('server stream alone: %d events in %.1f s' % (n_srv, srv_s))
        ingest = b.execute_async_script(INGEST_JS, '/api/v2/jobs/%d/' % big)
        log('page ingest of the whole stream: %d events in %.1f s' % (ingest[0], ingest[1] / 1000))
        log('first paint %s ms; frames p99 %.1f ms; jumps p99 %.0f ms' % (
            ['%.0f' % p for p in paints], pct(frames, 99), pct(jumps, 99)))

        # the flood
        b.execute_script("location.hash = '#/jobs'")
        time.sleep(1)
        flood = d.post('/job_templates/%d/launch/' % jts[pbs[1]])['id']
        b.execute_script("location.hash = arguments[0]", '#/jobs/%d' % flood)
        history = []   # (t, newest stored counter)
        lags = []
        stop = threading.Event()
        t_first = t_last = None
        first_n = last_n = 0
        while True:
            t = time.monotonic()
            r = d.get('/jobs/%d/job_events/?order_by=-counter&page_size=1' % flood)
            stored = r['results'][0]['counter'] if r['results'] else 0
            if stored and t_first is None:
                t_first, first_n = t, r['count']
            if stored:
                t_last, last_n = t, r['count']
            history.append((t, stored))
            page = b.execute_script("const o = document.getElementById('output'); return o ? Number(o.dataset.lastCounter || 0) : 0")
            behind = [th for th, c in history if c > page]
            lags.append(t - behind[0] if behind else 0.0)
            j = d.get('/jobs/%d/' % flood)
            if j['status'] not in ACTIVE and j['event_processing_finished'] and page >= stored:
                break
            time.sleep(0.1)
        stop.set()
        j = d.get('/jobs/%d/' % flood)
        got = b.execute_script("const o = document.getElementById('output'); return [Number(o.dataset.received || 0), Number(o.dataset.openedAt || 0)]")
        rate = (last_n - first_n) / (t_last - t_first) if t_last and t_last > t_first else 0
        log('flood: %d events stored at %.0f/s; lag p50 %.2f p99 %.2f max %.2f s; page got %d live (opened at %d)' % (
            j['stored_events'], rate, pct(lags, 50), pct(lags, 99), max(lags), got[0], got[1]))

        # the flood at a set rate: events written straight into the store
        # (the page's path alone: stream, browser), a running job's
        b.execute_script("location.hash = '#/jobs'")
        time.sleep(1)
        sj = d.post('/job_templates/%d/launch/' % jts['sleep.yml'])['id']
        sb.wait_for(lambda: d.get('/jobs/%d/' % sj)['status'] == 'running', 120, 0.2, 'sleep job running')
        sjob = d.get('/jobs/%d/' % sj)
        b.execute_script("location.hash = arguments[0]", '#/jobs/%d' % sj)
        sb.wait_for(lambda: b.execute_script("const o = document.getElementById('output'); return o && o.dataset.openedAt !== undefined"),
                    30, 0.1, 'the page of the job')
        n_sf = a.store_flood_rate * a.store_flood_seconds
        commits = []
        # the page notes when each new last counter arrives (its wall clock)
        b.execute_script("""
            window.__arrivals = [];
            const o = document.getElementById('output');
            new MutationObserver(() => window.__arrivals.push([Date.now(), Number(o.dataset.lastCounter || 0)]))
              .observe(o, {attributes: true, attributeFilter: ['data-last-counter']});""")
        w = threading.Thread(target=store_flood, args=(os.path.join(state, 'runneld.db'), sj, sjob['created'],
                                                       a.store_flood_rate, a.store_flood_seconds, commits))
        plain, stop_plain = [], threading.Event()
        pt = threading.Thread(target=follow_ids, args=(d.port, {'Authorization': d.s.headers['Authorization']},
                                                       '/api/v2/jobs/%d/events/stream/?after=0' % sj, plain, stop_plain),
                              daemon=True)
        pt.start()
        t_sf = time.time()
        w.start()
        while True:
            page = b.execute_script("const o = document.getElementById('output'); return o ? Number(o.dataset.lastCounter || 0) : 0")
            if (not w.is_alive() and page >= n_sf) or time.time() - t_sf > a.store_flood_seconds + 120:
                break
            time.sleep(0.2)
        w.join()
        sf_secs = commits[-1][0] - t_sf
        # each commit's lag: from its commit to the page having its last event
        arrivals = [(t / 1000.0, c) for t, c in b.execute_script("return window.__arrivals")]
        sf_lags = commit_lags(commits, arrivals)
        t_wait = time.time()
        while (not plain or plain[-1][1] < n_sf) and time.time() - t_wait < 60:
            time.sleep(0.1)
        stop_plain.set()
        srv_lags = commit_lags(commits, list(plain))
        sf_got = b.execute_script("const o = document.getElementById('output'); return [Number(o.dataset.received || 0), Number(o.dataset.lastCounter || 0)]")
        d.post('/jobs/%d/cancel/' % sj, {})
        log('store flood: %d events in %.1f s (%.0f/s); lag p50 %.2f p99 %.2f max %.2f s (server alone: max %.2f s); page got %d (last %d)' % (
            n_sf, sf_secs, n_sf / sf_secs, pct(sf_lags, 50), pct(sf_lags, 99), max(sf_lags), max(srv_lags), sf_got[0], sf_got[1]))

        out.append('## Web page: a 1,000,000-line job and a live flood (issue 14)')
        out.append('')
        out.append('`/usr/bin/python3 bench/web_bench.py --lines %d --flood-events %d` (headless Chromium %s, '
                   'selenium; runneld local bus, state on disk; load before: %s)' % (
                       a.lines, a.flood_events, b.capabilities.get('browserVersion', '?'), sb.load()))
        out.append('')
        out.append('| measure | result |')
        out.append('|---|---|')
        out.append('| job size | %d lines, %d events |' % (lines, n_big))
        out.append('| time to first paint (open the job page → its last line drawn), 3 runs | %s ms |' % ', '.join('%.0f' % p for p in paints))
        out.append('| continuous scroll, 400 px/frame for 3 s: frame time p50 / p99 / max | %.1f / %.1f / %.1f ms (%d frames, %d over 50 ms) |' % (
            pct(frames, 50), pct(frames, 99), max(frames), len(frames), sum(1 for f in frames if f > 50)))
        out.append('| jump to a random line → rows in view drawn (30 jumps): p50 / p99 / max | %.0f / %.0f / %.0f ms |' % (
            pct(jumps, 50), pct(jumps, 99), max(jumps)))
        out.append('| the page\'s live path at full speed: the whole stream of the big job (from counter 0) into an output view | %d events in %.1f s: %.0f events/s |' % (
            ingest[0], ingest[1] / 1000, ingest[0] / (ingest[1] / 1000)))
        out.append('| the server\'s part alone: the same stream read by a plain HTTP client | %d events in %.1f s: %.0f events/s |' % (
            n_srv, srv_s, n_srv / srv_s))
        out.append('| flood: events stored, store rate while it ran | %d, %.0f events/s |' % (j['stored_events'], rate))
        out.append('| flood: live lag (newest stored event not yet on the page) p50 / p99 / max | %.2f / %.2f / %.2f s |' % (
            pct(lags, 50), pct(lags, 99), max(lags)))
        out.append('| flood: events the page got through the stream / stored | %d / %d (opened at counter %d) |' % (
            got[0], j['stored_events'], got[1]))
        out.append('| flood at a set rate, written straight into the store (20 ms transactions) while the job page is open: rate | %d events in %.1f s: %.0f events/s |' % (
            n_sf, sf_secs, n_sf / sf_secs))
        out.append('| that flood: live lag (a commit → the page has its last event), over its %d commits: p50 / p99 / max | %.3f / %.3f / %.3f s |' % (
            len(sf_lags), 
            pct(sf_lags, 50), pct(sf_lags, 99), max(sf_lags)))
        out.append('| that flood: the server\'s part, the same stream read by a plain HTTP client at once: lag p50 / p99 / max | %.3f / %.3f / %.3f s |' % (
            pct(srv_lags, 50), pct(srv_lags, 99), max(srv_lags)))
        out.append('| that flood: events the page got through the stream / written | %d / %d (%d lines) |' % (
            sf_got[0], n_sf, n_sf * 2))
        print('\n'.join(out))
    finally:
        if b:
            b.quit()
        if d:
            d.stop()
        shutil.rmtree(sb.DISK, ignore_errors=True)
        shutil.rmtree(sb.TMPFS, ignore_errors=True)


if __name__ == '__main__':
    main()
