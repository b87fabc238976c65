"""runnel's callback plugin against ansible-runner's, event for event.

Every case runs ansible twice on a pty, once with each plugin, decodes the
markers (merging upstream's partial files) and compares the normalized events:
types in order, stdout, every field, parent linkage. The runs the selected
tests need all start together, four at a time, when the first test runs.

Deliberate differences, asserted explicitly:
- the begin marker carries the whole event, and no partial file is written
  (test_runnel_carries_events_in_band);
- RUNNER_ONLY_FAILED_EVENTS keeps the data of runner_item_on_failed, which
  upstream empties because of a typo (test_only_failed_keeps_failed_items).

Run: /usr/bin/python3 -m pytest tests/integration/test_plugin.py
"""

import base64
import json
import os
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import plugin_harness as h  # noqa: E402

pytestmark = pytest.mark.skipif(not os.path.exists(h.PLUGIN_DIRS['upstream']),
                                reason="ansible-runner's plugin is not installed")


def _touch_go(tmp):
    # Lets main.yml's async job finish once ansible has polled it once.
    open(os.path.join(tmp, 'go'), 'w').close()


CASES = {
    'main': dict(args=['main.yml'], env={'JOB_ID': '42'},
                 expect=[('Favourite colour [blue]: ', b'\n'), ('ASYNC POLL on localhost', _touch_go)]),
    'verbose': dict(args=['-vvv', 'verbose.yml']),
    'adhoc_ping': dict(adhoc=True, args=['localhost', '-m', 'ping']),
    'adhoc_command': dict(adhoc=True, args=['localhost', '-m', 'command', '-a', 'echo ünïcode']),
    'max_res': dict(args=['small.yml'], env={'MAX_EVENT_RES': '300', 'PROJECT_UPDATE_ID': '7',
                                             'ORIGINAL_STDOUT_CALLBACK': 'oneline'}),
    'omit': dict(args=['small.yml'], env={'RUNNER_OMIT_EVENTS': 'True'}),
    'only_failed': dict(args=['small.yml'], env={'RUNNER_ONLY_FAILED_EVENTS': 'True'}),
}
PLUGINS = ('upstream', 'runnel')


class Runs(object):
    """The (case, plugin) runs the selected tests need, all started at once."""

    def __init__(self, cases):
        self._pool = ThreadPoolExecutor(max_workers=4)
        # main.yml first: it is the longest (it waits on async polls).
        self._futures = {(c, p): self._pool.submit(h.run, p, **CASES[c])
                         for c in CASES if c in cases for p in PLUGINS}

    def get(self, case):
        return tuple(self._futures[case, p].result() for p in PLUGINS)

    def close(self):
        self._pool.shutdown(wait=True)
        for f in self._futures.values():
            if not f.exception():
                h.cleanup(f.result())


def uses(*cases):
    """Names the cases a test reads, so that only the needed runs start."""
    def mark(test):
        test.cases = cases
        return test
    return mark


def _cases_of(item):
    callspec = getattr(item, 'callspec', None)
    if callspec and 'case' in callspec.params:
        return {callspec.params['case']}
    return set(getattr(getattr(item, 'function', None), 'cases', ()))


@pytest.fixture(scope='module')
def runs(request):
    wanted = set()
    for item in request.session.items:
        if item.module is request.module:
            wanted |= _cases_of(item)
    r = Runs(wanted)
    yield r
    r.close()


def _first_difference(a, b):
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            keys = sorted(k for k in set(x) | set(y) if x.get(k) != y.get(k))
            detail = {k: (x.get(k), y.get(k)) for k in keys}
            return 'event %d (%s): %s' % (i, x.get('event'), json.dumps(detail, indent=1, ensure_ascii=False))
    return 'lengths %d != %d; extra: %s' % (len(a), len(b), json.dumps((a[len(b):] or b[len(a):])[:3], indent=1))


def assert_same(upstream, runnel):
    for part, a, b in zip(('main process', 'workers'), upstream, runnel):
        assert a == b, '%s: %s' % (part, _first_difference(a, b))


def plugin_events(run):
    """The events the plugin made (not the decoder's verbose lines)."""
    return [e for e in run.events if 'pid' in e]


@pytest.mark.parametrize('case', [c for c in CASES if c != 'only_failed'])
def test_same_events_as_upstream(runs, case):
    up, ours = runs.get(case)
    assert up.rc == ours.rc
    assert len(plugin_events(ours)) > 3
    assert_same(up.normalized(), ours.normalized())


