"""Normalization of a run's artifacts so that two runs of one case compare equal.

What varies from run to run and is replaced:
  - uuids (runner's uuid4s and ansible's task/play uuids) -> "<UUID-n>", n being the
    first-seen index within one artifact kind (events, console, stdout, ...), so
    parent linkage is still compared;
  - ISO-8601 / "YYYY-MM-DD HH:MM:SS.ffffff" timestamps -> "<TS>", "H:MM:SS.ffffff"
    deltas -> "<DELTA>";
  - the PDD path of the run -> "<PDD>", the callback plugin dir -> "<PLUGIN>";
  - ansible's remote/local temp dir names (ansible-tmp-*, ansible-local-*, AnsiballZ
    tmp names), async job ids (j123456789.4242), uuid4().hex names (role mode);
  - the values (not the presence) of pid, created, start, end, duration -> "<type>";
  - ansible_facts -> the sorted list of its keys; ansible_env must be absent anyway.
"""

import json
import os
import re
from pathlib import Path

from conftest import file_modes, load_events, load_json, read_text

UUID_RE = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
TS_RE = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})?")
DELTA_RE = re.compile(r"\b\d+:\d{2}:\d{2}\.\d+\b")
ANSIBLE_TMP_RE = re.compile(r"ansible-tmp-[\d.]+-\d+-\d+")
ANSIBLE_LOCAL_RE = re.compile(r"ansible-local-\d+[A-Za-z0-9_]+")
ANSIBLE_TMPFILE_RE = re.compile(r"\btmp[A-Za-z0-9_]{8}\b")
JID_RE = re.compile(r"\bj\d{6,}\.\d+\b")  # async job ids
HEX32_RE = re.compile(r"\b[0-9a-f]{32}\b")  # uuid4().hex: role mode's generated playbook name
EPOCH_RE = re.compile(r"\b1[6-9]\d{8}\.\d+\b")

# keys whose values vary on every run: compared for presence and type only
VOLATILE_KEYS = {"pid", "created", "start", "end", "duration"}

# variables of the harness that it removes from the runners' environment
HARNESS_ONLY = {"RUNNEL", "RUNNEL_DIFF_REPORT", "ANSIBLE_RUNNER", "PYTEST_CURRENT_TEST"}
ENV_PREFIXES = ("ANSIBLE_", "AWX_", "RUNNER_")
ENV_KEYS = {"PYTHONUNBUFFERED", "ORIGINAL_STDOUT_CALLBACK", "AD_HOC_COMMAND_ID",
            "JOB_ID", "PROJECT_UPDATE_ID"}


class UuidMap:
    def __init__(self):
        self.m = {}

    def __call__(self, match):
        u = match.group(0).lower()
        if u not in self.m:
            self.m[u] = f"<UUID-{len(self.m)}>"
        return self.m[u]


class Normalizer:
    def __init__(self, pdd, plugin_dirs=()):
        pdd = str(pdd)
        paths = {pdd, os.path.realpath(pdd)}
        self.path_subs = sorted(((p, "<PDD>") for p in paths), key=lambda x: -len(x[0]))
        plug = []
        for d in plugin_dirs:
            plug += [(d.rstrip("/"), "<PLUGIN>"), (os.path.realpath(d), "<PLUGIN>")]
        self.path_subs = sorted(plug, key=lambda x: -len(x[0])) + self.path_subs

    def text(self, s, umap):
        if s is None:
            return None
        for old, new in self.path_subs:
            s = s.replace(old, new)
        s = UUID_RE.sub(umap, s)
        s = TS_RE.sub("<TS>", s)
        s = DELTA_RE.sub("<DELTA>", s)
        s = ANSIBLE_TMP_RE.sub("ansible-tmp-<X>", s)
        s = ANSIBLE_LOCAL_RE.sub("ansible-local-<X>", s)
        s = ANSIBLE_TMPFILE_RE.sub("tmp<X>", s)
        s = EPOCH_RE.sub("<EPOCH>", s)
        s = HEX32_RE.sub("<HEX32>", s)
        s = JID_RE.sub("j<JID>", s)
        return s

    def value(self, v, umap, key=None, depth=0):
        if key in VOLATILE_KEYS and depth <= 2 and not isinstance(v, (dict, list)):
            if isinstance(v, str):  # keep the shape: 2024-01-02T03:04:05.123456 -> 9999-...
                return "<str " + re.sub(r"\d", "9", v) + ">"
            return f"<{type(v).__name__}>"
        if key == "ansible_facts" and isinstance(v, dict):
            return {"<fact keys>": sorted(v)}
        if isinstance(v, dict):
            return {self.text(k, umap): self.value(v[k], umap, k, depth + 1) for k in v}
        if isinstance(v, list):
            return [self.value(x, umap, None, depth + 1) for x in v]
        if isinstance(v, str):
            return self.text(v, umap)
        return v

    def event(self, ev, umap):
        """An event dict, volatile values replaced. Own uuid first, then parent, then the rest."""
        if not isinstance(ev, dict):
            return ev
        for k in ("uuid", "parent_uuid"):
            if isinstance(ev.get(k), str):
                UUID_RE.sub(umap, ev[k])
        return self.value(ev, umap, depth=0)

    # ----------------------------------------------------------------------------

    def console(self, out, umap):
        """Console text; in -j mode each line holding an event JSON is normalized as one."""
        lines = []
        for line in out.split("\n"):
            s = line.strip()
            if s.startswith("{") and s.endswith("}"):
                try:
                    obj = json.loads(s)
                except ValueError:
                    obj = None
                if isinstance(obj, dict):
                    lines.append(json.dumps(self.event(obj, umap), sort_keys=True, ensure_ascii=False))
                    continue
            lines.append(self.text(line, umap))
        return lines

    def command(self, cmd):
        if not isinstance(cmd, dict):
            return cmd
        umap = UuidMap()
        out = dict(cmd)
        out["command"] = [self.text(a, umap) for a in cmd.get("command", [])]
        out["cwd"] = self.text(cmd.get("cwd"), umap)
        env = cmd.get("env") or {}
        out["env"] = {k: self.text(str(v), umap) for k, v in sorted(env.items())
                      if k.startswith(ENV_PREFIXES) or k in ENV_KEYS}
        # any other variable that is not the harness's own environment passed through
        # unchanged (e.g. one a runner adds or alters)
        outer = os.environ
        out["env_other"] = {k: self.text(str(v), umap) for k, v in sorted(env.items())
                            if k not in out["env"] and k not in HARNESS_ONLY
                            and (k not in outer or outer[k] != v)}
        return out


