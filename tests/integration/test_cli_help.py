"""runnel's help against ansible-runner's, command by command.

The wording is runnel's own; the structure is upstream's: the same
subcommands, the same sections ("options", "Ansible Runner Options", ...),
the same options in each, written the same way ("-p PLAYBOOK, --playbook
PLAYBOOK"), the same positional arguments. `runnel` with no arguments prints
the basic usage on stdout and the usage error on stderr, exit 2, as
`ansible-runner` does.
"""
import os
import re
import shutil
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RUNNEL = os.environ.get("RUNNEL", os.path.join(ROOT, "build", "runnel"))
UPSTREAM = os.environ.get("ANSIBLE_RUNNER") or shutil.which("ansible-runner") or \
    "/usr/bin/ansible-runner"

pytestmark = [
    pytest.mark.skipif(not os.access(RUNNEL, os.X_OK), reason=f"{RUNNEL} not built"),
    pytest.mark.skipif(not os.access(UPSTREAM, os.X_OK), reason="ansible-runner not installed"),
]

# Options runnel lists that ansible-runner 2.3.1 does not have, by command.
KNOWN_EXTRA = {
    "worker": {"--keepalive-seconds KEEPALIVE_SECONDS"},
}

COMMANDS = [[], ["run"], ["start"], ["stop"], ["is-alive"], ["transmit"], ["worker"],
            ["worker", "cleanup"], ["process"]]


def helptext(binary, words):
    env = dict(os.environ, COLUMNS="80", LANG="C.UTF-8")
    r = subprocess.run([binary, *words, "--help"], capture_output=True, text=True, timeout=60,
                       env=env)
    assert r.returncode == 0, (binary, words, r.stderr)
    return r.stdout


def structure(text):
    """{section: [option invocations]}, positional names, subcommand names."""
    sections, positionals, subcommands = {}, [], []
    # the usage block ends at the first blank line
    body = text.split("\n\n", 1)[1] if "\n\n" in text else ""
    section = None
    for line in body.splitlines():
        if re.match(r"^\S.*:$", line):
            section = line[:-1]
            sections.setdefault(section, [])
            continue
        m = re.match(r"^  (-\S.*?)(?:  +\S.*)?$", line)
        if m and section not in (None, "positional arguments", "subcommands"):
            sections[section].append(m.group(1).strip())
            continue
        m = re.match(r"^  (\w\S*)(?:  +\S.*)?$", line)
        if m and section == "positional arguments":
            positionals.append(m.group(1))
            continue
        m = re.match(r"^    ([a-z][\w-]*)(?:  +\S.*)?$", line)
        if m and section == "subcommands":
            subcommands.append(m.group(1))
    return sections, positionals, subcommands


def usage_words(text):
    """The option names of the usage block (not their order)."""
    usage = text.split("\n\n", 1)[0]
    return set(re.findall(r"\[(-{1,2}[\w-]+)", usage))


@pytest.mark.parametrize("words", COMMANDS, ids=lambda w: " ".join(w) or "top")
def test_help_has_upstreams_structure(words):
    ours, theirs = helptext(RUNNEL, words), helptext(UPSTREAM, words)
    assert ours.startswith("usage: runnel" + "".join(" " + w for w in words))
    o_sec, o_pos, o_sub = structure(ours)
    t_sec, t_pos, t_sub = structure(theirs)
    assert o_pos == t_pos
    assert o_sub == t_sub
    # the same sections, in the same order
    assert list(o_sec) == list(t_sec)
    extra = KNOWN_EXTRA.get(" ".join(words), set())
    for name in t_sec:
        assert set(o_sec[name]) - extra == set(t_sec[name]), name
        assert extra & set(t_sec[name]) == set(), f"{extra} is upstream's now: drop it from KNOWN_EXTRA"
    extra_names = {e.split()[0] for e in extra}
    assert usage_words(ours) - extra_names == usage_words(theirs)
    for line in ours.splitlines():
        assert len(line) <= 80 or line.lstrip().startswith("["), line


def test_no_arguments_prints_basic_usage_on_stdout_and_exits_2():
    ours = subprocess.run([RUNNEL], capture_output=True, text=True, timeout=30)
    theirs = subprocess.run([UPSTREAM], capture_output=True, text=True, timeout=60)
    assert theirs.returncode == ours.returncode == 2
    for r in (ours, theirs):
        assert "These are common Ansible Runner commands" in r.stdout
        assert "the following arguments are required: command" in r.stderr
        assert r.stderr.startswith("usage: ")
    assert "runnel run /tmp/private -p playbook.yml" in ours.stdout
    assert "`runnel --help` list of optional command line arguments" in ours.stdout


@pytest.mark.parametrize("argv,command", [
    (["-h", "run"], None),             # -h before the command: the top help
    (["run", "PDD", "-h"], "run"),     # after it: the command's
    (["worker", "-h", "cleanup"], "worker"),
    (["worker", "cleanup", "-h"], "worker cleanup"),
])
def test_help_is_the_one_of_the_command_read_so_far(argv, command):
    r = subprocess.run([RUNNEL, *argv], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0
    first = r.stdout.splitlines()[0]
    want = "usage: runnel" + (" " + command if command else "") + " ["
    assert first.startswith(want), first


def test_help_of_an_unknown_command_is_a_usage_error():
    r = subprocess.run([RUNNEL, "dance", "-h"], capture_output=True, text=True, timeout=30)
    assert r.returncode == 2
    assert "invalid choice: 'dance'" in r.stderr
    assert r.stdout == ""


@pytest.mark.parametrize("argv", [["-p", "a.yml", "-m", "ping"], ["-r", "x", "--module=ping"],
                                  ["-m", "ping", "-p", "a.yml"]])
def test_playbook_module_and_role_exclude_each_other(tmp_path, argv):
    msgs = []
    for binary in (RUNNEL, UPSTREAM):
        r = subprocess.run([binary, "run", str(tmp_path / "pdd"), *argv], capture_output=True,
                           text=True, timeout=60)
        assert r.returncode == 2
        msgs.append(r.stderr.strip().splitlines()[-1].split("error: ", 1)[1])
    assert msgs[0] == msgs[1]
    assert not (tmp_path / "pdd").exists()