@uses('only_failed')
def test_only_failed_keeps_failed_items(runs):
    # DELIBERATE DIFFERENCE: upstream tests 'runner_on_item_failed', which is
    # not an event, so it empties runner_item_on_failed's data; runnel keeps it.
    up, ours = runs.get('only_failed')
    (up_main, up_workers), (our_main, our_workers) = up.normalized(), ours.normalized()
    assert len(up_main) == len(our_main)
    item_failures = 0
    for a, b in zip(up_main, our_main):
        if b.get('event') == 'runner_item_on_failed':
            item_failures += 1
            assert a['event_data'] == {}
            assert b['event_data']['res']['item'] == 'b' and b['event_data']['res']['rc'] == 1
            a['event_data'] = b['event_data']
        elif b.get('event') in ('runner_on_failed', 'runner_on_async_failed'):
            assert b['event_data']['res']['msg']
        elif 'event_data' in b:
            assert b['event_data'] == {}
    assert item_failures == 1
    assert_same((up_main, up_workers), (our_main, our_workers))


@uses(*CASES)
def test_runnel_carries_events_in_band(runs):
    # DELIBERATE DIFFERENCE: upstream's begin marker holds only the uuid and the
    # rest goes to job_events/<uuid>-partial.json; runnel's holds everything.
    for case in CASES:
        up, ours = runs.get(case)
        assert not os.path.exists(os.path.join(ours.tmp, 'artifacts', 'job_events')), case
        for ev in plugin_events(up):
            assert list(ev['_marker']) == ['uuid']
        for ev in plugin_events(ours):
            assert ev['_marker'] == {k: v for k, v in ev.items()
                                     if k not in ('counter', 'stdout', 'start_line', 'end_line', '_marker')}
        assert up.partials_left == [] and ours.partials_left == []


@uses('main')
def test_marker_encoding(runs):
    _, ours = runs.get('main')
    markers = list(h.MARKER_RE.finditer(ours.text))
    assert len(markers) == 2 * len(plugin_events(ours))
    for m in markers:
        chunks = h.CHUNK_RE.findall(m.group(1))
        assert all(len(c) == 78 for c, _ in chunks[:-1]) and 0 < len(chunks[-1][0]) <= 78
        raw = base64.b64decode(''.join(c for c, _ in chunks)).decode('utf-8')
        data = json.loads(raw)
        assert raw == json.dumps(data, separators=(',', ':'))  # compact
    assert markers[1].group(0) == '\x1b[Ke30=\x1b[4D\x1b[K'  # end marker: {}


def _by_task(run, event, task):
    return [e for e in run.events if e.get('event') == event and e['event_data'].get('task') == task]


@uses('main')
def test_main_playbook_content(runs):
    # The comparison above is only as good as what the playbook exercises.
    _, ours = runs.get('main')
    kinds = {e['event'] for e in ours.events}
    assert kinds >= {
        'playbook_on_start', 'playbook_on_vars_prompt', 'playbook_on_play_start', 'playbook_on_no_hosts_matched',
        'playbook_on_task_start', 'playbook_on_include', 'playbook_on_notify', 'playbook_on_no_hosts_remaining',
        'playbook_on_stats', 'runner_on_start', 'runner_on_ok', 'runner_on_failed', 'runner_on_skipped',
        'runner_on_unreachable', 'runner_on_async_poll', 'runner_on_async_ok', 'runner_on_async_failed',
        'runner_on_file_diff', 'runner_item_on_ok', 'runner_item_on_failed', 'runner_item_on_skipped',
        'runner_retry', 'verbose', 'warning', 'deprecated'}
    assert all(e['job_id'] == 42 for e in plugin_events(ours))
    facts = _by_task(ours, 'runner_on_ok', 'Gathering Facts')[0]['event_data']['res']['ansible_facts']
    assert 'ansible_env' not in facts and facts['gather_subset'] == ['!all', '!min', 'env']
    assert _by_task(ours, 'runner_on_ok', 'secret task')[0]['event_data']['res']['censored'] == h.CENSORED
    assert _by_task(ours, 'runner_on_ok', 'secret item')[0]['event_data']['res']['censored'] == h.CENSORED
    item_results = [e['event_data']['res'] for e in _by_task(ours, 'runner_item_on_ok', 'secret item')]
    assert item_results[0]['censored'] == h.CENSORED and item_results[1]['msg'] == 'public'
    results = _by_task(ours, 'runner_on_ok', 'secret in results')[0]['event_data']['res']['results']
    assert results == [{'censored': h.CENSORED}, {'public': 1}]
    assert _by_task(ours, 'runner_on_ok', 'loop ok and skipped')[0]['event_data']['event_loop'] == 'items'
    assert any('héllo ☃ 日本語' in e['stdout'] for e in _by_task(ours, 'runner_on_ok', 'unicode ok'))
    # serial: 1 repeats the play and its task per batch: the copies get '_2'.
    repeated = [e for e in ours.events if e['uuid'].endswith('_2')]
    assert [e['event'] for e in repeated] == ['playbook_on_play_start', 'playbook_on_task_start']
    assert repeated[1]['parent_uuid'] == repeated[1]['event_data']['task_uuid'] == repeated[1]['uuid'][:-2]
    stats = [e for e in ours.events if e['event'] == 'playbook_on_stats'][0]
    assert stats['event_data']['artifact_data'] == {'answer': 42}
    # parent linkage: runner events hang off their task, tasks off their play
    # (except async polls: their task is ansible's internal async_status one).
    uuids = {e['uuid']: e for e in plugin_events(ours)}
    for e in plugin_events(ours):
        if e['event'] == 'runner_on_async_poll':
            assert e['event_data']['task_action'] == 'async_status' and e['parent_uuid'] not in uuids
        elif e['event'].startswith('runner_'):
            assert uuids[e['parent_uuid']]['event'] == 'playbook_on_task_start'
        elif e['event'] == 'playbook_on_task_start' and e not in repeated:
            assert uuids[e['parent_uuid']]['event'] == 'playbook_on_play_start'
    assert ours.rc == 2


