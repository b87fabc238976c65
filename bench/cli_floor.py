#!/usr/bin/python3
"""`runnel run` writing job_events files against its floors, paired runs.

    bench/cli_floor.py [--n 100000] [--reps 5] [--dir /dev/shm/runnel-floor-UID]
                       [--runnel NAME=PATH ...] [--skip KIND,...]

Runs, in alternating order (A B C ..., then ... C B A), on tmpfs:
- runnel      `runnel run PDD -p x.yml` on the producer PDD (args = `bench/producer
              --inband -n N`), console to /dev/null; one row per --runnel build
              (default: new=build/runnel)
- files       `bench/floor_files`: the same job_events files (tmp + rename, 0600, same
              sizes) and the stdout artifact, nothing else (the target's floor)
- ptyfiles    `bench/floor_ptyfiles`: the producer on a pty read to EOF by one thread,
              the same files written by a second thread, no decoding at all: the floor
              a runner has on this machine (producer + pty + files)
- ptyprod     `bench/ptycat -- producer ...`: the producer on a pty, read and discarded
- prodnull    the producer alone, stdout to /dev/null
For each: wall seconds and CPU seconds (user + system of the process and the children it
waited for, from wait4). Ratios are per pair (same rep), then the median is taken.
Prints a markdown table.
"""
import argparse
import os
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def sh(cmd, **kw):
    return subprocess.run(cmd, check=True, **kw)


def build(bindir):
    os.makedirs(bindir, exist_ok=True)
    cc = ["cc", "-std=c11", "-D_GNU_SOURCE", "-O2", "-Wall", "-Wextra"]
    for name, extra in (("producer", []), ("floor_files", []), ("ptycat", ["-lutil"]),
                        ("floor_ptyfiles", ["-pthread", "-lutil"])):
        sh(cc + ["-o", os.path.join(bindir, name), os.path.join(ROOT, "bench", name + ".c")] + extra)


def rmtree(path):
    if os.path.lexists(path):
        sh(["rm", "-rf", "--", path])


