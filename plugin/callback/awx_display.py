# runnel: the stdout callback plugin that turns ansible's output into events.
# SPDX-License-Identifier: GPL-3.0-or-later
"""Emit ansible-runner compatible job events on stdout.

runnel runs ansible on a pty with ANSIBLE_STDOUT_CALLBACK=awx_display. This
plugin wraps the human-readable stdout callback (``default``, ``minimal`` for
ad hoc commands, or $ORIGINAL_STDOUT_CALLBACK) and brackets the text of every
event with two markers:

    ESC[K  <b64 chunk>ESC[<n>D  <b64 chunk>ESC[<n>D ...  ESC[K   <- begin
    ... the event's text, exactly as the wrapped callback prints it ...
    ESC[K  e30=ESC[4D  ESC[K                                    <- end

Each chunk holds at most 78 base64 characters and is followed by a cursor-left
by its own length, so on a terminal the marker overwrites itself and shows
nothing. The base64 is the UTF-8 JSON of:

- begin: the WHOLE event (event, [job_id, ad_hoc_command_id,
  project_update_id], pid, uuid, created, [parent_uuid], [verbosity],
  event_data). ansible-runner's plugin puts only {"uuid": ...} here and writes
  the rest to <artifact dir>/job_events/<uuid>-partial.json; runnel carries it
  in-band or through its pipe (below), so no partial file is ever written.
- end: {} (the same as upstream).

When the runner hands the plugin a pipe (RUNNEL_EVENT_FD="<fd>:<inode>", see
runnel's lib/evpipe.h), the whole event goes to the pipe instead, as one line
of JSON written before its marker, and the begin marker carries only
{"uuid": ...}: the pty then carries a tenth of the bytes.

The runner assigns counter, stdout, start_line and end_line while decoding
(see spec/runner.md section 3). Output written outside any callback method
(warnings, deprecations, -v messages) becomes a display-only event whose type
comes from the Display method that produced it.
"""

from __future__ import absolute_import, division, print_function

DOCUMENTATION = '''
    name: awx_display
    type: stdout
    short_description: ansible-runner compatible job events for runnel
    version_added: historical
    description:
      - Wraps a stdout callback and marks each event's output with its data.
    extends_documentation_fragment:
      - default_callback
    requirements:
      - set as the stdout callback (runnel does it)
'''

import base64
import contextlib
import datetime
import functools
import json
import os
import stat
import sys
import threading
import uuid

from ansible import constants as C
from ansible.plugins.loader import callback_loader
from ansible.utils.display import Display
from ansible.utils.multiprocessing import context as mp_context

# The environment is fixed for the life of the process: read it once.
_env = os.environ.get
AD_HOC = bool(_env('AD_HOC_COMMAND_ID'))
OMIT_EVENT_DATA = _env('RUNNER_OMIT_EVENTS', 'False').lower() == 'true'
ONLY_FAILED = _env('RUNNER_ONLY_FAILED_EVENTS', 'False').lower() == 'true'
MAX_EVENT_RES = int(_env('MAX_EVENT_RES', 700000))
# job_id / ad_hoc_command_id / project_update_id, in this order, when set.
ID_FIELDS = [(k.lower(), int(_env(k))) for k in ('JOB_ID', 'AD_HOC_COMMAND_ID', 'PROJECT_UPDATE_ID') if _env(k)]

# Upstream tests the misspelt 'runner_on_item_failed' and so drops the data of
# failed loop items; runnel keeps it, as spec/runner.md section 3 says.
FAILED_EVENTS = ('runner_on_failed', 'runner_on_async_failed', 'runner_item_on_failed')
# For display-only events: the first Display flag set names the event.
DISPLAY_EVENTS = ('debug', 'verbose', 'deprecated', 'warning', 'system_warning', 'error')
TASK_FIELDS = ('task', 'task_path', 'task_uuid', 'task_action', 'task_args', 'resolved_action', 'role', 'resolved_role')
PLAY_FIELDS = ('play', 'play_uuid', 'play_pattern')
CENSORED = "the output has been hidden due to the fact that 'no_log: true' was specified for this result"