@uses('verbose')
def test_verbose_events(runs):
    _, ours = runs.get('verbose')
    verbose = [e for e in plugin_events(ours) if e['event'] == 'verbose']
    main_pid = plugin_events(ours)[0]['pid']
    # -vv messages of the parent carry their level...
    assert any(e['verbosity'] == 2 and 'Skipping callback' in e['stdout'] for e in verbose)
    # ...a worker's -vvv message is an empty event with its level and host (the
    # worker prints the markers, then sends the text to the parent)...
    workers = [e for e in verbose if e['pid'] != main_pid]
    assert workers and all(e['stdout'] == '' and e['verbosity'] == 3 for e in workers)
    assert any(e['event_data'].get('remote_addr') == 'localhost' for e in workers)
    # ...and the parent prints that text as a verbose event without a level.
    assert any('ESTABLISH LOCAL CONNECTION' in e['stdout'] and 'verbosity' not in e for e in verbose)


@uses('adhoc_ping', 'adhoc_command')
def test_adhoc(runs):
    for case in ('adhoc_ping', 'adhoc_command'):
        _, ours = runs.get(case)
        kinds = [e['event'] for e in plugin_events(ours)]
        assert kinds == ['playbook_on_start', 'runner_on_start', 'runner_on_ok', 'playbook_on_stats'], kinds
        assert all(e['ad_hoc_command_id'] == 1 for e in plugin_events(ours))
        ok = plugin_events(ours)[2]
        assert ok['stdout'].startswith('\x1b[0;33mlocalhost | CHANGED') or ok['stdout'].startswith(
            '\x1b[0;32mlocalhost | SUCCESS'), ok['stdout']  # the 'minimal' callback's text
        assert 'play' not in ok['event_data'] and ok['event_data']['task'] in ('ping', 'command')
    assert 'ünïcode' in ok['stdout']


@uses('max_res')
def test_max_event_res_and_original_callback(runs):
    _, ours = runs.get('max_res')
    assert _by_task(ours, 'runner_on_ok', 'big result')[0]['event_data']['res'] == {}
    small = _by_task(ours, 'runner_on_ok', 'small result')[0]
    assert small['event_data']['res']['msg'] == 'tiny'
    assert small['stdout'].startswith('\x1b[0;32mlocalhost | SUCCESS => {')  # 'oneline' text
    assert all(e['project_update_id'] == 7 for e in plugin_events(ours))
    assert plugin_events(ours)[-1]['event'] == 'error' and 'ERROR!' in plugin_events(ours)[-1]['stdout']


@uses('omit')
def test_omit_event_data(runs):
    _, ours = runs.get('omit')
    evs = plugin_events(ours)
    assert len(evs) > 10 and all(e['event_data'] == {} for e in evs)
    assert all('parent_uuid' in e for e in evs if e['event'] != 'playbook_on_start')