def run_cpu(cmd, stdout=subprocess.DEVNULL):
    """(wall s, cpu s, rc, stdout) with the CPU time of the command's tree."""
    r, w = os.pipe() if stdout is None else (None, None)
    t0 = time.monotonic()
    pid = os.fork()
    if pid == 0:
        try:
            if stdout is None:
                os.dup2(w, 1)
                os.close(r)
                os.close(w)
            else:
                fd = os.open(os.devnull, os.O_WRONLY)
                os.dup2(fd, 1)
            os.execv(cmd[0], cmd)
        finally:
            os._exit(127)
    data = b""
    if stdout is None:
        os.close(w)
        while True:
            chunk = os.read(r, 65536)
            if not chunk:
                break
            data += chunk
        os.close(r)
    _, status, ru = os.wait4(pid, 0)
    dt = time.monotonic() - t0
    rc = os.waitstatus_to_exitcode(status)
    if rc != 0:
        sys.stderr.write("%s: rc=%d\n" % (" ".join(cmd[:3]), rc))
    return dt, ru.ru_utime + ru.ru_stime, rc, data.decode() if stdout is None else None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=100000)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--dir", default="/dev/shm/runnel-floor-%d" % os.getuid())
    ap.add_argument("--runnel", action="append", default=[])
    ap.add_argument("--skip", default="")
    a = ap.parse_args()
    skip = set(a.skip.split(",")) - {""}
    builds = [x.split("=", 1) for x in a.runnel] or [["new", os.path.join(ROOT, "build", "runnel")]]
    base = a.dir
    rmtree(base)
    bindir = os.path.join(base, "bin")
    build(bindir)
    prod = [os.path.join(bindir, "producer"), "--inband", "-n", str(a.n)]
    pdd = os.path.join(base, "pdd")
    os.makedirs(pdd)
    with open(os.path.join(pdd, "args"), "w") as f:
        f.write(" ".join(prod) + "\n")
    ref = os.path.join(base, "ref")
    # warm-up and the floors' reference artifact dir
    run_cpu([builds[0][1], "run", pdd, "-p", "x.yml", "-i", "ref"])
    os.rename(os.path.join(pdd, "artifacts", "ref"), ref)
    nref = len(os.listdir(os.path.join(ref, "job_events")))
    if nref != a.n:
        sys.exit("cli_floor: the reference run wrote %d job_events, not %d" % (nref, a.n))
    # what the pty yields for the producer's stream
    _, _, _, out = run_cpu([os.path.join(bindir, "ptycat"), "--"] + prod, stdout=None)
    stream_bytes = int(out.split()[0])

    kinds = [("runnel:" + name, path) for name, path in builds]
    kinds += [(k, None) for k in ("files", "ptyfiles", "ptyprod", "prodnull") if k not in skip]
    load0 = open("/proc/loadavg").read().split()[:3]
    rows = []
    for rep in range(a.reps):
        order = kinds if rep % 2 == 0 else kinds[::-1]
        row = {}
        for kind, path in order:
            outdir = os.path.join(base, "out")
            rmtree(outdir)
            if kind.startswith("runnel:"):
                rmtree(os.path.join(pdd, "artifacts"))
                dt, cpu, rc, _ = run_cpu([path, "run", pdd, "-p", "x.yml", "-i", "r"])
                got = len(os.listdir(os.path.join(pdd, "artifacts", "r", "job_events")))
                if rc != 0 or got != a.n:
                    sys.exit("cli_floor: %s rc=%d, %d job_events" % (kind, rc, got))
            elif kind == "files":
                dt, cpu, rc, _ = run_cpu([os.path.join(bindir, "floor_files"), ref, outdir])
            elif kind == "ptyfiles":
                dt, cpu, rc, _ = run_cpu([os.path.join(bindir, "floor_ptyfiles"), ref, outdir,
                                          str(stream_bytes)] + prod)
            elif kind == "ptyprod":
                dt, cpu, rc, _ = run_cpu([os.path.join(bindir, "ptycat"), "--"] + prod)
            else:
                dt, cpu, rc, _ = run_cpu(prod)
            row[kind] = (dt, cpu)
        rmtree(os.path.join(base, "out"))
        rmtree(os.path.join(pdd, "artifacts"))
        rows.append(row)
        sys.stderr.write("rep %d: %s\n" % (rep + 1, ", ".join("%s %.2fs/%.2fcpu" % (k, v[0], v[1]) for k, v in row.items())))
    load1 = open("/proc/loadavg").read().split()[:3]

    names = [k for k, _ in kinds]
    print("N=%d, %d paired runs, %s, load average %s before, %s after; stream %d bytes through the pty."
          % (a.n, a.reps, base, " ".join(load0), " ".join(load1), stream_bytes))
    print()
    print("| run | " + " | ".join("%s wall s / cpu s" % k for k in names) + " |")
    print("|---|" + "---|" * len(names))
    for i, row in enumerate(rows):
        print("| %d | " % (i + 1) + " | ".join("%.2f / %.2f" % row[k] for k in names) + " |")
    print("| **median** | " + " | ".join("%.2f / %.2f" % (statistics.median(r[k][0] for r in rows),
                                                         statistics.median(r[k][1] for r in rows))
                                         for k in names) + " |")
    print()
    for name, _ in builds:
        k = "runnel:" + name
        for floor in ("files", "ptyfiles"):
            if floor in names:
                ratios = [r[floor][0] / r[k][0] for r in rows]
                cr = [r[floor][1] / r[k][1] for r in rows]
                print("- %s vs %s floor: wall **%.2f×** (per pair: %s); CPU %.2f×"
                      % (k, floor, statistics.median(ratios), ", ".join("%.2f" % x for x in ratios),
                         statistics.median(cr)))
    if "files" in names and "ptyfiles" in names:
        ratios = [r["files"][0] / r["ptyfiles"][0] for r in rows]
        print("- ptyfiles floor vs files floor: wall **%.2f×** (per pair: %s)"
              % (statistics.median(ratios), ", ".join("%.2f" % x for x in ratios)))
    rmtree(base)


if __name__ == "__main__":
    main()
