#!/usr/bin/python3
"""Streaming benchmarks: runnel transmit / worker / process side by side with ansible-runner.

    bench/stream_bench.py [--n 100000] [--ar-n 20000] [--mb 200] [--dir /dev/shm/...]

1. worker: events/s of `runnel worker` on a transmit stream whose job is the synthetic
   `bench/producer` (raw `args` mode, N events; --inband for runnel, --partial for
   ansible-runner's plugin protocol), output to a file on tmpfs; vs `ansible-runner worker`.
2. process: events/s of `runnel process` consuming runnel's worker output (N events) vs
   `ansible-runner process` on the same stream, vs the file floor (`bench/floor_files`
   writing the same job_events files).
With --pairs K: K more paired runs (alternating order) of `runnel worker` on the same
   transmit stream against its floor, `bench/ptycat -- producer --inband -n N` (the job on
   a pty, read and discarded), and `--old PATH`'s worker if given; per-pair ratios.
3. transmit of a private data dir of --mb MB (incompressible, one big file and many
   small ones): wall time and peak RSS of `runnel transmit` vs `ansible-runner transmit`,
   and of the extraction side (`runnel process` on that stream).

Everything on tmpfs (/dev/shm); prints a markdown table. ansible-runner runs --ar-n
events (it is slow); its events/s is a rate.
"""

import argparse
import os
import shutil
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RUNNEL = os.path.join(ROOT, "build", "runnel")
AR = shutil.which("ansible-runner", path="/usr/bin:/usr/local/bin") or "/usr/bin/ansible-runner"


def env():
    e = dict(os.environ)
    e["PATH"] = "/usr/bin:/bin:/usr/sbin:/sbin:" + e.get("PATH", "")
    e.pop("PYTHONPATH", None)
    return e


def timed(cmd, stdin=None, stdout=None):
    """(seconds, rc, peak RSS KiB of the process tree) of one command."""
    fin = open(stdin, "rb") if stdin else subprocess.DEVNULL
    fout = open(stdout, "wb") if stdout else subprocess.DEVNULL
    # /usr/bin/time -f %M: the peak RSS of the command's process tree, measured from a
    # small C parent (a Python parent's own RSS would leak into ru_maxrss across exec)
    t0 = time.monotonic()
    p = subprocess.Popen(["/usr/bin/time", "-f", "@@RSS %M"] + cmd, stdin=fin, stdout=fout,
                         stderr=subprocess.PIPE, env=env())
    err = p.stderr.read()
    p.wait()
    dt = time.monotonic() - t0
    rss = 0
    for line in err.decode(errors="replace").splitlines():
        if line.startswith("@@RSS "):
            rss = int(line.split()[1])
    for f in (fin, fout):
        if f is not subprocess.DEVNULL:
            f.close()
    if p.returncode != 0:
        sys.stderr.write("%s: rc=%d %s\n" % (" ".join(cmd[:3]), p.returncode, err[-500:].decode(errors="replace")))
    return dt, p.returncode, rss


