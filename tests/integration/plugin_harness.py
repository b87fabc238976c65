"""Run ansible with a callback plugin on a pty and decode its events.

Used by test_plugin.py to compare runnel's plugin/callback/awx_display.py with
ansible-runner's. The environment and the pty (80x24, own session, controlling
terminal) are those ansible-runner (and runnel, spec/runner.md section 5) give
ansible; the decoder follows the rules of spec/runner.md section 3 and merges
upstream's job_events/<uuid>-partial.json files.
"""

import base64
import errno
import fcntl
import json
import os
import re
import select
import shutil
import struct
import subprocess
import tempfile
import termios
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
CASES = os.path.join(HERE, 'plugin_cases')
PLUGIN_DIRS = {
    'runnel': os.path.normpath(os.path.join(HERE, '..', '..', 'plugin', 'callback')),
    'upstream': '/usr/lib/python3/dist-packages/ansible_runner/display_callback/callback',
}
ANSIBLE_PLAYBOOK = '/usr/bin/ansible-playbook'
ANSIBLE = '/usr/bin/ansible'

MARKER_RE = re.compile(r'\x1b\[K((?:[A-Za-z0-9+/=]+\x1b\[\d+D)+)\x1b\[K')
CHUNK_RE = re.compile(r'([A-Za-z0-9+/=]+)\x1b\[(\d+)D')
UUID_RE = re.compile(r'[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}(?:_\d+)?')
# Things that differ from run to run and say nothing about the plugin.
VOLATILE_RES = [
    (re.compile(r'\bj\d+\.\d+\b'), 'JID'),
    (re.compile(r'ansible-tmp-[\d.]+-\d+-\d+'), 'ansible-tmp-X'),
    (re.compile(r'ansible-local-\d+\w+'), 'ansible-local-X'),
    (re.compile(r'\btmp\w{8}\b'), 'tmpX'),
    (re.compile(r'"(start|end|delta)": "[^"]*"'), r'"\1": "<T>"'),
]
CENSORED = "the output has been hidden due to the fact that 'no_log: true' was specified for this result"
TIME_KEYS = ('created', 'start', 'end', 'duration', 'delta')


class Run(object):
    """One finished ansible process: its raw output, rc and decoded events."""

    def __init__(self, plugin, pid, rc, text, tmp, events, partials_left):
        self.plugin, self.pid, self.rc, self.text, self.tmp = plugin, pid, rc, text, tmp
        self.events, self.partials_left = events, partials_left

    def normalized(self):
        return normalize(self.events, self.pid, [self.tmp, PLUGIN_DIRS[self.plugin]])


def _pty_child_setup():
    # Like pexpect/pty.fork: the pty becomes the controlling terminal.
    fcntl.ioctl(1, termios.TIOCSCTTY, 0)


def run(plugin, args, adhoc=False, env=None, expect=(), timeout=120):
    """Run ansible-playbook (or ansible if adhoc) in plugin_cases with `plugin`
    ('runnel' or 'upstream'). `expect` is a list of (text, action): when text
    shows up in the output, action (bytes to type, or a callable taking the
    run's temp dir) runs, once, in order."""
    tmp = tempfile.mkdtemp(prefix='plugin-test-')
    artifacts = os.path.join(tmp, 'artifacts')
    os.mkdir(artifacts, 0o700)
    full_env = {
        'PATH': '/usr/bin:/bin', 'HOME': os.environ.get('HOME', '/root'),
        'LC_ALL': 'C.UTF-8', 'LANG': 'C.UTF-8', 'TERM': 'xterm',
        'ANSIBLE_STDOUT_CALLBACK': 'awx_display',
        'ANSIBLE_CALLBACK_PLUGINS': PLUGIN_DIRS[plugin],
        'ANSIBLE_RETRY_FILES_ENABLED': 'False',
        'ANSIBLE_HOST_KEY_CHECKING': 'False',
        'ANSIBLE_CACHE_PLUGIN': 'jsonfile',
        'ANSIBLE_CACHE_PLUGIN_CONNECTION': os.path.join(artifacts, 'fact_cache'),
        'AWX_ISOLATED_DATA_DIR': artifacts,
        'RUNNER_OMIT_EVENTS': 'False',
        'RUNNER_ONLY_FAILED_EVENTS': 'False',
        'PYTHONUNBUFFERED': '1',
        'ANSIBLE_CONFIG': os.path.join(tmp, 'none.cfg'),
    }
    if adhoc:
        full_env.update(ANSIBLE_LOAD_CALLBACK_PLUGINS='1', AD_HOC_COMMAND_ID='1')
    full_env.update(env or {})
    argv = [ANSIBLE if adhoc else ANSIBLE_PLAYBOOK, '-i', 'inventory', '-e', 'outdir=' + tmp] + list(args)

    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack('HHHH', 24, 80, 0, 0))
    proc = subprocess.Popen(argv, cwd=CASES, env=full_env, stdin=slave, stdout=slave, stderr=slave,
                            start_new_session=True, preexec_fn=_pty_child_setup, close_fds=True)
    os.close(slave)
    out = bytearray()
    pending = list(expect)
    searched = 0
    deadline = time.monotonic() + timeout
    try:
        while True:
            if time.monotonic() > deadline:
                os.killpg(proc.pid, 9)
                raise AssertionError('ansible timed out; output so far:\n' + out.decode('utf-8', 'replace'))
            ready, _, _ = select.select([master], [], [], 0.5)
            if not ready:
                continue
            try:
                data = os.read(master, 65536)
            except OSError as e:  # EIO: every writer closed the pty
                if e.errno != errno.EIO:
                    raise
                break
            if not data:
                break
            out += data
            while pending and pending[0][0].encode() in out[searched:]:
                searched = out.index(pending[0][0].encode(), searched) + 1
                action = pending.pop(0)[1]
                if callable(action):
                    action(tmp)
                else:
                    os.write(master, action)
    finally:
        os.close(master)
    rc = proc.wait()
    text = out.decode('utf-8', 'replace')
    job_events = os.path.join(artifacts, 'job_events')
    events = decode(text, job_events)
    left = sorted(os.listdir(job_events)) if os.path.isdir(job_events) else []
    return Run(plugin, proc.pid, rc, text, tmp, events, left)