_base_name = _env('ORIGINAL_STDOUT_CALLBACK') or ('minimal' if AD_HOC else 'default')
BaseCallback = callback_loader.get(_base_name).__class__


def utcnow():
    """Naive UTC time, the form upstream puts in created/start/end."""
    return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)


class EventEncoder(json.JSONEncoder):
    """JSON for results: vaulted values keep their ciphertext, dates become ISO-8601."""

    def default(self, o):
        if getattr(o, 'yaml_tag', None) == '!vault':
            text = o._ciphertext
            return {'__ansible_vault': text.decode('utf-8') if isinstance(text, bytes) else text}
        if isinstance(o, (datetime.date, datetime.datetime)):
            return o.isoformat()
        return super(EventEncoder, self).default(o)


_to_json = EventEncoder(separators=(',', ':')).encode


def marker(data):
    """The invisible ESC[K ... ESC[K marker carrying `data` (see the module docstring)."""
    b64 = base64.b64encode(_to_json(data).encode('utf-8')).decode('ascii')
    parts = ['\x1b[K']
    for i in range(0, len(b64), 78):
        chunk = b64[i:i + 78]
        parts.append('%s\x1b[%dD' % (chunk, len(chunk)))
    parts.append('\x1b[K')
    return ''.join(parts)


END_MARKER = marker({})


def _event_pipe():
    """The fd of the runner's event pipe, or None. The variable names the pipe's
    inode too: a nested ansible that inherited the variable but not the pipe
    must not write events into whatever else holds that fd number."""
    spec = os.environ.pop('RUNNEL_EVENT_FD', '')  # not for the job's own commands
    try:
        fd, inode = (int(x) for x in spec.split(':'))
        st = os.fstat(fd)
    except (ValueError, OSError):
        return None
    return fd if stat.S_ISFIFO(st.st_mode) and st.st_ino == inode else None


EVENT_FD = _event_pipe()


def _send(ev):
    """The begin marker of event `ev`: with the event pipe, its JSON goes there
    (whole, before the marker) and the marker names only its uuid."""
    global EVENT_FD
    if EVENT_FD is not None:
        line = memoryview((_to_json(ev) + '\n').encode('utf-8'))
        try:
            while line:
                line = line[os.write(EVENT_FD, line):]
            return marker({'uuid': ev['uuid']})
        except OSError:
            EVENT_FD = None  # the runner closed it: in-band from now on
    return marker(ev)


class EventContext(object):
    """The fields of the event being built: `shared` ones (playbook, play, task)
    overlaid by the calling thread's own (ansible calls back from its main
    thread and from its results thread at the same time)."""

    def __init__(self):
        # Shared with forked workers: a worker printing -vvv output waits for the
        # parent to finish an event, so markers never interleave on the pty.
        self.lock = mp_context.RLock()
        self.shared = {}
        self._tls = threading.local()

    @property
    def local(self):
        try:
            return self._tls.fields
        except AttributeError:
            self._tls.fields = {}
            return self._tls.fields

    def begin_marker(self):
        """Build the event from the current fields and return its begin marker."""
        data = dict(self.shared)
        data.update(self.local)
        event = data.pop('event', None)
        if not event:
            event = next((k for k in DISPLAY_EVENTS if data.get(k)), 'verbose')
        ev = {'event': event}
        ev.update(ID_FIELDS)
        ev['pid'] = os.getpid()
        own_uuid = ev['uuid'] = data.get('uuid') or str(uuid.uuid4())
        ev['created'] = utcnow().isoformat()
        for key in ('task_uuid', 'play_uuid', 'playbook_uuid'):
            parent = data.get(key)
            if parent and parent != own_uuid:
                ev['parent_uuid'] = parent
                break
        if 'verbosity' in data:
            ev['verbosity'] = data.pop('verbosity')
        if OMIT_EVENT_DATA or (ONLY_FAILED and event not in FAILED_EVENTS):
            data = {}
        elif event != 'playbook_on_stats' and 'res' in data and len(str(data['res'])) > MAX_EVENT_RES:
            data['res'] = {}
        ev['event_data'] = data
        return _send(ev)