def build(bindir):
    r = subprocess.run(["ninja", "-C", os.path.join(ROOT, "build"), "runnel"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if r.returncode != 0 and not os.path.exists(RUNNEL):
        sys.exit("stream_bench: ninja -C build runnel failed")
    os.makedirs(bindir, exist_ok=True)
    cc = ["cc", "-std=c11", "-D_GNU_SOURCE", "-O2"]
    progs = {}
    for name, extra in (("producer", []), ("floor_files", []), ("ptycat", ["-lutil"])):
        src = os.path.join(ROOT, "bench", name + ".c")
        if os.path.exists(src):
            out = os.path.join(bindir, name)
            subprocess.run(cc + ["-o", out, src] + extra, check=True)
            progs[name] = out
    return progs


def fallback_producer(bindir):
    """A tiny generator of runnel-plugin-style events if bench/producer.c is absent."""
    path = os.path.join(bindir, "producer.py")
    with open(path, "w") as f:
        f.write(r'''#!/usr/bin/python3
import base64, json, sys, uuid, datetime
n = int(sys.argv[sys.argv.index("-n") + 1])
partial = "--partial" in sys.argv
d = None
if partial:
    import os
    d = os.environ["AWX_ISOLATED_DATA_DIR"] + "/job_events"
out = sys.stdout
for i in range(n):
    u = str(uuid.uuid4())
    ev = {"uuid": u, "event": "runner_on_ok" if i else "playbook_on_start",
          "created": datetime.datetime.utcnow().isoformat(),
          "event_data": {"host": "h%d" % (i % 4), "task": "t%d" % i, "res": {"msg": "x" * 300}}}
    if partial:
        with open("%s/%s-partial.json" % (d, u), "w") as p:
            json.dump(ev, p)
        ev = {"uuid": u}
    b = base64.b64encode(json.dumps(ev).encode()).decode()
    chunks = "".join("%s\x1b[%dD" % (b[k:k + 78], len(b[k:k + 78])) for k in range(0, len(b), 78))
    end = base64.b64encode(b"{}").decode()
    out.write("\x1b[K%s\x1b[Kok: [h%d]\n\x1b[K%s\x1b[%dD\x1b[K" % (chunks, i % 4, end, len(end)))
''')
    os.chmod(path, 0o755)
    return path


def producer_pdd(base, name, producer, mode, n):
    pdd = os.path.join(base, name)
    shutil.rmtree(pdd, ignore_errors=True)
    os.makedirs(pdd)
    with open(os.path.join(pdd, "args"), "w") as f:
        f.write("%s --%s -n %d\n" % (producer, mode, n))
    return pdd


def count(d):
    try:
        return len(os.listdir(d))
    except OSError:
        return 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=100000)
    ap.add_argument("--ar-n", type=int, default=20000)
    ap.add_argument("--mb", type=int, default=200)
    ap.add_argument("--dir", default="/dev/shm/runnel-stream-bench")
    ap.add_argument("--pairs", type=int, default=0)
    ap.add_argument("--old", default=None, help="another runnel build for the --pairs runs")
    a = ap.parse_args()
    base = a.dir
    shutil.rmtree(base, ignore_errors=True)
    os.makedirs(base)
    bindir = os.path.join(base, "bin")
    progs = build(bindir)
    producer = progs.get("producer") or fallback_producer(bindir)
    rows = []

    # ---------------------------------------------------------------- 1. worker
    pr = producer_pdd(base, "w-runnel", producer, "inband", a.n)
    pa = producer_pdd(base, "w-ar", producer, "partial", a.ar_n)
    subprocess.run("%s transmit %s -p unused.yml -i r > %s/t-runnel" % (RUNNEL, pr, base), shell=True,
                   check=True, env=env())
    subprocess.run("%s transmit %s -p unused.yml -i a > %s/t-ar" % (AR, pa, base), shell=True,
                   check=True, env=env())
    dt_r, _, rss_r = timed([RUNNEL, "worker", "--private-data-dir", base + "/wr"], base + "/t-runnel",
                           base + "/out-runnel")
    dt_a, _, rss_a = timed([AR, "worker", "--private-data-dir", base + "/wa"], base + "/t-ar",
                           base + "/out-ar")
    for out, n in ((base + "/out-runnel", a.n), (base + "/out-ar", a.ar_n)):
        with open(out, "rb") as f:
            got = sum(1 for line in f if line.startswith(b'{') and b'"counter"' in line)
        if got != n:
            sys.stderr.write("%s: %d/%d event lines\n" % (out, got, n))
    rows.append(("worker: events/s (N=%d runnel, %d ansible-runner)" % (a.n, a.ar_n),
                 "%.0f (%.2f s)" % (a.n / dt_r, dt_r), "%.0f (%.2f s)" % (a.ar_n / dt_a, dt_a),
                 "%.1f×" % ((a.n / dt_r) / (a.ar_n / dt_a))))
    rows.append(("worker: peak RSS KiB (whole tree)", str(rss_r), str(rss_a), ""))
    pair_lines = []
    if a.pairs and "ptycat" in progs and "producer" in progs:
        kinds = [("worker", RUNNEL), ("pty floor", None)] + ([("old worker", a.old)] if a.old else [])
        runs = []
        for i in range(a.pairs):
            got = {}
            for kind, path in (kinds if i % 2 == 0 else kinds[::-1]):
                if path:
                    shutil.rmtree(base + "/wr", ignore_errors=True)
                    got[kind] = timed([path, "worker", "--private-data-dir", base + "/wr"],
                                      base + "/t-runnel", base + "/out-runnel")[0]
                else:
                    got[kind] = timed([progs["ptycat"], "--", producer, "--inband", "-n", str(a.n)])[0]
            runs.append(got)
        med = lambda xs: sorted(xs)[len(xs) // 2]
        for kind, path in kinds:
            if path:
                ratios = [r["pty floor"] / r[kind] for r in runs]
                pair_lines.append("- %s (%s) vs pty floor (`ptycat -- producer`), s: %s; median %.0f events/s, "
                                  "**%.2f×** the floor's rate (median of per-pair ratios)"
                                  % (kind, path, ", ".join("%.2f/%.2f" % (r[kind], r["pty floor"]) for r in runs),
                                     a.n / med([r[kind] for r in runs]), med(ratios)))

    # ---------------------------------------------------------------- 2. process
    dt_p, rc, rss_p = timed([RUNNEL, "process", base + "/pr", "-i", "x"], base + "/out-runnel")
    got = count(base + "/pr/artifacts/x/job_events")
    if got != a.n:
        sys.stderr.write("runnel process wrote %d/%d events\n" % (got, a.n))
    # ansible-runner process on the first ar_n events of the same stream (cut + eof)
    cut = base + "/out-runnel-cut"
    with open(base + "/out-runnel", "rb") as f, open(cut, "wb") as o:
        for i, line in enumerate(f):
            if i >= a.ar_n + 2:
                break
            o.write(line)
        o.write(b'{"eof": true}\n')
    dt_pa, _, rss_pa = timed([AR, "process", base + "/pa", "-i", "x"], cut)
    floor = None
    if "floor_files" in progs:
        r = subprocess.run([progs["floor_files"], base + "/pr/artifacts/x", base + "/floor"],
                           capture_output=True, text=True, check=True)
        floor = float(r.stdout.split()[1])
    rows.append(("process: events/s (N=%d runnel, %d ansible-runner)" % (a.n, a.ar_n),
                 "%.0f (%.2f s)" % (a.n / dt_p, dt_p), "%.0f (%.2f s)" % (a.ar_n / dt_pa, dt_pa),
                 "%.1f×" % ((a.n / dt_p) / (a.ar_n / dt_pa))))
    if floor:
        rows.append(("process: file floor events/s (same job_events files)",
                     "%.0f (%.2f s) → runnel at %.2f× floor" % (a.n / floor, floor, floor / dt_p), "", ""))
    rows.append(("process: peak RSS KiB", str(rss_p), str(rss_pa), ""))

    # ---------------------------------------------------------------- 3. transmit
    big = os.path.join(base, "big")
    os.makedirs(big + "/project")
    with open(big + "/project/blob", "wb") as f:
        for _ in range(a.mb * 3 // 4):
            f.write(os.urandom(1 << 20))
    small = a.mb - a.mb * 3 // 4
    for i in range(small * 10):
        with open(big + "/project/f%05d" % i, "wb") as f:
            f.write(os.urandom(100 * 1024))
    with open(big + "/project/play.yml", "w") as f:
        f.write("- hosts: all\n  tasks: []\n")
    dt_t, _, rss_t = timed([RUNNEL, "transmit", big, "-p", "play.yml", "-i", "t"], None, base + "/big-r")
    dt_ta, _, rss_ta = timed([AR, "transmit", big, "-p", "play.yml", "-i", "t"], None, base + "/big-a")
    rows.append(("transmit %d MB PDD: peak RSS KiB" % a.mb, str(rss_t), str(rss_ta),
                 "%.1f× less" % (rss_ta / rss_t)))
    rows.append(("transmit %d MB PDD: wall s" % a.mb, "%.2f" % dt_t, "%.2f" % dt_ta, "%.1f×" % (dt_ta / dt_t)))
    dt_x, _, rss_x = timed([RUNNEL, "process", base + "/bx", "-i", "t", "-q"], base + "/big-r")
    rows.append(("extract that stream (runnel process): peak RSS KiB / wall s",
                 "%d / %.2f" % (rss_x, dt_x), "", ""))

    print("| measure | runnel | ansible-runner | ratio |")
    print("|---|---|---|---|")
    for r in rows:
        print("| %s |" % " | ".join(r))
    if pair_lines:
        print()
        print("\n".join(pair_lines))
    shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