def cleanup(r):
    shutil.rmtree(r.tmp, ignore_errors=True)


def _payload(group):
    b64 = ''.join(c for c, _ in CHUNK_RE.findall(group))
    for chunk, n in CHUNK_RE.findall(group):
        assert len(chunk) == int(n) and len(chunk) <= 78, 'bad marker chunk'
    return json.loads(base64.b64decode(b64).decode('utf-8'))


def decode(text, job_events=None):
    """Events from the pty output, as ansible-runner would build them (without
    runner_ident). Each event also gets '_marker': the begin marker's payload.
    Partial files found in `job_events` are merged, then removed."""
    events = []
    state = {'line': 0, 'current': None}

    def emit(chunk):
        current = state['current']
        if current is not None:
            pieces = [(current, chunk)]
        elif chunk:
            pieces = [({'event': 'verbose', 'uuid': str(uuid.uuid4())}, line) for line in chunk.splitlines(True)]
        else:
            pieces = []
        for ev, piece in pieces:
            ev = dict(ev)
            n = piece.count('\n')
            ev.update(counter=len(events) + 1, stdout=piece.rstrip('\r\n'),
                      start_line=state['line'], end_line=state['line'] + n)
            state['line'] += n
            events.append(ev)

    pos = 0
    for m in MARKER_RE.finditer(text):
        emit(text[pos:m.start()])
        data = _payload(m.group(1))
        if data.get('uuid'):
            ev = dict(data)
            ev['_marker'] = data
            partial = os.path.join(job_events or '/nonexistent', data['uuid'] + '-partial.json')
            if os.path.exists(partial):
                with open(partial) as f:
                    ev.update(json.load(f))
                os.remove(partial)
            state['current'] = ev
        else:
            state['current'] = None
        pos = m.end()
    emit(text[pos:])
    return events


def _scrub(value, tmp_paths):
    if isinstance(value, str):
        for path in tmp_paths:
            value = value.replace(path, '<TMP>')
        for rx, repl in VOLATILE_RES:
            value = rx.sub(repl, value)
        return value
    if isinstance(value, dict):
        return {k: ('<T>' if k in TIME_KEYS and isinstance(v, (str, float, int)) and not isinstance(v, bool)
                    else _scrub(v, tmp_paths))
                for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub(v, tmp_paths) for v in value]
    return value


def normalize(events, main_pid, tmp_paths):
    """Comparable events: uuids become the index of their first appearance
    (so parent linkage is kept), pids 'main' (ansible's own, `main_pid`) or
    'worker', times '<T>', temp paths '<TMP>'. Returns (main process events,
    worker process events): workers print their -vvv markers directly, and
    when they do so relative to the parent's events is a race."""
    main, workers = [], []
    for ev in events:
        ev = {k: v for k, v in ev.items() if k not in ('counter', '_marker')}
        worker = 'pid' in ev and ev['pid'] != main_pid
        if 'pid' in ev:
            ev['pid'] = 'worker' if worker else 'main'
        if worker:  # where its (empty) text falls among the parent's lines is a race
            ev.pop('start_line', None)
            ev.pop('end_line', None)
        (workers if worker else main).append(_scrub(ev, tmp_paths))
    seen = {}

    def number(m):
        return 'U%d' % seen.setdefault(m.group(0), len(seen))
    out = []
    for group in (main, workers):
        text = json.dumps(group, sort_keys=True, ensure_ascii=False)
        out.append(json.loads(UUID_RE.sub(number, text)))
    return out[0], out[1]