ctx = EventContext()


# Display patching: output printed outside a callback method becomes an event of
# its own. Each public Display method flags the thread while it runs, so that
# display() knows whether it prints a warning, a deprecation, an error...
def _flagging(name, method):
    @functools.wraps(method)
    def flagged(*args, **kwargs):
        local = ctx.local
        local[name] = True
        try:
            return method(*args, **kwargs)
        finally:
            local.pop(name, None)
    return flagged


def _verbose_flagging(method):
    # verbose(msg, host=None, caplevel=2): the event records its -v level and host.
    @functools.wraps(method)
    def flagged(self, *args, **kwargs):
        host = args[1] if len(args) > 1 else kwargs.get('host')
        caplevel = args[2] if len(args) > 2 else kwargs.get('caplevel', 2)
        fields = {'verbose': True, 'verbosity': caplevel + 1}
        if host is not None:
            fields['remote_addr'] = host
        local = ctx.local
        local.update(fields)
        try:
            return method(self, *args, **kwargs)
        finally:
            for key in fields:
                local.pop(key, None)
    return flagged


def _marking(display):
    # display(msg, color=None, stderr=False, screen_only=False, log_only=False, ...)
    @functools.wraps(display)
    def marked(self, *args, **kwargs):
        stderr = args[2] if len(args) > 2 else kwargs.get('stderr', False)
        log_only = args[4] if len(args) > 4 else kwargs.get('log_only', False)
        local = ctx.local
        with ctx.lock:
            # Inside a callback method the text belongs to that method's event.
            if log_only or local.get('uuid'):
                return display(self, *args, **kwargs)
            out = sys.stderr if stderr else sys.stdout
            local['uuid'] = str(uuid.uuid4())
            try:
                out.write(ctx.begin_marker())
                return display(self, *args, **kwargs)
            finally:
                out.write(END_MARKER)
                out.flush()
                local.pop('uuid', None)
    marked.runnel_marking = True
    return marked


if not getattr(Display.display, 'runnel_marking', False):  # patch once only
    for _name in dir(Display):
        _method = getattr(Display, _name)
        if (_name.startswith('_') or 'cow' in _name or 'prompt' in _name or not callable(_method)
                or _name in ('display', 'verbose', 'v', 'vv', 'vvv', 'vvvv', 'vvvvv', 'vvvvvv')):
            continue
        setattr(Display, _name, _flagging(_name, _method))
    Display.verbose = _verbose_flagging(Display.verbose)
    Display.display = _marking(Display.display)


def _event_loop(task):
    if hasattr(task, 'loop_with'):  # ansible >= 2.5
        return task.loop_with
    return getattr(task, 'loop', None)


