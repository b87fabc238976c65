"""ansible-runner's library mode, the peer of bench/libbench.c.

/usr/bin/python3 bench/ar_lib.py PDD IDENT
Runs ansible_runner.run() on PDD (raw `args` mode) with an event_handler that
counts events and returns False (no job_events files), quiet. Prints
"<events> <seconds> <status> <rc>"; the time covers run() only (not imports).
"""
import sys
import time

import ansible_runner


def main():
    pdd, ident = sys.argv[1], sys.argv[2]
    seen = [0]

    def handler(event):
        seen[0] += 1
        return False

    t0 = time.monotonic()
    r = ansible_runner.run(private_data_dir=pdd, playbook='unused.yml', ident=ident,
                           event_handler=handler, quiet=True)
    dt = time.monotonic() - t0
    print(seen[0], '%.6f' % dt, r.status, r.rc)
    return 0 if r.rc == 0 else 1


if __name__ == '__main__':
    sys.exit(main())