def normalize_run(res):
    """Everything compared for one side of a case, as plain JSON-able data."""
    n = Normalizer(res.pdd, res.plugin_dirs)
    adir = res.artifact_dir
    out = {}
    out["exit_code"] = res.rc
    out["console"] = n.console(res.stdout, UuidMap())
    out["console_stderr"] = n.text(res.stderr, UuidMap()).split("\n")
    out["status"] = read_text(adir / "status")
    out["rc"] = read_text(adir / "rc")
    stdout = read_text(adir / "stdout")
    # the stdout artifact holds the console text (event JSON lines in -j mode)
    out["stdout"] = None if stdout is None else n.console(stdout, UuidMap())
    out["stderr_artifact"] = read_text(adir / "stderr")
    out["command"] = n.command(load_json(adir / "command"))

    names, events = load_events(adir)
    umap = UuidMap()
    out["events"] = [n.event(ev, umap) for _, ev in events]
    out["event_files"] = [_event_file_name(name, ev) for name, ev in events]
    out["partial_files"] = [x for x in names if x.endswith("-partial.json")]
    out["stray_job_event_files"] = [x for x in names if not x.endswith(".json")]

    fc = adir / "fact_cache"
    if fc.is_dir():
        out["fact_cache"] = {}
        for h in sorted(os.listdir(fc)):
            data = load_json(fc / h)
            out["fact_cache"][h] = sorted(data) if isinstance(data, dict) else data
    else:
        out["fact_cache"] = None

    modes = file_modes(adir)
    out["artifact_modes"] = {_mode_key(k): v for k, v in modes.items()}
    out["artifact_modes_raw"] = modes
    out["pdd_files"] = pdd_files(res.pdd, n)
    return out


def _event_file_name(name, ev):
    """job_events file names must be <counter>-<uuid>.json: record only whether they are."""
    if not isinstance(ev, dict):
        return f"{name}: not an object"
    want = f"{ev.get('counter')}-{ev.get('uuid')}.json"
    return "ok" if name == want else f"{name} (expected {want})"


def _mode_key(rel):
    if rel.startswith("job_events/"):
        return "job_events/*"
    if rel.startswith("fact_cache/"):
        return "fact_cache/*"
    return rel


def pdd_files(pdd, n):
    """Files of the PDD outside artifacts/ after the run: mode and (small) content.

    Catches what a runner persists into the PDD (env/cmdline, ...) or leaves behind.
    """
    pdd = Path(pdd)
    out = {}
    for dirpath, dirnames, filenames in os.walk(pdd):
        rel_dir = Path(dirpath).relative_to(pdd)
        if rel_dir == Path("."):
            dirnames[:] = [d for d in dirnames if d != "artifacts"]
        for f in filenames:
            p = Path(dirpath) / f
            rel = str(p.relative_to(pdd))
            st = p.lstat()
            content = None
            if st.st_size < 4096:
                try:
                    content = n.text(p.read_text(), UuidMap())
                except (UnicodeDecodeError, OSError):
                    content = "<binary>"
            out[rel] = {"mode": oct(st.st_mode & 0o7777), "content": content}
    return out


def deep_diff(a, b, path=""):
    """Readable list of differences between two JSON-able values."""
    diffs = []
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b), key=str):
            p = f"{path}.{k}" if path else str(k)
            if k not in a:
                diffs.append(f"{p}: missing upstream; runnel={_short(b[k])}")
            elif k not in b:
                diffs.append(f"{p}: missing in runnel; upstream={_short(a[k])}")
            else:
                diffs += deep_diff(a[k], b[k], p)
    elif isinstance(a, list) and isinstance(b, list):
        for i in range(max(len(a), len(b))):
            p = f"{path}[{i}]"
            if i >= len(a):
                diffs.append(f"{p}: extra in runnel: {_short(b[i])}")
            elif i >= len(b):
                diffs.append(f"{p}: missing in runnel; upstream={_short(a[i])}")
            else:
                diffs += deep_diff(a[i], b[i], p)
    elif a != b or type(a) is not type(b):
        diffs.append(f"{path}: upstream={_short(a)} runnel={_short(b)}")
    return diffs


def _short(v, n=300):
    s = json.dumps(v, ensure_ascii=False, sort_keys=True) if not isinstance(v, str) else repr(v)
    return s if len(s) <= n else s[:n] + f"...(+{len(s) - n})"