class CallbackModule(BaseCallback):
    """Wraps the base stdout callback: every v2_* method becomes one event."""

    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = 'stdout'
    CALLBACK_NAME = 'awx_display'

    # Events that never carry task fields of their own.
    EVENTS_WITHOUT_TASK = (
        'playbook_on_start', 'playbook_on_stats', 'playbook_on_setup', 'playbook_on_notify',
        'playbook_on_import_for_host', 'playbook_on_not_import_for_host',
        'playbook_on_no_hosts_matched', 'playbook_on_no_hosts_remaining',
    )

    def __init__(self):
        super(CallbackModule, self).__init__()
        self._host_start = {}
        # With the free strategy or serial, a play or task uuid repeats: later
        # copies get a "_<n>" suffix so every event keeps a uuid of its own.
        self._seen_tasks, self._seen_plays = set(), set()
        self._task_repeats, self._play_repeats = {}, {}

    @contextlib.contextmanager
    def _event(self, event, **data):
        """Bracket what the body prints with the markers of one event."""
        data.setdefault('uuid', str(uuid.uuid4()))
        task = data.pop('task', None) if event not in self.EVENTS_WITHOUT_TASK else None
        res = data.get('res')
        if res:
            if res.get('_ansible_no_log', False):
                res = data['res'] = {'censored': CENSORED}
            items = res.get('results', [])
            if items and isinstance(items, list):
                # Like upstream, censor into a copy of the list that replaces the
                # original (the base callback then prints the censored items).
                res['results'] = [{'censored': CENSORED} if isinstance(i, dict) and i.get('_ansible_no_log', False)
                                  else i for i in items]
        local = ctx.local
        with ctx.lock:
            try:
                local['event'] = event
                local.update(data)
                if task:
                    self._set_task(task, local)
                sys.stdout.write(ctx.begin_marker())
                yield
            finally:
                sys.stdout.write(END_MARKER)
                sys.stdout.flush()
                if task:
                    self._clear(local, TASK_FIELDS)
                self._clear(local, ('event',) + tuple(data))

    @staticmethod
    def _clear(fields, keys):
        for key in keys:
            fields.pop(key, None)

    def _set_task(self, task, fields):
        """Put the task's fields in `fields` (ctx.shared or the thread's own)."""
        self._clear(fields, TASK_FIELDS)
        new = dict(task=task.name or task.action, task_uuid=str(task._uuid), task_action=task.action,
                   resolved_action=getattr(task, 'resolved_action', task.action), task_args='')
        try:
            new['task_path'] = task.get_path()
        except AttributeError:
            pass
        if C.DISPLAY_ARGS_TO_STDOUT:
            new['task_args'] = CENSORED if task.no_log else ', '.join('%s=%s' % a for a in task.args.items())
        if getattr(task, '_role', None):
            role = task._role._role_name
            if hasattr(task._role, 'get_name') and task._role.get_name() != role:
                new['resolved_role'] = task._role.get_name()
        else:
            role = getattr(task, 'role_name', '')
        if role:
            new['role'] = role
        fields.update(new)

    def _clear_play(self):
        self._clear(ctx.shared, PLAY_FIELDS + TASK_FIELDS)

    def _unique(self, uid, seen, repeats):
        if uid in seen:
            repeats[uid] = repeats.get(uid, 1) + 1
            uid = '%s_%d' % (uid, repeats[uid])
        seen.add(uid)
        return uid

    def _timing(self, result):
        start = self._host_start.get(result._host.get_name())
        if not start:
            return None, None, None
        end = utcnow()
        return start, end, (end - start).total_seconds()

    # -- playbook events --------------------------------------------------

    def v2_playbook_on_start(self, playbook):
        self.playbook_uuid = str(uuid.uuid4())
        ctx.shared.update(playbook=getattr(playbook, '_file_name', '???'), playbook_uuid=self.playbook_uuid)
        self._clear_play()
        with self._event('playbook_on_start', uuid=self.playbook_uuid):
            super(CallbackModule, self).v2_playbook_on_start(playbook)

    def v2_playbook_on_vars_prompt(self, varname, private=True, prompt=None, encrypt=None, confirm=False,
                                   salt_size=None, salt=None, default=None, unsafe=None):
        with self._event('playbook_on_vars_prompt', varname=varname, private=private, prompt=prompt,
                         encrypt=encrypt, confirm=confirm, salt_size=salt_size, salt=salt,
                         default=default, unsafe=unsafe):
            super(CallbackModule, self).v2_playbook_on_vars_prompt(
                varname, private, prompt, encrypt, confirm, salt_size, salt, default)

    def v2_playbook_on_include(self, included_file):
        name = included_file._filename if included_file is not None else None
        with self._event('playbook_on_include', included_file=name):
            super(CallbackModule, self).v2_playbook_on_include(included_file)

    def v2_playbook_on_play_start(self, play):
        if AD_HOC:
            return
        play._uuid = self._unique(str(play._uuid), self._seen_plays, self._play_repeats)
        hosts = getattr(play, 'hosts', '')
        pattern = ','.join(hosts) if isinstance(hosts, list) else hosts
        name = play.get_name().strip() or pattern
        ctx.shared.update(play=name, play_uuid=str(play._uuid), play_pattern=pattern)
        self._clear(ctx.shared, TASK_FIELDS)
        with self._event('playbook_on_play_start', name=name, pattern=pattern, uuid=str(play._uuid)):
            super(CallbackModule, self).v2_playbook_on_play_start(play)

    def v2_playbook_on_import_for_host(self, result, imported_file):
        with self._event('playbook_on_import_for_host'):
            super(CallbackModule, self).v2_playbook_on_import_for_host(result, imported_file)

    def v2_playbook_on_not_import_for_host(self, result, missing_file):
        with self._event('playbook_on_not_import_for_host'):
            super(CallbackModule, self).v2_playbook_on_not_import_for_host(result, missing_file)

    def v2_playbook_on_setup(self):
        with self._event('playbook_on_setup'):
            super(CallbackModule, self).v2_playbook_on_setup()

    def v2_playbook_on_task_start(self, task, is_conditional):
        self._set_task(task, ctx.shared)
        if AD_HOC:  # ad hoc runs have no task start events, only task fields
            return
        task_uuid = self._unique(str(task._uuid), self._seen_tasks, self._task_repeats)
        with self._event('playbook_on_task_start', task=task, name=task.get_name(),
                         is_conditional=is_conditional, uuid=task_uuid):
            super(CallbackModule, self).v2_playbook_on_task_start(task, is_conditional)

    def v2_playbook_on_cleanup_task_start(self, task):
        self._set_task(task, ctx.shared)
        with self._event('playbook_on_task_start', task=task, name=task.get_name(),
                         uuid=str(task._uuid), is_conditional=True):
            super(CallbackModule, self).v2_playbook_on_cleanup_task_start(task)

    def v2_playbook_on_handler_task_start(self, task):
        # A handler is a task start with is_conditional=True, as in Ansible 1.
        self._set_task(task, ctx.shared)
        with self._event('playbook_on_task_start', task=task, name=task.get_name(),
                         uuid=str(task._uuid), is_conditional=True):
            super(CallbackModule, self).v2_playbook_on_handler_task_start(task)

    def v2_playbook_on_no_hosts_matched(self):
        with self._event('playbook_on_no_hosts_matched'):
            super(CallbackModule, self).v2_playbook_on_no_hosts_matched()

    def v2_playbook_on_no_hosts_remaining(self):
        with self._event('playbook_on_no_hosts_remaining'):
            super(CallbackModule, self).v2_playbook_on_no_hosts_remaining()

    def v2_playbook_on_notify(self, handler, host):
        with self._event('playbook_on_notify', host=host.get_name(), handler=handler.get_name()):
            super(CallbackModule, self).v2_playbook_on_notify(handler, host)

    def v2_playbook_on_stats(self, stats):
        self._clear_play()
        with self._event('playbook_on_stats', changed=stats.changed, dark=stats.dark, failures=stats.failures,
                         ignored=getattr(stats, 'ignored', 0), ok=stats.ok, processed=stats.processed,
                         rescued=getattr(stats, 'rescued', 0), skipped=stats.skipped,
                         artifact_data=stats.custom.get('_run', {}) if hasattr(stats, 'custom') else {}):
            super(CallbackModule, self).v2_playbook_on_stats(stats)

    # -- runner (per host) events -----------------------------------------

    def v2_runner_on_start(self, host, task):
        self._host_start[host.get_name()] = utcnow()
        with self._event('runner_on_start', host=host.get_name(), task=task):
            super(CallbackModule, self).v2_runner_on_start(host, task)

    def v2_runner_on_ok(self, result):
        if result._task.action in ('setup', 'gather_facts'):
            # The job already has the environment (filtered); keep it out of events.
            result._result.get('ansible_facts', {}).pop('ansible_env', None)
        start, end, duration = self._timing(result)
        with self._event('runner_on_ok', host=result._host.get_name(), remote_addr=result._host.address,
                         task=result._task, res=result._result, start=start, end=end, duration=duration,
                         event_loop=_event_loop(result._task)):
            super(CallbackModule, self).v2_runner_on_ok(result)

    def v2_runner_on_failed(self, result, ignore_errors=False):
        start, end, duration = self._timing(result)
        with self._event('runner_on_failed', host=result._host.get_name(), remote_addr=result._host.address,
                         res=result._result, task=result._task, start=start, end=end, duration=duration,
                         ignore_errors=ignore_errors, event_loop=_event_loop(result._task)):
            super(CallbackModule, self).v2_runner_on_failed(result, ignore_errors)

    def v2_runner_on_skipped(self, result):
        start, end, duration = self._timing(result)
        with self._event('runner_on_skipped', host=result._host.get_name(), remote_addr=result._host.address,
                         task=result._task, start=start, end=end, duration=duration,
                         event_loop=_event_loop(result._task)):
            super(CallbackModule, self).v2_runner_on_skipped(result)

    def v2_runner_on_unreachable(self, result):
        start, end, duration = self._timing(result)
        with self._event('runner_on_unreachable', host=result._host.get_name(), remote_addr=result._host.address,
                         task=result._task, start=start, end=end, duration=duration, res=result._result):
            super(CallbackModule, self).v2_runner_on_unreachable(result)

    def v2_runner_on_no_hosts(self, task):
        with self._event('runner_on_no_hosts', task=task):
            super(CallbackModule, self).v2_runner_on_no_hosts(task)

    def v2_runner_on_async_poll(self, result):
        with self._event('runner_on_async_poll', **self._async_fields(result)):
            super(CallbackModule, self).v2_runner_on_async_poll(result)

    def v2_runner_on_async_ok(self, result):
        with self._event('runner_on_async_ok', **self._async_fields(result)):
            super(CallbackModule, self).v2_runner_on_async_ok(result)

    def v2_runner_on_async_failed(self, result):
        with self._event('runner_on_async_failed', **self._async_fields(result)):
            super(CallbackModule, self).v2_runner_on_async_failed(result)

    @staticmethod
    def _async_fields(result):
        return dict(host=result._host.get_name(), task=result._task, res=result._result,
                    jid=result._result.get('ansible_job_id'))

    def v2_runner_on_file_diff(self, result, diff):
        with self._event('runner_on_file_diff', host=result._host.get_name(), task=result._task, diff=diff):
            super(CallbackModule, self).v2_runner_on_file_diff(result, diff)

    def v2_on_file_diff(self, result):
        with self._event('runner_on_file_diff', host=result._host.get_name(), task=result._task,
                         diff=result._result.get('diff')):
            super(CallbackModule, self).v2_on_file_diff(result)

    def v2_runner_item_on_ok(self, result):
        with self._event('runner_item_on_ok', **self._item_fields(result)):
            super(CallbackModule, self).v2_runner_item_on_ok(result)

    def v2_runner_item_on_failed(self, result):
        with self._event('runner_item_on_failed', **self._item_fields(result)):
            super(CallbackModule, self).v2_runner_item_on_failed(result)

    def v2_runner_item_on_skipped(self, result):
        with self._event('runner_item_on_skipped', **self._item_fields(result)):
            super(CallbackModule, self).v2_runner_item_on_skipped(result)

    def v2_runner_retry(self, result):
        with self._event('runner_retry', **self._item_fields(result)):
            super(CallbackModule, self).v2_runner_retry(result)

    @staticmethod
    def _item_fields(result):
        return dict(host=result._host.get_name(), task=result._task, res=result._result)
